//! Mounts: mount(2), mount_setattr(2), pivot_root(2), and path resolution that cannot be led
//! out of a root directory by symlinks (openat2 RESOLVE_IN_ROOT) — the destinations come from
//! images and command lines, which are not trusted.

use super::{check, Error, Op, Result};
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::libc;
use nix::mount::{mount as nix_mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

pub use nix::mount::MsFlags as Flags;

/// Attributes for [`set_attributes`] (`MOUNT_ATTR_*` of include/uapi/linux/mount.h).
pub mod attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    /// The access-time mode is a value under this mask, not a set of bits: changing it
    /// clears the mask and sets one of `RELATIME` (0), `NOATIME` or `STRICTATIME`.
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x0;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount(2), with the call spelled out in the error.
pub fn mount(source: Option<&str>, target: &Path, fstype: Option<&str>, flags: MsFlags, data: Option<&str>) -> Result<()> {
    nix_mount(source, target, fstype, flags, data).op(|| {
        format!(
            "mount({}, {}, {}, {:?}{})",
            source.unwrap_or("none"),
            target.display(),
            fstype.unwrap_or("none"),
            flags,
            data.map(|d| format!(", \"{d}\"")).unwrap_or_default()
        )
    })
}

/// Bind-mounts `source` onto `target` (with every submount when `recursive`).
pub fn bind(source: &Path, target: &Path, recursive: bool) -> Result<()> {
    let flags = if recursive { MsFlags::MS_BIND | MsFlags::MS_REC } else { MsFlags::MS_BIND };
    nix_mount(Some(source), target, None::<&str>, flags, None::<&str>)
        .op(|| format!("mount --{}bind {} {}", if recursive { "r" } else { "" }, source.display(), target.display()))
}

/// Makes every mount under `target` private, so nothing mounted in this namespace propagates
/// back to the host's (shared-subtree semantics, Documentation/filesystems/sharedsubtree.rst).
pub fn make_private(target: &Path) -> Result<()> {
    nix_mount(None::<&str>, target, None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .op(|| format!("mount --make-rprivate {}", target.display()))
}

/// Adds (and removes) `MOUNT_ATTR_*` flags on the mount at `fd` and, when `recursive`, on
/// every mount beneath it (mount_setattr(2), Linux 5.12). Unlike a remount it keeps the
/// flags a user namespace may not clear (locked nosuid/nodev) without having to restate them.
pub fn set_attributes(fd: BorrowedFd<'_>, set: u64, clear: u64, recursive: bool) -> Result<()> {
    let mut attr = MountAttr { attr_set: set, attr_clr: clear, propagation: 0, userns_fd: 0 };
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: the empty path is a valid NUL-terminated string, `attr` is a valid mount_attr of
    // the size passed, and the descriptor is borrowed for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(ret, || {
        format!("mount_setattr({}, set={set:#x}, clear={clear:#x}{})", fd_target(fd), if recursive { ", AT_RECURSIVE" } else { "" })
    })
    .map(|_| ())
}

/// Makes the calling process's root the mount at `new_root` and detaches the old root
/// entirely (pivot_root(".", ".") as in runc and the pivot_root(2) man page): no path to the
/// host's filesystem stays reachable, unlike chroot(2).
pub fn pivot_into(new_root: &Path) -> Result<()> {
    nix::unistd::chdir(new_root).op(|| format!("chdir({})", new_root.display()))?;
    nix::unistd::pivot_root(".", ".").op(|| format!("pivot_root({0}, {0})", new_root.display()))?;
    // The old root is now mounted on top of the new one at "."; detach it (lazily: the host's
    // mounts may be busy) so that nothing of it remains in this namespace.
    umount2(".", MntFlags::MNT_DETACH).op(|| "umount2(old root, MNT_DETACH)".into())?;
    nix::unistd::chdir("/").op(|| "chdir(/)".into())
}

/// Changes the propagation type of the mount at `target` (`MS_SHARED`, `MS_SLAVE`,
/// `MS_PRIVATE` or `MS_UNBINDABLE`, with `MS_REC` for it and every mount beneath;
/// Documentation/filesystems/sharedsubtree.rst).
pub fn set_propagation(target: &Path, flags: MsFlags) -> Result<()> {
    nix_mount(None::<&str>, target, None::<&str>, flags, None::<&str>).op(|| format!("mount(none, {}, {flags:?})", target.display()))
}

