//! Signatures from the real places: cosign signatures from the registry (through the image
//! engineer's [`registry::Client`]), GPG signatures from the registries.d(5) lookaside.

use super::registries_d::{signature_url, Lookaside};
use super::verify::{CosignSignature, SignatureStore, Subject};
use super::{cosign, gpg, TrustError};
use crate::image::manifest::Document;
use crate::image::registry::{Client, RegistryError};
use std::io::Read;

/// At most this many lookaside signatures are read per image (c/image stops at the first gap).
const MAX_SIGNATURES: usize = 64;

/// A registry connection plus the lookaside configuration.
pub struct RegistryStore<'a> {
    pub client: &'a Client,
    pub lookaside: &'a Lookaside,
}

fn fetch_err(subject: &Subject, why: String) -> TrustError {
    TrustError::Fetch { image: subject.reference.to_string(), why }
}

/// Reads one lookaside URL; `None` when it does not exist (the end of the list).
fn read_url(url: &str) -> Result<Option<Vec<u8>>, String> {
    if let Some(path) = url.strip_prefix("file://") {
        return match std::fs::File::open(path) {
            Ok(f) => {
                let mut buf = Vec::new();
                f.take(gpg::MAX_SIGNATURE as u64 + 1).read_to_end(&mut buf).map_err(|e| format!("{url}: {e}"))?;
                Ok(Some(buf))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{url}: {e}")),
        };
    }
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(std::time::Duration::from_secs(30))).build().into();
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    match response.status().as_u16() {
        200 => {
            response.body_mut().with_config().limit(gpg::MAX_SIGNATURE as u64).read_to_vec().map(Some).map_err(|e| format!("{url}: {e}"))
        }
        404 => Ok(None),
        s => Err(format!("{url}: HTTP {s}")),
    }
}

impl SignatureStore for RegistryStore<'_> {
    fn gpg(&self, subject: &Subject) -> Result<Vec<Vec<u8>>, TrustError> {
        let Some(base) = self.lookaside.url_for(&subject.reference) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for n in 1..=MAX_SIGNATURES {
            match read_url(&signature_url(base, &subject.reference, &subject.digest, n)).map_err(|why| fetch_err(subject, why))? {
                Some(bytes) => out.push(bytes),
                None => break,
            }
        }
        Ok(out)
    }

    fn cosign(&self, subject: &Subject) -> Result<Vec<CosignSignature>, TrustError> {
        let tag = cosign::signature_tag(&subject.digest);
        let fetched = match self.client.manifest(&tag) {
            Ok(m) => m,
            Err(RegistryError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let Document::Manifest(manifest) = fetched.document else {
            return Err(fetch_err(subject, format!("{tag} is an index, not a signature manifest")));
        };
        let mut out = Vec::new();
        for layer in manifest.layers.iter().filter(|l| l.media_type == cosign::SIMPLESIGNING) {
            let Some(signature) = layer.annotations.get(cosign::SIGNATURE_ANNOTATION) else { continue };
            if layer.size > gpg::MAX_SIGNATURE as u64 {
                return Err(fetch_err(subject, format!("{tag}: payload {} is too large", layer.digest)));
            }
            let mut payload = Vec::new();
            self.client
                .blob(&layer.digest, layer.size)?
                .read_to_end(&mut payload)
                .map_err(|e| fetch_err(subject, format!("{tag}: blob {}: {e}", layer.digest)))?;
            // The registry is untrusted: the payload must be the blob the manifest names.
            if crate::image::Digest::of(&payload) != layer.digest || payload.len() as u64 != layer.size {
                return Err(fetch_err(subject, format!("{tag}: blob {} does not match its digest", layer.digest)));
            }
            out.push(CosignSignature { payload, signature: signature.clone() });
        }
        Ok(out)
    }
}
