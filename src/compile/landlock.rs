//! `--emit landlock`: the Landlock ruleset a policy asks for — which access rights are handled
//! (denied unless a rule grants them), the per-path grants traced to their policy lines, and
//! the network and scope restrictions — as data the runtime applies and tools can read.
//!
//! From the `landlock` crate (0.4) this uses the kernel's access-right set per ABI
//! (`AccessFs::from_all`, `AccessNet::from_all`, `Scope::from_all`) and the `ABI` versions;
//! the access names are the kernel's `LANDLOCK_ACCESS_FS_*` / `LANDLOCK_ACCESS_NET_*` /
//! `LANDLOCK_SCOPE_*` suffixes in lower case, tied to the crate's flags by [`FS_RIGHTS`].
//!
//! Caveat for the runtime: a rule on a path that turns out to be a regular file may only carry
//! file rights (`execute`, `write_file`, `read_file`, `truncate`); the kernel rejects directory
//! rights there (EINVAL), so the runtime intersects them when it opens the path.

use super::Plan;
use crate::policy::model::{Enforcement, Item, NetworkMode, Policy};
use landlock::{Access, AccessFs, BitFlags, Scope, ABI};
use serde::Serialize;

/// Every filesystem right palisade knows, in the kernel's bit order, with its kernel name.
/// The values come from the crate, which mirrors `include/uapi/linux/landlock.h`.
pub const FS_RIGHTS: &[(AccessFs, &str)] = &[
    (AccessFs::Execute, "execute"),
    (AccessFs::WriteFile, "write_file"),
    (AccessFs::ReadFile, "read_file"),
    (AccessFs::ReadDir, "read_dir"),
    (AccessFs::RemoveDir, "remove_dir"),
    (AccessFs::RemoveFile, "remove_file"),
    (AccessFs::MakeChar, "make_char"),
    (AccessFs::MakeDir, "make_dir"),
    (AccessFs::MakeReg, "make_reg"),
    (AccessFs::MakeSock, "make_sock"),
    (AccessFs::MakeFifo, "make_fifo"),
    (AccessFs::MakeBlock, "make_block"),
    (AccessFs::MakeSym, "make_sym"),
    (AccessFs::Refer, "refer"),
    (AccessFs::Truncate, "truncate"),
    (AccessFs::IoctlDev, "ioctl_dev"),
];

/// The ABIs this module reasons about, oldest first.
const ABIS: [ABI; 6] = [ABI::V1, ABI::V2, ABI::V3, ABI::V4, ABI::V5, ABI::V6];

/// The filesystem ABI every enabled ruleset handles at least: ABI 3, the first that can deny
/// truncate(2). Below it, truncating a file reachable by path is never checked, so a read-only
/// grant would still let the workload empty any file it can name.
const FS_ABI_FLOOR: ABI = ABI::V3;

/// `read`: open files for reading and list directories.
fn read_rights() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

/// `write`: write, create, remove, rename across directories, truncate. Never `make_char` or
/// `make_block`: device nodes would bypass every path rule (the device cgroup is the other guard).
fn write_rights() -> BitFlags<AccessFs> {
    AccessFs::WriteFile
        | AccessFs::RemoveDir
        | AccessFs::RemoveFile
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSock
        | AccessFs::MakeFifo
        | AccessFs::MakeSym
        | AccessFs::Refer
        | AccessFs::Truncate
}

/// `execute`: run files, and read them (the kernel opens a script or the loader for reading).
fn execute_rights() -> BitFlags<AccessFs> {
    AccessFs::Execute | AccessFs::ReadFile
}

/// One grant: the rights the workload has beneath `path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathRule {
    pub path: String,
    pub access: Vec<&'static str>,
    /// `file:line:col` of the list entry, or "palisade's default".
    pub origin: String,
}

