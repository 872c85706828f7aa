//! Manifest, index and image-config types: OCI image-spec v1.1 and Docker's image manifest
//! v2 schema 2 (the same shape with other media types). Parsing is tolerant of unknown fields
//! but strict about what palisade relies on: schemaVersion 2, a mediaType that agrees with the
//! document's shape, digests in their strict form. Schema 1 manifests are refused.

use super::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Media types palisade reads and writes.
pub mod media {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const DOCKER_LAYER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    pub const OCI_LAYER_NONDIST: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    pub const OCI_LAYER_NONDIST_GZIP: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    pub const OCI_LAYER_NONDIST_ZSTD: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
    pub const SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// The Accept header for manifests: OCI types first (distribution 2.8 serves an
    /// OCI-pushed manifest only to a client that names the OCI type).
    pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From a layer media type; `None` for a type that is not a filesystem layer.
    pub fn of_layer(media_type: &str) -> Option<Compression> {
        use media::*;
        match media_type {
            OCI_LAYER | OCI_LAYER_NONDIST => Some(Compression::None),
            OCI_LAYER_GZIP | DOCKER_LAYER_GZIP | DOCKER_LAYER_FOREIGN | OCI_LAYER_NONDIST_GZIP => Some(Compression::Gzip),
            OCI_LAYER_ZSTD | OCI_LAYER_NONDIST_ZSTD => Some(Compression::Zstd),
            // docker-archive layers and `docker save` output.
            "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            _ => None,
        }
    }

    /// From the first bytes of a blob (gzip and zstd magic numbers; anything else is a tar).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A content descriptor (image-spec descriptor.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Descriptor {
        Descriptor { media_type: media_type.to_string(), digest, size, urls: vec![], annotations: BTreeMap::new(), platform: None }
    }
}

/// A platform as an index names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A manifest document, by its shape.
#[derive(Debug, Clone)]
pub enum Document {
    Manifest(Manifest),
    Index(Index),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest schema 1 is not supported (deprecated, unverifiable); push the image again with a current client")]
    Schema1,
    #[error("unsupported manifest media type `{0}`")]
    MediaType(String),
    #[error("manifest schemaVersion {0} (expected 2)")]
    Version(u32),
    #[error("malformed manifest: {0}")]
    Json(#[source] serde_json::Error),
    #[error("the manifest's mediaType `{declared}` disagrees with the Content-Type `{served}`")]
    Mismatch { declared: String, served: String },
}

impl Document {
    /// Parses a manifest or index. `content_type` is what the server said (if anything);
    /// the document's own `mediaType` and shape must agree with it.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Document, ManifestError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            schema_version: Option<u32>,
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        let served =
            content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string()).filter(|c| !c.is_empty() && c != "application/json");
        if probe.schema_version == Some(1)
            || served.as_deref().is_some_and(|c| c.starts_with("application/vnd.docker.distribution.manifest.v1"))
        {
            return Err(ManifestError::Schema1);
        }
        if let (Some(declared), Some(served)) = (&probe.media_type, &served) {
            if declared != served {
                return Err(ManifestError::Mismatch { declared: declared.clone(), served: served.clone() });
            }
        }
        let kind = probe.media_type.or(served);
        let is_index = match kind.as_deref() {
            Some(media::OCI_INDEX | media::DOCKER_LIST) => true,
            Some(media::OCI_MANIFEST | media::DOCKER_MANIFEST) => false,
            Some(other) => return Err(ManifestError::MediaType(other.to_string())),
            None => probe.manifests.is_some(),
        };
        let doc = if is_index {
            Document::Index(serde_json::from_slice(bytes).map_err(ManifestError::Json)?)
        } else {
            Document::Manifest(serde_json::from_slice(bytes).map_err(ManifestError::Json)?)
        };
        let version = match &doc {
            Document::Index(i) => i.schema_version,
            Document::Manifest(m) => m.schema_version,
        };
        if version != 2 {
            return Err(ManifestError::Version(version));
        }
        Ok(doc)
    }
}

/// The image configuration (image-spec config.md; Docker's is a superset).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// The defaults a container of the image runs with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

/// One step of the image's build history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl ImageConfig {
    /// Parses a config blob and checks the one invariant unpacking relies on: a layered
    /// rootfs with a diff id per layer of the manifest.
    pub fn parse(bytes: &[u8], layers: usize) -> Result<ImageConfig, String> {
        let config: ImageConfig = serde_json::from_slice(bytes).map_err(|e| format!("malformed image config: {e}"))?;
        if config.rootfs.kind != "layers" {
            return Err(format!("image config rootfs.type is `{}` (expected `layers`)", config.rootfs.kind));
        }
        if config.rootfs.diff_ids.len() != layers {
            return Err(format!("image config lists {} diff ids for {layers} layers", config.rootfs.diff_ids.len()));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
      "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}"#;

    #[test]
    fn parses_docker_and_oci_shapes() {
        let Document::Manifest(m) = Document::parse(DOCKER.as_bytes(), Some(media::DOCKER_MANIFEST)).unwrap() else { panic!() };
        assert_eq!(m.layers.len(), 1);
        assert_eq!(Compression::of_layer(&m.layers[0].media_type), Some(Compression::Gzip));
        let index = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#;
        let Document::Index(i) = Document::parse(index.as_bytes(), Some(media::OCI_INDEX)).unwrap() else { panic!() };
        assert_eq!(i.manifests[0].platform.as_ref().unwrap().variant.as_deref(), Some("v8"));
    }

    #[test]
    fn refuses_schema1_and_disagreement() {
        assert!(matches!(Document::parse(br#"{"schemaVersion":1,"fsLayers":[]}"#, None), Err(ManifestError::Schema1)));
        assert!(matches!(Document::parse(DOCKER.as_bytes(), Some(media::OCI_MANIFEST)), Err(ManifestError::Mismatch { .. })));
        assert!(matches!(
            Document::parse(br#"{"schemaVersion":2,"mediaType":"text/html","config":{}}"#, None),
            Err(ManifestError::MediaType(_))
        ));
    }
}
