//! `palisade commit`: a kept container's upper dir (`<root>/containers/<id>/upper`, see
//! src/image/container.rs) becomes a new gzip layer on top of its image's.
//!
//! The upper dir is in overlayfs's format (Documentation/filesystems/overlayfs.rst): a deleted
//! lower file is a 0/0 character device, a directory that replaced a lower one carries
//! `trusted.overlay.opaque=y` (`user.overlay.opaque` under `userxattr`, rootless runs). The
//! layer says the same in the image-spec's format (layer.md, "Whiteouts"): `.wh.NAME` and
//! `.wh..wh..opq`. The walk goes through directory descriptors, every lookup `O_NOFOLLOW`
//! and re-checked with fstat, so a symlink a container planted (or swapped in during the
//! walk) is stored as a symlink and never read through: nothing outside the upper dir enters
//! the layer.
//!
//! The blob then goes where pull puts blobs ([`Store::ingest`], verified), and the image is
//! recorded by [`install`], which unpacks the new layer with the same hostile-input unpacker
//! as a pulled one and checks its diff id.

use super::archive::load::{install, Loaded};
use super::digest::{Digest, HashingWriter};
use super::manifest::{media, Descriptor, History, ImageConfig, Manifest};
use super::store::{remove_any, Store};
use super::{container, unpack, ImageError, Reference};
use nix::fcntl::{openat, AtFlags, Flock, FlockArg, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What `commit` records.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub reference: Option<&'a Reference>,
    pub message: Option<&'a str>,
    pub author: Option<&'a str>,
}

/// Commits the kept container `container` (name, id or unique id prefix) as a new image.
pub fn commit(store: &Store, container: &str, req: &Request<'_>) -> Result<Loaded, ImageError> {
    let dir = container::find(store, container)?;
    let running = |path: &Path| ImageError::Container {
        container: container.to_string(),
        why: format!("is running ({} is locked); commit it after the run ends", path.display()),
    };
    // 1. The run holds `<id>/lock` for its whole duration (and keeps `system check` off the
    //    directory): a commit of a running container would race its writes.
    let lock_path = dir.join("lock");
    let lock_file = File::open(&lock_path).map_err(ImageError::io("open", &lock_path))?;
    let _run_lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|_| running(&lock_path))?;
    // 2. The upper dir, opened without following a symlink, and locked the way the overlay
    //    locks it (src/runtime/overlay.rs): no run may mount it while it is read.
    let upper_path = dir.join("upper");
    let upper = nix::fcntl::open(&upper_path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| ImageError::Io { op: "open", path: upper_path.display().to_string(), source: e.into() })?;
    let upper = Flock::lock(File::from(upper), FlockArg::LockExclusiveNonblock).map_err(|_| running(&upper_path))?;

    let _gc = store.lock_gc_shared()?;
    let image_path = dir.join("image");
    let parent_digest: Digest = std::fs::read_to_string(&image_path)
        .map_err(ImageError::io("read", &image_path))?
        .trim()
        .parse()
        .map_err(|e| ImageError::Container { container: container.to_string(), why: format!("{}: {e}", image_path.display()) })?;
    let parent = store
        .load_meta()?
        .images
        .get(&parent_digest)
        .cloned()
        .ok_or_else(|| ImageError::NotFound(format!("{parent_digest} (the image of container {container})")))?;
    let mut config = ImageConfig::parse(&store.read_blob(&parent.config)?, parent.layers.len())
        .map_err(|why| ImageError::NotAnImage { reference: parent_digest.to_string(), why })?;

    // 3. The layer: written to staging while both digests are computed, then ingested.
    let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = store.staging_path("commit", &id);
    let layer = write_layer(upper.as_fd(), &staging);
    let stored = layer.and_then(|(blob, size, diff_id)| {
        let mut file = File::open(&staging).map_err(ImageError::io("open", &staging))?;
        store.ingest(&mut file, &blob, size, &mut |_| {})?;
        Ok((blob, size, diff_id))
    });
    let _ = remove_any(&staging); // best effort: `system check` also clears tmp/
    let (blob, size, diff_id) = stored?;

    // 4. Config and manifest: the parent's plus one layer, in the parent's dialect (a Docker
    //    manifest's layers keep Docker media types, an OCI one's OCI types).
    let created = super::rootfs::rfc3339(super::now());
    config.created = Some(created.clone());
    if let Some(a) = req.author {
        config.author = Some(a.to_string());
    }
    config.rootfs.diff_ids.push(diff_id);
    config.history.push(History {
        created: Some(created),
        created_by: Some("palisade commit".into()),
        author: req.author.map(String::from),
        comment: req.message.map(String::from),
        empty_layer: false,
    });
    let docker = parent.manifest_media_type == media::DOCKER_MANIFEST;
    let (manifest_type, config_type, layer_type) = if docker {
        (media::DOCKER_MANIFEST, media::DOCKER_CONFIG, media::DOCKER_LAYER_GZIP)
    } else {
        (media::OCI_MANIFEST, media::OCI_CONFIG, media::OCI_LAYER_GZIP)
    };
    let config_bytes = serde_json::to_vec(&config).expect("config serializes");
    let config_digest = store.put(&config_bytes)?;
    let mut layers: Vec<Descriptor> = parent.layers.iter().map(|l| Descriptor::new(&l.media_type, l.blob.clone(), l.size)).collect();
    layers.push(Descriptor::new(layer_type, blob, size));
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(manifest_type.into()),
        config: Descriptor::new(config_type, config_digest, config_bytes.len() as u64),
        layers,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    let digest = store.put(&bytes)?;
    let tags = req.reference.and_then(|r| r.tagged_name()).into_iter().collect();
    // 5. Unpacked and recorded (atomically, under the metadata lock) as a pulled image is.
    install(
        store,
        &Descriptor::new(manifest_type, digest, bytes.len() as u64),
        &manifest,
        None,
        tags,
        container,
        &unpack::Options::default(),
    )
}