/// The ruleset for one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ruleset {
    /// The minimum Landlock ABI that covers every right in this ruleset (handled or granted).
    pub abi: u32,
    /// Rights denied everywhere except where a rule grants them.
    pub handled_access_fs: Vec<&'static str>,
    /// TCP rights denied everywhere (ABI 4); no rule grants any port.
    pub handled_access_net: Vec<&'static str>,
    /// IPC the workload may not reach outside its own Landlock domain (ABI 6).
    pub scoped: Vec<&'static str>,
    /// One rule per entry of the policy's read, write and execute lists, in that order.
    pub rules: Vec<PathRule>,
    /// `best-effort` (apply what the kernel supports, report the rest) or `required`.
    pub enforcement: &'static str,
}

impl Ruleset {
    /// Landlock is on when any path rule exists; an empty ruleset is not applied at all.
    pub fn enabled(&self) -> bool {
        !self.rules.is_empty()
    }
}

/// The kernel names of a set of filesystem rights, in bit order.
pub fn fs_names(rights: BitFlags<AccessFs>) -> Vec<&'static str> {
    FS_RIGHTS.iter().filter(|(r, _)| rights.contains(*r)).map(|(_, n)| *n).collect()
}

fn abi_number(abi: ABI) -> u32 {
    ABIS.iter().position(|a| *a == abi).map_or(0, |i| i as u32 + 1)
}

/// The first ABI whose full filesystem set contains every right in `rights`.
fn fs_abi(rights: BitFlags<AccessFs>) -> ABI {
    ABIS.into_iter().find(|abi| AccessFs::from_all(*abi).contains(rights)).unwrap_or(ABI::V6)
}

/// Computes the ruleset. Handled filesystem rights are the full set of the ABI the grants need
/// (at least ABI 3), so everything not granted is denied — except `ioctl_dev` (ABI 5), which no
/// policy list grants: handling it would refuse terminal and device ioctls on every device the
/// workload opens, and device access is already limited by the device cgroup and the masked /dev.
pub fn ruleset(policy: &Policy) -> Ruleset {
    let ll = &policy.filesystem.landlock;
    let enforcement = match ll.enforcement.value {
        Enforcement::BestEffort => "best-effort",
        Enforcement::Required => "required",
    };
    if !ll.enabled() {
        return Ruleset {
            abi: 0,
            handled_access_fs: Vec::new(),
            handled_access_net: Vec::new(),
            scoped: Vec::new(),
            rules: Vec::new(),
            enforcement,
        };
    }
    let rule = |item: &Item, rights: BitFlags<AccessFs>| PathRule {
        path: item.name.clone(),
        access: fs_names(rights),
        origin: item.origin.describe(),
    };
    let rules: Vec<PathRule> = ll
        .read
        .iter()
        .map(|i| rule(i, read_rights()))
        .chain(ll.write.iter().map(|i| rule(i, write_rights())))
        .chain(ll.execute.iter().map(|i| rule(i, execute_rights())))
        .collect();
    let mut granted = BitFlags::<AccessFs>::EMPTY;
    for (list, rights) in [(&ll.read, read_rights()), (&ll.write, write_rights()), (&ll.execute, execute_rights())] {
        if !list.is_empty() {
            granted |= rights;
        }
    }
    let fs = std::cmp::max(fs_abi(granted), FS_ABI_FLOOR);
    let handled_fs = AccessFs::from_all(fs) & !BitFlags::from(AccessFs::IoctlDev);
    let mut abi = abi_number(fs);

    let mode = policy.network.mode.value;
    // TCP is not handled: mode none already leaves only loopback in the workload's network
    // namespace, and loopback servers and clients are a documented use of `untrusted`; Landlock
    // (ABI 4) can filter TCP by port only, not by address, so it cannot express "loopback only".
    let handled_net: Vec<&'static str> = Vec::new();
    // With its own network namespace the workload has no business with abstract UNIX sockets or
    // processes outside its domain: scope both (ABI 6). Under host networking it shares the
    // host's abstract socket namespace, where scoping would cut it off from host services it was
    // given the host network to reach, so it is left to the policy's seccomp and AppArmor rules.
    let scoped = if mode != NetworkMode::Host {
        abi = abi.max(abi_number(ABI::V6));
        scope_names(Scope::from_all(ABI::V6))
    } else {
        Vec::new()
    };
    Ruleset { abi, handled_access_fs: fs_names(handled_fs), handled_access_net: handled_net, scoped, rules, enforcement }
}

