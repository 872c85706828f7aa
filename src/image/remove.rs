//! `rmi` and `tag`: reference-counted removal and naming.
//!
//! Removal runs under the exclusive gc lock (it waits for running pulls, which may have just
//! decided to reuse a blob) and commits the metadata before deleting files: a crash in
//! between leaves unreferenced files that `system check` removes, never a dangling reference.

use super::digest::Digest;
use super::reference::Reference;
use super::store::{remove_any, Store};
use super::ImageError;

/// What an `rmi` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Removed {
    pub untagged: Vec<String>,
    /// The image's manifest digest, if the image itself was removed.
    pub deleted: Option<Digest>,
    pub blobs_removed: usize,
    pub layers_removed: usize,
}

/// Containers (by id) whose root is built from the image with manifest `manifest`.
///
/// The hook between images and containers: a container that uses an image records the
/// image's manifest digest in `<root>/containers/<id>/image` for as long as it exists.
pub fn containers_using(store: &Store, manifest: &Digest) -> Vec<String> {
    let dir = store.root().join("containers");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut users: Vec<String> = entries
        .flatten()
        .filter(|e| std::fs::read_to_string(e.path().join("image")).is_ok_and(|s| s.trim() == manifest.to_string()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    users.sort();
    users
}

/// Removes `name`: a tag of an image with other tags is only untagged; otherwise the image
/// goes, and with it every blob and layer no other image references. Refused for an image a
/// container uses, and for an image id with several tags, unless `force`.
pub fn rmi(store: &Store, name: &str, force: bool) -> Result<Removed, ImageError> {
    let _gc = store.lock_gc_exclusive()?;
    let (removed, released) = store.update_meta(|meta| {
        let record = meta.resolve(name).ok_or_else(|| ImageError::NotFound(name.to_string()))?.clone();
        let tags = meta.tags_of(&record.manifest);
        let by_tag = name
            .parse::<Reference>()
            .ok()
            .and_then(|r| if r.digest.is_none() { r.tagged_name() } else { None })
            .filter(|t| tags.contains(t));
        let mut removed = Removed::default();
        if let Some(tag) = &by_tag {
            if tags.len() > 1 {
                meta.tags.remove(tag);
                removed.untagged.push(tag.clone());
                return Ok((removed, None));
            }
        } else if tags.len() > 1 && !force {
            return Err(ImageError::MultipleTags { image: name.to_string(), tags: tags.join(", ") });
        }
        let users = containers_using(store, &record.manifest);
        if !users.is_empty() && !force {
            return Err(ImageError::InUse { image: name.to_string(), containers: users.join(", ") });
        }
        removed.untagged = tags;
        removed.deleted = Some(record.manifest.clone());
        let released = meta.remove_image(&record.manifest);
        Ok((removed, Some(released)))
    })?;
    let mut removed = removed;
    if let Some(released) = released {
        for b in &released.blobs {
            remove_any(&store.blob_path(b))?;
        }
        for l in &released.layers {
            remove_any(&store.layer_path(l))?;
        }
        removed.blobs_removed = released.blobs.len();
        removed.layers_removed = released.layers.len();
    }
    Ok(removed)
}

/// Adds the tag `target` (`[registry/]repo[:tag]`) to the image `source`.
pub fn tag(store: &Store, source: &str, target: &str) -> Result<String, ImageError> {
    let target: Reference = target.parse()?;
    if target.digest.is_some() {
        return Err(ImageError::NotAnImage { reference: target.to_string(), why: "a tag cannot contain a digest".into() });
    }
    let name = target.tagged_name().expect("a reference without a digest has a tag");
    store.update_meta(|meta| {
        let manifest = meta.resolve(source).ok_or_else(|| ImageError::NotFound(source.to_string()))?.manifest.clone();
        meta.tags.insert(name.clone(), manifest);
        Ok::<_, ImageError>(())
    })?;
    Ok(name)
}
