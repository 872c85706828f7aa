//! Every lint rule: a stable kebab-case code, its family, default level, weight in the exposure
//! score, a one-line summary and the explanation `palisade lint --explain CODE` prints.
//! Codes never change meaning; a retired rule keeps its code reserved.

use super::Level;

/// Which check file (and which test file) a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Privilege,
    Namespaces,
    Mounts,
    Kernel,
    Lsm,
    Syscalls,
    CrossLayer,
    Input,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Privilege => "privilege",
            Family::Namespaces => "namespaces",
            Family::Mounts => "mounts",
            Family::Kernel => "kernel",
            Family::Lsm => "lsm",
            Family::Syscalls => "syscalls",
            Family::CrossLayer => "cross-layer",
            Family::Input => "input",
        }
    }

    pub const ALL: [Family; 8] = [
        Family::Privilege,
        Family::Namespaces,
        Family::Mounts,
        Family::Kernel,
        Family::Lsm,
        Family::Syscalls,
        Family::CrossLayer,
        Family::Input,
    ];
}

/// One rule's fixed description.
#[derive(Debug)]
pub struct RuleInfo {
    pub code: &'static str,
    pub family: Family,
    pub level: Level,
    /// Weight in the exposure score (0: not part of it). 10 means "equivalent to no isolation".
    pub weight: u8,
    pub summary: &'static str,
    pub explanation: &'static str,
}

use Family::*;
use Level::{Deny, Warn};

