//! A client of the distribution API v2 (distribution-spec v1.1 "pull" endpoints): manifests by
//! tag or digest, blobs, tag lists; bearer-token and basic authentication; HTTPS always, plain
//! HTTP only for a loopback registry or one named with `--insecure-registry`.
//!
//! The client hands out bytes; it never trusts them. Manifests are checked against the digest
//! they were asked by (and the server's `Docker-Content-Digest`), and blob bytes go to the
//! store, which hashes them before anything reads them. Every byte read from the network is
//! counted ([`Client::bytes_fetched`]), so tests can prove a shared layer is fetched once.

use super::auth::{self, Challenge, Credentials};
use super::digest::Digest;
use super::manifest::{media, Document, ManifestError};
use super::reference::{is_loopback_host, Reference};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest manifest or index accepted (containerd's limit): a bigger one is an attack.
pub const MAX_MANIFEST: u64 = 4 << 20;
/// Largest token-server answer accepted.
const MAX_TOKEN_REPLY: u64 = 1 << 20;

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries (`host[:port]`) that may be reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Directories of `HOST[:PORT]/*.crt` CA files (containers-certs.d(5)); default
    /// `/etc/containers/certs.d` and `/etc/docker/certs.d`.
    pub cert_dirs: Vec<PathBuf>,
    /// Credentials given on the command line (they win over the credential files).
    pub credentials: Option<Credentials>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{url}: {source}")]
    Http {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{url}: HTTP {status}{detail}")]
    Status { url: String, status: u16, detail: String },
    #[error("{registry}: authentication required{detail} (use `palisade login {registry}`)")]
    Unauthorized { registry: String, detail: String },
    #[error("{what}: not found in {registry}")]
    NotFound { registry: String, what: String },
    #[error(
        "{registry}: HTTPS failed ({source}); plain HTTP is used only for loopback registries and those named with --insecure-registry"
    )]
    Insecure {
        registry: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{registry}: token server {realm}: {why}")]
    Token { registry: String, realm: String, why: String },
    #[error("{reference}: {source}")]
    Manifest {
        reference: String,
        #[source]
        source: ManifestError,
    },
    #[error("{reference}: manifest is larger than {MAX_MANIFEST} bytes")]
    ManifestTooLarge { reference: String },
    #[error("{reference}: manifest digest is {actual}, expected {expected}")]
    ManifestDigest { reference: String, expected: Digest, actual: Digest },
    #[error("{registry}: CA certificates in {path}: {why}")]
    Certs { registry: String, path: PathBuf, why: String },
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}

/// Authorization state for one repository.
#[derive(Debug, Default)]
struct AuthState {
    /// The `Authorization` header to send, once known.
    header: Option<String>,
}

/// A connection to one repository of one registry.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    registry: String,
    repository: String,
    credentials: Option<Credentials>,
    auth: Mutex<AuthState>,
    insecure_ok: bool,
    fetched: Arc<AtomicU64>,
}

/// A fetched manifest or index: its bytes, verified digest and parsed form.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: String,
    pub document: Document,
}

impl Client {
    /// Connects to `reference`'s repository: picks the scheme, reads the registry's
    /// authentication challenge and, if it asks for one, obtains a token.
    pub fn connect(reference: &Reference, options: &Options) -> Result<Client, RegistryError> {
        let registry = reference.registry.clone();
        let host = reference.api_host().to_string();
        let insecure_ok = is_loopback_host(&host) || options.insecure_registries.iter().any(|r| r == &reference.registry || r == &host);
        let agent = agent(&host, &options.cert_dirs)?;
        let credentials = match &options.credentials {
            Some(c) => Some(c.clone()),
            None => auth::lookup(&registry, &reference.repository)?,
        };
        let mut client = Client {
            agent,
            base: format!("https://{host}"),
            registry,
            repository: reference.repository.clone(),
            credentials,
            auth: Mutex::new(AuthState::default()),
            insecure_ok,
            fetched: Arc::new(AtomicU64::new(0)),
        };
        client.ping()?;
        Ok(client)
    }

