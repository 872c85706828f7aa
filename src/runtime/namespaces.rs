//! Which namespaces a container gets, and the user namespace's id maps.
//!
//! `palisade run`: always new mount, pid, uts, ipc, and (after the cgroups are joined)
//! cgroup namespaces; a new network namespace unless the policy asks for the host's network.
//! A user namespace when the caller is not root: it maps the caller's uid and gid to 0
//! inside, which is all an unprivileged process may map (user_namespaces(7)); a root caller
//! runs without one, like runc and crun, and relies on the capability drop instead.
//!
//! `palisade oci` follows config.json's `linux.namespaces`: a kind listed without a path is
//! new, with a path it is joined (setns(2)), and a kind not listed is shared with the host —
//! except the mount namespace, which is always new (the container's root is built in it).
//! A user namespace of a root caller gets the config's id mappings.

use super::bundle::{IdMapping, NamespaceKind};
use crate::sys::{self, Op};
use nix::libc;
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// A new user namespace and its maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNamespace {
    pub uid_map: Vec<IdMapping>,
    pub gid_map: Vec<IdMapping>,
    /// The caller is not root: it may map only its own ids, and must deny setgroups first.
    pub rootless: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// `Some` for a new user namespace (always, for a rootless run).
    pub user: Option<UserNamespace>,
    /// A network namespace of the container's own (only `lo`).
    pub network: bool,
    /// Kinds shared with the host (not new): only pid, ipc, uts, network and cgroup can be.
    pub shared: Vec<NamespaceKind>,
    /// Kinds joined by path; the paths are opened (and checked) by [`Namespaces::open_joins`].
    pub join: Vec<(NamespaceKind, PathBuf)>,
}

impl Namespaces {
    /// The namespaces for the calling user, with or without a private network.
    pub fn for_caller(private_network: bool) -> Namespaces {
        let (uid, gid) = sys::ids::current();
        let user = (uid != 0).then(|| UserNamespace {
            uid_map: vec![IdMapping { container_id: 0, host_id: uid, size: 1 }],
            gid_map: vec![IdMapping { container_id: 0, host_id: gid, size: 1 }],
            rootless: true,
        });
        Namespaces { user, network: private_network, shared: Vec::new(), join: Vec::new() }
    }

    /// Whether only the caller's own id exists inside (a rootless run).
    pub fn rootless(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.rootless)
    }

    /// Whether `kind` is a namespace of the container's own, made by palisade.
    pub fn is_new(&self, kind: NamespaceKind) -> bool {
        match kind {
            NamespaceKind::User => self.user.is_some(),
            NamespaceKind::Network => self.network,
            NamespaceKind::Mount => true,
            other => !self.shared.contains(&other) && !self.join.iter().any(|(k, _)| *k == other),
        }
    }

    /// Whether gid `gid` exists inside the container (mapped, or no user namespace at all).
    pub fn maps_gid(&self, gid: u32) -> bool {
        match &self.user {
            None => true,
            Some(u) => u.gid_map.iter().any(|m| gid >= m.container_id && gid - m.container_id < m.size),
        }
    }

    /// The clone3 flags. The cgroup namespace is not among them: it is unshared by init once
    /// the parent has moved it into its cgroups, so that its root is the container's group.
    pub fn clone_flags(&self) -> u64 {
        let mut flags = libc::CLONE_NEWNS as u64;
        for kind in [NamespaceKind::Pid, NamespaceKind::Uts, NamespaceKind::Ipc, NamespaceKind::User, NamespaceKind::Network] {
            if self.is_new(kind) {
                flags |= kind.clone_flag();
            }
        }
        flags
    }

    /// Opens every namespace to join, before anything starts: a missing path or one that is
    /// not a namespace of the right kind fails here, naming it.
    pub fn open_joins(&self) -> sys::Result<Vec<(NamespaceKind, OwnedFd)>> {
        self.join
            .iter()
            .map(|(kind, path)| {
                let fd = sys::ns::open_namespace(path, kind.clone_flag())?;
                Ok((*kind, fd))
            })
            .collect()
    }

    /// Writes the id maps of `pid`'s user namespace (from the parent, which is outside it).
    /// A rootless caller denies `setgroups` first: an unprivileged process may write a gid
    /// map only then, which also keeps the workload from dropping a supplementary group that
    /// a negative permission (`rwx---rwx`) is keyed on (CVE-2014-8989).
    pub fn write_id_maps(&self, pid: Pid) -> sys::Result<()> {
        let Some(user) = &self.user else { return Ok(()) };
        let proc = format!("/proc/{pid}");
        let write = |file: &str, text: String| {
            std::fs::write(format!("{proc}/{file}"), &text).op(|| format!("write `{}` to {proc}/{file}", text.trim().replace('\n', "; ")))
        };
        if user.rootless {
            write("setgroups", "deny".into())?;
        }
        write("uid_map", map_text(&user.uid_map))?;
        write("gid_map", map_text(&user.gid_map))
    }
}

/// The text of a uid_map or gid_map: one `inside outside count` line per range, written in
/// one write(2) as the kernel requires.
fn map_text(map: &[IdMapping]) -> String {
    map.iter().map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(network: bool) -> Namespaces {
        Namespaces { user: None, network, shared: Vec::new(), join: Vec::new() }
    }

    #[test]
    fn flags_follow_the_plan() {
        let f = root(true).clone_flags();
        assert_ne!(f & libc::CLONE_NEWNET as u64, 0);
        assert_ne!(f & libc::CLONE_NEWPID as u64, 0);
        assert_eq!(f & libc::CLONE_NEWUSER as u64, 0);
        assert_eq!(f & libc::CLONE_NEWCGROUP as u64, 0, "cgroup ns comes after joining the cgroups");
        let rootless = Namespaces {
            user: Some(UserNamespace {
                uid_map: vec![IdMapping { container_id: 0, host_id: 1000, size: 1 }],
                gid_map: vec![IdMapping { container_id: 0, host_id: 1000, size: 1 }],
                rootless: true,
            }),
            ..root(false)
        };
        assert_ne!(rootless.clone_flags() & libc::CLONE_NEWUSER as u64, 0);
        assert_eq!(rootless.clone_flags() & libc::CLONE_NEWNET as u64, 0);
        assert!(rootless.rootless());
        assert!(rootless.maps_gid(0) && !rootless.maps_gid(5));
    }

    #[test]
    fn shared_and_joined_kinds_are_not_cloned() {
        let ns = Namespaces { shared: vec![NamespaceKind::Pid], join: vec![(NamespaceKind::Uts, "/proc/1/ns/uts".into())], ..root(true) };
        let f = ns.clone_flags();
        assert_eq!(f & libc::CLONE_NEWPID as u64, 0);
        assert_eq!(f & libc::CLONE_NEWUTS as u64, 0);
        assert_ne!(f & libc::CLONE_NEWIPC as u64, 0);
        assert_ne!(f & libc::CLONE_NEWNS as u64, 0, "the mount namespace is always new");
        assert!(!ns.is_new(NamespaceKind::Uts) && ns.is_new(NamespaceKind::Ipc));
    }

    #[test]
    fn maps_are_one_line_per_range() {
        let map = [IdMapping { container_id: 0, host_id: 1000, size: 2000 }, IdMapping { container_id: 2000, host_id: 5000, size: 1 }];
        assert_eq!(map_text(&map), "0 1000 2000\n2000 5000 1\n");
    }
}
