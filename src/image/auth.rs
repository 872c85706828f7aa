//! Registry credentials and authentication challenges.
//!
//! Credentials come from, in order: palisade's own file (written by `palisade login`:
//! `$PALISADE_AUTH_FILE`, else `$XDG_CONFIG_HOME/palisade/auth.json`, else
//! `~/.config/palisade/auth.json`), the containers auth file (containers-auth.json(5):
//! `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `~/.config/containers/auth.json`) and Docker's (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`). All share one shape: `{"auths": {KEY: {"auth": base64(user:pass)}}}`;
//! a KEY may be a registry, a `registry/namespace` scope (most specific wins) or a Docker-style URL.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, even in debug output.
        write!(f, "Credentials {{ username: {:?}, password: <redacted> }}", self.username)
    }
}

impl Credentials {
    /// The `Authorization: Basic …` value.
    pub fn basic(&self) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.username, self.password)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("credentials file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials file {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("credentials file {path}: entry `{key}`: `auth` is not base64 of USER:PASSWORD")]
    Entry { path: PathBuf, key: String },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// Where `palisade login` writes.
pub fn palisade_auth_file() -> Option<PathBuf> {
    if let Some(p) = env_path("PALISADE_AUTH_FILE") {
        return Some(p);
    }
    let config = env_path("XDG_CONFIG_HOME").or_else(|| home().map(|h| h.join(".config")))?;
    Some(config.join("palisade/auth.json"))
}

/// An environment variable as a path; empty counts as unset (XDG Base Directory spec).
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

/// Every file looked in, in order.
pub fn search_path() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = palisade_auth_file().into_iter().collect();
    files.extend(env_path("REGISTRY_AUTH_FILE"));
    if let Some(p) = env_path("XDG_RUNTIME_DIR") {
        files.push(p.join("containers/auth.json"));
    }
    if let Some(h) = home() {
        files.push(h.join(".config/containers/auth.json"));
    }
    match env_path("DOCKER_CONFIG") {
        Some(d) => files.push(d.join("config.json")),
        None => files.extend(home().map(|h| h.join(".docker/config.json"))),
    }
    files
}

/// `https://index.docker.io/v1/` → `docker.io`; `https://host/v2/` → `host`; scopes kept.
fn normalize_key(key: &str) -> String {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let k = if key.contains("://") { k.split('/').next().unwrap_or(k) } else { k.trim_end_matches('/') };
    match k {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_lowercase(),
    }
}

fn read_file(path: &Path) -> Result<Option<AuthFile>, AuthError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| AuthError::Json { path: path.to_path_buf(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuthError::Io { path: path.to_path_buf(), source }),
    }
}

fn decode(path: &Path, key: &str, auth: &str) -> Result<Credentials, AuthError> {
    let bad = || AuthError::Entry { path: path.to_path_buf(), key: key.to_string() };
    let raw = base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (u, p) = text.split_once(':').ok_or_else(bad)?;
    Ok(Credentials { username: u.to_string(), password: p.to_string() })
}

/// The credentials for `registry/repository` from the first file that has an entry for it
/// (the most specific key within a file).
pub fn lookup(registry: &str, repository: &str) -> Result<Option<Credentials>, AuthError> {
    lookup_in(&search_path(), registry, repository)
}

/// As [`lookup`], in the given files.
pub fn lookup_in(files: &[PathBuf], registry: &str, repository: &str) -> Result<Option<Credentials>, AuthError> {
    let full = format!("{registry}/{repository}");
    for path in files {
        let Some(file) = read_file(path)? else { continue };
        let best = file
            .auths
            .iter()
            .filter_map(|(k, e)| e.auth.as_ref().filter(|a| !a.is_empty()).map(|a| (normalize_key(k), k, a)))
            .filter(|(n, _, _)| n == registry || (full.starts_with(n.as_str()) && full.as_bytes().get(n.len()) == Some(&b'/')))
            .max_by_key(|(n, _, _)| n.len());
        if let Some((_, key, auth)) = best {
            return decode(path, key, auth).map(Some);
        }
    }
    Ok(None)
}

