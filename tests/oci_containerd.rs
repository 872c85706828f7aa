//! containerd 1.6 (Debian's package) runs a busybox image through palisade: the test starts
//! its own containerd on private sockets under a temporary directory, with a PATH whose
//! `runc` is palisade (containerd's runc shim calls `runc` by name), imports an image built
//! with umoci and skopeo, and runs it with `ctr run`: output, exit status, `linux.cgroupsPath`
//! (`/<namespace>/<id>`) and deletion; then, on a detached container, the verbs the shim
//! drives beyond the lifecycle: `exec --process FILE --detach --pid-file F` (`ctr tasks
//! exec`: output, exit status, the container's hardening) and `pause`/`resume` (`ctr tasks
//! pause|resume`: the task's status and the v1 freezer), SIGKILL to a paused task and
//! `delete --force` of a stopped one. Everything it starts is stopped and removed, also
//! when it fails. Needs root, containerd, ctr, umoci, skopeo and
//! busybox-static: a missing tool fails the test (naming the package), never skips it.

mod run_common;

use run_common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/palisade-busybox:latest";

/// A containerd of this test's own; dropping it cleans up whatever is left.
struct Containerd {
    dir: tempfile::TempDir,
    child: Option<Child>,
    ctr: PathBuf,
    namespace: String,
    /// containerd 1.6's shims put their sockets in /run/containerd/s whatever the config
    /// says; the directories are removed (when empty) if this test made them.
    made_run_dirs: bool,
}

