//! `palisade oci` hooks and exec, driven through the real binary with a busybox bundle:
//! every hook kind records its name and the state it got on stdin, in order; prestart and
//! poststart failures follow runtime.md; `exec` joins a running container's namespaces and
//! gets its hardening. Needs root, like every container test.

mod oci_common;
mod run_common;

use run_common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// A bundle whose hooks write into its scratch directory, with a writable root and an
/// annotation the hooks' state must carry.
struct Bundle(oci_common::Bundle);

impl std::ops::Deref for Bundle {
    type Target = oci_common::Bundle;
    fn deref(&self) -> &oci_common::Bundle {
        &self.0
    }
}

impl Bundle {
    fn new(args: &[&str], edit: impl FnOnce(&mut Value, &Path)) -> Bundle {
        Bundle(oci_common::Bundle::with_scratch(args, |config, out| {
            config["root"]["readonly"] = false.into();
            config["annotations"] = json!({"org.example.test": "hooks"});
            edit(config, out)
        }))
    }

    /// The hooks' log: one name a line, in the order they ran.
    fn order(&self) -> Vec<String> {
        std::fs::read_to_string(self.scratch.path().join("order")).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The state a hook got on stdin.
    fn hook_state(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.scratch.path().join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text:?}"))
    }
}

/// A hook run in the runtime's namespaces: busybox sh (a host path), logging to `out`.
fn host_hook(out: &Path, name: &str, rootfs: &Path) -> Value {
    let script = format!("echo {name} >> {o}/order; cat > {o}/{name}.json", o = out.display());
    json!({"path": rootfs.join("bin/sh"), "args": ["sh", "-c", script], "env": ["PATH=/bin"], "timeout": 10})
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn every_hook_kind_runs_in_lifecycle_order_with_the_state_on_stdin() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "echo program >> /program"], |c, out| {
        let root = PathBuf::from(c["root"]["path"].as_str().unwrap());
        let mut hooks = serde_json::Map::new();
        for kind in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"] {
            hooks.insert(kind.into(), json!([host_hook(out, kind, &root)]));
        }
        // startContainer runs inside the container: its path and files are the container's.
        hooks.insert(
            "startContainer".into(),
            json!([{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >> /order; cat > /startContainer.json"]}]),
        );
        c["hooks"] = Value::Object(hooks);
    });
    let out = b.create("h1");
    assert!(out.status.success(), "create: {}", describe(&out));
    assert_eq!(b.order(), ["prestart", "createRuntime", "createContainer"], "before start");
    let init = b.state("h1")["pid"].as_i64().unwrap();
    assert!(init > 0);
    assert!(!b.rootfs.path().join("order").exists(), "startContainer ran before start");

    let out = b.oci(&["start", "h1"]);
    assert!(out.status.success(), "start: {}", describe(&out));
    assert_eq!(b.order(), ["prestart", "createRuntime", "createContainer", "poststart"]);
    // startContainer ran in the container, before the program (which wrote after it).
    assert_eq!(std::fs::read_to_string(b.rootfs.path().join("order")).unwrap(), "startContainer\n");
    b.wait_status("h1", "stopped");
    assert_eq!(std::fs::read_to_string(b.rootfs.path().join("program")).unwrap(), "program\n");
    let out = b.oci(&["delete", "h1"]);
    assert!(out.status.success(), "delete: {}", describe(&out));
    assert_eq!(b.order(), ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]);

    let inside: Value = serde_json::from_str(&std::fs::read_to_string(b.rootfs.path().join("startContainer.json")).unwrap()).unwrap();
    for (name, state, status) in [
        ("prestart", b.hook_state("prestart"), "created"),
        ("createRuntime", b.hook_state("createRuntime"), "creating"),
        ("createContainer", b.hook_state("createContainer"), "creating"),
        ("startContainer", inside, "running"),
        ("poststart", b.hook_state("poststart"), "running"),
        ("poststop", b.hook_state("poststop"), "stopped"),
    ] {
        assert_eq!(state["id"], "h1", "{name}: {state}");
        assert_eq!(state["bundle"], b.canonical_path(), "{name}: {state}");
        assert_eq!(state["status"], status, "{name}: {state}");
        assert_eq!(state["annotations"]["org.example.test"], "hooks", "{name}: {state}");
        if name == "poststop" {
            assert!(state.get("pid").is_none(), "{name}: {state}");
        } else {
            // init's pid as the host sees it, also for the hooks run inside.
            assert_eq!(state["pid"], init, "{name}: {state}");
        }
    }
    assert_no_leaks();
}

