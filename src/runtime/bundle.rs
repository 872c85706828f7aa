//! What an OCI bundle asks of the runtime beyond a palisade policy and a [`RunSpec`]: the
//! config's mount list in its order, device nodes, sysctls, the OOM score, a user namespace
//! with id mappings, namespaces to join or share, the root's propagation, exact capability
//! sets, the hooks that run inside the container, and cgroup settings.
//!
//! `palisade run` never sets any of this (its containers are built from the policy alone);
//! `palisade oci` fills it from config.json (src/oci/config.rs), where every property is
//! either mapped here or refused by name.
//!
//! [`RunSpec`]: super::RunSpec

use std::path::PathBuf;

/// The OCI-only part of a run request.
#[derive(Debug, Clone, Default)]
pub struct BundleSpec {
    /// The config's `mounts`, in order. `Some` replaces palisade's own /proc, /sys and /dev
    /// set (rootfs.rs) with exactly these, hardened the same way (see [`MountEntry`]).
    pub mounts: Option<Vec<MountEntry>>,
    /// `linux.devices`: nodes created in the container's /dev (beyond the default set).
    pub devices: Vec<DeviceNode>,
    /// `linux.sysctl`, written under /proc/sys of the container's namespaces before pivot.
    pub sysctl: Vec<(String, String)>,
    /// `process.oomScoreAdj`.
    pub oom_score_adj: Option<i32>,
    /// `linux.namespaces` as asked (see [`Namespace`]); `None`: palisade's own set.
    pub namespaces: Option<Vec<Namespace>>,
    /// `linux.uidMappings` / `linux.gidMappings` for a new user namespace.
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
    /// `linux.rootfsPropagation`: applied to the container's root mount (recursively).
    pub rootfs_propagation: Option<Propagation>,
    /// `process.capabilities`, set by set; `None`: the policy's one set in all five.
    pub capabilities: Option<CapabilitySets>,
    /// `hooks.createContainer` (run by init in the container's namespaces, before
    /// pivot_root) and `hooks.startContainer` (run by the workload process after `start`,
    /// before the user's program), each with the container's state on stdin.
    pub create_container_hooks: Vec<Hook>,
    pub start_container_hooks: Vec<Hook>,
    /// The container's state as the hooks receive it (runtime-spec runtime.md "State"),
    /// without `pid` and `status`, which are filled in when a hook runs.
    pub state: Option<serde_json::Value>,
    /// `linux.resources`, as cgroup settings (src/runtime/cgroups).
    pub resources: Option<serde_json::Value>,
    /// Create the container's cgroups even without limits (an OCI container always has
    /// them: `pause` freezes them and `ps`/`kill --all` read them).
    pub always_cgroup: bool,
    /// `domainname` (the NIS domain name of the uts namespace).
    pub domainname: Option<String>,
    /// Seccomp programs of a policy layered on the bundle (`--policy`), installed after the
    /// bundle's own: the kernel applies every filter, so the stricter answer wins.
    pub layered_seccomp: Vec<Vec<crate::seccomp::bpf::sock_filter>>,
    /// LSM labels the bundle asks for that this kernel has no module to enforce, each
    /// described; reported at the start, never claimed.
    pub lsm_not_enforced: Vec<String>,
    /// What the translation had to leave out of the config, each said at the start.
    pub warnings: Vec<String>,
    /// `linux.seccomp.flags` as SECCOMP_FILTER_FLAG_* bits, for the bundle's own filter.
    pub seccomp_flags: u32,
    /// `linux.personality`: the persona the workload runs with (PER_LINUX32), if not the
    /// default.
    pub personality: Option<u64>,
    /// config.json has no `process`: the container is created, and nothing can be started
    /// in it (runtime-spec runtime.md, start).
    pub no_process: bool,
}

