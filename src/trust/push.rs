//! Storing a cosign signature: the signature image (one simple-signing layer per signature,
//! under the `sha256-<hex>.sig` tag) is built here, then written as an OCI image layout or
//! pushed with the distribution API's push endpoints (distribution-spec "Pushing blobs",
//! "Pushing manifests"). The image engineer's client only pulls, so the push lives here, and
//! only for registries that need no credentials to push (loopback test and CI registries);
//! others get a clear error and the layout route.

use super::cosign::{SIGNATURE_ANNOTATION, SIMPLESIGNING};
use super::TrustError;
use crate::image::manifest::media;
use crate::image::{Digest, Reference};
use serde_json::{json, Value};
use std::path::Path;

/// A signature image: blobs and manifest bytes.
pub struct SignatureImage {
    pub blobs: Vec<Vec<u8>>,
    pub manifest: Vec<u8>,
}

/// Builds the signature image: the layers of `existing` (an earlier `.sig` manifest, whose
/// signatures are kept) plus one layer for `payload` — unless that exact signature is there.
pub fn build(existing: Option<&Value>, payload: &[u8], signature: &str) -> SignatureImage {
    let payload_digest = Digest::of(payload);
    let mut layers: Vec<Value> = existing.and_then(|m| m["layers"].as_array().cloned()).unwrap_or_default();
    let duplicate = layers.iter().any(|l| l["digest"] == payload_digest.to_string() && l["annotations"][SIGNATURE_ANNOTATION] == signature);
    if !duplicate {
        layers.push(json!({"mediaType": SIMPLESIGNING, "digest": payload_digest.to_string(), "size": payload.len(), "annotations": {SIGNATURE_ANNOTATION: signature}}));
    }
    let diff_ids: Vec<Value> = layers.iter().map(|l| l["digest"].clone()).collect();
    let config =
        serde_json::to_vec(&json!({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}))
            .expect("serializes");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": Digest::of(&config).to_string(), "size": config.len()},
        "layers": layers,
    }))
    .expect("serializes");
    SignatureImage { blobs: vec![payload.to_vec(), config], manifest }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> TrustError + 'a {
    move |source| TrustError::Io { op, path: path.display().to_string(), source }
}

/// Writes the signature image as an OCI image layout in `dir`, tagged `tag`.
pub fn write_layout(dir: &Path, tag: &str, image: &SignatureImage) -> Result<(), TrustError> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(io("create", &blobs))?;
    for b in image.blobs.iter().chain(std::iter::once(&image.manifest)) {
        let path = blobs.join(Digest::of(b).hex());
        std::fs::write(&path, b).map_err(io("write", &path))?;
    }
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": media::OCI_MANIFEST, "digest": Digest::of(&image.manifest).to_string(), "size": image.manifest.len(), "annotations": {"org.opencontainers.image.ref.name": tag}}]});
    let layout = dir.join("oci-layout");
    std::fs::write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io("write", &layout))?;
    let index_path = dir.join("index.json");
    std::fs::write(&index_path, serde_json::to_vec(&index).expect("serializes")).map_err(io("write", &index_path))
}

/// A minimal push client for one repository.
pub struct Pusher {
    agent: ureq::Agent,
    base: String,
    reference: Reference,
}

