//! Contradictions between layers: dead-seccomp-allow, apparmor-allows-seccomp-denied,
//! landlock-write-read-only.

use super::syscalls::{allows_any, allows_with, filter, namespace_creation, socket_family, span_for};
use crate::lint::subject::Subject;
use crate::lint::Sink;
use crate::policy::pathmatch::is_within;

/// Syscalls the kernel refuses without a capability (capabilities(7)), with that capability.
pub const CAPABILITY_GATED: &[(&str, &str)] = &[
    ("mount", "SYS_ADMIN"),
    ("umount2", "SYS_ADMIN"),
    ("pivot_root", "SYS_ADMIN"),
    ("swapon", "SYS_ADMIN"),
    ("swapoff", "SYS_ADMIN"),
    ("quotactl", "SYS_ADMIN"),
    ("fsmount", "SYS_ADMIN"),
    ("move_mount", "SYS_ADMIN"),
    ("init_module", "SYS_MODULE"),
    ("finit_module", "SYS_MODULE"),
    ("delete_module", "SYS_MODULE"),
    ("reboot", "SYS_BOOT"),
    ("kexec_load", "SYS_BOOT"),
    ("kexec_file_load", "SYS_BOOT"),
    ("settimeofday", "SYS_TIME"),
    ("clock_settime", "SYS_TIME"),
    ("acct", "SYS_PACCT"),
    ("iopl", "SYS_RAWIO"),
    ("ioperm", "SYS_RAWIO"),
    ("open_by_handle_at", "DAC_READ_SEARCH"),
    ("vhangup", "SYS_TTY_CONFIG"),
];

pub fn run(s: &Subject, sink: &mut Sink) {
    let f = filter(s);
    if let (Some(f), Some(caps)) = (f, &s.capabilities) {
        sink.checked("dead-seccomp-allow");
        for (syscall, cap) in CAPABILITY_GATED {
            if caps.get(cap).is_some() {
                continue;
            }
            if let Some((_, d)) = allows_any(f, syscall) {
                if d.source == crate::seccomp::filter::Source::Default {
                    continue;
                }
                sink.fire(
                    "dead-seccomp-allow",
                    format!("seccomp allows {syscall}, but CAP_{cap} is not granted: the kernel refuses it anyway"),
                    span_for(f, syscall, d),
                    Some(format!("remove {syscall} from the allowed syscalls, or grant {cap} if the workload needs it")),
                );
            }
        }
    }
    if let (Some(f), Some((_, p))) = (f, s.apparmor.as_ref().and_then(|a| a.profile())) {
        sink.checked("apparmor-allows-seccomp-denied");
        for (family, af) in [
            ("alg", 38u64),
            ("vsock", 40),
            ("packet", 17),
            ("netlink", 16),
            ("bluetooth", 31),
            ("can", 29),
            ("inet", 2),
            ("inet6", 10),
            ("unix", 1),
        ] {
            if let Some(rule) = p.explicit_network_rule(family) {
                if socket_family(f, af).is_none() {
                    sink.fire(
                        "apparmor-allows-seccomp-denied",
                        format!(
                            "AppArmor rule `{}` allows network {family}, but seccomp refuses socket(AF_{}) on every architecture",
                            rule.text(),
                            family.to_uppercase()
                        ),
                        Some(rule.span.clone()),
                        None,
                    );
                }
            }
        }
        let explicit = |r: &&crate::apparmor::FlatRule| !matches!(r.kind, crate::apparmor::ast::RuleKind::All);
        if let Some(rule) = p.mount_rule().filter(explicit) {
            if allows_any(f, "mount").is_none() {
                sink.fire(
                    "apparmor-allows-seccomp-denied",
                    format!("AppArmor rule `{}` allows mounts, but seccomp refuses mount", rule.text()),
                    Some(rule.span.clone()),
                    None,
                );
            }
        }
        if let Some(rule) = p.ptrace_trace_rule().filter(explicit) {
            if allows_any(f, "ptrace").is_none() {
                sink.fire(
                    "apparmor-allows-seccomp-denied",
                    format!("AppArmor rule `{}` allows ptrace, but seccomp refuses ptrace", rule.text()),
                    Some(rule.span.clone()),
                    None,
                );
            }
        }
        if let Some(rule) = p.userns_rule().filter(explicit) {
            if namespace_creation(f).is_none() && allows_with(f, "unshare", &[0x1000_0000, 0, 0, 0, 0, 0]).is_none() {
                sink.fire(
                    "apparmor-allows-seccomp-denied",
                    format!("AppArmor rule `{}` allows user namespaces, but seccomp refuses every way to create one", rule.text()),
                    Some(rule.span.clone()),
                    None,
                );
            }
        }
    }
    if let Some(ll) = &s.landlock {
        sink.checked("landlock-write-read-only");
        for (path, span) in &ll.writes {
            // The runtime mounts its own writable /dev, /proc and /dev/shm; tmpfs mounts are writable.
            let writable_mount =
                ll.writable_mounts.iter().chain(["/dev".to_string(), "/proc".to_string()].iter()).any(|m| is_within(path, m));
            if writable_mount {
                continue;
            }
            let read_only_path = ll.read_only_paths.iter().find(|r| is_within(path, r));
            let why = match read_only_path {
                Some(r) => format!("{r} is mounted read-only"),
                None if ll.read_only_root => "the root filesystem is read-only and no tmpfs is mounted there".to_string(),
                None => continue,
            };
            sink.fire(
                "landlock-write-read-only",
                format!("Landlock grants write on {path}, but {why}: every write fails"),
                span.clone(),
                Some(format!("add a tmpfs at {path} ([filesystem.tmpfs]) or remove it from the write set")),
            );
        }
    }
}
