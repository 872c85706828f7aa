//! `palisade generate --base PROFILE`: the generated policy extends the profile and adds only
//! what it lacks. It runs the workload under the profile's identity and layers; a syscall the
//! base denies outright is reported as a warning and never allowed.

mod generate_common;
mod run_common;

use generate_common::*;
use run_common::*;

#[test]
fn a_policy_on_untrusted_adds_only_what_untrusted_lacks() {
    let _s = serial();
    require_root();
    let py = python3();
    let dir = workdir();
    let command: &[&str] = &[py, "-c", "import os; print(os.getuid(), 1 + 1)"];
    let (policy, _) = round_trip(dir.path(), "on-untrusted", &["--base", "untrusted"], command);
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("extends = \"untrusted\""), "{text}");
    // It ran as untrusted's user, learning and again.
    assert_eq!(String::from_utf8_lossy(&run_under(&policy, command).stdout), "65534 2\n");
    // untrusted already allows everything python needs to print: nothing to add.
    let p = palisade::policy::load(&palisade::policy::PolicySource::File(policy.clone())).unwrap();
    let own = |o: &palisade::policy::source::Origin| matches!(o, palisade::policy::source::Origin::At(s) if s.file.name == *p.chain.last().unwrap());
    assert!(!p.seccomp.allow.iter().any(|i| own(&i.origin)), "{text}");
    assert!(!p.filesystem.landlock.read.iter().any(|i| own(&i.origin)), "{text}");
    report_size("python3 -c print, on untrusted (the base's own size)", &policy);
    assert_no_scratch_left();
    assert_no_leaks();
}

#[test]
fn a_syscall_the_base_denies_is_a_warning_not_an_allow() {
    let _s = serial();
    require_root();
    let py = python3();
    let dir = workdir();
    // io_uring_setup(1, NULL): EFAULT while learning; untrusted kills on any io_uring call.
    let command: &[&str] = &[py, "-c", "import ctypes; print(ctypes.CDLL(None).syscall(425, 1, 0))"];
    let policy = dir.path().join("uring.toml");
    let out = generate(&["--base", "untrusted", "-o", policy.to_str().unwrap()], command);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-1\n", "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: `io_uring_setup` was observed, but base `untrusted` denies it (kill-process"), "{stderr}");
    assert_checks(&policy);
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(!text.contains("io_uring"), "a denied syscall must not be allowed: {text}");
    // Under the policy the base's denial stands: SIGSYS (128 + 31).
    let replay = run_under(&policy, command);
    assert_eq!(code(&replay), 159, "{}", describe(&replay));
    assert_no_scratch_left();
    assert_no_leaks();
}

#[test]
fn a_policy_on_docker_default_tightens_its_network_and_runs() {
    let _s = serial();
    require_root();
    let bb = busybox();
    let dir = workdir();
    // docker-default's bridge network is not supported by `palisade run` yet; the workload
    // uses none, so the generated policy says none and runs.
    let (policy, out) = round_trip(dir.path(), "on-docker", &["--base", "docker-default"], &[bb, "ls", "/usr"]);
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("extends = \"docker-default\"") && text.contains("mode = \"none\""), "{text}\n{}", describe(&out));
    // docker-default has no Landlock: the generated one turns it on with what was used.
    assert_blocked(&policy, &[bb, "cat", "/etc/debian_version"], "Permission denied");
    assert_no_scratch_left();
    assert_no_leaks();
}
