//! privileged, dangerous-capability, net-raw-capability, capabilities-not-dropped,
//! no-new-privileges-off, root-user.

use crate::lint::subject::Subject;
use crate::lint::Sink;

/// Capabilities that open a way out of the container or into the host kernel, and why.
pub const DANGEROUS_CAPABILITIES: &[(&str, &str)] = &[
    ("SYS_ADMIN", "mount, namespaces and most of the kernel's administrative interfaces"),
    ("SYS_MODULE", "loads kernel modules: arbitrary code in the host kernel"),
    ("SYS_PTRACE", "traces any process it can see, reading and changing its memory"),
    ("DAC_READ_SEARCH", "open_by_handle_at opens host files by handle, outside the mount namespace (the 'shocker' escape)"),
    ("SYS_RAWIO", "raw I/O ports and /dev/mem access"),
    ("SYS_BOOT", "reboots the host and loads a new kernel (kexec)"),
    ("SYS_TIME", "sets the host's clock, which is not namespaced"),
    ("NET_ADMIN", "reconfigures interfaces, routes and firewall rules, and reaches much netfilter code"),
    ("BPF", "loads BPF programs into the kernel"),
    ("PERFMON", "performance monitoring of the whole system"),
    ("SYSLOG", "reads the kernel log, with kernel addresses"),
    ("MAC_ADMIN", "changes the LSM policy (AppArmor, SELinux, Smack)"),
    ("MAC_OVERRIDE", "overrides the LSM policy"),
    ("SYS_RESOURCE", "raises resource limits and bypasses quotas"),
];

pub fn run(s: &Subject, sink: &mut Sink) {
    if let Some(p) = &s.privileged {
        sink.checked("privileged");
        if p.value {
            sink.fire(
                "privileged",
                "runs privileged: every capability and device, no seccomp, no LSM confinement",
                p.span.clone(),
                Some("grant the specific capabilities or devices the workload needs".into()),
            );
        }
    }
    if let Some(caps) = &s.capabilities {
        sink.checked("dangerous-capability");
        sink.checked("net-raw-capability");
        // One finding per place that grants them (`capability,` grants all at once).
        type Group<'a> = (Option<crate::policy::source::Span>, Vec<(&'a str, &'a str)>);
        let mut groups: Vec<Group> = Vec::new();
        for (name, span) in &caps.granted {
            if let Some((cap, why)) = DANGEROUS_CAPABILITIES.iter().find(|(c, _)| c == name) {
                match groups.iter_mut().find(|(s, _)| s == span) {
                    Some((_, list)) => list.push((cap, why)),
                    None => groups.push((span.clone(), vec![(cap, why)])),
                }
            }
        }
        for (span, list) in groups {
            let message = match list.as_slice() {
                [(cap, why)] => format!("capability {cap} is granted: {why}"),
                many => format!(
                    "capabilities {} are granted ({}: {})",
                    many.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "),
                    many[0].0,
                    many[0].1
                ),
            };
            let names = list.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
            sink.fire("dangerous-capability", message, span, Some(format!("drop {names} unless the workload cannot work without it")));
        }
        if let Some((_, span)) = caps.get("NET_RAW") {
            let how = if span.is_none() { " (the runtime's default set)" } else { "" };
            sink.fire(
                "net-raw-capability",
                format!("capability NET_RAW is granted{how}: raw and packet sockets"),
                span.clone(),
                Some("drop NET_RAW; ping works without it where net.ipv4.ping_group_range allows".into()),
            );
        }
        if let Some(drops_all) = caps.drops_all {
            sink.checked("capabilities-not-dropped");
            if !drops_all {
                sink.fire(
                    "capabilities-not-dropped",
                    "capabilities are not dropped: the runtime's default set applies",
                    None,
                    Some("add `drop: [ALL]` to securityContext.capabilities and add back what is needed".into()),
                );
            }
        }
    }
    if let Some(nnp) = &s.no_new_privs {
        sink.checked("no-new-privileges-off");
        if !nnp.value {
            sink.fire(
                "no-new-privileges-off",
                "no_new_privs is off: setuid binaries and file capabilities can raise privileges",
                nnp.span.clone(),
                None,
            );
        }
    }
    if let Some(root) = &s.root_user {
        sink.checked("root-user");
        if root.value.0 {
            sink.fire(
                "root-user",
                root.value.1.clone(),
                root.span.clone(),
                Some("run as a non-zero uid and refuse root (runAsNonRoot / run_as_non_root)".into()),
            );
        }
    }
}