/// Writes the upper dir as a gzip tar to `dest`; returns the blob's digest and size and
/// the diff id (digest of the uncompressed tar).
fn write_layer(upper: BorrowedFd<'_>, dest: &Path) -> Result<(Digest, u64, Digest), ImageError> {
    let io = |op| move |source| ImageError::Io { op, path: dest.display().to_string(), source };
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(dest).map_err(io("create"))?;
    let compressed = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file));
    let gz = flate2::write::GzEncoder::new(compressed, flate2::Compression::default());
    let mut tar = tar::Builder::new(HashingWriter::new(gz));
    tar.mode(tar::HeaderMode::Complete);
    let mut walk = Walk { tar: &mut tar, links: HashMap::new() };
    walk.dir(upper, Path::new("")).map_err(|e| match e {
        WalkError::Io(path, source) => ImageError::Io { op: "commit", path: format!("{}/{}", dest.display(), path.display()), source },
    })?;
    let (gz, diff_id, _) = tar.into_inner().map_err(io("write"))?.finish();
    let (buffered, blob, size) = gz.finish().map_err(io("write"))?.finish();
    buffered.into_inner().map_err(|e| io("write")(e.into_error()))?.sync_all().map_err(io("fsync"))?;
    Ok((blob, size, diff_id))
}

enum WalkError {
    /// The entry (relative to the upper dir) and what failed.
    Io(PathBuf, io::Error),
}

