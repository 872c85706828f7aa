//! `palisade pull`: manifest (through an index, by platform) → config → layers, each layer
//! downloaded only if its blob is absent and unpacked only if its diff id is absent, in
//! parallel; the image is recorded only when everything it needs is in place and synced.

use super::digest::Digest;
use super::manifest::{media, Compression, Descriptor, Document, ImageConfig, Manifest};
use super::platform::{self, Wanted};
use super::progress::{human, Progress};
use super::reference::Reference;
use super::registry::{self, Client};
use super::store::{ImageRecord, LayerRecord, Store};
use super::unpack;
use super::ImageError;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// How to pull.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The platform to choose from an index (default: this machine's).
    pub platform: Option<Wanted>,
    pub registry: registry::Options,
    pub unpack: unpack::Options,
    /// Layers fetched and unpacked at once (default 3).
    pub jobs: usize,
    /// Admission check run on the top-level manifest before anything else is fetched (the
    /// content-trust policy: `crate::trust::PullGate`).
    pub gate: Option<std::sync::Arc<dyn Gate>>,
}

/// Decides whether an image may be pulled, from its registry and top-level manifest, before
/// any config or layer is downloaded. `Err` names why it is refused.
pub trait Gate: std::fmt::Debug + Send + Sync {
    fn admit(&self, client: &Client, reference: &Reference, top: &registry::FetchedManifest) -> Result<(), String>;
}

/// What a pull did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub reference: String,
    pub manifest: Digest,
    pub config: Digest,
    /// Bytes read from the registry (manifests and blobs).
    pub fetched_bytes: u64,
    pub layers: usize,
    /// Layers whose blob was already in the store (not downloaded).
    pub layers_present: usize,
}

/// Pulls `reference` into `store`.
pub fn pull(store: &Store, reference: &Reference, opts: &Options, progress: &Progress) -> Result<Report, ImageError> {
    // Repair after killed pulls: if no other pull runs, their staging files are garbage.
    if let Some(_exclusive) = store.try_lock_gc_exclusive()? {
        store.clear_staging()?;
    }
    let _gc = store.lock_gc_shared()?;
    let client = Client::connect(reference, &opts.registry)?;
    let wanted = opts.platform.clone().unwrap_or_else(Wanted::host);
    let shown = reference.to_string();

    let top = client.manifest(&reference.manifest_ref())?;
    // Trust first: a refused image leaves nothing behind (no config, layer or record).
    if let Some(gate) = &opts.gate {
        gate.admit(&client, reference, &top).map_err(|why| ImageError::Untrusted { reference: shown.clone(), why })?;
    }
    let (index, fetched) = match &top.document {
        Document::Manifest(_) => (None, top),
        Document::Index(index) => {
            let Some(desc) = wanted.choose(&index.manifests) else {
                let available: BTreeSet<String> =
                    index.manifests.iter().filter_map(|d| d.platform.as_ref().map(platform::describe)).collect();
                return Err(ImageError::Platform {
                    reference: shown,
                    wanted: wanted.to_string(),
                    available: available.into_iter().collect::<Vec<_>>().join(", "),
                });
            };
            let m = client.manifest(&desc.digest.to_string())?;
            if matches!(m.document, Document::Index(_)) {
                return Err(ImageError::NotAnImage {
                    reference: shown,
                    why: "nested index (an index entry that is itself an index)".into(),
                });
            }
            (Some(top), m)
        }
    };
    let Document::Manifest(manifest) = &fetched.document else { unreachable!("checked above") };
    check_manifest(&shown, manifest)?;
    progress.line(&format!("{shown}: manifest {}", fetched.digest));

    // The config: small, needed first (it names the diff ids every layer must hash to).
    let config_bytes = fetch_small(store, &client, &manifest.config, progress)?;
    let config =
        ImageConfig::parse(&config_bytes, manifest.layers.len()).map_err(|why| ImageError::NotAnImage { reference: shown.clone(), why })?;
    let platform = config_platform(&config);
    if index.is_none()
        && opts.platform.is_some()
        && !wanted.matches(&super::manifest::Platform {
            os: config.os.clone(),
            architecture: config.architecture.clone(),
            variant: config.variant.clone(),
            os_version: None,
        })
    {
        return Err(ImageError::Platform { reference: shown, wanted: wanted.to_string(), available: platform });
    }

    let jobs: Vec<(Descriptor, Digest)> = manifest.layers.iter().cloned().zip(config.rootfs.diff_ids.iter().cloned()).collect();
    let present = jobs.iter().filter(|(d, _)| store.has_blob(&d.digest)).count();
    let layers = fetch_layers(store, &client, &jobs, opts, progress)?;

    // Everything the image needs is in place: make it durable, then visible.
    store.put(&fetched.bytes)?;
    if let Some(i) = &index {
        store.put(&i.bytes)?;
    }
    store.sync()?;
    let repo_digest = format!("{}@{}", reference.name(), index.as_ref().map_or(&fetched.digest, |i| &i.digest));
    let record = ImageRecord {
        manifest: fetched.digest.clone(),
        manifest_media_type: fetched.media_type.clone(),
        config: manifest.config.digest.clone(),
        layers,
        index: index.as_ref().map(|i| i.digest.clone()),
        platform,
        created: config.created.clone(),
        added: super::now(),
        repo_digests: BTreeSet::from([repo_digest]),
    };
    let tag = if reference.digest.is_none() { reference.tagged_name() } else { None };
    commit(store, record, tag)?;
    Ok(Report {
        reference: shown,
        manifest: fetched.digest,
        config: manifest.config.digest.clone(),
        fetched_bytes: client.bytes_fetched(),
        layers: jobs.len(),
        layers_present: present,
    })
}