impl Pusher {
    /// Picks the scheme as the pull client does: HTTPS, or plain HTTP for loopback registries
    /// and those named with `--insecure-registry`.
    pub fn connect(reference: &Reference, insecure: &[String]) -> Result<Pusher, TrustError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        let host = reference.api_host().to_string();
        let plain_ok = reference.is_loopback() || insecure.iter().any(|r| r == &reference.registry || r == &host);
        let mut last = String::new();
        for scheme in ["https", "http"] {
            if scheme == "http" && !plain_ok {
                break;
            }
            let base = format!("{scheme}://{host}");
            match agent.get(format!("{base}/v2/")).call() {
                Ok(r) if r.status().is_success() => return Ok(Pusher { agent, base, reference: reference.clone() }),
                Ok(r) if r.status().as_u16() == 401 => return Err(fail(
                    reference,
                    "the registry requires authentication; pushing with credentials is not implemented: use --output DIR and `skopeo copy`"
                        .into(),
                )),
                Ok(r) => last = format!("{base}/v2/: HTTP {}", r.status()),
                Err(e) => last = format!("{base}/v2/: {e}"),
            }
        }
        Err(fail(reference, last))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.reference.repository)
    }

    /// The current manifest under `tag`, if any.
    pub fn existing(&self, tag: &str) -> Result<Option<Value>, TrustError> {
        let url = self.url(&format!("manifests/{tag}"));
        let mut r =
            self.agent.get(&url).header("Accept", media::OCI_MANIFEST).call().map_err(|e| fail(&self.reference, format!("{url}: {e}")))?;
        match r.status().as_u16() {
            200 => {
                let body = r
                    .body_mut()
                    .with_config()
                    .limit(crate::image::registry::MAX_MANIFEST)
                    .read_to_vec()
                    .map_err(|e| fail(&self.reference, format!("{url}: {e}")))?;
                serde_json::from_slice(&body).map(Some).map_err(|e| fail(&self.reference, format!("{url}: malformed manifest: {e}")))
            }
            404 => Ok(None),
            s => Err(fail(&self.reference, format!("{url}: HTTP {s}"))),
        }
    }

    fn blob(&self, bytes: &[u8]) -> Result<(), TrustError> {
        let digest = Digest::of(bytes);
        let head = self.url(&format!("blobs/{digest}"));
        if self.agent.head(&head).call().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        let start = self.url("blobs/uploads/");
        let r = self.agent.post(&start).send_empty().map_err(|e| fail(&self.reference, format!("{start}: {e}")))?;
        if r.status().as_u16() != 202 {
            return Err(fail(&self.reference, format!("{start}: HTTP {}", r.status())));
        }
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| fail(&self.reference, format!("{start}: no Location")))?;
        let location = if location.starts_with('/') { format!("{}{location}", self.base) } else { location.to_string() };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let r = self
            .agent
            .put(&put)
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .map_err(|e| fail(&self.reference, format!("upload {digest}: {e}")))?;
        if r.status().as_u16() != 201 {
            return Err(fail(&self.reference, format!("upload {digest}: HTTP {}", r.status())));
        }
        Ok(())
    }

    /// Pushes the blobs, then the manifest under `tag`.
    pub fn push(&self, tag: &str, image: &SignatureImage) -> Result<(), TrustError> {
        for b in &image.blobs {
            self.blob(b)?;
        }
        let url = self.url(&format!("manifests/{tag}"));
        let r = self
            .agent
            .put(&url)
            .header("Content-Type", media::OCI_MANIFEST)
            .send(&image.manifest[..])
            .map_err(|e| fail(&self.reference, format!("{url}: {e}")))?;
        if r.status().as_u16() != 201 {
            return Err(fail(&self.reference, format!("{url}: HTTP {}", r.status())));
        }
        Ok(())
    }
}

fn fail(reference: &Reference, why: String) -> TrustError {
    TrustError::Push { image: reference.name(), why }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_accumulate_once_each() {
        let first = build(None, b"p1", "s1");
        let m1: Value = serde_json::from_slice(&first.manifest).unwrap();
        assert_eq!(m1["layers"].as_array().unwrap().len(), 1);
        let second = build(Some(&m1), b"p2", "s2");
        let m2: Value = serde_json::from_slice(&second.manifest).unwrap();
        assert_eq!(m2["layers"].as_array().unwrap().len(), 2);
        assert_eq!(m2["layers"][0]["annotations"][SIGNATURE_ANNOTATION], "s1");
        let again = build(Some(&m2), b"p2", "s2");
        assert_eq!(again.manifest, second.manifest, "the same signature is not added twice");
    }
}
