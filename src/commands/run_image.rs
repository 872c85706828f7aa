//! `palisade run [OPTIONS] IMAGE [CMD...]`: the image half of `run`. Asks the runtime for an
//! overlayfs root over the image's layers (src/image/container.rs) and fills the run request
//! from the image config:
//!
//! - command: Entrypoint + (CMD given on the command line, else the image's Cmd);
//! - environment: the image's Env, except variables the policy sets (the policy wins), then `-e`;
//! - working directory: `-w`, else the image's WorkingDir (it must exist in the image);
//! - user: `-u`, else the policy's, else the image's User (names looked up in the image's
//!   /etc/passwd without leaving its root), else root.
//!
//! An IMAGE that is not in the store is pulled first, as `docker run` does, by `pull`'s code
//! and through its trust gate: the trust policy is `--trust-policy`, else the palisade
//! policy's `[trust] policy`, else /etc/containers/policy.json, else the run is refused unless
//! `--insecure-policy` (see [`super::trust::run_source`]). A refused image leaves nothing in
//! the store and nothing runs.
//!
//! An image already in the store is verified again when the run names a trust policy (by
//! `--trust-policy` or the palisade policy's `[trust]`): the store records no provenance (an
//! image may have been pulled under another policy, with `--insecure-policy`, or come from
//! `load`/`import`/`commit`), and a signature accepted at pull time may since have been
//! revoked, so "nothing runs unless its signature satisfies the trust policy" needs the check
//! at run time. The stored top-level digest (the index if the image came from one) is checked
//! against the signatures the registry and lookaside hold for it, under the reference the run
//! names; no manifest or layer is fetched again, so a tag moved since the pull does not
//! matter. Fail closed: an unreachable registry refuses the run, and so does an image named by
//! id or by a reference the store does not hold it under (there is no identity to check).
//! Without an explicit trust policy, stored images run as pulled: the system policy governed
//! their pull, and re-verifying every run would make every run need the network.

use crate::cli::image::FetchArgs;
use crate::compile::Plan;
use crate::image::container::{self, ImageRoot};
use crate::image::registry::Client;
use crate::image::{Digest, ImageError, Reference, Store};
use crate::runtime::RunSpec;
use anyhow::Context;
use std::path::Path;

/// The container directory, removed after the run; `None` for a run without an image.
pub struct Prepared {
    _root: ImageRoot,
}

pub fn prepare(
    store_root: &Path,
    mut image: Vec<String>,
    keep: Option<&str>,
    fetch: &FetchArgs,
    spec: &mut RunSpec,
    plan: &Plan,
) -> anyhow::Result<Option<Prepared>> {
    if image.is_empty() {
        if spec.command.is_empty() {
            anyhow::bail!("no command given: `palisade run IMAGE [CMD...]`, or `palisade run [--rootfs DIR] -- CMD...`");
        }
        return Ok(None);
    }
    if spec.rootfs.is_some() || spec.overlay.is_some() {
        anyhow::bail!("--rootfs/--rootfs-overlay and an IMAGE exclude each other");
    }
    let name = image.remove(0);
    let mut cmd = image;
    cmd.append(&mut spec.command);
    // `IMAGE -- CMD...`: clap keeps that `--` among the trailing values.
    if cmd.first().is_some_and(|a| a == "--") {
        cmd.remove(0);
    }
    let store = Store::open(store_root)?;
    // The image admitted is the one run: its manifest digest, not the name again (a
    // concurrent pull or tag could move the name in between).
    let admitted = admit(&store, &name, fetch, plan)?;
    // The shared gc lock while the container is created: from then on its `image` file keeps
    // rmi (which takes the lock exclusively before it looks) off the image's layers.
    let root = {
        let _gc = store.lock_gc_shared()?;
        container::prepare(&store, admitted.as_ref().map_or(name.clone(), |d| d.to_string()).as_str(), keep)?
    };
    if let Some(kept) = keep {
        eprintln!("palisade: container {} ({kept}) is kept for `palisade commit`", root.id);
    }
    let config = root.config.clone();

    let entrypoint = config.entrypoint.clone().unwrap_or_default();
    let args = if cmd.is_empty() { config.cmd.clone().unwrap_or_default() } else { cmd };
    spec.command = entrypoint.into_iter().chain(args).collect();
    anyhow::ensure!(!spec.command.is_empty(), "image {name} has no Entrypoint or Cmd: give a command");

    let policy_env = &plan.policy.process.env;
    let mut env: Vec<(String, String)> = config
        .env
        .iter()
        .flatten()
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| !policy_env.contains_key(*k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.append(&mut spec.env);
    spec.env = env;

    if spec.workdir.is_none() {
        if let Some(dir) = config.working_dir.as_deref().filter(|d| !d.is_empty()) {
            anyhow::ensure!(dir.starts_with('/'), "image {name}: WorkingDir `{dir}` is not absolute");
            spec.workdir = Some(dir.into());
        }
    }
    if spec.user.is_none() && plan.policy.process.user.is_none() {
        if let Some(user) = config.user.as_deref().filter(|u| !u.is_empty()) {
            let (uid, gid) = container::resolve_user(|f| root.read_file(f), user).map_err(|e| anyhow::anyhow!("image {name}: {e}"))?;
            spec.user = Some(crate::runtime::UserSpec { uid, gid });
        }
    }
    spec.overlay = Some(root.overlay());
    Ok(Some(Prepared { _root: root }))
}

/// The trust gate of a run: pulls `name` unless the store has it (by tag, digest or id),
/// with `pull`'s options and gate; re-verifies it if it is stored and the run names a trust
/// policy (see the module doc). A name that is neither stored nor a pullable reference is
/// left to `container::prepare` to report as not found. Returns the manifest digest of the
/// image pulled or verified, `None` when nothing was checked.
fn admit(store: &Store, name: &str, fetch: &FetchArgs, plan: &Plan) -> anyhow::Result<Option<Digest>> {
    let trust = super::trust::run_source(&fetch.trust, &plan.policy);
    let meta = store.load_meta()?;
    let Some(record) = meta.resolve(name) else {
        let Ok(reference) = name.parse::<Reference>() else { return Ok(None) };
        eprintln!("palisade: {name} is not in the store: pulling {reference}");
        let opts = super::pull::options(fetch, &trust)?;
        let report = super::pull::fetch(store, &reference, &opts, false).with_context(|| format!("pull {reference}"))?;
        return Ok(Some(report.manifest));
    };
    let Some(path) = &trust.trust_policy else { return Ok(None) };
    let digest = record.index.as_ref().unwrap_or(&record.manifest);
    // The identity to check: the reference the run names, if the store holds the image under
    // it (as a tag, or as its digest).
    let reference = name.parse::<Reference>().ok().filter(|r| match &r.digest {
        Some(d) => d == &record.manifest || Some(d) == record.index.as_ref(),
        None => r.tagged_name().and_then(|t| meta.tags.get(&t)) == Some(&record.manifest),
    });
    let Some(reference) = reference else {
        anyhow::bail!("image {name}: refused: the trust policy {} applies and the image is named by id, not by a registry reference to verify its signatures under (run it as REGISTRY/REPOSITORY:TAG)", path.display());
    };
    let gate = super::trust::gate(path, &trust)?;
    let client = Client::connect(&reference, &super::pull::registry_options(&fetch.registry))
        .with_context(|| format!("verify {reference}@{digest} (in the store) against its registry"))?;
    gate.admit_digest(&client, &reference, digest)
        .map_err(|why| ImageError::Untrusted { reference: format!("{reference} (in the store)"), why })?;
    Ok(Some(record.manifest.clone()))
}
