//! An OCI config's `mounts` list, mounted in config order instead of palisade's own /proc,
//! /sys and /dev (rootfs.rs steps 5–7).
//!
//! The parent parses every entry's options and checks every bind source against the
//! policy's volume rules (volumes.rs) before anything starts; init mounts the entries in
//! order, each destination resolved in the new root (openat2 RESOLVE_IN_ROOT) and mounted
//! onto through its descriptor. Whatever the options say, every mount is `nodev` except
//! devpts (palisade may leave the workload CAP_MKNOD, and where no device cgroup applies a
//! node it makes must stay inert), a bind from the host is also `nosuid`, and sysfs and
//! cgroup are read-only.

use super::bundle::{MountEntry, Propagation};
use super::rootfs;
use super::spec::VolumeSpec;
use super::volumes::{self, Volume, VolumeError};
use crate::policy::model::Volumes;
use crate::sys::mount::{self as m, attr, Create, Flags};
use crate::sys::Op;
use crate::sys::{self};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Why a config's mount list cannot be honoured, found before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("mounts[{index}] ({}): option `{option}` is neither a mount flag nor an option of a {kind} mount; palisade refuses it rather than pass it to the kernel", destination.display())]
    UnknownOption { index: usize, destination: PathBuf, kind: String, option: String },
    #[error("mounts[{index}] ({}): type `{kind}` is not supported: {why}", destination.display())]
    UnsupportedType { index: usize, destination: PathBuf, kind: String, why: String },
    #[error("mounts[{index}] ({}): {message}", destination.display())]
    Invalid { index: usize, destination: PathBuf, message: String },
    #[error("mounts[{index}]: {source}")]
    Bind {
        index: usize,
        #[source]
        source: VolumeError,
    },
}

/// A mount's options, split the way mount(8) splits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// mount(2) flags, later options winning over earlier ones (`ro` then `rw` is `rw`).
    pub flags: Flags,
    /// `bind` (false) or `rbind` (true).
    pub bind: Option<bool>,
    /// `remount` was given.
    pub remount: bool,
    /// Propagation changes in order, each `MS_SHARED`/`MS_SLAVE`/`MS_PRIVATE`/
    /// `MS_UNBINDABLE`, with `MS_REC` for the r-forms.
    pub propagation: Vec<Flags>,
    /// Everything for the filesystem itself (`mode=755`, `newinstance`…).
    pub data: Vec<String>,
}

/// `(option, flag, set)`: `set` false clears the flag (the negative forms). The r-forms of
/// the per-mount flags (`rro`, `rnosuid`…, runc's extension) are the same here: palisade
/// applies a bind's flags to every mount beneath it anyway.
const FLAGS: &[(&str, Flags, bool)] = &[
    ("ro", Flags::MS_RDONLY, true),
    ("rro", Flags::MS_RDONLY, true),
    ("rw", Flags::MS_RDONLY, false),
    ("rrw", Flags::MS_RDONLY, false),
    ("nosuid", Flags::MS_NOSUID, true),
    ("rnosuid", Flags::MS_NOSUID, true),
    ("suid", Flags::MS_NOSUID, false),
    ("rsuid", Flags::MS_NOSUID, false),
    ("nodev", Flags::MS_NODEV, true),
    ("rnodev", Flags::MS_NODEV, true),
    ("dev", Flags::MS_NODEV, false),
    ("rdev", Flags::MS_NODEV, false),
    ("noexec", Flags::MS_NOEXEC, true),
    ("rnoexec", Flags::MS_NOEXEC, true),
    ("exec", Flags::MS_NOEXEC, false),
    ("rexec", Flags::MS_NOEXEC, false),
    ("sync", Flags::MS_SYNCHRONOUS, true),
    ("async", Flags::MS_SYNCHRONOUS, false),
    ("dirsync", Flags::MS_DIRSYNC, true),
    ("mand", Flags::MS_MANDLOCK, true),
    ("nomand", Flags::MS_MANDLOCK, false),
    ("noatime", Flags::MS_NOATIME, true),
    ("rnoatime", Flags::MS_NOATIME, true),
    ("atime", Flags::MS_NOATIME, false),
    ("ratime", Flags::MS_NOATIME, false),
    ("nodiratime", Flags::MS_NODIRATIME, true),
    ("rnodiratime", Flags::MS_NODIRATIME, true),
    ("diratime", Flags::MS_NODIRATIME, false),
    ("rdiratime", Flags::MS_NODIRATIME, false),
    ("relatime", Flags::MS_RELATIME, true),
    ("rrelatime", Flags::MS_RELATIME, true),
    ("norelatime", Flags::MS_RELATIME, false),
    ("rnorelatime", Flags::MS_RELATIME, false),
    ("strictatime", Flags::MS_STRICTATIME, true),
    ("rstrictatime", Flags::MS_STRICTATIME, true),
    ("nostrictatime", Flags::MS_STRICTATIME, false),
    ("rnostrictatime", Flags::MS_STRICTATIME, false),
];

