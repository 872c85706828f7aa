//! Namespaces by file: opening a namespace to join (checking its kind) and setns(2).

use super::{check, Error, Op, Result};
use nix::libc;
use nix::sched::CloneFlags;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// NSFS_MAGIC (include/uapi/linux/magic.h): the filesystem of /proc/PID/ns/* files.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// `NS_GET_NSTYPE` (include/uapi/linux/nsfs.h): `_IO(0xb7, 0x3)`.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Opens the namespace file `path` (`/proc/PID/ns/KIND`, or a bind mount of one) and
/// checks that it is a namespace of the kind `clone_flag` (one `CLONE_NEW*` bit) names, so
/// that a wrong path is refused before anything starts rather than when init joins it.
pub fn open_namespace(path: &Path, clone_flag: u64) -> Result<OwnedFd> {
    let op = || format!("open namespace {}", path.display());
    // O_PATH first: opening a FIFO or a device named by a config would block or act on
    // the device. Only an nsfs file is then opened for real (through /proc/self/fd).
    let pathfd = nix::fcntl::open(path, nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()).op(op)?;
    let fs = nix::sys::statfs::fstatfs(&pathfd).op(op)?;
    if fs.filesystem_type() != nix::sys::statfs::FsType(NSFS_MAGIC as _) {
        return Err(Error::new(op(), std::io::Error::other("is not a namespace file (nsfs)")));
    }
    let fd: OwnedFd = std::fs::File::open(format!("/proc/self/fd/{}", pathfd.as_raw_fd())).op(op)?.into();
    drop(pathfd);
    // SAFETY: NS_GET_NSTYPE takes no argument and returns the type; `fd` is open.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) };
    let kind = check(ret as libc::c_long, || format!("ioctl(NS_GET_NSTYPE) on {} (not a namespace file?)", path.display()))?;
    if kind as u64 != clone_flag {
        return Err(Error::new(
            op(),
            std::io::Error::other(format!("is a namespace of another kind ({kind:#x}, expected {clone_flag:#x})")),
        ));
    }
    Ok(fd)
}

/// Moves the calling thread into the namespace behind `fd` (of the kind `clone_flag`). For a
/// pid namespace this changes only where children are created.
pub fn enter(fd: BorrowedFd<'_>, clone_flag: u64) -> Result<()> {
    nix::sched::setns(fd.as_fd(), CloneFlags::from_bits_truncate(clone_flag as libc::c_int))
        .op(|| format!("setns({}, {clone_flag:#x})", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_files_are_checked_by_kind() {
        let uts = libc::CLONE_NEWUTS as u64;
        assert!(open_namespace(Path::new("/proc/self/ns/uts"), uts).is_ok());
        let err = open_namespace(Path::new("/proc/self/ns/ipc"), uts).unwrap_err();
        assert!(err.to_string().contains("another kind"), "{err}");
        assert!(open_namespace(Path::new("/etc/hostname"), uts).is_err());
    }
}