/// The catalog, by family.
pub const RULES: &[RuleInfo] = &[
    RuleInfo { code: "privileged", family: Privilege, level: Deny, weight: 10, summary: "the container runs privileged",
        explanation: "A privileged container gets every capability, every device, no seccomp filter, no AppArmor or SELinux confinement and a writable /sys: root in it is root on the host (CIS Docker 5.4, kubesec Privileged). Grant the one capability or device the workload needs instead." },
    RuleInfo { code: "dangerous-capability", family: Privilege, level: Deny, weight: 8, summary: "a capability that breaks container isolation is granted",
        explanation: "SYS_ADMIN (mount, namespaces, most of the kernel), SYS_MODULE (load kernel code), SYS_PTRACE (read and change other processes), DAC_READ_SEARCH (open_by_handle_at escapes the mount namespace: the 'shocker' exploit), SYS_RAWIO, SYS_BOOT, SYS_TIME, NET_ADMIN, BPF, PERFMON, SYSLOG, MAC_ADMIN and MAC_OVERRIDE each give a path out of the container or into the host kernel (CIS Docker 5.3, kube-linter privilege-escalation-container). Drop them; a workload that needs one should say why in its policy." },
    RuleInfo { code: "net-raw-capability", family: Privilege, level: Warn, weight: 2, summary: "NET_RAW is granted (Docker and containerd keep it by default)",
        explanation: "NET_RAW lets a container craft raw and packet sockets: ARP and DNS spoofing on the bridge, and the kernel bugs reached through packet sockets (CVE-2020-14386). Only ping-like tools need it, and modern ping works without it (net.ipv4.ping_group_range). Drop NET_RAW (Docker keeps it in its default set; Kubernetes pods get it unless they drop it)." },
    RuleInfo { code: "capabilities-not-dropped", family: Privilege, level: Warn, weight: 3, summary: "the runtime's default capabilities are not dropped",
        explanation: "Without `drop: [ALL]` a Kubernetes container keeps the runtime's default set (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, NET_RAW, MKNOD, …). Drop ALL and add back only what the workload needs (kubesec, Pod Security 'restricted')." },
    RuleInfo { code: "no-new-privileges-off", family: Privilege, level: Warn, weight: 3, summary: "no_new_privs is off: setuid binaries can raise privileges",
        explanation: "Without no_new_privs (Kubernetes allowPrivilegeEscalation: true, its default; OCI process.noNewPrivileges false; palisade process.no_new_privileges = false) a setuid-root binary or a file capability in the image grants privileges the container was started without (CIS Docker 5.25). Set it." },
    RuleInfo { code: "root-user", family: Privilege, level: Warn, weight: 4, summary: "the workload runs as root (uid 0)",
        explanation: "Root in the container owns every file the container can see, and any escape lands as root on the host unless a user namespace maps it away (CIS Docker 4.1, kube-linter run-as-non-root). Run as an unprivileged uid, and refuse root at start (runAsNonRoot, palisade run_as_non_root)." },
    RuleInfo { code: "host-pid", family: Namespaces, level: Deny, weight: 6, summary: "the host's PID namespace is shared",
        explanation: "With the host's PID namespace the container sees every host process, can signal them and, with ptrace or /proc/PID/root, reach into them (CIS Docker 5.15, kubesec hostPID)." },
    RuleInfo { code: "host-ipc", family: Namespaces, level: Deny, weight: 4, summary: "the host's IPC namespace is shared",
        explanation: "Sharing the host IPC namespace exposes System V shared memory, semaphores and message queues of host processes (CIS Docker 5.16, kubesec hostIPC)." },
    RuleInfo { code: "host-network", family: Namespaces, level: Deny, weight: 6, summary: "the host's network namespace is shared",
        explanation: "With the host network the container can bind host ports, reach services bound to 127.0.0.1 on the host (container runtimes' and kubelet's among them) and, with NET_ADMIN or NET_RAW, sniff or change host traffic (CIS Docker 5.9, kubesec hostNetwork)." },
    RuleInfo { code: "host-user-namespace", family: Namespaces, level: Warn, weight: 4, summary: "no user namespace: root in the container is root on the host",
        explanation: "Without a user namespace the container's uid 0 is the host's uid 0, so every escape (a kernel bug, a writable host mount, a leaked file descriptor) is a host-root escape. Kubernetes: hostUsers: false; OCI: a `user` namespace with uid/gid mappings; Docker: userns-remap." },
    RuleInfo { code: "runtime-socket-mount", family: Mounts, level: Deny, weight: 10, summary: "a container runtime's API socket is mounted",
        explanation: "Whoever can talk to docker.sock, containerd.sock, crio.sock or podman.sock can start a privileged container with the host's / mounted: mounting it is giving away root on the host (CIS Docker 5.31, kube-linter docker-sock)." },
    RuleInfo { code: "sensitive-host-mount", family: Mounts, level: Deny, weight: 7, summary: "a sensitive host path is mounted into the container",
        explanation: "Mounting the host's /, /etc, /proc, /sys, /dev, /boot, /root, /var/run (/run), /var/lib/docker or /var/lib/kubelet exposes credentials, kernel interfaces or other containers' data; writable, it is a direct escape (CIS Docker 5.5, kube-linter sensitive-host-mounts)." },
    RuleInfo { code: "writable-root-filesystem", family: Mounts, level: Warn, weight: 2, summary: "the root filesystem is writable",
        explanation: "A writable root lets an attacker replace binaries and libraries the workload runs and persist across restarts of the process (CIS Docker 5.12, kube-linter no-read-only-root-fs). Mount the root read-only and give the workload tmpfs or volumes where it writes." },
    RuleInfo { code: "unsafe-sysctl", family: Kernel, level: Deny, weight: 5, summary: "a sysctl outside the namespaced safe set is set",
        explanation: "Only a few sysctls are namespaced per container (Kubernetes' safe set: kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start, net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes). Others change the whole node (kernel.*, vm.*, fs.*) or are per-namespace but unsafe (kernel.msg*, kernel.sem)." },
    RuleInfo { code: "unmasked-proc-mount", family: Kernel, level: Deny, weight: 5, summary: "/proc is not masked (procMount: Unmasked or no masked paths)",
        explanation: "Runtimes hide /proc/kcore, /proc/keys, /proc/timer_list, /proc/sched_debug, /sys/firmware and others that leak host memory, keys and activity, and make /proc/sys read-only. procMount: Unmasked, or an OCI config without maskedPaths, turns that off." },
    RuleInfo { code: "proc-sys-write", family: Kernel, level: Warn, weight: 4, summary: "the workload may write kernel interfaces under /proc or /sys",
        explanation: "Writes to /proc/sys, /proc/sysrq-trigger or /sys reach the host kernel (core_pattern and uevent_helper give code execution on the host; sysrq reboots it). Every layer that could stop them allows them here: no read-only /proc/sys, a writable sysfs, or AppArmor file rules granting write." },
    RuleInfo { code: "seccomp-unconfined", family: Lsm, level: Deny, weight: 7, summary: "no seccomp filter",
        explanation: "Without a seccomp filter every syscall of the kernel is reachable, including the rarely used ones most container escapes go through (CIS Docker 5.21, kubesec seccomp). Use the runtime's default profile at least; Kubernetes runs pods Unconfined unless the kubelet's SeccompDefault is on or the pod asks for RuntimeDefault." },
    RuleInfo { code: "seccomp-default-allow", family: Lsm, level: Warn, weight: 5, summary: "the seccomp filter allows by default (a deny list)",
        explanation: "A filter whose default action is allow (or log) blocks only the syscalls it lists: every syscall added to the kernel later, and every one forgotten, is allowed. Write an allow list with an errno or kill default." },
    RuleInfo { code: "apparmor-unconfined", family: Lsm, level: Warn, weight: 4, summary: "no AppArmor confinement",
        explanation: "The workload runs unconfined by AppArmor (explicitly, or because no profile is set where the runtime would otherwise apply its default, or a profile with flags=(unconfined)): its file, mount, ptrace and network accesses are checked by nothing but DAC and capabilities (CIS Docker 5.1)." },
    RuleInfo { code: "apparmor-complain-mode", family: Lsm, level: Warn, weight: 3, summary: "the AppArmor profile is in complain mode",
        explanation: "A profile with flags=(complain) logs what it would deny and allows it: it audits, it does not confine. Enforce it once the log is quiet." },
    RuleInfo { code: "apparmor-unconfined-exec", family: Lsm, level: Warn, weight: 4, summary: "an AppArmor rule lets a program run unconfined",
        explanation: "ux/Ux exec rules, pux/cux fallbacks and change_profile -> unconfined run the target with no profile at all: whoever controls that program (or its environment, for the lower-case forms) leaves the confinement." },
    RuleInfo { code: "selinux-unconfined", family: Lsm, level: Warn, weight: 4, summary: "an unconfined SELinux type (spc_t, unconfined_t)",
        explanation: "spc_t ('super privileged container') and unconfined_t are exempt from the container policy: SELinux no longer separates the container from the host or from other containers." },
    RuleInfo { code: "io-uring-allowed", family: Syscalls, level: Warn, weight: 3, summary: "io_uring is allowed",
        explanation: "io_uring is a second syscall interface that seccomp cannot see into and one of the largest sources of kernel privilege escalations (Google disabled it on ChromeOS, Android and its servers in 2023; Docker's default profile blocks it since 25.0). Deny io_uring_setup, io_uring_enter and io_uring_register." },
    RuleInfo { code: "socket-af-alg", family: Syscalls, level: Warn, weight: 2, summary: "AF_ALG sockets (the kernel crypto API) can be created",
        explanation: "AF_ALG exposes the kernel's crypto implementations to unprivileged code; it has a long history of exploitable bugs (CVE-2016-10147, CVE-2019-8912, CVE-2021-3744 …). Docker's default profile refuses socket(AF_ALG, …)." },
    RuleInfo { code: "socket-af-vsock", family: Syscalls, level: Warn, weight: 2, summary: "AF_VSOCK sockets can be created",
        explanation: "AF_VSOCK talks to the hypervisor and to other VMs' vsock endpoints; its kernel code had local privilege escalations (CVE-2021-26708). Containers have no use for it; Docker's default profile refuses it." },
    RuleInfo { code: "socketcall-bypass", family: Syscalls, level: Warn, weight: 2, summary: "socket() is filtered by family but socketcall() is allowed",
        explanation: "On 32-bit x86 the socket calls also go through socketcall(2), whose arguments are in memory that seccomp cannot read: a filter that refuses socket(AF_ALG, …) by argument still lets socketcall(SYS_SOCKET, [AF_ALG, …]) through. Deny socketcall, or drop the x86 architecture from the filter." },
    RuleInfo { code: "namespace-creation", family: Syscalls, level: Warn, weight: 4, summary: "new namespaces (user namespaces above all) can be created",
        explanation: "clone/clone3/unshare with CLONE_NEWUSER give an unprivileged process a full capability set over new namespaces: the kernel code reachable that way (netfilter, mount, overlayfs) is behind most recent container escapes (CVE-2022-0185, CVE-2023-32233). Docker's profile refuses namespace flags to clone and unshare, and clone3 entirely, unless SYS_ADMIN is granted." },
    RuleInfo { code: "ptrace-allowed", family: Syscalls, level: Warn, weight: 3, summary: "ptrace is allowed",
        explanation: "ptrace lets a process read and change another's memory and registers; before kernel 4.8 it bypassed seccomp outright. Inside one container it is needed only by debuggers and tracers." },
    RuleInfo { code: "keyctl-allowed", family: Syscalls, level: Warn, weight: 2, summary: "the kernel keyring syscalls are allowed",
        explanation: "keyctl, add_key and request_key reach keyrings that are not namespaced: a container can read or fill keys of other containers of the same uid (and keyring bugs, CVE-2016-0728). Docker's default profile refuses them." },
    RuleInfo { code: "bpf-allowed", family: Syscalls, level: Warn, weight: 4, summary: "bpf() is allowed",
        explanation: "bpf() loads programs into the kernel; the verifier is a frequent source of privilege escalations (CVE-2021-3490, CVE-2022-23222). Unprivileged use is usually disabled, but the filter should not rely on a sysctl." },
    RuleInfo { code: "userfaultfd-allowed", family: Syscalls, level: Warn, weight: 2, summary: "userfaultfd() is allowed",
        explanation: "userfaultfd lets a process stall the kernel at a chosen page fault: the standard way to win race conditions in kernel exploits. Few workloads use it (live migration, some GCs)." },
    RuleInfo { code: "perf-event-open-allowed", family: Syscalls, level: Warn, weight: 2, summary: "perf_event_open() is allowed",
        explanation: "perf_event_open exposes hardware counters and kernel internals: side channels across containers and a history of privilege escalations (CVE-2013-2094, CVE-2023-2235). Docker's default profile refuses it." },
    RuleInfo { code: "seccomp-64bit-int-comparison", family: Syscalls, level: Deny, weight: 4, summary: "a seccomp rule compares an int parameter on 64 bits (bypassable)",
        explanation: "The kernel reads an `int` parameter from the low 32 bits of its register, but seccomp compares all 64. A rule like socket arg0 != AF_ALG (38) on 64 bits is bypassed by socket(0x1_0000_0026, …): the filter sees 'not 38', the kernel creates an AF_ALG socket. Compare int parameters on their low 32 bits (palisade does unless told `:64`; in Docker/OCI JSON use SCMP_CMP_MASKED_EQ with mask 0xffffffff)." },
    RuleInfo { code: "dead-seccomp-allow", family: CrossLayer, level: Warn, weight: 0, summary: "seccomp allows a syscall that a missing capability makes useless",
        explanation: "The filter allows, e.g., mount while CAP_SYS_ADMIN is not granted: the kernel refuses the call anyway, so the rule only widens the attack surface (the syscall's argument parsing still runs) and misleads readers, and becomes live the day someone adds the capability. Remove it or grant the capability on purpose." },
    RuleInfo { code: "apparmor-allows-seccomp-denied", family: CrossLayer, level: Warn, weight: 0, summary: "AppArmor explicitly allows what seccomp denies",
        explanation: "An AppArmor rule allows a socket family, mount, ptrace or user namespaces that the seccomp filter refuses: one of the two layers does not say what its author meant. The stricter layer wins at run time; fix the other so that reviews of either layer tell the truth." },
    RuleInfo { code: "landlock-write-read-only", family: CrossLayer, level: Warn, weight: 0, summary: "Landlock grants write access under a read-only mount",
        explanation: "A Landlock write path lies on the read-only root (or under a read-only path) and under no writable mount: the mount refuses every write, so the Landlock rule is dead and the workload will fail where its policy says it may write. Add a tmpfs or volume there, or remove the path." },
    RuleInfo { code: "apparmor-unresolved-include", family: Input, level: Warn, weight: 0, summary: "an AppArmor include was not found; its rules were not checked",
        explanation: "The profile includes a file that exists in no directory of the search path (--apparmor-path, default /etc/apparmor.d). apparmor_parser would refuse the profile on this host; the findings are for the rules that could be read. Use `include if exists` for optional files." },
];

/// A rule by code.
pub fn rule(code: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.code), "duplicate {}", r.code);
            assert!(r.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", r.code);
            assert!(!r.summary.ends_with('.') && r.explanation.ends_with(['.', ')']), "{}", r.code);
        }
    }
}