/// Records an image (and a tag) under the metadata lock.
pub fn commit(store: &Store, record: ImageRecord, tag: Option<String>) -> Result<(), ImageError> {
    store.update_meta(|meta| {
        let manifest = record.manifest.clone();
        meta.add_image(record);
        if let Some(t) = tag {
            meta.tags.insert(t, manifest);
        }
        Ok::<(), ImageError>(())
    })
}

fn check_manifest(reference: &str, m: &Manifest) -> Result<(), ImageError> {
    let not = |why: String| ImageError::NotAnImage { reference: reference.to_string(), why };
    if m.config.media_type != media::OCI_CONFIG && m.config.media_type != media::DOCKER_CONFIG {
        return Err(not(format!("config media type `{}` is not a container image's (an artifact?)", m.config.media_type)));
    }
    if m.config.size > registry::MAX_MANIFEST {
        return Err(not(format!("image config of {} bytes is implausibly large", m.config.size)));
    }
    for l in &m.layers {
        if Compression::of_layer(&l.media_type).is_none() {
            return Err(not(format!("layer {} has media type `{}`, which is not a filesystem layer", l.digest, l.media_type)));
        }
    }
    Ok(())
}

fn config_platform(c: &ImageConfig) -> String {
    match &c.variant {
        Some(v) => format!("{}/{}/{v}", c.os, c.architecture),
        None => format!("{}/{}", c.os, c.architecture),
    }
}

/// A small blob (config), from the store or fetched into it.
fn fetch_small(store: &Store, client: &Client, desc: &Descriptor, progress: &Progress) -> Result<Vec<u8>, ImageError> {
    if !store.has_blob(&desc.digest) {
        let mut reader = client.blob(&desc.digest, desc.size)?;
        let n = store.ingest(&mut reader, &desc.digest, desc.size, &mut |_| {})?;
        progress.line(&format!("blob {}: fetched {n} bytes (config)", desc.digest));
    }
    Ok(store.read_blob(&desc.digest)?)
}

