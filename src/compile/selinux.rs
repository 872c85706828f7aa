//! SELinux: the labels a container runs with, and a CIL module (secilc(8), the CIL reference in
//! selinux/secilc/docs) that declares the policy's domain and file type and allows what the
//! policy allows. What the policy forbids is stated as `neverallow`, so compiling the module
//! with the host policy (or with tests/fixtures/selinux/base.cil) checks that nothing in the
//! module or elsewhere grants it back: `secilc -o /dev/null -f /dev/null base.cil MODULE.cil`.
//!
//! Types. The stock container-selinux types (`container_t`, `container_file_t`, …) belong to the
//! host policy, and their rules are container-selinux's, not this policy's. When a policy names
//! one of them (the default does), the module declares a domain of the policy's own,
//! `palisade_<name>_t` with files `palisade_<name>_file_t`, and the labels use those types, so
//! labels and module always agree and the module never redeclares a host type. Any other type
//! the policy names is declared by the module as written.
//!
//! MCS level. `level = "auto"` means every container gets a category pair of its own at run
//! time (as podman and Docker with SELinux do), which keeps containers of the same domain from
//! each other's files. Compile output must be reproducible, so [`labels`] and [`emit`] show a
//! pair derived from a SHA-256 of the policy name instead; the runtime replaces it.

use super::apparmor::{capability_word, socket_allowed, syscall_allowed, AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM};
use super::Plan;
use crate::diag::{Diagnostic, Severity};
use crate::policy::model::{Cap, NetworkMode, Policy};
use caps::Capability;
use sha2::{Digest, Sha256};

/// The SELinux contexts of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// `user:role:type:level` of the container's processes (setexeccon(3) before exec).
    pub process: String,
    /// `system_u:object_r:file_type:level`, for the `context=` mount option of the rootfs,
    /// tmpfs mounts and volumes (mount(8), "context=").
    pub mount: String,
}

/// Types of the container-selinux policy that a module must not redeclare: container domains
/// and container file types (container-selinux's container.te; `svirt_*` are their old names).
const STOCK_PROCESS_TYPES: &[&str] =
    &["container_t", "container_init_t", "container_kvm_t", "container_engine_t", "svirt_lxc_net_t", "spc_t"];
const STOCK_FILE_TYPES: &[&str] = &["container_file_t", "container_ro_file_t", "svirt_sandbox_file_t"];

/// The labels of a container under `policy`. With `level = "auto"` the level is the
/// deterministic compile-time pair (see the module docs); the runtime assigns the real one.
pub fn labels(policy: &Policy) -> Labels {
    let types = Types::of(policy);
    let level = level(policy);
    Labels {
        process: format!("{}:{}:{}:{level}", policy.selinux.user.value, policy.selinux.role.value, types.process),
        mount: format!("system_u:object_r:{}:{level}", types.file),
    }
}

/// The MCS level: `[selinux] level` verbatim, or `s0:cX,cY` from the policy name.
fn level(policy: &Policy) -> String {
    match &policy.selinux.level.value {
        Some(level) => level.clone(),
        None => {
            let (a, b) = mcs_pair(&policy.name);
            format!("s0:c{a},c{b}")
        }
    }
}

/// Two distinct categories in 0..1024, smaller first, from SHA-256 of `seed`.
fn mcs_pair(seed: &str) -> (u16, u16) {
    let hash = Sha256::digest(seed.as_bytes());
    let a = u16::from_be_bytes([hash[0], hash[1]]) % 1024;
    let mut b = u16::from_be_bytes([hash[2], hash[3]]) % 1023;
    if b >= a {
        b += 1;
    }
    (a.min(b), a.max(b))
}

/// The process and file types the labels and the module use.
struct Types {
    process: String,
    file: String,
    /// The stock types replaced by the policy's own, for the notes.
    replaced_process: Option<String>,
    replaced_file: Option<String>,
}

