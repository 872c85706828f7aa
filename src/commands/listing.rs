//! `palisade policy groups` and `palisade policy profiles`.

use crate::policy::load::BUILTIN_PROFILES;
use crate::seccomp::groups::{group, GROUPS};

pub fn groups(name: Option<&str>) -> anyhow::Result<i32> {
    match name {
        None => {
            for g in GROUPS {
                println!("@{:<16} {:>4}  {}", g.name, g.syscalls.len(), g.description);
            }
        }
        Some(name) => {
            let g = group(name).ok_or_else(|| anyhow::anyhow!("no syscall group `{name}` (`palisade policy groups` lists them)"))?;
            println!("# @{}: {}", g.name, g.description);
            for s in g.syscalls {
                println!("{s}");
            }
        }
    }
    Ok(0)
}

pub fn profiles(name: Option<&str>) -> anyhow::Result<i32> {
    match name {
        None => {
            for (name, text) in BUILTIN_PROFILES {
                let description = crate::policy::load_str(name, text).ok().and_then(|p| p.description).unwrap_or_default();
                println!("{name:<16} {description}");
            }
        }
        Some(name) => {
            let (_, text) = BUILTIN_PROFILES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| anyhow::anyhow!("no built-in profile `{name}` (`palisade policy profiles` lists them)"))?;
            print!("{text}");
        }
    }
    Ok(0)
}
