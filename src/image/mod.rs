//! Images: pulled from registries, kept in a content-addressed store, unpacked into shared
//! read-only layer directories that become overlayfs lower dirs.
//!
//! ```text
//! Reference ──registry::Client──▶ manifest / index ──platform──▶ manifest
//!                                   │ config + layer blobs (streamed, hashed, size-capped)
//!                                   ▼
//!                     store: tmp/ ──verify──▶ blobs/sha256/<hex>
//!                                   │ unpack (hostile input: fd-relative, no symlink follows)
//!                                   ▼
//!                     store: tmp/ ──diff id──▶ layers/sha256/<diff id>
//!                                   │ all present, synced
//!                                   ▼
//!                     images.json (atomic, locked): image, tag, reference counts
//! ```
//!
//! One file per job: [`digest`], [`reference`], [`manifest`], [`platform`], [`auth`],
//! [`registry`], [`progress`], [`store`], [`unpack`], [`pull`], [`remove`], [`archive`]
//! (save/load), [`rootfs`] (import/export) and [`history`]/[`inspect`] views.

pub mod archive;
pub mod auth;
pub mod commit;
pub mod container;
pub mod digest;
pub mod inspect;
pub mod manifest;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod reference;
pub mod registry;
pub mod remove;
pub mod rootfs;
pub mod store;
pub mod unpack;

pub use digest::Digest;
pub use reference::Reference;
pub use store::Store;

/// Errors of the image verbs, each naming the image, layer or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Unpack(#[from] unpack::UnpackError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error("{reference}: no manifest for platform {wanted} (the index has: {available})")]
    Platform { reference: String, wanted: String, available: String },
    #[error("{reference}: {why}")]
    NotAnImage { reference: String, why: String },
    #[error("{reference}: refused by the trust policy: {why}")]
    Untrusted { reference: String, why: String },
    #[error("image {0}: not in the store")]
    NotFound(String),
    #[error("image {image} is used by container(s) {containers}; stop and remove them, or use -f")]
    InUse { image: String, containers: String },
    #[error("image {image} has several tags ({tags}); name one, or use -f to remove the image")]
    MultipleTags { image: String, tags: String },
    #[error("container {container}: {why}")]
    Container { container: String, why: String },
    #[error("{path}: {why}")]
    Archive { path: String, why: String },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ImageError {
    pub(crate) fn io<'a>(op: &'static str, path: &'a std::path::Path) -> impl FnOnce(std::io::Error) -> ImageError + 'a {
        move |source| ImageError::Io { op, path: path.display().to_string(), source }
    }
}

/// Seconds since the epoch (for `added` stamps).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
