//! ptrace(2) for `palisade generate`'s tracer: attach to our own child (PTRACE_TRACEME), wait
//! for its stops, read each syscall's number, ABI and arguments (PTRACE_GET_SYSCALL_INFO,
//! Linux 5.3) and its memory (process_vm_readv(2)). Only a tracer of its own children uses
//! this: nothing here attaches to a process it did not start.

use super::{check, Error, Op, Result};
use nix::libc;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;
use std::io::IoSliceMut;

/// `PTRACE_GET_SYSCALL_INFO` (include/uapi/linux/ptrace.h); not in every libc crate version.
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const SYSCALL_INFO_ENTRY: u8 = 1;
const SYSCALL_INFO_EXIT: u8 = 2;

/// The options the tracer sets on its first tracee; auto-attached tracees inherit them.
/// TRACESYSGOOD marks syscall stops (SIGTRAP | 0x80) apart from real SIGTRAPs; TRACECLONE,
/// TRACEFORK and TRACEVFORK attach every thread and child before it runs a single
/// instruction; TRACEEXEC reports the new program; EXITKILL kills every tracee if the tracer
/// dies, so nothing traced can outlive the learning run unobserved.
pub const OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_EXITKILL;

/// `struct ptrace_syscall_info` (include/uapi/linux/ptrace.h): 24 bytes of header, then a
/// union whose largest member (`seccomp`: nr, six args, ret_data) pads it to 88 bytes.
#[repr(C)]
#[derive(Default)]
struct RawSyscallInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    /// entry: nr, args[6]; exit: rval (s64), is_error (u8).
    data: [u64; 8],
}

/// What a syscall stop shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallInfo {
    /// The tracee is entering a syscall: `arch` is the `AUDIT_ARCH_*` of the ABI it used (an
    /// x86_64 process making an `int 0x80` call shows `AUDIT_ARCH_I386`), `nr` the number as
    /// seccomp sees it (with the x32 bit for x32 calls).
    Entry { arch: u32, nr: u64, args: [u64; 6] },
    /// The syscall returned: a value, or `-errno` when `is_error`.
    Exit { rval: i64, is_error: bool },
    /// Not a syscall stop (the kernel says `PTRACE_SYSCALL_INFO_NONE` or a seccomp stop).
    Other,
}

/// One report of waitpid(2) about a tracee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Exited {
        pid: Pid,
        code: i32,
    },
    Killed {
        pid: Pid,
        signal: i32,
    },
    /// A syscall-enter or -exit stop (PTRACE_O_TRACESYSGOOD).
    Syscall {
        pid: Pid,
    },
    /// A `PTRACE_EVENT_*` stop: fork, vfork, clone, exec.
    Event {
        pid: Pid,
        event: i32,
    },
    /// A signal-delivery stop, a group stop, or a new tracee's initial SIGSTOP. The signal is
    /// a raw number: real-time signals have no `nix::Signal`.
    Signal {
        pid: Pid,
        signal: i32,
    },
}

/// Makes the calling process a tracee of its parent (PTRACE_TRACEME); called in the child
/// between fork and execve.
pub fn trace_me() -> Result<()> {
    // SAFETY: PTRACE_TRACEME takes no pointers; the other arguments are ignored.
    let ret = unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, std::ptr::null_mut::<libc::c_void>(), std::ptr::null_mut::<libc::c_void>()) };
    check(ret, || "ptrace(PTRACE_TRACEME)".into()).map(|_| ())
}

/// Makes the calling process dumpable again (prctl PR_SET_DUMPABLE 1), so that its tracer,
/// of the same uid and without CAP_SYS_PTRACE, may read its memory and /proc files.
pub fn make_dumpable() -> Result<()> {
    nix::sys::prctl::set_dumpable(true).op(|| "prctl(PR_SET_DUMPABLE, 1)".into())
}

/// Stops the calling process with SIGSTOP, so the tracer can set its options before execve.
pub fn stop_self() -> Result<()> {
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).op(|| "raise(SIGSTOP)".into())
}

