//! The container's filesystem view, built by init inside its new mount namespace and ended
//! with pivot_root. Every destination is resolved inside the new root (openat2
//! RESOLVE_IN_ROOT) and mounted onto through its descriptor, so symlinks in a rootfs cannot
//! aim a mount at the host (runc CVE-2021-30465).

use super::bundle::{DeviceNode, Propagation};
use super::devices;
use super::oci_mounts::{self, OciMount};
use super::overlay::{self, Overlay};
use super::volumes::Volume;
use super::{AtLayer, Layer, RunError};
use crate::sys::mount::{self as m, attr, Create, Flags};
use crate::sys::{self};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where the root filesystem comes from.
#[derive(Debug)]
pub enum Root {
    /// The host's `/`, read-only (the host-root sandbox).
    Host,
    /// A directory (absolute, canonical).
    Dir(PathBuf),
    /// An overlayfs of read-only lower dirs and a writable upper dir (src/runtime/overlay.rs).
    Overlay(Overlay),
}

impl Root {
    /// Whether this is the host-root sandbox.
    pub fn is_host(&self) -> bool {
        matches!(self, Root::Host)
    }
}

/// A tmpfs mount: flags and the filesystem's own options (`size=`, `mode=`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    pub path: PathBuf,
    pub flags: Flags,
    pub data: String,
}

impl Tmpfs {
    /// Parses `size=64m,nosuid,nodev,noexec`: mount flags are taken out, the rest is data.
    pub fn parse(path: &str, options: &str) -> Tmpfs {
        let mut flags = Flags::empty();
        let mut data = Vec::new();
        for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match opt {
                "ro" => flags |= Flags::MS_RDONLY,
                "rw" => {}
                "nosuid" => flags |= Flags::MS_NOSUID,
                "nodev" => flags |= Flags::MS_NODEV,
                "noexec" => flags |= Flags::MS_NOEXEC,
                "noatime" => flags |= Flags::MS_NOATIME,
                "nodiratime" => flags |= Flags::MS_NODIRATIME,
                "relatime" => flags |= Flags::MS_RELATIME,
                "strictatime" => flags |= Flags::MS_STRICTATIME,
                other => data.push(other),
            }
        }
        Tmpfs { path: PathBuf::from(path), flags, data: data.join(",") }
    }
}

/// Everything init mounts, computed by the parent.
#[derive(Debug)]
pub struct MountPlan {
    pub root: Root,
    pub read_only_root: bool,
    pub tmpfs: Vec<Tmpfs>,
    pub masked: Vec<PathBuf>,
    pub readonly: Vec<PathBuf>,
    pub volumes: Vec<Volume>,
    /// The container has its own network namespace, so a fresh sysfs can be mounted.
    pub private_sysfs: bool,
    /// Group of new ptys (`tty`, 5) when that gid exists in the container's id space.
    pub devpts_gid: Option<u32>,
    /// An OCI config's mounts (src/runtime/oci_mounts.rs), checked: when `Some`, exactly
    /// these, in order, instead of palisade's /proc, /sys and /dev.
    pub oci_mounts: Option<Vec<OciMount>>,
    /// An OCI config's `linux.devices` (src/runtime/devices.rs), checked.
    pub devices: Vec<DeviceNode>,
    /// An OCI config's `linux.rootfsPropagation`.
    pub rootfs_propagation: Option<Propagation>,
}

impl MountPlan {
    /// After the run (init reaped, so the container's mount namespace and the overlay in it
    /// are gone): removes what the root filesystem should not leave behind.
    pub fn finish(&mut self) -> Result<(), RunError> {
        match &mut self.root {
            Root::Overlay(o) => o.finish(),
            Root::Host | Root::Dir(_) => Ok(()),
        }
    }
}

/// Device nodes bound from the host into the container's /dev: the ones every program may
/// expect, none that reaches hardware.
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Hides the host's /run (sockets of daemons: a read-only mount does not stop connect(2)
/// on a socket file) in the host-root sandbox.
const HOST_HIDDEN: &[&str] = &["/run"];

