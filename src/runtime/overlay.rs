//! An overlayfs root filesystem: read-only lower directories shared between runs, and a
//! writable upper directory of this run (on a private tmpfs, or in a run directory of the
//! caller's; see [`UpperSpec`] for its layout and lifetime).
//!
//! The parent checks and opens every directory ([`Overlay::prepare`]); init, inside the
//! container's mount namespace and before pivot_root, reopens them there, checks they are
//! still the same inodes, and mounts the overlay from those descriptors' `/proc/self/fd/N`
//! paths ([`mount`]). So the mount never appears on the host, it ends with the container's
//! mount namespace, a path swapped after the check cannot change what is mounted, and the
//! container's /proc/self/mountinfo names no host path.

use super::spec::{OverlaySpec, UpperSpec};
use super::{AtLayer, Layer, RunError};
use crate::sys::{self, mount as m, Op};
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A directory checked by the parent and held open (O_PATH) until the run ends.
#[derive(Debug)]
pub struct Held {
    /// The kernel's path of what was opened (symlinks resolved).
    pub resolved: PathBuf,
    pub fd: OwnedFd,
}

impl Held {
    fn open(role: &'static str, path: &Path) -> Result<Held, RunError> {
        let fd =
            m::open_dir(path).map_err(|e| sys::Error::new(format!("overlay {role} {}", path.display()), e.source)).at(Layer::Rootfs)?;
        let resolved = PathBuf::from(m::fd_target(fd.as_fd()));
        if !resolved.is_absolute() || resolved.to_string_lossy().ends_with(" (deleted)") {
            return Err(sys::Error::new(
                format!("overlay {role} {}", path.display()),
                std::io::Error::other("is not a reachable directory"),
            ))
            .at(Layer::Rootfs);
        }
        // The path the user gave was checked by the spec. The one it resolves to may hold a
        // `:` or `,`: overlayfs is given the descriptor's /proc/self/fd path, never this one.
        Ok(Held { resolved, fd })
    }

    /// The same directory, opened in the current mount namespace.
    fn reopen(&self) -> sys::Result<OwnedFd> {
        m::reopen_same(self.fd.as_fd(), &self.resolved)
    }
}

/// The writable layer, as prepared by the parent.
#[derive(Debug)]
pub enum Upper {
    /// Made by init on the private staging tmpfs.
    Tmpfs,
    Dir(UpperDir),
}

/// `DIR/upper` and `DIR/work` of [`UpperSpec::Dir`], locked for this run, removed (as the
/// spec says) by [`UpperDir::finish`] or, on an early return, on drop.
#[derive(Debug)]
pub struct UpperDir {
    pub dir: PathBuf,
    pub keep: bool,
    upper: Held,
    work: Held,
    /// An exclusive flock on `DIR/upper`: overlayfs only warns when two mounts share an upper
    /// directory (with index=off), and the result is undefined, so two runs never may.
    _lock: Flock<std::fs::File>,
    /// `DIR` was made by this run (and is removed with the upper when it is not kept).
    created_dir: bool,
    finished: bool,
}

/// Everything init needs to mount the overlay.
#[derive(Debug)]
pub struct Overlay {
    /// Top first.
    pub lower: Vec<Held>,
    pub upper: Upper,
    /// The mount options besides the layers (see [`fixed_options`]).
    pub options: String,
    /// For the root of a new upper directory: the top lower's, so that the merged root looks
    /// like the image's (the upper's root is the merged root's inode).
    pub root: RootAttributes,
    pub rootless: bool,
}

/// Permission bits and owner of a layer's root directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootAttributes {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl RootAttributes {
    fn of(layer: &Held) -> Result<RootAttributes, RunError> {
        let st = nix::sys::stat::fstat(&layer.fd).op(|| format!("fstat({})", layer.resolved.display())).at(Layer::Rootfs)?;
        Ok(RootAttributes { mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid })
    }

    /// Gives `dir` these attributes; a rootless run keeps its own ownership (the only id
    /// mapped into its user namespace).
    fn apply(&self, dir: &Path, rootless: bool) -> std::io::Result<()> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(self.mode))?;
        if !rootless {
            std::os::unix::fs::chown(dir, Some(self.uid), Some(self.gid))?;
        }
        Ok(())
    }
}

