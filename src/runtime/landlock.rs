//! Applies the compiled Landlock ruleset (`compile::landlock::ruleset`) to the calling
//! thread, and says how much of it the running kernel enforces: full, partial or none.

use super::{Layer, RunError};
use crate::compile::landlock::{Ruleset as Compiled, FS_RIGHTS};
use crate::sys::{self, mount as m};
use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
    ABI,
};
use std::os::fd::AsFd;
use std::path::Path;

/// How much of the ruleset the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforced {
    Full,
    Partial,
    None,
}

/// What happened, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub enforced: Enforced,
    /// The kernel's Landlock ABI (0: none).
    pub kernel_abi: u32,
    /// The ABI the ruleset needs for full enforcement.
    pub needed_abi: u32,
    /// Rule paths that do not exist in this root (their grants are moot).
    pub missing: Vec<String>,
}

impl Report {
    /// A sentence for a warning, when enforcement is not full.
    pub fn describe(&self) -> String {
        match self.enforced {
            Enforced::Full => format!("fully enforced (kernel ABI {})", self.kernel_abi),
            Enforced::Partial => format!("only partially enforced: the kernel's Landlock ABI is {}, the policy's rules need {}; rights newer than the kernel are not restricted", self.kernel_abi, self.needed_abi),
            Enforced::None => "not enforced: this kernel has no Landlock (not built in or not enabled at boot)".to_string(),
        }
    }
}

fn fs_rights(names: &[&str]) -> BitFlags<AccessFs> {
    FS_RIGHTS.iter().filter(|(_, n)| names.contains(n)).fold(BitFlags::EMPTY, |acc, (r, _)| acc | *r)
}

fn net_rights(names: &[&str]) -> BitFlags<AccessNet> {
    let mut r = BitFlags::EMPTY;
    for n in names {
        match *n {
            "bind_tcp" => r |= AccessNet::BindTcp,
            "connect_tcp" => r |= AccessNet::ConnectTcp,
            _ => {}
        }
    }
    r
}

fn scopes(names: &[&str]) -> BitFlags<Scope> {
    let mut s = BitFlags::EMPTY;
    for n in names {
        match *n {
            "abstract_unix_socket" => s |= Scope::AbstractUnixSocket,
            "signal" => s |= Scope::Signal,
            _ => {}
        }
    }
    s
}

fn err(e: impl std::fmt::Display) -> RunError {
    RunError::Start { layer: Layer::Landlock, message: e.to_string() }
}

/// Restricts the calling thread with `compiled`. no_new_privs is the caller's business (the
/// hardening sequence sets it first when the policy asks for it; otherwise CAP_SYS_ADMIN
/// must still be effective). With `required`, anything short of full enforcement is an
/// error (the thread may already be partially restricted; the start is aborted).
pub fn apply(compiled: &Compiled, required: bool) -> Result<Report, RunError> {
    let kernel_abi = sys::landlock::abi_version();
    let mut report = Report { enforced: Enforced::None, kernel_abi, needed_abi: compiled.abi, missing: Vec::new() };
    if kernel_abi == 0 {
        return if required {
            Err(err(format!("the policy requires Landlock (enforcement = \"required\"), but it is {}", report.describe())))
        } else {
            Ok(report)
        };
    }
    let handled_fs = fs_rights(&compiled.handled_access_fs);
    let handled_net = net_rights(&compiled.handled_access_net);
    let scoped = scopes(&compiled.scoped);
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::BestEffort).handle_access(handled_fs).map_err(err)?;
    if !handled_net.is_empty() {
        ruleset = ruleset.handle_access(handled_net).map_err(err)?;
    }
    if !scoped.is_empty() {
        ruleset = ruleset.scope(scoped).map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?.no_new_privs(false);
    for rule in &compiled.rules {
        let fd = match m::open_path(Path::new(&rule.path)) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => {
                // A grant on a path that does not exist grants nothing: skipping it is
                // stricter, never weaker.
                report.missing.push(rule.path.clone());
                continue;
            }
            Err(e) => return Err(err(format!("rule {} ({}): {e}", rule.path, rule.origin))),
        };
        let mut rights = fs_rights(&rule.access);
        // Directory rights on a file are EINVAL: keep what applies to a file.
        if !m::is_dir(fd.as_fd()).map_err(err)? {
            rights &= AccessFs::from_file(ABI::V6);
        }
        created = created.add_rule(PathBeneath::new(fd, rights)).map_err(|e| err(format!("rule {} ({}): {e}", rule.path, rule.origin)))?;
    }
    let status = created.restrict_self().map_err(err)?;
    report.enforced = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Full,
        RulesetStatus::PartiallyEnforced => Enforced::Partial,
        RulesetStatus::NotEnforced => Enforced::None,
    };
    if required && report.enforced != Enforced::Full {
        return Err(err(format!(
            "the policy requires full enforcement (enforcement = \"required\"), but Landlock is {}",
            report.describe()
        )));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, PolicySource};

    #[test]
    fn compiled_names_map_back_to_rights() {
        let rs = crate::compile::landlock::ruleset(&load(&PolicySource::Builtin("untrusted")).unwrap());
        let fs = fs_rights(&rs.handled_access_fs);
        assert!(fs.contains(AccessFs::Truncate) && fs.contains(AccessFs::ReadFile));
        assert!(!fs.contains(AccessFs::IoctlDev));
        assert_eq!(scopes(&rs.scoped), Scope::AbstractUnixSocket | Scope::Signal);
        assert_eq!(net_rights(&["bind_tcp", "connect_tcp"]), AccessNet::BindTcp | AccessNet::ConnectTcp);
        assert!(net_rights(&[]).is_empty());
    }
}