const PROPAGATION: &[(&str, Flags)] = &[
    ("shared", Flags::MS_SHARED),
    ("rshared", Flags::MS_SHARED.union(Flags::MS_REC)),
    ("slave", Flags::MS_SLAVE),
    ("rslave", Flags::MS_SLAVE.union(Flags::MS_REC)),
    ("private", Flags::MS_PRIVATE),
    ("rprivate", Flags::MS_PRIVATE.union(Flags::MS_REC)),
    ("unbindable", Flags::MS_UNBINDABLE),
    ("runbindable", Flags::MS_UNBINDABLE.union(Flags::MS_REC)),
];

/// Options without `=` that are the filesystem's own (tmpfs(5), the kernel's devpts and
/// cgroup-v2 documentation). Any other bare word is refused: passed as data it would fail
/// obscurely, or be a flag palisade does not know it is dropping.
fn bare_data(fs_type: &str) -> &'static [&'static str] {
    match fs_type {
        "tmpfs" => &["inode32", "inode64", "noswap", "quota", "usrquota", "grpquota"],
        "devpts" => &["newinstance"],
        "cgroup" | "cgroup2" => &["nsdelegate", "favordynmods", "memory_localevents", "memory_recursiveprot", "memory_hugetlb_accounting"],
        _ => &[],
    }
}

impl MountOptions {
    /// Parses `options` of a mount of type `fs_type`; the offending option on error.
    pub fn parse(options: &[String], fs_type: &str) -> Result<MountOptions, String> {
        let mut o = MountOptions { flags: Flags::empty(), bind: None, remount: false, propagation: Vec::new(), data: Vec::new() };
        for opt in options {
            if let Some((_, flag, set)) = FLAGS.iter().find(|(name, ..)| name == opt) {
                o.flags.set(*flag, *set);
            } else if let Some((_, flag)) = PROPAGATION.iter().find(|(name, _)| name == opt) {
                o.propagation.push(*flag);
            } else if opt == "bind" || opt == "rbind" {
                o.bind = Some(opt == "rbind");
            } else if opt == "remount" {
                o.remount = true;
            } else if opt.contains('=') || bare_data(fs_type).contains(&opt.as_str()) {
                o.data.push(opt.clone());
            } else {
                return Err(opt.clone());
            }
        }
        Ok(o)
    }

    /// The filesystem data as mount(2) takes it.
    fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }

    /// The per-mount flags as `MOUNT_ATTR_*` (set, clear), for a bind (whose flags a
    /// mount_setattr(2) changes, where mount(2) would need a remount).
    fn attributes(&self) -> (u64, u64) {
        let mut set = 0;
        let mut clear = 0;
        for (flag, bit) in [
            (Flags::MS_RDONLY, attr::RDONLY),
            (Flags::MS_NOSUID, attr::NOSUID),
            (Flags::MS_NODEV, attr::NODEV),
            (Flags::MS_NOEXEC, attr::NOEXEC),
            (Flags::MS_NODIRATIME, attr::NODIRATIME),
        ] {
            if self.flags.contains(flag) {
                set |= bit;
            }
        }
        // One access-time mode; noatime wins over strictatime over relatime, as in the kernel.
        let atime = [(Flags::MS_NOATIME, attr::NOATIME), (Flags::MS_STRICTATIME, attr::STRICTATIME), (Flags::MS_RELATIME, attr::RELATIME)]
            .into_iter()
            .find(|(flag, _)| self.flags.contains(*flag));
        if let Some((_, mode)) = atime {
            set |= mode;
            clear |= attr::ATIME_MASK;
        }
        (set, clear)
    }
}