impl Overlay {
    /// Checks and opens the layers; for an on-disk upper, creates and locks it.
    pub fn prepare(spec: &OverlaySpec, rootless: bool) -> Result<Overlay, RunError> {
        spec.check_syntax()?;
        let lower: Vec<Held> = spec.lower.iter().map(|l| Held::open("lower dir", l)).collect::<Result<_, _>>()?;
        if lower.iter().any(|l| l.resolved == Path::new("/")) {
            return Err(sys::Error::new(
                "overlay lower dir /".to_string(),
                std::io::Error::other("is the host's /; omit --rootfs-overlay to run in the host-root sandbox"),
            ))
            .at(Layer::Rootfs);
        }
        let top = RootAttributes::of(&lower[0])?;
        let upper = match &spec.upper {
            UpperSpec::Tmpfs => Upper::Tmpfs,
            UpperSpec::Dir { dir, keep } => Upper::Dir(UpperDir::create(dir, *keep, top, &lower, rootless)?),
        };
        Ok(Overlay { lower, upper, options: fixed_options(&read_module_defaults(), rootless), root: top, rootless })
    }

    /// Removes what the run should not leave behind; reports the first failure.
    pub fn finish(&mut self) -> Result<(), RunError> {
        match &mut self.upper {
            Upper::Tmpfs => Ok(()),
            Upper::Dir(d) => d.finish(),
        }
    }
}

impl UpperDir {
    fn create(dir: &Path, keep: bool, top: RootAttributes, lower: &[Held], rootless: bool) -> Result<UpperDir, RunError> {
        let io = |what: &str, path: &Path| {
            let op = format!("overlay run directory: {what} {}", path.display());
            move |e: std::io::Error| RunError::Sys { layer: Layer::Rootfs, source: sys::Error::new(op, e) }
        };
        // overlayfs refuses overlapping layers too, but with EBUSY or ELOOP and a line in the
        // kernel log; say which two overlap, before anything is created inside a layer.
        let prospective = resolve_prospective(dir).map_err(io("resolve", dir))?;
        if let Some(l) = lower.iter().find(|l| prospective.starts_with(&l.resolved) || l.resolved.starts_with(&prospective)) {
            let why = format!("overlaps the lower dir {}; the upper and work dirs must be outside every layer", l.resolved.display());
            return Err(io("use", &prospective)(std::io::Error::other(why)));
        }
        let mut undo = Undo(Vec::new());
        let created_dir = match std::fs::DirBuilder::new().mode(0o700).create(&prospective) {
            // Private: the upper holds copies of the image's files, setuid ones included.
            Ok(()) => {
                undo.0.push(prospective.clone());
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io("create", &prospective)(e)),
        };
        // Resolved again now that it exists: what the overlap check saw must be what is used.
        let canonical = std::fs::canonicalize(&prospective).map_err(io("resolve", dir))?;
        if canonical != prospective {
            return Err(io("resolve", dir)(std::io::Error::other(format!(
                "changed while it was being prepared (now {})",
                canonical.display()
            ))));
        }
        let (upper_path, work_path) = (canonical.join("upper"), canonical.join("work"));
        let fresh = match std::fs::DirBuilder::new().mode(0o700).create(&upper_path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && keep => false,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(io("create", &upper_path)(std::io::Error::other(
                    "already exists; a run that does not keep its upper dir starts from an empty one (remove it, or keep the upper)",
                )));
            }
            Err(e) => return Err(io("create", &upper_path)(e)),
        };
        if fresh && !created_dir {
            undo.0.push(upper_path.clone());
        }
        let file =
            nix::fcntl::open(&upper_path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
                .op(|| format!("open({}, O_DIRECTORY|O_NOFOLLOW)", upper_path.display()))
                .at(Layer::Rootfs)?;
        let lock = Flock::lock(std::fs::File::from(file), FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| io("lock", &upper_path)(std::io::Error::other(format!("{e}: another run is using this upper dir"))))?;
        // The locked descriptor is the held one: no second lookup of the path.
        let upper_fd = OwnedFd::from(lock.try_clone().map_err(io("dup", &upper_path))?);
        if fresh {
            top.apply(&upper_path, rootless).map_err(io("set mode and owner of", &upper_path))?;
        }
        // A work dir left by a run that was killed is overlayfs scratch: start afresh (the
        // lock says no run is using it).
        remove_tree(&work_path).map_err(io("remove stale", &work_path))?;
        std::fs::DirBuilder::new().mode(0o700).create(&work_path).map_err(io("create", &work_path))?;
        if !created_dir {
            undo.0.push(work_path.clone());
        }
        let work_fd =
            nix::fcntl::open(&work_path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
                .op(|| format!("open({}, O_PATH|O_DIRECTORY|O_NOFOLLOW)", work_path.display()))
                .at(Layer::Rootfs)?;
        undo.0.clear();
        Ok(UpperDir {
            dir: canonical,
            keep,
            upper: Held { resolved: upper_path, fd: upper_fd },
            work: Held { resolved: work_path, fd: work_fd },
            _lock: lock,
            created_dir,
            finished: false,
        })
    }

    /// The upper directory's path.
    pub fn upper(&self) -> &Path {
        &self.upper.resolved
    }

    /// Removes the work dir, and the upper dir (and the run dir this run made) unless kept.
    pub fn finish(&mut self) -> Result<(), RunError> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        let remove = |path: &Path| {
            remove_tree(path).map_err(|e| RunError::Sys {
                layer: Layer::Rootfs,
                source: sys::Error::new(format!("overlay: remove {}", path.display()), e),
            })
        };
        remove(&self.work.resolved)?;
        if !self.keep {
            remove(&self.upper.resolved)?;
            if self.created_dir {
                std::fs::remove_dir(&self.dir).map_err(|e| RunError::Sys {
                    layer: Layer::Rootfs,
                    source: sys::Error::new(format!("overlay: remove {}", self.dir.display()), e),
                })?;
            }
        }
        Ok(())
    }
}

