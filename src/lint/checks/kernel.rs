//! unsafe-sysctl, unmasked-proc-mount, proc-sys-write.

use crate::apparmor::ast::FilePerms;
use crate::lint::subject::Subject;
use crate::lint::Sink;

/// Kubernetes' safe sysctls (namespaced, and harmless to other pods).
pub const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// Kernel interfaces whose write reaches the host: checked against AppArmor file rules.
pub const KERNEL_WRITE_TARGETS: &[&str] = &[
    "/proc/sys/kernel/core_pattern",
    "/proc/sysrq-trigger",
    "/sys/kernel/uevent_helper",
    "/proc/sys/vm/overcommit_memory",
    "/sys/firmware/efi/efivars/x",
];

pub fn run(s: &Subject, sink: &mut Sink) {
    if let Some(sysctls) = &s.sysctls {
        sink.checked("unsafe-sysctl");
        for (name, span) in sysctls {
            let name = name.replace('/', ".");
            if !SAFE_SYSCTLS.contains(&name.as_str()) {
                let scope = if ["kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.", "net."].iter().any(|p| name.starts_with(p)) {
                    "namespaced but not in the safe set"
                } else {
                    "not namespaced: it changes the whole host"
                };
                sink.fire("unsafe-sysctl", format!("sysctl {name} is set: {scope}"), span.clone(), None);
            }
        }
    }
    if let Some(p) = &s.proc_unmasked {
        sink.checked("unmasked-proc-mount");
        if p.value.0 {
            sink.fire("unmasked-proc-mount", p.value.1.clone(), p.span.clone(), None);
        }
    }
    // proc-sys-write: every layer that can say something must allow the write.
    let mount_layer = s.proc_sys_writable.as_ref().map(|f| (f.value.0, f.value.1.clone(), f.span.clone()));
    let apparmor_layer = s.apparmor.as_ref().and_then(|a| a.profile()).map(|(model, profile)| {
        let w = FilePerms { write: true, ..FilePerms::default() };
        match KERNEL_WRITE_TARGETS.iter().find_map(|t| profile.file_allows(model, t, &w).map(|r| (t, r))) {
            Some((target, rule)) => (true, format!("AppArmor rule `{}` allows writing {target}", rule.text()), Some(rule.span.clone())),
            None => (false, String::new(), None),
        }
    });
    let layers: Vec<_> = [mount_layer, apparmor_layer].into_iter().flatten().collect();
    if layers.is_empty() {
        return;
    }
    sink.checked("proc-sys-write");
    if layers.iter().all(|(allows, ..)| *allows) {
        let message = layers.iter().map(|(_, m, _)| m.as_str()).collect::<Vec<_>>().join("; ");
        let span = layers.iter().find_map(|(_, _, s)| s.clone());
        sink.fire(
            "proc-sys-write",
            format!("kernel interfaces under /proc or /sys are writable: {message}"),
            span,
            Some("keep /proc/sys and /proc/sysrq-trigger read-only and /sys mounted read-only".into()),
        );
    }
}
