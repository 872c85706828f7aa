//! `images.json`: the images, their tags, and reference counts of blobs and unpacked layers.
//! Reference counts are derived data kept for `rmi` and checked by `palisade system check`
//! (which recomputes them from the images if they ever disagree).

use super::{io_err, StoreError};
use crate::image::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

pub const VERSION: u32 = 1;

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// The (usually compressed) blob, as the manifest names it.
    pub blob: Digest,
    pub media_type: String,
    pub size: u64,
    /// Digest of the uncompressed tar: the unpacked directory's name.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar.
    pub diff_size: u64,
}

/// One image: a manifest and everything it references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The manifest's digest: the image's key in the store.
    pub manifest: Digest,
    pub manifest_media_type: String,
    /// The config's digest: the image id Docker shows.
    pub config: Digest,
    pub layers: Vec<LayerRecord>,
    /// The index the manifest was chosen from, if any (kept: it is the repo digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Digest>,
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The config's `created`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it entered this store (seconds since the epoch).
    pub added: u64,
    /// `registry/repository@digest` names it was pulled by.
    #[serde(default)]
    pub repo_digests: BTreeSet<String>,
}

impl ImageRecord {
    /// Every blob the image holds a reference on.
    pub fn blobs(&self) -> Vec<Digest> {
        let mut v = vec![self.manifest.clone(), self.config.clone()];
        v.extend(self.index.iter().cloned());
        v.extend(self.layers.iter().map(|l| l.blob.clone()));
        v.sort();
        v.dedup();
        v
    }

    /// Every unpacked layer the image holds a reference on.
    pub fn diff_ids(&self) -> Vec<Digest> {
        let mut v: Vec<Digest> = self.layers.iter().map(|l| l.diff_id.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Sum of the uncompressed layer sizes (what `images` shows as SIZE).
    pub fn size(&self) -> u64 {
        self.layers.iter().map(|l| l.diff_size).sum()
    }
}

/// The store's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    /// By manifest digest.
    pub images: BTreeMap<Digest, ImageRecord>,
    /// `registry/repository:tag` → manifest digest.
    pub tags: BTreeMap<String, Digest>,
    /// Images referencing each blob.
    pub blob_refs: BTreeMap<Digest, u32>,
    /// Images referencing each unpacked layer.
    pub layer_refs: BTreeMap<Digest, u32>,
}

/// What removing an image freed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Released {
    pub blobs: Vec<Digest>,
    pub layers: Vec<Digest>,
}

impl Meta {
    pub fn load(path: &Path) -> Result<Meta, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Meta { version: VERSION, ..Meta::default() }),
            Err(source) => return Err(StoreError::Io { op: "read", path: path.to_path_buf(), source }),
        };
        let meta: Meta = serde_json::from_slice(&bytes).map_err(|source| StoreError::Meta { path: path.to_path_buf(), source })?;
        if meta.version != VERSION {
            return Err(StoreError::Version { path: path.to_path_buf(), found: meta.version, expected: VERSION });
        }
        Ok(meta)
    }

    /// Temp file + fsync + rename + fsync of the directory: a reader (or a crash) sees the
    /// old file or the new one, never a mix.
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let dir = path.parent().expect("images.json has a parent");
        let tmp = dir.join(format!(".images.json.{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(&serde_json::to_vec_pretty(self).expect("metadata serializes")).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("fsync", &tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("fsync", dir))
    }

    /// Adds an image (or merges repo digests into the same one) and takes its references.
    pub fn add_image(&mut self, record: ImageRecord) {
        if let Some(existing) = self.images.get_mut(&record.manifest) {
            existing.repo_digests.extend(record.repo_digests);
            return;
        }
        for b in record.blobs() {
            *self.blob_refs.entry(b).or_default() += 1;
        }
        for l in record.diff_ids() {
            *self.layer_refs.entry(l).or_default() += 1;
        }
        self.images.insert(record.manifest.clone(), record);
    }

    /// Removes an image and its tags, dropping its references; returns the blobs and layers
    /// no image references any more (the caller deletes them after saving).
    pub fn remove_image(&mut self, manifest: &Digest) -> Released {
        let mut released = Released::default();
        let Some(record) = self.images.remove(manifest) else { return released };
        self.tags.retain(|_, d| d != manifest);
        for b in record.blobs() {
            if release(&mut self.blob_refs, &b) {
                released.blobs.push(b);
            }
        }
        for l in record.diff_ids() {
            if release(&mut self.layer_refs, &l) {
                released.layers.push(l);
            }
        }
        released
    }

    /// Reference counts recomputed from the images.
    pub fn computed_refs(&self) -> (BTreeMap<Digest, u32>, BTreeMap<Digest, u32>) {
        let (mut blobs, mut layers) = (BTreeMap::new(), BTreeMap::new());
        for r in self.images.values() {
            for b in r.blobs() {
                *blobs.entry(b).or_default() += 1;
            }
            for l in r.diff_ids() {
                *layers.entry(l).or_default() += 1;
            }
        }
        (blobs, layers)
    }

    /// Tags pointing at an image, sorted.
    pub fn tags_of(&self, manifest: &Digest) -> Vec<String> {
        self.tags.iter().filter(|(_, d)| *d == manifest).map(|(t, _)| t.clone()).collect()
    }

    /// Finds an image by tag (`name[:tag]`, normalized), manifest or config digest, or a
    /// unique prefix (≥ 4 hex characters) of either digest's hex.
    pub fn resolve(&self, name: &str) -> Option<&ImageRecord> {
        if let Ok(r) = name.parse::<crate::image::reference::Reference>() {
            if let Some(d) = &r.digest {
                if let Some(rec) = self.images.get(d) {
                    return Some(rec);
                }
                if let Some(rec) = self.images.values().find(|i| i.index.as_ref() == Some(d) || &i.config == d) {
                    return Some(rec);
                }
            }
            if r.digest.is_none() {
                if let Some(rec) = r.tagged_name().and_then(|t| self.tags.get(&t)).and_then(|d| self.images.get(d)) {
                    return Some(rec);
                }
            }
        }
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hits: Vec<&ImageRecord> =
                self.images.values().filter(|i| i.config.hex().starts_with(hex) || i.manifest.hex().starts_with(hex)).collect();
            let mut configs: Vec<&Digest> = hits.iter().map(|i| &i.config).collect();
            configs.dedup();
            if hits.len() == 1 || (configs.len() == 1 && !hits.is_empty()) {
                return hits.first().copied();
            }
        }
        None
    }
}

