//! Named syscall groups (`@basic-io`, `@privileged`, `@docker-default`, …) that policies use in
//! `seccomp.allow` and `seccomp.deny`. `palisade policy groups` lists them.
//!
//! The groups are palisade's own, sorted by purpose from the kernel's syscall tables. A group
//! may name syscalls that exist only on some architectures (`socketcall` and the `*32` uid
//! calls only on x86, `open` not on aarch64): a filter for an architecture without one of them
//! simply has nothing to match. Every name must exist on at least one architecture palisade
//! compiles filters for (a test below checks it against `arch::known_syscall`).
//!
//! A group is a convenience, not a security boundary: allowing `@process` allows `clone` with
//! every namespace flag unless a `[[seccomp.rule]]` checks its flags, and allowing
//! `@network-io` allows sockets of every family unless a rule checks `socket`'s first argument.

/// One named set of syscalls.
#[derive(Debug)]
pub struct Group {
    /// The name without the leading `@`.
    pub name: &'static str,
    /// What the syscalls have in common, and why a policy would allow or deny them together.
    pub description: &'static str,
    /// Sorted, without duplicates.
    pub syscalls: &'static [&'static str],
}

/// Every group, sorted by name (so lookups can binary-search).
#[rustfmt::skip]
pub static GROUPS: &[Group] = &[
    Group {
        name: "aio",
        description: "Linux-native asynchronous I/O (io_setup, io_submit and their completions); \
            not POSIX aio, which glibc implements with threads.",
        syscalls: &[
            "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
            "io_setup", "io_submit",
        ],
    },
    Group {
        name: "basic-io",
        description: "Read, write, seek, duplicate, control (fcntl, ioctl) and close descriptors \
            that are already open, create pipes, and move data between descriptors. \
            ioctl is the whole device-driver surface: restrict its request argument with \
            a rule where that matters (TIOCSTI).",
        syscalls: &[
            "_llseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "ioctl",
            "lseek", "pipe", "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
            "pwritev2", "read", "readv", "sendfile", "sendfile64", "splice", "tee", "vmsplice",
            "write", "writev",
        ],
    },
    Group {
        name: "bpf",
        description: "Load eBPF programs and maps: a large in-kernel attack surface (verifier bugs \
            such as CVE-2021-3490) that ordinary workloads never need.",
        syscalls: &[
            "bpf",
        ],
    },
    Group {
        name: "clock",
        description: "Set or slew the system clocks: the clocks are global to the host (only \
            CLOCK_MONOTONIC/BOOTTIME offsets are namespaced). adjtimex and clock_adjtime also \
            read the clock state, which needs no capability.",
        syscalls: &[
            "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
            "settimeofday", "stime",
        ],
    },
    Group {
        name: "credentials",
        description: "Read the caller's own user, group and capability identity (no changes: see \
            @setuid).",
        syscalls: &[
            "capget", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
            "getgroups", "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32",
            "getuid", "getuid32",
        ],
    },
    Group {
        name: "debug",
        description: "Inspect or change other processes: ptrace, cross-process memory access, \
            stealing descriptors, kernel profiling; the tools of debuggers and of \
            sandbox escapes alike.",
        syscalls: &[
            "kcmp", "lookup_dcookie", "perf_event_open", "pidfd_getfd", "process_madvise",
            "process_vm_readv", "process_vm_writev", "ptrace",
        ],
    },
    Group {
        name: "docker-default",
        description: "What Docker's default seccomp profile allows unconditionally on an amd64 \
            host with Docker's default capabilities and kernel >= 4.8, including the \
            x86-only arch_prctl and modify_ldt; names that exist on none of palisade's \
            architectures (recv, send, riscv_hwprobe) are left out. Docker allows socket, \
            personality and clone only with argument checks, and clone3 not at all, so \
            they are not here: see profiles/docker-default.toml.",
        syscalls: &[
            "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm",
            "arch_prctl", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod", "chown",
            "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
            "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
            "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3",
            "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
            "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve",
            "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
            "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
            "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
            "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
            "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
            "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
            "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents",
            "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
            "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
            "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
            "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
            "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
            "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
            "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
            "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill", "landlock_add_rule",
            "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
            "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr",
            "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
            "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
            "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect",
            "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
            "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl",
            "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
            "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
            "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
            "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
            "preadv2", "prlimit64", "process_mrelease", "process_vm_readv", "process_vm_writev",
            "pselect6", "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read",
            "readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg",
            "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat",
            "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
            "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
            "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
            "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
            "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
            "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
            "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
            "semtimedop", "semtimedop_time64", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
            "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid",
            "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
            "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
            "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
            "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "setxattrat",
            "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
            "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
            "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
            "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
            "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
            "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
            "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
            "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
            "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
            "write", "writev",
        ],
    },
    Group {
        name: "file-system",
        description: "Look up, open, create, stat, rename, link, remove and change files and \
            directories, their modes, owners, times and extended attributes.",
        syscalls: &[
            "access", "cachestat", "chdir", "chmod", "chown", "chown32", "copy_file_range", "creat",
            "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod",
            "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fgetxattr", "file_getattr",
            "file_setattr", "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64",
            "fstatat64", "fstatfs", "fstatfs64", "ftruncate", "ftruncate64", "futimesat", "getcwd",
            "getdents", "getdents64", "getxattr", "getxattrat", "lchown", "lchown32", "lgetxattr",
            "link", "linkat", "listxattr", "listxattrat", "llistxattr", "lremovexattr", "lsetxattr",
            "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at",
            "newfstatat", "open", "openat", "openat2", "readahead", "readlink", "readlinkat",
            "removexattr", "removexattrat", "rename", "renameat", "renameat2", "rmdir", "setxattr",
            "setxattrat", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat",
            "truncate", "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat",
            "utimensat_time64", "utimes",
        ],
    },
    Group {
        name: "io-event",
        description: "Wait for readiness of many descriptors and create event descriptors: poll, \
            select, epoll, eventfd and inotify.",
        syscalls: &[
            "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
            "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "inotify_add_watch",
            "inotify_init", "inotify_init1", "inotify_rm_watch", "poll", "ppoll", "ppoll_time64",
            "pselect6", "pselect6_time64", "select",
        ],
    },
    Group {
        name: "io-uring",
        description: "io_uring: asynchronous I/O through rings shared with the kernel; one of the \
            most exploited kernel interfaces of recent years (Google turned it off on \
            ChromeOS and its production servers), and the operations a ring runs never \
            pass through seccomp.",
        syscalls: &[
            "io_uring_enter", "io_uring_register", "io_uring_setup",
        ],
    },
    Group {
        name: "ipc",
        description: "Pipes, System V message queues, semaphores and shared memory, and POSIX \
            message queues.",
        syscalls: &[
            "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
            "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl",
            "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "semctl", "semget", "semop",
            "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
        ],
    },
    Group {
        name: "keyring",
        description: "The kernel key retention service: keyrings are not namespaced by any \
            container namespace, so keys can leak between containers of one user.",
        syscalls: &[
            "add_key", "keyctl", "request_key",
        ],
    },
    Group {
        name: "memory",
        description: "Map, unmap, protect, lock and advise memory, anonymous-file memory (memfd) \
            and memory protection keys.",
        syscalls: &[
            "brk", "madvise", "map_shadow_stack", "memfd_create", "memfd_secret", "mincore",
            "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "mseal", "msync",
            "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
            "remap_file_pages",
        ],
    },
    Group {
        name: "module",
        description: "Load and unload kernel modules: arbitrary code in the host kernel.",
        syscalls: &[
            "create_module", "delete_module", "finit_module", "init_module",
        ],
    },
    Group {
        name: "mount",
        description: "Change the mount table or the root directory: mount, the new mount API \
            (fsopen and friends), pivot_root, chroot.",
        syscalls: &[
            "chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr",
            "move_mount", "open_tree", "open_tree_attr", "pivot_root", "umount", "umount2",
        ],
    },
    Group {
        name: "namespace",
        description: "Create or join namespaces (unshare, setns); clone() with CLONE_NEW* flags \
            needs a rule on its flags argument, and clone3() cannot be filtered by flags \
            at all.",
        syscalls: &[
            "setns", "unshare",
        ],
    },
    Group {
        name: "network-io",
        description: "Create, connect and use sockets of any family (restrict families with a rule \
            on socket's first argument), including x86's socketcall multiplexer.",
        syscalls: &[
            "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
            "listen", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "sendmmsg", "sendmsg",
            "sendto", "setsockopt", "shutdown", "socket", "socketcall", "socketpair",
        ],
    },
    Group {
        name: "numa",
        description: "NUMA memory placement policy: Docker allows it only with CAP_SYS_NICE.",
        syscalls: &[
            "get_mempolicy", "mbind", "migrate_pages", "move_pages", "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    },
    Group {
        name: "obsolete",
        description: "Syscalls no current libc uses: removed, never implemented, or superseded \
            decades ago. Allowing them buys compatibility with nothing; denying them is cheap \
            (Docker still allows the epoll_*_old stubs).",
        syscalls: &[
            "_sysctl", "afs_syscall", "bdflush", "break", "create_module", "epoll_ctl_old",
            "epoll_wait_old", "ftime", "get_kernel_syms", "getpmsg", "gtty", "idle", "lock", "mpx",
            "nfsservctl", "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "prof",
            "profil", "putpmsg", "query_module", "readdir", "security", "sgetmask", "ssetmask",
            "stty", "sysfs", "tuxcall", "ulimit", "uselib", "ustat", "vm86", "vm86old", "vserver",
        ],
    },
    Group {
        name: "privileged",
        description: "Everything dangerous in one set: @bpf, @clock, @debug, @io-uring, @keyring, \
            @module, @mount, @namespace, @raw-io, @reboot and @swap, plus accounting, \
            quotas, host and domain names, the kernel log, open_by_handle_at (the 2014 \
            \"shocker\" escape), userfaultfd, fanotify and vhangup.",
        syscalls: &[
            "acct", "add_key", "adjtimex", "bpf", "chroot", "clock_adjtime", "clock_adjtime64",
            "clock_settime", "clock_settime64", "create_module", "delete_module", "fanotify_init",
            "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "init_module",
            "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp",
            "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
            "move_mount", "nfsservctl", "open_by_handle_at", "open_tree", "open_tree_attr",
            "perf_event_open", "pidfd_getfd", "pivot_root", "process_madvise", "process_vm_readv",
            "process_vm_writev", "ptrace", "quotactl", "quotactl_fd", "reboot", "request_key",
            "setdomainname", "sethostname", "setns", "settimeofday", "stime", "swapoff", "swapon",
            "syslog", "umount", "umount2", "unshare", "userfaultfd", "vhangup",
        ],
    },
    Group {
        name: "process",
        description: "Create, run, wait for and end processes and threads; thread setup (TLS, \
            robust futex lists, rseq), futexes, scheduling, priorities and resource \
            limits. clone() includes namespace flags unless a rule checks them.",
        syscalls: &[
            "arch_prctl", "clone", "clone3", "execve", "execveat", "exit", "exit_group", "fork",
            "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
            "get_robust_list", "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid",
            "getppid", "getpriority", "getrlimit", "getrusage", "getsid", "gettid", "ioprio_get",
            "ioprio_set", "membarrier", "nice", "prctl", "prlimit64", "process_mrelease",
            "restart_syscall", "rseq", "sched_get_priority_max", "sched_get_priority_min",
            "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
            "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
            "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
            "set_robust_list", "set_thread_area", "set_tid_address", "setpgid", "setpriority",
            "setrlimit", "setsid", "ugetrlimit", "vfork", "wait4", "waitid", "waitpid",
        ],
    },
    Group {
        name: "raw-io",
        description: "Direct access to hardware I/O ports: ioperm and iopl.",
        syscalls: &[
            "ioperm", "iopl",
        ],
    },
    Group {
        name: "reboot",
        description: "Reboot the host or load a new kernel to boot into (kexec).",
        syscalls: &[
            "kexec_file_load", "kexec_load", "reboot",
        ],
    },
    Group {
        name: "sandbox",
        description: "Restrict the caller further: seccomp filters and Landlock rulesets, which \
            can only take privileges away.",
        syscalls: &[
            "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
        ],
    },
    Group {
        name: "setuid",
        description: "Change user and group IDs, supplementary groups and capabilities.",
        syscalls: &[
            "capset", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
            "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
            "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
        ],
    },
    Group {
        name: "signal",
        description: "Send, block, wait for and handle signals, including signalfd and the signal \
            return trampolines.",
        syscalls: &[
            "kill", "pause", "pidfd_open", "pidfd_send_signal", "rt_sigaction", "rt_sigpending",
            "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
            "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaction", "sigaltstack", "signal",
            "signalfd", "signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend",
            "tgkill", "tkill",
        ],
    },
    Group {
        name: "swap",
        description: "Enable or disable swap areas of the host.",
        syscalls: &[
            "swapoff", "swapon",
        ],
    },
    Group {
        name: "sync",
        description: "Flush file data and metadata to storage.",
        syscalls: &[
            "fdatasync", "fsync", "sync", "sync_file_range", "syncfs",
        ],
    },
    Group {
        name: "system-info",
        description: "Read facts about the system: kernel name and version, load and memory \
            totals, the CPU the caller runs on, and random bytes.",
        syscalls: &[
            "getcpu", "getrandom", "sysinfo", "uname",
        ],
    },
    Group {
        name: "time",
        description: "Read clocks, sleep, and use interval timers, POSIX timers and timerfds \
            (setting the clocks is @clock).",
        syscalls: &[
            "alarm", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
            "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
            "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
            "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
            "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
            "timerfd_settime64", "times",
        ],
    },
];

/// Looks a group up by name, with or without the leading `@`.
pub fn group(name: &str) -> Option<&'static Group> {
    let name = name.strip_prefix('@').unwrap_or(name);
    GROUPS.binary_search_by(|g| g.name.cmp(name)).ok().map(|i| &GROUPS[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::arch;
    use std::collections::BTreeSet;

    fn names(group_name: &str) -> BTreeSet<&'static str> {
        group(group_name).expect("group exists").syscalls.iter().copied().collect()
    }

    #[test]
    fn groups_are_sorted_by_name_and_unique() {
        assert!(GROUPS.windows(2).all(|w| w[0].name < w[1].name), "GROUPS must stay sorted by name");
    }

    #[test]
    fn every_group_is_sorted_without_duplicates_and_described() {
        for g in GROUPS {
            assert!(!g.name.is_empty() && !g.name.starts_with('@'), "bad group name {:?}", g.name);
            assert!(!g.description.trim().is_empty(), "@{} has no description", g.name);
            assert!(!g.syscalls.is_empty(), "@{} is empty", g.name);
            for w in g.syscalls.windows(2) {
                assert!(w[0] != w[1], "@{} lists {} twice", g.name, w[0]);
                assert!(w[0] < w[1], "@{}: {} must come after {}", g.name, w[0], w[1]);
            }
        }
    }

    #[test]
    fn every_syscall_is_known_on_some_architecture() {
        for g in GROUPS {
            for name in g.syscalls {
                assert!(arch::known_syscall(name), "@{}: `{name}` is in no architecture table", g.name);
            }
        }
    }

    #[test]
    fn lookup_accepts_the_at_sign_and_refuses_unknown_names() {
        assert_eq!(group("@basic-io").map(|g| g.name), Some("basic-io"));
        assert_eq!(group("basic-io").map(|g| g.name), Some("basic-io"));
        assert!(group("@no-such-group").is_none());
        assert!(group("@").is_none());
        for g in GROUPS {
            assert!(std::ptr::eq(group(g.name).unwrap(), g));
        }
    }

    #[test]
    fn privileged_covers_every_dangerous_group() {
        let privileged = names("privileged");
        for member in ["bpf", "clock", "debug", "io-uring", "keyring", "module", "mount", "namespace", "raw-io", "reboot", "swap"] {
            let missing: Vec<_> = names(member).difference(&privileged).copied().collect();
            assert!(missing.is_empty(), "@privileged lacks @{member}: {missing:?}");
        }
        for name in ["open_by_handle_at", "userfaultfd", "acct", "syslog", "sethostname", "quotactl"] {
            assert!(privileged.contains(name), "@privileged lacks {name}");
        }
    }

    #[test]
    fn safe_groups_hold_nothing_privileged() {
        let privileged = names("privileged");
        for g in [
            "aio",
            "basic-io",
            "credentials",
            "file-system",
            "io-event",
            "ipc",
            "memory",
            "network-io",
            "process",
            "signal",
            "sync",
            "system-info",
            "time",
        ] {
            let overlap: Vec<_> = names(g).intersection(&privileged).copied().collect();
            assert!(overlap.is_empty(), "@{g} holds privileged syscalls {overlap:?}");
        }
        // Docker's default allows none of them unconditionally except ptrace and
        // process_vm_{readv,writev} (since kernel 4.8 re-checks seccomp after a tracer changes a
        // syscall) and adjtimex/clock_adjtime (which only read without CAP_SYS_TIME).
        let docker: BTreeSet<_> = names("docker-default").intersection(&privileged).copied().collect();
        let expected = ["adjtimex", "clock_adjtime", "clock_adjtime64", "process_vm_readv", "process_vm_writev", "ptrace"];
        assert_eq!(docker, BTreeSet::from(expected));
    }

    /// `@docker-default` is what moby's default.json allows without argument checks on amd64
    /// with Docker's default capabilities: entries with no `includes` other than a satisfied
    /// `minKernel` or `arches` naming amd64, and no `excludes`.
    #[test]
    fn docker_default_matches_mobys_profile() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/docker-default-seccomp.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not present");
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut expected = BTreeSet::new();
        for entry in json["syscalls"].as_array().unwrap() {
            let unconditional = entry["action"] == "SCMP_ACT_ALLOW"
                && entry.get("args").is_none_or(|a| a.is_null() || a.as_array().is_some_and(|a| a.is_empty()))
                && entry.get("excludes").is_none_or(|e| e.as_object().is_some_and(|o| o.is_empty()));
            let includes = entry.get("includes").and_then(|i| i.as_object());
            let included = includes.is_none_or(|inc| {
                inc.keys().all(|k| k == "arches" || k == "minKernel")
                    && inc.get("arches").is_none_or(|a| a.as_array().unwrap().iter().any(|x| x == "amd64"))
            });
            if unconditional && included {
                for name in entry["names"].as_array().unwrap() {
                    let name = name.as_str().unwrap();
                    // recv, send (other arches' socket calls) and riscv_hwprobe exist on none
                    // of palisade's architectures.
                    if arch::known_syscall(name) {
                        expected.insert(name);
                    }
                }
            }
        }
        let ours: BTreeSet<&str> = names("docker-default");
        let missing: Vec<_> = expected.difference(&ours).collect();
        let extra: Vec<_> = ours.difference(&expected).collect();
        assert!(missing.is_empty() && extra.is_empty(), "@docker-default differs from moby: missing {missing:?}, extra {extra:?}");
    }

    /// profiles/docker-default.toml spells the same set out by purpose, with a reason per entry;
    /// the two must not drift apart. arch_prctl and modify_ldt are `arches`-limited rules there.
    #[test]
    fn docker_default_profile_allows_exactly_the_group() {
        let text = include_str!("../../profiles/docker-default.toml");
        let profile: toml::Table = text.parse().expect("profiles/docker-default.toml parses");
        let seccomp = profile["seccomp"].as_table().unwrap();
        let mut allowed = BTreeSet::new();
        for entry in seccomp["allow"].as_array().unwrap() {
            for name in entry["names"].as_array().unwrap() {
                assert!(allowed.insert(name.as_str().unwrap()), "{name} is listed twice");
            }
        }
        let mut expected = names("docker-default");
        for arch_specific in ["arch_prctl", "modify_ldt"] {
            expected.remove(arch_specific);
            let rule = seccomp["rule"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["syscalls"].as_array().unwrap().iter().any(|s| s.as_str() == Some(arch_specific)));
            assert!(rule.is_some_and(|r| r.get("arches").is_some()), "{arch_specific} needs an `arches` rule");
        }
        let missing: Vec<_> = expected.difference(&allowed).collect();
        let extra: Vec<_> = allowed.difference(&expected).collect();
        assert!(missing.is_empty() && extra.is_empty(), "profile differs from @docker-default: missing {missing:?}, extra {extra:?}");
    }
}
