//! Reading an OCI archive or a docker-archive (detected by `index.json` / `manifest.json`;
//! an archive with both, as Docker 25 writes, is read as OCI).

use super::docker::Entry;
use super::oci::{CONTAINERD_NAME, REF_NAME};
use crate::image::digest::Digest;
use crate::image::manifest::{media, Compression, Descriptor, Document, ImageConfig, Manifest};
use crate::image::platform::Wanted;
use crate::image::pull::unpack_layer;
use crate::image::store::{ImageRecord, LayerRecord, Store};
use crate::image::{unpack, ImageError, Reference};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// One image loaded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Loaded {
    pub manifest: Digest,
    pub config: Digest,
    pub tags: Vec<String>,
}

/// Largest metadata file (index.json, manifest.json…) read into memory.
const MAX_JSON: u64 = 4 << 20;

/// The archive's files: small JSON ones in memory, everything else hashed into the store.
#[derive(Default)]
struct Files {
    json: BTreeMap<String, Vec<u8>>,
    blobs: BTreeMap<String, (Digest, u64)>,
    links: BTreeMap<String, String>,
}

impl Files {
    fn blob(&self, name: &str) -> Option<&(Digest, u64)> {
        let mut n = name.to_string();
        for _ in 0..8 {
            if let Some(b) = self.blobs.get(&n) {
                return Some(b);
            }
            n = self.links.get(&n)?.clone();
        }
        None
    }
}

/// Normalizes an archive member name (`./a//b` → `a/b`); `None` for names that climb out.
fn normalize(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

fn bad(path: &str, why: impl Into<String>) -> ImageError {
    ImageError::Archive { path: path.to_string(), why: why.into() }
}

/// Loads every image of the archive read from `input` (named `shown` in errors).
pub fn load(store: &Store, input: impl Read, shown: &str, opts: &unpack::Options) -> Result<Vec<Loaded>, ImageError> {
    let _gc = store.lock_gc_shared()?;
    let files = read(store, input, shown)?;
    if files.json.contains_key("index.json") {
        load_oci(store, &files, shown, opts)
    } else if files.json.contains_key("manifest.json") {
        load_docker(store, &files, shown, opts)
    } else {
        Err(bad(shown, "neither an OCI archive (index.json) nor a docker-archive (manifest.json)"))
    }
}

fn read(store: &Store, input: impl Read, shown: &str) -> Result<Files, ImageError> {
    let mut files = Files::default();
    let mut archive = tar::Archive::new(input);
    let io = |e| ImageError::Io { op: "read", path: shown.to_string(), source: e };
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let raw = entry.path().map_err(io)?.into_owned();
        let Some(name) = normalize(&raw) else { return Err(bad(shown, format!("member `{}` points outside the archive", raw.display()))) };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                // docker save (before 25) links duplicate layers to the first copy.
                let target = entry.link_name().map_err(io)?.map(|t| t.into_owned()).unwrap_or_default();
                let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                    Path::new(&name).parent().unwrap_or(Path::new("")).join(&target)
                } else {
                    PathBuf::from(&target)
                };
                if let Some(t) = normalize(&base) {
                    files.links.insert(name, t);
                }
                continue;
            }
            _ => continue,
        }
        let is_json = !name.starts_with("blobs/") && (name.ends_with(".json") || name == "repositories" || name == "oci-layout");
        if is_json && entry.size() <= MAX_JSON {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(io)?;
            // Configs in docker-archives are blobs too.
            if name != "manifest.json" && name != "index.json" && name != "repositories" && name != "oci-layout" {
                files.blobs.insert(name.clone(), (store.put(&bytes)?, bytes.len() as u64));
            }
            files.json.insert(name, bytes);
        } else {
            let (digest, size) = store.put_stream(&mut entry)?;
            if let Some(hex) = name.strip_prefix("blobs/sha256/") {
                if digest.hex() != hex {
                    return Err(bad(shown, format!("blob {name} has digest {digest}: the archive is corrupt or forged")));
                }
            }
            files.blobs.insert(name, (digest, size));
        }
    }
    Ok(files)
}

fn oci_blob<'a>(files: &'a Files, d: &Descriptor, shown: &str) -> Result<&'a (Digest, u64), ImageError> {
    let name = format!("blobs/sha256/{}", d.digest.hex());
    let blob = files.blob(&name).ok_or_else(|| bad(shown, format!("blob {} is missing", d.digest)))?;
    if blob.1 != d.size {
        return Err(bad(shown, format!("blob {} is {} bytes; its descriptor says {}", d.digest, blob.1, d.size)));
    }
    Ok(blob)
}

