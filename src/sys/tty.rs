//! Terminals: a pty pair opened in the container's own devpts, the controlling terminal of
//! the workload's session, window sizes, and raw mode for the user's terminal.

use super::{check, Op, Result};
use nix::fcntl::OFlag;
use nix::libc;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Opens a new pty pair through /dev/ptmx of the current mount namespace: (master, slave).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).op(|| "open(/dev/ptmx)".into())?;
    grantpt(&master).op(|| "grantpt".into())?;
    unlockpt(&master).op(|| "unlockpt".into())?;
    let name = ptsname_r(&master).op(|| "ptsname".into())?;
    let slave = nix::fcntl::open(name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .op(|| format!("open({name})"))?;
    Ok((master.into(), slave))
}

/// Makes `tty` the controlling terminal of the caller's session (which it must lead).
pub fn set_controlling_terminal(tty: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal from another session).
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0 as libc::c_int) };
    check(ret as libc::c_long, || "ioctl(TIOCSCTTY)".into()).map(|_| ())
}

/// The window size of a terminal, if it is one.
pub fn window_size(tty: BorrowedFd<'_>) -> Option<libc::winsize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a winsize into the valid `ws`.
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut ws as *mut libc::winsize) };
    (ret == 0).then_some(ws)
}

/// Sets the window size of a terminal (the workload gets SIGWINCH from the kernel).
pub fn set_window_size(tty: BorrowedFd<'_>, ws: &libc::winsize) -> Result<()> {
    // SAFETY: TIOCSWINSZ reads a winsize from the valid `ws`.
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    check(ret as libc::c_long, || "ioctl(TIOCSWINSZ)".into()).map(|_| ())
}

/// Whether `fd` is a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// Puts a terminal in raw mode until the guard is dropped, so keystrokes (ctrl-c included)
/// reach the workload's terminal instead of being interpreted by this one.
pub struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    pub fn enter(fd: BorrowedFd<'a>) -> Result<RawMode<'a>> {
        let saved = tcgetattr(fd).op(|| "tcgetattr".into())?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw).op(|| "tcsetattr(raw)".into())?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // Restoring the user's terminal is best effort by nature: there is nothing to fall
        // back to, and the workload has already ended.
        if let Err(e) = tcsetattr(self.fd, SetArg::TCSANOW, &self.saved) {
            eprintln!("palisade: could not restore the terminal: {e}");
        }
    }
}
