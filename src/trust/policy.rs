//! containers-policy.json(5): the trust policy, parsed strictly.
//!
//! Unknown fields, unknown requirement types, a `signedBy` with two key sources or none, and a
//! malformed scope all fail the whole file with its `file:line:col` — a policy palisade cannot
//! read exactly is never treated as "accept". Scopes of `transports.docker` are matched most
//! specific first (containers/image `docker.policyConfigurationNamespaces`).

use super::TrustError;
use crate::image::Reference;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The system-wide policy file (containers-policy.json(5)).
pub const SYSTEM_POLICY: &str = "/etc/containers/policy.json";

/// Transports containers-policy.json(5) knows; only `docker` is evaluated by palisade.
const KNOWN_TRANSPORTS: &[&str] =
    &["docker", "atomic", "containers-storage", "dir", "docker-archive", "docker-daemon", "oci", "oci-archive", "sif", "tarball"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Vec<Requirement>,
    #[serde(default)]
    transports: UniqueMap<UniqueMap<Vec<Requirement>>>,
}

/// A JSON object whose duplicate keys are an error (serde_json keeps the last one silently,
/// which would let a second `"docker.io"` scope quietly replace the first).
#[derive(Debug, Default)]
struct UniqueMap<V>(BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = BTreeMap::new();
                while let Some(key) = access.next_key::<String>()? {
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    let value = access.next_value()?;
                    map.insert(key, value);
                }
                Ok(UniqueMap(map))
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// One policy requirement (containers-policy.json(5) "Policy Requirements").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Requirement {
    #[serde(rename = "insecureAcceptAnything")]
    InsecureAcceptAnything {},
    #[serde(rename = "reject")]
    Reject {},
    #[serde(rename = "signedBy", rename_all = "camelCase")]
    SignedBy {
        key_type: String,
        key_path: Option<PathBuf>,
        key_paths: Option<Vec<PathBuf>>,
        key_data: Option<String>,
        signed_identity: Option<SignedIdentity>,
    },
    #[serde(rename = "sigstoreSigned", rename_all = "camelCase")]
    SigstoreSigned {
        key_path: Option<PathBuf>,
        key_paths: Option<Vec<PathBuf>>,
        key_data: Option<String>,
        key_datas: Option<Vec<String>>,
        fulcio: Option<serde_json::Value>,
        pki: Option<serde_json::Value>,
        rekor_public_key_path: Option<PathBuf>,
        rekor_public_key_paths: Option<Vec<PathBuf>>,
        rekor_public_key_data: Option<String>,
        rekor_public_key_datas: Option<Vec<String>>,
        signed_identity: Option<SignedIdentity>,
    },
}

/// `signedIdentity`: how the signed docker-reference must relate to the image's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum SignedIdentity {
    #[serde(rename = "matchExact")]
    MatchExact {},
    #[serde(rename = "matchRepoDigestOrExact")]
    MatchRepoDigestOrExact {},
    #[serde(rename = "matchRepository")]
    MatchRepository {},
    #[serde(rename = "exactReference", rename_all = "camelCase")]
    ExactReference { docker_reference: String },
    #[serde(rename = "exactRepository", rename_all = "camelCase")]
    ExactRepository { docker_repository: String },
    #[serde(rename = "remapIdentity", rename_all = "camelCase")]
    RemapIdentity { prefix: String, signed_prefix: String },
}

impl std::fmt::Display for SignedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignedIdentity::MatchExact {} => write!(f, "matchExact"),
            SignedIdentity::MatchRepoDigestOrExact {} => write!(f, "matchRepoDigestOrExact"),
            SignedIdentity::MatchRepository {} => write!(f, "matchRepository"),
            SignedIdentity::ExactReference { docker_reference } => write!(f, "exactReference {docker_reference}"),
            SignedIdentity::ExactRepository { docker_repository } => write!(f, "exactRepository {docker_repository}"),
            SignedIdentity::RemapIdentity { prefix, signed_prefix } => write!(f, "remapIdentity {prefix} -> {signed_prefix}"),
        }
    }
}

/// Where a requirement's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Paths(Vec<PathBuf>),
    Data(Vec<Vec<u8>>),
}