fn load_oci(store: &Store, files: &Files, shown: &str, opts: &unpack::Options) -> Result<Vec<Loaded>, ImageError> {
    let index: Document = Document::parse(&files.json["index.json"], None).map_err(|e| bad(shown, format!("index.json: {e}")))?;
    let Document::Index(index) = index else { return Err(bad(shown, "index.json is not an image index")) };
    let mut out = Vec::new();
    for desc in &index.manifests {
        oci_blob(files, desc, shown)?;
        let bytes = store.read_blob(&desc.digest)?;
        let (manifest_desc, manifest, index_digest) =
            match Document::parse(&bytes, Some(&desc.media_type)).map_err(|e| bad(shown, format!("{}: {e}", desc.digest)))? {
                Document::Manifest(m) => (desc.clone(), m, None),
                Document::Index(nested) => {
                    let chosen = Wanted::host()
                        .choose(&nested.manifests)
                        .ok_or_else(|| bad(shown, format!("index {} has no manifest for {}", desc.digest, Wanted::host())))?
                        .clone();
                    oci_blob(files, &chosen, shown)?;
                    let Document::Manifest(m) = Document::parse(&store.read_blob(&chosen.digest)?, Some(&chosen.media_type))
                        .map_err(|e| bad(shown, format!("{}: {e}", chosen.digest)))?
                    else {
                        return Err(bad(shown, "nested index"));
                    };
                    (chosen, m, Some(desc.digest.clone()))
                }
            };
        oci_blob(files, &manifest.config, shown)?;
        for l in &manifest.layers {
            oci_blob(files, l, shown)?;
        }
        let name = desc
            .annotations
            .get(CONTAINERD_NAME)
            .or_else(|| desc.annotations.get(REF_NAME))
            .and_then(|n| n.parse::<Reference>().ok())
            .filter(|r| r.digest.is_none())
            .and_then(|r| r.tagged_name());
        // A bare tag (`latest`) names no repository: such an image loads untagged.
        let name = name
            .filter(|_| desc.annotations.contains_key(CONTAINERD_NAME) || desc.annotations.get(REF_NAME).is_some_and(|n| n.contains('/')));
        out.push(install(store, &manifest_desc, &manifest, index_digest, name.into_iter().collect(), shown, opts)?);
    }
    Ok(out)
}

fn load_docker(store: &Store, files: &Files, shown: &str, opts: &unpack::Options) -> Result<Vec<Loaded>, ImageError> {
    let entries: Vec<Entry> =
        serde_json::from_slice(&files.json["manifest.json"]).map_err(|e| bad(shown, format!("manifest.json: {e}")))?;
    let mut out = Vec::new();
    for e in entries {
        let config = normalize(Path::new(&e.config))
            .and_then(|n| files.blob(&n))
            .ok_or_else(|| bad(shown, format!("config {} is missing", e.config)))?
            .clone();
        let mut layers = Vec::new();
        for l in &e.layers {
            let (digest, size) =
                normalize(Path::new(l)).and_then(|n| files.blob(&n)).ok_or_else(|| bad(shown, format!("layer {l} is missing")))?.clone();
            let mut head = [0u8; 4];
            let n = store.open_blob(&digest)?.read(&mut head).map_err(ImageError::io("read", &store.blob_path(&digest)))?;
            let media_type = match Compression::sniff(&head[..n]) {
                Compression::Gzip => media::OCI_LAYER_GZIP,
                Compression::Zstd => media::OCI_LAYER_ZSTD,
                Compression::None => media::OCI_LAYER,
            };
            layers.push(Descriptor::new(media_type, digest, size));
        }
        // docker-archives carry no manifest: write the OCI manifest of what they carry.
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media::OCI_MANIFEST.into()),
            config: Descriptor::new(media::OCI_CONFIG, config.0, config.1),
            layers,
            annotations: BTreeMap::new(),
        };
        let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
        let digest = store.put(&bytes)?;
        let desc = Descriptor::new(media::OCI_MANIFEST, digest, bytes.len() as u64);
        let tags: Vec<String> =
            e.repo_tags.unwrap_or_default().iter().filter_map(|t| t.parse::<Reference>().ok()).filter_map(|r| r.tagged_name()).collect();
        out.push(install(store, &desc, &manifest, None, tags, shown, opts)?);
    }
    Ok(out)
}

/// Unpacks a manifest's layers (blobs already stored) and records the image with `tags`.
pub fn install(
    store: &Store,
    desc: &Descriptor,
    manifest: &Manifest,
    index: Option<Digest>,
    tags: Vec<String>,
    shown: &str,
    opts: &unpack::Options,
) -> Result<Loaded, ImageError> {
    let config_bytes = store.read_blob(&manifest.config.digest)?;
    let config = ImageConfig::parse(&config_bytes, manifest.layers.len()).map_err(|why| bad(shown, why))?;
    let mut layers = Vec::new();
    for (l, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
        if Compression::of_layer(&l.media_type).is_none() {
            return Err(bad(shown, format!("layer {} has media type `{}`, which is not a filesystem layer", l.digest, l.media_type)));
        }
        let diff_size = if store.has_layer(diff_id) {
            let path = store.blob_path(&l.digest);
            std::io::copy(
                &mut unpack::decompress(store.open_blob(&l.digest)?).map_err(ImageError::io("read", &path))?,
                &mut std::io::sink(),
            )
            .map_err(ImageError::io("decompress", &path))?
        } else {
            unpack_layer(store, &l.digest, diff_id, opts)?.diff_size
        };
        layers.push(LayerRecord {
            blob: l.digest.clone(),
            media_type: l.media_type.clone(),
            size: l.size,
            diff_id: diff_id.clone(),
            diff_size,
        });
    }
    store.sync()?;
    let platform = match &config.variant {
        Some(v) => format!("{}/{}/{v}", config.os, config.architecture),
        None => format!("{}/{}", config.os, config.architecture),
    };
    let record = ImageRecord {
        manifest: desc.digest.clone(),
        manifest_media_type: desc.media_type.clone(),
        config: manifest.config.digest.clone(),
        layers,
        index,
        platform,
        created: config.created.clone(),
        added: crate::image::now(),
        repo_digests: BTreeSet::new(),
    };
    let loaded = Loaded { manifest: record.manifest.clone(), config: record.config.clone(), tags: tags.clone() };
    store.update_meta(|meta| {
        meta.add_image(record);
        for t in tags {
            meta.tags.insert(t, loaded.manifest.clone());
        }
        Ok::<(), ImageError>(())
    })?;
    Ok(loaded)
}
