//! A container run from an image: its directory `<root>/containers/<id>/` and the overlayfs
//! root the runtime mounts (src/runtime/overlay.rs) from the image's shared read-only layers
//! (lower dirs, highest first) and an upper/work pair in that directory, plus the image
//! config's defaults.
//!
//! While the run lasts, `<id>/image` names the image (the hook `rmi` checks) and `<id>/lock`
//! is held; the directory is removed after the run, and `system check` removes one whose
//! lock is free (its `palisade run` was killed). A run given `--name NAME` keeps it instead
//! (`<id>/name` holds NAME, `<id>/upper` the changes, for `palisade commit`); `rmi` still
//! sees its `image` file.

use super::digest::Digest;
use super::manifest::{ContainerConfig, ImageConfig};
use super::store::{remove_any, Store};
use super::ImageError;
use crate::runtime::spec::{OverlaySpec, UpperSpec};
use nix::fcntl::{Flock, FlockArg, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// A prepared container; its directory is removed on drop.
pub struct ImageRoot {
    pub id: String,
    pub dir: PathBuf,
    pub manifest: Digest,
    pub config: ContainerConfig,
    /// Unpacked layer directories, lowest first.
    pub layers: Vec<PathBuf>,
    /// Kept after the run (`--name`): not removed on drop.
    pub keep: bool,
    _lock: Flock<std::fs::File>,
}

/// Creates the container directory for a run of the image `name`; with `keep`, the
/// container is kept after the run under that name.
pub fn prepare(store: &Store, name: &str, keep: Option<&str>) -> Result<ImageRoot, ImageError> {
    let meta = store.load_meta()?;
    let record = meta.resolve(name).ok_or_else(|| ImageError::NotFound(format!("{name} (pull it first)")))?.clone();
    let config = ImageConfig::parse(&store.read_blob(&record.config)?, record.layers.len())
        .map_err(|why| ImageError::NotAnImage { reference: name.to_string(), why })?;
    for l in &record.layers {
        if !store.has_layer(&l.diff_id) {
            return Err(ImageError::NotAnImage {
                reference: name.to_string(),
                why: format!("layer {} is missing from the store (run `palisade system check` and pull again)", l.diff_id),
            });
        }
    }
    // The metadata lock serializes container creation, so two runs cannot take one name.
    let _meta = store.lock_meta()?;
    if let Some(wanted) = keep {
        if !valid_name(wanted) {
            return Err(ImageError::Container {
                container: wanted.to_string(),
                why: "a name is 1-64 of [A-Za-z0-9_.-], not starting with `.` or `-`".into(),
            });
        }
        if find(store, wanted).is_ok() {
            return Err(ImageError::Container { container: wanted.to_string(), why: "the name is already in use".into() });
        }
    }
    let id = crate::runtime::new_id();
    let dir = store.root().join("containers").join(&id);
    std::fs::create_dir_all(&dir).map_err(ImageError::io("create", &dir))?;
    let lock_path = dir.join("lock");
    let lock_file = std::fs::File::create(&lock_path).map_err(ImageError::io("create", &lock_path))?;
    let lock = Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, e)| ImageError::Io {
        op: "flock",
        path: lock_path.display().to_string(),
        source: e.into(),
    })?;
    std::fs::write(dir.join("image"), record.manifest.to_string()).map_err(ImageError::io("write", &dir.join("image")))?;
    if let Some(wanted) = keep {
        std::fs::write(dir.join("name"), wanted).map_err(ImageError::io("write", &dir.join("name")))?;
    }
    let layers = record.layers.iter().map(|l| store.layer_path(&l.diff_id)).collect();
    Ok(ImageRoot {
        id,
        dir,
        manifest: record.manifest.clone(),
        config: config.config.clone().unwrap_or_default(),
        layers,
        keep: keep.is_some(),
        _lock: lock,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// A kept container's directory, by id, unique id prefix or name.
pub fn find(store: &Store, container: &str) -> Result<PathBuf, ImageError> {
    let not_found = || ImageError::Container {
        container: container.to_string(),
        why: "no such kept container (run the image with `--name NAME` to keep one)".into(),
    };
    let Ok(entries) = std::fs::read_dir(store.root().join("containers")) else { return Err(not_found()) };
    let mut hits = Vec::new();
    for e in entries.flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        let Ok(name) = std::fs::read_to_string(e.path().join("name")) else { continue };
        if name == container || id == container {
            return Ok(e.path());
        }
        if id.starts_with(container) {
            hits.push(e.path());
        }
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(not_found()),
        _ => Err(ImageError::Container { container: container.to_string(), why: "the id prefix is ambiguous".into() }),
    }
}

impl ImageRoot {
    /// The runtime's overlay root: the layers (highest first) under an upper dir of this
    /// container's, removed after the run.
    pub fn overlay(&self) -> OverlaySpec {
        OverlaySpec { lower: self.layers.iter().rev().cloned().collect(), upper: UpperSpec::Dir { dir: self.dir.clone(), keep: self.keep } }
    }

    /// A file as the merged root would show it: from the highest layer that has it (a
    /// whiteout hides it), each read without leaving its layer.
    pub fn read_file(&self, path: &str) -> Option<String> {
        for layer in self.layers.iter().rev() {
            if let Ok(m) = std::fs::symlink_metadata(layer.join(path)) {
                if m.file_type().is_char_device() {
                    return None; // an overlayfs whiteout
                }
            }
            if let Some(s) = read_in_root(layer, path) {
                return Some(s);
            }
        }
        None
    }
}

impl Drop for ImageRoot {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // Best effort: `system check` removes a directory left behind.
        let _ = remove_any(&self.dir);
    }
}

