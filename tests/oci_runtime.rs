//! `palisade oci`, the OCI runtime interface, driven as containerd's shim and podman drive
//! runc: create (the process waits) → start → state → kill → delete, run, features, spec,
//! config.json keys refused by name, and the binary invoked as `runc` with runc's argument
//! order. Needs root (as CI), like every container test.

mod oci_common;
mod run_common;

use oci_common::Bundle;
use run_common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wait_within(mut child: std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > TIMEOUT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_for_file(path: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if content.contains(text) {
            return content;
        }
        assert!(Instant::now() < deadline, "{} never contained {text:?}: {content:?}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn create_waits_until_start_and_the_lifecycle_follows_the_runtime_spec() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "echo started; exec sleep 60"], |_| {});
    let out = b.create("c1");
    let stdout = b.out_file("c1");
    assert!(out.status.success(), "create: {}", describe(&out));

    // created: init exists (the pid file names it) and the workload has not run.
    let state = b.state("c1");
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["ociVersion"], "1.0.2");
    assert_eq!(state["bundle"].as_str().map(Path::new), Some(std::fs::canonicalize(b.path()).unwrap().as_path()));
    // The pid file names init, as state does (runc's semantics): `create` exits, and init
    // is re-parented to the caller's subreaper (the containerd test proves the shim reaps it).
    let pid_file: i64 = std::fs::read_to_string(b.dir.path().join("c1.pid")).unwrap().trim().parse().unwrap();
    let init = state["pid"].as_i64().expect("state has init's pid");
    assert_eq!(pid_file, init, "the pid file and state name the same process");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&stdout).unwrap(), "", "the workload ran before start");
    // A second container of the same id is refused.
    let again = b.create("c1");
    assert!(!again.status.success() && stderr(&again).contains("already exists"), "{}", describe(&again));

    let out = b.oci(&["start", "c1"]);
    assert!(out.status.success(), "start: {}", describe(&out));
    wait_for_file(&stdout, "started");
    assert_eq!(b.state("c1")["status"], "running");
    // Transitions the spec forbids: start twice, delete while running.
    let out = b.oci(&["start", "c1"]);
    assert!(!out.status.success() && stderr(&out).contains("not created"), "{}", describe(&out));
    let out = b.oci(&["delete", "c1"]);
    assert!(!out.status.success() && stderr(&out).contains("is running"), "{}", describe(&out));

    // kill by name; the container reads stopped once init is gone, pid 0.
    let out = b.oci(&["kill", "c1", "TERM"]);
    assert!(out.status.success(), "kill: {}", describe(&out));
    b.wait_status("c1", "stopped");
    assert_eq!(b.state("c1")["pid"], 0);
    let out = b.oci(&["kill", "c1", "KILL"]);
    assert!(!out.status.success() && stderr(&out).contains("stopped"), "{}", describe(&out));
    let out = b.oci(&["delete", "c1"]);
    assert!(out.status.success(), "delete: {}", describe(&out));
    let out = b.oci(&["state", "c1"]);
    assert!(!out.status.success() && stderr(&out).contains("does not exist"), "{}", describe(&out));
    assert!(!b.state.path().join("c1").exists());
    assert_no_leaks();
}

#[test]
fn delete_force_and_kill_all_end_created_and_running_containers() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "sleep 60 & sleep 60 & echo up; wait"], |_| {});
    // A created container (never started) is removed by delete --force.
    let out = b.create("waiting");
    assert!(out.status.success(), "{}", describe(&out));
    let out = b.oci(&["delete", "--force", "waiting"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!b.state.path().join("waiting").exists());

    // kill --all with a number reaches every process of the container.
    let out = b.create("busy");
    let stdout = b.out_file("busy");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(b.oci(&["start", "busy"]).status.success());
    wait_for_file(&stdout, "up");
    // ps: init, the shell and its two sleeps, as host pids (JSON, as runc prints).
    let pids: Vec<i64> = serde_json::from_slice(&b.oci(&["ps", "--format", "json", "busy"]).stdout).unwrap();
    assert_eq!(pids.len(), 4, "{pids:?}");
    assert_eq!(Some(pids[0]), b.state("busy")["pid"].as_i64());
    let out = b.oci(&["kill", "--all", "busy", "9"]);
    assert!(out.status.success(), "{}", describe(&out));
    b.wait_status("busy", "stopped");
    let out = b.oci(&["kill", "busy", "SIGNOPE"]);
    assert!(!out.status.success() && stderr(&out).contains("not a signal"), "{}", describe(&out));
    assert!(b.oci(&["delete", "busy"]).status.success());
    assert_no_leaks();
}