/// One entry of `mounts`.
///
/// Whatever its options say, palisade adds `nodev` to every mount except devpts and the
/// device nodes themselves (a workload keeping CAP_MKNOD must not be able to make a usable
/// device node), and `nosuid` to every mount a bind brings from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Absolute, inside the container; resolved in the new root without following symlinks
    /// out of it.
    pub destination: PathBuf,
    /// Filesystem type (`proc`, `sysfs`, `tmpfs`, `devpts`, `mqueue`, `cgroup`, …); `bind`
    /// for binds.
    pub kind: String,
    /// For binds a host path; otherwise the name shown in mountinfo.
    pub source: String,
    /// The options as written: flags (`ro`, `nosuid`, `bind`, `rbind`, propagation …) and
    /// filesystem data (`mode=755`, `size=…`).
    pub options: Vec<String>,
}

impl MountEntry {
    /// A bind mount (`type: bind` or a `bind`/`rbind` option).
    pub fn is_bind(&self) -> bool {
        self.kind == "bind" || self.options.iter().any(|o| o == "bind" || o == "rbind")
    }
}

/// A device node of `linux.devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    pub path: PathBuf,
    /// `c` (or `u`), `b` or `p`.
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    /// Permission bits; `None`: 0666 like runc.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// The namespace kinds of `linux.namespaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NamespaceKind {
    Pid,
    Network,
    Mount,
    Ipc,
    Uts,
    User,
    Cgroup,
}

impl NamespaceKind {
    /// The name config.json uses.
    pub fn name(self) -> &'static str {
        match self {
            NamespaceKind::Pid => "pid",
            NamespaceKind::Network => "network",
            NamespaceKind::Mount => "mount",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::User => "user",
            NamespaceKind::Cgroup => "cgroup",
        }
    }

    /// The entry under /proc/PID/ns.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::Network => "net",
            NamespaceKind::Mount => "mnt",
            other => other.name(),
        }
    }

    pub fn parse(name: &str) -> Option<NamespaceKind> {
        Some(match name {
            "pid" => NamespaceKind::Pid,
            "network" => NamespaceKind::Network,
            "mount" => NamespaceKind::Mount,
            "ipc" => NamespaceKind::Ipc,
            "uts" => NamespaceKind::Uts,
            "user" => NamespaceKind::User,
            "cgroup" => NamespaceKind::Cgroup,
            _ => return None,
        })
    }

    /// The CLONE_NEW* flag.
    pub fn clone_flag(self) -> u64 {
        use nix::libc;
        (match self {
            NamespaceKind::Pid => libc::CLONE_NEWPID,
            NamespaceKind::Network => libc::CLONE_NEWNET,
            NamespaceKind::Mount => libc::CLONE_NEWNS,
            NamespaceKind::Ipc => libc::CLONE_NEWIPC,
            NamespaceKind::Uts => libc::CLONE_NEWUTS,
            NamespaceKind::User => libc::CLONE_NEWUSER,
            NamespaceKind::Cgroup => libc::CLONE_NEWCGROUP,
        }) as u64
    }
}

/// A namespace listed in `linux.namespaces`: new, or joined by path. A kind not listed is
/// shared with the runtime (the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub kind: NamespaceKind,
    pub path: Option<PathBuf>,
}

/// One line of a uid_map or gid_map: `container_id host_id size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// Mount propagation (mount_namespaces(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Shared,
    Slave,
    Private,
    Unbindable,
}

impl Propagation {
    pub fn parse(name: &str) -> Option<Propagation> {
        Some(match name {
            "shared" => Propagation::Shared,
            "slave" => Propagation::Slave,
            "private" => Propagation::Private,
            "unbindable" => Propagation::Unbindable,
            _ => return None,
        })
    }
}

/// The five capability sets of `process.capabilities`, by kernel capability.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    pub bounding: caps::CapsHashSet,
    pub effective: caps::CapsHashSet,
    pub permitted: caps::CapsHashSet,
    pub inheritable: caps::CapsHashSet,
    pub ambient: caps::CapsHashSet,
}

/// A hook of config.json's `hooks`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hook {
    /// Absolute path of the program.
    pub path: PathBuf,
    /// argv, including argv[0]; empty: just the path.
    #[serde(default)]
    pub args: Vec<String>,
    /// The whole environment (`KEY=VALUE`); nothing else is passed.
    #[serde(default)]
    pub env: Vec<String>,
    /// Seconds; `None`: no limit.
    #[serde(default)]
    pub timeout: Option<u64>,
}
