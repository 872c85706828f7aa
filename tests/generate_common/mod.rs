//! Shared by the `generate_*` integration tests: the real `palisade generate` learns a policy
//! for a real program, `palisade policy check` accepts it, `palisade run` runs the program
//! again under it, and the policy is measured against docker-default.
//!
//! The tests run as root (as CI does) and need Debian's busybox-static and python3; a
//! missing one fails the test with the package's name instead of skipping it.
#![allow(dead_code)]

use super::run_common::*;
use palisade::compile::Plan;
use palisade::policy::{load, PolicySource};
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::Arch;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Debian's statically linked busybox.
pub fn busybox() -> &'static str {
    let path = "/usr/bin/busybox";
    assert!(Path::new(path).exists(), "`busybox` is not installed: apt-get install busybox-static");
    let head = std::fs::read(path).expect("read busybox");
    assert!(
        !head[..head.len().min(4096)].windows(7).any(|w| w == b"ld-linu"),
        "{path} is dynamically linked: apt-get install busybox-static"
    );
    path
}

/// Debian's python3 (not a pyenv or venv one from PATH).
pub fn python3() -> &'static str {
    let path = "/usr/bin/python3";
    assert!(Path::new(path).exists(), "`python3` is not installed: apt-get install python3");
    path
}

/// A directory for one test's policies, under the target's temporary directory.
pub fn workdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("palisade-generate-test-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir")
}

/// `palisade generate ARGS -- COMMAND`.
pub fn generate(args: &[&str], command: &[&str]) -> Output {
    let mut all: Vec<&str> = vec!["generate"];
    all.extend(args);
    if !command.is_empty() {
        all.push("--");
        all.extend(command);
    }
    palisade(&all)
}

/// `palisade run --policy POLICY -- COMMAND`.
pub fn run_under(policy: &Path, command: &[&str]) -> Output {
    let mut all: Vec<&str> = vec!["run", "--policy", policy.to_str().unwrap(), "--"];
    all.extend(command);
    palisade(&all)
}

/// `palisade policy check` must accept the file.
pub fn assert_checks(policy: &Path) {
    let out = palisade(["policy", "check", policy.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "palisade policy check {}: {}", policy.display(), describe(&out));
}

/// No scratch directory of a learning run is left in /var/tmp.
pub fn assert_no_scratch_left() {
    let left: Vec<String> = std::fs::read_dir("/var/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("palisade-generate-"))
        .collect();
    assert!(left.is_empty(), "learning scratch directories left behind: {left:?}");
}

/// Learns `command` into DIR/NAME.toml (with extra generate ARGS), checks the policy, runs
/// the command under it, and asserts the same output and exit 0 both times. Returns the
/// policy's path and the generate output (for warnings).
pub fn round_trip(dir: &Path, name: &str, args: &[&str], command: &[&str]) -> (PathBuf, Output) {
    let policy = dir.join(format!("{name}.toml"));
    let mut all = vec!["-o", policy.to_str().unwrap()];
    all.extend(args);
    let learned = generate(&all, command);
    assert_eq!(code(&learned), 0, "generate {command:?}: {}", describe(&learned));
    assert!(String::from_utf8_lossy(&learned.stderr).contains(&format!("wrote {}", policy.display())), "{}", describe(&learned));
    assert_checks(&policy);
    let text = std::fs::read_to_string(&policy).unwrap();
    let replay = run_under(&policy, command);
    assert_eq!(code(&replay), 0, "{command:?} under its generated policy:\n{}\n--- policy\n{text}", describe(&replay));
    assert_eq!(
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&learned.stdout),
        "{command:?}: the output differs under the generated policy:\n{}\n--- policy\n{text}",
        describe(&replay)
    );
    assert!(!learned.stdout.is_empty(), "{command:?} printed nothing: {}", describe(&learned));
    (policy, learned)
}

/// Asserts that `command` fails under `policy` with `message` (the policy's errno or
/// Landlock's EACCES) on its stderr.
pub fn assert_blocked(policy: &Path, command: &[&str], message: &str) {
    let out = run_under(policy, command);
    let text = std::fs::read_to_string(policy).unwrap();
    assert_ne!(code(&out), 0, "{command:?} should fail under {}:\n{}\n--- policy\n{text}", policy.display(), describe(&out));
    assert!(workload_stderr(&out).contains(message), "{command:?} under {}: expected `{message}`:\n{}", policy.display(), describe(&out));
}

/// How many x86_64 syscalls a policy lets through for some arguments (allowed outright, or
/// by an argument rule).
pub fn allowed_syscalls(policy: &str) -> usize {
    let p = load(&PolicySource::from_arg(policy)).unwrap_or_else(|d| panic!("{}", d.render()));
    let plan = Plan::new(p).unwrap();
    let filter = &plan.filter;
    let arch = filter.arch(Arch::X86_64).expect("the policy filters x86_64");
    Arch::X86_64
        .syscalls()
        .iter()
        .filter(|(_, nr)| match arch.syscalls.get(nr) {
            Some(d) => d.fallback.action == Action::Allow || d.rules.iter().any(|r| r.decided.action == Action::Allow),
            None => filter.default.action == Action::Allow,
        })
        .count()
}

/// Prints a generated policy's size against docker-default's (`--nocapture` shows it).
pub fn report_size(workload: &str, policy: &Path) -> (usize, usize) {
    let mine = allowed_syscalls(policy.to_str().unwrap());
    let docker = allowed_syscalls("docker-default");
    println!(
        "generate size: `{workload}`: {mine} syscalls allowed (x86_64) vs docker-default's {docker} ({:.0}%)",
        100.0 * mine as f64 / docker as f64
    );
    (mine, docker)
}