#[test]
fn a_failing_prestart_hook_fails_create_and_leaves_nothing() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "touch /output"], |c, out| {
        let root = PathBuf::from(c["root"]["path"].as_str().unwrap());
        c["hooks"] = json!({
            "prestart": [{"path": root.join("bin/false"), "args": ["false"]}],
            "poststop": [host_hook(out, "poststop", &root)],
        });
    });
    let out = b.create("h2");
    assert!(!out.status.success(), "create succeeded: {}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("prestart hook") && err.contains("bin/false") && err.contains("exited with status 1"), "{err}");
    let state = b.oci(&["state", "h2"]);
    assert!(!state.status.success() && stderr(&state).contains("does not exist"), "{}", describe(&state));
    assert!(!b.rootfs.path().join("output").exists(), "the program ran");
    assert!(b.order().is_empty(), "poststop ran for a container that never existed: {:?}", b.order());
    assert_no_leaks();
}

#[test]
fn a_failing_poststart_hook_is_a_warning_and_the_rest_still_run() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["true"], |c, out| {
        let root = PathBuf::from(c["root"]["path"].as_str().unwrap());
        c["hooks"] = json!({
            "poststart": [{"path": root.join("bin/false"), "args": ["false"]}, host_hook(out, "poststart", &root)],
            "poststop": [{"path": root.join("bin/false"), "args": ["false"]}, host_hook(out, "poststop", &root)],
        });
    });
    assert!(b.create("h3").status.success());
    let out = b.oci(&["start", "h3"]);
    assert!(out.status.success(), "start: {}", describe(&out));
    assert!(stderr(&out).contains("warning: poststart hook"), "{}", describe(&out));
    b.wait_status("h3", "stopped");
    let out = b.oci(&["delete", "h3"]);
    assert!(out.status.success() && stderr(&out).contains("warning: poststop hook"), "{}", describe(&out));
    assert_eq!(b.order(), ["poststart", "poststop"]);
    assert_no_leaks();
}

#[test]
fn a_failing_start_container_hook_fails_start_and_the_program_never_runs() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sh", "-c", "touch /output"], |c, _| {
        c["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]});
    });
    assert!(b.create("h4").status.success());
    let out = b.oci(&["start", "h4"]);
    assert!(!out.status.success(), "start succeeded: {}", describe(&out));
    assert!(stderr(&out).contains("startContainer hook /bin/sh: exited with status 3"), "{}", describe(&out));
    assert!(!b.rootfs.path().join("output").exists(), "the program ran");
    b.wait_status("h4", "stopped");
    assert!(b.oci(&["delete", "h4"]).status.success());
    assert_no_leaks();
}

/// A status line of /proc/PID/status.
fn status_field(status: &str, field: &str) -> String {
    status.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_else(|| panic!("no {field}:\n{status}")).trim().to_string()
}

#[test]
fn exec_joins_the_running_container_with_its_hardening() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sleep", "100"], |_, _| {});
    assert!(b.create("x1").status.success());
    assert!(b.oci(&["start", "x1"]).status.success());
    let init = b.state("x1")["pid"].as_i64().unwrap();
    // The container's own program, as the host sees it: init's only child.
    let children = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")).unwrap();
    let program: i64 = children.split_whitespace().next().unwrap().parse().unwrap();
    let program_status = std::fs::read_to_string(format!("/proc/{program}/status")).unwrap();

    let out = b.oci(&["exec", "x1", "sh", "-c", "echo $$; hostname; exec cat /proc/self/status"]);
    assert!(out.status.success(), "exec: {}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.splitn(3, '\n');
    let (pid, hostname, status) = (lines.next().unwrap(), lines.next().unwrap(), lines.next().unwrap());
    let pid: i64 = pid.parse().unwrap();
    // In the container's pid namespace: a small pid there, and the container's /proc.
    assert!(pid > 1 && pid < 100, "pid {pid} in the container's namespace");
    assert_eq!(status_field(status, "Pid"), pid.to_string(), "/proc is the container's");
    // The same hardening as the container's program: seccomp filter mode, no_new_privs,
    // the same capability sets.
    assert_eq!(status_field(status, "Seccomp"), "2");
    assert_eq!(status_field(status, "NoNewPrivs"), status_field(&program_status, "NoNewPrivs"));
    for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
        assert_eq!(status_field(status, set), status_field(&program_status, set), "{set}");
    }
    assert_eq!(hostname, "palisade", "the container's hostname (uts namespace)");

    // The exit status comes back.
    let out = b.oci(&["exec", "x1", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));

    // Detached: the pid file holds the host pid of a process in the container's namespaces
    // and cgroups.
    let pid_file = b.dir.path().join("exec.pid");
    let out = b.detached(&["exec", "--detach", "--pid-file", pid_file.to_str().unwrap(), "x1", "sleep", "50"], "exec-d");
    assert!(out.status.success(), "exec -d: {}", describe(&out));
    let host_pid: i64 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let ns = |pid: i64, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
    for kind in ["pid", "mnt", "uts", "ipc", "net", "cgroup"] {
        assert_eq!(ns(host_pid, kind), ns(init, kind), "{kind} namespace");
    }
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{host_pid}/cgroup")).unwrap(),
        std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap()
    );
    let detached_status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).unwrap();
    assert_eq!(status_field(&detached_status, "Seccomp"), "2");
    let ps = b.oci(&["ps", "--format", "json", "x1"]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
    assert!(pids.contains(&host_pid), "ps lists the exec'd process: {pids:?}");

    // A program that does not exist: exec fails and says why.
    let out = b.oci(&["exec", "x1", "/nonexistent"]);
    assert!(!out.status.success() && stderr(&out).contains("not found"), "{}", describe(&out));

    // Stopped: exec is refused.
    assert!(b.oci(&["kill", "x1", "KILL"]).status.success());
    b.wait_status("x1", "stopped");
    let out = b.oci(&["exec", "x1", "true"]);
    assert!(!out.status.success() && stderr(&out).contains("exec needs a running container"), "{}", describe(&out));
    assert!(b.oci(&["delete", "x1"]).status.success());
    assert_no_leaks();
}