impl Types {
    fn of(policy: &Policy) -> Types {
        let stem = type_stem(&policy.name);
        let process = &policy.selinux.process_type.value;
        let file = &policy.selinux.file_type.value;
        let (process, replaced_process) = if STOCK_PROCESS_TYPES.contains(&process.as_str()) {
            (format!("palisade_{stem}_t"), Some(process.clone()))
        } else {
            (process.clone(), None)
        };
        let (file, replaced_file) = if STOCK_FILE_TYPES.contains(&file.as_str()) {
            (format!("palisade_{stem}_file_t"), Some(file.clone()))
        } else {
            (file.clone(), None)
        };
        Types { process, file, replaced_process, replaced_file }
    }
}

/// The policy name as a type-name part: lower-case letters, digits and `_`.
fn type_stem(name: &str) -> String {
    let stem: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if stem.is_empty() {
        "unnamed".to_string()
    } else {
        stem
    }
}

/// Permissions on the container's own files (the mount label). Read-only root and Landlock
/// paths cannot be told apart by label: the rootfs, tmpfs mounts and volumes all carry it.
const FILE_PERMS: &str =
    "ioctl read write create getattr setattr lock append map unlink link rename open execute execute_no_trans entrypoint";
const DIR_PERMS: &str = "ioctl read write create getattr setattr lock unlink link rename open add_name remove_name reparent search rmdir";
const LNK_FILE_PERMS: &str = "read create getattr setattr unlink link rename";
const SOCK_FILE_PERMS: &str = "read write create getattr setattr unlink link rename open";
const FIFO_FILE_PERMS: &str = "ioctl read write create getattr setattr lock append unlink link rename open";
/// Device nodes the runtime created in the container's /dev (a tmpfs with the mount label).
const DEVICE_USE_PERMS: &str = "ioctl read write getattr lock append open map";
const DEVICE_MAKE_PERMS: &str = "create setattr unlink link rename";
const PROCESS_PERMS: &str =
    "fork sigchld sigkill sigstop signull signal getsched setsched getsession getpgid setpgid getcap setcap getattr getrlimit setrlimit";
const UNIX_STREAM_PERMS: &str =
    "ioctl read write create getattr setattr lock append bind connect listen accept getopt setopt shutdown connectto";
const UNIX_DGRAM_PERMS: &str = "ioctl read write create getattr setattr lock append bind connect getopt setopt shutdown sendto recvfrom";
const INET_SOCKET_PERMS: &str = "ioctl read write create getattr setattr lock append bind connect listen accept getopt setopt shutdown";

