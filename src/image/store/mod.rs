//! The image store under the palisade root (`--root`, `PALISADE_ROOT`, default
//! `/var/lib/palisade`):
//!
//! ```text
//! blobs/sha256/<hex>      verified blobs (manifests, configs, compressed layers), read-only
//! layers/sha256/<hex>     unpacked layers by diff id: shared read-only overlayfs lower dirs
//! images.json             images, tags and reference counts (written atomically)
//! images.lock             flock: serializes metadata updates
//! gc.lock                 flock: pulls hold it shared, deleters (rmi, system check) exclusive
//! tmp/                    staging: blobs being downloaded, layers being unpacked
//! ```
//!
//! Nothing is visible under `blobs/` or `layers/` before it is complete and verified (it is
//! staged in `tmp/` and renamed), and an image enters `images.json` only once all its blobs
//! and layers are in place, so a pull killed at any point leaves only staging files and
//! unreferenced blobs behind: the next pull or `palisade system check` removes them.

pub mod check;
pub mod meta;

use super::digest::{Digest, HashingWriter};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use meta::{ImageRecord, LayerRecord, Meta};

/// The default store root.
pub const DEFAULT_ROOT: &str = "/var/lib/palisade";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("blob {digest}: {actual_size} bytes with digest {actual}, expected {size} bytes")]
    Verify { digest: Digest, size: u64, actual: Digest, actual_size: u64 },
    #[error("blob {digest}: more than the {size} bytes its descriptor says")]
    Oversized { digest: Digest, size: u64 },
    #[error("blob {0} is not in the store")]
    MissingBlob(Digest),
    #[error("{path}: {source}")]
    Meta {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: store format version {found}; this palisade reads version {expected}")]
    Version { path: PathBuf, found: u32, expected: u32 },
}

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io { op, path: path.to_path_buf(), source }
}

/// A handle on a store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A held flock; released when dropped (or when the process dies, which is what makes a
/// killed pull harmless to the next one).
pub struct Lock {
    _file: Flock<File>,
}