/// A validated requirement, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    AcceptAnything,
    Reject,
    /// GPG simple signing, verified against these keys.
    Gpg {
        keys: KeySource,
        identity: SignedIdentity,
    },
    /// cosign signatures with public keys.
    Cosign {
        keys: KeySource,
        identity: SignedIdentity,
    },
    /// A form palisade parses but does not implement (Fulcio, PKI, Rekor): always refused.
    Unsupported {
        what: String,
    },
}

impl Check {
    /// The requirement's name as the policy spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Check::AcceptAnything => "insecureAcceptAnything",
            Check::Reject => "reject",
            Check::Gpg { .. } => "signedBy",
            Check::Cosign { .. } | Check::Unsupported { .. } => "sigstoreSigned",
        }
    }
}

/// The scope that decided a reference's requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `transports.docker["<scope>"]` (the empty string is the transport's default).
    Docker(String),
    /// The top-level `default`.
    Default,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Docker(s) if s.is_empty() => write!(f, "transports.docker[\"\"] (the docker transport's default)"),
            Scope::Docker(s) => write!(f, "transports.docker[\"{s}\"]"),
            Scope::Default => write!(f, "default"),
        }
    }
}

/// A parsed, validated trust policy.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// The file it came from (for messages), or `<inline>`.
    pub origin: String,
    pub default: Vec<Check>,
    pub docker: BTreeMap<String, Vec<Check>>,
}

impl TrustPolicy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<TrustPolicy, TrustError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| TrustError::Io { op: "read", path: path.display().to_string(), source })?;
        TrustPolicy::parse(&text, &path.display().to_string(), path.parent())
    }

    /// Parses policy text; relative key paths are resolved against `base` (the file's directory).
    pub fn parse(text: &str, origin: &str, base: Option<&Path>) -> Result<TrustPolicy, TrustError> {
        let at = |line: usize, column: usize, why: String| TrustError::Policy { file: origin.to_string(), line, column, why };
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawPolicy = deserialize_raw(&mut de).map_err(|e| at(e.line(), e.column(), e.to_string()))?;
        de.end().map_err(|e| at(e.line(), e.column(), e.to_string()))?;
        // Positions of semantic errors: the first occurrence of the offending scope's key.
        let locate = |needle: &str| -> (usize, usize) {
            let off = text.find(needle).unwrap_or(0);
            let line = text[..off].matches('\n').count() + 1;
            let column = off - text[..off].rfind('\n').map_or(0, |i| i + 1) + 1;
            (line, column)
        };
        let fail = |needle: &str, why: String| {
            let (l, c) = locate(needle);
            at(l, c, why)
        };
        if raw.default.is_empty() {
            return Err(fail("\"default\"", "`default` must list at least one requirement (an empty list would accept anything)".into()));
        }
        let default = raw.default.iter().map(|r| lower(r, base)).collect::<Result<Vec<_>, _>>().map_err(|why| fail("\"default\"", why))?;
        let mut docker = BTreeMap::new();
        for (transport, scopes) in &raw.transports.0 {
            if !KNOWN_TRANSPORTS.contains(&transport.as_str()) {
                return Err(fail(&format!("\"{transport}\""), format!("unknown transport `{transport}`")));
            }
            for (scope, reqs) in &scopes.0 {
                let key = format!("\"{scope}\"");
                if reqs.is_empty() {
                    return Err(fail(&key, format!("scope `{scope}` lists no requirement (an empty list would accept anything)")));
                }
                let checks = reqs
                    .iter()
                    .map(|r| lower(r, base))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|why| fail(&key, format!("scope `{scope}`: {why}")))?;
                if transport == "docker" {
                    validate_docker_scope(scope).map_err(|why| fail(&key, why))?;
                    docker.insert(scope.clone(), checks);
                }
            }
        }
        Ok(TrustPolicy { origin: origin.to_string(), default, docker })
    }

    /// The requirements for `reference` and the scope they come from: the most specific
    /// `transports.docker` scope, else its `""` default, else the top-level `default`.
    pub fn requirements_for(&self, reference: &Reference) -> (&[Check], Scope) {
        for scope in scope_candidates(reference) {
            if let Some(reqs) = self.docker.get(&scope) {
                return (reqs, Scope::Docker(scope));
            }
        }
        if let Some(reqs) = self.docker.get("") {
            return (reqs, Scope::Docker(String::new()));
        }
        (&self.default, Scope::Default)
    }
}