impl Drop for UpperDir {
    fn drop(&mut self) {
        // Only reached without `finish` on an early return, whose error is the one reported.
        if let Err(e) = self.finish() {
            eprintln!("palisade: cleanup: {e}");
        }
    }
}

/// What the overlay module's parameters turn on by default (they depend on the kernel's
/// build configuration); `None` when unknown (the module is not loaded yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModuleDefaults {
    pub index: Option<bool>,
    pub xino_auto: Option<bool>,
}

/// Reads /sys/module/overlay/parameters/{index,xino_auto}.
pub fn read_module_defaults() -> ModuleDefaults {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/module/overlay/parameters/{name}")).ok().map(|v| v.trim() == "Y");
    ModuleDefaults { index: read("index"), xino_auto: read("xino_auto") }
}

/// The options besides the layers, each for a reason (Documentation/filesystems/overlayfs.rst):
///
/// - `redirect_dir=nofollow`: redirects are neither created nor followed, so no xattr in a
///   layer can send a lookup to another path of another layer; renaming a directory that a
///   lower layer has fails with EXDEV (mv(1) then copies it), and the upper never holds a
///   redirect a reader of it would have to resolve;
/// - `metacopy=off`: a copied-up file always carries its data (the docs warn against
///   metacopy with untrusted layers), so a kept upper dir is a complete diff;
/// - `index=off`, only when the module would turn the index on: it binds an upper dir to the
///   exact lower inodes by file handle (a kept upper could not be mounted over a copy of its
///   layers) and needs layers on filesystems that export file handles;
/// - `xino=off`, only when the module would turn xino on: it rewrites inode numbers with the
///   layer's index in the high bits, which is of no use here and warns when a layer's
///   filesystem uses those bits itself;
/// - `userxattr` for a rootless run: trusted.* xattrs need CAP_SYS_ADMIN in the initial
///   user namespace, so the overlay keeps its metadata in user.overlay.* instead.
pub fn fixed_options(defaults: &ModuleDefaults, rootless: bool) -> String {
    let mut options = vec!["redirect_dir=nofollow", "metacopy=off"];
    if defaults.index != Some(false) {
        options.push("index=off");
    }
    if defaults.xino_auto != Some(false) {
        options.push("xino=off");
    }
    if rootless {
        options.push("userxattr");
    }
    options.join(",")
}

