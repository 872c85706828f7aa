//! Evaluating a trust policy for one image: the scope's requirements, each of which must pass.
//! A signature requirement passes when at least one signature verifies with a trusted key
//! (checked before its payload is parsed), is of the right type, names this manifest digest,
//! and names an identity the requirement's `signedIdentity` accepts.

use super::policy::{Check, KeySource, Scope, SignedIdentity, TrustPolicy};
use super::{cosign, gpg, payload, TrustError};
use crate::image::{Digest, Reference};
use serde::Serialize;

/// The image being verified: its reference and the digest of the manifest it resolves to.
#[derive(Debug, Clone)]
pub struct Subject {
    pub reference: Reference,
    pub digest: Digest,
}

/// A cosign signature as stored: the payload bytes and the base64 signature annotation.
#[derive(Debug, Clone)]
pub struct CosignSignature {
    pub payload: Vec<u8>,
    pub signature: String,
}

/// Where signatures come from (the registry and lookaside, or fixtures in tests).
pub trait SignatureStore {
    /// The GPG simple signatures of the subject (lookaside `signature-1`, `-2`, …).
    fn gpg(&self, subject: &Subject) -> Result<Vec<Vec<u8>>, TrustError>;
    /// The cosign signatures of the subject (`sha256-<hex>.sig`).
    fn cosign(&self, subject: &Subject) -> Result<Vec<CosignSignature>, TrustError>;
}

/// The result of one requirement.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub requirement: &'static str,
    pub accepted: bool,
    pub detail: String,
}

/// The decision for one image.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub reference: String,
    pub digest: String,
    pub accepted: bool,
    pub scope: String,
    pub policy: String,
    pub requirements: Vec<Outcome>,
}

impl Decision {
    /// One line naming the image, the scope and the requirement that failed.
    pub fn summary(&self) -> String {
        if self.accepted {
            return format!("{}@{}: accepted by {} of {}", self.reference, self.digest, self.scope, self.policy);
        }
        let failed: Vec<String> =
            self.requirements.iter().filter(|o| !o.accepted).map(|o| format!("{}: {}", o.requirement, o.detail)).collect();
        format!("{}@{}: refused by {} of {}: {}", self.reference, self.digest, self.scope, self.policy, failed.join("; "))
    }
}

fn read_key_sources(keys: &KeySource) -> Result<Vec<Vec<u8>>, TrustError> {
    match keys {
        KeySource::Data(d) => Ok(d.clone()),
        KeySource::Paths(paths) => paths
            .iter()
            .map(|p| std::fs::read(p).map_err(|source| TrustError::Io { op: "read key", path: p.display().to_string(), source }))
            .collect(),
    }
}

/// Checks a verified payload: type, manifest digest, identity.
fn check_claim(bytes: &[u8], kind: &str, subject: &Subject, identity: &SignedIdentity) -> Result<(), String> {
    let claim = payload::parse(bytes, kind)?;
    if claim.digest != subject.digest {
        return Err(format!("the signature is for manifest {}, not {}", claim.digest, subject.digest));
    }
    if !super::identity::matches(identity, &subject.reference, &claim.reference)? {
        return Err(format!("the signed identity {} does not satisfy {identity} for {}", claim.reference, subject.reference));
    }
    Ok(())
}

fn eval_gpg(
    keys: &KeySource,
    identity: &SignedIdentity,
    subject: &Subject,
    store: &dyn SignatureStore,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<String, String>, TrustError> {
    let mut trusted = Vec::new();
    for (i, bytes) in read_key_sources(keys)?.iter().enumerate() {
        trusted.extend(gpg::load_keys(bytes).map_err(|why| TrustError::Key { which: format!("signedBy key #{}", i + 1), why })?);
    }
    let signatures = store.gpg(subject)?;
    if signatures.is_empty() {
        return Ok(Err("no GPG signature found".into()));
    }
    let mut why = Vec::new();
    for (i, sig) in signatures.iter().enumerate() {
        // The OpenPGP signature first; the payload is parsed only if it verified.
        let result =
            gpg::verify(sig, &trusted, now).and_then(|(data, fpr)| check_claim(&data, payload::ATOMIC, subject, identity).map(|()| fpr));
        match result {
            Ok(fpr) => return Ok(Ok(format!("signature-{} by key {fpr}", i + 1))),
            Err(e) => why.push(format!("signature-{}: {e}", i + 1)),
        }
    }
    Ok(Err(why.join("; ")))
}

fn eval_cosign(
    keys: &KeySource,
    identity: &SignedIdentity,
    subject: &Subject,
    store: &dyn SignatureStore,
) -> Result<Result<String, String>, TrustError> {
    let trusted = read_key_sources(keys)?
        .iter()
        .enumerate()
        .map(|(i, k)| cosign::parse_public_key(k).map_err(|why| TrustError::Key { which: format!("sigstoreSigned key #{}", i + 1), why }))
        .collect::<Result<Vec<_>, _>>()?;
    let signatures = store.cosign(subject)?;
    if signatures.is_empty() {
        return Ok(Err(format!("no cosign signature found (tag {})", cosign::signature_tag(&subject.digest))));
    }
    let mut why = Vec::new();
    for (i, sig) in signatures.iter().enumerate() {
        let verified = trusted.iter().position(|k| cosign::verify(k, &sig.payload, &sig.signature).is_ok());
        let result = match verified {
            None => Err("the signature does not verify with any trusted key".to_string()),
            Some(k) => check_claim(&sig.payload, payload::COSIGN, subject, identity).map(|()| k),
        };
        match result {
            Ok(k) => return Ok(Ok(format!("cosign signature #{} by key #{}", i + 1, k + 1))),
            Err(e) => why.push(format!("cosign signature #{}: {e}", i + 1)),
        }
    }
    Ok(Err(why.join("; ")))
}

/// Evaluates `policy` for `subject`. Errors are operational (unreadable key, unreachable
/// signature store); a refusal is a `Decision` with `accepted: false`.
pub fn evaluate(
    policy: &TrustPolicy,
    subject: &Subject,
    store: &dyn SignatureStore,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Decision, TrustError> {
    let (checks, scope) = policy.requirements_for(&subject.reference);
    let mut outcomes = Vec::new();
    for check in checks {
        let result = match check {
            Check::AcceptAnything => Ok("insecureAcceptAnything".to_string()),
            Check::Reject => Err("the policy rejects every image in this scope".to_string()),
            Check::Unsupported { what } => Err(what.clone()),
            Check::Gpg { keys, identity } => eval_gpg(keys, identity, subject, store, now)?,
            Check::Cosign { keys, identity } => eval_cosign(keys, identity, subject, store)?,
        };
        outcomes.push(match result {
            Ok(detail) => Outcome { requirement: check.kind(), accepted: true, detail },
            Err(detail) => Outcome { requirement: check.kind(), accepted: false, detail },
        });
    }
    Ok(Decision {
        reference: subject.reference.to_string(),
        digest: subject.digest.to_string(),
        // Every requirement must pass; `checks` is never empty (the parser refuses empty lists).
        accepted: !outcomes.is_empty() && outcomes.iter().all(|o| o.accepted),
        scope: scope_name(&scope),
        policy: policy.origin.clone(),
        requirements: outcomes,
    })
}

fn scope_name(scope: &Scope) -> String {
    scope.to_string()
}
