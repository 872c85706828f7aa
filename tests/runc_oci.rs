//! `--emit oci` against a real peer: the config palisade writes runs a busybox bundle under runc,
//! and a static probe inside the container shows which syscalls the kernel refused.
//!
//! The expected outcome of every probe comes from palisade's own decision model
//! (`Filter::decide`, the reference semantics), so the test proves that runc + libseccomp,
//! given palisade's OCI JSON, enforce what the policy says. A few outcomes are also spelled out
//! (Docker's documented behaviour for docker-default), and /proc/self/status shows the seccomp
//! mode, no_new_privs and the capability sets the process really ended up with after exec.
//!
//! Needs root (runc creates namespaces and cgroups; CI runs as root), runc (Debian package
//! `runc`), a C compiler with static libc (`build-essential`) and a static busybox
//! (`busybox-static`). A missing one fails the test with the package to install.

use palisade::compile::{oci, EmitOptions, LsmTarget, Plan};
use palisade::diag::Diagnostic;
use palisade::policy::{load, load_str, Policy, PolicySource};
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::Arch;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PROBE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/probe/probe.c");
const BUSYBOX: &str = "/bin/busybox";
const APPLETS: &[&str] = &["sh", "cat", "ls", "echo", "grep", "id", "true"];
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// One probe of probe.c and the arguments it passes, so the decision model can be asked about
/// exactly the call the probe makes (keep in sync with tests/probe/probe.c).
struct Probe {
    name: &'static str,
    syscall: &'static str,
    args: [u64; 6],
}

const AF_ALG: u64 = 38;
const SOCK_SEQPACKET: u64 = 5;
const PROBES: &[Probe] = &[
    Probe { name: "reboot", syscall: "reboot", args: [0; 6] },
    Probe { name: "unshare_user", syscall: "unshare", args: [0x1000_0000, 0, 0, 0, 0, 0] },
    Probe { name: "socket_alg", syscall: "socket", args: [AF_ALG, SOCK_SEQPACKET, 0, 0, 0, 0] },
    Probe { name: "socket_inet", syscall: "socket", args: [2, 1, 0, 0, 0, 0] },
    Probe { name: "socket_highbit", syscall: "socket", args: [AF_ALG | 1 << 32, SOCK_SEQPACKET, 0, 0, 0, 0] },
    Probe { name: "keyctl", syscall: "keyctl", args: [0, (-3i64) as u64, 0, 0, 0, 0] },
    Probe { name: "bpf", syscall: "bpf", args: [0; 6] },
    Probe { name: "ptrace", syscall: "ptrace", args: [0; 6] },
    Probe { name: "personality", syscall: "personality", args: [0xffff_ffff, 0, 0, 0, 0, 0] },
    Probe { name: "clone3", syscall: "clone3", args: [0; 6] },
];

/// Fails (never skips) with what to install.
fn require_tool(program: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()))
        .unwrap_or_else(|| panic!("`{program}` is not installed: this test needs it (apt-get install {package})"))
}

fn require_root() {
    // The effective uid is the second field of Uid: in /proc/self/status.
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)).expect("Uid line");
    assert_eq!(euid, "0", "this test runs containers with runc and must run as root (CI does): run `sudo -E cargo test --test runc_oci`");
}

/// Compiles the probe statically into `path` (the rootfs has no libc).
fn build_probe(path: &Path) {
    let cc = require_tool("cc", "build-essential");
    let status = Command::new(cc).args(["-static", "-O2", "-o"]).arg(path).arg(PROBE_SOURCE).status().expect("run cc");
    assert!(status.success(), "cc -static failed on {PROBE_SOURCE}: static libc missing? (apt-get install build-essential libc6-dev)");
}

/// A bundle: config.json and rootfs/ with a static busybox, a few applets and the probe.
fn bundle(dir: &Path, config: &oci_spec::runtime::Spec) -> PathBuf {
    let busybox = Path::new(BUSYBOX);
    assert!(busybox.is_file(), "{BUSYBOX} is missing: apt-get install busybox-static");
    let bundle = dir.join("bundle");
    let rootfs = bundle.join("rootfs");
    for sub in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(sub)).expect("create rootfs dirs");
    }
    std::fs::copy(busybox, rootfs.join("bin/busybox")).expect("copy busybox");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).expect("applet symlink");
    }
    build_probe(&rootfs.join("probe"));
    config.save(bundle.join("config.json")).expect("write config.json");
    bundle
}

/// Deletes the container whatever happened to the test.
struct Container {
    runc: PathBuf,
    state: PathBuf,
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        // Ignoring the result is right here: the container may never have been created.
        let _ = Command::new(&self.runc).arg("--root").arg(&self.state).args(["delete", "--force", &self.id]).output();
    }
}

