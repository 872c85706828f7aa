//! Writing an OCI archive: `oci-layout`, `index.json` (one entry per tag, named by
//! `org.opencontainers.image.ref.name` = the tag and `io.containerd.image.name` = the full
//! name), `blobs/sha256/*` (each blob once).

use super::{append, append_blob, Saved};
use crate::image::manifest::{media, Descriptor, Index};
use crate::image::store::Store;
use crate::image::{ImageError, Reference};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

pub fn save<W: Write>(store: &Store, images: &[Saved], out: W) -> Result<W, ImageError> {
    let mut tar = tar::Builder::new(out);
    let io = |e| ImageError::Io { op: "write", path: "archive".into(), source: e };
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    append(&mut tar, "oci-layout", layout.len() as u64, &layout[..]).map_err(io)?;
    let mut manifests = Vec::new();
    let mut written = BTreeSet::new();
    for image in images {
        let r = &image.record;
        for d in [&r.manifest, &r.config].into_iter().chain(r.layers.iter().map(|l| &l.blob)) {
            if written.insert(d.clone()) {
                append_blob(&mut tar, store, &format!("blobs/sha256/{}", d.hex()), d)?;
            }
        }
        let size = store.blob_path(&r.manifest).metadata().map_err(ImageError::io("stat", &store.blob_path(&r.manifest)))?.len();
        let base = Descriptor::new(&r.manifest_media_type, r.manifest.clone(), size);
        if image.tags.is_empty() {
            manifests.push(base.clone());
        }
        for t in &image.tags {
            let mut d = base.clone();
            if let Ok(reference) = t.parse::<Reference>() {
                d.annotations = BTreeMap::from([
                    (REF_NAME.to_string(), reference.tag.clone().unwrap_or_default()),
                    (CONTAINERD_NAME.to_string(), t.clone()),
                ]);
            }
            manifests.push(d);
        }
    }
    let index = Index { schema_version: 2, media_type: Some(media::OCI_INDEX.into()), manifests, annotations: BTreeMap::new() };
    let bytes = serde_json::to_vec(&index).expect("index serializes");
    append(&mut tar, "index.json", bytes.len() as u64, &bytes[..]).map_err(io)?;
    tar.into_inner().map_err(io)
}