#[test]
fn run_applies_the_config_and_exits_with_the_workloads_status() {
    let _s = serial();
    require_root();
    let script = "echo host=$(hostname) cwd=$(pwd) foo=$FOO; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; \
                  touch /rootfile 2>/dev/null && echo root-writable; echo x > /scratch/f && echo scratch-ok; mkdir /scratch/d 2>/dev/null || echo mkdir-denied; exit 7";
    let b = Bundle::new(&["sh", "-c", script], |c| {
        c["hostname"] = "box".into();
        c["process"]["cwd"] = "/tmp".into();
        c["process"]["env"].as_array_mut().unwrap().push("FOO=bar".into());
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]}));
        c["linux"]["seccomp"] = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
    });
    let out = b.oci(&["run", "--bundle", b.path(), "r1"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code(&out), 7, "{}", describe(&out));
    assert!(text.contains("host=box cwd=/tmp foo=bar"), "{text}");
    // runc's spec keeps AUDIT_WRITE, KILL and NET_BIND_SERVICE: bits 29, 5 and 10.
    assert!(text.contains("CapEff:\t0000000020000420"), "{text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    assert!(!text.contains("root-writable"), "root.readonly was not applied: {text}");
    assert!(text.contains("mkdir-denied"), "the config's seccomp profile was not applied: {text}");
    assert!(text.contains("scratch-ok"), "{text}");
    // run deletes the container afterwards.
    assert!(!b.state.path().join("r1").exists());
    assert_no_leaks();
}

#[test]
fn config_keys_and_flags_palisade_cannot_honour_are_refused_by_name() {
    let _s = serial();
    require_root();
    for (key, edit) in [
        (
            "linux.timeOffsets",
            Box::new(|c: &mut Value| c["linux"]["timeOffsets"] = serde_json::json!({"monotonic": {"secs": 1}})) as Box<dyn Fn(&mut Value)>,
        ),
        // Not namespaced: it would change the host.
        ("linux.sysctl", Box::new(|c: &mut Value| c["linux"]["sysctl"] = serde_json::json!({"kernel.panic": "1"}))),
        ("linux.intelRdt", Box::new(|c: &mut Value| c["linux"]["intelRdt"] = serde_json::json!({"closID": "guaranteed"}))),
    ] {
        let b = Bundle::new(&["true"], edit);
        let out = b.create("x");
        assert!(!out.status.success(), "{key}: accepted");
        assert!(stderr(&out).contains(&format!("`{key}`")), "{key}: {}", describe(&out));
        assert!(!b.state.path().join("x").exists(), "{key}: state left behind");
    }
    let b = Bundle::new(&["true"], |_| {});
    let out = b.oci(&["create", "--bundle", b.path(), "--console-socket", "/tmp/none.sock", "y"]);
    assert!(!out.status.success() && stderr(&out).contains("process.terminal is false"), "{}", describe(&out));
    let out = b.oci(&["--systemd-cgroup", "state", "y"]);
    assert!(!out.status.success() && stderr(&out).contains("--systemd-cgroup is not supported"), "{}", describe(&out));
    // spec never overwrites a config.
    let out = b.oci(&["spec", "--bundle", b.path()]);
    assert!(!out.status.success() && stderr(&out).contains("exists"), "{}", describe(&out));
    let features: Value = serde_json::from_slice(&b.oci(&["features"]).stdout).unwrap();
    assert_eq!(features["linux"]["seccomp"]["enabled"], true);
    assert_no_leaks();
}

#[test]
fn invoked_as_runc_with_runcs_argument_order() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "echo via-runc; exec sleep 60"], |_| {});
    let runc = b.dir.path().join("runc");
    std::os::unix::fs::symlink(PALISADE, &runc).unwrap();
    let log = b.dir.path().join("log.json");
    let global = |verb: &[&str]| -> Vec<String> {
        let mut v: Vec<String> =
            ["--root", b.root(), "--log", log.to_str().unwrap(), "--log-format", "json"].iter().map(|s| s.to_string()).collect();
        v.extend(verb.iter().map(|s| s.to_string()));
        v
    };
    let pid_file = b.dir.path().join("init.pid");
    let out_file = b.dir.path().join("runc.out");
    let mut cmd = Command::new(&runc);
    cmd.env("PALISADE_TEST_RUN", std::process::id().to_string());
    cmd.args(global(&["create", "--bundle", b.path(), "--pid-file", pid_file.to_str().unwrap(), "--no-pivot", "--no-new-keyring", "r"]));
    cmd.stdin(Stdio::null()).stdout(std::fs::File::create(&out_file).unwrap()).stderr(Stdio::null());
    assert!(wait_within(cmd.spawn().unwrap()).success(), "runc create failed");
    let run = |verb: &[&str]| {
        let mut cmd = Command::new(&runc);
        cmd.env("PALISADE_TEST_RUN", std::process::id().to_string());
        cmd.args(global(verb));
        output_within(cmd)
    };
    assert!(run(&["start", "r"]).status.success());
    wait_for_file(&out_file, "via-runc");
    let state: Value = serde_json::from_slice(&run(&["state", "r"]).stdout).unwrap();
    assert_eq!(state["status"], "running");
    assert!(run(&["kill", "r", "15"]).status.success());
    b.wait_status("r", "stopped");
    assert!(run(&["delete", "r"]).status.success());
    // Errors land in --log as JSON lines, as containerd reads them.
    assert!(!run(&["delete", "r"]).status.success());
    let last: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains("does not exist"), "{last}");
    assert_no_leaks();
}

