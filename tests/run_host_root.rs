//! The host-root sandbox (`palisade run` without --rootfs): the host's / read-only, a private
//! /tmp, fresh /proc, a minimal /dev, /run hidden, no network. The README's first command
//! runs here, on any machine, offline.

mod run_common;

use palisade::policy::{load, PolicySource};
use run_common::*;

const DOCKER_NONE: &str = "[policy]\nname = \"docker-none\"\nextends = \"docker-default\"\n[network]\nmode = \"none\"\n";

fn policy_file(name: &str, text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().prefix(&format!("{name}-")).suffix(".toml").tempfile_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

/// The README's first command, exactly: one allowed action of each kind (the user database,
/// a private /tmp, the programs' directories) and one the untrusted profile refuses (listing
/// `/`, which is not on its Landlock read list), ending with exit 0.
const README_FIRST_COMMAND: &str =
    r#"id; echo hello > /tmp/note && cat /tmp/note; ls /usr > /dev/null && echo "/usr: readable"; ls / || echo "/: refused by the policy""#;

#[test]
fn readme_first_command() {
    let _s = serial();
    require_root();
    // The refusal is the profile's, and it stays: untrusted grants no read of `/` (Landlock
    // grants cover everything below a path, so that would open the whole host).
    let untrusted = load(&PolicySource::Builtin("untrusted")).unwrap();
    assert!(!untrusted.filesystem.landlock.read.iter().any(|i| i.name == "/"), "untrusted must not grant reading /");
    // The command is the README's, word for word.
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&format!("run --policy untrusted -- /bin/sh -c '{README_FIRST_COMMAND}'")),
        "README.md no longer shows this command"
    );
    let out = palisade(["run", "--policy", "untrusted", "--", "/bin/sh", "-c", README_FIRST_COMMAND]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\nhello\n/usr: readable\n/: refused by the policy\n",
        "{}",
        describe(&out)
    );
    assert_eq!(workload_stderr(&out), "ls: cannot open directory '/': Permission denied\n", "{}", describe(&out));
    // What the host cannot enforce is said, not hidden.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("palisade: note: not enforced here:") && err.contains("SELinux"), "{err}");
    // The note written there stayed in the sandbox's private /tmp.
    assert!(!std::path::Path::new("/tmp/note").exists(), "the private /tmp leaked out");
    assert_no_leaks();
}

#[test]
fn the_hosts_root_is_read_only_and_tmp_is_private() {
    let _s = serial();
    require_root();
    let policy = policy_file("docker-none", DOCKER_NONE);
    let host_file = tempfile::Builder::new().prefix("palisade-host-").tempfile_in("/tmp").unwrap();
    let name = host_file.path().file_name().unwrap().to_str().unwrap().to_string();
    let script = format!("test -e /tmp/{name} && echo host-tmp-visible; echo inside > /tmp/mine && cat /tmp/mine; echo x > /etc/palisade-test; ls -A /run | wc -l");
    let out = palisade(["run", "--policy", policy.path().to_str().unwrap(), "--", "/bin/sh", "-c", &script]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("host-tmp-visible"), "the host's /tmp leaked in: {}", describe(&out));
    assert!(stdout.contains("inside"), "{}", describe(&out));
    assert!(stderr.contains("Read-only file system"), "{}", describe(&out));
    assert_eq!(stdout.lines().last(), Some("0"), "/run must be an empty tmpfs: {}", describe(&out));
    assert!(!std::path::Path::new("/etc/palisade-test").exists());
    assert!(!std::path::Path::new("/tmp/mine").exists(), "the private /tmp leaked out");
    assert_no_leaks();
}

#[test]
fn fresh_proc_minimal_dev_and_no_network() {
    let _s = serial();
    require_root();
    let policy = policy_file("docker-none", DOCKER_NONE);
    let probe = probe_binary().to_str().unwrap().to_string();
    // Only init and this shell's processes exist in the new pid namespace.
    let out = palisade([
        "run",
        "--policy",
        policy.path().to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        "ls -d /proc/[0-9]* | wc -l; ls /dev | tr '\\n' ' '",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let procs: usize = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or_else(|| panic!("{}", describe(&out)));
    assert!(procs <= 4, "the pid namespace shows {procs} processes: {}", describe(&out));
    let dev: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        dev,
        ["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"]
    );
    // The probe, run from its host path: only loopback.
    let out = palisade(["run", "--policy", policy.path().to_str().unwrap(), "--", &probe, "netdevs"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let devs: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("netdev=")).collect();
    assert_eq!(devs, ["lo"], "{}", describe(&out));
    assert_no_leaks();
}

#[test]
fn a_volume_from_the_hosts_tmp_is_mounted_in_the_host_root_sandbox() {
    let _s = serial();
    require_root();
    // The sandbox's private /tmp covers the host's in the container's mount namespace; the
    // volume's source there must still be the one checked on the host.
    let policy = policy_file("docker-none", DOCKER_NONE);
    let source = tempfile::Builder::new().prefix("palisade-volume-").tempdir_in("/tmp").unwrap();
    std::fs::write(source.path().join("hello"), "from the host's /tmp\n").unwrap();
    let volume = format!("{}:/mnt:ro", source.path().display());
    let out = palisade(["run", "--policy", policy.path().to_str().unwrap(), "-v", &volume, "--", "/bin/cat", "/mnt/hello"]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the host's /tmp\n", "{}", describe(&out));
    assert_no_leaks();
}
