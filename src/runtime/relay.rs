//! The parent's side of a running container: signals it receives go to init (which passes
//! them to the workload), the pty is copied to and from the user's terminal, and the exit
//! status is collected through the pidfd.

use super::{AtLayer, Layer, RunError};
use crate::sys::{self, process::stdio};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Supervises init until it exits; returns the exit code for `palisade run`. Without `reap`
/// (a detached init, which is not our child) its parent collects the status, and 0 is
/// returned.
pub fn supervise(init: BorrowedFd<'_>, sigfd: &SignalFd, master: Option<OwnedFd>, reap: bool) -> Result<i32, RunError> {
    let stdin = stdio(0);
    let stdout = stdio(1);
    // With a pty, the user's terminal goes raw so keys (ctrl-c included) reach the workload's
    // terminal, which interprets them.
    let _raw = match &master {
        Some(_) if sys::tty::is_terminal(stdin) => Some(sys::tty::RawMode::enter(stdin).at(Layer::Terminal)?),
        _ => None,
    };
    if let Some(m) = &master {
        copy_window_size(m.as_fd());
    }
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut fds = vec![PollFd::new(sigfd.as_fd(), PollFlags::POLLIN), PollFd::new(init, PollFlags::POLLIN)];
        if let (Some(m), true) = (&master, master_open) {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        let stdin_slot = fds.len();
        if stdin_open {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(sys::Error::errno("poll", e)).at(Layer::Init),
        }
        let ready = |i: usize| fds.get(i).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
        let (sig_ready, init_ready, master_ready, stdin_ready) =
            (ready(0), ready(1), master_open && ready(2), stdin_open && ready(stdin_slot));
        drop(fds);
        if sig_ready {
            while let Ok(Some(info)) = sigfd.read_signal() {
                let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else { continue };
                match (&master, signal) {
                    // The kernel signals the pty's foreground group when its size changes.
                    (Some(m), Signal::SIGWINCH) => copy_window_size(m.as_fd()),
                    _ => match sys::process::pidfd_signal(init, signal) {
                        Ok(()) => {}
                        // Init already exited: its status is about to be collected.
                        Err(e) if e.raw_os_error() == Some(nix::libc::ESRCH) => {}
                        Err(e) => eprintln!("palisade: forwarding {signal}: {e}"),
                    },
                }
            }
        }
        if master_ready {
            let m = master.as_ref().expect("polled");
            master_open = copy(m.as_fd(), stdout, &mut buf);
        }
        if stdin_ready {
            let m = master.as_ref().expect("stdin is polled only with a pty");
            stdin_open = copy(stdin, m.as_fd(), &mut buf);
        }
        if init_ready {
            break;
        }
    }
    // Everything in the namespace is gone with init, so the pty's remaining output ends in EIO.
    if let (Some(m), true) = (&master, master_open) {
        while copy(m.as_fd(), stdout, &mut buf) {}
    }
    if !reap {
        return Ok(0);
    }
    let status = sys::process::pidfd_wait(init).at(Layer::Init)?;
    Ok(sys::process::exit_code(status))
}

/// Copies one read's worth from `from` to `to`; false at end-of-file or error (EIO from a
/// pty master whose slave side is closed).
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    let n = match nix::unistd::read(from, buf) {
        Ok(0) | Err(_) => return false,
        Ok(n) => n,
    };
    let mut done = 0;
    while done < n {
        match nix::unistd::write(to, &buf[done..n]) {
            Ok(w) => done += w,
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

fn copy_window_size(master: BorrowedFd<'_>) {
    let size = sys::tty::window_size(stdio(0)).or_else(|| sys::tty::window_size(stdio(1)));
    if let Some(ws) = size {
        if let Err(e) = sys::tty::set_window_size(master, &ws) {
            eprintln!("palisade: {e}");
        }
    }
}