struct Walk<'t, W: Write> {
    tar: &'t mut tar::Builder<W>,
    /// Files with several links already written, by (device, inode): later ones are tar
    /// hardlinks to the first path.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Walk<'_, W> {
    /// Writes the entries of the directory `fd` (at `rel` in the layer), sorted by name so
    /// the same upper dir gives the same layer.
    fn dir(&mut self, fd: BorrowedFd<'_>, rel: &Path) -> Result<(), WalkError> {
        let at = |e: nix::Error| WalkError::Io(rel.to_path_buf(), e.into());
        let mut names: Vec<OsString> = Vec::new();
        let mut listing =
            nix::dir::Dir::openat(fd, ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(at)?;
        for entry in listing.iter() {
            let name = OsStr::from_bytes(entry.map_err(at)?.file_name().to_bytes()).to_os_string();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            self.entry(fd, rel, &name)?;
        }
        Ok(())
    }

    fn entry(&mut self, parent: BorrowedFd<'_>, rel: &Path, name: &OsStr) -> Result<(), WalkError> {
        let path = rel.join(name);
        let fail = |e: io::Error| WalkError::Io(path.clone(), e);
        let st = fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| fail(e.into()))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        let mut header = header_of(&st);
        match kind {
            // An overlayfs whiteout: the lower file is deleted.
            k if k == SFlag::S_IFCHR && st.st_rdev == 0 => {
                let mut wh = OsString::from(".wh.");
                wh.push(name);
                self.tar.append_data(&mut marker(&st), rel.join(wh), io::empty()).map_err(fail)?;
            }
            SFlag::S_IFDIR => {
                let sub = File::from(open_checked(parent, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY, &st).map_err(fail)?);
                let xattrs = xattrs(&sub).map_err(fail)?;
                let opaque =
                    xattrs.iter().any(|(k, v)| (k == "trusted.overlay.opaque" || k == "user.overlay.opaque") && v.as_slice() == b"y");
                self.pax(&xattrs).map_err(fail)?;
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                self.tar.append_data(&mut header, &path, io::empty()).map_err(fail)?;
                if opaque {
                    // The directory replaced the lower one: none of its lower entries show.
                    self.tar.append_data(&mut marker(&st), path.join(".wh..wh..opq"), io::empty()).map_err(fail)?;
                }
                self.dir(sub.as_fd(), &path)?;
            }
            SFlag::S_IFREG => {
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&(st.st_dev, st.st_ino)) {
                        header.set_entry_type(tar::EntryType::Link);
                        header.set_size(0);
                        let first = first.clone();
                        return self.tar.append_link(&mut header, &path, first).map_err(fail);
                    }
                    self.links.insert((st.st_dev, st.st_ino), path.clone());
                }
                let file = File::from(open_checked(parent, name, OFlag::O_RDONLY, &st).map_err(fail)?);
                self.pax(&xattrs(&file).map_err(fail)?).map_err(fail)?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(st.st_size as u64);
                // The size in the header is the one read: a file that shrank is an error (from
                // the tar writer), one that grew is cut at the size stat saw.
                self.tar.append_data(&mut header, &path, file.take(st.st_size as u64)).map_err(fail)?;
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(parent, name).map_err(|e| fail(e.into()))?;
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                self.tar.append_link(&mut header, &path, target).map_err(fail)?;
            }
            SFlag::S_IFIFO | SFlag::S_IFCHR | SFlag::S_IFBLK => {
                let (t, dev) = match kind {
                    SFlag::S_IFIFO => (tar::EntryType::Fifo, None),
                    SFlag::S_IFCHR => (tar::EntryType::Char, Some(st.st_rdev)),
                    _ => (tar::EntryType::Block, Some(st.st_rdev)),
                };
                header.set_entry_type(t);
                header.set_size(0);
                if let Some(dev) = dev {
                    header.set_device_major(nix::sys::stat::major(dev) as u32).map_err(fail)?;
                    header.set_device_minor(nix::sys::stat::minor(dev) as u32).map_err(fail)?;
                }
                self.tar.append_data(&mut header, &path, io::empty()).map_err(fail)?;
            }
            // Sockets are not file content (tar has no type for them).
            _ => {}
        }
        Ok(())
    }

    /// The xattrs layers carry, as a PAX header before the entry (`SCHILY.xattr.KEY`, as
    /// GNU tar and the unpacker in src/image/unpack/mod.rs read them).
    fn pax(&mut self, xattrs: &[(String, Vec<u8>)]) -> io::Result<()> {
        let kept: Vec<(String, &[u8])> =
            xattrs.iter().filter(|(k, _)| kept_xattr(k)).map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice())).collect();
        if kept.is_empty() {
            return Ok(());
        }
        let mut body = Vec::new();
        for (key, value) in kept {
            // A record is "LEN KEY=VALUE\n", LEN counting itself (POSIX pax, "pax Extended
            // Header File Format").
            let rest = key.len() + value.len() + 3;
            let mut len = rest + 1;
            while len != rest + len.to_string().len() {
                len = rest + len.to_string().len();
            }
            body.extend_from_slice(format!("{len} {key}=").as_bytes());
            body.extend_from_slice(value);
            body.push(b'\n');
        }
        let mut header = tar::Header::new_ustar();
        header.set_path("PaxHeaders/xattrs")?;
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_mode(0o644);
        header.set_size(body.len() as u64);
        header.set_cksum();
        self.tar.append(&header, body.as_slice())
    }
}

/// What unpack keeps (file capabilities, `user.*`), minus overlayfs's own metadata.
fn kept_xattr(key: &str) -> bool {
    key == "security.capability" || (key.starts_with("user.") && !key.starts_with("user.overlay."))
}

