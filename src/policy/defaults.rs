//! What a policy is when nothing in its `extends` chain says otherwise. Every default is the
//! safe choice, except where Docker users would otherwise see things break for no security gain;
//! policies/README.md documents each one.

use super::model::*;
use crate::seccomp::action::Action;
use crate::seccomp::arch::Arch;
use std::collections::BTreeMap;

/// Paths hidden from the workload (bind-mounted over with /dev/null or an empty tmpfs):
/// Docker's list (moby oci/defaults.go), each a kernel information leak or control knob.
pub const MASKED_PATHS: &[(&str, &str)] = &[
    ("/proc/acpi", "ACPI tables and controls of the host"),
    ("/proc/asound", "host sound devices"),
    ("/proc/interrupts", "host interrupt counts leak activity of other tenants"),
    ("/proc/kcore", "the host's physical memory as an ELF core"),
    ("/proc/keys", "keys of the host kernel keyrings"),
    ("/proc/latency_stats", "host scheduling latency data"),
    ("/proc/sched_debug", "scheduler state of every process on the host"),
    ("/proc/scsi", "host SCSI devices, writable to add/remove"),
    ("/proc/timer_list", "host timers, with addresses and pids"),
    ("/proc/timer_stats", "host timer statistics"),
    ("/sys/devices/virtual/powercap", "RAPL energy counters (Platypus side channel, CVE-2020-8694)"),
    ("/sys/firmware", "host firmware tables (ACPI, EFI variables)"),
];

/// Paths made read-only: Docker's list, each writable interface reaching the host kernel.
pub const READONLY_PATHS: &[(&str, &str)] = &[
    ("/proc/bus", "bus device controls"),
    ("/proc/fs", "filesystem tunables of the host"),
    ("/proc/irq", "interrupt routing of the host"),
    ("/proc/sys", "kernel sysctls that are not namespaced"),
    ("/proc/sysrq-trigger", "SysRq: reboot or crash the host with one write"),
];

/// Host paths a bind volume may never come from (patterns as in [`super::pathmatch`]): `/` and
/// `/etc` themselves, the kernel's pseudo-filesystems and devices entirely, runtime sockets.
pub const DENIED_VOLUME_SOURCES: &[(&str, &str)] = &[
    ("/", "the whole host filesystem"),
    ("/boot/**", "the host kernel and boot loader"),
    ("/dev/**", "host devices"),
    ("/etc", "host configuration, including credentials"),
    ("/proc/**", "host process and kernel interfaces"),
    ("/root/**", "root's home: credentials, keys and shell history"),
    ("/run/containerd/**", "containerd's socket: control of every container"),
    ("/run/crio/**", "CRI-O's socket: control of every container"),
    ("/run/docker.sock", "the Docker API socket: root on the host"),
    ("/run/podman/**", "podman's API socket"),
    ("/sys/**", "host kernel interfaces"),
    ("/var/lib/containerd/**", "containerd's images and container state"),
    ("/var/lib/docker/**", "Docker's images, volumes and container state"),
    ("/var/lib/kubelet/**", "the kubelet's pod volumes, secrets and credentials"),
    ("/var/lib/palisade/**", "palisade's own store"),
    ("/var/run/containerd/**", "containerd's socket: control of every container"),
    ("/var/run/crio/**", "CRI-O's socket: control of every container"),
    ("/var/run/docker.sock", "the Docker API socket: root on the host"),
    ("/var/run/podman/**", "podman's API socket"),
];

/// The policy before any file applies.
pub fn base_policy() -> Policy {
    let items = |list: &[(&str, &str)]| list.iter().map(|(p, why)| Item::default(p, why)).collect();
    let native = Arch::host().unwrap_or(Arch::X86_64);
    Policy {
        name: "unnamed".to_string(),
        description: None,
        chain: Vec::new(),
        process: Process {
            user: None,
            groups: Setting::default(Vec::new()),
            no_new_privileges: Setting::default(true),
            run_as_non_root: Setting::default(false),
            rlimits: BTreeMap::new(),
            env: BTreeMap::new(),
        },
        capabilities: Capabilities { kept: BTreeMap::new(), dropped: BTreeMap::new() },
        seccomp: Seccomp {
            default_action: None,
            deny_action: Setting::default(Action::Errno(1)),
            architectures: Setting::default(vec![native]),
            allow: Vec::new(),
            deny: Vec::new(),
            rules: Vec::new(),
        },
        filesystem: Filesystem {
            read_only_root: Setting::default(false),
            masked_paths: items(MASKED_PATHS),
            readonly_paths: items(READONLY_PATHS),
            tmpfs: BTreeMap::new(),
            landlock: Landlock {
                read: Vec::new(),
                write: Vec::new(),
                execute: Vec::new(),
                enforcement: Setting::default(Enforcement::BestEffort),
            },
        },
        volumes: Volumes { allow_sources: None, deny_sources: items(DENIED_VOLUME_SOURCES), force_options: Vec::new() },
        network: Network { mode: Setting::default(NetworkMode::None), egress: None, publish: Setting::default(false) },
        resources: Resources { memory_bytes: None, pids: None, cpu: None },
        apparmor: AppArmor { profile: Setting::default(AppArmorProfile::Generate), name: None },
        selinux: Selinux {
            user: Setting::default("system_u".to_string()),
            role: Setting::default("system_r".to_string()),
            process_type: Setting::default("container_t".to_string()),
            file_type: Setting::default("container_file_t".to_string()),
            level: Setting::default(None),
        },
        trust: Trust { policy: None, registries_d: None },
    }
}
