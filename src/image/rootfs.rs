//! `import` (a rootfs tarball becomes a single-layer image) and `export` (an image's layers
//! flattened into one rootfs tarball, whiteouts applied).

use super::archive::load::{install, Loaded};
use super::manifest::{media, ContainerConfig, Descriptor, History, ImageConfig, Manifest, RootFs};
use super::platform::Wanted;
use super::store::{ImageRecord, Store};
use super::{unpack, ImageError, Reference};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let time = i64::try_from(secs).ok().and_then(|s| chrono::DateTime::from_timestamp(s, 0)).unwrap_or_default();
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Imports a rootfs tarball (plain, gzip or zstd) as a one-layer image, tagged `reference`.
pub fn import(
    store: &Store,
    input: impl Read,
    reference: Option<&Reference>,
    message: Option<&str>,
    platform: Option<&Wanted>,
    opts: &unpack::Options,
) -> Result<Loaded, ImageError> {
    let _gc = store.lock_gc_shared()?;
    // The layer is stored uncompressed: its digest is its diff id.
    let mut tarball = unpack::decompress(input).map_err(|source| ImageError::Io { op: "read", path: "import input".into(), source })?;
    let (layer, size) = store.put_stream(&mut tarball)?;
    let platform = platform.cloned().unwrap_or_else(Wanted::host);
    let created = rfc3339(super::now());
    let config = ImageConfig {
        created: Some(created.clone()),
        author: None,
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        config: Some(ContainerConfig {
            env: Some(vec![format!("PATH={}", crate::runtime::config::DEFAULT_PATH)]),
            ..ContainerConfig::default()
        }),
        rootfs: RootFs { kind: "layers".into(), diff_ids: vec![layer.clone()] },
        history: vec![History {
            created: Some(created),
            created_by: Some("palisade import".into()),
            comment: message.map(String::from),
            ..History::default()
        }],
    };
    let config_bytes = serde_json::to_vec(&config).expect("config serializes");
    let config_digest = store.put(&config_bytes)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.into()),
        config: Descriptor::new(media::OCI_CONFIG, config_digest, config_bytes.len() as u64),
        layers: vec![Descriptor::new(media::OCI_LAYER, layer, size)],
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    let digest = store.put(&bytes)?;
    let tags = reference.and_then(|r| r.tagged_name()).into_iter().collect();
    install(store, &Descriptor::new(media::OCI_MANIFEST, digest, bytes.len() as u64), &manifest, None, tags, "import", opts)
}

/// Writes the image's root filesystem (all layers merged as overlayfs would show them) as
/// a tarball.
pub fn export<W: Write>(store: &Store, image: &ImageRecord, out: W) -> Result<W, ImageError> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut state = Flatten::default();
    for (depth, layer) in image.layers.iter().rev().enumerate() {
        let dir = store.layer_path(&layer.diff_id);
        let mut opaque_here = Vec::new();
        walk(&dir, Path::new(""), &mut |rel, meta| state.visit(&mut tar, &dir, rel, meta, depth, &mut opaque_here))?;
        state.opaque.extend(opaque_here);
    }
    tar.into_inner().map_err(|e| ImageError::Io { op: "write", path: "export".into(), source: e })
}

#[derive(Default)]
struct Flatten {
    /// Paths already emitted by a higher layer.
    seen: HashSet<PathBuf>,
    /// Paths a higher layer deleted.
    deleted: HashSet<PathBuf>,
    /// Directories a higher layer made opaque.
    opaque: HashSet<PathBuf>,
    /// (layer, dev, ino) → first path, for hard links.
    inodes: HashMap<(usize, u64, u64), PathBuf>,
}

/// What to do with a directory's children.
enum Descend {
    Yes,
    No,
}

impl Flatten {
    fn hidden(&self, rel: &Path) -> bool {
        rel.ancestors().filter(|a| !a.as_os_str().is_empty()).any(|a| self.deleted.contains(a))
            || rel.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).any(|a| self.opaque.contains(a))
    }

    fn visit<W: Write>(
        &mut self,
        tar: &mut tar::Builder<W>,
        root: &Path,
        rel: &Path,
        meta: &std::fs::Metadata,
        depth: usize,
        opaque_here: &mut Vec<PathBuf>,
    ) -> Result<Descend, ImageError> {
        if self.hidden(rel) {
            return Ok(Descend::No);
        }
        let ft = meta.file_type();
        if ft.is_char_device() && meta.rdev() == 0 {
            // An overlayfs whiteout: lower layers' `rel` is gone.
            self.deleted.insert(rel.to_path_buf());
            return Ok(Descend::No);
        }
        let full = root.join(rel);
        if ft.is_dir() && xattr::get(&full, "trusted.overlay.opaque").ok().flatten().as_deref() == Some(b"y") {
            opaque_here.push(rel.to_path_buf());
        }
        if !self.seen.insert(rel.to_path_buf()) {
            return Ok(if ft.is_dir() { Descend::Yes } else { Descend::No });
        }
        let io = |e| ImageError::Io { op: "export", path: full.display().to_string(), source: e };
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        if ft.is_file() && meta.nlink() > 1 {
            let key = (depth, meta.dev(), meta.ino());
            if let Some(first) = self.inodes.get(&key) {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                tar.append_link(&mut header, rel, first).map_err(io)?;
                return Ok(Descend::No);
            }
            self.inodes.insert(key, rel.to_path_buf());
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(&full).map_err(io)?;
            tar.append_link(&mut header, rel, target).map_err(io)?;
        } else if ft.is_file() {
            let file = std::fs::File::open(&full).map_err(io)?;
            tar.append_data(&mut header, rel, file).map_err(io)?;
        } else if ft.is_socket() {
            return Ok(Descend::No);
        } else {
            tar.append_data(&mut header, rel, std::io::empty()).map_err(io)?;
        }
        Ok(if ft.is_dir() { Descend::Yes } else { Descend::No })
    }
}

/// Walks `root/rel` depth-first in name order, parents before children, never following
/// symlinks.
fn walk(root: &Path, rel: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata) -> Result<Descend, ImageError>) -> Result<(), ImageError> {
    let dir = root.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map_err(ImageError::io("read", &dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(ImageError::io("read", &dir))?;
    names.sort();
    for name in names {
        let child = rel.join(&name);
        let meta = std::fs::symlink_metadata(root.join(&child)).map_err(ImageError::io("stat", &root.join(&child)))?;
        if let Descend::Yes = f(&child, &meta)? {
            walk(root, &child, f)?;
        }
    }
    Ok(())
}

/// The image's unpacked layer directories, lowest first (overlayfs lower dirs are listed
/// highest first: reverse this).
pub fn layer_dirs(store: &Store, image: &ImageRecord) -> Vec<PathBuf> {
    image.layers.iter().map(|l| store.layer_path(&l.diff_id)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_rfc3339() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