const NOSUID_NODEV_NOEXEC: Flags = Flags::MS_NOSUID.union(Flags::MS_NODEV).union(Flags::MS_NOEXEC);

/// Builds the filesystem and pivots into it. Steps in order, each with why.
pub fn setup(plan: &MountPlan) -> Result<(), RunError> {
    // 1. Nothing mounted from here on may propagate to the host's namespace (and nothing the
    //    host mounts later may appear in the container).
    m::make_private(Path::new("/")).at(Layer::Rootfs)?;
    // Volume sources are reopened in this namespace now, while the paths they were checked
    // by still lead to them: step 2 covers /tmp with a staging tmpfs.
    let sources: Vec<OwnedFd> = plan.volumes.iter().map(Volume::reopen).collect::<sys::Result<_>>().at(Layer::Volumes)?;
    let oci_sources = plan.oci_mounts.as_deref().map(oci_mounts::reopen_sources).transpose().at(Layer::Volumes)?;

    // 2. The new root must be a mount point of its own for pivot_root. A directory rootfs is
    //    bound onto itself. The host's / is bound (with its submounts) below a private tmpfs
    //    staging directory, in this namespace only, so no directory is created on the host.
    //    An overlay is mounted there too, from its layers reopened in this namespace first
    //    (the staging tmpfs may cover the paths they were found by); a tmpfs upper dir is
    //    made on the staging tmpfs, which is then sized by the container's memory limit
    //    rather than a few pages.
    let new_root = match &plan.root {
        Root::Dir(dir) => {
            m::bind(dir, dir, true).at(Layer::Rootfs)?;
            dir.clone()
        }
        Root::Host => {
            let staging = stage("mode=700,size=16k").at(Layer::Rootfs)?;
            let root = staging.join("root");
            std::fs::create_dir(&root).map_err(|e| sys::Error::new(format!("mkdir {}", root.display()), e)).at(Layer::Rootfs)?;
            m::bind(Path::new("/"), &root, true).at(Layer::Rootfs)?;
            root
        }
        Root::Overlay(o) => {
            let layers = overlay::reopen(o).at(Layer::Rootfs)?;
            let size = if matches!(o.upper, overlay::Upper::Tmpfs) { "" } else { ",size=16k" };
            let staging = stage(&format!("mode=700{size}")).at(Layer::Rootfs)?;
            overlay::mount(o, layers, &staging).at(Layer::Rootfs)?
        }
    };
    let root = m::open_dir(&new_root).at(Layer::Rootfs)?;
    let host = plan.root.is_host();

    // 3. Mount points exist before the root turns read-only; in the host's / none is ever
    //    created (it would write to the host), so they must exist already. A config's
    //    mounts below another of its mounts (/dev/pts) and devices below one of them are
    //    made once that mount is there.
    let create = |kind: Create| if host { Create::Never } else { kind };
    let mut points: Vec<(&Path, Create)> = match &plan.oci_mounts {
        Some(list) => oci_mounts::mount_points(list),
        None => vec![(Path::new("/proc"), Create::Dir), (Path::new("/sys"), Create::Dir), (Path::new("/dev"), Create::Dir)],
    };
    let mounted: Vec<&Path> = points.iter().map(|(p, _)| *p).collect();
    let below_a_mount = |p: &Path| oci_mounts::is_below_any(p, mounted.iter().copied());
    points.extend(plan.devices.iter().filter(|d| d.kind != 'p' && !below_a_mount(&d.path)).map(|d| (d.path.as_path(), Create::File)));
    points.extend(plan.tmpfs.iter().map(|t| (t.path.as_path(), Create::Dir)));
    points.extend(plan.volumes.iter().map(|v| (v.spec.destination.as_path(), if v.is_dir { Create::Dir } else { Create::File })));
    if host {
        points.extend(HOST_HIDDEN.iter().map(|p| (Path::new(*p), Create::Dir)));
    }
    for (path, kind) in &points {
        m::open_in_root(root.as_fd(), path, create(*kind)).map_err(|e| mount_point_error(e, path, host)).at(Layer::Rootfs)?;
    }

    // 4. nodev on every mount of the root tree (mount_setattr AT_RECURSIVE), and read-only
    //    when asked, so no submount of the image (or of the host) stays writable. nodev because
    //    palisade sets no device cgroup: a workload keeping CAP_MKNOD (docker-default does)
    //    could otherwise mknod a node for a host disk and open it, and an image may ship device
    //    nodes. Nodes created there stay inert, as Docker's device cgroup makes them. The
    //    devices a container needs are bind mounts in /dev (step 7), which keep their own flags.
    let root_attributes = if host || plan.read_only_root { attr::RDONLY | attr::NODEV } else { attr::NODEV };
    m::set_attributes(root.as_fd(), root_attributes, 0, true).at(Layer::Rootfs)?;

    // 5–7. /proc, /sys and /dev: an OCI config's list, in its order (oci_mounts.rs), or
    //      palisade's own set. Either way /dev is a tmpfs holding only harmless devices (and
    //      a config's own, step 11), unless a config mounts none there.
    let dev_populated = match (&plan.oci_mounts, &oci_sources) {
        (Some(list), Some(oci_sources)) => oci_mounts::mount_all(&root, list, oci_sources, plan.private_sysfs).at(Layer::Mounts)?,
        _ => {
            own_mounts(&root, plan)?;
            true
        }
    };

    // 8. The host-root sandbox hides the host's daemons' sockets.
    if host {
        for path in HOST_HIDDEN {
            let t = target(&root, path).at(Layer::Mounts)?;
            m::mount(
                Some("tmpfs"),
                &m::fd_path(t.as_fd()),
                Some("tmpfs"),
                NOSUID_NODEV_NOEXEC | Flags::MS_RDONLY,
                Some("mode=755,size=4k"),
            )
            .at(Layer::Mounts)?;
        }
    }

    // 9. The policy's tmpfs mounts (the writable scratch space of a read-only root), always
    //    nodev (see step 4) whatever their options say.
    for t in &plan.tmpfs {
        let dir = target(&root, &t.path).at(Layer::Mounts)?;
        let data = (!t.data.is_empty()).then_some(t.data.as_str());
        m::mount(Some("tmpfs"), &m::fd_path(dir.as_fd()), Some("tmpfs"), t.flags | Flags::MS_NODEV, data).at(Layer::Mounts)?;
    }

    // 10. Volumes, from the checked source inode to the destination resolved in the root,
    //     then the policy's forced options on the whole bound tree.
    for (v, source) in plan.volumes.iter().zip(&sources) {
        let dest = target(&root, &v.spec.destination).at(Layer::Volumes)?;
        m::bind(&m::fd_path(source.as_fd()), &m::fd_path(dest.as_fd()), true).at(Layer::Volumes)?;
        if v.attributes != Default::default() {
            let mounted = target(&root, &v.spec.destination).at(Layer::Volumes)?;
            m::set_attributes(mounted.as_fd(), v.attributes.set, v.attributes.clear, true).at(Layer::Volumes)?;
        }
    }

    // 11. An OCI config's device nodes, each with the type, number, owner and mode asked;
    //     /dev is nodev, so they are made on a staging tmpfs outside the root and bound in
    //     (devices.rs).
    devices::create(&root, &plan.devices).at(Layer::Devices)?;

    // 12. Masked paths: kernel interfaces that leak host data or control the host are
    //     covered: /dev/null over files, an empty read-only tmpfs over directories.
    for path in &plan.masked {
        let Some(t) = existing(&root, path).at(Layer::Mounts)? else { continue };
        if m::is_dir(t.as_fd()).at(Layer::Mounts)? {
            m::mount(
                Some("tmpfs"),
                &m::fd_path(t.as_fd()),
                Some("tmpfs"),
                NOSUID_NODEV_NOEXEC | Flags::MS_RDONLY,
                Some("mode=755,size=4k"),
            )
            .at(Layer::Mounts)?;
        } else {
            m::bind(Path::new("/dev/null"), &m::fd_path(t.as_fd()), false).at(Layer::Mounts)?;
        }
    }

    // 13. Read-only paths: bound onto themselves, then made read-only (with everything below).
    for path in &plan.readonly {
        let Some(t) = existing(&root, path).at(Layer::Mounts)? else { continue };
        m::bind(&m::fd_path(t.as_fd()), &m::fd_path(t.as_fd()), true).at(Layer::Mounts)?;
        let mounted = target(&root, path).at(Layer::Mounts)?;
        m::set_attributes(mounted.as_fd(), attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC, 0, true).at(Layer::Mounts)?;
    }

    // 14. /dev itself read-only now that it is populated: no new nodes, links or files
    //     (devpts, shm and mqueue are separate mounts and stay writable). A config's /dev
    //     that is not palisade's tmpfs is left as the config made it.
    if dev_populated {
        let dev = target(&root, "/dev").at(Layer::Devices)?;
        m::set_attributes(dev.as_fd(), attr::RDONLY, 0, false).at(Layer::Devices)?;
    }

    // 15. Enter the new root and detach the old one entirely.
    drop((root, sources, oci_sources));
    m::pivot_into(&new_root).at(Layer::Rootfs)?;

    // 16. The propagation a config asks for its root, on the new "/" and everything under
    //     it. After pivot_root, which refuses a shared new root (pivot_root(2), EINVAL), and
    //     only in this namespace: the root's mount is private since step 1, so a shared one
    //     starts a peer group of its own and cannot reach the host (runc applies it here too).
    if let Some(p) = plan.rootfs_propagation {
        m::set_propagation(Path::new("/"), oci_mounts::root_propagation(p)).at(Layer::Rootfs)?;
    }
    Ok(())
}

