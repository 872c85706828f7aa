//! `palisade trust verify|show`, `palisade key generate`, `palisade sign`: thin handlers over
//! [`crate::trust`].

use crate::cli::image::RegistryArgs;
use crate::cli::trust::{KeyCommand, SignArgs, TrustCommand, TrustSource};
use crate::cli::Format;
use crate::image::registry::Client;
use crate::image::Reference;
use crate::trust::registries_d::{self, Lookaside};
use crate::trust::store::RegistryStore;
use crate::trust::{cosign, payload, policy, push, Subject, TrustPolicy};
use anyhow::Context;
use std::path::{Path, PathBuf};

pub fn run(cmd: TrustCommand) -> anyhow::Result<i32> {
    match cmd {
        TrustCommand::Verify { reference, source, registry, format } => verify(&reference, &source, &registry, format),
        TrustCommand::Show { reference, source, format } => show(&reference, &source, format),
    }
}

/// The trust source of `palisade run POLICY IMAGE`: each of `--trust-policy` and
/// `--registries-d` if given, else the palisade policy's `[trust] policy` / `registries_d`
/// (relative paths resolved against the directory of the policy file that wrote them, which
/// for an `extends` chain is the base file, not the one named on the command line); what is
/// still unset falls to the system defaults in [`pull_gate`].
pub(crate) fn run_source(flags: &TrustSource, policy: &crate::policy::Policy) -> TrustSource {
    let from_policy = |s: &Option<crate::policy::model::Setting<String>>| s.as_ref().map(resolve_in_policy_dir);
    TrustSource {
        trust_policy: flags.trust_policy.clone().or_else(|| from_policy(&policy.trust.policy)),
        registries_d: flags.registries_d.clone().or_else(|| from_policy(&policy.trust.registries_d)),
    }
}

/// A path from a policy file, absolute or relative to that file's directory (as `extends`).
/// Built-in profiles have no directory: their paths are taken as written.
fn resolve_in_policy_dir(setting: &crate::policy::model::Setting<String>) -> PathBuf {
    let path = Path::new(&setting.value);
    match &setting.origin {
        crate::policy::source::Origin::At(span) if path.is_relative() => match span.file.path.as_deref().and_then(Path::parent) {
            Some(dir) => dir.join(path),
            None => path.to_path_buf(),
        },
        _ => path.to_path_buf(),
    }
}

/// The trust gate of `palisade pull` (and of `run` pulling an image, with [`run_source`]):
/// the `--trust-policy` file, else the system policy if it exists. Without either there is no policy to enforce, and the pull fails closed unless the
/// user asked for `--insecure-policy` (told on stderr that nothing is verified).
pub(crate) fn pull_gate(
    source: &TrustSource,
    insecure_policy: bool,
) -> anyhow::Result<Option<std::sync::Arc<dyn crate::image::pull::Gate>>> {
    let path = match &source.trust_policy {
        Some(p) => p.clone(),
        None if Path::new(policy::SYSTEM_POLICY).exists() => PathBuf::from(policy::SYSTEM_POLICY),
        None if insecure_policy => {
            eprintln!("palisade: --insecure-policy: no trust policy ({} is absent): signatures are not verified", policy::SYSTEM_POLICY);
            return Ok(None);
        }
        None => anyhow::bail!(
            "no trust policy: {} is absent, and neither --trust-policy nor a palisade policy's [trust] policy was given; refusing to pull unverified images (write a policy, or pass --insecure-policy to pull without verification)",
            policy::SYSTEM_POLICY
        ),
    };
    Ok(Some(std::sync::Arc::new(gate(&path, source)?)))
}

/// The gate of the trust policy at `path`, with `source`'s registries.d (else the system's).
pub(crate) fn gate(path: &Path, source: &TrustSource) -> anyhow::Result<crate::trust::PullGate> {
    let policy = TrustPolicy::load(path)?;
    let lookaside = Lookaside::load(source.registries_d.as_deref().unwrap_or(Path::new(registries_d::SYSTEM_DIR)))?;
    Ok(crate::trust::PullGate { policy, lookaside })
}

fn load_policy(source: &TrustSource) -> anyhow::Result<TrustPolicy> {
    let path = source.trust_policy.clone().unwrap_or_else(|| PathBuf::from(policy::SYSTEM_POLICY));
    Ok(TrustPolicy::load(&path)?)
}

fn verify(reference: &str, source: &TrustSource, registry: &RegistryArgs, format: Format) -> anyhow::Result<i32> {
    let reference: Reference = reference.parse()?;
    let policy = load_policy(source)?;
    let lookaside = Lookaside::load(source.registries_d.as_deref().unwrap_or(Path::new(registries_d::SYSTEM_DIR)))?;
    let client = Client::connect(&reference, &super::pull::registry_options(registry))?;
    // The manifest the reference resolves to, by the digest the client verified.
    let manifest = client.manifest(&reference.manifest_ref())?;
    let subject = Subject { reference, digest: manifest.digest };
    let store = RegistryStore { client: &client, lookaside: &lookaside };
    let decision = crate::trust::evaluate(&policy, &subject, &store, chrono::Utc::now())?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&decision)?),
        Format::Text => {
            println!("{}", decision.summary());
            for o in &decision.requirements {
                println!("  {} {}: {}", if o.accepted { "pass" } else { "FAIL" }, o.requirement, o.detail);
            }
        }
    }
    Ok(if decision.accepted { 0 } else { 1 })
}