/// serde_json's errors carry the line and column of the offending token.
fn deserialize_raw(de: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>) -> Result<RawPolicy, serde_json::Error> {
    RawPolicy::deserialize(de)
}

/// Scopes to try for a docker reference, most specific first: the full reference (with tag or
/// digest), the repository, each parent namespace, the registry host, then `*.domain`
/// wildcards from the longest sub-domain to the shortest.
pub fn scope_candidates(reference: &Reference) -> Vec<String> {
    let mut out = Vec::new();
    let name = reference.name();
    if let Some(d) = &reference.digest {
        out.push(format!("{name}@{d}"));
    } else if let Some(t) = &reference.tag {
        out.push(format!("{name}:{t}"));
    }
    let mut current = name.as_str();
    loop {
        out.push(current.to_string());
        match current.rfind('/') {
            Some(i) => current = &current[..i],
            None => break,
        }
    }
    // Wildcards apply to the host without its port, as in containers/image.
    let host = reference.registry.rsplit_once(':').map_or(reference.registry.as_str(), |(h, _)| h);
    let mut rest = host;
    while let Some((_, parent)) = rest.split_once('.') {
        out.push(format!("*.{parent}"));
        rest = parent;
    }
    out
}

fn validate_docker_scope(scope: &str) -> Result<(), String> {
    if scope.is_empty() {
        return Ok(());
    }
    if let Some(domain) = scope.strip_prefix("*.") {
        if domain.is_empty() || domain.contains(['*', '/', ':', '@']) {
            return Err(format!("scope `{scope}`: a wildcard scope is `*.` followed by a domain"));
        }
        return Ok(());
    }
    if scope.contains('*') {
        return Err(format!("scope `{scope}`: `*` is only allowed as the leading `*.` of a domain"));
    }
    if scope.ends_with('/') || scope.contains("//") {
        return Err(format!("scope `{scope}`: empty path component"));
    }
    Ok(())
}