/// Emits the two labels as comments and the CIL module.
pub fn emit(plan: &Plan, notes: &mut Vec<Diagnostic>) -> String {
    let policy = &plan.policy;
    let se = &policy.selinux;
    let types = Types::of(policy);
    let labels = labels(policy);
    let d = types.process.as_str();
    let f = types.file.as_str();
    let all = format!("{d}_all_types");
    let mut out = Out::default();

    out.comment(&format!(
        "SELinux policy module (CIL) for palisade policy `{}`, generated by `palisade policy compile --emit selinux`.",
        policy.name
    ));
    if !policy.chain.is_empty() {
        out.comment(&format!("Policy files, root first: {}.", policy.chain.join(", ")));
    }
    out.comment(&format!("process label: {}", labels.process));
    out.comment(&format!("mount label:   {}", labels.mount));
    match &se.level.value {
        Some(_) => out.comment(&format!("The level is [selinux] level ({}).", se.level.origin)),
        None => {
            out.comment("The level shown is derived from the policy name so that this output is reproducible; at run time");
            out.comment("palisade gives every container a category pair of its own ([selinux] level = \"auto\").");
        }
    }
    out.comment("Load with `semodule -i FILE.cil`; the host policy provides the user, the role and the attributes");
    out.comment("`domain` and `file_type`. Offline check: `secilc -o /dev/null -f /dev/null base.cil FILE.cil`.");

    // Types and role.
    out.section(&format!("[selinux] type = \"{}\" ({})", se.process_type.value, se.process_type.origin));
    if let Some(stock) = &types.replaced_process {
        out.comment(&format!(
            "{stock} is container-selinux's domain; this policy gets a domain of its own so the rules below are its rules"
        ));
        let message = format!(
            "SELinux: policy `{}` names the stock type `{stock}`; the module declares `{d}` instead and the labels use it",
            policy.name
        );
        notes.push(note("selinux-type-replaced", message).at_origin(&se.process_type.origin));
    }
    out.rule(&format!("(type {d})"));
    out.rule(&format!("(roletype {} {d})", se.role.value));
    out.rule(&format!("(typeattributeset domain ({d}))"));
    if f != d {
        out.section(&format!("[selinux] file_type = \"{}\" ({})", se.file_type.value, se.file_type.origin));
        if let Some(stock) = &types.replaced_file {
            out.comment(&format!("{stock} is container-selinux's; the container's files get a type of their own"));
            let message = format!(
                "SELinux: policy `{}` names the stock file type `{stock}`; the module declares `{f}` instead and the mount label uses it",
                policy.name
            );
            notes.push(note("selinux-type-replaced", message).at_origin(&se.file_type.origin));
        }
        out.rule(&format!("(type {f})"));
        out.rule(&format!("(typeattributeset file_type ({f}))"));
    }
    if se.user.value != "system_u" || se.role.value != "system_r" {
        let message = format!(
            "SELinux: the labels use user `{}` and role `{}`, which the module does not declare; the host policy must define them and allow the pair",
            se.user.value, se.role.value
        );
        notes.push(Diagnostic::warning("selinux-user-role", message).at_origin(&se.role.origin));
    }
    out.section("Every type, so that the neverallow rules below hold whatever any other module allows");
    out.rule(&format!("(typeattribute {all})"));
    out.rule(&format!("(typeattributeset {all} (all))"));

    // Files.
    let fs = &policy.filesystem;
    out.section("The container's files: its root filesystem, tmpfs mounts and volumes all carry the mount label");
    if fs.read_only_root.value || fs.landlock.enabled() {
        out.comment("[filesystem] read_only_root and Landlock paths are enforced by the mount and by Landlock: a label");
        out.comment("cannot tell the read-only root from the writable tmpfs mounts that share it");
    }
    let sys_admin = policy.capabilities.kept.get(&Cap(Capability::CAP_SYS_ADMIN));
    let dir_perms = if sys_admin.is_some() { format!("{DIR_PERMS} mounton") } else { DIR_PERMS.to_string() };
    out.rule(&format!("(allow {d} {f} (file ({FILE_PERMS})))"));
    out.rule(&format!("(allow {d} {f} (dir ({dir_perms})))"));
    out.rule(&format!("(allow {d} {f} (lnk_file ({LNK_FILE_PERMS})))"));
    out.rule(&format!("(allow {d} {f} (sock_file ({SOCK_FILE_PERMS})))"));
    out.rule(&format!("(allow {d} {f} (fifo_file ({FIFO_FILE_PERMS})))"));
    out.comment("context= mounts give the filesystem itself the mount label; its files must be allowed on it");
    out.rule(&format!("(allow {f} {f} (filesystem (associate)))"));

    out.section("Device nodes in the container's /dev (the device cgroup decides which may be opened)");
    out.rule(&format!("(allow {d} {f} (chr_file ({DEVICE_USE_PERMS})))"));
    out.rule(&format!("(allow {d} {f} (blk_file (getattr)))"));
    match policy.capabilities.kept.get(&Cap(Capability::CAP_MKNOD)) {
        Some(item) => {
            out.comment(&format!("[capabilities] MKNOD is kept ({}): device nodes may be created", item.origin));
            out.rule(&format!("(allow {d} {f} (chr_file ({DEVICE_MAKE_PERMS})))"));
            out.rule(&format!("(allow {d} {f} (blk_file ({DEVICE_MAKE_PERMS})))"));
        }
        None => {
            out.comment("[capabilities] MKNOD is not kept: never create a device node");
            out.rule(&format!("(neverallow {d} {all} (chr_file (create)))"));
            out.rule(&format!("(neverallow {d} {all} (blk_file (create)))"));
        }
    }

    // Own processes.
    out.section("Its own processes: /proc/PID, pipes, descriptors passed between them, signals");
    out.rule(&format!("(allow {d} self (dir (ioctl read getattr lock open search)))"));
    out.rule(&format!("(allow {d} self (file (ioctl read getattr lock open)))"));
    out.rule(&format!("(allow {d} self (lnk_file (read getattr)))"));
    out.rule(&format!("(allow {d} self (fifo_file (ioctl read write getattr lock append open)))"));
    out.rule(&format!("(allow {d} self (fd (use)))"));
    out.rule(&format!("(allow {d} self (process ({PROCESS_PERMS})))"));
    if syscall_allowed(&plan.filter, "ptrace") {
        out.comment("[seccomp] ptrace is allowed: the container's processes may trace each other");
        out.rule(&format!("(allow {d} self (process (ptrace)))"));
    } else {
        out.comment("[seccomp] ptrace is refused: never trace another process");
        out.rule(&format!("(neverallow {d} {all} (process (ptrace)))"));
    }
    let nnp = &policy.process.no_new_privileges;
    if nnp.value {
        out.comment(&format!("[process] no_new_privileges = true ({}): the workload never changes domain", nnp.origin));
        out.rule(&format!("(neverallow {d} {all} (process (transition dyntransition)))"));
    }

    capability_rules(policy, d, &mut out);

    // Mounts.
    match sys_admin {
        Some(item) => {
            out.section(&format!("[capabilities] SYS_ADMIN is kept ({}): the container may mount its own filesystems", item.origin));
            out.rule(&format!("(allow {d} {f} (filesystem (mount remount unmount getattr)))"));
        }
        None => {
            out.section("[capabilities] SYS_ADMIN is not kept: never mount, remount or unmount");
            out.rule(&format!("(neverallow {d} {all} (filesystem (mount remount unmount)))"));
        }
    }

    network_rules(policy, &plan.filter, d, &all, &mut out);
    out.text
}

