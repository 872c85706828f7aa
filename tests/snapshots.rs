//! Snapshots of every artifact compiled from every built-in profile and example policy, so any
//! change to what palisade emits is reviewed as a diff (`cargo insta review`, or
//! INSTA_UPDATE=always then `git diff`).

#[path = "support/policies.rs"]
mod policies;
use palisade::compile::{emit, EmitKind, EmitOptions, Output, Plan};
use palisade::policy::{load, PolicySource};
use palisade::seccomp::arch::Arch;
use palisade::seccomp::bpf;

const KINDS: [EmitKind; 7] =
    [EmitKind::Oci, EmitKind::SeccompJson, EmitKind::SeccompBpf, EmitKind::Apparmor, EmitKind::Selinux, EmitKind::Landlock, EmitKind::K8s];

/// Snapshot names: the built-in's name, or `policies-<stem>` for an example policy.
fn sources() -> Vec<(String, PolicySource)> {
    policies::all()
        .into_iter()
        .map(|(name, source)| {
            let snapshot = match name.strip_prefix("builtin:") {
                Some(builtin) => builtin.to_string(),
                None => format!("policies-{}", name.trim_start_matches("policies/").trim_end_matches(".toml")),
            };
            (snapshot, source)
        })
        .collect()
}

#[test]
fn every_artifact_of_every_policy() {
    let options = EmitOptions { arch: Some(Arch::X86_64), args: vec!["/bin/sh".into()], lsm: Default::default() };
    for (name, source) in sources() {
        let plan = Plan::new(load(&source).unwrap_or_else(|d| panic!("{name}: {d}"))).unwrap();
        for kind in KINDS {
            let mut notes = Vec::new();
            let text = match emit(&plan, kind, &options, &mut notes) {
                // A refusal is part of the contract too (e.g. `restricted` has no user for OCI).
                Err(e) => format!("error: {e}\n"),
                Ok(Output::Text(t)) => t,
                // The raw program, as a listing: a reviewable diff of the BPF itself.
                Ok(Output::Bytes(_)) => bpf::disassemble(&bpf::compile_for(&plan.filter, &[Arch::X86_64]).unwrap()),
                Ok(Output::Files(files)) => files.into_iter().map(|(path, text)| format!("# --- {path}\n{text}")).collect(),
            };
            let notes: String = notes.iter().map(|n| n.render()).collect();
            insta::assert_snapshot!(format!("{name}__{}", kind.name()), format!("{notes}{text}"));
        }
    }
}
