//! The simple-signing payload (containers/image docs/containers-signature.5.md), shared by GPG
//! and cosign signatures. Parsed only after its signature was verified; unknown critical
//! members are refused, so a future field that would narrow the signature is never ignored.

use crate::image::{Digest, Reference};
use serde::{Deserialize, Serialize};

/// The `critical.type` of a GPG simple signature.
pub const ATOMIC: &str = "atomic container signature";
/// The `critical.type` of a cosign signature.
pub const COSIGN: &str = "cosign container image signature";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    pub critical: Critical,
    #[serde(default)]
    pub optional: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Critical {
    #[serde(rename = "type")]
    pub kind: String,
    pub image: ImageField,
    pub identity: IdentityField,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageField {
    #[serde(rename = "docker-manifest-digest")]
    pub digest: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityField {
    #[serde(rename = "docker-reference")]
    pub reference: String,
}

/// What a verified payload vouches for.
#[derive(Debug, Clone)]
pub struct Claim {
    pub digest: Digest,
    pub reference: Reference,
}

/// Parses verified payload bytes and checks the type; the caller checks digest and identity.
pub fn parse(bytes: &[u8], expected_type: &str) -> Result<Claim, String> {
    let p: Payload = serde_json::from_slice(bytes).map_err(|e| format!("malformed signature payload: {e}"))?;
    if p.critical.kind != expected_type {
        return Err(format!("signature type is `{}`, expected `{expected_type}`", p.critical.kind));
    }
    let digest = p.critical.image.digest.parse::<Digest>().map_err(|e| format!("docker-manifest-digest: {e}"))?;
    let reference = parse_signed_reference(&p.critical.identity.reference)?;
    Ok(Claim { digest, reference })
}

/// A signed docker-reference. Unlike a reference typed by a user, a bare name stays bare
/// (cosign signs `registry/repo` without a tag): it must not be read as `:latest`.
pub fn parse_signed_reference(s: &str) -> Result<Reference, String> {
    let mut r = s.parse::<Reference>().map_err(|e| format!("docker-reference: {e}"))?;
    let last = s.rsplit('/').next().unwrap_or(s);
    if !last.contains(':') && !last.contains('@') {
        r.tag = None;
    }
    Ok(r)
}

/// The payload palisade signs: `reference`'s identity for `digest`.
pub fn build(kind: &str, reference: &Reference, digest: &Digest) -> Vec<u8> {
    let p = Payload {
        critical: Critical {
            kind: kind.to_string(),
            image: ImageField { digest: digest.to_string() },
            identity: IdentityField { reference: reference.to_string() },
        },
        optional: None,
    };
    serde_json::to_vec(&p).expect("payload serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_payload() {
        let d = Digest::of(b"m");
        let good = build(COSIGN, &"reg.io/a:1".parse().unwrap(), &d);
        let c = parse(&good, COSIGN).unwrap();
        assert_eq!(c.digest, d);
        assert!(parse(&good, ATOMIC).unwrap_err().contains("type"));
        let extra = format!(
            r#"{{"critical":{{"type":"{ATOMIC}","image":{{"docker-manifest-digest":"{d}"}},"identity":{{"docker-reference":"reg.io/a:1"}},"expires":1}},"optional":{{}}}}"#
        );
        assert!(parse(extra.as_bytes(), ATOMIC).unwrap_err().contains("expires"));
        let extra = format!(
            r#"{{"critical":{{"type":"{ATOMIC}","image":{{"docker-manifest-digest":"{d}","x":1}},"identity":{{"docker-reference":"reg.io/a:1"}}}},"optional":{{}}}}"#
        );
        assert!(parse(extra.as_bytes(), ATOMIC).is_err());
        let ok = format!(
            r#"{{"critical":{{"type":"{ATOMIC}","image":{{"docker-manifest-digest":"{d}"}},"identity":{{"docker-reference":"reg.io/a:1"}}}},"optional":{{"creator":"x"}}}}"#
        );
        assert!(parse(ok.as_bytes(), ATOMIC).is_ok());
        assert_eq!(parse_signed_reference("reg.io/a").unwrap().tag, None);
        assert_eq!(parse_signed_reference("reg.io:5000/a").unwrap().tag, None);
        assert_eq!(parse_signed_reference("reg.io/a:v1").unwrap().tag.as_deref(), Some("v1"));
    }
}
