//! `save` and `load`: images to and from OCI archives (an OCI image layout in a tar, as
//! skopeo's `oci-archive:`) and docker-archives (`docker save`'s format).
//!
//! Loading is pulling from a file: every blob is hashed into the store (content addressed,
//! unreferenced until the image is recorded), OCI blob names must match their digests, and
//! layers go through the same unpacker and diff-id check as a pull.

pub mod docker;
pub mod load;
pub mod oci;

use super::digest::Digest;
use super::store::{ImageRecord, Store};
use super::ImageError;
use std::io::{Read, Write};

/// An image chosen for saving, with the names to record for it.
pub struct Saved {
    pub record: ImageRecord,
    /// `registry/repository:tag` names.
    pub tags: Vec<String>,
}

/// Resolves the names given to `save`.
pub fn resolve(store: &Store, names: &[String]) -> Result<Vec<Saved>, ImageError> {
    let meta = store.load_meta()?;
    let mut out: Vec<Saved> = Vec::new();
    for name in names {
        let record = meta.resolve(name).ok_or_else(|| ImageError::NotFound(name.clone()))?.clone();
        // A name that is a tag saves that tag; an id saves all the image's tags.
        let tags = match name
            .parse::<super::Reference>()
            .ok()
            .and_then(|r| r.tagged_name())
            .filter(|t| meta.tags.get(t) == Some(&record.manifest))
        {
            Some(t) => vec![t],
            None => meta.tags_of(&record.manifest),
        };
        match out.iter_mut().find(|s| s.record.manifest == record.manifest) {
            Some(s) => s.tags.extend(tags),
            None => out.push(Saved { record, tags }),
        }
    }
    Ok(out)
}

/// Appends a regular file entry (mode 0644, owner 0, mtime 0: archives are reproducible).
pub(crate) fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, size: u64, data: impl Read) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data)
}

/// Appends a stored blob under `path`.
pub(crate) fn append_blob<W: Write>(tar: &mut tar::Builder<W>, store: &Store, path: &str, digest: &Digest) -> Result<(), ImageError> {
    let file = store.open_blob(digest)?;
    let blob_path = store.blob_path(digest);
    let size = file.metadata().map_err(ImageError::io("stat", &blob_path))?.len();
    append(tar, path, size, file).map_err(ImageError::io("write archive entry for", &blob_path))
}
