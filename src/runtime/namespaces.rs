//! Which namespaces a container gets, and the user namespace's id maps.
//!
//! Always new: mount, pid, uts, ipc, and (after the cgroups are joined) cgroup. New network
//! namespace unless the policy asks for the host's network. A user namespace when the caller
//! is not root: it maps the caller's uid and gid to 0 inside, which is all an unprivileged
//! process may map (user_namespaces(7)); a root caller runs without one, like runc and crun,
//! and relies on the capability drop instead.

use crate::sys::{self, Op};
use nix::libc;
use nix::unistd::Pid;

/// One id mapped into the user namespace: container 0 ↔ `host_uid`/`host_gid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub host_uid: u32,
    pub host_gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespaces {
    /// `Some` for a rootless run.
    pub user: Option<IdMap>,
    /// A network namespace of the container's own (only `lo`).
    pub network: bool,
}

impl Namespaces {
    /// The namespaces for the calling user, with or without a private network.
    pub fn for_caller(private_network: bool) -> Namespaces {
        let (uid, gid) = sys::ids::current();
        let user = (uid != 0).then_some(IdMap { host_uid: uid, host_gid: gid });
        Namespaces { user, network: private_network }
    }

    /// Whether only one id (0) exists inside.
    pub fn rootless(&self) -> bool {
        self.user.is_some()
    }

    /// The clone3 flags. The cgroup namespace is not among them: it is unshared by init once
    /// the parent has moved it into its cgroups, so that its root is the container's group.
    pub fn clone_flags(&self) -> u64 {
        let mut flags = (libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC) as u64;
        if self.user.is_some() {
            flags |= libc::CLONE_NEWUSER as u64;
        }
        if self.network {
            flags |= libc::CLONE_NEWNET as u64;
        }
        flags
    }

    /// Writes the id maps of `pid`'s user namespace (from the parent, which is outside it).
    /// `setgroups` is denied first: an unprivileged process may write a gid map only then,
    /// which also keeps the workload from dropping a supplementary group that a negative
    /// permission (`rwx---rwx`) is keyed on (CVE-2014-8989).
    pub fn write_id_maps(&self, pid: Pid) -> sys::Result<()> {
        let Some(map) = self.user else { return Ok(()) };
        let proc = format!("/proc/{pid}");
        let write = |file: &str, text: String| {
            std::fs::write(format!("{proc}/{file}"), &text).op(|| format!("write `{}` to {proc}/{file}", text.trim()))
        };
        write("setgroups", "deny".into())?;
        write("uid_map", format!("0 {} 1\n", map.host_uid))?;
        write("gid_map", format!("0 {} 1\n", map.host_gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_plan() {
        let root = Namespaces { user: None, network: true };
        let f = root.clone_flags();
        assert_ne!(f & libc::CLONE_NEWNET as u64, 0);
        assert_eq!(f & libc::CLONE_NEWUSER as u64, 0);
        assert_eq!(f & libc::CLONE_NEWCGROUP as u64, 0, "cgroup ns comes after joining the cgroups");
        let rootless = Namespaces { user: Some(IdMap { host_uid: 1000, host_gid: 1000 }), network: false };
        assert_ne!(rootless.clone_flags() & libc::CLONE_NEWUSER as u64, 0);
        assert_eq!(rootless.clone_flags() & libc::CLONE_NEWNET as u64, 0);
    }
}