/// Removes a kept container (by name, id or unique id prefix); refuses a running one.
/// Returns its id.
pub fn remove(store: &Store, container: &str) -> Result<String, ImageError> {
    let dir = find(store, container)?;
    let lock_path = dir.join("lock");
    let file = std::fs::File::open(&lock_path).map_err(ImageError::io("open", &lock_path))?;
    let _held = Flock::lock(file, FlockArg::LockExclusiveNonblock)
        .map_err(|_| ImageError::Container { container: container.to_string(), why: "is running; remove it after the run ends".into() })?;
    remove_any(&dir)?;
    Ok(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
}

/// Removes container directories whose run is gone (lock free) and that were not kept
/// (`--name`); returns their ids.
pub fn remove_stale(store: &Store) -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(store.root().join("containers")) else { return removed };
    for e in entries.flatten() {
        let (dir, lock) = (e.path(), e.path().join("lock"));
        if dir.join("name").exists() {
            continue;
        }
        let Ok(file) = std::fs::File::open(&lock) else { continue };
        if let Ok(held) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            if remove_any(&dir).is_ok() {
                removed.push(e.file_name().to_string_lossy().into_owned());
            }
            drop(held);
        }
    }
    removed
}

/// Reads a file of the container's root without leaving it: every symlink (absolute ones
/// included) resolves inside `root` (openat2 RESOLVE_IN_ROOT), so an image's
/// `/etc/passwd -> /host/file` cannot make palisade read a host file.
pub fn read_in_root(root: &Path, path: &str) -> Option<String> {
    let dir = nix::fcntl::open(root, OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let how =
        OpenHow::new().flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC).resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = nix::fcntl::openat2(&dir, path.trim_start_matches('/'), how).ok()?;
    let mut s = String::new();
    std::fs::File::from(fd).take(1 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

/// Resolves an image's `User` (`name`, `uid`, `name:group`, `uid:gid`) against the image's
/// /etc/passwd and /etc/group (read by `read`).
pub fn resolve_user(read: impl Fn(&str) -> Option<String>, user: &str) -> Result<(u32, Option<u32>), String> {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let lookup = |file: &str, name: &str| -> Option<(u32, Option<u32>)> {
        read(file)?.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] == name).then(|| (f[2].parse().ok(), f[3].parse().ok())).and_then(|(a, b)| Some((a?, b)))
        })
    };
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (n, None),
        Err(_) => lookup("etc/passwd", u).ok_or_else(|| format!("image user `{u}` is not in the image's /etc/passwd"))?,
    };
    let gid = match g {
        Some(g) => Some(match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                lookup("etc/group", g).map(|(gid, _)| gid).ok_or_else(|| format!("image group `{g}` is not in the image's /etc/group"))?
            }
        }),
        None => primary,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    #[test]
    fn resolves_users_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n").unwrap();
        std::fs::write(dir.path().join("etc/group"), "staff:x:50:\n").unwrap();
        let read = |f: &str| super::read_in_root(dir.path(), f);
        assert_eq!(super::resolve_user(read, "app").unwrap(), (1000, Some(1001)));
        assert_eq!(super::resolve_user(read, "app:staff").unwrap(), (1000, Some(50)));
        assert_eq!(super::resolve_user(read, "7:8").unwrap(), (7, Some(8)));
        assert!(super::resolve_user(read, "ghost").is_err());
        // An absolute symlink resolves inside the root, not on the host.
        std::fs::remove_file(dir.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("/../../../../etc/passwd", dir.path().join("etc/passwd")).unwrap();
        assert!(super::resolve_user(read, "root").is_err(), "the host's /etc/passwd was read");
    }
}