/// The whole `mount -t overlay` data string for layers given as paths (lower top first).
pub fn mount_data(lower: &[PathBuf], upper: &Path, work: &Path, fixed: &str) -> String {
    let lower: Vec<String> = lower.iter().map(|l| l.display().to_string()).collect();
    let mut data = format!("lowerdir={},upperdir={},workdir={}", lower.join(":"), upper.display(), work.display());
    if !fixed.is_empty() {
        data.push(',');
        data.push_str(fixed);
    }
    data
}

/// The layers reopened in init's mount namespace, before anything is mounted over the paths
/// they were found by.
pub struct Reopened {
    lower: Vec<OwnedFd>,
    upper_work: Option<(OwnedFd, OwnedFd)>,
}

/// Reopens every layer in the current (init's) mount namespace.
pub fn reopen(o: &Overlay) -> sys::Result<Reopened> {
    let lower = o.lower.iter().map(Held::reopen).collect::<sys::Result<_>>()?;
    let upper_work = match &o.upper {
        Upper::Tmpfs => None,
        Upper::Dir(d) => Some((d.upper.reopen()?, d.work.reopen()?)),
    };
    Ok(Reopened { lower, upper_work })
}

/// Mounts the overlay on `staging/root` (made here) and returns that path. `staging` is a
/// private tmpfs of init's namespace; a tmpfs upper is made in it.
pub fn mount(o: &Overlay, layers: Reopened, staging: &Path) -> sys::Result<PathBuf> {
    let mkdir = |path: &Path, mode: u32| std::fs::DirBuilder::new().mode(mode).create(path).op(|| format!("mkdir {}", path.display()));
    let (upper, work) = match layers.upper_work {
        Some(pair) => pair,
        None => {
            let (upper, work) = (staging.join("upper"), staging.join("work"));
            mkdir(&upper, 0o700)?;
            mkdir(&work, 0o700)?;
            o.root.apply(&upper, o.rootless).op(|| format!("set mode and owner of {}", upper.display()))?;
            (m::open_dir(&upper)?, m::open_dir(&work)?)
        }
    };
    let root = staging.join("root");
    mkdir(&root, 0o755)?;
    let lower: Vec<PathBuf> = layers.lower.iter().map(|fd| m::fd_path(fd.as_fd())).collect();
    let data = mount_data(&lower, &m::fd_path(upper.as_fd()), &m::fd_path(work.as_fd()), &o.options);
    m::mount(Some("overlay"), &root, Some("overlay"), m::Flags::empty(), Some(&data)).map_err(|e| describe_failure(e, o))?;
    Ok(root)
}

/// overlayfs says why a mount failed only in the kernel log; name the layers at least.
fn describe_failure(e: sys::Error, o: &Overlay) -> sys::Error {
    let lower: Vec<String> = o.lower.iter().map(|l| l.resolved.display().to_string()).collect();
    let upper = match &o.upper {
        Upper::Tmpfs => "a private tmpfs".to_string(),
        Upper::Dir(d) => d.upper.resolved.display().to_string(),
    };
    sys::Error::new(format!("{} (lower dirs {}, upper {upper}; the kernel log says more)", e.op, lower.join(":")), e.source)
}

/// Paths made by a preparation that failed half-way, removed on drop.
struct Undo(Vec<PathBuf>);

impl Drop for Undo {
    fn drop(&mut self) {
        for path in self.0.iter().rev() {
            if let Err(e) = remove_tree(path) {
                eprintln!("palisade: cleanup: remove {}: {e}", path.display());
            }
        }
    }
}

/// Removes a directory tree (a missing one is fine). Directories the tree's owner cannot
/// list are made listable first: overlayfs makes `work/work` mode 000, which only root
/// could remove as it is (a rootless run's tree is the caller's own).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return std::fs::remove_file(path);
    }
    if meta.mode() & 0o700 != 0o700 && meta.uid() == nix::unistd::geteuid().as_raw() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    for entry in std::fs::read_dir(path)? {
        remove_tree(&entry?.path())?;
    }
    std::fs::remove_dir(path)
}