/// palisade's own /proc, /sys and /dev (steps 5–7 of [`setup`]).
fn own_mounts(root: &OwnedFd, plan: &MountPlan) -> Result<(), RunError> {
    // 5. A fresh procfs for the new pid namespace: it shows only the container's processes.
    let proc = target(root, "/proc").at(Layer::Mounts)?;
    m::mount(Some("proc"), &m::fd_path(proc.as_fd()), Some("proc"), NOSUID_NODEV_NOEXEC, None).at(Layer::Mounts)?;

    // 6. sysfs, read-only: fresh when the network namespace is private (sysfs shows the
    //    namespace's interfaces, and a user namespace may mount it only then); otherwise the
    //    host's, bound read-only.
    let sys_dir = target(root, "/sys").at(Layer::Mounts)?;
    if plan.private_sysfs {
        m::mount(Some("sysfs"), &m::fd_path(sys_dir.as_fd()), Some("sysfs"), NOSUID_NODEV_NOEXEC | Flags::MS_RDONLY, None)
            .at(Layer::Mounts)?;
    } else {
        m::bind(Path::new("/sys"), &m::fd_path(sys_dir.as_fd()), true).at(Layer::Mounts)?;
        let sys_mount = target(root, "/sys").at(Layer::Mounts)?;
        m::set_attributes(sys_mount.as_fd(), attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC, 0, true).at(Layer::Mounts)?;
    }

    // 7. /dev: a small tmpfs with only harmless devices (bound from the host: a user
    //    namespace cannot mknod), a private devpts instance (the host's ptys stay invisible),
    //    /dev/shm and the ipc namespace's mqueue.
    setup_dev(root, plan).at(Layer::Devices)?;
    Ok(())
}