static STAGING_SEQ: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for sub in ["blobs/sha256", "layers/sha256", "tmp"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(io_err("create", &p))?;
        }
        Ok(Store { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    pub fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers/sha256").join(diff_id.hex())
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layer_path(diff_id).is_dir()
    }

    /// A fresh, unique staging name in `tmp/` (`KIND-HEX-PID-SEQ`).
    pub fn staging_path(&self, kind: &str, hint: &str) -> PathBuf {
        let seq = STAGING_SEQ.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir().join(format!("{kind}-{hint}-{}-{seq}", std::process::id()))
    }

    fn lock(&self, name: &str, arg: FlockArg) -> Result<Lock, StoreError> {
        let path = self.root.join(name);
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_err("open", &path))?;
        let file =
            Flock::lock(file, arg).map_err(|(_, e)| StoreError::Io { op: "flock", path: path.clone(), source: io::Error::from(e) })?;
        Ok(Lock { _file: file })
    }

    /// The metadata lock: held while reading-modifying-writing `images.json`.
    pub fn lock_meta(&self) -> Result<Lock, StoreError> {
        self.lock("images.lock", FlockArg::LockExclusive)
    }

    /// Held (shared) by every pull for its whole duration, so no deleter removes a blob a
    /// pull has just decided not to download.
    pub fn lock_gc_shared(&self) -> Result<Lock, StoreError> {
        self.lock("gc.lock", FlockArg::LockShared)
    }

    /// Held by whoever deletes blobs and layers; waits for running pulls.
    pub fn lock_gc_exclusive(&self) -> Result<Lock, StoreError> {
        self.lock("gc.lock", FlockArg::LockExclusive)
    }

    /// The exclusive gc lock if no pull is running (used by a pull to clean up after killed
    /// ones before it starts).
    pub fn try_lock_gc_exclusive(&self) -> Result<Option<Lock>, StoreError> {
        match self.lock("gc.lock", FlockArg::LockExclusiveNonblock) {
            Ok(l) => Ok(Some(l)),
            Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(nix::libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes everything in `tmp/`: only safe under the exclusive gc lock.
    pub fn clear_staging(&self) -> Result<usize, StoreError> {
        let tmp = self.tmp_dir();
        let mut removed = 0;
        for entry in std::fs::read_dir(&tmp).map_err(io_err("read", &tmp))? {
            let path = entry.map_err(io_err("read", &tmp))?.path();
            remove_any(&path)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Streams a blob into the store: written to a staging file while hashed, checked against
    /// `digest` and `size`, then renamed into `blobs/`. `progress` is called with the bytes
    /// written so far. Returns the bytes read.
    pub fn ingest(&self, reader: &mut dyn Read, digest: &Digest, size: u64, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
        let staging = self.staging_path("blob", digest.short());
        let result = self.ingest_to(reader, &staging, digest, size, progress);
        if result.is_err() {
            let _ = std::fs::remove_file(&staging); // best effort: `system check` also clears tmp/
        }
        result
    }

    fn ingest_to(
        &self,
        reader: &mut dyn Read,
        staging: &Path,
        digest: &Digest,
        size: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StoreError> {
        let file = create_new(staging)?;
        let mut writer = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file));
        let mut limited = reader.take(size.saturating_add(1));
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(StoreError::Io { op: "download", path: staging.to_path_buf(), source }),
            };
            total += n as u64;
            if total > size {
                return Err(StoreError::Oversized { digest: digest.clone(), size });
            }
            writer.write_all(&buf[..n]).map_err(io_err("write", staging))?;
            progress(total);
        }
        let (buffered, actual, len) = writer.finish();
        buffered.into_inner().map_err(|e| StoreError::Io { op: "write", path: staging.to_path_buf(), source: e.into_error() })?;
        if &actual != digest || len != size {
            return Err(StoreError::Verify { digest: digest.clone(), size, actual, actual_size: len });
        }
        self.commit_blob(staging, digest)?;
        Ok(total)
    }

    /// Stores bytes whose digest is computed here (manifests and configs palisade writes).
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        if !self.has_blob(&digest) {
            self.ingest(&mut &bytes[..], &digest, bytes.len() as u64, &mut |_| {})?;
        }
        Ok(digest)
    }

    /// Stores a stream of unknown digest (an imported or loaded layer); returns its digest
    /// and size.
    pub fn put_stream(&self, reader: &mut dyn Read) -> Result<(Digest, u64), StoreError> {
        let staging = self.staging_path("blob", "stream");
        let result = (|| {
            let file = create_new(&staging)?;
            let mut writer = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file));
            io::copy(reader, &mut writer).map_err(io_err("write", &staging))?;
            let (buffered, digest, len) = writer.finish();
            buffered.into_inner().map_err(|e| StoreError::Io { op: "write", path: staging.clone(), source: e.into_error() })?;
            self.commit_blob(&staging, &digest)?;
            Ok((digest, len))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&staging); // best effort: `system check` also clears tmp/
        }
        result
    }

    /// Renames a verified staging file into `blobs/` (read-only). Replacing an existing blob
    /// is harmless: the content is the same by construction.
    fn commit_blob(&self, staging: &Path, digest: &Digest) -> Result<(), StoreError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging, std::fs::Permissions::from_mode(0o444)).map_err(io_err("chmod", staging))?;
        let dest = self.blob_path(digest);
        std::fs::rename(staging, &dest).map_err(io_err("rename", &dest))
    }

    /// Reads a whole (small) blob.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest);
        std::fs::read(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StoreError::MissingBlob(digest.clone())
            } else {
                StoreError::Io { op: "read", path, source: e }
            }
        })
    }

    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StoreError::MissingBlob(digest.clone())
            } else {
                StoreError::Io { op: "open", path, source: e }
            }
        })
    }

    /// Moves an unpacked staging directory into `layers/`. If another pull got there first,
    /// ours is removed (same diff id, same content).
    pub fn commit_layer(&self, staging: &Path, diff_id: &Digest) -> Result<(), StoreError> {
        let dest = self.layer_path(diff_id);
        match std::fs::rename(staging, &dest) {
            Ok(()) => Ok(()),
            Err(e) if dest.is_dir() && matches!(e.raw_os_error(), Some(nix::libc::ENOTEMPTY) | Some(nix::libc::EEXIST)) => {
                remove_any(staging)
            }
            Err(source) => Err(StoreError::Io { op: "rename", path: dest, source }),
        }
    }

    /// Flushes everything written to the store's filesystem (once per pull, before the
    /// metadata that makes it visible is committed: cheaper than an fsync per file).
    pub fn sync(&self) -> Result<(), StoreError> {
        let dir = File::open(&self.root).map_err(io_err("open", &self.root))?;
        nix::unistd::syncfs(&dir).map_err(|e| StoreError::Io { op: "syncfs", path: self.root.clone(), source: e.into() })
    }

    /// Reads the metadata (callers that modify it hold [`Store::lock_meta`]).
    pub fn load_meta(&self) -> Result<Meta, StoreError> {
        Meta::load(&self.root.join("images.json"))
    }

    /// Writes the metadata atomically: temp file, fsync, rename, fsync of the directory.
    pub fn save_meta(&self, meta: &Meta) -> Result<(), StoreError> {
        meta.save(&self.root.join("images.json"))
    }

    /// Runs `f` on the metadata under the lock and saves the result if `f` succeeds.
    pub fn update_meta<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut Meta) -> Result<T, E>) -> Result<T, E> {
        let _lock = self.lock_meta()?;
        let mut meta = self.load_meta()?;
        let out = f(&mut meta)?;
        self.save_meta(&meta)?;
        Ok(out)
    }
}

fn create_new(path: &Path) -> Result<File, StoreError> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(io_err("create", path))
}

/// Removes a file or a directory tree (without following symlinks in it).
pub fn remove_any(path: &Path) -> Result<(), StoreError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(StoreError::Io { op: "stat", path: path.to_path_buf(), source }),
    };
    let result = if meta.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Io { op: "remove", path: path.to_path_buf(), source: e }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_verifies_digest_and_size_before_the_blob_appears() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let data = b"layer bytes";
        let good = Digest::of(data);
        assert!(matches!(store.ingest(&mut &data[..], &Digest::of(b"other"), 11, &mut |_| {}), Err(StoreError::Verify { .. })));
        assert!(matches!(store.ingest(&mut &data[..], &good, 5, &mut |_| {}), Err(StoreError::Oversized { .. })));
        assert!(matches!(store.ingest(&mut &data[..], &good, 20, &mut |_| {}), Err(StoreError::Verify { .. })));
        assert!(!store.has_blob(&good));
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0, "failed ingests leave no staging files");
        assert_eq!(store.ingest(&mut &data[..], &good, 11, &mut |_| {}).unwrap(), 11);
        assert_eq!(store.read_blob(&good).unwrap(), data);
    }
}
