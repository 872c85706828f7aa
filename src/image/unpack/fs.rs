//! Writing a layer's entries below one directory, by descriptor: every name is resolved one
//! component at a time from the layer root's fd with `O_NOFOLLOW | O_DIRECTORY`, so neither a
//! symlink in the tarball nor one created by an earlier entry can redirect a write (the
//! class of CVE-2019-14271, CVE-2018-15664 and Go's archive/tar "tar-slip" bugs). Files are
//! created with `O_EXCL | O_NOFOLLOW` after the old name is removed, so nothing is ever
//! written through an existing link.

use super::path::{display, Components, Refusal};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{self, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{self, Gid, Uid, UnlinkatFlags};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// A failed entry: refused by a rule, or a system call that failed.
#[derive(Debug)]
pub enum Fail {
    Refused(Refusal),
    Io { op: &'static str, source: io::Error },
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Fail {
        Fail::Refused(r)
    }
}

fn sys(op: &'static str) -> impl Fn(Errno) -> Fail {
    move |e| Fail::Io { op, source: e.into() }
}

/// Ownership, permissions and modification time of an entry.
#[derive(Debug, Clone, Copy)]
pub struct Attrs {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
}

impl Attrs {
    fn times(&self) -> (TimeSpec, TimeSpec) {
        let t = TimeSpec::new(self.mtime.min(i64::MAX as u64) as i64, 0);
        (t, t)
    }
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_NOFOLLOW).union(OFlag::O_CLOEXEC);

/// The layer directory being written.
pub struct LayerFs {
    root: OwnedFd,
    /// The directories of the last parent path opened, root first: entries come in tree
    /// order, so the next entry's parent usually shares most of it (one open per new
    /// directory instead of one per component per entry).
    chain: Vec<(OsString, OwnedFd)>,
    /// Change owners (only root can).
    chown: bool,
    /// Directories' final modes and times, applied at the end (creating entries inside a
    /// directory changes its mtime, and a read-only mode would stop a rootless unpack).
    dirs: Vec<(Components, Attrs)>,
    buf: Vec<u8>,
}

impl LayerFs {
    /// Opens the (new, empty) layer directory.
    pub fn open(dir: &Path, chown: bool) -> io::Result<LayerFs> {
        let root = nix::fcntl::open(dir, DIR_FLAGS, Mode::empty())?;
        Ok(LayerFs { root, chain: Vec::new(), chown, dirs: Vec::new(), buf: vec![0; 256 << 10] })
    }

    /// The directory `comps`, opened without following any symlink; missing directories are
    /// created (tarballs may omit parents) when `create`.
    fn dir(&mut self, comps: &[OsString], create: bool) -> Result<BorrowedFd<'_>, Fail> {
        let common = self.chain.iter().zip(comps).take_while(|((have, _), want)| have == *want).count();
        self.chain.truncate(common);
        for (i, c) in comps.iter().enumerate().skip(common) {
            let base = self.chain.last().map_or(self.root.as_fd(), |(_, fd)| fd.as_fd());
            let fd = open_component(base, c, create).map_err(|e| match e {
                Fail::Refused(_) => Fail::Refused(Refusal::ThroughNonDir(display(&comps[..=i]))),
                other => other,
            })?;
            self.chain.push((c.clone(), fd));
        }
        Ok(self.chain.last().map_or(self.root.as_fd(), |(_, fd)| fd.as_fd()))
    }

    /// Makes room for a new entry `name` in `parent`: an existing non-directory is unlinked,
    /// an existing directory kept if the new entry is one too, else removed with its tree.
    /// Returns whether a directory was kept.
    fn make_room(&mut self, parent: &[OsString], name: &OsStr, keep_dir: bool) -> Result<bool, Fail> {
        let fd = self.dir(parent, true)?;
        match stat::fstatat(fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(sys("fstatat")(e)),
            Ok(st) if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR => {
                if keep_dir {
                    return Ok(true);
                }
                remove_tree(fd, name).map_err(sys("remove"))?;
                // The cached descriptors past `parent` may be inside the removed tree.
                self.chain.truncate(parent.len());
                Ok(false)
            }
            Ok(_) => {
                unistd::unlinkat(fd, name, UnlinkatFlags::NoRemoveDir).map_err(sys("unlinkat"))?;
                Ok(false)
            }
        }
    }

    fn owner(&self, attrs: &Attrs) -> (Option<Uid>, Option<Gid>) {
        if self.chown {
            (Some(Uid::from_raw(attrs.uid)), Some(Gid::from_raw(attrs.gid)))
        } else {
            (None, None)
        }
    }

    /// A regular file with `data`; returns the bytes written.
    pub fn file(&mut self, parent: &[OsString], name: &OsStr, attrs: Attrs, data: &mut dyn Read) -> Result<u64, Fail> {
        self.make_room(parent, name, false)?;
        let (uid, gid) = self.owner(&attrs);
        let dir = self.dir(parent, true)?;
        let fd = openat(
            dir,
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(sys("openat"))?;
        let mut file = File::from(fd);
        let mut written = 0u64;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(Fail::Io { op: "read", source }),
            };
            file.write_all(&self.buf[..n]).map_err(|source| Fail::Io { op: "write", source })?;
            written += n as u64;
        }
        // chown before chmod: chown clears set-id bits.
        if uid.is_some() {
            unistd::fchown(&file, uid, gid).map_err(sys("fchown"))?;
        }
        stat::fchmod(&file, Mode::from_bits_truncate(attrs.mode & 0o7777)).map_err(sys("fchmod"))?;
        let (a, m) = attrs.times();
        stat::futimens(&file, &a, &m).map_err(sys("futimens"))?;
        Ok(written)
    }

    /// A directory (kept if it exists); mode and times are applied by [`LayerFs::finish`].
    pub fn dir_entry(&mut self, parent: &[OsString], name: &OsStr, attrs: Attrs) -> Result<(), Fail> {
        let exists = self.make_room(parent, name, true)?;
        let (uid, gid) = self.owner(&attrs);
        let dir = self.dir(parent, true)?;
        if !exists {
            stat::mkdirat(dir, name, Mode::from_bits_truncate(0o700)).map_err(sys("mkdirat"))?;
        }
        if uid.is_some() {
            unistd::fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(sys("fchownat"))?;
        }
        let mut comps = parent.to_vec();
        comps.push(name.to_os_string());
        self.dirs.push((comps, attrs));
        Ok(())
    }

    /// Attributes of the layer root itself (an entry named `./`).
    pub fn root_attrs(&mut self, attrs: Attrs) {
        self.dirs.push((Vec::new(), attrs));
    }

    /// A symbolic link (its target is checked by the caller; it is never followed here).
    pub fn symlink(&mut self, parent: &[OsString], name: &OsStr, target: &OsStr, attrs: Attrs) -> Result<(), Fail> {
        self.make_room(parent, name, false)?;
        let (uid, gid) = self.owner(&attrs);
        let dir = self.dir(parent, true)?;
        unistd::symlinkat(target, dir, name).map_err(sys("symlinkat"))?;
        if uid.is_some() {
            unistd::fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(sys("fchownat"))?;
        }
        let (a, m) = attrs.times();
        stat::utimensat(dir, name, &a, &m, stat::UtimensatFlags::NoFollowSymlink).map_err(sys("utimensat"))
    }

    /// A hard link to `target`, which must be a non-directory already written in this layer
    /// (resolved from the layer root like any entry: it cannot name a host file).
    pub fn hardlink(&mut self, parent: &[OsString], name: &OsStr, target: &[OsString]) -> Result<(), Fail> {
        let Some((tname, tparent)) = target.split_last() else { return Err(Refusal::HardlinkMissing(String::new()).into()) };
        let missing = || Fail::Refused(Refusal::HardlinkMissing(display(target)));
        let tdir = match walk(self.root.as_fd(), tparent, false) {
            Ok(fd) => fd,
            Err(Fail::Io { source, .. }) if source.raw_os_error() == Some(Errno::ENOENT as i32) => return Err(missing()),
            Err(e) => return Err(e),
        };
        match stat::fstatat(&tdir, tname.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFDIR => {}
            _ => return Err(missing()),
        }
        if target.split_last().map(|(n, p)| (n.as_os_str(), p)) == Some((name, parent)) {
            return Ok(()); // a link to itself: nothing to do
        }
        self.make_room(parent, name, false)?;
        let dir = self.dir(parent, true)?;
        // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        unistd::linkat(&tdir, tname.as_os_str(), dir, name, AtFlags::empty()).map_err(sys("linkat"))
    }

    /// A device node or FIFO (the caller has decided devices are allowed).
    pub fn node(&mut self, parent: &[OsString], name: &OsStr, kind: SFlag, dev: u64, attrs: Attrs) -> Result<(), Fail> {
        self.make_room(parent, name, false)?;
        let (uid, gid) = self.owner(&attrs);
        let dir = self.dir(parent, true)?;
        stat::mknodat(dir, name, kind, Mode::from_bits_truncate(attrs.mode & 0o777), dev).map_err(sys("mknodat"))?;
        if uid.is_some() {
            unistd::fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(sys("fchownat"))?;
        }
        Ok(())
    }

    /// `.wh.NAME`: an overlayfs whiteout (a 0/0 character device) in place of NAME.
    pub fn whiteout(&mut self, parent: &[OsString], name: &OsStr) -> Result<(), Fail> {
        self.make_room(parent, name, false)?;
        let dir = self.dir(parent, true)?;
        stat::mknodat(dir, name, SFlag::S_IFCHR, Mode::empty(), stat::makedev(0, 0)).map_err(sys("mknodat (whiteout)"))
    }

    /// `.wh..wh..opq`: marks `dir` opaque for overlayfs (`trusted.overlay.opaque=y`).
    pub fn opaque(&mut self, dir: &[OsString]) -> Result<(), Fail> {
        let fd = self.dir(dir, true)?.try_clone_to_owned().map_err(|source| Fail::Io { op: "dup", source })?;
        use xattr::FileExt;
        File::from(fd)
            .set_xattr("trusted.overlay.opaque", b"y")
            .map_err(|source| Fail::Io { op: "setxattr trusted.overlay.opaque", source })
    }

    /// Sets an extended attribute on an entry just written (a regular file or directory).
    pub fn xattr(&mut self, parent: &[OsString], name: &OsStr, key: &str, value: &[u8]) -> Result<(), Fail> {
        let dir = self.dir(parent, true)?;
        let fd = openat(dir, name, OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK, Mode::empty())
            .map_err(sys("openat"))?;
        use xattr::FileExt;
        File::from(fd).set_xattr(key, value).map_err(|source| Fail::Io { op: "setxattr", source })
    }

    /// Applies the directories' modes and times, deepest first.
    pub fn finish(mut self) -> Result<(), (String, Fail)> {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.0.len()));
        for (comps, attrs) in dirs {
            let apply = |fd: BorrowedFd<'_>| -> Result<(), Fail> {
                stat::fchmod(fd, Mode::from_bits_truncate(attrs.mode & 0o7777)).map_err(sys("fchmod"))?;
                let (a, m) = attrs.times();
                stat::futimens(fd, &a, &m).map_err(sys("futimens"))
            };
            let result = if comps.is_empty() {
                apply(self.root.as_fd())
            } else {
                walk(self.root.as_fd(), &comps, false).and_then(|fd| apply(fd.as_fd()))
            };
            match result {
                Ok(()) => {}
                // Removed or replaced by a later entry: nothing to apply.
                Err(Fail::Io { source, .. }) if source.raw_os_error() == Some(Errno::ENOENT as i32) => {}
                Err(Fail::Refused(Refusal::ThroughNonDir(_))) => {}
                Err(e) => return Err((display(&comps), e)),
            }
        }
        Ok(())
    }
}