fn unique_id(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("palisade-test-{}-{}-{label}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Runs the bundle to completion under runc and returns its output.
fn runc_run(dir: &Path, bundle: &Path, label: &str) -> Output {
    let runc = require_tool("runc", "runc");
    let container = Container { runc: runc.clone(), state: dir.join("runc-state"), id: unique_id(label) };
    let mut child = Command::new(&runc)
        .arg("--root")
        .arg(&container.state)
        .args(["run", "-b"])
        .arg(bundle)
        .arg(&container.id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runc");
    let start = Instant::now();
    while child.try_wait().expect("wait for runc").is_none() {
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            panic!("runc run {} did not finish within {RUN_TIMEOUT:?}", container.id);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect runc output")
}

/// The config for a policy as emitted for this host: it has neither AppArmor nor SELinux
/// active (AppArmor is not built in, SELinux is built in but disabled), and runc refuses any
/// config naming an LSM the host lacks, so the target is `LsmTarget::None` — which the compiler
/// reports (`oci-lsm-omitted`) — and everything is used exactly as emitted.
fn config_for(plan: &Plan, args: &[&str], notes: &mut Vec<Diagnostic>) -> oci_spec::runtime::Spec {
    let options = EmitOptions { arch: Some(Arch::X86_64), args: args.iter().map(|a| a.to_string()).collect(), lsm: LsmTarget::None };
    let spec = oci::spec(plan, &options, notes).expect("the policy compiles to an OCI config");
    assert!(notes.iter().any(|n| n.code == "oci-lsm-omitted"), "the omitted labels are reported");
    let process = spec.process().as_ref().expect("process");
    assert!(process.apparmor_profile().is_none() && process.selinux_label().is_none());
    spec
}

/// What the decision model says the probe prints: `Some("errno=N")`/`Some("signal=31")` when
/// the filter decides, `None` when the syscall is allowed and the kernel answers.
fn model_expectation(plan: &Plan, probe: &Probe) -> Option<String> {
    let arch = Arch::X86_64;
    let nr = arch.syscall_nr(probe.syscall).unwrap_or_else(|| panic!("{} has no x86_64 number", probe.syscall));
    match plan.filter.decide(arch.audit_arch(), nr, &probe.args) {
        Action::Allow | Action::Log => None,
        Action::Errno(e) => Some(format!("errno={e}")),
        // SIGSYS: the kill actions and trap all end the probe's child with signal 31.
        Action::KillProcess | Action::KillThread | Action::Trap => Some("signal=31".to_string()),
        other => panic!("probe {}: no expectation for action {other:?}", probe.name),
    }
}

/// Lines of the probe's output by probe name.
fn probe_results(stdout: &str) -> std::collections::BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(name, _)| PROBES.iter().any(|p| p.name == *name))
        .map(|(name, result)| (name.to_string(), result.to_string()))
        .collect()
}

fn status_field<'a>(stdout: &'a str, field: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(":\t")))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status:\n{stdout}"))
}

struct Run {
    stdout: String,
    notes: Vec<Diagnostic>,
}

/// Runs `cat /proc/self/status` and every probe in one container of the policy.
fn run_policy(policy: Policy, label: &str) -> (Plan, Run) {
    require_root();
    let plan = Plan::new(policy).expect("policy compiles");
    let names: Vec<&str> = PROBES.iter().map(|p| p.name).collect();
    let script = format!("cat /proc/self/status && /probe syscall {}", names.join(" "));
    let mut notes = Vec::new();
    let config = config_for(&plan, &["/bin/sh", "-c", &script], &mut notes);
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = bundle(dir.path(), &config);
    let out = runc_run(dir.path(), &bundle, label);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "runc run failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (plan, Run { stdout, notes })
}

/// The kernel's view matches the policy: seccomp filter mode, no_new_privs and capabilities.
fn check_status(plan: &Plan, run: &Run, non_root: bool) {
    let policy = &plan.policy;
    assert_eq!(status_field(&run.stdout, "Seccomp"), "2", "a seccomp filter is installed");
    let nnp = if policy.process.no_new_privileges.value { "1" } else { "0" };
    assert_eq!(status_field(&run.stdout, "NoNewPrivs"), nnp);
    let kept: u64 = policy.capabilities.kept.keys().map(|c| c.0.bitmask()).fold(0, |a, b| a | b);
    let hex = |field| u64::from_str_radix(status_field(&run.stdout, field), 16).expect("hex capability set");
    // `cat` is a fresh exec: these are the sets a workload's programs really run with.
    assert_eq!(hex("CapEff"), kept, "CapEff is the kept set");
    assert_eq!(hex("CapPrm"), kept, "CapPrm is the kept set");
    assert_eq!(hex("CapBnd"), kept, "CapBnd is the kept set");
    assert_eq!(hex("CapAmb"), if non_root { kept } else { 0 }, "ambient only for a non-root user");
}