fn header_of(st: &FileStat) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_mode(st.st_mode & 0o7777);
    header.set_uid(u64::from(st.st_uid));
    header.set_gid(u64::from(st.st_gid));
    header.set_mtime(st.st_mtime.max(0) as u64);
    header
}

/// An empty root-owned file: a whiteout or opaque marker (only its name counts).
fn marker(st: &FileStat) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o600);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(st.st_mtime.max(0) as u64);
    header.set_size(0);
    header
}

/// Opens `name` in `parent` without following a symlink, and checks it is still the inode
/// fstatat saw (the container may be gone, but its files were written by it).
fn open_checked(parent: BorrowedFd<'_>, name: &OsStr, flags: OFlag, seen: &FileStat) -> io::Result<OwnedFd> {
    let fd = openat(parent, name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY, Mode::empty())?;
    let st = fstat(&fd)?;
    if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino) {
        return Err(io::Error::other("changed while it was being read"));
    }
    Ok(fd)
}

/// The xattrs of an open file (fd-based: flistxattr/fgetxattr).
fn xattrs(file: &File) -> io::Result<Vec<(String, Vec<u8>)>> {
    use xattr::FileExt;
    let mut out = Vec::new();
    for key in file.list_xattr()? {
        let Some(key) = key.to_str() else { continue };
        if let Some(value) = file.get_xattr(key)? {
            out.push((key.to_string(), value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// type, link target, data, PAX keys.
    type Entry = (tar::EntryType, Option<String>, Vec<u8>, Vec<String>);

    /// The layer's entries by path.
    fn entries(blob: &Path) -> BTreeMap<String, Entry> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(File::open(blob).unwrap()));
        let mut out = BTreeMap::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let keys = e
                .pax_extensions()
                .unwrap()
                .map(|x| x.flatten().filter_map(|x| x.key().ok().map(String::from)).collect())
                .unwrap_or_default();
            let link = e.link_name().unwrap().map(|l| l.to_string_lossy().into_owned());
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let kind = e.header().entry_type();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            out.insert(path, (kind, link, data, keys));
        }
        out
    }

    #[test]
    fn upper_dir_becomes_a_layer_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let upper = dir.path().join("upper");
        std::fs::create_dir_all(upper.join("etc/opaque")).unwrap();
        std::fs::write(upper.join("etc/file"), "data").unwrap();
        std::fs::hard_link(upper.join("etc/file"), upper.join("etc/again")).unwrap();
        // A symlink the container planted towards a host file: stored as a link, never read.
        std::os::unix::fs::symlink("/etc/passwd", upper.join("etc/escape")).unwrap();
        xattr::set(upper.join("etc/file"), "user.kept", b"1").unwrap();
        xattr::set(upper.join("etc/opaque"), "user.overlay.opaque", b"y").unwrap();
        // A whiteout is a 0/0 character device: creating one needs root (CI runs as root).
        nix::sys::stat::mknod(&upper.join("etc/gone"), SFlag::S_IFCHR, Mode::from_bits_truncate(0o600), 0)
            .expect("mknod a whiteout (needs root)");
        let fd = nix::fcntl::open(&upper, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let blob = dir.path().join("layer.tar.gz");
        let (digest, size, diff_id) = write_layer(fd.as_fd(), &blob).unwrap();
        let bytes = std::fs::read(&blob).unwrap();
        assert_eq!((Digest::of(&bytes), bytes.len() as u64), (digest, size));
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut tar).unwrap();
        assert_eq!(Digest::of(&tar), diff_id, "the diff id is the uncompressed tar's digest");

        let e = entries(&blob);
        assert_eq!(e["etc/escape"].0, tar::EntryType::Symlink);
        assert_eq!(e["etc/escape"].1.as_deref(), Some("/etc/passwd"));
        assert!(e["etc/escape"].2.is_empty());
        // Names are sorted: `again` comes first and carries the data, `file` links to it.
        assert_eq!(e["etc/again"].2, b"data");
        assert_eq!(e["etc/again"].3, vec!["SCHILY.xattr.user.kept".to_string()]);
        assert_eq!((e["etc/file"].0, e["etc/file"].1.as_deref()), (tar::EntryType::Link, Some("etc/again")));
        assert!(e.contains_key("etc/opaque/.wh..wh..opq"));
        assert!(e["etc/opaque"].3.is_empty(), "overlayfs's own xattrs stay out of the layer");
        assert!(e.contains_key("etc/.wh.gone") && !e.contains_key("etc/gone"), "{:?}", e.keys());
    }
}
