//! Content trust: containers-policy.json(5) trust policies, GPG simple signing (lookaside,
//! registries.d(5)) and cosign signatures (in the registry), evaluated fail-closed.
//!
//! ```text
//! policy.json ──policy──▶ scope + requirements ──verify──▶ Decision
//!                                    │ signatures: registry (cosign .sig tag), lookaside (GPG)
//!                                    ▼ signature checked first, then payload: type, digest, identity
//! ```

pub mod cosign;
pub mod gpg;
pub mod identity;
pub mod payload;
pub mod policy;
pub mod push;
pub mod registries_d;
pub mod store;
pub mod verify;

pub use policy::TrustPolicy;
pub use verify::{evaluate, Decision, Subject};

/// The trust policy as `palisade pull`'s admission check.
#[derive(Debug)]
pub struct PullGate {
    pub policy: TrustPolicy,
    pub lookaside: registries_d::Lookaside,
}

impl PullGate {
    /// Admits the image `reference` names at `digest` (its top-level manifest or index) if its
    /// signatures in `client`'s registry and the lookaside satisfy the policy: the check of a
    /// pull, and of a `run` of an image already in the store (re-verified by its stored digest).
    pub fn admit_digest(
        &self,
        client: &crate::image::registry::Client,
        reference: &crate::image::Reference,
        digest: &crate::image::Digest,
    ) -> Result<(), String> {
        let subject = Subject { reference: reference.clone(), digest: digest.clone() };
        let store = store::RegistryStore { client, lookaside: &self.lookaside };
        match evaluate(&self.policy, &subject, &store, chrono::Utc::now()) {
            Ok(d) if d.accepted => Ok(()),
            Ok(d) => Err(d.summary()),
            // No decision (unreadable key, unreachable lookaside): refused, fail closed.
            Err(e) => Err(format!("cannot verify: {e}")),
        }
    }
}

impl crate::image::pull::Gate for PullGate {
    fn admit(
        &self,
        client: &crate::image::registry::Client,
        reference: &crate::image::Reference,
        top: &crate::image::registry::FetchedManifest,
    ) -> Result<(), String> {
        self.admit_digest(client, reference, &top.digest)
    }
}

/// Errors of content trust: each names the file, key or image concerned. A refusal is not an
/// error (see [`verify::Decision`]); these are the cases where no decision could be made.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{file}:{line}:{column}: {why}")]
    Policy { file: String, line: usize, column: usize, why: String },
    #[error("{file}:{line}: {why}")]
    RegistriesD { file: String, line: usize, why: String },
    #[error("{which}: {why}")]
    Key { which: String, why: String },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("signatures of {image}: {why}")]
    Fetch { image: String, why: String },
    #[error("pushing the signature of {image}: {why}")]
    Push { image: String, why: String },
    #[error(transparent)]
    Registry(#[from] crate::image::registry::RegistryError),
}
