//! Processes: clone3 with namespace flags and a pidfd, signals and waits through the pidfd,
//! prctl switches, and the descriptor hygiene done before exec.

use super::{check, Error, Op, Result};
use nix::libc;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `struct clone_args` of clone3(2) (include/uapi/linux/sched.h, version 2: with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Which side of a [`clone_process`] the caller is on.
#[derive(Debug)]
pub enum Forked {
    /// The new process. With `CLONE_NEWPID` it is pid 1 of the new namespace.
    Child,
    /// The caller, with the child's pid (in the caller's namespace) and a pidfd for it.
    Parent { pid: Pid, pidfd: OwnedFd },
}

/// Number of threads of the calling process, from /proc/self/status.
pub fn thread_count() -> Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status").op(|| "read /proc/self/status".into())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Error::new("read /proc/self/status", std::io::Error::other("no Threads: line")))
}

/// Creates a child process like fork(2) (copy-on-write, same stack) in new namespaces
/// (`CLONE_NEW*` bits of `namespaces`), returning a pidfd so that later signals and waits can
/// never hit a recycled pid. The child gets `SIGCHLD` as its exit signal. With
/// `CLONE_PARENT` among the flags the child is our parent's child instead of ours.
///
/// Refuses to run in a multi-threaded process: only the calling thread would exist in the
/// child, and any lock another thread held (malloc's, stdio's) would stay locked forever.
pub fn clone_process(namespaces: u64) -> Result<Forked> {
    let threads = thread_count()?;
    if threads != 1 {
        return Err(Error::new(
            "clone3",
            std::io::Error::other(format!("the calling process has {threads} threads; it must be single-threaded")),
        ));
    }
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: namespaces | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        // With CLONE_PARENT clone3 requires 0 here: the child inherits the caller's own exit
        // signal (SIGCHLD for every process palisade forks), as its new parent expects.
        exit_signal: if namespaces & libc::CLONE_PARENT as u64 != 0 { 0 } else { libc::SIGCHLD as u64 },
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed; `pidfd` outlives the call. With
    // stack 0 the child runs on a copy-on-write copy of this stack, as after fork(2). The
    // process is single-threaded (checked above), so no lock can be held by a thread that does
    // not exist in the child.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    let ret = check(ret, || format!("clone3(flags={namespaces:#x})"))?;
    if ret == 0 {
        return Ok(Forked::Child);
    }
    // SAFETY: on success with CLONE_PIDFD the kernel stored a new descriptor that nothing
    // else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent { pid: Pid::from_raw(ret as i32), pidfd })
}

/// A plain fork (no new namespaces), with a pidfd for the child.
pub fn fork_process() -> Result<Forked> {
    clone_process(0)
}

/// Blocks until the process behind `pidfd` has exited, without reaping it (it need not be
/// our child): a pidfd turns readable when its process exits (pidfd_open(2)).
pub fn pidfd_wait_exit(pidfd: BorrowedFd<'_>) -> Result<()> {
    loop {
        let mut fds = [nix::poll::PollFd::new(pidfd, nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::errno("poll(pidfd)", e)),
        }
    }
}

/// Sends `signal` to the process behind `pidfd` (pidfd_send_signal(2)): unlike kill(2) it
/// cannot reach another process that reused the pid.
pub fn pidfd_signal(pidfd: BorrowedFd<'_>, signal: Signal) -> Result<()> {
    // SAFETY: the descriptor is borrowed and open for the call; a null siginfo is allowed.
    let ret = unsafe {
        libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), signal as libc::c_int, std::ptr::null::<libc::siginfo_t>(), 0)
    };
    check(ret, || format!("pidfd_send_signal({signal})")).map(|_| ())
}

/// A pidfd for an existing process (pidfd_open(2)). The caller must still check that `pid` is
/// the process it means (e.g. by its start time, read after this call): a pid alone may have
/// been reused.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = check(ret, || format!("pidfd_open({pid})"))?;
    // SAFETY: on success the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Waits for the process behind `pidfd` to exit and reaps it.
pub fn pidfd_wait(pidfd: BorrowedFd<'_>) -> Result<WaitStatus> {
    loop {
        match waitid(Id::PIDFd(pidfd), WaitPidFlag::WEXITED) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return other.op(|| "waitid(P_PIDFD)".into()),
        }
    }
}

/// The shell convention for a wait status: the exit code, or 128 + the signal number.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => 128,
    }
}

/// Ends the process at once, without running destructors or flushing stdio buffers that a
/// forked child shares (on paper) with its parent: the `_exit(2)` a child of fork must use.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions and never returns.
    unsafe { libc::_exit(code) }
}

