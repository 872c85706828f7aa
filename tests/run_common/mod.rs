//! Shared by the `run_*` integration tests: the real `palisade` binary, a static probe built
//! from tests/probe/sandbox_probe.c, a minimal busybox rootfs, and the leak checks run after
//! every test (no mounts, cgroups or processes left on the host).
//!
//! The tests need root (as CI runs them) and a few Debian packages; a missing one fails the
//! test with the package's name instead of skipping it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub const PALISADE: &str = env!("CARGO_BIN_EXE_palisade");

/// Name of the probe inside the rootfs; distinctive so that leaked processes can be found by
/// their command name.
pub const PROBE: &str = "/bin/palisade-probe";
pub const PROBE_SUID: &str = "/bin/palisade-probe-suid";

/// Runs serialize: each test checks the host for leftovers, which another test's live
/// container would be.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fails unless the tests run as root (the containment tests need to create cgroups and
/// run setuid checks; CI runs them as root).
pub fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "the run_* tests must run as root (CI does); run `cargo test` as root");
}

/// The path of an installed tool, or a failure naming the Debian package (never a skip).
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("`{tool}` is not installed: apt-get install {package}");
}

/// The probe, compiled once per test binary with `cc -static`.
pub fn probe_binary() -> &'static Path {
    static PROBE_BIN: OnceLock<PathBuf> = OnceLock::new();
    PROBE_BIN.get_or_init(|| {
        let cc = require_tool("cc", "gcc libc6-dev");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe/sandbox_probe.c");
        // Built under a private name, then renamed into place: test binaries running one
        // after another (or together) never see a half-written probe.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let tmp = dir.join(format!("sandbox_probe.{}.tmp", std::process::id()));
        let res = Command::new(cc).args(["-static", "-O2", "-Wall", "-o"]).arg(&tmp).arg(&src).output().expect("run cc");
        assert!(
            res.status.success(),
            "cc -static {} failed (static libc comes with Debian's libc6-dev):\n{}",
            src.display(),
            String::from_utf8_lossy(&res.stderr)
        );
        let out = dir.join("sandbox_probe");
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
}

/// A statically linked busybox (Debian's busybox-static); a dynamic one would need libraries
/// in the rootfs.
fn busybox() -> PathBuf {
    let path = require_tool("busybox", "busybox-static");
    let bytes = std::fs::read(&path).expect("read busybox");
    let head = &bytes[..bytes.len().min(4096)];
    assert!(!head.windows(7).any(|w| w == b"ld-linu"), "{} is dynamically linked: apt-get install busybox-static", path.display());
    path
}

/// A minimal root filesystem in a temporary directory: busybox and its applets, the probe
/// (plus a setuid-root copy), /etc/passwd and /etc/group, and /secret/file, which no
/// Landlock allow-list in the built-in profiles covers.
pub struct Rootfs {
    pub dir: tempfile::TempDir,
}

impl Rootfs {
    pub fn new() -> Rootfs {
        let dir = tempfile::Builder::new().prefix("palisade-rootfs-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let root = dir.path();
        for d in ["bin", "etc", "secret", "usr", "lib", "tmp", "home", "data", "proc", "sys", "dev"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::copy(busybox(), root.join("bin/busybox")).unwrap();
        for applet in [
            "sh", "ls", "cat", "id", "echo", "sleep", "true", "false", "env", "pwd", "hostname", "test", "stat", "mount", "grep", "head",
            "kill", "stty", "mknod",
        ] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        let probe = root.join(PROBE.trim_start_matches('/'));
        std::fs::copy(probe_binary(), &probe).unwrap();
        let suid = root.join(PROBE_SUID.trim_start_matches('/'));
        std::fs::copy(probe_binary(), &suid).unwrap();
        nix::unistd::chown(&suid, Some(nix::unistd::Uid::from_raw(0)), Some(nix::unistd::Gid::from_raw(0))).unwrap();
        std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\napp:x:1000:1000:app:/home:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n").unwrap();
        std::fs::write(root.join("secret/file"), "secret\n").unwrap();
        std::fs::set_permissions(root.join("secret/file"), std::fs::Permissions::from_mode(0o644)).unwrap();
        Rootfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a policy file next to the rootfs (outside it) and returns its path.
    pub fn policy(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().with_extension(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        // Policy files written by `policy` sit beside the directory.
        let parent = self.dir.path().parent().unwrap();
        let stem = self.dir.path().file_name().unwrap().to_string_lossy().into_owned();
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(&format!("{stem}.")) && name.ends_with(".toml") {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        }
    }
}

/// How long one `palisade run` in a test may take before the test kills it and fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// `PALISADE_TEST_RUN=<pid of this test binary>`, set on every palisade the tests start.
pub fn marker() -> String {
    format!("PALISADE_TEST_RUN={}", std::process::id())
}

/// The processes (other than this one) that carry this test binary's [`marker`] in their
/// environment (daemons a test started, palisade's monitors, containers), as (pid, comm).
pub fn marked() -> Vec<(i32, String)> {
    let me = std::process::id().to_string();
    let marker = marker();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push((name.parse().unwrap(), comm.trim().to_string()));
        }
    }
    found
}

/// A `palisade` command carrying the leak-check marker.
pub fn palisade_command() -> Command {
    let mut cmd = Command::new(PALISADE);
    cmd.env("PALISADE_TEST_RUN", std::process::id().to_string());
    cmd
}

/// Runs a command to completion with stdin closed, failing the test (after killing the
/// command, whose init dies with it) if it takes longer than [`TIMEOUT`].
pub fn output_within(cmd: Command) -> Output {
    let what = format!("{cmd:?}");
    try_output_within(cmd).unwrap_or_else(|| panic!("{what} did not finish within {TIMEOUT:?}"))
}

/// [`output_within`] that returns `None` (the command killed) instead of failing: for
/// cleanup in `Drop`, where a panic during a failed test's unwinding aborts the test binary
/// and skips the rest of the cleanup.
pub fn try_output_within(mut cmd: Command) -> Option<Output> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            // The readers are left behind: a grandchild may still hold the pipes open.
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Some(Output { status, stdout: out_reader.join().unwrap().unwrap(), stderr: err_reader.join().unwrap().unwrap() })
}

/// Runs `palisade ARGS` with stdin closed and returns its output.
pub fn palisade<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = palisade_command();
    cmd.args(args);
    output_within(cmd)
}

/// `palisade run --policy POLICY --rootfs ROOTFS [EXTRA…] -- PROBE CHECK…`.
pub fn run_probe(rootfs: &Rootfs, policy: &str, extra: &[&str], check: &[&str]) -> Output {
    let mut args: Vec<String> =
        vec!["run".into(), "--policy".into(), policy.into(), "--rootfs".into(), rootfs.path().display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--".into());
    args.push(PROBE.into());
    args.extend(check.iter().map(|s| s.to_string()));
    palisade(&args)
}

/// The `key=value` fields (space- or line-separated) and `Key:\tvalue` status lines of a
/// probe's output.
pub fn fields(out: &Output) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(":\t") {
            map.insert(k.trim().to_string(), v.trim().to_string());
            continue;
        }
        for token in line.split_whitespace() {
            if let Some((k, v)) = token.split_once('=') {
                map.insert(k.to_string(), v.to_string());
            }
        }
    }
    map
}