/// A filesystem palisade mounts for a config entry.
#[derive(Debug)]
pub enum Filesystem {
    Proc,
    Sysfs,
    Tmpfs,
    Devpts,
    Mqueue,
    /// `cgroup2`, or `cgroup` on a host with only the unified hierarchy (as runc does).
    Cgroup2,
    /// `cgroup` on a cgroup v1 (or hybrid) host: a tmpfs holding one read-only mount per
    /// v1 hierarchy of the host, each rooted at the container's own cgroup, as runc builds
    /// it: mounted in the container's cgroup namespace when it has one (podman on v1 and
    /// others share the host's), else the container's own group bound from the host.
    CgroupV1 {
        hierarchies: Vec<Hierarchy>,
        own_namespace: bool,
    },
    /// From the host: the source checked by the policy's volume rules and held open.
    Bind {
        volume: Volume,
        recursive: bool,
    },
}

/// A cgroup v1 hierarchy of the host: the directory it is mounted at under /sys/fs/cgroup
/// and the mount options that select it (its controllers, or `none,name=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub name: String,
    pub options: String,
}

/// The host's cgroup v1 hierarchies mounted directly under /sys/fs/cgroup, from mountinfo.
fn v1_hierarchies() -> std::io::Result<Vec<Hierarchy>> {
    Ok(parse_v1_hierarchies(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// The v1 hierarchies of a mountinfo text that are mounted directly under /sys/fs/cgroup.
fn parse_v1_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut found: Vec<Hierarchy> = Vec::new();
    for mount in crate::runtime::mountinfo::parse(mountinfo).filter(|m| m.fs_type == "cgroup") {
        let Some(name) = mount.mount_point.strip_prefix("/sys/fs/cgroup/").filter(|n| !n.contains('/')) else { continue };
        let mut options: Vec<&str> =
            mount.super_option_list().filter(|o| crate::runtime::cgroups::V1_CONTROLLERS.contains(o) || o.starts_with("name=")).collect();
        if options.is_empty() || found.iter().any(|h| h.name == name) {
            continue;
        }
        if options.iter().all(|o| o.starts_with("name=")) {
            options.insert(0, "none");
        }
        found.push(Hierarchy { name: name.to_string(), options: options.join(",") });
    }
    found
}

/// The group /proc/self/cgroup (`ID:CONTROLLERS:PATH` lines) gives for the v1 hierarchy
/// mounted with `options` (its controllers, or `none,name=…`).
fn group_of<'a>(proc_cgroup: &'a str, options: &str) -> Option<&'a str> {
    let mut wanted: Vec<&str> = options.split(',').filter(|o| *o != "none").collect();
    wanted.sort_unstable();
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let mut have: Vec<&str> = controllers.split(',').collect();
        have.sort_unstable();
        (have == wanted).then_some(path)
    })
}

/// One checked entry of the config's `mounts`.
#[derive(Debug)]
pub struct OciMount {
    /// Position in the config's list, for messages.
    pub index: usize,
    pub destination: PathBuf,
    /// The name mountinfo shows (fresh filesystems only).
    pub source: String,
    pub fs: Filesystem,
    pub options: MountOptions,
}

impl OciMount {
    fn is_dev_tmpfs(&self) -> bool {
        matches!(self.fs, Filesystem::Tmpfs) && self.destination == Path::new("/dev")
    }

    fn create(&self) -> Create {
        match &self.fs {
            Filesystem::Bind { volume, .. } if !volume.is_dir => Create::File,
            _ => Create::Dir,
        }
    }

    fn context(&self, e: sys::Error) -> sys::Error {
        sys::Error::new(format!("mounts[{}] {}: {}", self.index, self.destination.display(), e.op), e.source)
    }
}

/// What the mounts are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub policy_name: &'a str,
    /// The policy's rules for bind sources.
    pub volumes: &'a Volumes,
    /// The container has a cgroup namespace of its own.
    pub own_cgroup_namespace: bool,
    /// The container joins a cgroup namespace by path: /proc/self/cgroup then reads
    /// relative to that namespace, not to the host's hierarchies.
    pub joined_cgroup_namespace: bool,
}