/// Sets no_new_privs: execve can no longer grant privileges (setuid/setgid bits and file
/// capabilities are ignored), and it is inherited by every descendant, irrevocably.
pub fn set_no_new_privs() -> Result<()> {
    nix::sys::prctl::set_no_new_privs().op(|| "prctl(PR_SET_NO_NEW_PRIVS)".into())
}

/// Whether no_new_privs is set on the calling thread.
pub fn no_new_privs() -> Result<bool> {
    nix::sys::prctl::get_no_new_privs().op(|| "prctl(PR_GET_NO_NEW_PRIVS)".into())
}

/// Marks the process non-dumpable (prctl PR_SET_DUMPABLE 0): processes of the same uid can
/// no longer ptrace it or open its /proc files without CAP_SYS_PTRACE (ptrace(2),
/// "Ptrace access mode checking").
pub fn set_non_dumpable() -> Result<()> {
    nix::sys::prctl::set_dumpable(false).op(|| "prctl(PR_SET_DUMPABLE, 0)".into())
}

/// The signal this process receives when its parent thread exits (prctl PR_SET_PDEATHSIG).
pub fn set_parent_death_signal(signal: Signal) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(signal).op(|| "prctl(PR_SET_PDEATHSIG)".into())
}

/// Keeps the permitted capabilities across a change from uid 0 to another uid
/// (prctl PR_SET_KEEPCAPS), so that the capability drop that follows can still shape them.
pub fn set_keep_capabilities(keep: bool) -> Result<()> {
    nix::sys::prctl::set_keepcaps(keep).op(|| "prctl(PR_SET_KEEPCAPS)".into())
}

/// Marks every descriptor from `first` up close-on-exec (close_range(2) with
/// CLOSE_RANGE_CLOEXEC), so that no descriptor of the runtime reaches the workload.
/// GHSA-xr7r-f8xq-vfvv (runc, CVE-2024-21626): a leaked descriptor of the host's
/// /sys/fs/cgroup let a container's working directory, and then the container, escape.
pub fn close_range_cloexec(first: u32) -> Result<()> {
    // SAFETY: close_range only changes descriptor flags; no memory is passed.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    check(ret, || format!("close_range({first}, ~0, CLOSE_RANGE_CLOEXEC)")).map(|_| ())
}

/// Makes a [`std::process::Command`] close every descriptor above stdio in its child before
/// execve (close_range(2)): hooks run from init and the monitor, which hold channels, the
/// start gate and whatever palisade's caller passed in (GHSA-xr7r-f8xq-vfvv).
pub fn close_fds_on_spawn(cmd: &mut std::process::Command) {
    // SAFETY: the closure runs in the forked child before execve and makes one raw
    // close_range syscall: async-signal-safe, no allocation, no lock. CLOSE_RANGE_CLOEXEC
    // only sets flags, so std's own pipe (close-on-exec already) still reports a failed
    // execve to the parent.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            let ret = libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            if ret == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sets the process's execution domain (personality(2)), e.g. PER_LINUX32.
pub fn set_personality(persona: u64) -> Result<()> {
    // SAFETY: personality takes one integer and changes only this process's persona.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    check(ret as libc::c_long, || format!("personality({persona:#x})")).map(|_| ())
}

/// Starts a new session with the caller as leader and no controlling terminal.
pub fn new_session() -> Result<()> {
    nix::unistd::setsid().map(|_| ()).op(|| "setsid".into())
}

/// Duplicates `fd` onto descriptor `target` (dup2), for wiring stdio.
pub fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> Result<()> {
    if fd.as_raw_fd() == target {
        return Ok(());
    }
    // SAFETY: dup2 on a valid borrowed descriptor; replacing `target` is the intent, and the
    // caller owns the standard descriptors it rewires.
    let ret = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    check(ret as libc::c_long, || format!("dup2({}, {target})", fd.as_raw_fd())).map(|_| ())
}

/// A borrowed standard descriptor (0, 1, 2), which stays open for the life of the process.
pub fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    assert!((0..=2).contains(&fd), "only standard descriptors are borrowed for 'static");
    // SAFETY: descriptors 0–2 are never closed by palisade; a process started without them
    // gets them from the kernel as whatever was inherited, and borrowing is only for calls.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Duplicates a borrowed descriptor into an owned one (close-on-exec).
pub fn dup(fd: impl AsFd) -> Result<OwnedFd> {
    fd.as_fd().try_clone_to_owned().op(|| "dup".into())
}

/// execve(2); returns only on failure.
pub fn execve(path: &std::ffi::CStr, argv: &[std::ffi::CString], envp: &[std::ffi::CString]) -> Error {
    match nix::unistd::execve(path, argv, envp) {
        Err(e) => Error::errno(format!("execve({})", path.to_string_lossy()), e),
        Ok(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 3)), 3);
        assert_eq!(exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)), 137);
        assert_eq!(exit_code(WaitStatus::Signaled(pid, Signal::SIGSYS, true)), 159);
    }
}