#[test]
fn exec_with_a_process_file_and_features_list_the_hooks() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sleep", "100"], |_, _| {});
    assert!(b.create("x2").status.success());
    assert!(b.oci(&["start", "x2"]).status.success());
    let mut process: Value = serde_json::from_slice(&std::fs::read(b.dir.path().join("config.json")).unwrap()).unwrap();
    let mut process = process["process"].take();
    process["args"] = json!(["sh", "-c", "echo $GREETING; pwd"]);
    process["env"] = json!(["PATH=/bin", "GREETING=hello"]);
    process["cwd"] = "/tmp".into();
    let file = b.dir.path().join("process.json");
    std::fs::write(&file, serde_json::to_vec(&process).unwrap()).unwrap();
    let out = b.oci(&["exec", "--process", file.to_str().unwrap(), "x2"]);
    assert!(out.status.success(), "exec --process: {}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n/tmp\n");
    assert!(b.oci(&["delete", "--force", "x2"]).status.success());

    let features: Value = serde_json::from_slice(&b.oci(&["features"]).stdout).unwrap();
    let hooks: Vec<&str> = features["hooks"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(hooks, ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    assert_no_leaks();
}

#[test]
fn exec_with_a_terminal_sends_a_pty_of_the_container_to_the_console_socket() {
    use std::os::fd::AsFd;
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sleep", "100"], |_, _| {});
    assert!(b.create("x3").status.success());
    assert!(b.oci(&["start", "x3"]).status.success());
    // A detached terminal needs somewhere to go.
    let out = b.oci(&["exec", "-t", "-d", "x3", "true"]);
    assert!(!out.status.success() && stderr(&out).contains("--console-socket"), "{}", describe(&out));

    let socket = b.dir.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let pid_file = b.dir.path().join("t.pid");
    let mut cmd = palisade_command();
    cmd.args(["oci", "--root", b.state.path().to_str().unwrap(), "exec", "-t", "-d", "--console-socket"])
        .arg(&socket)
        .arg("--pid-file")
        .arg(&pid_file)
        .args(["x3", "sh", "-c", "test -t 0 && test -t 1 && echo tty-ok $(tty); sleep 60"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let (stream, _) = listener.accept().unwrap();
    let mut name = [0u8; 64];
    let (n, master) = palisade::sys::socket::recv(stream.as_fd(), &mut name).unwrap();
    assert_eq!(&name[..n], b"/dev/ptmx");
    let master = master.expect("the pty master came with the message");
    assert!(child.wait().unwrap().success(), "exec -t -d failed");
    let reader = oci_common::TerminalReader::start(master, "\n");
    let finished = reader.finished_in_time();
    assert!(b.oci(&["delete", "--force", "x3"]).status.success());
    assert!(finished, "the exec'd process never wrote to its terminal");
    // The pty is one of the container's devpts (pts/0 there: the container has no other).
    let text = reader.text();
    assert!(text.contains("tty-ok /dev/pts/0"), "{text:?}");
    assert_no_leaks();
}

#[test]
fn exec_in_the_foreground_forwards_signals_to_the_process() {
    let _s = serial();
    require_root();
    let b = Bundle::new(&["sleep", "100"], |_, _| {});
    assert!(b.create("x4").status.success());
    assert!(b.oci(&["start", "x4"]).status.success());
    let ready = b.rootfs.path().join("ready");
    let mut cmd = palisade_command();
    cmd.args([
        "oci",
        "--root",
        b.state.path().to_str().unwrap(),
        "exec",
        "x4",
        "sh",
        "-c",
        "trap 'exit 42' TERM; touch /ready; while :; do sleep 0.1; done",
    ]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the exec'd shell never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < TIMEOUT, "exec did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(42), "the process's trap ran and its status came back");
    assert!(b.oci(&["delete", "--force", "x4"]).status.success());
    assert_no_leaks();
}