fn key_source(
    paths: Vec<(&str, Option<Vec<PathBuf>>)>,
    datas: Vec<(&str, Option<Vec<String>>)>,
    base: Option<&Path>,
) -> Result<KeySource, String> {
    let given: Vec<&str> = paths
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| *n)
        .chain(datas.iter().filter(|(_, v)| v.is_some()).map(|(n, _)| *n))
        .collect();
    if given.len() != 1 {
        let names: Vec<&str> = paths.iter().map(|(n, _)| *n).chain(datas.iter().map(|(n, _)| *n)).collect();
        return Err(format!(
            "exactly one of {} is required (found {})",
            names.join(", "),
            if given.is_empty() { "none".into() } else { given.join(" and ") }
        ));
    }
    for (name, v) in paths {
        if let Some(v) = v {
            if v.is_empty() {
                return Err(format!("`{name}` is empty"));
            }
            let resolved = v.into_iter().map(|p| if p.is_relative() { base.map_or(p.clone(), |b| b.join(&p)) } else { p }).collect();
            return Ok(KeySource::Paths(resolved));
        }
    }
    for (name, v) in datas {
        if let Some(v) = v {
            if v.is_empty() {
                return Err(format!("`{name}` is empty"));
            }
            let decoded = v
                .iter()
                .map(|d| base64::engine::general_purpose::STANDARD.decode(d.trim()).map_err(|e| format!("`{name}` is not base64: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(KeySource::Data(decoded));
        }
    }
    unreachable!("one source was counted above")
}

fn validate_identity(identity: &Option<SignedIdentity>) -> Result<SignedIdentity, String> {
    let identity = identity.clone().unwrap_or(SignedIdentity::MatchRepoDigestOrExact {});
    match &identity {
        SignedIdentity::ExactReference { docker_reference } => {
            let r: Reference = docker_reference.parse().map_err(|e| format!("exactReference: {e}"))?;
            // A bare name would silently mean `:latest`; the man page requires a tag or digest.
            if !docker_reference.contains([':', '@']) || (r.tag.is_none() && r.digest.is_none()) {
                return Err(format!("exactReference `{docker_reference}` must name a tag or digest"));
            }
        }
        SignedIdentity::ExactRepository { docker_repository } => {
            if docker_repository.contains('@') || docker_repository.rsplit('/').next().is_some_and(|l| l.contains(':')) {
                return Err(format!("exactRepository `{docker_repository}` must not name a tag or digest"));
            }
            docker_repository.parse::<Reference>().map_err(|e| format!("exactRepository: {e}"))?;
        }
        SignedIdentity::RemapIdentity { prefix, signed_prefix } => {
            for p in [prefix, signed_prefix] {
                if p.is_empty() || p.contains(['@']) || p.ends_with('/') {
                    return Err(format!("remapIdentity prefix `{p}` must be a host or host/namespace"));
                }
            }
        }
        _ => {}
    }
    Ok(identity)
}

fn lower(req: &Requirement, base: Option<&Path>) -> Result<Check, String> {
    Ok(match req.clone() {
        Requirement::InsecureAcceptAnything {} => Check::AcceptAnything,
        Requirement::Reject {} => Check::Reject,
        Requirement::SignedBy { key_type, key_path, key_paths, key_data, signed_identity } => {
            if key_type != "GPGKeys" {
                return Err(format!("signedBy keyType `{key_type}` is not supported (only GPGKeys is defined)"));
            }
            let keys = key_source(
                vec![("keyPath", key_path.map(|p| vec![p])), ("keyPaths", key_paths)],
                vec![("keyData", key_data.map(|d| vec![d]))],
                base,
            )?;
            Check::Gpg { keys, identity: validate_identity(&signed_identity)? }
        }
        Requirement::SigstoreSigned {
            key_path,
            key_paths,
            key_data,
            key_datas,
            fulcio,
            pki,
            rekor_public_key_path,
            rekor_public_key_paths,
            rekor_public_key_data,
            rekor_public_key_datas,
            signed_identity,
        } => {
            let identity = validate_identity(&signed_identity)?;
            let mut unsupported = Vec::new();
            if fulcio.is_some() {
                unsupported.push("fulcio");
            }
            if pki.is_some() {
                unsupported.push("pki");
            }
            if rekor_public_key_path.is_some()
                || rekor_public_key_paths.is_some()
                || rekor_public_key_data.is_some()
                || rekor_public_key_datas.is_some()
            {
                unsupported.push("rekorPublicKey*");
            }
            if !unsupported.is_empty() {
                return Ok(Check::Unsupported { what: format!("sigstoreSigned with {} is not supported by palisade (keyless and transparency-log verification are not implemented); images under this scope are refused", unsupported.join(", ")) });
            }
            let keys = key_source(
                vec![("keyPath", key_path.map(|p| vec![p])), ("keyPaths", key_paths)],
                vec![("keyData", key_data.map(|d| vec![d])), ("keyDatas", key_datas)],
                base,
            )?;
            Check::Cosign { keys, identity }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TrustPolicy, TrustError> {
        TrustPolicy::parse(text, "policy.json", None)
    }

    fn reference(s: &str) -> Reference {
        s.parse().unwrap()
    }

    #[test]
    fn unknown_field_fails_with_location() {
        let err = parse("{\n  \"default\": [{\"type\": \"reject\"}],\n  \"transports\": {\"docker\": {\"a.io\": [\n    {\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"/k\", \"keyPth\": \"/x\"}]}}\n}").unwrap_err();
        let TrustError::Policy { file, line, why, .. } = &err else { panic!("{err}") };
        assert_eq!((file.as_str(), *line), ("policy.json", 4), "{err}");
        assert!(why.contains("keyPth"), "{err}");
        let err = parse("{\"default\": [{\"type\": \"reject\"}], \"extra\": 1}").unwrap_err();
        assert!(err.to_string().contains("policy.json:1:"), "{err}");
        assert!(parse("{\"default\": [{\"type\": \"acceptAll\"}]}").is_err());
        assert!(parse("{\"default\": [{\"type\": \"reject\", \"x\": 1}]}").is_err());
        assert!(parse("{\"default\": [{\"type\": \"insecureAcceptAnything\", \"keyPath\": \"/k\"}]}").is_err());
        assert!(parse("{\"default\": []}").is_err());
        assert!(parse("{\"default\": [{\"type\": \"reject\"}]} x").is_err());
        assert!(parse("{\"transports\": {}}").is_err(), "default is required");
        let err = parse("{\"default\": [{\"type\": \"reject\"}],\n \"transports\": {\"docker\": {\"a.io\": [{\"type\": \"reject\"}],\n \"a.io\": [{\"type\": \"insecureAcceptAnything\"}]}}}").unwrap_err();
        assert!(err.to_string().contains("policy.json:3:") && err.to_string().contains("duplicate key `a.io`"), "{err}");
        assert!(parse("{\"default\": [{\"type\": \"reject\"}], \"default\": [{\"type\": \"reject\"}]}").is_err());
    }

    #[test]
    fn key_sources_are_exclusive_and_identities_validated() {
        let one = |req: &str| parse(&format!("{{\"default\": [{req}]}}"));
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys"}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","keyData":"AA=="}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"X509Certificates","keyPath":"/a"}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys","keyData":"!!"}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys","keyPaths":[]}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"exactReference","dockerReference":"a.io/b"}}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"exactRepository","dockerRepository":"a.io/b:1"}}"#).is_err());
        assert!(one(r#"{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"matchExact","extra":1}}"#).is_err());
        let p = one(r#"{"type":"signedBy","keyType":"GPGKeys","keyPaths":["k1","/k2"],"signedIdentity":{"type":"remapIdentity","prefix":"a.io/x","signedPrefix":"b.io/y"}}"#).unwrap();
        assert_eq!(p.default[0].kind(), "signedBy");
        let p = TrustPolicy::parse(
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"k1"}]}"#,
            "/etc/x/policy.json",
            Some(Path::new("/etc/x")),
        )
        .unwrap();
        assert!(
            matches!(&p.default[0], Check::Gpg { keys: KeySource::Paths(v), identity: SignedIdentity::MatchRepoDigestOrExact {} } if v == &[PathBuf::from("/etc/x/k1")])
        );
        assert!(one(r#"{"type":"sigstoreSigned","keyPath":"/a","keyDatas":["AA=="]}"#).is_err());
        assert!(matches!(one(r#"{"type":"sigstoreSigned","keyDatas":["AA=="]}"#).unwrap().default[0], Check::Cosign { .. }));
        let p = one(r#"{"type":"sigstoreSigned","fulcio":{"caPath":"/ca","oidcIssuer":"x","subjectEmail":"y"},"rekorPublicKeyPath":"/r"}"#)
            .unwrap();
        assert!(matches!(&p.default[0], Check::Unsupported { what } if what.contains("fulcio")));
    }

    #[test]
    fn most_specific_scope_wins() {
        let p = parse(
            r#"{"default":[{"type":"reject"}],"transports":{"docker":{
                "":[{"type":"insecureAcceptAnything"}],
                "*.example.com":[{"type":"reject"}],
                "*.b.example.com":[{"type":"insecureAcceptAnything"},{"type":"reject"}],
                "a.example.com/team":[{"type":"insecureAcceptAnything"}],
                "a.example.com/team/app:v1":[{"type":"reject"}]},
              "docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}"#,
        )
        .unwrap();
        let scope = |r: &str| p.requirements_for(&reference(r)).1.to_string();
        assert_eq!(scope("a.example.com/team/app:v1"), "transports.docker[\"a.example.com/team/app:v1\"]");
        assert_eq!(scope("a.example.com/team/app:v2"), "transports.docker[\"a.example.com/team\"]");
        assert_eq!(scope("a.example.com:5000/team/app"), "transports.docker[\"*.example.com\"]", "a port is not the same registry");
        assert_eq!(scope("x.b.example.com/app"), "transports.docker[\"*.b.example.com\"]");
        assert_eq!(scope("example.com/app"), "transports.docker[\"\"] (the docker transport's default)");
        assert_eq!(scope("busybox"), "transports.docker[\"\"] (the docker transport's default)");
        assert!(parse(r#"{"default":[{"type":"reject"}],"transports":{"docker":{"a*.io":[{"type":"reject"}]}}}"#).is_err());
        assert!(parse(r#"{"default":[{"type":"reject"}],"transports":{"ftp":{"":[{"type":"reject"}]}}}"#).is_err());
        let p = parse(r#"{"default":[{"type":"reject"}]}"#).unwrap();
        assert_eq!(p.requirements_for(&reference("busybox")).1, Scope::Default);
    }

    #[test]
    fn candidates_order() {
        assert_eq!(
            scope_candidates(&reference("reg.example.com:5000/a/b:t")),
            [
                "reg.example.com:5000/a/b:t",
                "reg.example.com:5000/a/b",
                "reg.example.com:5000/a",
                "reg.example.com:5000",
                "*.example.com",
                "*.com"
            ]
        );
    }
}
