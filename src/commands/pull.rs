//! `palisade pull REF`: thin handler over [`crate::image::pull`].

use crate::cli::image::{FetchArgs, PullArgs, RegistryArgs};
use crate::cli::trust::TrustSource;
use crate::image::progress::{human, Progress};
use crate::image::{pull, registry, unpack, Reference, Store};
use anyhow::Context;

pub fn run(args: PullArgs) -> anyhow::Result<i32> {
    let reference: Reference = args.reference.parse()?;
    let mut opts = options(&args.fetch, &args.fetch.trust)?;
    opts.platform = args.platform.as_deref().map(str::parse).transpose()?;
    opts.jobs = args.jobs;
    if let Some(size) = &args.max_layer_size {
        opts.unpack.max_size = parse_size(size).with_context(|| format!("--max-layer-size {size}"))?;
    }
    if let Some(policy) = &args.devices_policy {
        let Some(p) = super::load_or_report(policy) else { return Ok(1) };
        opts.unpack.allow_devices = devices_allowed(&p)?;
    }
    let store = Store::open(&args.store.path())?;
    let report = fetch(&store, &reference, &opts, args.quiet)?;
    println!("{}@{}", report.reference.split('@').next().unwrap_or(&report.reference), report.manifest);
    Ok(0)
}

/// The options of a pull with `fetch`'s registry flags, gated by the trust policy of `trust`
/// (`pull`'s flags, or `run`'s flags completed by the palisade policy's `[trust]`), and
/// otherwise the defaults: this machine's platform, no device nodes, 3 jobs.
pub(crate) fn options(fetch: &FetchArgs, trust: &TrustSource) -> anyhow::Result<pull::Options> {
    Ok(pull::Options {
        platform: None,
        registry: registry_options(&fetch.registry),
        unpack: unpack::Options::default(),
        jobs: 3,
        gate: super::trust::pull_gate(trust, fetch.insecure_policy)?,
    })
}

/// Pulls `reference` into `store` (the trust gate runs before anything is fetched) and tells
/// what was fetched on standard error.
pub(crate) fn fetch(store: &Store, reference: &Reference, opts: &pull::Options, quiet: bool) -> anyhow::Result<pull::Report> {
    let progress = Progress::new(quiet);
    let report = pull::pull(store, reference, opts, &progress)?;
    if !quiet {
        eprintln!(
            "{}: fetched {} ({} bytes); {} of {} layers already present",
            report.reference,
            human(report.fetched_bytes),
            report.fetched_bytes,
            report.layers_present,
            report.layers
        );
    }
    Ok(report)
}

/// Devices in layers: only for root, and only if the policy keeps CAP_MKNOD.
fn devices_allowed(policy: &crate::policy::Policy) -> anyhow::Result<bool> {
    if !nix::unistd::geteuid().is_root() {
        anyhow::bail!("--devices-policy: device nodes can only be created by root");
    }
    let keeps = policy.capabilities.kept.keys().any(|c| c.0 == caps::Capability::CAP_MKNOD);
    if !keeps {
        anyhow::bail!("--devices-policy: policy `{}` does not keep MKNOD, so device nodes stay refused", policy.name);
    }
    Ok(true)
}

pub(crate) fn registry_options(args: &RegistryArgs) -> registry::Options {
    registry::Options { insecure_registries: args.insecure_registries.clone(), cert_dirs: args.cert_dirs.clone(), credentials: None }
}

/// `123`, `64K`, `512M`, `2G` (powers of 1024).
pub(crate) fn parse_size(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => anyhow::bail!("unknown size suffix `{c}` (use K, M, G or T)"),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().context("not a number")?;
    n.checked_mul(mult).context("too large")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("100").unwrap(), 100);
        assert_eq!(super::parse_size("2k").unwrap(), 2048);
        assert_eq!(super::parse_size("1G").unwrap(), 1 << 30);
        assert!(super::parse_size("1X").is_err());
    }
}