/// The absolute path `dir` has or will have once created: its parent resolved by the kernel
/// (symlinks and all), then its last component, which may not be `.` or `..`.
fn resolve_prospective(dir: &Path) -> std::io::Result<PathBuf> {
    let name = match dir.file_name() {
        Some(name) if !matches!(dir.components().next_back(), Some(std::path::Component::ParentDir | std::path::Component::CurDir)) => name,
        _ => return Err(std::io::Error::other("must end in a directory name")),
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent =
        std::fs::canonicalize(&parent).map_err(|e| std::io::Error::new(e.kind(), format!("its parent {}: {e}", parent.display())))?;
    match std::fs::symlink_metadata(parent.join(name)) {
        // An existing symlink as the last component: follow it, as for the parent.
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(parent.join(name)),
        _ => Ok(parent.join(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_turn_off_only_what_the_module_turns_on() {
        let off = ModuleDefaults { index: Some(false), xino_auto: Some(false) };
        assert_eq!(fixed_options(&off, false), "redirect_dir=nofollow,metacopy=off");
        let on = ModuleDefaults { index: Some(true), xino_auto: Some(true) };
        assert_eq!(fixed_options(&on, false), "redirect_dir=nofollow,metacopy=off,index=off,xino=off");
        // Unknown (module not loaded): say it explicitly.
        assert_eq!(fixed_options(&ModuleDefaults::default(), true), "redirect_dir=nofollow,metacopy=off,index=off,xino=off,userxattr");
    }

    #[test]
    fn mount_data_lists_layers_top_first() {
        let lower = [PathBuf::from("/proc/self/fd/7"), PathBuf::from("/proc/self/fd/6")];
        let data = mount_data(&lower, Path::new("/proc/self/fd/8"), Path::new("/proc/self/fd/9"), "metacopy=off");
        assert_eq!(data, "lowerdir=/proc/self/fd/7:/proc/self/fd/6,upperdir=/proc/self/fd/8,workdir=/proc/self/fd/9,metacopy=off");
    }

    fn lower_in(dir: &Path) -> Held {
        std::fs::create_dir_all(dir.join("lower")).unwrap();
        Held::open("lower dir", &dir.join("lower")).unwrap()
    }

    #[test]
    fn an_upper_that_is_not_kept_is_removed_with_the_work_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = [lower_in(tmp.path())];
        let top = RootAttributes::of(&lower[0]).unwrap();
        std::fs::create_dir(tmp.path().join("runs")).unwrap();
        let run = tmp.path().join("runs/c1");
        let mut d = UpperDir::create(&run, false, top, &lower, false).unwrap();
        assert!(run.join("upper").is_dir() && run.join("work").is_dir());
        assert_eq!(std::fs::metadata(&run).unwrap().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(run.join("upper")).unwrap().mode() & 0o7777, top.mode);
        // One run at a time.
        let busy = UpperDir::create(&run, true, top, &lower, false).unwrap_err().to_string();
        assert!(busy.contains("another run is using this upper dir"), "{busy}");
        d.finish().unwrap();
        assert!(!run.exists(), "the run directory this run made is removed");
        assert!(tmp.path().join("runs").is_dir());
    }

    #[test]
    fn a_kept_upper_survives_and_is_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = [lower_in(tmp.path())];
        let top = RootAttributes::of(&lower[0]).unwrap();
        let run = tmp.path().join("c1");
        let mut d = UpperDir::create(&run, true, top, &lower, false).unwrap();
        std::fs::write(run.join("upper/new"), "x").unwrap();
        std::fs::DirBuilder::new().mode(0o000).create(run.join("work/work")).unwrap();
        drop(d);
        assert!(run.join("upper/new").is_file());
        assert!(!run.join("work").exists());
        // The next kept run continues from it; a run that does not keep refuses it.
        d = UpperDir::create(&run, true, top, &lower, false).unwrap();
        assert_eq!(d.upper(), run.join("upper").canonicalize().unwrap());
        d.finish().unwrap();
        let err = UpperDir::create(&run, false, top, &lower, false).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert!(run.join("upper/new").is_file(), "a refused run removes nothing");
    }

    #[test]
    fn upper_inside_a_layer_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = [lower_in(tmp.path())];
        let top = RootAttributes::of(&lower[0]).unwrap();
        let err = UpperDir::create(&tmp.path().join("lower/run"), true, top, &lower, false).unwrap_err().to_string();
        assert!(err.contains("overlaps the lower dir"), "{err}");
        assert!(!tmp.path().join("lower/run").exists(), "the lower dir was written to");
    }
}