/// Opens `comps` below `root`, one component at a time, refusing anything that is not a
/// real directory (a symlink gives ELOOP under O_NOFOLLOW, a file ENOTDIR).
pub(crate) fn walk(root: BorrowedFd<'_>, comps: &[OsString], create: bool) -> Result<OwnedFd, Fail> {
    let mut cur = root.try_clone_to_owned().map_err(|source| Fail::Io { op: "dup", source })?;
    for (i, c) in comps.iter().enumerate() {
        cur = open_component(cur.as_fd(), c, create).map_err(|e| match e {
            Fail::Refused(_) => Fail::Refused(Refusal::ThroughNonDir(display(&comps[..=i]))),
            other => other,
        })?;
    }
    Ok(cur)
}

/// Opens one directory component below `base` (creating it when missing and `create`),
/// refusing anything that is not a real directory: a symlink gives ELOOP under O_NOFOLLOW,
/// a file ENOTDIR. (The refusal's path is filled in by the caller.)
fn open_component(base: BorrowedFd<'_>, c: &OsString, create: bool) -> Result<OwnedFd, Fail> {
    let refused = || Fail::Refused(Refusal::ThroughNonDir(String::new()));
    match openat(base, c.as_os_str(), DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::ENOENT) if create => {
            match stat::mkdirat(base, c.as_os_str(), Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(sys("mkdirat")(e)),
            }
            openat(base, c.as_os_str(), DIR_FLAGS, Mode::empty()).map_err(|e| match e {
                Errno::ELOOP | Errno::ENOTDIR => refused(),
                e => sys("openat")(e),
            })
        }
        Err(Errno::ELOOP | Errno::ENOTDIR) => Err(refused()),
        Err(e) => Err(sys("openat")(e)),
    }
}

