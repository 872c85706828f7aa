//! The workload's life under `palisade run`: exit status, signals, zombies, the terminal,
//! stdio, process attributes, and the errors that stop a start before anything runs.

mod run_common;

use run_common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

const DOCKER_NONE: &str = "[policy]\nname = \"docker-none\"\nextends = \"docker-default\"\n[network]\nmode = \"none\"\n";

fn run_sh(rootfs: &Rootfs, policy: &str, extra: &[&str], script: &str) -> std::process::Output {
    let mut args: Vec<&str> = vec!["run", "--policy", policy, "--rootfs", rootfs.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
    palisade(&args)
}

#[test]
fn exit_status_is_the_workloads() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    assert_eq!(code(&run_sh(&rootfs, "untrusted", &[], "exit 7")), 7);
    assert_eq!(code(&run_sh(&rootfs, "untrusted", &[], "exit 0")), 0);
    // Death by a signal: 128 + N.
    assert_eq!(code(&run_sh(&rootfs, "untrusted", &[], "kill -9 $$")), 137);
    assert_eq!(code(&run_sh(&rootfs, "untrusted", &[], "kill -TERM $$")), 143);
    // Not found, not executable: 127 and 126, before anything ran.
    let out = palisade(["run", "--policy", "untrusted", "--rootfs", rootfs.path().to_str().unwrap(), "--", "no-such-program"]);
    assert_eq!(code(&out), 127, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exec: `no-such-program`: not found"), "{}", describe(&out));
    let out = palisade(["run", "--policy", "untrusted", "--rootfs", rootfs.path().to_str().unwrap(), "--", "/etc/passwd"]);
    assert_eq!(code(&out), 126, "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn signals_reach_the_workload() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let mut child = palisade_command()
        .args([
            "run",
            "--policy",
            "untrusted",
            "--rootfs",
            rootfs.path().to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let status = child.wait().unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "got-term\n");
    assert_eq!(status.code(), Some(42));
    assert!(start.elapsed() < Duration::from_secs(10));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn init_reaps_orphaned_zombies() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    // The inner shell exits at once, leaving its background sleep to init; once the sleep
    // exits, init must reap it.
    let out = run_sh(&rootfs, docker.to_str().unwrap(), &[], "sh -c 'sleep 0.2 &'; sleep 1; cat /proc/[0-9]*/stat");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let states: Vec<&str> =
        stdout.lines().filter_map(|l| l.rsplit_once(") ").map(|(_, rest)| rest.split(' ').next().unwrap_or(""))).collect();
    assert!(!states.is_empty(), "{}", describe(&out));
    assert!(!states.contains(&"Z"), "a zombie was left: {}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn stdio_passes_through_and_tty_gives_a_terminal() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let mut child = palisade_command()
        .args(["run", "--policy", "untrusted", "--rootfs", rootfs.path().to_str().unwrap(), "--", "/bin/sh", "-c", "cat; echo err >&2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"through the sandbox\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through the sandbox\n");
    assert_eq!(workload_stderr(&out), "err\n");
    // Without -t the workload has no terminal; with it, a pty of the container's devpts.
    let out = run_sh(&rootfs, "untrusted", &[], "test -t 0 && echo tty || echo no-tty");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no-tty\n");
    let out = run_sh(&rootfs, "untrusted", &["-t"], "test -t 0 && echo tty; readlink /proc/self/fd/0");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tty\r\n/dev/pts/0\r\n", "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn environment_directory_hostname_and_user_are_set() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let out = run_sh(
        &rootfs,
        docker.to_str().unwrap(),
        &["-e", "GREETING=hello world", "-w", "/home", "--hostname", "box", "-u", "1000:1000"],
        "echo $GREETING; pwd; hostname; id -u; id -g; echo $HOME; echo $PATH",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        ["hello world", "/home", "box", "1000", "1000", "/home", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "{}",
        describe(&out)
    );
    // palisade's own environment stays outside.
    let mut cmd = palisade_command();
    cmd.args([
        "run",
        "--policy",
        "untrusted",
        "--rootfs",
        rootfs.path().to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        "echo ${PALISADE_SECRET:-unset}",
    ])
    .env("PALISADE_SECRET", "leak");
    let out = output_within(cmd);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "unset\n");
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn rlimits_are_lowered_and_never_raised() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let low = rootfs.policy("low", &format!("{DOCKER_NONE}[process.rlimits]\nnofile = 100\n"));
    let out = run_sh(&rootfs, low.to_str().unwrap(), &[], "ulimit -n");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "100", "{}", describe(&out));
    // Above palisade's own hard limit: refused before anything starts, naming the capability.
    let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap().1;
    if hard != u64::MAX {
        let high = rootfs.policy("high", &format!("{DOCKER_NONE}[process.rlimits]\nnofile = {}\n", hard + 1));
        let out = run_sh(&rootfs, high.to_str().unwrap(), &[], "echo > /started");
        assert_eq!(code(&out), 125, "{}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("CAP_SYS_RESOURCE"), "{}", describe(&out));
        assert!(!rootfs.path().join("started").exists());
    }
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn unsupported_and_refused_starts_say_why() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let root = rootfs.path().to_str().unwrap();
    // docker-default asks for a bridge network, which is not implemented yet.
    let out = palisade(["run", "--policy", "docker-default", "--rootfs", root, "--", "/bin/true"]);
    assert_eq!(code(&out), 125);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bridge") && err.contains("not supported"), "{err}");
    // --net may only isolate more.
    let out = palisade(["run", "--policy", "untrusted", "--net", "host", "--rootfs", root, "--", "/bin/true"]);
    assert_eq!(code(&out), 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("more network"), "{}", describe(&out));
    // The host's / is not a rootfs (the host-root sandbox is the safe way to use it).
    let out = palisade(["run", "--policy", "untrusted", "--rootfs", "/", "--", "/bin/true"]);
    assert_eq!(code(&out), 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("omit --rootfs"), "{}", describe(&out));
    // run_as_non_root with uid 0.
    let out = palisade(["run", "--policy", "untrusted", "-u", "0", "--rootfs", root, "--", "/bin/true"]);
    assert_eq!(code(&out), 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("run_as_non_root"), "{}", describe(&out));
    // A policy that requires Landlock on paths it cannot open is still enforced (missing
    // paths grant nothing); an unknown user name fails at the user layer.
    let named = rootfs.policy("named", &format!("{DOCKER_NONE}[process]\nuser = \"ghost\"\n"));
    let out = palisade(["run", "--policy", named.to_str().unwrap(), "--rootfs", root, "--", "/bin/true"]);
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("user: no user `ghost`"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}