/// `[capabilities] keep`, split by number as the kernel's classes are (capability: 0–31,
/// capability2: 32 and up), with neverallow for every capability not kept. Inside a user
/// namespace the kernel checks cap_userns/cap2_userns instead; the module grants none of those,
/// so there the workload has no capability at all (fail closed).
fn capability_rules(policy: &Policy, d: &str, out: &mut Out) {
    let mut all: Vec<Cap> = caps::all().into_iter().map(Cap).collect();
    all.sort_by_key(|c| c.index());
    let kept = &policy.capabilities.kept;
    if kept.is_empty() {
        out.section("[capabilities] keep = []: no capability, and never one");
    } else {
        out.section("[capabilities] keep: exactly these, and never any other");
    }
    for (class, range) in [("capability", 0..32u8), ("capability2", 32..64u8)] {
        let in_class = || all.iter().copied().filter(|c| range.contains(&c.index()));
        let granted: Vec<String> = in_class().filter(|c| kept.contains_key(c)).map(capability_word).collect();
        let refused: Vec<String> = in_class().filter(|c| !kept.contains_key(c)).map(capability_word).collect();
        for cap in in_class().filter(|c| kept.contains_key(c)) {
            out.comment(&format!("{}: {}", capability_word(cap), kept[&cap].origin));
        }
        if !granted.is_empty() {
            out.rule(&format!("(allow {d} self ({class} ({})))", granted.join(" ")));
        }
        if !refused.is_empty() {
            out.rule(&format!("(neverallow {d} self ({class} ({})))", refused.join(" ")));
        }
    }
}

