//! Resource limits (setrlimit(2)), lowered only: raising a hard limit needs CAP_SYS_RESOURCE,
//! which the runtime may not have (it is not in this machine's bounding set at all).

use super::{Error, Op, Result};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// The resource for a policy's rlimit name (`nofile`, `nproc`, … without `RLIMIT_`).
pub fn resource(name: &str) -> Option<Resource> {
    Some(match name {
        "as" => Resource::RLIMIT_AS,
        "core" => Resource::RLIMIT_CORE,
        "cpu" => Resource::RLIMIT_CPU,
        "data" => Resource::RLIMIT_DATA,
        "fsize" => Resource::RLIMIT_FSIZE,
        "locks" => Resource::RLIMIT_LOCKS,
        "memlock" => Resource::RLIMIT_MEMLOCK,
        "msgqueue" => Resource::RLIMIT_MSGQUEUE,
        "nice" => Resource::RLIMIT_NICE,
        "nofile" => Resource::RLIMIT_NOFILE,
        "nproc" => Resource::RLIMIT_NPROC,
        "rss" => Resource::RLIMIT_RSS,
        "rtprio" => Resource::RLIMIT_RTPRIO,
        "rttime" => Resource::RLIMIT_RTTIME,
        "sigpending" => Resource::RLIMIT_SIGPENDING,
        "stack" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

/// The current (soft, hard) limits of `name`.
pub fn get(name: &str) -> Result<(u64, u64)> {
    let res = resource(name).ok_or_else(|| Error::new(format!("rlimit {name}"), std::io::Error::other("unknown resource")))?;
    getrlimit(res).op(|| format!("getrlimit(RLIMIT_{})", name.to_uppercase()))
}

/// Checks that (`soft`, `hard`) only lowers the current hard limit; the error names the
/// missing capability instead of the kernel's bare EPERM.
pub fn check_lowers(name: &str, soft: u64, hard: u64) -> Result<()> {
    let (_, current_hard) = get(name)?;
    let op = || format!("setrlimit(RLIMIT_{}, {soft}/{hard})", name.to_uppercase());
    if soft > hard {
        return Err(Error::new(op(), std::io::Error::other("the soft limit exceeds the hard limit")));
    }
    if hard > current_hard {
        return Err(Error::new(
            op(),
            std::io::Error::other(format!(
                "raising the hard limit above the current {current_hard} needs CAP_SYS_RESOURCE, which palisade does not have here; rlimits can only be lowered (set {name} <= {current_hard} in the policy)"
            )),
        ));
    }
    Ok(())
}

/// Sets `name` to (`soft`, `hard`), which must not raise the hard limit.
pub fn lower(name: &str, soft: u64, hard: u64) -> Result<()> {
    check_lowers(name, soft, hard)?;
    let res = resource(name).expect("checked by check_lowers");
    setrlimit(res, soft, hard).op(|| format!("setrlimit(RLIMIT_{}, {soft}/{hard})", name.to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_above_the_hard_limit_names_cap_sys_resource() {
        let (_, hard) = get("nofile").unwrap();
        if hard == u64::MAX {
            return; // unlimited: nothing is above it
        }
        let err = check_lowers("nofile", hard, hard + 1).unwrap_err().to_string();
        assert!(err.contains("CAP_SYS_RESOURCE"), "{err}");
        assert!(check_lowers("nofile", 16, 16).is_ok());
        assert!(check_lowers("nofile", 32, 16).is_err());
    }
}
