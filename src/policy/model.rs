//! The effective policy: every field typed, validated and merged through the `extends` chain,
//! each carrying the `Origin` it came from so `policy explain` can trace it to a line.

use super::source::Origin;
use crate::seccomp::action::Action;
use crate::seccomp::arch::Arch;
use crate::seccomp::condition::Condition;
use caps::Capability;
use std::collections::BTreeMap;

/// A value and where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    pub fn new(value: T, origin: Origin) -> Self {
        Setting { value, origin }
    }

    pub fn default(value: T) -> Self {
        Setting { value, origin: Origin::Default }
    }
}

/// One list item (a path, a mount option, a syscall…) with its origin and its stated reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub name: String,
    pub origin: Origin,
    pub reason: Option<String>,
}

impl Item {
    pub fn default(name: &str, reason: &str) -> Self {
        Item { name: name.to_string(), origin: Origin::Default, reason: Some(reason.to_string()) }
    }
}

/// The fully resolved policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub description: Option<String>,
    /// Files of the `extends` chain, root first, this policy last.
    pub chain: Vec<String>,
    pub process: Process,
    pub capabilities: Capabilities,
    pub seccomp: Seccomp,
    pub filesystem: Filesystem,
    pub volumes: Volumes,
    pub network: Network,
    pub resources: Resources,
    pub apparmor: AppArmor,
    pub selinux: Selinux,
    pub trust: Trust,
}

/// `uid[:gid]` numbers, or a user name that is resolved in the image's /etc/passwd at start.
#[derive(Debug, Clone, PartialEq)]
pub enum User {
    Id { uid: u32, gid: Option<u32> },
    Name(String),
}

impl User {
    /// True when the user is known to be root at compile time.
    pub fn is_root(&self) -> bool {
        matches!(self, User::Id { uid: 0, .. }) || matches!(self, User::Name(n) if n == "root")
    }
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            User::Id { uid, gid: Some(gid) } => write!(f, "{uid}:{gid}"),
            User::Id { uid, gid: None } => write!(f, "{uid}"),
            User::Name(name) => f.write_str(name),
        }
    }
}

/// Soft and hard limit of one rlimit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone)]
pub struct Process {
    /// `None`: the image's user (root for a directory rootfs).
    pub user: Option<Setting<User>>,
    pub groups: Setting<Vec<u32>>,
    pub no_new_privileges: Setting<bool>,
    pub run_as_non_root: Setting<bool>,
    /// Keyed by the lower-case name without `RLIMIT_` (`nofile`, `nproc`, …).
    pub rlimits: BTreeMap<String, Setting<Limit>>,
    pub env: BTreeMap<String, Setting<String>>,
}

/// A capability, ordered by its number so sets print and compile deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cap(pub Capability);

impl Cap {
    /// The kernel's number for the capability (`CAP_SYS_ADMIN` = 21).
    pub fn index(self) -> u8 {
        self.0.index()
    }

    /// The name without the `CAP_` prefix, as policies write it (`SYS_ADMIN`).
    pub fn name(self) -> String {
        self.0.to_string().trim_start_matches("CAP_").to_string()
    }
}

impl Ord for Cap {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
    }
}

impl PartialOrd for Cap {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Cap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[derive(Debug, Clone)]
pub struct Capabilities {
    /// Capabilities the workload keeps, and the line that granted each.
    pub kept: BTreeMap<Cap, Item>,
    /// Capabilities explicitly dropped, and the line that dropped each (for `explain`).
    pub dropped: BTreeMap<Cap, Item>,
}

impl Capabilities {
    pub fn has(&self, cap: Capability) -> bool {
        self.kept.contains_key(&Cap(cap))
    }
}

/// One `[[seccomp.rule]]`: an action for some syscalls when every condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeccompRule {
    pub syscalls: Vec<String>,
    pub action: Action,
    /// All must hold (logical AND), like the args of one Docker/OCI syscall entry.
    pub conditions: Vec<Condition>,
    /// The rule exists only if the effective capability set has (or lacks) this capability;
    /// resolved at compile time, as Docker's `includes.caps`/`excludes.caps` are.
    pub if_capability: Option<Cap>,
    pub unless_capability: Option<Cap>,
    /// The rule exists only on these architectures (`None`: all).
    pub arches: Option<Vec<Arch>>,
    pub reason: Option<String>,
    pub origin: Origin,
}

