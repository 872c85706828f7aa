//! The only module with `unsafe`: thin, typed wrappers over the Linux system calls the runtime
//! needs. Every wrapper names the call (and the path or object) in its error, takes and returns
//! `OwnedFd`/`BorrowedFd`, and every `unsafe` block states its invariant in a `// SAFETY:` line.
//! Nothing here decides policy: the runtime calls these in the order it chooses.

pub mod caps;
pub mod ids;
pub mod landlock;
pub mod mount;
pub mod net;
pub mod ns;
pub mod process;
pub mod ptrace;
pub mod rlimit;
pub mod seccomp;
pub mod signal;
pub mod socket;
pub mod tty;

use std::io;

/// A failed system call: what was attempted (call and object) and the kernel's answer.
#[derive(Debug, thiserror::Error)]
#[error("{op}: {source}")]
pub struct Error {
    /// The call and its object, e.g. `mount(proc, /proc)`.
    pub op: String,
    #[source]
    pub source: io::Error,
}

impl Error {
    pub fn new(op: impl Into<String>, source: io::Error) -> Error {
        Error { op: op.into(), source }
    }

    /// From a nix errno.
    pub fn errno(op: impl Into<String>, errno: nix::errno::Errno) -> Error {
        Error { op: op.into(), source: io::Error::from_raw_os_error(errno as i32) }
    }

    /// The raw errno, when the failure came from the kernel.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attaches the operation's name to a nix result.
pub(crate) trait Op<T> {
    fn op(self, op: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Op<T> for nix::Result<T> {
    fn op(self, op: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::errno(op(), e))
    }
}

impl<T> Op<T> for io::Result<T> {
    fn op(self, op: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::new(op(), e))
    }
}

/// Turns a raw syscall return value into a result (`-1` means errno is set).
fn check(ret: nix::libc::c_long, op: impl FnOnce() -> String) -> Result<nix::libc::c_long> {
    if ret == -1 {
        Err(Error::new(op(), io::Error::last_os_error()))
    } else {
        Ok(ret)
    }
}
