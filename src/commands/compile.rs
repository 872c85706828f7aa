//! `palisade policy compile FILE --emit KIND`.

use crate::cli::LsmArg;
use crate::compile::{emit, EmitKind, EmitOptions, LsmTarget, Output, Plan};
use crate::seccomp::arch::Arch;
use anyhow::Context;
use std::path::Path;

pub fn run(file: &str, kind: EmitKind, output: Option<&Path>, arch: Option<Arch>, lsm: LsmArg, args: Vec<String>) -> anyhow::Result<i32> {
    let Some(policy) = super::load_or_report(file) else { return Ok(1) };
    let plan = Plan::new(policy)?;
    let mut notes = Vec::new();
    let lsm = match lsm {
        LsmArg::Auto => host_lsms(),
        LsmArg::All => LsmTarget::All,
        LsmArg::Apparmor => LsmTarget::Apparmor,
        LsmArg::Selinux => LsmTarget::Selinux,
        LsmArg::None => LsmTarget::None,
    };
    let out = emit(&plan, kind, &EmitOptions { arch, args, lsm }, &mut notes)?;
    for note in &notes {
        eprint!("{}", note.render());
    }
    write_output(out, output).with_context(|| format!("writing {} output", kind.name()))?;
    Ok(0)
}

/// The LSMs this host enforces: AppArmor when its module reports itself enabled, SELinux when
/// selinuxfs is mounted (its `enforce` file exists in permissive and enforcing mode alike).
fn host_lsms() -> LsmTarget {
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|v| v.trim() == "Y");
    let selinux = Path::new("/sys/fs/selinux/enforce").exists();
    match (apparmor, selinux) {
        (true, true) => LsmTarget::All,
        (true, false) => LsmTarget::Apparmor,
        (false, true) => LsmTarget::Selinux,
        (false, false) => LsmTarget::None,
    }
}

fn write_output(out: Output, path: Option<&Path>) -> anyhow::Result<()> {
    use std::io::Write;
    match (out, path) {
        (Output::Text(text), None) => print!("{text}"),
        (Output::Bytes(bytes), None) => std::io::stdout().write_all(&bytes)?,
        (Output::Text(text), Some(p)) => write_atomic(p, text.as_bytes())?,
        (Output::Bytes(bytes), Some(p)) => write_atomic(p, &bytes)?,
        (Output::Files(files), None) => {
            for (name, text) in files {
                println!("# --- {name}");
                print!("{text}");
            }
        }
        (Output::Files(files), Some(dir)) => {
            for (name, text) in files {
                let path = dir.join(&name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
                }
                write_atomic(&path, text.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Writes through a temporary file and a rename, so a reader never sees half an artifact.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