    /// The registry (`host[:port]`) this client talks to.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Total bytes of manifests and blobs read from the network by this client.
    pub fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// `GET /v2/`: chooses the scheme and answers the registry's challenge up front.
    fn ping(&mut self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        let response = match self.agent.get(&url).call() {
            Ok(r) => r,
            Err(e) if self.insecure_ok && is_transport(&e) => {
                // Plain HTTP: allowed for loopback and --insecure-registry only. If the server
                // does not answer as a registry there either, the TLS error is the one to show.
                let http = self.base.replacen("https://", "http://", 1);
                match self.agent.get(format!("{http}/v2/")).call() {
                    Ok(r) if r.status().is_success() || r.status().as_u16() == 401 => {
                        self.base = http;
                        r
                    }
                    _ => return Err(RegistryError::Http { url, source: Box::new(e) }),
                }
            }
            Err(e) if is_transport(&e) && !matches!(e, ureq::Error::Timeout(_) | ureq::Error::HostNotFound) && !self.insecure_ok => {
                return Err(RegistryError::Insecure { registry: self.registry.clone(), source: Box::new(e) })
            }
            Err(source) => return Err(RegistryError::Http { url, source: Box::new(source) }),
        };
        match response.status().as_u16() {
            200..=299 => Ok(()),
            401 => {
                let challenge = header(&response, "www-authenticate").and_then(|h| Challenge::parse(&h));
                self.answer(challenge.as_ref())
            }
            404 => Err(RegistryError::Status { url, status: 404, detail: ": not a registry (no /v2/ endpoint)".into() }),
            status => Err(RegistryError::Status { url, status, detail: String::new() }),
        }
    }