/// Mounts a private tmpfs over /tmp of this (new) mount namespace, to hold the new root's
/// mount point: nothing is created on the host, and it ends with the namespace.
fn stage(options: &str) -> sys::Result<PathBuf> {
    let staging = Path::new("/tmp");
    m::mount(Some("tmpfs"), staging, Some("tmpfs"), NOSUID_NODEV_NOEXEC, Some(options))?;
    Ok(staging.to_path_buf())
}

fn setup_dev(root: &OwnedFd, plan: &MountPlan) -> sys::Result<()> {
    let dev = target(root, "/dev")?;
    // nodev: the allowed devices are bind mounts of the host's nodes (their own mounts, not
    // affected); nothing made on this tmpfs itself may act as a device.
    m::mount(
        Some("tmpfs"),
        &m::fd_path(dev.as_fd()),
        Some("tmpfs"),
        NOSUID_NODEV_NOEXEC | Flags::MS_STRICTATIME,
        Some("mode=755,size=64k"),
    )?;
    populate_dev(root)?;
    let pts = m::open_in_root(root.as_fd(), Path::new("/dev/pts"), Create::Dir)?;
    let gid = plan.devpts_gid.map(|g| format!(",gid={g}")).unwrap_or_default();
    m::mount(
        Some("devpts"),
        &m::fd_path(pts.as_fd()),
        Some("devpts"),
        Flags::MS_NOSUID | Flags::MS_NOEXEC,
        Some(&format!("newinstance,ptmxmode=0666,mode=0620{gid}")),
    )?;
    let shm = m::open_in_root(root.as_fd(), Path::new("/dev/shm"), Create::Dir)?;
    m::mount(Some("shm"), &m::fd_path(shm.as_fd()), Some("tmpfs"), NOSUID_NODEV_NOEXEC, Some("mode=1777,size=65536k"))?;
    let mqueue = m::open_in_root(root.as_fd(), Path::new("/dev/mqueue"), Create::Dir)?;
    m::mount(Some("mqueue"), &m::fd_path(mqueue.as_fd()), Some("mqueue"), NOSUID_NODEV_NOEXEC, None)
}

