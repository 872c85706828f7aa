//! Lint rules of the `syscalls` family: each fires on its fixture in tests/fixtures/lint/syscalls/ and
//! none fires on that directory's clean fixtures.

mod lint_common;

use palisade::lint::catalog::Family;

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_clean_ones() {
    lint_common::check_family(Family::Syscalls);
}

#[test]
fn the_64bit_comparison_comes_with_a_bypass_witness() {
    let (at, message) = lint_common::finding("syscalls/seccomp-64bit-int-comparison.fire.json", "seccomp-64bit-int-comparison");
    assert!(at.ends_with("seccomp-64bit-int-comparison.fire.json:6:17"), "{at}");
    assert!(message.contains("socket(0x100000026, …) gets allow while the kernel sees 0x26"), "{message}");
}

#[test]
fn docker_default_json_is_analysed_on_the_decision_model() {
    let path = std::path::Path::new("/work/shared/data/docker-default-seccomp.json");
    let path = if path.exists() {
        path.to_path_buf()
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/docker-default-seccomp.json")
    };
    if !path.exists() {
        return;
    }
    let report = lint_common::lint(&path);
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    // Docker's socket rules compare the family on 64 bits; socketcall is allowed on x86.
    assert!(codes.contains(&"seccomp-64bit-int-comparison") && codes.contains(&"socketcall-bypass"), "{codes:?}");
    // What Docker blocks stays blocked.
    for quiet in ["io-uring-allowed", "socket-af-alg", "socket-af-vsock", "namespace-creation", "keyctl-allowed", "bpf-allowed"] {
        assert!(!codes.contains(&quiet), "{quiet} fired: {codes:?}");
    }
}