fn show(reference: &str, source: &TrustSource, format: Format) -> anyhow::Result<i32> {
    let reference: Reference = reference.parse()?;
    let policy = load_policy(source)?;
    let (checks, scope) = policy.requirements_for(&reference);
    let tried = policy::scope_candidates(&reference);
    let requirements: Vec<String> = checks
        .iter()
        .map(|c| match c {
            policy::Check::Gpg { keys, identity } => format!("signedBy (GPGKeys from {}; signedIdentity {identity})", describe_keys(keys)),
            policy::Check::Cosign { keys, identity } => {
                format!("sigstoreSigned (keys from {}; signedIdentity {identity})", describe_keys(keys))
            }
            policy::Check::Unsupported { what } => format!("sigstoreSigned, always refused: {what}"),
            other => other.kind().to_string(),
        })
        .collect();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "reference": reference.to_string(), "policy": policy.origin, "scope": scope.to_string(),
                "scopes_tried": tried, "requirements": requirements,
            }))?
        ),
        Format::Text => {
            println!("{reference}: {} of {}", scope, policy.origin);
            println!(
                "  scopes tried, most specific first: {}, \"\" (transport default), default",
                tried.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
            );
            for r in requirements {
                println!("  requires {r}");
            }
        }
    }
    Ok(0)
}

fn describe_keys(keys: &policy::KeySource) -> String {
    match keys {
        policy::KeySource::Paths(p) => p.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        policy::KeySource::Data(d) => format!("{} inline key(s)", d.len()),
    }
}

/// cosign's convention: the key password comes from $COSIGN_PASSWORD (empty if unset).
fn password() -> Vec<u8> {
    std::env::var_os("COSIGN_PASSWORD").map(|p| p.into_encoded_bytes()).unwrap_or_default()
}

pub fn key(cmd: KeyCommand) -> anyhow::Result<i32> {
    let KeyCommand::Generate { output_prefix, force } = cmd;
    let private_path = output_prefix.with_extension("key");
    let public_path = output_prefix.with_extension("pub");
    let (private, public) = cosign::generate(&password()).map_err(anyhow::Error::msg)?;
    for (path, text, mode) in [(&private_path, &private, 0o600), (&public_path, &public, 0o644)] {
        write_new(path, text.as_bytes(), mode, force)?;
    }
    eprintln!("wrote {} and {}", private_path.display(), public_path.display());
    Ok(0)
}

/// Creates a file with `mode` (no overwrite unless `force`), written in full and synced.
fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(mode);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).with_context(|| format!("create {}", path.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).with_context(|| format!("write {}", path.display()))
}

pub fn sign(args: SignArgs) -> anyhow::Result<i32> {
    let reference: Reference = args.reference.parse()?;
    let key_text = std::fs::read_to_string(&args.key).with_context(|| format!("read {}", args.key.display()))?;
    let key = cosign::load_private_key(&key_text, &password()).map_err(|e| anyhow::anyhow!("{}: {e}", args.key.display()))?;
    let client = Client::connect(&reference, &super::pull::registry_options(&args.registry))?;
    let digest = client.manifest(&reference.manifest_ref())?.digest;
    // The identity signed is the reference as named (tag kept, digest dropped: the digest is
    // the payload's docker-manifest-digest).
    let mut identity = reference.clone();
    identity.digest = None;
    let payload = payload::build(payload::COSIGN, &identity, &digest);
    let signature = cosign::sign(&key, &payload);
    let tag = cosign::signature_tag(&digest);
    match &args.output {
        Some(dir) => {
            push::write_layout(dir, &tag, &push::build(None, &payload, &signature))?;
            eprintln!("{}@{digest}: signature written to {} as tag {tag}", reference.name(), dir.display());
        }
        None => {
            let pusher = push::Pusher::connect(&reference, &args.registry.insecure_registries)?;
            // Earlier signatures stay: the new one is added as another layer.
            let existing = pusher.existing(&tag)?;
            pusher.push(&tag, &push::build(existing.as_ref(), &payload, &signature))?;
            eprintln!("{}@{digest}: signature pushed as {}:{tag}", reference.name(), reference.name());
        }
    }
    println!("{tag}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_source_flags_then_policy_trust_resolved_against_the_policy_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        std::fs::create_dir(&base).unwrap();
        std::fs::write(base.join("base.toml"), "[policy]\nname = \"base\"\nextends = \"untrusted\"\n\n[trust]\npolicy = \"trust/policy.json\"\nregistries_d = \"/abs/registries.d\"\n").unwrap();
        std::fs::write(dir.path().join("child.toml"), "[policy]\nname = \"child\"\nextends = \"base/base.toml\"\n").unwrap();
        let child = dir.path().join("child.toml");
        let policy = crate::policy::load(&crate::policy::PolicySource::from_arg(&child.display().to_string())).unwrap();
        let none = TrustSource { trust_policy: None, registries_d: None };
        // Inherited: relative to the file that wrote it, not the one named on the command line.
        let s = run_source(&none, &policy);
        assert_eq!(s.trust_policy, Some(base.join("trust/policy.json")));
        assert_eq!(s.registries_d, Some(PathBuf::from("/abs/registries.d")));
        let flags = TrustSource { trust_policy: Some("/flag.json".into()), registries_d: None };
        let s = run_source(&flags, &policy);
        assert_eq!((s.trust_policy, s.registries_d), (Some(PathBuf::from("/flag.json")), Some(PathBuf::from("/abs/registries.d"))));
        let builtin = crate::policy::load(&crate::policy::PolicySource::from_arg("untrusted")).unwrap();
        let s = run_source(&none, &builtin);
        assert_eq!((s.trust_policy, s.registries_d), (None, None));
    }
}
