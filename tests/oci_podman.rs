//! podman 4.3 (Debian's package) runs a busybox image through palisade with
//! `--runtime /path/to/palisade`: podman's conmon calls the binary with runc's verbs
//! (`create --bundle B --pid-file P ID`, `start ID`, `delete --force ID`; `exec --process
//! FILE --detach --pid-file P ID` for `podman exec`, `pause ID`/`resume ID` for `podman
//! pause`/`unpause`) and no `runc` name.
//! The test uses a podman configuration of its own (CONTAINERS_CONF, with nofile and nproc
//! lowered below this machine's hard limits, cgroupfs, file events) and keeps podman's root,
//! runroot, tmpdir and network config under a temporary directory. The image is built with
//! umoci, archived with skopeo and loaded with `podman load`. Whatever podman makes outside
//! the temporary directory (/run/libpod, /run/containers, the `libpod_parent` cgroups, and
//! /run/palisade-oci: podman gives the runtime no `--root`) is
//! removed again if it was not there before. Needs root, podman, umoci, skopeo and
//! busybox-static: a missing tool fails the test (naming the package), never skips it.
//!
//! podman's default spec mounts `cgroup` at /sys/fs/cgroup: on this cgroup v1 host palisade
//! gives the container a read-only view of its own groups there (checked below).

mod run_common;

use run_common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const IMAGE: &str = "localhost/palisade-busybox:latest";

/// Paths outside the temp dir that podman creates, and palisade's default `--root` (podman
/// passes none to the runtime): removed on drop if new.
const HOST_DIRS: &[&str] = &["/run/libpod", "/run/containers", "/run/palisade-oci"];

struct Podman {
    dir: tempfile::TempDir,
    podman: PathBuf,
    made: Vec<&'static str>,
    made_cgroup_parent: bool,
}