impl Containerd {
    fn start() -> Containerd {
        let containerd = require_tool("containerd", "containerd");
        let ctr = require_tool("ctr", "containerd");
        // Short paths: unix socket addresses are limited to 108 bytes.
        let dir = tempfile::Builder::new().prefix("ctrd-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let made_run_dirs = !Path::new("/run/containerd").exists();
        let d = dir.path();
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_palisade"), bin.join("runc")).unwrap();
        let template =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/containerd-config.toml")).unwrap();
        let config = d.join("config.toml");
        std::fs::write(&config, template.replace("@DIR@", d.join("c").to_str().unwrap())).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into()));
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new(containerd)
            .arg("--config")
            .arg(&config)
            .arg("--address")
            .arg(d.join("c/c.sock"))
            .arg("--root")
            .arg(d.join("c/root"))
            .arg("--state")
            .arg(d.join("c/state"))
            .env("PATH", path)
            // containerd passes its environment to the shim, the shim to palisade: the
            // leak check finds every process of this run by the marker.
            .env("PALISADE_TEST_RUN", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let c = Containerd { dir, child: Some(child), ctr, namespace: format!("palisade-test-{}", std::process::id()), made_run_dirs };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !c.ctr(&["version"]).status.success() {
            assert!(Instant::now() < deadline, "containerd did not answer within 30 s:\n{}", c.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// `ctr -a SOCK -n NAMESPACE ARGS…`, to completion (killed after a minute).
    fn ctr(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.ctr);
        cmd.arg("-a").arg(self.dir.path().join("c/c.sock")).args(["-n", &self.namespace]).args(args);
        output_within(cmd)
    }

    /// [`Containerd::ctr`] for cleanup: `None` instead of a failure when it hangs.
    fn try_ctr(&self, args: &[&str]) -> Option<Output> {
        let mut cmd = Command::new(&self.ctr);
        cmd.arg("-a").arg(self.dir.path().join("c/c.sock")).args(["-n", &self.namespace]).args(args);
        try_output_within(cmd)
    }

    /// `ctr run` of the test image with palisade's state and fifos under the temp dir.
    fn run(&self, options: &[&str], id: &str, command: &[&str]) -> Output {
        let root = self.dir.path().join("runc-root");
        let fifo = self.dir.path().join("fifo");
        let mut args = vec!["run", "--runc-root", root.to_str().unwrap(), "--fifo-dir", fifo.to_str().unwrap()];
        args.extend_from_slice(options);
        args.extend_from_slice(&[IMAGE, id]);
        args.extend_from_slice(command);
        self.ctr(&args)
    }

    /// `ctr tasks exec --exec-id EXEC_ID ID COMMAND…`, attached, with its fifos under the temp dir.
    fn exec(&self, exec_id: &str, id: &str, command: &[&str]) -> Output {
        let fifo = self.dir.path().join("fifo");
        let mut args = vec!["tasks", "exec", "--fifo-dir", fifo.to_str().unwrap(), "--exec-id", exec_id, id];
        args.extend_from_slice(command);
        self.ctr(&args)
    }

    /// Builds a busybox image (umoci), archives it (skopeo) and imports it.
    fn import_busybox(&self) {
        let archive = busybox_oci_archive(self.dir.path(), IMAGE);
        let out = self.ctr(&["images", "import", archive.to_str().unwrap()]);
        assert!(out.status.success(), "ctr images import: {}", describe(&out));
    }

    /// The directories of container `id`'s cgroups (`/<namespace>/<id>` under each hierarchy).
    fn cgroup_dirs(&self, id: &str) -> Vec<PathBuf> {
        cgroup_roots().into_iter().map(|r| r.join(&self.namespace).join(id)).filter(|p| p.exists()).collect()
    }

    /// Kills task `id`, waits for it to stop, deletes it with `ctr tasks delete
    /// DELETE_FLAGS… ID` and then the container, and checks its cgroups went with it.
    fn remove(&self, id: &str, delete_flags: &[&str]) {
        let out = self.ctr(&["tasks", "kill", "-s", "SIGKILL", id]);
        assert!(out.status.success(), "ctr tasks kill: {}", describe(&out));
        wait_task(self, id, "STOPPED");
        let mut delete = vec!["tasks", "delete"];
        delete.extend_from_slice(delete_flags);
        delete.push(id);
        let out = self.ctr(&delete);
        assert!(out.status.success(), "ctr {delete:?}: {}\ncontainerd log:\n{}", describe(&out), self.log());
        let out = self.ctr(&["containers", "delete", id]);
        assert!(out.status.success(), "ctr containers delete: {}", describe(&out));
        assert!(self.cgroup_dirs(id).is_empty(), "the container's cgroups outlived it");
    }

    /// Checks containerd has no container or task left, stops it (and, with it, the parent
    /// group it named, `/<namespace>`, which palisade leaves in place as runc does), and
    /// checks nothing of the test outlived it.
    fn finish(mut self) {
        let out = self.ctr(&["containers", "ls", "-q"]);
        assert_eq!(stdout(&out).trim(), "", "containers left: {}", describe(&out));
        let out = self.ctr(&["tasks", "ls", "-q"]);
        assert_eq!(stdout(&out).trim(), "", "tasks left: {}", describe(&out));
        self.stop();
        let left = marked();
        assert!(left.is_empty(), "processes outlived containerd: {left:?}");
        drop(self);
        assert_no_leaks();
    }

    /// Stops containerd (TERM, then KILL after 10 s) and reaps it.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Best effort on the way out of a failed test: containers first (their shims stop),
        // then containerd, then anything still carrying this run's marker, mounts under the
        // temp dir and the namespace's cgroups.
        if self.child.is_some() {
            for id in ["hello", "status", "limited", "verbs"] {
                // A task left paused dies of SIGKILL only once thawed, and `delete --force`
                // waits for it to die.
                let _ = std::fs::write(Path::new("/sys/fs/cgroup/freezer").join(&self.namespace).join(id).join("freezer.state"), "THAWED");
                let _ = self.try_ctr(&["tasks", "kill", "-s", "SIGKILL", id]);
                let _ = self.try_ctr(&["tasks", "delete", "--force", id]);
                let _ = self.try_ctr(&["containers", "delete", id]);
            }
        }
        self.stop();
        kill_marked();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = self.dir.path().to_str().unwrap().to_string();
        let mut points: Vec<&str> = mountinfo.lines().filter_map(|l| l.split(' ').nth(4)).filter(|p| p.starts_with(&dir)).collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
        }
        if self.made_run_dirs {
            let _ = std::fs::remove_dir("/run/containerd/s");
            let _ = std::fs::remove_dir("/run/containerd");
        }
        for root in cgroup_roots() {
            let ns = root.join(&self.namespace);
            if let Ok(entries) = std::fs::read_dir(&ns) {
                for e in entries.flatten().filter(|e| e.path().is_dir()) {
                    let _ = std::fs::remove_dir(e.path());
                }
                let _ = std::fs::remove_dir(&ns);
            }
        }
    }
}

/// Every hierarchy a container's cgroups can be in: the v1 controllers' mounts and cgroup2.
fn cgroup_roots() -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mountinfo
        .lines()
        .filter(|l| l.split(" - ").nth(1).is_some_and(|t| t.starts_with("cgroup ") || t.starts_with("cgroup2 ")))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect()
}