/// Whether the filesystem at `path` is the unified cgroup hierarchy (cgroup2).
pub fn is_cgroup2(path: &Path) -> Result<bool> {
    let fs = nix::sys::statfs::statfs(path).op(|| format!("statfs({})", path.display()))?;
    Ok(fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The kind of node behind `fd` (`S_IFCHR`, `S_IFDIR`, …) and, for device nodes, its
/// device number as (major, minor).
pub fn node_kind(fd: BorrowedFd<'_>) -> Result<(SFlag, u64, u64)> {
    let st = fstat(fd).op(|| format!("fstat({})", fd_target(fd)))?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    Ok((kind, nix::sys::stat::major(st.st_rdev), nix::sys::stat::minor(st.st_rdev)))
}

/// A node for [`make_node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// `S_IFCHR`, `S_IFBLK` or `S_IFIFO`.
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Makes `node` as `name` in the directory `dir` (mknodat(2)), then gives it exactly its
/// owner and permission bits (chown first: it clears set-id bits; chmod after, so the
/// umask has no say).
pub fn make_node(dir: BorrowedFd<'_>, name: &str, node: &Node) -> Result<()> {
    let Node { kind, major, minor, mode, uid, gid } = *node;
    let what = || format!("{name} in {}", fd_target(dir));
    nix::sys::stat::mknodat(dir, name, kind, Mode::empty(), nix::sys::stat::makedev(major, minor))
        .op(|| format!("mknod({}, {kind:?}, {major}:{minor})", what()))?;
    nix::unistd::fchownat(
        dir,
        name,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .op(|| format!("chown({}, {uid}:{gid})", what()))?;
    // fchmodat cannot refuse to follow a symlink on Linux; the node was just made by
    // mknodat, which never follows one (EEXIST instead).
    nix::sys::stat::fchmodat(dir, name, Mode::from_bits_truncate(mode), nix::sys::stat::FchmodatFlags::FollowSymlink)
        .op(|| format!("chmod({}, {mode:o})", what()))
}

/// Unmounts `target` lazily.
pub fn detach(target: &Path) -> Result<()> {
    umount2(target, MntFlags::MNT_DETACH).op(|| format!("umount2({}, MNT_DETACH)", target.display()))
}

/// `/proc/self/fd/N`: a path that names exactly the object `fd` holds, whatever happens to
/// the path it was opened by. Mounting onto or from it closes the check-then-mount race
/// (runc CVE-2021-30465, GHSA-c3xm-pvg7-gh7r).
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Where the kernel says `fd` points (readlink of its /proc/self/fd entry).
pub fn fd_target(fd: BorrowedFd<'_>) -> String {
    std::fs::read_link(fd_path(fd)).map(|p| p.display().to_string()).unwrap_or_else(|_| format!("fd {}", fd.as_raw_fd()))
}

/// Opens a directory (O_PATH) to serve as a resolution root.
pub fn open_dir(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .op(|| format!("open({}, O_PATH|O_DIRECTORY)", path.display()))
}

/// Opens `path` (absolute, any symlinks in it are the caller's) as an O_PATH descriptor.
pub fn open_path(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).op(|| format!("open({}, O_PATH)", path.display()))
}

/// Whether the object behind `fd` is a directory.
pub fn is_dir(fd: BorrowedFd<'_>) -> Result<bool> {
    let st = fstat(fd).op(|| format!("fstat({})", fd_target(fd)))?;
    Ok(SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// The kind of object [`open_in_root`] creates when the path is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Fail with ENOENT.
    Never,
    /// A directory (and any missing parents).
    Dir,
    /// An empty regular file (and any missing parent directories).
    File,
}

/// Checks that `path` is absolute and has no `..` or `.` components, and returns it relative.
pub fn relative_clean(path: &Path) -> Result<PathBuf> {
    let invalid =
        || Error::new(format!("path {}", path.display()), std::io::Error::other("must be absolute, without `.` or `..` components"));
    if !path.is_absolute() {
        return Err(invalid());
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => out.push(n),
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}

/// Opens `path` inside the tree rooted at `root` as an O_PATH descriptor, resolving every
/// symlink as if `root` were `/` (openat2 RESOLVE_IN_ROOT, no magic links), so that a hostile
/// rootfs cannot point a mount destination at the host. Missing components are created as
/// `create` says, each through the descriptor of its already-resolved parent.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, create: Create) -> Result<OwnedFd> {
    let rel = relative_clean(path)?;
    let how = || {
        OpenHow::new().flags(OFlag::O_PATH | OFlag::O_CLOEXEC).resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
    };
    let target = if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel.clone() };
    match openat2(root, &target, how()) {
        Ok(fd) => return Ok(fd),
        Err(nix::errno::Errno::ENOENT) if create != Create::Never && !rel.as_os_str().is_empty() => {}
        Err(e) => return Err(Error::errno(format!("openat2({}, RESOLVE_IN_ROOT)", path.display()), e)),
    }
    let parent = open_in_root(root, &Path::new("/").join(rel.parent().unwrap_or(Path::new(""))), Create::Dir)?;
    let name = rel.file_name().expect("a clean non-empty path has a last component");
    let made = match create {
        Create::Dir => mkdirat(&parent, name, Mode::from_bits_truncate(0o755)),
        _ => openat(
            &parent,
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop),
    };
    match made {
        // Someone else created it meanwhile: resolve it again below, in root.
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(Error::errno(format!("create {} in {}", path.display(), fd_target(root)), e)),
    }
    openat2(root, &rel, how()).op(|| format!("openat2({}, RESOLVE_IN_ROOT)", path.display()))
}

/// Reopens `resolved` (an absolute path the kernel gave for `held`, e.g. by [`fd_target`]) in
/// the current mount namespace, refusing if it now leads anywhere but the inode `held` is.
/// A descriptor opened in another mount namespace cannot be the source of a bind mount or
/// an overlayfs layer here (both go through clone_private_mount's check_mnt), so init
/// reopens what the parent checked, with no symlink followed on the way.
pub fn reopen_same(held: BorrowedFd<'_>, resolved: &Path) -> Result<OwnedFd> {
    let rel = relative_clean(resolved)?;
    let root = open_dir(Path::new("/"))?;
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let target = if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel };
    let fd = openat2(&root, &target, how).op(|| format!("openat2({}, RESOLVE_NO_SYMLINKS)", resolved.display()))?;
    match (fstat(held), fstat(&fd)) {
        (Ok(a), Ok(b)) if a.st_dev == b.st_dev && a.st_ino == b.st_ino => Ok(fd),
        _ => Err(Error::new(resolved.display().to_string(), std::io::Error::other("changed after it was checked; refusing to mount it"))),
    }
}

/// Opens `name` relative to the directory `dir` for reading, never following a symlink.
pub fn open_nofollow(dir: BorrowedFd<'_>, name: &Path) -> Result<OwnedFd> {
    openat2(
        dir,
        name,
        OpenHow::new().flags(OFlag::O_PATH | OFlag::O_CLOEXEC).resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_BENEATH),
    )
    .op(|| format!("openat2({}, RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH)", name.display()))
}

