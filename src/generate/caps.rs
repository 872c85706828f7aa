//! Capabilities from refusals. The learning run keeps only the capabilities the final policy
//! would start with (the base's, plus any a merged policy adds), so a privileged operation
//! the workload needs shows up as the kernel refusing it: `bind` to a port below 1024 with
//! EACCES, `chown` with EPERM, and so on. Each such refusal names the one capability that
//! would have let it through.
//!
//! What this cannot see: capabilities the kernel checks implicitly on a path that still
//! succeeds or fails for other reasons. DAC_OVERRIDE and DAC_READ_SEARCH turn an EACCES from
//! file modes into success, but an EACCES from open(2) may as well be a mode the workload was
//! never meant to pass (those are listed as notes, not granted); FOWNER and FSETID change
//! results silently; SYS_RESOURCE only matters at a limit. Capabilities that amount to host
//! root (SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, BPF, PERFMON, SYS_BOOT) are reported,
//! never granted by generate: a person decides those.

use nix::libc;

/// Capabilities generate reports but never adds by itself.
pub const NEVER_GRANTED: &[&str] = &["SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "BPF", "PERFMON", "SYS_BOOT"];

/// What a refused call tells: the capability that would have allowed it, and the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    pub capability: &'static str,
    pub what: String,
}

/// The capability a refused syscall needed, if the refusal is unambiguous. `port` is the
/// port of a bind's address; `errno` the kernel's answer.
pub fn refused(syscall: &str, args: &[u64; 6], errno: i32, port: Option<u16>) -> Option<Needed> {
    let e = crate::seccomp::arch::errno_name(errno as u32).unwrap_or("?");
    let needed = |capability: &'static str, what: String| Some(Needed { capability, what: format!("{what} refused with {e}") });
    let eperm = errno == libc::EPERM;
    let eacces = errno == libc::EACCES;
    match syscall {
        // ip(7): binding a port below 1024 needs CAP_NET_BIND_SERVICE (EACCES otherwise).
        "bind" if eacces => port.filter(|p| (1..1024).contains(p)).and_then(|p| needed("NET_BIND_SERVICE", format!("bind to port {p}"))),
        // packet(7), raw(7): packet and raw sockets need CAP_NET_RAW (EPERM).
        "socket" if eperm => {
            let (family, kind) = (args[0] as u32, args[1] as u32 & 0xf);
            (family == libc::AF_PACKET as u32 || kind == libc::SOCK_RAW as u32)
                .then(|| needed("NET_RAW", format!("socket({}, SOCK_RAW/packet)", super::decode::family_name(family))))?
        }
        "setuid" | "setuid32" | "setreuid" | "setreuid32" | "setresuid" | "setresuid32" if eperm => {
            needed("SETUID", format!("{syscall}()"))
        }
        "setgid" | "setgid32" | "setregid" | "setregid32" | "setresgid" | "setresgid32" | "setgroups" | "setgroups32" if eperm => {
            needed("SETGID", format!("{syscall}()"))
        }
        "chown" | "chown32" | "fchown" | "fchown32" | "lchown" | "lchown32" | "fchownat" if eperm => {
            needed("CHOWN", format!("{syscall}()"))
        }
        "chmod" | "fchmod" | "fchmodat" | "fchmodat2" | "utimensat" | "utimes" | "utime" | "futimesat" if eperm => {
            needed("FOWNER", format!("{syscall}() on a file of another user"))
        }
        "chroot" if eperm => needed("SYS_CHROOT", "chroot()".into()),
        // mknod(2): device nodes need CAP_MKNOD; FIFOs and sockets do not.
        "mknod" | "mknodat" if eperm => {
            let mode = if syscall == "mknod" { args[1] } else { args[2] } as u32;
            matches!(mode & libc::S_IFMT, libc::S_IFCHR | libc::S_IFBLK)
                .then(|| needed("MKNOD", format!("{syscall}() of a device node")))?
        }
        "kill" | "tkill" | "tgkill" if eperm => needed("KILL", format!("{syscall}() of another user's process")),
        "setpriority" | "sched_setscheduler" | "sched_setparam" | "sched_setattr" | "nice" if eperm || eacces => {
            needed("SYS_NICE", format!("{syscall}()"))
        }
        "setrlimit" | "prlimit64" if eperm => needed("SYS_RESOURCE", format!("{syscall}() raising a hard limit")),
        "mlock" | "mlock2" | "mlockall" if eperm => needed("IPC_LOCK", format!("{syscall}()")),
        "capset" if eperm => needed("SETPCAP", "capset()".into()),
        "settimeofday" | "clock_settime" | "clock_settime64" | "stime" | "adjtimex" | "clock_adjtime" if eperm => {
            needed("SYS_TIME", format!("{syscall}()"))
        }
        "syslog" if eperm => needed("SYSLOG", "syslog()".into()),
        "acct" if eperm => needed("SYS_PACCT", "acct()".into()),
        "vhangup" if eperm => needed("SYS_TTY_CONFIG", "vhangup()".into()),
        "mount" | "umount2" | "umount" | "pivot_root" | "sethostname" | "setdomainname" | "swapon" | "swapoff" | "setns" | "fsopen"
        | "open_tree" | "move_mount"
            if eperm =>
        {
            needed("SYS_ADMIN", format!("{syscall}()"))
        }
        // unshare(CLONE_NEWUSER) alone needs no capability; any other namespace does.
        "unshare" if eperm && args[0] & !(libc::CLONE_NEWUSER as u64) != 0 => needed("SYS_ADMIN", "unshare() of a namespace".into()),
        "init_module" | "finit_module" | "delete_module" if eperm => needed("SYS_MODULE", format!("{syscall}()")),
        "iopl" | "ioperm" if eperm => needed("SYS_RAWIO", format!("{syscall}()")),
        "ptrace" | "process_vm_readv" | "process_vm_writev" if eperm => needed("SYS_PTRACE", format!("{syscall}() of another process")),
        "bpf" if eperm => needed("BPF", "bpf()".into()),
        "perf_event_open" if eperm || eacces => needed("PERFMON", "perf_event_open()".into()),
        "reboot" if eperm => needed("SYS_BOOT", "reboot()".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_capability() {
        let none = [0u64; 6];
        let low = refused("bind", &none, libc::EACCES, Some(80)).unwrap();
        assert_eq!(low, Needed { capability: "NET_BIND_SERVICE", what: "bind to port 80 refused with EACCES".into() });
        assert_eq!(refused("bind", &none, libc::EACCES, Some(8080)), None, "high ports need nothing");
        assert_eq!(refused("bind", &none, libc::EADDRINUSE, Some(80)), None);
        let raw = [libc::AF_INET as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0];
        assert_eq!(refused("socket", &raw, libc::EPERM, None).unwrap().capability, "NET_RAW");
        let fifo = [0, u64::from(libc::S_IFIFO | 0o644), 0, 0, 0, 0];
        assert_eq!(refused("mknod", &fifo, libc::EPERM, None), None, "FIFOs need no capability");
        let user_ns = [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0];
        assert_eq!(refused("unshare", &user_ns, libc::EPERM, None), None);
        assert_eq!(refused("chown", &none, libc::EPERM, None).unwrap().capability, "CHOWN");
        assert_eq!(refused("openat", &none, libc::EACCES, None), None, "file modes are not a capability");
    }
}