/// Every probe prints what the decision model predicts, except where the OCI JSON is known to
/// be looser and the compiler said so. All mismatches are reported together.
fn check_probes(plan: &Plan, run: &Run) -> std::collections::BTreeMap<String, String> {
    let results = probe_results(&run.stdout);
    let widened = run.notes.iter().find(|n| n.code == "json-widened-comparison");
    let mut wrong = Vec::new();
    for probe in PROBES {
        let Some(got) = results.get(probe.name) else {
            wrong.push(format!("{}: printed nothing", probe.name));
            continue;
        };
        // OCI/Docker JSON compares arguments on 64 bits. A policy's 32-bit `!=` on the socket
        // family is widened (and reported), so the high-bit family reaches the kernel, which
        // reads it as AF_ALG. palisade's own BPF refuses it; the test pins the gap so that
        // an exact JSON emitter satisfies them too.
        let widened_highbit = probe.name == "socket_highbit" && widened.is_some_and(|n| n.message.contains("arg0:32"));
        match model_expectation(plan, probe) {
            Some(expected) if widened_highbit && got.starts_with("signal") && !expected.starts_with("signal") => {
                wrong.push(format!("socket_highbit: {got}, the policy says {expected} and the widened JSON allows it"));
            }
            // Either the policy's answer or the kernel's (the call got through the widened check).
            Some(_) if widened_highbit => {}
            Some(expected) if *got != expected => wrong.push(format!("{}: {got}, the policy says {expected}", probe.name)),
            Some(_) => {}
            None if got.starts_with("signal") => wrong.push(format!("{}: allowed by the policy but killed ({got})", probe.name)),
            None => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "under {}, runc enforced something else than the policy:\n  {}\nprobe output:\n{}",
        plan.policy.name,
        wrong.join("\n  "),
        run.stdout
    );
    results
}

#[test]
fn docker_default_denies_what_docker_denies() {
    let (plan, run) = run_policy(load(&PolicySource::Builtin("docker-default")).expect("built-in loads"), "docker-default");
    check_status(&plan, &run, false);
    let results = check_probes(&plan, &run);
    // Docker's documented amd64 behaviour, spelled out.
    assert_eq!(results["socket_alg"], "errno=1", "AF_ALG sockets are refused with EPERM");
    assert_eq!(results["socket_inet"], "ok", "AF_INET sockets work");
    assert_eq!(results["clone3"], "errno=38", "clone3 gets ENOSYS so libc falls back to clone");
    assert_eq!(results["unshare_user"], "errno=1", "no user namespaces without SYS_ADMIN");
    assert_eq!(results["reboot"], "errno=1");
    assert_eq!(results["keyctl"], "errno=1");
    assert_eq!(results["personality"], "ok", "personality(0xffffffff) only queries");
    assert_eq!(results["ptrace"], "ok", "Docker allows ptrace since kernel 4.8");
}

#[test]
fn untrusted_kills_exploit_primitives_and_runs_as_nobody() {
    let (plan, run) = run_policy(load(&PolicySource::Builtin("untrusted")).expect("built-in loads"), "untrusted");
    check_status(&plan, &run, true);
    let results = check_probes(&plan, &run);
    assert_eq!(status_field(&run.stdout, "Uid").split('\t').next(), Some("65534"));
    assert!(run.notes.iter().any(|n| n.code == "oci-no-landlock"), "Landlock cannot be expressed and is reported");
    // profiles/untrusted.toml: its deny lists kill the process (SIGSYS), clone3 is ENOSYS.
    for killed in ["bpf", "keyctl", "ptrace", "unshare_user", "reboot"] {
        assert_eq!(results[killed], "signal=31", "{killed}");
    }
    assert_eq!(results["clone3"], "errno=38");
    assert_eq!(results["socket_inet"], "ok");
}

#[test]
fn non_root_user_keeps_its_capability_across_exec() {
    // restricted keeps NET_BIND_SERVICE; as uid 1000 only the ambient set carries it through
    // the shell's exec of `cat` (and runc raises it only if it is inheritable too).
    let text = "[policy]\nname = \"web\"\nextends = \"restricted\"\n[process]\nuser = \"1000:1000\"\n";
    let (plan, run) = run_policy(load_str("web.toml", text).expect("policy loads"), "web");
    assert_eq!(plan.policy.capabilities.kept.len(), 1);
    check_status(&plan, &run, true);
    check_probes(&plan, &run);
}