/// One field, for assertions.
pub fn field<'a>(f: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    f.get(key).map(String::as_str)
}

/// Exit code, stdout and stderr for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The workload's stderr: palisade's own `palisade: note:` lines (layers the host cannot
/// enforce, such as AppArmor here) taken out.
pub fn workload_stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).lines().filter(|l| !l.starts_with("palisade: note: ")).map(|l| format!("{l}\n")).collect()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| panic!("palisade was killed by a signal: {}", describe(out)))
}

/// Asserts the host holds nothing of any run: no mount naming palisade or a test rootfs, no
/// `palisade*` cgroup, no process of palisade or the probe.
pub fn assert_no_leaks() {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let leaked: Vec<&str> = mountinfo.lines().filter(|l| l.contains("palisade") || l.contains(env!("CARGO_TARGET_TMPDIR"))).collect();
    assert!(leaked.is_empty(), "mounts leaked into the host's namespace:\n{}", leaked.join("\n"));

    let mut cgroups = Vec::new();
    find_named(Path::new("/sys/fs/cgroup"), "palisade", 4, &mut cgroups);
    assert!(cgroups.is_empty(), "cgroups leaked: {cgroups:?}");

    // Every palisade this test binary starts carries a marker in its environment, which
    // init (a fork of it) keeps; the probe is known by its name. Other palisade processes on
    // the machine (other test binaries, other users) are not ours to judge.
    let me = std::process::id().to_string();
    let marker = marker();
    let mut procs = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let ours = environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes());
        if ours || comm.trim().starts_with("palisade-probe") {
            procs.push(format!("{name} ({})", comm.trim()));
        }
    }
    assert!(procs.is_empty(), "processes leaked: {procs:?}");

    // The host's device nodes are untouched: the runtime builds /dev for the container, and a
    // mistake in which root it works on would show up here first.
    for dev in ["/dev/null", "/dev/zero", "/dev/urandom"] {
        let meta = std::fs::symlink_metadata(dev).unwrap_or_else(|e| panic!("{dev}: {e}"));
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type()), "the host's {dev} is no longer a character device");
    }
}