/// Checks the config's mounts in the parent, before anything starts: options parsed,
/// types supported, bind sources opened and checked as volumes are.
pub fn prepare(entries: &[MountEntry], cx: Context<'_>) -> Result<Vec<OciMount>, MountError> {
    entries.iter().enumerate().map(|(index, e)| prepare_one(index, e, cx)).collect()
}

fn prepare_one(index: usize, e: &MountEntry, cx: Context<'_>) -> Result<OciMount, MountError> {
    let destination = e.destination.clone();
    let invalid = |message: String| MountError::Invalid { index, destination: destination.clone(), message };
    let unsupported =
        |why: &str| MountError::UnsupportedType { index, destination: destination.clone(), kind: e.kind.clone(), why: why.into() };
    let relative = m::relative_clean(&destination).map_err(|err| invalid(format!("destination: {}", err.source)))?;
    // A mount over the root itself would stack on the new root, and pivot_root would then
    // enter that mount instead of the container's filesystem.
    if relative.as_os_str().is_empty() {
        return Err(invalid("cannot mount over the container's root (root.path is the root)".into()));
    }
    let options = MountOptions::parse(&e.options, &e.kind).map_err(|option| MountError::UnknownOption {
        index,
        destination: destination.clone(),
        kind: e.kind.clone(),
        option,
    })?;
    // A remount changes a mount that is already there, which in a container palisade builds
    // is one palisade made (and hardened): the flags belong on that entry instead.
    if options.remount {
        return Err(invalid("`remount` is not supported: give the flags on the mount itself".into()));
    }
    let fs = if e.is_bind() {
        // sync, dirsync and mand are the filesystem's (superblock) flags: a bind cannot
        // change them, and silently not applying them is not what was asked.
        if let Some(flag) = ["sync", "dirsync", "mand"].into_iter().find(|f| e.options.iter().any(|o| o == f)) {
            return Err(invalid(format!("`{flag}` applies to a filesystem, not to a bind mount of one")));
        }
        // Filesystem data (`mode=755`…) on a bind is ignored by the kernel (MS_BIND reads
        // none) and by runc; runtime-tools' mounts test passes it. It is never used here.
        let spec = VolumeSpec {
            source: PathBuf::from(&e.source),
            destination: destination.clone(),
            read_only: options.flags.contains(Flags::MS_RDONLY),
        };
        if !spec.source.is_absolute() {
            return Err(invalid(format!("bind source `{}` is not an absolute path", e.source)));
        }
        let volume = volumes::open_and_check(&spec, cx.policy_name, cx.volumes).map_err(|source| MountError::Bind { index, source })?;
        Filesystem::Bind { volume, recursive: options.bind == Some(true) }
    } else {
        match e.kind.as_str() {
            "proc" => Filesystem::Proc,
            "sysfs" => Filesystem::Sysfs,
            "tmpfs" => Filesystem::Tmpfs,
            "devpts" => Filesystem::Devpts,
            "mqueue" => Filesystem::Mqueue,
            // Only in a cgroup namespace of its own is the hierarchy's root the container's
            // cgroup; otherwise the mount would show the host's whole tree.
            "cgroup2" if !cx.own_cgroup_namespace => {
                return Err(unsupported("the container has no cgroup namespace of its own, so the mount would show the host's whole hierarchy; add a `cgroup` namespace to linux.namespaces"));
            }
            "cgroup2" => Filesystem::Cgroup2,
            "cgroup" => {
                let unified = m::is_cgroup2(Path::new("/sys/fs/cgroup")).map_err(|err| invalid(err.to_string()))?;
                if unified && !cx.own_cgroup_namespace {
                    return Err(unsupported("the container has no cgroup namespace of its own, so the mount would show the host's whole hierarchy; add a `cgroup` namespace to linux.namespaces"));
                } else if unified {
                    Filesystem::Cgroup2
                } else if cx.joined_cgroup_namespace {
                    return Err(unsupported(
                        "the container joins another cgroup namespace, whose paths palisade cannot map to the host's v1 hierarchies",
                    ));
                } else {
                    let hierarchies = v1_hierarchies().map_err(|err| invalid(format!("reading the host's cgroup hierarchies: {err}")))?;
                    if hierarchies.is_empty() {
                        return Err(unsupported("this host has no cgroup v1 hierarchy mounted to show"));
                    }
                    Filesystem::CgroupV1 { hierarchies, own_namespace: cx.own_cgroup_namespace }
                }
            }
            _ => return Err(unsupported("palisade mounts proc, sysfs, tmpfs, devpts, mqueue, cgroup2 and bind mounts")),
        }
    };
    let source = if e.source.is_empty() { e.kind.clone() } else { e.source.clone() };
    Ok(OciMount { index, destination, source, fs, options })
}