#[test]
fn a_container_whose_init_died_outside_palisade_reads_stopped() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sleep", "60"], |_| {});
    let out = b.create("gone");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(b.oci(&["start", "gone"]).status.success());
    let pid: i32 = std::fs::read_to_string(b.dir.path().join("gone.pid")).unwrap().trim().parse().unwrap();
    // Killed behind palisade's back (the OOM killer, an operator): the state file still says
    // running, the status must not.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    b.wait_status("gone", "stopped");
    let out = b.oci(&["start", "gone"]);
    assert!(!out.status.success() && stderr(&out).contains("is stopped"), "{}", describe(&out));
    assert!(b.oci(&["delete", "gone"]).status.success());
    assert_no_leaks();
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    use std::os::fd::AsFd;
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "test -t 0 && test -t 1 && echo tty-ok; sleep 60"], |c| c["process"]["terminal"] = true.into());
    // Without a socket, a detached terminal has nowhere to go.
    let out = b.create("t0");
    assert!(!out.status.success() && stderr(&out).contains("needs --console-socket"), "{}", describe(&out));

    let socket = b.dir.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let pid_file = b.dir.path().join("t.pid");
    let mut cmd = palisade_command();
    cmd.args([
        "oci",
        "--root",
        b.root(),
        "create",
        "--bundle",
        b.path(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--console-socket",
        socket.to_str().unwrap(),
        "t",
    ]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let child = cmd.spawn().unwrap();
    let (stream, _) = listener.accept().unwrap();
    let mut name = [0u8; 64];
    let (n, master) = palisade::sys::socket::recv(stream.as_fd(), &mut name).unwrap();
    assert_eq!(&name[..n], b"/dev/ptmx");
    let master = master.expect("the pty master came with the message");
    assert!(wait_within(child).success(), "create failed");
    assert!(b.oci(&["start", "t"]).status.success());
    // Read the terminal until the workload has spoken.
    let reader = oci_common::TerminalReader::start(master, "tty-ok");
    let finished = reader.finished_in_time();
    assert!(b.oci(&["delete", "--force", "t"]).status.success());
    assert!(finished, "the workload never wrote to its terminal");
    assert!(reader.text().contains("tty-ok"));
    assert_no_leaks();
}

/// `--policy` narrows a bundle: the bundle asks for CAP_SYS_ADMIN and no no_new_privs, the
/// layered docker-default keeps neither; a policy that requires a non-root user refuses a
/// root bundle before anything starts.
#[test]
fn a_layered_policy_narrows_the_bundle() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status"], |c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set].as_array_mut().unwrap().push("CAP_SYS_ADMIN".into());
        }
        c["process"]["noNewPrivileges"] = false.into();
    });
    let out = b.oci(&["run", "--bundle", b.path(), "l0"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code(&out), 0, "{}", describe(&out));
    // Alone, the bundle gets what it asks: SYS_ADMIN (bit 21) and no no_new_privs.
    assert!(text.contains("CapEff:\t0000000020200420") && text.contains("NoNewPrivs:\t0"), "{text}");

    let out = b.oci(&["run", "--policy", "docker-default", "--bundle", b.path(), "l1"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let eff = text.lines().find_map(|l| l.strip_prefix("CapEff:\t")).expect("CapEff");
    let eff = u64::from_str_radix(eff.trim(), 16).unwrap();
    assert_eq!(eff & (1 << 21), 0, "docker-default keeps no CAP_SYS_ADMIN: {text}");
    assert_ne!(eff & (1 << 5), 0, "CAP_KILL is in both: {text}");
    // docker-default's filter stacks on the bundle's (none here): Seccomp 2.
    assert!(text.contains("Seccomp:\t2"), "{text}");

    let out = b.oci(&["run", "--policy", "untrusted", "--bundle", b.path(), "l2"]);
    assert_ne!(code(&out), 0, "{}", describe(&out));
    assert!(stderr(&out).contains("run_as_non_root"), "{}", describe(&out));
    assert!(!b.state.path().join("l2").exists());
    assert_no_leaks();
}

/// An AppArmor profile or SELinux label the kernel has no module for is reported as not
/// enforced (never claimed, never silently dropped); LINUX32 personality and seccomp flags
/// are applied.
#[test]
fn lsm_labels_personality_and_seccomp_flags() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["busybox", "uname", "-m"], |c| {
        c["process"]["apparmorProfile"] = "acme_secure_profile".into();
        c["linux"]["personality"] = serde_json::json!({"domain": "LINUX32"});
        c["linux"]["seccomp"] = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        });
    });
    let out = b.oci(&["run", "--bundle", b.path(), "p1"]);
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|v| v.trim() == "Y");
    if apparmor {
        assert_ne!(code(&out), 0, "{}", describe(&out));
        assert!(stderr(&out).contains("process.apparmorProfile"), "{}", describe(&out));
    } else {
        assert_eq!(code(&out), 0, "{}", describe(&out));
        assert!(stderr(&out).contains("not enforced here: process.apparmorProfile `acme_secure_profile`"), "{}", describe(&out));
        let machine = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(matches!(machine.as_str(), "i686" | "i386" | "armv8l"), "LINUX32 persona: uname -m says {machine}");
    }
    assert_no_leaks();
}