fn release(refs: &mut BTreeMap<Digest, u32>, d: &Digest) -> bool {
    match refs.get_mut(d) {
        Some(n) if *n > 1 => {
            *n -= 1;
            false
        }
        _ => {
            refs.remove(d);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, layers: &[&str]) -> ImageRecord {
        let d = |s: &str| Digest::of(s.as_bytes());
        ImageRecord {
            manifest: d(&format!("m-{name}")),
            manifest_media_type: "m".into(),
            config: d(&format!("c-{name}")),
            layers: layers
                .iter()
                .map(|l| LayerRecord {
                    blob: d(&format!("b-{l}")),
                    media_type: "x".into(),
                    size: 1,
                    diff_id: d(&format!("d-{l}")),
                    diff_size: 10,
                })
                .collect(),
            index: None,
            platform: "linux/amd64".into(),
            created: None,
            added: 0,
            repo_digests: BTreeSet::new(),
        }
    }

    #[test]
    fn shared_layers_are_counted_and_released_once() {
        let mut meta = Meta::default();
        let a = image("a", &["base", "top-a"]);
        let b = image("b", &["base", "top-b"]);
        meta.add_image(a.clone());
        meta.add_image(b.clone());
        meta.add_image(a.clone()); // same image again: no second reference
        meta.tags.insert("localhost/a:latest".into(), a.manifest.clone());
        assert_eq!(meta.layer_refs[&Digest::of(b"d-base")], 2);
        assert_eq!(meta.computed_refs(), (meta.blob_refs.clone(), meta.layer_refs.clone()));
        let released = meta.remove_image(&a.manifest);
        assert_eq!(released.layers, vec![Digest::of(b"d-top-a")]);
        assert!(!released.blobs.contains(&Digest::of(b"b-base")));
        assert!(meta.tags.is_empty());
        let released = meta.remove_image(&b.manifest);
        assert!(released.layers.contains(&Digest::of(b"d-base")));
        assert!(meta.blob_refs.is_empty() && meta.layer_refs.is_empty());
    }

    #[test]
    fn resolves_tags_ids_and_prefixes() {
        let mut meta = Meta::default();
        let a = image("a", &["x"]);
        meta.add_image(a.clone());
        meta.tags.insert("docker.io/library/busybox:latest".into(), a.manifest.clone());
        assert_eq!(meta.resolve("busybox").unwrap().manifest, a.manifest);
        assert_eq!(meta.resolve(&a.config.hex()[..8]).unwrap().manifest, a.manifest);
        assert_eq!(meta.resolve(&a.manifest.to_string()).unwrap().manifest, a.manifest);
        assert!(meta.resolve("nothing").is_none());
    }
}