/// The mount flag for `linux.rootfsPropagation`, for the root and every mount beneath it.
pub fn root_propagation(p: Propagation) -> Flags {
    Flags::MS_REC
        | match p {
            Propagation::Shared => Flags::MS_SHARED,
            Propagation::Slave => Flags::MS_SLAVE,
            Propagation::Private => Flags::MS_PRIVATE,
            Propagation::Unbindable => Flags::MS_UNBINDABLE,
        }
}

/// Whether `path` lies strictly below one of `dirs`.
pub fn is_below_any<'a>(path: &Path, dirs: impl IntoIterator<Item = &'a Path>) -> bool {
    dirs.into_iter().any(|d| path != d && path.starts_with(d))
}

/// The destinations to create before the root turns read-only (rootfs.rs step 3): those
/// not below an earlier entry's destination, which are made once that mount is there
/// (/dev/pts in the /dev tmpfs).
pub fn mount_points(mounts: &[OciMount]) -> Vec<(&Path, Create)> {
    mounts
        .iter()
        .enumerate()
        .filter(|(i, mt)| !is_below_any(&mt.destination, mounts[..*i].iter().map(|e| e.destination.as_path())))
        .map(|(_, mt)| (mt.destination.as_path(), mt.create()))
        .collect()
}

/// Reopens every bind's checked source in this mount namespace (volumes.rs), in list order.
pub fn reopen_sources(mounts: &[OciMount]) -> sys::Result<Vec<Option<OwnedFd>>> {
    mounts
        .iter()
        .map(|mt| match &mt.fs {
            Filesystem::Bind { volume, .. } => volume.reopen().map(Some).map_err(|e| mt.context(e)),
            _ => Ok(None),
        })
        .collect()
}

/// Mounts the list in order (init, before pivot_root). A tmpfs at /dev is populated as
/// palisade's own /dev is (rootfs.rs) right after it is mounted, so entries below it
/// (devpts at /dev/pts…) follow in order. Returns whether that happened.
pub fn mount_all(root: &OwnedFd, mounts: &[OciMount], sources: &[Option<OwnedFd>], private_sysfs: bool) -> sys::Result<bool> {
    let mut dev_populated = false;
    for (mt, source) in mounts.iter().zip(sources) {
        mount_one(root, mt, source.as_ref(), private_sysfs).map_err(|e| mt.context(e))?;
        if mt.is_dev_tmpfs() {
            rootfs::populate_dev(root).map_err(|e| mt.context(e))?;
            dev_populated = true;
        }
    }
    Ok(dev_populated)
}

