//! Signal dispositions and masks around fork and exec.

use super::{Op, Result};
use nix::sys::signal::{sigaction, sigprocmask, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

extern "C" fn ignore_signal(_: nix::libc::c_int) {}

/// Installs a handler that does nothing for each signal. A pid namespace's init drops every
/// signal whose disposition is SIG_DFL, even blocked ones (kernel/signal.c `sig_task_ignored`,
/// SIGNAL_UNKILLABLE); with a handler installed and the signal blocked, it stays pending and
/// can be read from a signalfd.
pub fn install_noop_handlers(signals: &SigSet) -> Result<()> {
    let action = SigAction::new(SigHandler::Handler(ignore_signal), SaFlags::SA_RESTART, SigSet::empty());
    for signal in signals.iter() {
        // SAFETY: the handler is async-signal-safe (it does nothing) and the process is
        // single-threaded here.
        unsafe { sigaction(signal, &action) }.op(|| format!("sigaction({signal})"))?;
    }
    Ok(())
}

/// Resets every catchable signal to SIG_DFL. Ignored signals survive execve(2) (the Rust
/// runtime ignores SIGPIPE, for one), and a workload must start with default dispositions.
pub fn reset_dispositions() -> Result<()> {
    let action = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        // SAFETY: installing SIG_DFL has no handler code to run and cannot break invariants.
        unsafe { sigaction(signal, &action) }.op(|| format!("sigaction({signal}, SIG_DFL)"))?;
    }
    Ok(())
}

/// Blocks `signals` for the calling thread.
pub fn block(signals: &SigSet) -> Result<()> {
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(signals), None).op(|| "sigprocmask(SIG_BLOCK)".into())
}

/// Clears the calling thread's signal mask (masks are inherited across execve).
pub fn unblock_all() -> Result<()> {
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None).op(|| "sigprocmask(SIG_SETMASK, {})".into())
}

/// A non-blocking, close-on-exec signalfd for `signals` (which the caller has blocked).
pub fn signal_fd(signals: &SigSet) -> Result<SignalFd> {
    SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).op(|| "signalfd".into())
}

/// The signals palisade relays from its own process to the workload.
pub fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGCONT,
        Signal::SIGALRM,
    ] {
        set.add(s);
    }
    set
}