/// Downloads (if absent) and unpacks (if absent) every layer, `opts.jobs` at a time.
fn fetch_layers(
    store: &Store,
    client: &Client,
    jobs: &[(Descriptor, Digest)],
    opts: &Options,
    progress: &Progress,
) -> Result<Vec<LayerRecord>, ImageError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<LayerRecord, ImageError>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let workers = opts.jobs.clamp(1, 8).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= jobs.len() || failed.load(Ordering::SeqCst) {
                    break;
                }
                let (desc, diff_id) = &jobs[i];
                let r = one_layer(store, client, desc, diff_id, &opts.unpack, progress);
                if r.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                results.lock().expect("results lock")[i] = Some(r);
            });
        }
    });
    let mut layers = Vec::with_capacity(jobs.len());
    for r in results.into_inner().expect("results lock") {
        match r {
            Some(Ok(l)) => layers.push(l),
            Some(Err(e)) => return Err(e),
            None => {} // not started because another layer failed; that error is returned
        }
    }
    if layers.len() != jobs.len() {
        unreachable!("a layer was skipped without a failure");
    }
    Ok(layers)
}

fn one_layer(
    store: &Store,
    client: &Client,
    desc: &Descriptor,
    diff_id: &Digest,
    opts: &unpack::Options,
    progress: &Progress,
) -> Result<LayerRecord, ImageError> {
    let label = format!("blob {}", desc.digest);
    let present = store.has_blob(&desc.digest);
    let row = progress.start(&label, desc.size, if present { "present" } else { "downloading" });
    if present {
        progress.status(row, "present", Some(format!("{label}: already present (0 bytes fetched)")));
    } else {
        let mut reader = client.blob(&desc.digest, desc.size)?;
        let n = store.ingest(&mut reader, &desc.digest, desc.size, &mut |done| progress.advance(row, done))?;
        progress.status(row, "verified", Some(format!("{label}: fetched {n} bytes ({}), digest verified", progress.summary(row, n))));
    }
    let diff_size = if store.has_layer(diff_id) {
        diff_size(store, &desc.digest, diff_id)?
    } else {
        progress.status(row, "unpacking", None);
        let stats = unpack_layer(store, &desc.digest, diff_id, opts)?;
        progress.status(
            row,
            "unpacked",
            Some(format!("{label}: unpacked {} entries ({}) as layer {diff_id}", stats.entries, human(stats.diff_size))),
        );
        stats.diff_size
    };
    Ok(LayerRecord { blob: desc.digest.clone(), media_type: desc.media_type.clone(), size: desc.size, diff_id: diff_id.clone(), diff_size })
}

/// Unpacks a stored blob into `layers/<diff id>` (staged, verified, renamed).
pub fn unpack_layer(store: &Store, blob: &Digest, diff_id: &Digest, opts: &unpack::Options) -> Result<unpack::Stats, ImageError> {
    let staging = store.staging_path("layer", diff_id.short());
    std::fs::create_dir(&staging).map_err(ImageError::io("create", &staging))?;
    let file = store.open_blob(blob)?;
    match unpack::unpack(file, &blob.to_string(), Some(diff_id), &staging, opts) {
        Ok(stats) => {
            store.commit_layer(&staging, diff_id)?;
            Ok(stats)
        }
        Err(e) => {
            // The refusal is the error to report; a failed cleanup is left to `system check`.
            let _ = super::store::remove_any(&staging);
            Err(e.into())
        }
    }
}

/// The uncompressed size of a layer already unpacked: from a record that has it, else by
/// decompressing its blob again.
fn diff_size(store: &Store, blob: &Digest, diff_id: &Digest) -> Result<u64, ImageError> {
    let meta = store.load_meta()?;
    if let Some(l) = meta.images.values().flat_map(|i| &i.layers).find(|l| &l.diff_id == diff_id) {
        return Ok(l.diff_size);
    }
    let file = store.open_blob(blob)?;
    let path = store.blob_path(blob);
    let mut reader = unpack::decompress(file).map_err(ImageError::io("read", &path))?;
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(ImageError::io("decompress", &path))
}
