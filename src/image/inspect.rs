//! Read-only views of the store: `images`, `inspect`, `history`.

use super::digest::Digest;
use super::manifest::ImageConfig;
use super::reference::Reference;
use super::store::{ImageRecord, Meta, Store};
use super::ImageError;
use serde::Serialize;

/// One row of `palisade images`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub repository: String,
    pub tag: String,
    /// The config digest (Docker's image id).
    pub id: Digest,
    /// The manifest digest.
    pub digest: Digest,
    pub created: Option<String>,
    pub size: u64,
    pub platform: String,
}

/// Every tag of every image, and a `<none>` row for each untagged image; newest first.
pub fn list(meta: &Meta) -> Vec<Row> {
    let mut rows = Vec::new();
    for image in meta.images.values() {
        let tags = meta.tags_of(&image.manifest);
        let row = |repository: String, tag: String| Row {
            repository,
            tag,
            id: image.config.clone(),
            digest: image.manifest.clone(),
            created: image.created.clone(),
            size: image.size(),
            platform: image.platform.clone(),
        };
        if tags.is_empty() {
            rows.push((image.added, row("<none>".into(), "<none>".into())));
        }
        for t in tags {
            let (repo, tag) = match t.parse::<Reference>() {
                Ok(r) => (r.familiar_name(), r.tag.unwrap_or_default()),
                Err(_) => (t.clone(), String::new()),
            };
            rows.push((image.added, row(repo, tag)));
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.repository.cmp(&b.1.repository)).then_with(|| a.1.tag.cmp(&b.1.tag)));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// An image and its parsed config.
pub fn load(store: &Store, name: &str) -> Result<(Meta, ImageRecord, ImageConfig, serde_json::Value), ImageError> {
    let meta = store.load_meta()?;
    let record = meta.resolve(name).ok_or_else(|| ImageError::NotFound(name.to_string()))?.clone();
    let bytes = store.read_blob(&record.config)?;
    let config =
        ImageConfig::parse(&bytes, record.layers.len()).map_err(|why| ImageError::NotAnImage { reference: name.to_string(), why })?;
    let raw: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ImageError::NotAnImage { reference: name.to_string(), why: e.to_string() })?;
    Ok((meta, record, config, raw))
}

/// `palisade inspect`: Docker's shape (`Id`, `RepoTags`, `RepoDigests`, `Config`, `RootFS`…)
/// plus where the store keeps the layers.
pub fn inspect(store: &Store, name: &str) -> Result<serde_json::Value, ImageError> {
    let (meta, record, _, raw) = load(store, name)?;
    let tags: Vec<String> = meta
        .tags_of(&record.manifest)
        .iter()
        .map(|t| {
            t.parse::<Reference>().map(|r| format!("{}:{}", r.familiar_name(), r.tag.unwrap_or_default())).unwrap_or_else(|_| t.clone())
        })
        .collect();
    let field = |k: &str| raw.get(k).cloned().unwrap_or(serde_json::Value::Null);
    Ok(serde_json::json!({
        "Id": record.config.to_string(),
        "RepoTags": tags,
        "RepoDigests": record.repo_digests,
        "Created": field("created"),
        "Author": field("author"),
        "Architecture": field("architecture"),
        "Os": field("os"),
        "Variant": field("variant"),
        "Config": field("config"),
        "RootFS": field("rootfs"),
        "Size": record.size(),
        "Manifest": { "Digest": record.manifest.to_string(), "MediaType": record.manifest_media_type, "Index": record.index.as_ref().map(|d| d.to_string()) },
        "Layers": record.layers.iter().map(|l| serde_json::json!({
            "Blob": l.blob.to_string(), "MediaType": l.media_type, "Size": l.size, "DiffID": l.diff_id.to_string(), "DiffSize": l.diff_size,
            "Path": store.layer_path(&l.diff_id),
        })).collect::<Vec<_>>(),
    }))
}

/// One row of `palisade history`, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub created: Option<String>,
    pub created_by: String,
    /// Uncompressed size of the layer the step made (0 for an empty layer).
    pub size: u64,
    pub comment: String,
    /// The layer's diff id, if the step made one.
    pub layer: Option<Digest>,
}

pub fn history(store: &Store, name: &str) -> Result<Vec<Step>, ImageError> {
    let (_, record, config, _) = load(store, name)?;
    let mut layers = record.layers.iter();
    let mut steps: Vec<Step> = config
        .history
        .iter()
        .map(|h| {
            let layer = if h.empty_layer { None } else { layers.next() };
            Step {
                created: h.created.clone(),
                created_by: h.created_by.clone().unwrap_or_default(),
                size: layer.map_or(0, |l| l.diff_size),
                comment: h.comment.clone().unwrap_or_default(),
                layer: layer.map(|l| l.diff_id.clone()),
            }
        })
        .collect();
    // Layers the history does not describe (images built without it).
    for l in layers {
        steps.push(Step {
            created: None,
            created_by: String::new(),
            size: l.diff_size,
            comment: String::new(),
            layer: Some(l.diff_id.clone()),
        });
    }
    steps.reverse();
    Ok(steps)
}