/// Sets the tracing options ([`OPTIONS`]) on a stopped tracee.
pub fn set_options(pid: Pid, options: libc::c_int) -> Result<()> {
    // SAFETY: PTRACE_SETOPTIONS passes the options in `data` as an integer; no memory is read.
    let ret = unsafe {
        libc::ptrace(
            libc::PTRACE_SETOPTIONS,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            options as libc::c_long as *mut libc::c_void,
        )
    };
    check(ret, || format!("ptrace(PTRACE_SETOPTIONS, {pid})")).map(|_| ())
}

/// Resumes a stopped tracee until its next syscall stop (PTRACE_SYSCALL), delivering
/// `signal` (0: none). `ESRCH` means it is gone (killed meanwhile), which the caller learns
/// from waitpid next.
pub fn resume(pid: Pid, signal: i32) -> Result<()> {
    // SAFETY: PTRACE_SYSCALL passes the signal number in `data` as an integer; no memory is read.
    let ret = unsafe {
        libc::ptrace(libc::PTRACE_SYSCALL, pid.as_raw(), std::ptr::null_mut::<libc::c_void>(), signal as libc::c_long as *mut libc::c_void)
    };
    check(ret, || format!("ptrace(PTRACE_SYSCALL, {pid})")).map(|_| ())
}

/// The message of the last `PTRACE_EVENT_*` stop: the new tracee's pid after fork, vfork and
/// clone; the former thread id after an exec by a non-leader thread.
pub fn event_message(pid: Pid) -> Result<u64> {
    let mut message: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long to `data`, which points to one.
    let ret = unsafe {
        libc::ptrace(libc::PTRACE_GETEVENTMSG, pid.as_raw(), std::ptr::null_mut::<libc::c_void>(), &mut message as *mut libc::c_ulong)
    };
    check(ret, || format!("ptrace(PTRACE_GETEVENTMSG, {pid})"))?;
    Ok(message as u64)
}

/// Whether a signal stop is a group stop (the tracee stopped by SIGSTOP & co.) rather than a
/// signal about to be delivered: PTRACE_GETSIGINFO fails with EINVAL only for group stops
/// (ptrace(2), "Group-stop").
pub fn is_group_stop(pid: Pid) -> bool {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value for it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETSIGINFO writes one siginfo_t to `data`, which points to one.
    let ret = unsafe {
        libc::ptrace(libc::PTRACE_GETSIGINFO, pid.as_raw(), std::ptr::null_mut::<libc::c_void>(), &mut info as *mut libc::siginfo_t)
    };
    ret == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
}

/// The syscall a tracee is stopped at (PTRACE_GET_SYSCALL_INFO).
pub fn syscall_info(pid: Pid) -> Result<SyscallInfo> {
    let mut raw = RawSyscallInfo::default();
    let size = std::mem::size_of::<RawSyscallInfo>();
    // SAFETY: the kernel writes at most `addr` bytes (the size passed) into `data`, which
    // points to a RawSyscallInfo of exactly that size, laid out as the uapi struct.
    let ret = unsafe { libc::ptrace(PTRACE_GET_SYSCALL_INFO, pid.as_raw(), size as *mut libc::c_void, &mut raw as *mut RawSyscallInfo) };
    check(ret, || format!("ptrace(PTRACE_GET_SYSCALL_INFO, {pid})"))?;
    Ok(match raw.op {
        SYSCALL_INFO_ENTRY => {
            let mut args = [0u64; 6];
            args.copy_from_slice(&raw.data[1..7]);
            SyscallInfo::Entry { arch: raw.arch, nr: raw.data[0], args }
        }
        SYSCALL_INFO_EXIT => SyscallInfo::Exit { rval: raw.data[0] as i64, is_error: raw.data[1] & 0xff != 0 },
        _ => SyscallInfo::Other,
    })
}

/// Waits for the next report about any tracee (waitpid(-1, __WALL): threads included).
/// `ECHILD` means no tracee is left.
pub fn wait_any() -> Result<Stop> {
    let mut status: libc::c_int = 0;
    let pid = loop {
        // SAFETY: waitpid writes one int to `status`, which points to one.
        let ret = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if ret == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        break Pid::from_raw(check(ret as libc::c_long, || "waitpid(-1, __WALL)".into())? as i32);
    };
    Ok(decode_status(pid, status))
}