/// Unix sockets always; TCP and UDP where seccomp lets inet/inet6 sockets be created (with
/// `mode = "none"` they reach only loopback); raw and packet sockets only with NET_RAW and a
/// network. Ports and nodes (name_bind, name_connect, node_bind) are granted on every type: the
/// network mode and palisade's egress rules decide where traffic may go, not port labels.
fn network_rules(policy: &Policy, filter: &crate::seccomp::filter::Filter, d: &str, all: &str, out: &mut Out) {
    let mode = &policy.network.mode;
    out.section(&format!("[network] mode = \"{}\" ({})", mode.value.name(), mode.origin));
    out.comment("Unix sockets: local IPC, always");
    out.rule(&format!("(allow {d} self (unix_stream_socket ({UNIX_STREAM_PERMS})))"));
    out.rule(&format!("(allow {d} self (unix_dgram_socket ({UNIX_DGRAM_PERMS})))"));

    let inet = |ty| socket_allowed(filter, AF_INET, ty) || socket_allowed(filter, AF_INET6, ty);
    let scope = if mode.value == NetworkMode::None { " (loopback only: the namespace has no other interface)" } else { "" };
    for (class, ty, extra) in
        [("tcp_socket", SOCK_STREAM, "name_bind name_connect node_bind"), ("udp_socket", SOCK_DGRAM, "name_bind node_bind")]
    {
        if inet(ty) {
            out.comment(&format!("[seccomp] inet/inet6 sockets are allowed: {class}{scope}"));
            out.rule(&format!("(allow {d} self ({class} ({INET_SOCKET_PERMS})))"));
            out.rule(&format!("(allow {d} {all} ({class} ({extra})))"));
        } else {
            out.comment(&format!("[seccomp] inet/inet6 sockets are refused: never a {class}"));
            out.rule(&format!("(neverallow {d} {all} ({class} (all)))"));
        }
    }

    const SOCK_RAW: u64 = 3;
    const AF_PACKET: u64 = 17;
    let net_raw = policy.capabilities.kept.contains_key(&Cap(Capability::CAP_NET_RAW));
    let has_network = mode.value != NetworkMode::None;
    let raw_ok = net_raw && has_network && (socket_allowed(filter, AF_INET, SOCK_RAW) || socket_allowed(filter, AF_INET6, SOCK_RAW));
    let packet_ok =
        net_raw && has_network && (socket_allowed(filter, AF_PACKET, SOCK_RAW) || socket_allowed(filter, AF_PACKET, SOCK_DGRAM));
    for (class, ok) in [("rawip_socket", raw_ok), ("packet_socket", packet_ok)] {
        if ok {
            out.comment(&format!("[capabilities] NET_RAW is kept and seccomp allows them: {class}"));
            out.rule(&format!("(allow {d} self ({class} ({INET_SOCKET_PERMS})))"));
        } else {
            out.comment(&format!("NET_RAW not kept, no network, or refused by seccomp: never a {class}"));
            out.rule(&format!("(neverallow {d} {all} ({class} (all)))"));
        }
    }
}

fn note(code: &'static str, message: String) -> Diagnostic {
    Diagnostic { severity: Severity::Note, ..Diagnostic::warning(code, message) }
}

/// The module text: `;` comments (newlines in policy text flattened), blank line per section.
#[derive(Default)]
struct Out {
    text: String,
}

impl Out {
    fn comment(&mut self, text: &str) {
        let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        self.text.push_str(&format!("; {flat}\n"));
    }

    fn section(&mut self, title: &str) {
        self.text.push('\n');
        self.comment(title);
    }

