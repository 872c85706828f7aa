//! The generated SELinux CIL modules against the real compiler: every built-in profile and every
//! file in policies/ must compile with secilc on top of tests/fixtures/selinux/base.cil, their
//! neverallow rules must catch a contradicting allow, and the labels have the documented form.
//!
//! secilc is required, not optional: a missing secilc fails these tests.

#[path = "support/policies.rs"]
mod policies;
use palisade::compile::{selinux, Plan};
use palisade::policy::{load, load_str, Policy, PolicySource};
use std::path::{Path, PathBuf};
use std::process::Command;

fn secilc() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("secilc"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("secilc not found: install secilc (apt-get install secilc); CI installs it"))
}

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/selinux/base.cil")
}

/// `secilc -o /dev/null -f /dev/null base.cil MODULE…`; `Err(rc and output)` when it fails.
fn compile(modules: &[&str]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("20").arg(secilc()).args(["-o", "/dev/null", "-f", "/dev/null"]).arg(base()).current_dir(dir.path());
    for (i, text) in modules.iter().enumerate() {
        let file = dir.path().join(format!("module{i}.cil"));
        std::fs::write(&file, text).unwrap();
        cmd.arg(file);
    }
    let output = cmd.output().expect("run timeout(1)");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "rc {:?}: {}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn all_policies() -> Vec<(String, Policy)> {
    policies::all()
        .into_iter()
        .map(|(name, source)| {
            let policy = load(&source).unwrap_or_else(|d| panic!("{name}:\n{d}"));
            (name, policy)
        })
        .collect()
}

fn module(policy: Policy) -> String {
    let plan = Plan::new(policy).expect("policy compiles");
    selinux::emit(&plan, &mut Vec::new())
}

fn policy(name: &str, body: &str) -> Policy {
    let text = format!("[policy]\nname = \"{name}\"\nextends = \"docker-default\"\n{body}");
    load_str(name, &text).unwrap_or_else(|d| panic!("{name}:\n{d}"))
}

#[test]
fn base_policy_compiles_alone() {
    compile(&[]).unwrap();
}

#[test]
fn every_builtin_profile_and_policy_file_compiles() {
    let mut failures = Vec::new();
    for (name, policy) in all_policies() {
        let text = module(policy);
        if let Err(e) = compile(&[&text]) {
            failures.push(format!("== {name}: secilc failed: {e}\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn edge_case_policies_compile() {
    let cases = [
        ("no-network", "[network]\nmode = \"none\"\n[[seccomp.rule]]\nsyscalls = [\"socket\"]\naction = \"errno(EPERM)\"\n"),
        ("all-caps", "[capabilities]\nadd = [\"ALL\"]\n"),
        ("no-caps", "[capabilities]\nkeep = []\n"),
        ("custom-types", "[selinux]\ntype = \"webapp_t\"\nfile_type = \"webapp_file_t\"\nlevel = \"s0:c1,c2\"\n"),
        ("no-ptrace", "[[seccomp.deny]]\nnames = [\"ptrace\"]\n"),
    ];
    let mut failures = Vec::new();
    for (name, body) in cases {
        let text = module(policy(name, body));
        if let Err(e) = compile(&[&text]) {
            failures.push(format!("== {name}: secilc failed: {e}\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn modules_of_different_policies_load_side_by_side() {
    let texts: Vec<String> = all_policies().into_iter().map(|(_, p)| module(p)).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    compile(&refs).unwrap();
}

#[test]
fn an_undefined_type_fails() {
    let text = module(load(&PolicySource::Builtin("docker-default")).unwrap());
    let broken = format!("{text}\n(allow palisade_docker_default_t no_such_type_t (file (read)))\n");
    let err = compile(&[&broken]).expect_err("secilc must reject an undefined type");
    assert!(err.contains("no_such_type_t") || err.contains("resolve"), "{err}");
}

#[test]
fn neverallow_catches_a_capability_the_policy_does_not_keep() {
    let text = module(load(&PolicySource::Builtin("docker-default")).unwrap());
    // docker-default does not keep SYS_ADMIN; granting it elsewhere must not compile.
    let contradicting = "(allow palisade_docker_default_t self (capability (sys_admin)))\n";
    let err = compile(&[&text, contradicting]).expect_err("the neverallow must fire");
    assert!(err.contains("neverallow"), "{err}");
    // …while a capability it keeps may be granted twice.
    compile(&[&text, "(allow palisade_docker_default_t self (capability (chown)))\n"]).unwrap();
}

#[test]
fn labels_have_the_documented_form() {
    let p = load(&PolicySource::Builtin("docker-default")).unwrap();
    let labels = selinux::labels(&p);
    let (prefix, level) = labels.process.split_at("system_u:system_r:palisade_docker_default_t:".len());
    assert_eq!(prefix, "system_u:system_r:palisade_docker_default_t:", "{labels:?}");
    let cats = level.strip_prefix("s0:").unwrap_or_else(|| panic!("{level}"));
    let nums: Vec<u16> = cats.split(',').map(|c| c.strip_prefix('c').unwrap().parse().unwrap()).collect();
    assert!(nums.len() == 2 && nums[0] < nums[1] && nums[1] < 1024, "{level}");
    assert_eq!(labels.mount, format!("system_u:object_r:palisade_docker_default_file_t:{level}"));
    // The module carries the same labels at its top.
    let text = module(p);
    assert!(text.contains(&format!("; process label: {}\n", labels.process)), "{text}");
    assert!(text.contains(&format!("; mount label:   {}\n", labels.mount)), "{text}");
}

#[test]
fn a_fixed_level_is_used_verbatim() {
    let labels = selinux::labels(&policy("fixed", "[selinux]\nlevel = \"s0:c1,c2\"\n"));
    assert_eq!(labels.process, "system_u:system_r:palisade_fixed_t:s0:c1,c2");
    assert_eq!(labels.mount, "system_u:object_r:palisade_fixed_file_t:s0:c1,c2");
}
