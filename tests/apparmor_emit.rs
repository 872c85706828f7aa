//! The generated AppArmor profiles against the real parser: every built-in profile, every file
//! in policies/ and a few edge-case policies must compile with `apparmor_parser` (offline, with
//! the AppArmor 3.0 feature ABI), and docker-default's profile must make Docker's decisions
//! (checked against moby's golden output in /work/shared/data).
//!
//! The parser is required, not optional: a missing apparmor_parser fails these tests.

#[path = "support/policies.rs"]
mod policies;
use palisade::compile::{apparmor, Plan};
use palisade::policy::load::BUILTIN_PROFILES;
use palisade::policy::{load, load_str, Policy, PolicySource};
use std::path::{Path, PathBuf};
use std::process::Command;

/// apparmor_parser lives in /sbin, which is often not on a user's PATH.
fn apparmor_parser() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("apparmor_parser"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("apparmor_parser not found: install the `apparmor` package (apt-get install apparmor); CI installs it"))
}

/// Runs the offline validation of REFERENCES.md; `Err(stderr)` when the parser rejects the text.
fn parse(profile: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile");
    std::fs::write(&file, profile).unwrap();
    let output = Command::new("timeout")
        .arg("10")
        .arg(apparmor_parser())
        .args(["-QKq", "-M", "/etc/apparmor.d/abi/3.0", "-o", "/dev/null"])
        .arg(&file)
        .output()
        .expect("run timeout(1)");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("rc {:?}: {}", output.status.code(), String::from_utf8_lossy(&output.stderr)))
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

fn emit(policy: Policy) -> String {
    let plan = Plan::new(policy).expect("policy compiles");
    apparmor::emit(&plan, &mut Vec::new())
}