/// A syscall named in `allow` or `deny`, possibly through a group.
#[derive(Debug, Clone, PartialEq)]
pub struct SyscallItem {
    pub name: String,
    /// The `@group` it was listed through, if any.
    pub group: Option<String>,
    pub origin: Origin,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Seccomp {
    /// Unset means the chain never configured seccomp; compiling then fails (fail closed).
    pub default_action: Option<Setting<Action>>,
    pub deny_action: Setting<Action>,
    pub architectures: Setting<Vec<Arch>>,
    pub allow: Vec<SyscallItem>,
    pub deny: Vec<SyscallItem>,
    /// Most-derived policy first; within a file, in written order. First match wins.
    pub rules: Vec<SeccompRule>,
}

/// Whether Landlock must be fully enforced, or may run at the kernel's best ABI with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    BestEffort,
    Required,
}

#[derive(Debug, Clone)]
pub struct Landlock {
    pub read: Vec<Item>,
    pub write: Vec<Item>,
    pub execute: Vec<Item>,
    pub enforcement: Setting<Enforcement>,
}

impl Landlock {
    /// Landlock is on when any access set is given.
    pub fn enabled(&self) -> bool {
        !(self.read.is_empty() && self.write.is_empty() && self.execute.is_empty())
    }
}

#[derive(Debug, Clone)]
pub struct Filesystem {
    pub read_only_root: Setting<bool>,
    pub masked_paths: Vec<Item>,
    pub readonly_paths: Vec<Item>,
    /// Mount point → mount options.
    pub tmpfs: BTreeMap<String, Setting<String>>,
    pub landlock: Landlock,
}

#[derive(Debug, Clone)]
pub struct Volumes {
    /// Glob patterns; `None` means any source not denied.
    pub allow_sources: Option<Vec<Item>>,
    pub deny_sources: Vec<Item>,
    pub force_options: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    None,
    Bridge,
    Host,
}

impl NetworkMode {
    pub fn name(self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Any,
}

/// One allowed egress destination: an address or CIDR, ports (empty: all), protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Egress {
    pub to: String,
    pub ports: Vec<u16>,
    pub protocol: Protocol,
    pub reason: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub mode: Setting<NetworkMode>,
    /// `None`: no egress filtering beyond the mode; `Some([])`: no egress at all.
    pub egress: Option<Setting<Vec<Egress>>>,
    pub publish: Setting<bool>,
}

#[derive(Debug, Clone)]
pub struct Resources {
    pub memory_bytes: Option<Setting<u64>>,
    pub pids: Option<Setting<u64>>,
    /// CPU time in cores (0.5 = half of one CPU).
    pub cpu: Option<Setting<f64>>,
}

/// What AppArmor profile the workload runs under.
#[derive(Debug, Clone, PartialEq)]
pub enum AppArmorProfile {
    /// Generate a profile from this policy (`policy compile --emit apparmor`).
    Generate,
    Unconfined,
    /// A profile already loaded on the host, by name.
    Named(String),
}

#[derive(Debug, Clone)]
pub struct AppArmor {
    pub profile: Setting<AppArmorProfile>,
    /// Name of the generated profile (default `palisade-<policy name>`).
    pub name: Option<Setting<String>>,
}

#[derive(Debug, Clone)]
pub struct Selinux {
    pub user: Setting<String>,
    pub role: Setting<String>,
    pub process_type: Setting<String>,
    pub file_type: Setting<String>,
    /// `None`: "auto", unique MCS categories per container.
    pub level: Setting<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct Trust {
    pub policy: Option<Setting<String>>,
    pub registries_d: Option<Setting<String>>,
}
