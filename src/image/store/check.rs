//! `palisade system check`: brings a store back to a consistent state after a crash (a pull
//! or rmi killed at any point) and reports what it did.
//!
//! Invariants restored, in order: no staging files; every image's blobs and layers present
//! (else the image is dropped, to be pulled again); tags point at existing images; reference
//! counts equal those computed from the images; no blob or layer that no image references.

use super::{remove_any, Store, StoreError};
use crate::image::digest::{Digest, HashingReader};
use std::collections::BTreeSet;
use std::io;

/// What a check found and repaired.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub staging_removed: usize,
    /// Container directories of runs that were killed (their lock was free).
    pub containers_removed: Vec<String>,
    pub images_removed: Vec<String>,
    pub tags_removed: Vec<String>,
    pub refcounts_fixed: bool,
    pub orphan_blobs_removed: Vec<Digest>,
    pub orphan_layers_removed: Vec<Digest>,
    pub corrupt_blobs: Vec<Digest>,
    pub images: usize,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.staging_removed == 0
            && self.containers_removed.is_empty()
            && self.images_removed.is_empty()
            && self.tags_removed.is_empty()
            && !self.refcounts_fixed
            && self.orphan_blobs_removed.is_empty()
            && self.orphan_layers_removed.is_empty()
            && self.corrupt_blobs.is_empty()
    }
}

/// Checks and repairs the store. With `verify`, every referenced blob is re-hashed too.
pub fn check(store: &Store, verify: bool) -> Result<Report, StoreError> {
    // Waits for running pulls: everything found unreferenced from here on is garbage.
    let _gc = store.lock_gc_exclusive()?;
    let _meta_lock = store.lock_meta()?;
    let mut report = Report {
        staging_removed: store.clear_staging()?,
        containers_removed: crate::image::container::remove_stale(store),
        ..Report::default()
    };
    let mut meta = store.load_meta()?;

    // Images whose content is gone (or corrupt) cannot be used: drop them.
    let mut corrupt = BTreeSet::new();
    if verify {
        for d in meta.images.values().flat_map(|i| i.blobs()).collect::<BTreeSet<_>>() {
            if store.has_blob(&d) && !blob_intact(store, &d)? {
                corrupt.insert(d);
            }
        }
    }
    let broken: Vec<Digest> = meta
        .images
        .values()
        .filter(|i| i.blobs().iter().any(|b| !store.has_blob(b) || corrupt.contains(b)) || i.diff_ids().iter().any(|l| !store.has_layer(l)))
        .map(|i| i.manifest.clone())
        .collect();
    for m in &broken {
        let names = meta.tags_of(m);
        report.images_removed.push(if names.is_empty() { m.to_string() } else { names.join(", ") });
        meta.remove_image(m);
    }
    report.corrupt_blobs = corrupt.into_iter().collect();
    let dangling: Vec<String> = meta.tags.iter().filter(|(_, d)| !meta.images.contains_key(*d)).map(|(t, _)| t.clone()).collect();
    for t in &dangling {
        meta.tags.remove(t);
    }
    report.tags_removed = dangling;
    let (blob_refs, layer_refs) = meta.computed_refs();
    if blob_refs != meta.blob_refs || layer_refs != meta.layer_refs {
        report.refcounts_fixed = true;
        meta.blob_refs = blob_refs;
        meta.layer_refs = layer_refs;
    }
    report.images = meta.images.len();
    // Metadata first: a crash during the deletions below leaves only more orphans.
    store.save_meta(&meta)?;

    for d in &report.corrupt_blobs {
        remove_any(&store.blob_path(d))?;
    }
    for (dir, refs, out) in [
        ("blobs/sha256", &meta.blob_refs, &mut report.orphan_blobs_removed),
        ("layers/sha256", &meta.layer_refs, &mut report.orphan_layers_removed),
    ] {
        let path = store.root().join(dir);
        for entry in std::fs::read_dir(&path).map_err(super::io_err("read", &path))? {
            let entry = entry.map_err(super::io_err("read", &path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            match format!("sha256:{name}").parse::<Digest>() {
                Ok(d) if refs.contains_key(&d) => {}
                parsed => {
                    remove_any(&entry.path())?;
                    if let Ok(d) = parsed {
                        out.push(d);
                    }
                }
            }
        }
    }
    Ok(report)
}

fn blob_intact(store: &Store, d: &Digest) -> Result<bool, StoreError> {
    let file = store.open_blob(d)?;
    let (actual, _) =
        HashingReader::new(io::BufReader::with_capacity(1 << 20, file)).finish().map_err(super::io_err("read", &store.blob_path(d)))?;
    Ok(&actual == d)
}