/// Creates a symlink `link` → `target` in the directory `dir` (existing links are kept).
pub fn symlink_in(dir: BorrowedFd<'_>, target: &str, link: &str) -> Result<()> {
    match nix::unistd::symlinkat(target, dir, link) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(Error::errno(format!("symlink({link} -> {target})"), e)),
    }
}

/// A C string for a path, for the calls that take one directly.
pub fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::new(format!("path {}", path.display()), std::io::Error::other("contains a NUL byte")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_must_be_clean_and_absolute() {
        assert_eq!(relative_clean(Path::new("/a/b")).unwrap(), PathBuf::from("a/b"));
        assert_eq!(relative_clean(Path::new("/")).unwrap(), PathBuf::new());
        assert!(relative_clean(Path::new("a")).is_err());
        assert!(relative_clean(Path::new("/a/../b")).is_err());
    }

    #[test]
    fn open_in_root_keeps_symlinks_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inside")).unwrap();
        // A symlink pointing at the host's / resolves to the tree's own root.
        std::os::unix::fs::symlink("/", dir.path().join("escape")).unwrap();
        let root = open_dir(dir.path()).unwrap();
        let fd = open_in_root(root.as_fd(), Path::new("/escape/inside"), Create::Never).unwrap();
        assert_eq!(fd_target(fd.as_fd()), dir.path().join("inside").display().to_string());
        // Creation goes through the resolved parent, so it lands inside the tree too.
        let fd = open_in_root(root.as_fd(), Path::new("/escape/new/file"), Create::File).unwrap();
        assert!(!is_dir(fd.as_fd()).unwrap());
        assert!(dir.path().join("new/file").is_file());
    }

    use std::os::fd::AsFd;
}