fn scope_names(scopes: BitFlags<Scope>) -> Vec<&'static str> {
    [(Scope::AbstractUnixSocket, "abstract_unix_socket"), (Scope::Signal, "signal")]
        .into_iter()
        .filter(|(s, _)| scopes.contains(*s))
        .map(|(_, n)| n)
        .collect()
}

/// The emitted document: `enabled` first, then the ruleset's fields in declaration order.
#[derive(Serialize)]
struct Enabled<'a> {
    enabled: bool,
    #[serde(flatten)]
    ruleset: &'a Ruleset,
}

/// The ruleset as pretty JSON (with a trailing newline); `{"enabled": false, …}` when the
/// policy sets no Landlock paths.
pub fn emit(plan: &Plan) -> String {
    let policy = &plan.policy;
    let rs = ruleset(policy);
    let text = if rs.enabled() {
        // Serialized directly (not through a `Value`, whose map may sort keys) to keep the order.
        serde_json::to_string_pretty(&Enabled { enabled: true, ruleset: &rs })
    } else {
        serde_json::to_string_pretty(&serde_json::json!({
            "enabled": false,
            "enforcement": rs.enforcement,
            "reason": "the policy sets no filesystem.landlock paths",
        }))
    };
    text.expect("JSON serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, load_str, PolicySource};

    #[test]
    fn access_names_follow_the_kernel_bit_order() {
        // LANDLOCK_ACCESS_FS_EXECUTE is bit 0 … IOCTL_DEV bit 15 (include/uapi/linux/landlock.h).
        for (bit, (right, _)) in FS_RIGHTS.iter().enumerate() {
            assert_eq!(*right as u64, 1 << bit);
        }
        assert_eq!(fs_names(AccessFs::from_all(ABI::V5)).len(), 16);
    }

    #[test]
    fn untrusted_ruleset() {
        let policy = load(&PolicySource::Builtin("untrusted")).unwrap();
        let rs = ruleset(&policy);
        assert_eq!(rs.enforcement, "required");
        assert_eq!(rs.abi, 6);
        assert!(rs.handled_access_fs.contains(&"truncate") && rs.handled_access_fs.contains(&"make_char"));
        assert!(!rs.handled_access_fs.contains(&"ioctl_dev"));
        assert!(rs.handled_access_net.is_empty(), "loopback TCP stays usable in mode none");
        assert_eq!(rs.scoped, ["abstract_unix_socket", "signal"]);
        let tmp_write = rs.rules.iter().find(|r| r.path == "/tmp" && r.access.contains(&"write_file")).expect("/tmp write rule");
        assert!(!tmp_write.access.contains(&"make_char") && !tmp_write.access.contains(&"make_block"));
        assert!(tmp_write.access.contains(&"truncate") && tmp_write.access.contains(&"refer"));
        assert!(tmp_write.origin.starts_with("builtin:untrusted:"), "{}", tmp_write.origin);
        let usr = rs.rules.iter().find(|r| r.path == "/usr" && r.access.contains(&"execute")).expect("/usr execute rule");
        assert_eq!(usr.access, ["execute", "read_file"]);
    }

    #[test]
    fn read_only_grants_still_handle_truncate() {
        let policy =
            load_str("p.toml", "[policy]\nname = \"p\"\nextends = \"docker-default\"\n[filesystem.landlock]\nread = [\"/usr\"]\n").unwrap();
        let rs = ruleset(&policy);
        assert_eq!(rs.rules[0].access, ["read_file", "read_dir"]);
        assert!(rs.handled_access_fs.contains(&"truncate"));
        // Bridge networking: scoped, but TCP is not handled.
        assert!(rs.handled_access_net.is_empty());
        assert_eq!(rs.abi, 6);
    }

    #[test]
    fn no_paths_means_disabled() {
        let plan = Plan::new(load(&PolicySource::Builtin("docker-default")).unwrap()).unwrap();
        let out: serde_json::Value = serde_json::from_str(&emit(&plan)).unwrap();
        assert_eq!(out["enabled"], false);
    }
}