/// SIGKILLs what [`marked`] finds (left by a failure).
fn kill_marked() {
    for (pid, _) in marked() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `ctr tasks ls` until `id`'s task has `status`.
fn wait_task(c: &Containerd, id: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = c.ctr(&["tasks", "ls"]);
        if stdout(&out).lines().any(|l| l.split_whitespace().next() == Some(id) && l.split_whitespace().nth(2) == Some(status)) {
            return;
        }
        assert!(Instant::now() < deadline, "task {id} never became {status}:\n{}", describe(&out));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn containerd_runs_a_busybox_image_through_palisade() {
    let _s = serial();
    require_root();
    let c = Containerd::start();
    c.import_busybox();

    // Output and a clean exit, then the container and its task are gone.
    let out = c.run(&["--rm"], "hello", &["echo", "hello"]);
    assert!(out.status.success(), "ctr run: {}\ncontainerd log:\n{}", describe(&out), c.log());
    assert_eq!(stdout(&out), "hello\n", "{}", describe(&out));

    // The workload's exit status is the task's (the shim reaps the pid in --pid-file).
    let out = c.run(&["--rm"], "status", &["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));

    // A memory limit: the cgroup is at containerd's cgroupsPath, /<namespace>/<id>.
    let out = c.run(&["-d", "--memory-limit", "67108864"], "limited", &["sleep", "60"]);
    assert!(out.status.success(), "ctr run -d: {}", describe(&out));
    wait_task(&c, "limited", "RUNNING");
    let dirs = c.cgroup_dirs("limited");
    assert!(!dirs.is_empty(), "no cgroup at /{}/limited under {:?}", c.namespace, cgroup_roots());
    let limit = dirs
        .iter()
        .find_map(|d| {
            std::fs::read_to_string(d.join("memory.limit_in_bytes")).or_else(|_| std::fs::read_to_string(d.join("memory.max"))).ok()
        })
        .expect("the memory controller's group");
    assert_eq!(limit.trim(), "67108864");
    c.remove("limited", &[]);
    c.finish();
}

#[test]
fn containerd_execs_pauses_and_resumes_through_palisade() {
    let _s = serial();
    require_root();
    let c = Containerd::start();
    c.import_busybox();

    let out = c.run(&["-d"], "verbs", &["sleep", "60"]);
    assert!(out.status.success(), "ctr run -d: {}\ncontainerd log:\n{}", describe(&out), c.log());
    wait_task(&c, "verbs", "RUNNING");
    // The v1 freezer group at the cgroupsPath containerd gives, /<namespace>/<id>.
    let freezer = Path::new("/sys/fs/cgroup/freezer").join(&c.namespace).join("verbs");
    let state = freezer.join("freezer.state");
    assert!(state.exists(), "no freezer group {}; the container's groups: {:?}", freezer.display(), c.cgroup_dirs("verbs"));

    // exec: the shim runs `exec --process FILE --detach --pid-file F verbs` and reaps the
    // process as its subreaper; ctr prints its output and exits with its status.
    let out = c.exec("e1", "verbs", &["sh", "-c", "echo exec-ok; cat /proc/self/status"]);
    assert!(out.status.success(), "ctr tasks exec: {}\ncontainerd log:\n{}", describe(&out), c.log());
    let text = stdout(&out);
    assert_eq!(text.lines().next(), Some("exec-ok"), "{}", describe(&out));
    // The exec'd process runs under the container's hardening: the same seccomp mode and
    // filters, no_new_privs and capabilities as the container's own process.
    let sleepers = pids_named(&freezer, "sleep");
    assert_eq!(sleepers.len(), 1, "the container's sleep in {}: {sleepers:?}", freezer.display());
    let own = hardening(&std::fs::read_to_string(format!("/proc/{}/status", sleepers[0])).unwrap());
    let exec = hardening(&text);
    assert!(own.iter().any(|(k, v)| k == "Seccomp" && v == "2"), "the container's process has no seccomp filter: {own:?}");
    assert!(own.iter().any(|(k, v)| k == "NoNewPrivs" && v == "1"), "the container's process may gain privileges: {own:?}");
    assert_eq!(exec, own, "the exec'd process's hardening differs from the container's\n{}", describe(&out));

    let out = c.exec("e2", "verbs", &["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "ctr tasks exec: {}", describe(&out));

    // pause: the task reads PAUSED and the freezer FROZEN; resume undoes both.
    let out = c.ctr(&["tasks", "pause", "verbs"]);
    assert!(out.status.success(), "ctr tasks pause: {}\ncontainerd log:\n{}", describe(&out), c.log());
    wait_task(&c, "verbs", "PAUSED");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "FROZEN");
    let out = c.ctr(&["tasks", "resume", "verbs"]);
    assert!(out.status.success(), "ctr tasks resume: {}\ncontainerd log:\n{}", describe(&out), c.log());
    wait_task(&c, "verbs", "RUNNING");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "THAWED");
    // Thawed means running again: an exec after the resume still works.
    let out = c.exec("e3", "verbs", &["echo", "resumed"]);
    assert_eq!(stdout(&out), "resumed\n", "ctr tasks exec after resume: {}", describe(&out));

    // SIGKILL to a paused task stops it (the runtime thaws the group, as runc does), and
    // `delete --force` of the stopped task (the shim's `kill --all` finds no process and
    // must say `container not running`, which the shim tolerates) removes it.
    let out = c.ctr(&["tasks", "pause", "verbs"]);
    assert!(out.status.success(), "ctr tasks pause: {}", describe(&out));
    wait_task(&c, "verbs", "PAUSED");
    // --force on a stopped task: the shim's kill must read "container not running".
    c.remove("verbs", &["--force"]);
    c.finish();
}