/// Namespaces joined by path: a second container joins the first's network, uts, ipc and
/// pid namespaces (its processes see the first's); a third joins the network and uts
/// namespaces from a user namespace of its own, which owns only the namespaces it creates
/// (its own pid and ipc namespaces: the kernel lets it mount proc and mqueue only for
/// namespaces it owns).
#[test]
fn a_container_joins_anothers_namespaces_by_path() {
    let _s = serial();
    require_root();
    let a = Bundle::new(&["sleep", "60"], |c| c["hostname"] = "first".into());
    let out = a.create("a");
    assert!(out.status.success(), "create a: {}", describe(&out));
    // `a` goes whatever the assertions below say.
    struct Delete<'a>(&'a Bundle);
    impl Drop for Delete<'_> {
        fn drop(&mut self) {
            let out = self.0.oci(&["delete", "--force", "a"]);
            if !out.status.success() {
                eprintln!("cleanup: {}", describe(&out));
            }
        }
    }
    let delete = Delete(&a);
    assert!(a.oci(&["start", "a"]).status.success());
    let pid = a.state("a")["pid"].as_i64().unwrap();
    let host_ns = |kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap().to_string_lossy().into_owned();
    let script = "for n in net uts ipc pid; do echo $n=$(readlink /proc/self/ns/$n); done; hostname; ls /proc | grep -c '^[0-9]'";
    for (id, user) in [("b", false), ("c", true)] {
        let b = Bundle::new(&["sh", "-c", script], |c| {
            c.as_object_mut().unwrap().remove("hostname");
            let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| !["network", "uts", "ipc", "pid"].contains(&n["type"].as_str().unwrap()));
            for (kind, file) in [("network", "net"), ("uts", "uts"), ("ipc", "ipc"), ("pid", "pid")] {
                if !(user && matches!(kind, "pid" | "ipc")) {
                    ns.push(serde_json::json!({"type": kind, "path": format!("/proc/{pid}/ns/{file}")}));
                }
            }
            if user {
                ns.push(serde_json::json!({"type": "pid"}));
                ns.push(serde_json::json!({"type": "ipc"}));
                ns.push(serde_json::json!({"type": "user"}));
                c["linux"]["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
                c["linux"]["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
            }
        });
        let out = b.oci(&["run", "--bundle", b.path(), id]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(code(&out), 0, "{id}: {}", describe(&out));
        let joined: &[&str] = if user { &["net", "uts"] } else { &["net", "uts", "ipc"] };
        for kind in joined {
            assert!(text.contains(&format!("{kind}={}", host_ns(kind))), "{id}: not in a's {kind} namespace: {text}");
        }
        assert!(text.contains("\nfirst\n"), "{id}: the joined uts namespace's name: {text}");
        let seen: usize = text.lines().last().unwrap().trim().parse().unwrap();
        if user {
            assert!(!text.contains(&format!("pid={}", host_ns("pid"))), "{id}: {text}");
        } else {
            // The pid namespace is a's: its sleep and init are there besides our own.
            assert!(text.contains(&format!("pid={}", host_ns("pid"))), "{id}: {text}");
            assert!(seen >= 3, "{id}: sees only {seen} processes: {text}");
        }
    }
    drop(delete);
    assert!(!a.state.path().join("a").exists());
    assert_no_leaks();
}

/// runtime-spec: `process` is optional at create, and `start` MUST fail without one. The
/// container exists (created) until it is deleted.
#[test]
fn a_config_without_a_process_is_created_and_cannot_start() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["true"], |c| {
        c.as_object_mut().unwrap().remove("process");
    });
    let out = b.create("np");
    assert!(out.status.success(), "create: {}", describe(&out));
    assert_eq!(b.state("np")["status"], "created");
    let out = b.oci(&["start", "np"]);
    assert!(!out.status.success() && stderr(&out).contains("nothing to start"), "{}", describe(&out));
    assert_eq!(b.state("np")["status"], "created", "a refused start has no effect");
    assert!(b.oci(&["delete", "--force", "np"]).status.success());
    assert!(!b.state.path().join("np").exists());
    assert_no_leaks();
}