    fn rule(&mut self, rule: &str) {
        self.text.push_str(rule);
        self.text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load_str;

    fn policy(extra: &str) -> Policy {
        load_str("test.toml", &format!("[policy]\nname = \"web-app\"\nextends = \"docker-default\"\n{extra}"))
            .unwrap_or_else(|d| panic!("{d}"))
    }

    fn module(extra: &str) -> (String, Vec<Diagnostic>) {
        let plan = Plan::new(policy(extra)).unwrap();
        let mut notes = Vec::new();
        (emit(&plan, &mut notes), notes)
    }

    #[test]
    fn labels_have_four_fields_and_an_mcs_pair() {
        let l = labels(&policy(""));
        let fields: Vec<&str> = l.process.splitn(4, ':').collect();
        assert_eq!(&fields[..3], ["system_u", "system_r", "palisade_web_app_t"]);
        let level = fields[3];
        let (s, cats) = level.split_once(':').unwrap();
        assert_eq!(s, "s0");
        let (a, b) = cats.split_once(',').unwrap();
        let a: u16 = a.strip_prefix('c').unwrap().parse().unwrap();
        let b: u16 = b.strip_prefix('c').unwrap().parse().unwrap();
        assert!(a < b && b < 1024, "{level}");
        assert_eq!(l.mount, format!("system_u:object_r:palisade_web_app_file_t:{level}"));
        // Deterministic: the same name gives the same pair.
        assert_eq!(labels(&policy("")), l);
    }

    #[test]
    fn fixed_level_is_used_verbatim() {
        let l = labels(&policy("[selinux]\nlevel = \"s0:c1,c2\"\n"));
        assert!(l.process.ends_with(":s0:c1,c2") && l.mount.ends_with(":s0:c1,c2"), "{l:?}");
    }

    #[test]
    fn custom_types_are_kept() {
        let l = labels(&policy("[selinux]\ntype = \"webapp_t\"\nfile_type = \"webapp_file_t\"\n"));
        assert!(l.process.starts_with("system_u:system_r:webapp_t:"), "{l:?}");
        let (m, notes) = module("[selinux]\ntype = \"webapp_t\"\nfile_type = \"webapp_file_t\"\n");
        assert!(m.contains("(type webapp_t)\n") && m.contains("(type webapp_file_t)\n"), "{m}");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn module_lists_exactly_the_kept_capabilities() {
        let (m, notes) = module("[capabilities]\nkeep = [\"CHOWN\", \"NET_BIND_SERVICE\", \"BPF\"]\n");
        assert!(m.contains("(allow palisade_web_app_t self (capability (chown net_bind_service)))"), "{m}");
        assert!(m.contains("(allow palisade_web_app_t self (capability2 (bpf)))"), "{m}");
        assert!(m.contains("(neverallow palisade_web_app_t self (capability (dac_override dac_read_search fowner"), "{m}");
        assert!(m.contains("(neverallow palisade_web_app_t self (capability2 (mac_override mac_admin syslog wake_alarm block_suspend audit_read perfmon checkpoint_restore)))"), "{m}");
        assert!(m.contains("(neverallow palisade_web_app_t palisade_web_app_t_all_types (filesystem (mount remount unmount)))"), "{m}");
        assert!(notes.iter().any(|n| n.code == "selinux-type-replaced" && n.severity == Severity::Note), "{notes:?}");
        assert!(m.starts_with("; SELinux policy module (CIL) for palisade policy `web-app`"), "{m}");
        assert!(m.contains(&format!("; process label: {}\n", labels(&policy("")).process)), "{m}");
    }

    #[test]
    fn network_follows_seccomp_and_net_raw() {
        let (m, _) = module("");
        assert!(m.contains("(allow palisade_web_app_t self (tcp_socket ("), "{m}");
        assert!(m.contains("(allow palisade_web_app_t self (rawip_socket ("), "docker-default keeps NET_RAW: {m}");
        let (m, _) = module("[network]\nmode = \"none\"\n[[seccomp.rule]]\nsyscalls = [\"socket\"]\naction = \"allow\"\nwhen = [\"arg0 == AF_UNIX\"]\n[[seccomp.rule]]\nsyscalls = [\"socket\"]\naction = \"errno(EPERM)\"\n");
        for class in ["tcp_socket", "udp_socket", "rawip_socket", "packet_socket"] {
            assert!(m.contains(&format!("(neverallow palisade_web_app_t palisade_web_app_t_all_types ({class} (all)))")), "{class}: {m}");
        }
        assert!(m.contains("(allow palisade_web_app_t self (unix_stream_socket ("), "{m}");
    }

    #[test]
    fn mcs_pair_is_two_distinct_categories() {
        for name in ["a", "b", "docker-default", "untrusted", ""] {
            let (a, b) = mcs_pair(name);
            assert!(a < b && b < 1024, "{name}: {a},{b}");
        }
    }
}
