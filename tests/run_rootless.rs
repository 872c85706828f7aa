//! `palisade run` by an unprivileged user: a user namespace maps the caller to uid 0 inside.
//! It works for policies that leave the user at 0 and set no resource limits; anything else
//! fails before starting, with an error that says why.

mod run_common;

use run_common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// Runs palisade as nobody (uid/gid 65534, no supplementary groups) via setpriv(1).
fn as_nobody(args: &[&str]) -> std::process::Output {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| panic!("`setpriv` is not installed: apt-get install util-linux"));
    let mut cmd = Command::new(setpriv);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", PALISADE])
        .args(args)
        .env("PALISADE_TEST_RUN", std::process::id().to_string());
    output_within(cmd)
}

/// docker-default's seccomp and capabilities, no network, no user, no limits.
const ROOTLESS: &str =
    "[policy]\nname = \"rootless\"\nextends = \"docker-default\"\n[network]\nmode = \"none\"\n[filesystem]\nread_only_root = true\n";

#[test]
fn rootless_runs_with_the_caller_as_root_inside() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let policy = rootfs.policy("rootless", ROOTLESS);
    for p in [rootfs.path().parent().unwrap(), std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode();
        assert!(mode & 0o005 == 0o005, "{} must be readable by nobody for this test", p.display());
    }
    let root = rootfs.path().to_str().unwrap();
    let out = as_nobody(&["run", "--policy", policy.to_str().unwrap(), "--rootfs", root, "--", PROBE, "status"]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let f = fields(&out);
    assert_eq!(field(&f, "Seccomp"), Some("2"), "{}", describe(&out));
    assert_eq!(f.get("CapEff"), Some(&cap_mask(policy.to_str().unwrap())), "{}", describe(&out));
    let out = as_nobody(&[
        "run",
        "--policy",
        policy.to_str().unwrap(),
        "--rootfs",
        root,
        "--",
        "/bin/sh",
        "-c",
        "id -u; cat /proc/self/uid_map; echo x > /etc/x",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines, [vec!["0"], vec!["0", "65534", "1"]], "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"), "{}", describe(&out));
    // The host-root sandbox works rootless too.
    let out = as_nobody(&["run", "--policy", policy.to_str().unwrap(), "--", "/bin/sh", "-c", "test -d /usr/bin && echo ok"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n", "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn rootless_refuses_what_it_cannot_enforce_with_a_clear_error() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let root = rootfs.path().to_str().unwrap();
    // untrusted wants uid 65534 inside, which needs subordinate ids.
    let out = as_nobody(&["run", "--policy", "untrusted", "--rootfs", root, "--", "/bin/true"]);
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rootless run (uid 65534): only uid 0 exists"), "{}", describe(&out));
    // Resource limits need a cgroup nobody may create here.
    let limited = rootfs.policy("limited", &format!("{ROOTLESS}[resources]\nmemory = \"64M\"\n"));
    let out = as_nobody(&["run", "--policy", limited.to_str().unwrap(), "--rootfs", root, "--", "/bin/true"]);
    assert_eq!(code(&out), 125, "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cgroups: create cgroup") && err.contains("run as root, or use a policy without [resources]"), "{err}");
    drop(rootfs);
    assert_no_leaks();
}
