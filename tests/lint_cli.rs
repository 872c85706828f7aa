//! `palisade lint` from the command line: exit statuses (0 clean, 1 deny-level findings,
//! 2 errors), levels from flags and a config file, the output formats, --explain and --list.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint").join(p)
}

fn lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade")).arg("lint").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn exit_status_follows_levels() {
    let clean = fixture("privilege/clean.hardened.yaml");
    let clean = clean.to_str().unwrap();
    let o = lint(&[clean]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("exposure"), "{}", stdout(&o));

    let privileged = fixture("privilege/privileged.fire.yaml");
    let privileged = privileged.to_str().unwrap();
    let o = lint(&[privileged]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("error[privileged]"), "{text}");
    assert!(text.contains("privileged.fire.yaml:10:21"), "{text}");
    assert!(text.contains("10 |         privileged: true"), "{text}");

    // Lowered to a warning, the same file passes; raised warnings fail.
    assert_eq!(lint(&["--warn", "privileged", "--warn", "seccomp-unconfined", "--warn", "privilege", privileged]).status.code(), Some(0));
    let warn_only = fixture("mounts/writable-root-filesystem.fire.json");
    let warn_only = warn_only.to_str().unwrap();
    assert_eq!(lint(&["--allow", "lsm", "--allow", "namespaces", "--allow", "kernel", warn_only]).status.code(), Some(0));
    assert_eq!(
        lint(&["--allow", "lsm", "--allow", "namespaces", "--allow", "kernel", "--deny", "writable-root-filesystem", warn_only])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(lint(&["--deny", "warnings", warn_only]).status.code(), Some(1));

    // Errors: unreadable file, unknown rule, unparsable input.
    assert_eq!(lint(&["/nonexistent/file.yaml"]).status.code(), Some(2));
    let o = lint(&["--deny", "privilegd", clean]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `privileged`"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.aa");
    std::fs::write(&bad, "profile x {\n  capability sys_admn,\n}\n").unwrap();
    let o = lint(&[bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("bad.aa:2:14"), "{}", stdout(&o));
}

#[test]
fn config_file_sets_levels() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("palisade-lint.toml");
    std::fs::write(&config, "allow = [\"privilege\", \"lsm\", \"namespaces\", \"mounts\", \"kernel\"]\n").unwrap();
    let f = fixture("privilege/privileged.fire.yaml");
    assert_eq!(lint(&["--config", config.to_str().unwrap(), f.to_str().unwrap()]).status.code(), Some(0));
    std::fs::write(&config, "[levels]\nprivileged = \"maybe\"\n").unwrap();
    let o = lint(&["--config", config.to_str().unwrap(), f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("palisade-lint.toml:2:14"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn json_output_and_scores() {
    let f = fixture("privilege/privileged.fire.yaml");
    let o = lint(&["--format", "json", f.to_str().unwrap(), fixture("privilege/clean.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["exit_status"], 1);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files[0]["kind"], "k8s");
    let finding = files[0]["findings"].as_array().unwrap().iter().find(|f| f["code"] == "privileged").unwrap();
    assert_eq!(finding["level"], "deny");
    assert_eq!(finding["line"], 10);
    assert_eq!(finding["column"], 21);
    assert_eq!(files[0]["subjects"][0]["score"], 10.0);
    assert_eq!(files[0]["subjects"][0]["rating"], "UNSAFE");
    assert_eq!(files[1]["kind"], "palisade");
    assert!(files[1]["subjects"][0]["score"].as_f64().unwrap() < 2.0, "{}", files[1]["subjects"][0]);
    assert!(files[1]["subjects"][0]["breakdown"].as_array().unwrap().len() > 10);
}

#[test]
fn explain_list_and_breakdown() {
    let o = lint(&["--explain", "seccomp-64bit-int-comparison"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("0x1_0000_0026"), "{}", stdout(&o));
    assert_eq!(lint(&["--explain", "nope"]).status.code(), Some(2));
    let o = lint(&["--list"]);
    assert!(stdout(&o).lines().count() >= 37);
    let o = lint(&["--score", fixture("namespaces/host-pid.fire.yaml").to_str().unwrap()]);
    assert!(stdout(&o).contains("✗ host-pid"), "{}", stdout(&o));
    let o = lint(&["--input", "k8s", fixture("namespaces/host-network.fire.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "a TOML file read as YAML does not parse: {}", stdout(&o));
}