fn check_all(policies: Vec<(String, Policy)>) {
    let mut failures = Vec::new();
    for (name, policy) in policies {
        let profile = emit(policy);
        if let Err(stderr) = parse(&profile) {
            failures.push(format!("== {name}: apparmor_parser failed: {stderr}\n{profile}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_builtin_profile_and_policy_file_parses() {
    let policies = all_policies();
    assert!(policies.len() >= BUILTIN_PROFILES.len());
    check_all(policies);
}

#[test]
fn edge_case_policies_parse() {
    let cases = [
        ("no-network", "[network]\nmode = \"none\"\n"),
        ("sys-admin", "[capabilities]\nadd = [\"SYS_ADMIN\", \"PERFMON\", \"BPF\", \"CHECKPOINT_RESTORE\"]\n"),
        ("no-caps", "[capabilities]\nkeep = []\n"),
        ("read-only", "[filesystem]\nread_only_root = true\n[filesystem.tmpfs]\n\"/run\" = \"size=1m\"\n\"/tmp\" = \"size=8m,noexec\"\n"),
        ("unconfined", "[apparmor]\nprofile = \"unconfined\"\n"),
        ("host-profile", "[apparmor]\nprofile = \"my-profile\"\n"),
        ("no-ptrace", "[[seccomp.deny]]\nnames = [\"ptrace\"]\n"),
        (
            "odd-paths",
            "[filesystem]\nmasked_paths = [\"/srv/a b\", \"/srv/glob*?[x]{y}\", \"/srv/c,d#e\", \"/srv/@{HOME}\", \"/srv/q\\\"uote\"]\nreadonly_paths = [\"/srv/ro dir/\"]\n[filesystem.landlock]\nread = [\"/\", \"/usr/share/my docs\"]\nwrite = [\"/tmp\", \"/srv/@{x}\"]\nexecute = [\"/usr/bin\"]\n",
        ),
    ];
    let policies = cases
        .iter()
        .map(|(name, body)| {
            let text = format!("[policy]\nname = \"{name}\"\nextends = \"docker-default\"\n{body}");
            (name.to_string(), load_str(name, &text).unwrap_or_else(|d| panic!("{name}:\n{d}")))
        })
        .collect();
    check_all(policies);
}

#[test]
fn the_parser_check_can_fail() {
    let err = parse("profile broken {\n  frobnicate everything,\n}\n").expect_err("a bogus rule must be rejected");
    assert!(err.contains("line 2"), "{err}");
}

/// A rule as compared: trailing comment and surrounding space removed, Docker's test profile
/// name `default` replaced by the name Docker uses in production, `docker-default`.
fn normalize(line: &str) -> Option<String> {
    let rule = line.trim_start().split("  #").next().unwrap().trim();
    if rule.is_empty() || rule.starts_with("# ") || rule.starts_with('@') || rule.starts_with("profile ") || rule == "}" {
        return None;
    }
    Some(rule.replace("peer=\"default\"", "peer=docker-default").replace("peer=\"unconfined\"", "peer=unconfined"))
}

/// docker-default against moby's golden profile (apparmor/testdata/default.golden).
///
/// Same decisions: network (all families but alg), file (all files, the same /proc and /sys
/// deny rules), `deny mount`, signals from the host, runc and crun and among the container's
/// processes, ptrace among them. The differences, all deliberate:
/// - `capability,` (any capability) becomes one `capability X,` line per kept capability: the
///   same 14 that Docker leaves in the bounding set, so the effective set is the same.
/// - `umount,` becomes `deny umount,` and `deny pivot_root,` is added: both need SYS_ADMIN,
///   which docker-default does not keep, so the result is the same; the profile no longer
///   depends on the capability drop for it.
/// - `deny network vsock,` is added: Docker's seccomp profile refuses AF_VSOCK too, the
///   AppArmor profile now says so as well.
/// - Masked and read-only paths get deny rules of their own (`deny /proc/keys rwklx,`, `deny
///   /proc/sys/** wl,` …). Docker enforces those lists with mounts only.
/// - `signal (receive) peer="unconfined"` for the daemon appears once (Docker writes the
///   unconfined rule twice, once as the daemon's profile name).
/// - `#include <tunables/global>` and `#include <abstractions/base>` are always written; Docker
///   writes them when the files exist on the host, and the golden file was made without them
///   (hence its `@{PROC}=/proc/`).
#[test]
fn docker_default_makes_dockers_decisions() {
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/docker-default-apparmor.profile");
    let golden = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{}: {e} (test input, see /work/shared/data/README.md)", golden_path.display()));
    let ours = emit(load(&PolicySource::Builtin("docker-default")).unwrap());
    let ours_rules: Vec<String> = ours.lines().filter_map(normalize).collect();

    let expected_differences = ["capability,", "umount,"];
    let mut missing = Vec::new();
    for rule in golden.lines().filter_map(normalize) {
        if !expected_differences.contains(&rule.as_str()) && !ours_rules.contains(&rule) {
            missing.push(rule);
        }
    }
    assert!(missing.is_empty(), "rules of Docker's profile missing from ours: {missing:#?}\n{ours}");

    assert!(ours.contains("profile docker-default flags=(attach_disconnected,mediate_deleted) {"), "{ours}");
    for rule in ["deny umount,", "deny pivot_root,", "deny network vsock,", "#include <tunables/global>", "#include <abstractions/base>"] {
        assert!(ours_rules.iter().any(|r| r == rule), "missing {rule}\n{ours}");
    }
    let mut caps: Vec<&str> = ours_rules.iter().filter_map(|r| r.strip_prefix("capability ")).collect();
    caps.sort_unstable();
    assert_eq!(
        caps,
        [
            "audit_write,",
            "chown,",
            "dac_override,",
            "fowner,",
            "fsetid,",
            "kill,",
            "mknod,",
            "net_bind_service,",
            "net_raw,",
            "setfcap,",
            "setgid,",
            "setpcap,",
            "setuid,",
            "sys_chroot,"
        ],
        "Docker's 14 default capabilities"
    );
    // Nothing beyond the documented additions: every rule of ours is Docker's, one of the
    // differences above, or a masked/read-only path rule.
    let extra: Vec<&String> = ours_rules
        .iter()
        .filter(|r| !golden.lines().filter_map(normalize).any(|g| &g == *r))
        .filter(|r| !r.starts_with("capability ") && !r.starts_with("#include"))
        .filter(|r| !["deny umount,", "deny pivot_root,", "deny network vsock,"].contains(&r.as_str()))
        .filter(|r| !(r.starts_with("deny /proc/") || r.starts_with("deny /sys/")))
        .collect();
    assert!(extra.is_empty(), "rules Docker's profile does not have: {extra:#?}");
}