/// Removes the directory `name` in `parent` and everything below it, by descriptor.
fn remove_tree(parent: BorrowedFd<'_>, name: &OsStr) -> nix::Result<()> {
    let fd = openat(parent, name, DIR_FLAGS, Mode::empty())?;
    let mut listing = nix::dir::Dir::from_fd(fd.try_clone().map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?)?;
    let mut children = Vec::new();
    for entry in listing.iter() {
        let entry = entry?;
        let n = entry.file_name().to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        use std::os::unix::ffi::OsStrExt;
        let child = OsStr::from_bytes(n).to_os_string();
        let is_dir = match entry.file_type() {
            Some(t) => t == nix::dir::Type::Directory,
            None => {
                SFlag::from_bits_truncate(
                    stat::fstatat(&fd, child.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?.st_mode & SFlag::S_IFMT.bits(),
                ) == SFlag::S_IFDIR
            }
        };
        children.push((child, is_dir));
    }
    drop(listing);
    for (child, is_dir) in children {
        if is_dir {
            remove_tree(fd.as_fd(), &child)?;
        } else {
            unistd::unlinkat(&fd, child.as_os_str(), UnlinkatFlags::NoRemoveDir)?;
        }
    }
    unistd::unlinkat(parent, name, UnlinkatFlags::RemoveDir)
}
