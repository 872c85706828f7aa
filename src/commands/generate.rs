//! `palisade generate [--base PROFILE] [-o FILE] [--merge POLICY…] -- CMD…`: learn a policy
//! (src/generate). Exit 0 with the policy written, 1 when a base or merged policy is invalid,
//! 2 when learning failed. Inside the learning sandbox the same verb is the tracer
//! (`--trace-into`), exiting with the workload's code.

use crate::cli::generate::{GenerateArgs, LearnNet};
use crate::generate::{self, Base, Options};
use crate::policy::model::NetworkMode;
use anyhow::Context;

pub fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.trace_into {
        return Ok(generate::tracer::run(file, &args.command).unwrap_or_else(|e| {
            eprintln!("palisade: generate: tracer: {e}");
            125
        }));
    }
    if args.command.is_empty() && args.merge.is_empty() {
        anyhow::bail!("generate: give the workload after `--`, or policies to --merge");
    }
    let mut merged = Vec::new();
    for file in &args.merge {
        let label = file.display().to_string();
        let Some(policy) = super::load_or_report(&label) else { return Ok(1) };
        merged.push((label, policy));
    }
    // The base: --base, or the one the merged policies extend.
    let base_arg = match &args.base {
        Some(b) => Some(b.clone()),
        None => {
            let mut l = generate::Learned::default();
            merged.iter().for_each(|(label, p)| l.add_policy(p, label));
            generate::merged_base(&l)?
        }
    };
    let base = match base_arg {
        Some(arg) => {
            let Some(policy) = super::load_or_report(&arg) else { return Ok(1) };
            Some(Base::new(&arg, policy)?)
        }
        None => None,
    };
    let network = match args.net {
        LearnNet::None => NetworkMode::None,
        LearnNet::Host => NetworkMode::Host,
    };
    let out = generate::generate(Options { base, merged, command: args.command.clone(), network }, None)?;
    for w in &out.draft.warnings {
        eprintln!("palisade: generate: warning: {w}");
    }
    for n in &out.draft.notes {
        eprintln!("palisade: generate: note: {n}");
    }
    if let Some(code) = out.exit_code.filter(|c| *c != 0) {
        eprintln!("palisade: generate: warning: the workload exited with {code}: the policy covers what it did until then");
    }
    match &args.output {
        Some(path) => {
            write_atomically(path, &out.text).with_context(|| format!("write {}", path.display()))?;
            let d = &out.draft;
            eprintln!(
                "palisade: generate: wrote {}: {} syscalls allowed, {} argument rules, {} Landlock grants, network {}",
                path.display(),
                d.allow.len(),
                d.rules.len(),
                d.read.len() + d.write.len() + d.execute.len(),
                d.network.as_ref().map_or("as the base", |(m, _)| m.name())
            );
        }
        None => print!("{}", out.text),
    }
    Ok(0)
}

/// Writes through a temporary file in the same directory, fsynced, then renamed into place:
/// a reader never sees half a policy.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(), std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
