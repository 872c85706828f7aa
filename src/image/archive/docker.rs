//! Writing a docker-archive (`docker save`): `manifest.json`, `repositories`, the config as
//! `<id>.json`, and each layer uncompressed as `<diff id>/layer.tar` (so its digest is its
//! diff id, which is what `docker load` checks).

use super::{append, append_blob, Saved};
use crate::image::store::Store;
use crate::image::unpack;
use crate::image::{ImageError, Reference};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

/// `name:tag` as Docker writes it (`busybox:latest` for Docker Hub's library).
pub fn familiar(tag: &str) -> String {
    match tag.parse::<Reference>() {
        Ok(r) => format!("{}:{}", r.familiar_name(), r.tag.unwrap_or_default()),
        Err(_) => tag.to_string(),
    }
}

pub fn save<W: Write>(store: &Store, images: &[Saved], out: W) -> Result<W, ImageError> {
    let mut tar = tar::Builder::new(out);
    let io = |e| ImageError::Io { op: "write", path: "archive".into(), source: e };
    let mut entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written = BTreeSet::new();
    for image in images {
        let r = &image.record;
        let config_name = format!("{}.json", r.config.hex());
        if written.insert(r.config.clone()) {
            append_blob(&mut tar, store, &config_name, &r.config)?;
        }
        let mut layers = Vec::new();
        for l in &r.layers {
            let name = format!("{}/layer.tar", l.diff_id.hex());
            if written.insert(l.diff_id.clone()) {
                let blob = store.open_blob(&l.blob)?;
                let path = store.blob_path(&l.blob);
                let reader = unpack::decompress(blob).map_err(ImageError::io("read", &path))?;
                append(&mut tar, &name, l.diff_size, reader).map_err(ImageError::io("decompress into archive", &path))?;
            }
            layers.push(name);
        }
        let tags: Vec<String> = image.tags.iter().map(|t| familiar(t)).collect();
        for t in &tags {
            if let Some((repo, tag)) = t.rsplit_once(':') {
                repositories.entry(repo.to_string()).or_default().insert(tag.to_string(), r.config.hex().to_string());
            }
        }
        entries.push(Entry { config: config_name, repo_tags: Some(tags), layers });
    }
    let manifest = serde_json::to_vec(&entries).expect("manifest.json serializes");
    append(&mut tar, "manifest.json", manifest.len() as u64, &manifest[..]).map_err(io)?;
    let repos = serde_json::to_vec(&repositories).expect("repositories serializes");
    append(&mut tar, "repositories", repos.len() as u64, &repos[..]).map_err(io)?;
    tar.into_inner().map_err(io)
}