impl Podman {
    fn new() -> Podman {
        let podman = require_tool("podman", "podman");
        require_tool("conmon", "conmon");
        let dir = tempfile::Builder::new().prefix("podman-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let made = HOST_DIRS.iter().copied().filter(|d| !Path::new(d).exists()).collect();
        let made_cgroup_parent = cgroup_parents().is_empty();
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        Podman { dir, podman, made, made_cgroup_parent }
    }

    /// `podman` with this test's storage and configuration, to completion (killed after a minute).
    fn podman(&self, args: &[&str]) -> Output {
        output_within(self.command(args))
    }

    /// [`Podman::podman`] for cleanup: `None` instead of a failure when it hangs.
    fn try_podman(&self, args: &[&str]) -> Option<Output> {
        try_output_within(self.command(args))
    }

    fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new(&self.podman);
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("PALISADE_TEST_RUN", std::process::id().to_string())
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .arg("--network-config-dir")
            .arg(d.join("net"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .arg("--runtime")
            .arg(env!("CARGO_BIN_EXE_palisade"))
            .args(args);
        cmd
    }

    /// Builds a busybox image (umoci), archives it (skopeo) and loads it.
    fn load_busybox(&self) {
        let archive = busybox_oci_archive(self.dir.path(), IMAGE);
        let out = self.podman(&["load", "-i", archive.to_str().unwrap()]);
        assert!(out.status.success(), "podman load: {}", describe(&out));
    }

    fn run(&self, command: &[&str]) -> Output {
        self.run_with(&["--rm"], command)
    }

    /// `podman run OPTIONS… IMAGE COMMAND…` with the test's network.
    fn run_with(&self, options: &[&str], command: &[&str]) -> Output {
        let mut args = vec!["run"];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--network", "none", IMAGE]);
        args.extend_from_slice(command);
        self.podman(&args)
    }

    /// `podman inspect --format FORMAT name`, trimmed.
    fn inspect(&self, name: &str, format: &str) -> String {
        let out = self.podman(&["inspect", "--format", format, name]);
        assert!(out.status.success(), "podman inspect: {}", describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `podman inspect`'s State.Status of container `name`.
    fn status(&self, name: &str) -> String {
        self.inspect(name, "{{.State.Status}}")
    }
}

/// podman's cgroupfs parent groups (`libpod_parent` under each hierarchy).
fn cgroup_parents() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else { return Vec::new() };
    entries.flatten().map(|e| e.path().join("libpod_parent")).filter(|p| p.exists()).collect()
}

/// Removes the empty groups under `dir`, deepest first, then `dir`.
fn remove_groups(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            remove_groups(&e.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.try_podman(&["rm", "--all", "--force"]);
        let _ = self.try_podman(&["rmi", "--all", "--force"]);
        for (pid, _) in marked() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = self.dir.path().to_str().unwrap().to_string();
        let mut points: Vec<&str> = mountinfo.lines().filter_map(|l| l.split(' ').nth(4)).filter(|p| p.starts_with(&dir)).collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
        }
        for d in &self.made {
            let _ = std::fs::remove_dir_all(d);
        }
        if self.made_cgroup_parent {
            for p in cgroup_parents() {
                remove_groups(&p);
            }
        }
    }
}

#[test]
fn podman_runs_a_busybox_image_through_palisade() {
    let _s = serial();
    require_root();
    let p = Podman::new();
    p.load_busybox();

    let out = p.run(&["echo", "hello"]);
    assert!(out.status.success(), "podman run: {}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n", "{}", describe(&out));

    // podman's `cgroup` mount: the container's own groups, read-only.
    let out =
        p.run(&["sh", "-c", "grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo; touch /sys/fs/cgroup/memory/x 2>/dev/null || echo ro"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "podman run: {}", describe(&out));
    assert!(text.contains(" - cgroup cgroup ") && text.contains(" ro,") && text.trim_end().ends_with("ro"), "{text}");

    // The workload's exit status is podman's.
    let out = p.run(&["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));

    // --rm removed both containers.
    let out = p.podman(&["ps", "-a", "-q"]);
    assert!(out.status.success(), "podman ps: {}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "containers left: {}", describe(&out));

    let left = marked();
    assert!(left.is_empty(), "processes outlived podman run --rm: {left:?}");
    drop(p);
    assert_no_leaks();
}

#[test]
fn podman_execs_pauses_and_unpauses_through_palisade() {
    let _s = serial();
    require_root();
    let p = Podman::new();
    p.load_busybox();

    let out = p.run_with(&["-d", "--name", "verbs"], &["sleep", "60"]);
    assert!(out.status.success(), "podman run -d: {}", describe(&out));
    assert_eq!(p.status("verbs"), "running");
    // podman records what `pause` returned; the v1 freezer of the container's group (where
    // its init is, by /proc/PID/cgroup) says what the kernel did.
    let pid = p.inspect("verbs", "{{.State.Pid}}");
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let group = cgroup.lines().find_map(|l| l.split_once(":freezer:").map(|(_, g)| g.to_string())).expect("a v1 freezer line");
    let state = Path::new("/sys/fs/cgroup/freezer").join(group.trim_start_matches('/')).join("freezer.state");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "THAWED", "{}", state.display());

    // exec: conmon runs `exec --process FILE --detach --pid-file P verbs` and reaps the
    // process; podman prints its output and exits with its status.
    let out = p.podman(&["exec", "verbs", "sh", "-c", "echo exec-ok; cat /proc/self/status"]);
    assert!(out.status.success(), "podman exec: {}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().next(), Some("exec-ok"), "{}", describe(&out));
    // The exec'd process runs under the container's hardening, as its own process does.
    // (podman's spec asks for no no_new_privs, which palisade honours as runc does: only
    // the equality is checked for it, not its value.)
    let group = state.parent().unwrap();
    let sleepers = pids_named(group, "sleep");
    assert_eq!(sleepers.len(), 1, "the container's sleep in {}: {sleepers:?}", group.display());
    let own = hardening(&std::fs::read_to_string(format!("/proc/{}/status", sleepers[0])).unwrap());
    assert!(own.iter().any(|(k, v)| k == "Seccomp" && v == "2"), "the container's process has no seccomp filter: {own:?}");
    assert_eq!(hardening(&text), own, "the exec'd process's hardening differs from the container's\n{}", describe(&out));
    let out = p.podman(&["exec", "verbs", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "podman exec: {}", describe(&out));

    // pause/unpause: podman records the state the runtime's verbs reached.
    let out = p.podman(&["pause", "verbs"]);
    assert!(out.status.success(), "podman pause: {}", describe(&out));
    assert_eq!(p.status("verbs"), "paused");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "FROZEN", "{}", state.display());
    let out = p.podman(&["unpause", "verbs"]);
    assert!(out.status.success(), "podman unpause: {}", describe(&out));
    assert_eq!(p.status("verbs"), "running");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "THAWED", "{}", state.display());
    let out = p.podman(&["exec", "verbs", "echo", "resumed"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "resumed\n", "podman exec after unpause: {}", describe(&out));

    let out = p.podman(&["rm", "--force", "--time", "0", "verbs"]);
    assert!(out.status.success(), "podman rm --force: {}", describe(&out));
    let out = p.podman(&["ps", "-a", "-q"]);
    assert!(out.status.success(), "podman ps: {}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "containers left: {}", describe(&out));

    let left = marked();
    assert!(left.is_empty(), "processes outlived podman rm --force: {left:?}");
    drop(p);
    assert_no_leaks();
}