    /// Proves the credentials: `GET /v2/` with the authorization obtained must succeed
    /// (for `palisade login`; a basic-auth challenge alone proves nothing).
    pub fn verify_login(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        let mut request = self.agent.get(&url);
        if let Some(h) = self.auth.lock().expect("auth lock").header.clone() {
            request = request.header("Authorization", &h);
        }
        let response = request.call().map_err(|source| RegistryError::Http { url: url.clone(), source: Box::new(source) })?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(RegistryError::Unauthorized {
                registry: self.registry.clone(),
                detail: ": the registry refused the credentials".into(),
            }),
            status => Err(RegistryError::Status { url, status, detail: String::new() }),
        }
    }

    /// Answers a challenge: obtains a bearer token, or selects basic authentication.
    fn answer(&self, challenge: Option<&Challenge>) -> Result<(), RegistryError> {
        let unauthorized = |detail: &str| RegistryError::Unauthorized { registry: self.registry.clone(), detail: detail.to_string() };
        let header = match challenge {
            Some(c) if c.scheme == "bearer" => Some(self.token(c)?),
            Some(c) if c.scheme == "basic" => match &self.credentials {
                Some(creds) => {
                    if self.base.starts_with("http://") && !is_loopback_host(&self.registry) {
                        return Err(unauthorized(": refusing to send a password over plain HTTP to a remote registry"));
                    }
                    Some(creds.basic())
                }
                None => return Err(unauthorized(": the registry asks for a user name and password")),
            },
            Some(c) => return Err(unauthorized(&format!(": unsupported scheme `{}`", c.scheme))),
            None => return Err(unauthorized(": 401 without a WWW-Authenticate challenge")),
        };
        self.auth.lock().expect("auth lock").header = header;
        Ok(())
    }

    /// Fetches a bearer token for pulling this repository (distribution token spec).
    fn token(&self, challenge: &Challenge) -> Result<String, RegistryError> {
        let realm = challenge.params.get("realm").cloned().unwrap_or_default();
        let fail = |why: String| RegistryError::Token { registry: self.registry.clone(), realm: realm.clone(), why };
        let realm_host =
            realm.strip_prefix("https://").or_else(|| realm.strip_prefix("http://")).map(|r| r.split(['/', '?']).next().unwrap_or(""));
        let Some(realm_host) = realm_host else { return Err(fail("the realm is not an http(s) URL".into())) };
        if realm.starts_with("http://") && !is_loopback_host(realm_host) && !self.insecure_ok {
            return Err(fail("refusing a plain-HTTP token server for a registry reached over HTTPS".into()));
        }
        let scope = format!("repository:{}:pull", self.repository);
        let mut request = self.agent.get(&realm).query("scope", &scope);
        if let Some(service) = challenge.params.get("service") {
            request = request.query("service", service);
        }
        if let Some(creds) = &self.credentials {
            request = request.header("Authorization", &creds.basic());
        }
        let mut response = request.call().map_err(|e| fail(e.to_string()))?;
        match response.status().as_u16() {
            200..=299 => {}
            401 | 403 => {
                return Err(RegistryError::Unauthorized {
                    registry: self.registry.clone(),
                    detail: format!(
                        ": the token server refused {}",
                        if self.credentials.is_some() { "the credentials" } else { "anonymous access" }
                    ),
                })
            }
            status => return Err(fail(format!("HTTP {status}"))),
        }
        #[derive(serde::Deserialize)]
        struct Reply {
            token: Option<String>,
            access_token: Option<String>,
        }
        let body = response.body_mut().with_config().limit(MAX_TOKEN_REPLY).read_to_vec().map_err(|e| fail(e.to_string()))?;
        let reply: Reply = serde_json::from_slice(&body).map_err(|e| fail(format!("malformed reply: {e}")))?;
        let token = reply.token.or(reply.access_token).filter(|t| !t.is_empty()).ok_or_else(|| fail("the reply has no token".into()))?;
        Ok(format!("Bearer {token}"))
    }

    /// Sends a GET with the current authorization; on a 401 answers the new challenge once
    /// and retries (tokens expire; scopes differ per endpoint).
    fn get(&self, path: &str, accept: Option<&str>) -> Result<ureq::http::Response<ureq::Body>, RegistryError> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        for attempt in 0..2 {
            let mut request = self.agent.get(&url);
            if let Some(a) = accept {
                request = request.header("Accept", a);
            }
            if let Some(h) = self.auth.lock().expect("auth lock").header.clone() {
                request = request.header("Authorization", &h);
            }
            let response = request.call().map_err(|source| RegistryError::Http { url: url.clone(), source: Box::new(source) })?;
            if response.status().as_u16() == 401 && attempt == 0 {
                let challenge = header(&response, "www-authenticate").and_then(|h| Challenge::parse(&h));
                self.answer(challenge.as_ref())?;
                continue;
            }
            return Ok(response);
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn check_status(&self, response: &mut ureq::http::Response<ureq::Body>, what: &str, path: &str) -> Result<(), RegistryError> {
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = response.body_mut().with_config().limit(64 << 10).read_to_vec().unwrap_or_default();
        let detail = registry_errors(&body);
        match status {
            404 => Err(RegistryError::NotFound { registry: self.registry.clone(), what: what.to_string() }),
            401 | 403 => Err(RegistryError::Unauthorized { registry: self.registry.clone(), detail }),
            _ => Err(RegistryError::Status { url: format!("{}/v2/{}/{path}", self.base, self.repository), status, detail }),
        }
    }

    /// Fetches a manifest or index by tag or digest. A digest reference is verified against
    /// the bytes; a tag's bytes are checked against the server's `Docker-Content-Digest`.
    pub fn manifest(&self, reference: &str) -> Result<FetchedManifest, RegistryError> {
        let what = format!("{}/{}:{reference}", self.registry, self.repository);
        let path = format!("manifests/{reference}");
        let mut response = self.get(&path, Some(media::MANIFEST_ACCEPT))?;
        self.check_status(&mut response, &what, &path)?;
        let content_type = header(&response, "content-type");
        let served_digest = header(&response, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
        let bytes = match response.body_mut().with_config().limit(MAX_MANIFEST).read_to_vec() {
            Ok(b) => b,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(RegistryError::ManifestTooLarge { reference: what }),
            Err(source) => return Err(RegistryError::Http { url: path, source: Box::new(source) }),
        };
        self.fetched.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let digest = Digest::of(&bytes);
        let expected = reference.parse::<Digest>().ok().or(served_digest);
        if let Some(expected) = expected {
            if expected != digest {
                return Err(RegistryError::ManifestDigest { reference: what, expected, actual: digest });
            }
        }
        let document = Document::parse(&bytes, content_type.as_deref())
            .map_err(|source| RegistryError::Manifest { reference: what.clone(), source })?;
        let media_type = match &document {
            Document::Manifest(m) => m.media_type.clone().or(content_type).unwrap_or_else(|| media::OCI_MANIFEST.into()),
            Document::Index(i) => i.media_type.clone().or(content_type).unwrap_or_else(|| media::OCI_INDEX.into()),
        };
        Ok(FetchedManifest { bytes, digest, media_type, document })
    }

    /// Opens a blob for reading. The reader stops after `size + 1` bytes (so an oversized
    /// blob is detected, not downloaded forever) and counts what it reads.
    pub fn blob(&self, digest: &Digest, size: u64) -> Result<BlobReader, RegistryError> {
        let what = format!("{}/{}@{digest}", self.registry, self.repository);
        let path = format!("blobs/{digest}");
        let mut response = self.get(&path, None)?;
        self.check_status(&mut response, &what, &path)?;
        let reader = response.into_body().into_with_config().limit(size.saturating_add(1)).reader();
        Ok(BlobReader { inner: Box::new(reader), fetched: self.fetched.clone() })
    }

    /// The repository's tags (`GET /v2/NAME/tags/list`).
    pub fn tags(&self) -> Result<Vec<String>, RegistryError> {
        let path = "tags/list".to_string();
        let mut response = self.get(&path, Some("application/json"))?;
        self.check_status(&mut response, &format!("{}/{}", self.registry, self.repository), &path)?;
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|source| RegistryError::Http { url: path, source: Box::new(source) })?;
        let tags: Tags = serde_json::from_slice(&body).map_err(|e| RegistryError::Status {
            url: "tags/list".into(),
            status: 200,
            detail: format!(": malformed reply: {e}"),
        })?;
        Ok(tags.tags.unwrap_or_default())
    }
}

