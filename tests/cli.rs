//! The `palisade policy` verbs, run as the real binary: exit codes, output formats, files.

use std::process::{Command, Output};

fn palisade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_accepts_builtins_and_examples_and_rejects_bad_files() {
    let ok = palisade(&[
        "policy",
        "check",
        "docker-default",
        "restricted",
        "untrusted",
        "policies/ci-job.toml",
        "policies/web-server.toml",
        "policies/python-sandbox.toml",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let bad = palisade(&["policy", "check", "tests/fixtures/bad/unknown-syscall.toml"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("tests/fixtures/bad/unknown-syscall.toml:3:18"), "{}", stderr(&bad));
    let json = palisade(&["policy", "check", "--format", "json", "tests/fixtures/bad/unknown-key.toml", "untrusted"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v[0]["valid"], false);
    assert_eq!(v[0]["diagnostics"][0]["code"], "unknown-key");
    assert_eq!(v[0]["diagnostics"][0]["line"], 5);
    assert_eq!(v[1]["valid"], true);
}

#[test]
fn compile_writes_every_kind_and_bpf_is_raw_sock_filters() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["oci", "seccomp-json", "seccomp-bpf", "apparmor", "selinux", "landlock"] {
        let out = dir.path().join(kind);
        let o = palisade(&["policy", "compile", "docker-default", "--emit", kind, "-o", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", stderr(&o));
        assert!(std::fs::metadata(&out).unwrap().len() > 100, "{kind} output is tiny");
    }
    let bpf = std::fs::read(dir.path().join("seccomp-bpf")).unwrap();
    assert_eq!(bpf.len() % 8, 0);
    let k8s = dir.path().join("k8s");
    let o = palisade(&["policy", "compile", "untrusted", "--emit", "k8s", "-o", k8s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(k8s.join("pod.yaml").exists() && k8s.join("seccomp/palisade/untrusted.json").exists());
    let o = palisade(&["policy", "compile", "tests/fixtures/bad/unknown-action.toml", "--emit", "oci"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn import_of_dockers_profile_writes_a_policy_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("docker.toml");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/docker-default-seccomp.json");
    let o = palisade(&["policy", "import", src, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = palisade(&["policy", "check", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [}").unwrap();
    let o = palisade(&["policy", "import", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("broken.json:2:"), "{}", stderr(&o));
}

#[test]
fn explain_traces_decisions_through_extends() {
    // restricted extends docker-default: socket's rule comes from docker-default's file.
    let o = palisade(&["policy", "explain", "restricted", "--syscall", "socket", "--args", "AF_ALG", "--arch", "x86_64"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("x86_64: socket(AF_ALG) → errno(EPERM)"), "{text}");
    assert!(text.contains("builtin:docker-default.toml") || text.contains("builtin:docker-default:"), "{text}");
    let o = palisade(&["policy", "explain", "restricted", "--capability", "SYS_ADMIN"]);
    assert!(stdout(&o).contains("SYS_ADMIN: not granted"), "{}", stdout(&o));
    let o = palisade(&["policy", "explain", "restricted", "--capability", "NET_BIND_SERVICE"]);
    assert!(stdout(&o).contains("kept (granted at builtin:restricted:"), "{}", stdout(&o));
    let o = palisade(&["policy", "explain", "untrusted", "--path", "/etc/passwd", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.as_array().unwrap().iter().any(|l| l["kind"] == "landlock" && l["text"].as_str().unwrap().contains("read via /etc")), "{v}");
    let o = palisade(&["policy", "explain", "docker-default", "--syscall", "nosuchcall"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn groups_and_profiles_are_listed() {
    let o = palisade(&["policy", "groups"]);
    assert!(stdout(&o).contains("@docker-default"), "{}", stdout(&o));
    let o = palisade(&["policy", "profiles", "untrusted"]);
    assert!(stdout(&o).contains("[seccomp]"));
}