fn find_named(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(e.path());
        }
        if depth > 0 {
            find_named(&e.path(), prefix, depth - 1, out);
        }
    }
}

/// The capability mask a policy keeps, as /proc/self/status prints it.
pub fn cap_mask(policy: &str) -> String {
    let p = palisade::policy::load(&palisade::policy::PolicySource::from_arg(policy)).unwrap_or_else(|d| panic!("{}", d.render()));
    let mask = p.capabilities.kept.keys().fold(0u64, |m, c| m | (1u64 << c.index()));
    format!("{mask:016x}")
}

/// The hardening a process runs under, from its /proc/PID/status (or a `cat` of it): seccomp
/// mode and filter count, no_new_privs and the capability sets. The OCI client tests compare
/// an exec'd process's with the container's own.
pub fn hardening(status: &str) -> Vec<(String, String)> {
    const KEYS: &[&str] = &["Seccomp", "Seccomp_filters", "NoNewPrivs", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"];
    status
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| KEYS.contains(k))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// The host pids in a cgroup directory whose command name is `comm`.
pub fn pids_named(group: &Path, comm: &str) -> Vec<i32> {
    let procs = std::fs::read_to_string(group.join("cgroup.procs")).unwrap_or_default();
    procs
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// Builds a busybox image with umoci in `dir` and archives it with skopeo as an OCI archive
/// named `image` (the clients under test import it); returns the archive's path.
pub fn busybox_oci_archive(dir: &Path, image: &str) -> PathBuf {
    let umoci = require_tool("umoci", "umoci");
    let skopeo = require_tool("skopeo", "skopeo");
    let busybox = require_tool("busybox", "busybox-static");
    let layout = dir.join("layout");
    let tagged = format!("{}:latest", layout.display());
    let bundle = dir.join("unpacked");
    let ok = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{cmd:?}: {}", describe(&out));
    };
    ok(Command::new(&umoci).args(["init", "--layout"]).arg(&layout));
    ok(Command::new(&umoci).args(["new", "--image", &tagged]));
    ok(Command::new(&umoci).args(["unpack", "--image", &tagged]).arg(&bundle));
    let rootfs = bundle.join("rootfs");
    for sub in ["bin", "tmp", "etc", "proc", "sys", "dev"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "sleep", "ls"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    ok(Command::new(&umoci).args(["repack", "--image", &tagged]).arg(&bundle));
    ok(Command::new(&umoci).args(["config", "--image", &tagged, "--config.env", "PATH=/bin", "--config.cmd", "sh"]));
    let archive = dir.join("busybox.tar");
    ok(Command::new(&skopeo).arg("copy").arg(format!("oci:{tagged}")).arg(format!("oci-archive:{}:{image}", archive.display())));
    archive
}