/// A blob's body, counting bytes into the client's total.
pub struct BlobReader {
    inner: Box<dyn Read + Send>,
    fetched: Arc<AtomicU64>,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.fetched.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Whether an error happened below HTTP (connection, TLS), where a scheme fallback may help.
fn is_transport(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(_) | ureq::Error::Tls(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_))
        || e.to_string().to_lowercase().contains("tls")
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(String::from)
}

/// The registry's `{"errors":[{"code","message"}]}` body, summarized.
fn registry_errors(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => {
            let parts: Vec<String> = e
                .errors
                .iter()
                .map(|x| format!("{} {}", x.code.as_deref().unwrap_or(""), x.message.as_deref().unwrap_or("")).trim().to_string())
                .collect();
            format!(": {}", parts.join("; "))
        }
        _ => String::new(),
    }
}

/// An agent for `host`: HTTPS verified against Mozilla's roots, or against the CA files of
/// the host's certs.d directory when there is one.
fn agent(host: &str, cert_dirs: &[PathBuf]) -> Result<ureq::Agent, RegistryError> {
    let mut tls = ureq::tls::TlsConfig::builder();
    let defaults = [PathBuf::from("/etc/containers/certs.d"), PathBuf::from("/etc/docker/certs.d")];
    let dirs: &[PathBuf] = if cert_dirs.is_empty() { &defaults } else { cert_dirs };
    if let Some(certs) = certs_for(host, dirs)? {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .max_redirects(5)
        .tls_config(tls.build())
        .build();
    Ok(config.into())
}

fn certs_for(host: &str, dirs: &[PathBuf]) -> Result<Option<Vec<ureq::tls::Certificate<'static>>>, RegistryError> {
    for dir in dirs {
        let d: PathBuf = dir.join(host.replace(['/', '\0'], "_"));
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        let fail = |path: &Path, why: String| RegistryError::Certs { registry: host.to_string(), path: path.to_path_buf(), why };
        let mut certs = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "crt") {
                continue;
            }
            let pem = std::fs::read(&path).map_err(|e| fail(&path, e.to_string()))?;
            for item in ureq::tls::parse_pem(&pem) {
                if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| fail(&path, e.to_string()))? {
                    certs.push(c);
                }
            }
        }
        if !certs.is_empty() {
            return Ok(Some(certs));
        }
    }
    Ok(None)
}