fn mount_one(root: &OwnedFd, mt: &OciMount, source: Option<&OwnedFd>, private_sysfs: bool) -> sys::Result<()> {
    let dest = m::open_in_root(root.as_fd(), &mt.destination, mt.create())?;
    let at = m::fd_path(dest.as_fd());
    let flags = mt.options.flags;
    let data = mt.options.data();
    let fresh = |fs_type: &str, flags: Flags| m::mount(Some(&mt.source), &at, Some(fs_type), flags, data.as_deref());
    match &mt.fs {
        Filesystem::Proc => fresh("proc", flags | Flags::MS_NODEV)?,
        // Read-only whatever the options say: a writable sysfs lets a root workload change
        // kernel settings (uevent_helper, module parameters) that are not namespaced.
        Filesystem::Sysfs if private_sysfs => fresh("sysfs", flags | Flags::MS_NODEV | Flags::MS_RDONLY)?,
        // Without a network namespace of its own the container may not mount sysfs (in a
        // user namespace) and would see the host's interfaces anyway: the host's, read-only.
        Filesystem::Sysfs => {
            m::bind(Path::new("/sys"), &at, true)?;
            let (set, clear) = mt.options.attributes();
            set_attributes(root, mt, set | attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC, clear)?;
        }
        // /dev is populated after it is mounted, so it is mounted writable; rootfs.rs makes
        // it read-only once every node is in (step 14).
        Filesystem::Tmpfs if mt.is_dev_tmpfs() => fresh("tmpfs", (flags - Flags::MS_RDONLY) | Flags::MS_NODEV)?,
        Filesystem::Tmpfs => fresh("tmpfs", flags | Flags::MS_NODEV)?,
        // The one mount without nodev: its nodes are the container's own ptys.
        Filesystem::Devpts => fresh("devpts", flags)?,
        Filesystem::Mqueue => fresh("mqueue", flags | Flags::MS_NODEV)?,
        // Read-only: in the container's cgroup namespace the root is its own cgroup, whose
        // limits the workload must not raise.
        Filesystem::Cgroup2 => fresh("cgroup2", flags | Flags::MS_NODEV | Flags::MS_RDONLY)?,
        Filesystem::CgroupV1 { hierarchies, own_namespace } => {
            let hardened = Flags::MS_NOSUID | Flags::MS_NODEV | Flags::MS_NOEXEC;
            m::mount(Some("tmpfs"), &at, Some("tmpfs"), hardened, Some("mode=755,size=64k"))?;
            let own_groups = if *own_namespace {
                String::new()
            } else {
                std::fs::read_to_string("/proc/self/cgroup").op(|| "read /proc/self/cgroup".into())?
            };
            for h in hierarchies {
                let target = mt.destination.join(&h.name);
                if *own_namespace {
                    let dir = m::open_in_root(root.as_fd(), &target, Create::Dir)?;
                    // Read-only: in the container's cgroup namespace the hierarchy's root is
                    // the container's own group, whose limits the workload must not raise.
                    m::mount(Some("cgroup"), &m::fd_path(dir.as_fd()), Some("cgroup"), hardened | Flags::MS_RDONLY, Some(&h.options))?;
                    continue;
                }
                // Sharing the host's cgroup namespace, init's paths are the host's. Only a
                // group of the container's own is shown (a hierarchy palisade left it at the
                // root of would show every group on the host).
                let Some(group) = group_of(&own_groups, &h.options).filter(|g| *g != "/") else { continue };
                let source = Path::new("/sys/fs/cgroup").join(&h.name).join(group.trim_start_matches('/'));
                let dir = m::open_in_root(root.as_fd(), &target, Create::Dir)?;
                m::bind(&source, &m::fd_path(dir.as_fd()), false)?;
                let bound = m::open_in_root(root.as_fd(), &target, Create::Never)?;
                m::set_attributes(bound.as_fd(), attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC, 0, false)?;
            }
            // No new entries in the tmpfs once the hierarchies are in.
            let mounted = m::open_in_root(root.as_fd(), &mt.destination, Create::Never)?;
            m::set_attributes(mounted.as_fd(), attr::RDONLY, 0, false)?;
        }
        Filesystem::Bind { volume, recursive } => {
            let source = source.expect("every bind has a reopened source");
            m::bind(&m::fd_path(source.as_fd()), &at, *recursive)?;
            // A bind ignores the flags passed with it: they are applied afterwards, on
            // every mount it brought, with the policy's forced options and nosuid and
            // nodev (a host path may hold setuid binaries and device nodes).
            let (set, clear) = mt.options.attributes();
            set_attributes(root, mt, set | volume.attributes.set | attr::NOSUID | attr::NODEV, clear | volume.attributes.clear)?;
        }
    }
    for flag in &mt.options.propagation {
        let mounted = m::open_in_root(root.as_fd(), &mt.destination, Create::Never)?;
        m::set_propagation(&m::fd_path(mounted.as_fd()), *flag)?;
    }
    Ok(())
}