/// Stores credentials for `registry` in palisade's file (mode 0600, written atomically).
pub fn store(registry: &str, creds: &Credentials) -> Result<PathBuf, AuthError> {
    update(registry, Some(creds))
}

/// Removes `registry`'s entry from palisade's file; whether there was one.
pub fn remove(registry: &str) -> Result<bool, AuthError> {
    let Some(path) = palisade_auth_file() else { return Ok(false) };
    let had = read_file(&path)?.is_some_and(|f| f.auths.keys().any(|k| normalize_key(k) == registry));
    if had {
        update(registry, None)?;
    }
    Ok(had)
}

fn update(registry: &str, creds: Option<&Credentials>) -> Result<PathBuf, AuthError> {
    let path = palisade_auth_file().ok_or_else(|| AuthError::Io {
        path: PathBuf::from("~/.config/palisade/auth.json"),
        source: std::io::Error::other("neither HOME nor PALISADE_AUTH_FILE is set"),
    })?;
    let io = |source| AuthError::Io { path: path.clone(), source };
    let mut file = read_file(&path)?.unwrap_or_default();
    file.auths.retain(|k, _| normalize_key(k) != registry);
    if let Some(c) = creds {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password));
        file.auths.insert(registry.to_string(), AuthEntry { auth: Some(auth), other: BTreeMap::new() });
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(".auth.json.{}", std::process::id()));
    {
        use std::os::unix::fs::OpenOptionsExt;
        // 0600 from creation: the secret is never readable by others, not even briefly.
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        f.write_all(&serde_json::to_vec_pretty(&file).expect("auth file serializes")).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}

/// A parsed `WWW-Authenticate` challenge (RFC 7235): scheme and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercase: `bearer` or `basic`.
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parses `Bearer realm="…",service="…",scope="…"` (quoted values may hold commas).
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = BTreeMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
            if key.is_empty() {
                break;
            }
            if chars.next() != Some('=') {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_string();
            }
            params.insert(key.trim().to_lowercase(), value);
        }
        Some(Challenge { scheme: scheme.to_lowercase(), params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c =
            Challenge::parse(r#"Bearer realm="https://auth.example/token",service="reg,istry",scope="repository:a/b:pull,push""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["service"], "reg,istry");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
        let b = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!((b.scheme.as_str(), b.params["realm"].as_str()), ("basic", "Registry Realm"));
    }

    #[test]
    fn looks_up_the_most_specific_entry_across_formats() {
        let dir = tempfile::tempdir().unwrap();
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let docker = dir.path().join("config.json");
        std::fs::write(
            &docker,
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}},"localhost:5000":{{"auth":"{}"}}}},"credsStore":"x"}}"#,
                enc("hub:pw"),
                enc("a:b")
            ),
        )
        .unwrap();
        let containers = dir.path().join("auth.json");
        std::fs::write(&containers, format!(r#"{{"auths":{{"localhost:5000/team":{{"auth":"{}"}}}}}}"#, enc("team:pw:with:colons")))
            .unwrap();
        let files = vec![containers.clone(), docker.clone()];
        assert_eq!(lookup_in(&files, "docker.io", "library/busybox").unwrap().unwrap().username, "hub");
        let team = lookup_in(&files, "localhost:5000", "team/app").unwrap().unwrap();
        assert_eq!((team.username.as_str(), team.password.as_str()), ("team", "pw:with:colons"));
        assert_eq!(lookup_in(&files, "localhost:5000", "other/app").unwrap().unwrap().username, "a");
        assert!(lookup_in(&files, "localhost:5000", "teamx/app").unwrap().unwrap().username == "a");
        assert!(lookup_in(&files, "quay.io", "x").unwrap().is_none());
        assert!(!format!("{team:?}").contains("pw"));
    }
}