/// Fills the freshly mounted /dev tmpfs of the tree at `root`: the [`DEVICES`], bound from
/// the host's nodes (a user namespace cannot mknod, and binds keep working on a nodev /dev),
/// and the usual symlinks.
pub(super) fn populate_dev(root: &OwnedFd) -> sys::Result<()> {
    for name in DEVICES {
        let node = m::open_in_root(root.as_fd(), &Path::new("/dev").join(name), Create::File)?;
        m::bind(&Path::new("/dev").join(name), &m::fd_path(node.as_fd()), false)?;
    }
    let dev = target(root, "/dev")?;
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        m::symlink_in(dev.as_fd(), to, link)?;
    }
    Ok(())
}

/// Resolves an existing destination in the root.
fn target(root: &OwnedFd, path: impl AsRef<Path>) -> sys::Result<OwnedFd> {
    m::open_in_root(root.as_fd(), path.as_ref(), Create::Never)
}

/// Resolves a destination that may legitimately be absent (masked and read-only paths
/// name kernel files that not every kernel has).
fn existing(root: &OwnedFd, path: &Path) -> sys::Result<Option<OwnedFd>> {
    match target(root, path) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn mount_point_error(e: sys::Error, path: &Path, host: bool) -> sys::Error {
    if host && e.raw_os_error() == Some(nix::libc::ENOENT) {
        sys::Error::new(
            format!("mount point {}", path.display()),
            std::io::Error::other("does not exist in the host's /, and the host-root sandbox never creates directories on the host"),
        )
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_options_split_into_flags_and_data() {
        let t = Tmpfs::parse("/tmp", "size=64m,nosuid,nodev,noexec");
        assert_eq!(t.flags, Flags::MS_NOSUID | Flags::MS_NODEV | Flags::MS_NOEXEC);
        assert_eq!(t.data, "size=64m");
        let t = Tmpfs::parse("/run", "ro,mode=755");
        assert_eq!(t.flags, Flags::MS_RDONLY);
        assert_eq!(t.data, "mode=755");
    }
}