/// Sets attributes on the mount now at the entry's destination and everything beneath it.
fn set_attributes(root: &OwnedFd, mt: &OciMount, set: u64, clear: u64) -> sys::Result<()> {
    let mounted = m::open_in_root(root.as_fd(), &mt.destination, Create::Never)?;
    m::set_attributes(mounted.as_fd(), set, clear, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_propagation_and_data_are_split() {
        let o = MountOptions::parse(&opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]), "tmpfs").unwrap();
        assert_eq!(o.flags, Flags::MS_NOSUID | Flags::MS_STRICTATIME);
        assert_eq!(o.data(), Some("mode=755,size=65536k".into()));
        assert!(o.propagation.is_empty() && o.bind.is_none() && !o.remount);

        let o = MountOptions::parse(&opts(&["rbind", "rprivate", "ro", "shared"]), "bind").unwrap();
        assert_eq!(o.bind, Some(true));
        assert_eq!(o.flags, Flags::MS_RDONLY);
        assert_eq!(o.propagation, vec![Flags::MS_PRIVATE | Flags::MS_REC, Flags::MS_SHARED]);
        assert_eq!(o.data(), None);

        let o = MountOptions::parse(&opts(&["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]), "devpts").unwrap();
        assert_eq!(o.flags, Flags::MS_NOSUID | Flags::MS_NOEXEC);
        assert_eq!(o.data(), Some("newinstance,ptmxmode=0666,mode=0620,gid=5".into()));
    }

    #[test]
    fn later_options_win() {
        let o = MountOptions::parse(&opts(&["ro", "nodev", "rw", "dev", "sync", "async", "mand", "nomand"]), "tmpfs").unwrap();
        assert_eq!(o.flags, Flags::empty());
        let o = MountOptions::parse(&opts(&["rw", "suid", "nosuid", "exec", "noexec", "dirsync"]), "tmpfs").unwrap();
        assert_eq!(o.flags, Flags::MS_NOSUID | Flags::MS_NOEXEC | Flags::MS_DIRSYNC);
    }

    #[test]
    fn unknown_bare_words_are_refused_per_filesystem() {
        assert_eq!(MountOptions::parse(&opts(&["nosuid", "bogus"]), "tmpfs"), Err("bogus".into()));
        // newinstance is devpts's, not tmpfs's.
        assert_eq!(MountOptions::parse(&opts(&["newinstance"]), "tmpfs"), Err("newinstance".into()));
        assert!(MountOptions::parse(&opts(&["nsdelegate"]), "cgroup2").is_ok());
        assert_eq!(MountOptions::parse(&opts(&["idmap"]), "bind"), Err("idmap".into()));
        assert!(MountOptions::parse(&opts(&["remount"]), "tmpfs").unwrap().remount);
    }

    #[test]
    fn bind_flags_become_attributes() {
        let o = MountOptions::parse(&opts(&["rbind", "ro", "nosuid", "noexec", "noatime", "nodiratime"]), "bind").unwrap();
        assert_eq!(o.attributes(), (attr::RDONLY | attr::NOSUID | attr::NOEXEC | attr::NOATIME | attr::NODIRATIME, attr::ATIME_MASK));
        let o = MountOptions::parse(&opts(&["bind", "relatime"]), "none").unwrap();
        assert_eq!(o.attributes(), (attr::RELATIME, attr::ATIME_MASK));
        let o = MountOptions::parse(&opts(&["bind", "rw"]), "none").unwrap();
        assert_eq!(o.attributes(), (0, 0));
    }

    fn entry(dest: &str, kind: &str, source: &str, options: &[&str]) -> MountEntry {
        MountEntry { destination: dest.into(), kind: kind.into(), source: source.into(), options: opts(options) }
    }

    fn check_in(e: MountEntry, own_cgroup_namespace: bool) -> Result<OciMount, MountError> {
        let p = crate::policy::load(&crate::policy::PolicySource::Builtin("docker-default")).unwrap();
        prepare_one(
            3,
            &e,
            Context { policy_name: "docker-default", volumes: &p.volumes, own_cgroup_namespace, joined_cgroup_namespace: false },
        )
    }

    fn check(e: MountEntry) -> Result<OciMount, MountError> {
        check_in(e, true)
    }

    #[test]
    fn entries_are_checked_before_anything_starts() {
        let e = check(entry("/x", "tmpfs", "tmpfs", &["fancy"])).unwrap_err().to_string();
        assert!(e.contains("mounts[3] (/x): option `fancy`"), "{e}");
        let e = check(entry("/x", "ext4", "/dev/sda1", &[])).unwrap_err().to_string();
        assert!(e.contains("type `ext4` is not supported"), "{e}");
        let e = check(entry("/x", "tmpfs", "tmpfs", &["remount"])).unwrap_err().to_string();
        assert!(e.contains("remount"), "{e}");
        let e = check(entry("/", "tmpfs", "tmpfs", &[])).unwrap_err().to_string();
        assert!(e.contains("over the container's root"), "{e}");
        let e = check(entry("x", "tmpfs", "tmpfs", &[])).unwrap_err().to_string();
        assert!(e.contains("must be absolute"), "{e}");
        let e = check(entry("/x", "bind", "relative", &["bind"])).unwrap_err().to_string();
        assert!(e.contains("not an absolute path"), "{e}");
        let e = check(entry("/x", "bind", "/tmp", &["rbind", "sync"])).unwrap_err().to_string();
        assert!(e.contains("`sync` applies to a filesystem"), "{e}");
        let e = check(entry("/x", "none", "/tmp", &["bind", "fancy"])).unwrap_err().to_string();
        assert!(e.contains("option `fancy`"), "{e}");
        // Bind sources go through the policy's volume rules.
        let e = check(entry("/x", "bind", "/etc", &["rbind"])).unwrap_err().to_string();
        assert!(e.contains("mounts[3]: ") && e.contains("refused by policy `docker-default`"), "{e}");
        // An empty source is shown as the type.
        assert_eq!(check(entry("/dev/mqueue", "mqueue", "", &[])).unwrap().source, "mqueue");
        let dir = tempfile::tempdir().unwrap();
        let b = check(entry("/data", "bind", dir.path().to_str().unwrap(), &["bind", "ro"])).unwrap();
        assert!(
            matches!(b.fs, Filesystem::Bind { recursive: false, ref volume } if volume.is_dir && volume.attributes.set & attr::RDONLY != 0)
        );
    }

    #[test]
    fn a_hierarchys_group_is_found_by_its_controllers() {
        let text = "9:name=systemd:/\n4:memory:/default/c1\n2:cpu,cpuacct:/default/c1\n0::/\n";
        assert_eq!(group_of(text, "memory"), Some("/default/c1"));
        assert_eq!(group_of(text, "cpuacct,cpu"), Some("/default/c1"));
        assert_eq!(group_of(text, "none,name=systemd"), Some("/"));
        assert_eq!(group_of(text, "pids"), None);
    }

    #[test]
    fn v1_hierarchies_come_from_mountinfo() {
        let text = "30 23 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
35 23 0:29 /x /srv/elsewhere rw - cgroup cgroup rw,memory
";
        let h = parse_v1_hierarchies(text);
        let pairs: Vec<(&str, &str)> = h.iter().map(|h| (h.name.as_str(), h.options.as_str())).collect();
        assert_eq!(pairs, [("systemd", "none,name=systemd"), ("cpu,cpuacct", "cpu,cpuacct"), ("memory", "memory")]);
    }

    #[test]
    fn cgroup_follows_the_host_hierarchy() {
        let unified = m::is_cgroup2(Path::new("/sys/fs/cgroup")).unwrap();
        match check(entry("/sys/fs/cgroup", "cgroup", "cgroup", &["ro", "nosuid"])) {
            Ok(mt) if unified => assert!(matches!(mt.fs, Filesystem::Cgroup2)),
            Ok(mt) => assert!(matches!(&mt.fs, Filesystem::CgroupV1 { hierarchies, .. } if !hierarchies.is_empty())),
            Err(e) => panic!("{e}"),
        }
        let e = check_in(entry("/sys/fs/cgroup", "cgroup2", "cgroup", &["ro"]), false).unwrap_err().to_string();
        assert!(e.contains("no cgroup namespace of its own"), "{e}");
    }

    #[test]
    fn nested_destinations_are_made_after_their_parent_mount() {
        let list: Vec<OciMount> =
            [("/proc", "proc"), ("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"), ("/devices", "tmpfs")]
                .iter()
                .map(|(d, k)| check(entry(d, k, k, &[])).unwrap())
                .collect();
        let points: Vec<&Path> = mount_points(&list).into_iter().map(|(p, _)| p).collect();
        assert_eq!(points, [Path::new("/proc"), Path::new("/dev"), Path::new("/devices")]);
    }

    #[test]
    fn root_propagation_is_recursive() {
        assert_eq!(root_propagation(Propagation::Unbindable), Flags::MS_UNBINDABLE | Flags::MS_REC);
        assert_eq!(root_propagation(Propagation::Shared), Flags::MS_SHARED | Flags::MS_REC);
    }
}
