//! registries.d(5): where GPG signatures of a registry's images live (the "lookaside").
//!
//! Every `*.yaml` of the directory is read; `default-docker` applies to all registries, and a
//! `docker` namespace entry applies to references under it, the most specific winning.
//! Keys palisade does not know fail the file: a misspelt `lookaside` must not silently turn
//! "look for signatures there" into "there are no signatures".

use super::TrustError;
use crate::image::Reference;
use crate::lint::tree::{parse_yaml, Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The system directory (registries.d(5)).
pub const SYSTEM_DIR: &str = "/etc/containers/registries.d";

const KNOWN_KEYS: &[&str] = &["lookaside", "lookaside-staging", "sigstore", "sigstore-staging", "use-sigstore-attachments"];

/// The lookaside configuration of all files of a registries.d directory.
#[derive(Debug, Clone, Default)]
pub struct Lookaside {
    default: Option<String>,
    namespaces: BTreeMap<String, String>,
}

impl Lookaside {
    /// Reads every `*.yaml` in `dir`; a missing directory is an empty configuration.
    pub fn load(dir: &Path) -> Result<Lookaside, TrustError> {
        let mut out = Lookaside::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => return Err(TrustError::Io { op: "read directory", path: dir.display().to_string(), source }),
        };
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
        files.sort();
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|source| TrustError::Io { op: "read", path: file.display().to_string(), source })?;
            out.add(&text, &file.display().to_string())?;
        }
        Ok(out)
    }

    /// Adds one file's configuration.
    pub fn add(&mut self, text: &str, origin: &str) -> Result<(), TrustError> {
        let err = |offset: usize, why: String| {
            let line = text[..offset.min(text.len())].matches('\n').count() + 1;
            TrustError::RegistriesD { file: origin.to_string(), line, why }
        };
        let docs = parse_yaml(text).map_err(|e| err(e.offset, e.message.clone()))?;
        for doc in &docs {
            let Value::Map(entries) = &doc.value else {
                if matches!(doc.value, Value::Null) {
                    continue;
                }
                return Err(err(doc.range.start, "expected a mapping".into()));
            };
            for (k, v) in entries {
                match k.as_str() {
                    Some("default-docker") => {
                        if let Some(u) = entry(v).map_err(|(o, w)| err(o, w))? {
                            if self.default.replace(u).is_some() {
                                return Err(err(k.range.start, "default-docker is defined twice".into()));
                            }
                        }
                    }
                    Some("docker") => {
                        let Value::Map(ns) = &v.value else {
                            return Err(err(v.range.start, "`docker` must map namespaces to settings".into()));
                        };
                        for (name, settings) in ns {
                            let Some(name) = name.as_str() else { return Err(err(name.range.start, "namespace must be a string".into())) };
                            if let Some(u) = entry(settings).map_err(|(o, w)| err(o, w))? {
                                if self.namespaces.insert(name.to_string(), u).is_some() {
                                    return Err(err(settings.range.start, format!("namespace `{name}` is defined twice")));
                                }
                            }
                        }
                    }
                    _ => {
                        return Err(err(
                            k.range.start,
                            format!("unknown key `{}` (expected default-docker or docker)", k.as_str().unwrap_or("?")),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// The lookaside URL for `reference`: the most specific namespace, else `default-docker`.
    pub fn url_for(&self, reference: &Reference) -> Option<&str> {
        let name = reference.name();
        let mut current = name.as_str();
        loop {
            if let Some(u) = self.namespaces.get(current) {
                return Some(u);
            }
            match current.rfind('/') {
                Some(i) => current = &current[..i],
                None => break,
            }
        }
        self.default.as_deref()
    }
}

/// One settings block: its reading lookaside URL (`lookaside`, or the older `sigstore`).
fn entry(v: &Node) -> Result<Option<String>, (usize, String)> {
    let Value::Map(settings) = &v.value else { return Err((v.range.start, "settings must be a mapping".into())) };
    let mut url = None;
    for (k, val) in settings {
        let key = k.as_str().unwrap_or("");
        if !KNOWN_KEYS.contains(&key) {
            return Err((k.range.start, format!("unknown key `{key}` (known: {})", KNOWN_KEYS.join(", "))));
        }
        if key == "lookaside" || key == "sigstore" {
            let Some(u) = val.as_str() else { return Err((val.range.start, format!("`{key}` must be a URL string"))) };
            if !(u.starts_with("file://") || u.starts_with("http://") || u.starts_with("https://")) {
                return Err((val.range.start, format!("`{key}`: `{u}` is not a file://, http:// or https:// URL")));
            }
            if url.replace(u.trim_end_matches('/').to_string()).is_some() {
                return Err((k.range.start, "both lookaside and sigstore given".into()));
            }
        }
    }
    Ok(url)
}

/// The URL of signature number `n` (from 1) of `digest` in `reference`'s repository.
pub fn signature_url(base: &str, reference: &Reference, digest: &crate::image::Digest, n: usize) -> String {
    format!("{base}/{}@sha256={}/signature-{n}", reference.repository, digest.hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_namespace() {
        let mut l = Lookaside::default();
        l.add("default-docker:\n  lookaside: file:///d\ndocker:\n  reg.io/team:\n    lookaside: https://sigs.example/team/\n    lookaside-staging: file:///s\n", "a.yaml").unwrap();
        let r: Reference = "reg.io/team/app:1".parse().unwrap();
        assert_eq!(l.url_for(&r), Some("https://sigs.example/team"));
        assert_eq!(l.url_for(&"other.io/x".parse().unwrap()), Some("file:///d"));
        let d = crate::image::Digest::of(b"m");
        assert_eq!(signature_url("file:///d", &r, &d, 1), format!("file:///d/team/app@sha256={}/signature-1", d.hex()));
        let err = Lookaside::default().add("default-docker:\n  lookasid: file:///d\n", "b.yaml").unwrap_err();
        assert!(err.to_string().contains("b.yaml:2") && err.to_string().contains("lookasid"), "{err}");
        assert!(Lookaside::default().add("docker:\n  r.io:\n    lookaside: ftp://x\n", "c.yaml").is_err());
    }
}