/// Decodes a wait status as ptrace(2) describes the stops of a tracee.
fn decode_status(pid: Pid, status: i32) -> Stop {
    if libc::WIFEXITED(status) {
        return Stop::Exited { pid, code: libc::WEXITSTATUS(status) };
    }
    if libc::WIFSIGNALED(status) {
        return Stop::Killed { pid, signal: libc::WTERMSIG(status) };
    }
    let signal = libc::WSTOPSIG(status);
    if signal == libc::SIGTRAP | 0x80 {
        return Stop::Syscall { pid };
    }
    let event = status >> 16;
    if signal == libc::SIGTRAP && event != 0 {
        return Stop::Event { pid, event };
    }
    Stop::Signal { pid, signal }
}

/// Reads up to `len` bytes of a tracee's memory at `addr`, stopping early (without an error)
/// at the first unreadable page.
pub fn read_memory(pid: Pid, addr: u64, len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut done = 0usize;
    // One remote range per page: process_vm_readv never splits a range, so a string that
    // ends just before an unmapped page is still read up to it.
    while done < len {
        let at = addr.wrapping_add(done as u64);
        let to_page_end = (4096 - (at % 4096)) as usize;
        let chunk = to_page_end.min(len - done);
        let remote = [RemoteIoVec { base: at as usize, len: chunk }];
        let mut local = [IoSliceMut::new(&mut out[done..done + chunk])];
        match process_vm_readv(pid, &mut local, &remote) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(nix::errno::Errno::EFAULT) if done > 0 => break,
            Err(e) => return Err(Error::errno(format!("process_vm_readv({pid}, {at:#x}, {chunk})"), e)),
        }
    }
    out.truncate(done);
    Ok(out)
}

/// Reads a NUL-terminated string of at most `max` bytes from a tracee's memory.
pub fn read_c_string(pid: Pid, addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < max {
        let chunk = ((4096 - (at % 4096)) as usize).min(256).min(max - out.len());
        let bytes = read_memory(pid, at, chunk)?;
        if let Some(end) = bytes.iter().position(|b| *b == 0) {
            out.extend_from_slice(&bytes[..end]);
            return Ok(out);
        }
        if bytes.len() < chunk {
            break;
        }
        out.extend_from_slice(&bytes);
        at += chunk as u64;
    }
    Err(Error::new(format!("read string at {addr:#x} in {pid}"), std::io::Error::other("unterminated or unreadable")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_info_struct_has_the_kernels_size() {
        assert_eq!(std::mem::size_of::<RawSyscallInfo>(), 88);
    }

    #[test]
    fn wait_statuses_decode_as_ptrace_describes_them() {
        let pid = Pid::from_raw(7);
        assert_eq!(decode_status(pid, 3 << 8), Stop::Exited { pid, code: 3 });
        assert_eq!(decode_status(pid, 9), Stop::Killed { pid, signal: 9 });
        assert_eq!(decode_status(pid, ((libc::SIGTRAP | 0x80) << 8) | 0x7f), Stop::Syscall { pid });
        let exec = (libc::PTRACE_EVENT_EXEC << 16) | (libc::SIGTRAP << 8) | 0x7f;
        assert_eq!(decode_status(pid, exec), Stop::Event { pid, event: libc::PTRACE_EVENT_EXEC });
        // A real-time signal, which nix's Signal cannot name.
        assert_eq!(decode_status(pid, (34 << 8) | 0x7f), Stop::Signal { pid, signal: 34 });
    }

    #[test]
    fn own_memory_reads_back() {
        let text = b"/etc/hostname\0garbage";
        let me = Pid::this();
        assert_eq!(read_c_string(me, text.as_ptr() as u64, 4096).unwrap(), b"/etc/hostname");
        assert_eq!(read_memory(me, text.as_ptr() as u64, 4).unwrap(), b"/etc");
    }
}
