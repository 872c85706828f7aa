//! An OCI config's `linux.devices`: nodes created in the container with the type, number,
//! owner and mode asked.
//!
//! The container's /dev (and every other mount the workload can write) is nodev, so a node
//! made there directly would not open. Each character or block node is made instead on a
//! small tmpfs without nodev, mounted in init's mount namespace outside the new root, and
//! bound onto its destination; the tmpfs is detached at once, so nothing but those binds
//! ever reaches it (and nothing of it survives pivot_root). A user namespace may not
//! mknod: there the host's node is bound instead, when it is exactly the one asked for.
//! Fifos need no device access and are made in place.

use super::bundle::DeviceNode;
use crate::sys::mount::{self as m, Create, Flags, Node};
use crate::sys::{self};
use nix::sys::stat::SFlag;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// runc's default mode for a device node.
const DEFAULT_MODE: u32 = 0o666;

/// Where the staging tmpfs goes, in init's mount namespace only (private since rootfs.rs
/// step 1); it covers /tmp there for a moment and is detached before the next mount.
const STAGING: &str = "/tmp";

fn error(d: &DeviceNode, message: impl Into<String>) -> sys::Error {
    sys::Error::new(format!("linux.devices {}", d.path.display()), std::io::Error::other(message.into()))
}

fn kind(d: &DeviceNode) -> Option<SFlag> {
    match d.kind {
        'c' | 'u' => Some(SFlag::S_IFCHR),
        'b' => Some(SFlag::S_IFBLK),
        'p' => Some(SFlag::S_IFIFO),
        _ => None,
    }
}

fn node(d: &DeviceNode) -> Node {
    Node {
        kind: kind(d).unwrap_or(SFlag::S_IFCHR),
        major: d.major,
        minor: d.minor,
        mode: d.mode.unwrap_or(DEFAULT_MODE),
        uid: d.uid.unwrap_or(0),
        gid: d.gid.unwrap_or(0),
    }
}

/// Checks the devices in the parent, before anything starts.
pub fn check(devices: &[DeviceNode]) -> sys::Result<()> {
    for d in devices {
        m::relative_clean(&d.path)?;
        if kind(d).is_none() {
            return Err(error(d, format!("type `{}` is not one of c, u, b or p", d.kind)));
        }
        // Permission bits only: a set-id or sticky bit on a node means nothing but a
        // mistake, and type bits are the `type` field's.
        if let Some(mode) = d.mode.filter(|mode| mode & !0o777 != 0) {
            return Err(error(d, format!("fileMode {mode:#o} has bits beyond the permission bits (0777)")));
        }
    }
    Ok(())
}

/// Creates the devices in the tree at `root` (init, before pivot_root).
pub fn create(root: &OwnedFd, devices: &[DeviceNode]) -> sys::Result<()> {
    let (fifos, nodes): (Vec<&DeviceNode>, Vec<&DeviceNode>) = devices.iter().partition(|d| d.kind == 'p');
    for d in fifos {
        let rel = m::relative_clean(&d.path)?;
        let name = rel.file_name().and_then(|n| n.to_str()).ok_or_else(|| error(d, "the path has no file name"))?;
        let parent = m::open_in_root(root.as_fd(), &Path::new("/").join(rel.parent().unwrap_or(Path::new(""))), Create::Dir)?;
        m::make_node(parent.as_fd(), name, &node(d))?;
    }
    if nodes.is_empty() {
        return Ok(());
    }
    let staging = Path::new(STAGING);
    // No nodev: that is the point. nosuid and noexec: the nodes are all it will hold.
    m::mount(Some("tmpfs"), staging, Some("tmpfs"), Flags::MS_NOSUID | Flags::MS_NOEXEC, Some("mode=700,size=4k"))?;
    let made = bind_nodes(root, staging, &nodes);
    let detached = m::detach(staging);
    made.and(detached)
}

fn bind_nodes(root: &OwnedFd, staging: &Path, nodes: &[&DeviceNode]) -> sys::Result<()> {
    let dir = m::open_dir(staging)?;
    for (i, d) in nodes.iter().enumerate() {
        let name = i.to_string();
        let wanted = node(d);
        // Held until the bind is made.
        let source: OwnedFd = match m::make_node(dir.as_fd(), &name, &wanted) {
            Ok(()) => m::open_nofollow(dir.as_fd(), Path::new(&name))?,
            Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => host_node(d, &wanted)?,
            Err(e) => return Err(e),
        };
        let dest = m::open_in_root(root.as_fd(), &d.path, Create::File)?;
        m::bind(&m::fd_path(source.as_fd()), &m::fd_path(dest.as_fd()), false)?;
    }
    Ok(())
}

/// A user namespace may not mknod (mknod(2) needs CAP_MKNOD in the initial one): the host's
/// node of the same path, when it is the very device asked for. Its owner and mode stay
/// the host's, as with runc.
fn host_node(d: &DeviceNode, wanted: &Node) -> sys::Result<OwnedFd> {
    let host = m::open_path(&d.path).map_err(|e| {
        error(d, format!("cannot mknod {}:{} in a user namespace, and the host has no node to bind there ({e})", d.major, d.minor))
    })?;
    let (kind, major, minor) = m::node_kind(host.as_fd())?;
    if (kind, major, minor) != (wanted.kind, wanted.major, wanted.minor) {
        return Err(error(
            d,
            format!(
                "cannot mknod {}:{} in a user namespace, and the host's {} is another node ({kind:?} {major}:{minor})",
                d.major,
                d.minor,
                d.path.display()
            ),
        ));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(path: &str, kind: char, mode: Option<u32>) -> DeviceNode {
        DeviceNode { path: path.into(), kind, major: 1, minor: 3, mode, uid: None, gid: None }
    }

    #[test]
    fn devices_are_checked_before_anything_starts() {
        assert!(
            check(&[dev("/dev/a", 'c', Some(0o600)), dev("/dev/b", 'u', None), dev("/dev/c", 'b', None), dev("/dev/d", 'p', None)]).is_ok()
        );
        let e = check(&[dev("/dev/a", 'x', None)]).unwrap_err().to_string();
        assert!(e.contains("linux.devices /dev/a") && e.contains("type `x`"), "{e}");
        let e = check(&[dev("/dev/a", 'c', Some(0o4666))]).unwrap_err().to_string();
        assert!(e.contains("beyond the permission bits"), "{e}");
        assert!(check(&[dev("/dev/../etc/a", 'c', None)]).is_err());
    }

    #[test]
    fn defaults_are_runcs() {
        let n = node(&dev("/dev/a", 'u', None));
        assert_eq!((n.kind, n.mode, n.uid, n.gid), (SFlag::S_IFCHR, 0o666, 0, 0));
    }

    #[test]
    fn nodes_get_exactly_the_owner_and_mode_asked() {
        let dir = tempfile::tempdir().unwrap();
        let fd = m::open_dir(dir.path()).unwrap();
        // Our own ids: a fifo and a chown to oneself need no privilege.
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        let fifo = Node { kind: SFlag::S_IFIFO, major: 0, minor: 0, mode: 0o626, uid, gid };
        m::make_node(fd.as_fd(), "f", &fifo).unwrap();
        let meta = std::fs::symlink_metadata(dir.path().join("f")).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        assert!(meta.file_type().is_fifo());
        assert_eq!((meta.mode() & 0o7777, meta.uid(), meta.gid()), (0o626, uid, gid), "exactly the mode asked, whatever the umask");
    }
}
