//! `palisade oci` and cgroups, checked from outside as runtime-tools checks them: the values
//! of `linux.resources` land in the files of the group at `linux.cgroupsPath` (under each v1
//! hierarchy), `pause` freezes it and `state` says so, `resume` thaws it, `delete --force`
//! ends a paused container, and the groups are gone afterwards. A resource this host cannot
//! enforce fails `create` with its name. Needs root and the cgroup v1 hierarchies of the
//! test hosts (memory, cpu, cpuset, pids, blkio, devices, freezer).

mod oci_common;
mod run_common;

use run_common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// The groups' parent under each hierarchy: not `palisade*`, since shared parents stay (as
/// with runc) and assert_no_leaks looks for that name; each test removes it at the end.
const PARENT: &str = "oci-cgroups-test";

/// A bundle whose containers' groups go under [`PARENT`], which is removed after the
/// containers are.
struct Bundle(oci_common::Bundle);

impl std::ops::Deref for Bundle {
    type Target = oci_common::Bundle;
    fn deref(&self) -> &oci_common::Bundle {
        &self.0
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        self.0.delete_all();
        remove_parent();
    }
}

impl Bundle {
    fn new(args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        Bundle(oci_common::Bundle::new(args, edit))
    }

    fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }
}

/// The group of container `id` under hierarchy `controller`.
fn group(controller: &str, id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(controller).join(PARENT).join(id)
}

fn read(controller: &str, id: &str, file: &str) -> String {
    let path = group(controller, id).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_string()
}

/// The managed v1 hierarchies this host mounts.
fn hierarchies() -> Vec<&'static str> {
    ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer"]
        .into_iter()
        .filter(|c| Path::new("/sys/fs/cgroup").join(c).join("cgroup.procs").exists())
        .collect()
}

fn require_v1() {
    require_root();
    let have = hierarchies();
    assert!(
        have.contains(&"freezer") && have.contains(&"memory"),
        "these tests need the cgroup v1 hierarchies of the test hosts; found {have:?}"
    );
}

/// Removes the shared parent under every hierarchy (it holds no group by now).
fn remove_parent() {
    for c in hierarchies() {
        let p = Path::new("/sys/fs/cgroup").join(c).join(PARENT);
        match std::fs::remove_dir(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Checked by the tests themselves, and reported by assert_no_leaks' callers.
            Err(e) if std::thread::panicking() => eprintln!("cleanup: {}: {e}", p.display()),
            Err(e) => panic!("{}: {e} (a group was left inside)", p.display()),
        }
    }
}

/// Whether this host's blkio controller has proportional weights: CFQ's blkio.weight, or
/// BFQ's blkio.bfq.weight (which, unlike its statistics files, is not on the root group).
fn blkio_weights() -> bool {
    let root = Path::new("/sys/fs/cgroup/blkio");
    root.join("blkio.weight").exists() || root.join("blkio.bfq.io_service_bytes").exists()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn resources_land_in_the_cgroup_and_pause_freezes_it() {
    let _s = serial();
    require_v1();
    // A host without CFQ/BFQ has no blkio weight file: the weight is then checked to be
    // refused (below) rather than asked for here.
    let weights = blkio_weights();
    let b = Bundle::new(&["sh", "-c", "echo up; exec sleep 60"], |c| {
        c["linux"]["cgroupsPath"] = format!("/{PARENT}/res1").into();
        let memsw = Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
        c["linux"]["resources"] = json!({
            "devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
                {"allow": true, "type": "b", "major": 8, "minor": 20, "access": "rw"}
            ],
            "memory": {"limit": 50593792, "reservation": 40001536, "swappiness": 10, "kernelTCP": 50593792, "disableOOMKiller": true},
            "cpu": {"shares": 2048, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
            "pids": {"limit": 100},
            "blockIO": if weights { json!({"weight": 500}) } else { json!({}) }
        });
        if memsw {
            c["linux"]["resources"]["memory"]["swap"] = json!(101187584);
        }
    });
    let out = b.create("res1");
    assert!(out.status.success(), "create: {}", describe(&out));

    // Every managed hierarchy has the group, named by cgroupsPath, with the values asked.
    for c in hierarchies() {
        assert!(group(c, "res1").is_dir(), "no group under {c}");
    }
    assert_eq!(read("memory", "res1", "memory.limit_in_bytes"), "50593792");
    assert_eq!(read("memory", "res1", "memory.soft_limit_in_bytes"), "40001536");
    if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        assert_eq!(read("memory", "res1", "memory.memsw.limit_in_bytes"), "101187584");
    }
    assert_eq!(read("memory", "res1", "memory.swappiness"), "10");
    assert_eq!(read("memory", "res1", "memory.kmem.tcp.limit_in_bytes"), "50593792");
    assert!(read("memory", "res1", "memory.oom_control").starts_with("oom_kill_disable 1"));
    assert_eq!(read("cpu", "res1", "cpu.shares"), "2048");
    assert_eq!(read("cpu", "res1", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("cpu", "res1", "cpu.cfs_period_us"), "100000");
    assert_eq!(read("cpuset", "res1", "cpuset.cpus"), "0");
    assert_eq!(read("cpuset", "res1", "cpuset.mems"), "0");
    assert_eq!(read("pids", "res1", "pids.max"), "100");
    if weights {
        let file = if group("blkio", "res1").join("blkio.bfq.weight").exists() { "blkio.bfq.weight" } else { "blkio.weight" };
        assert_eq!(read("blkio", "res1", file), "500");
    }
    // devices: the config's rules in order, then runc's default allow list; nothing else.
    let list = read("devices", "res1", "devices.list");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[..2], ["c 10:229 rwm", "b 8:20 rw"], "{list}");
    assert!(lines.contains(&"c 1:3 rwm") && lines.contains(&"c *:* m"), "{list}");
    assert!(!list.contains("a *:* rwm"), "{list}");
    // init is in the groups.
    let state: Value = serde_json::from_slice(&b.oci(&["state", "res1"]).stdout).unwrap();
    let init = state["pid"].as_i64().unwrap().to_string();
    assert!(read("freezer", "res1", "cgroup.procs").lines().any(|p| p == init), "init {init} is not in the freezer group");

    assert!(b.oci(&["start", "res1"]).status.success());
    b.wait_status("res1", "running");

    // pause: frozen, and `state` says paused; a second pause is refused.
    let out = b.oci(&["pause", "res1"]);
    assert!(out.status.success(), "pause: {}", describe(&out));
    assert_eq!(read("freezer", "res1", "freezer.state"), "FROZEN");
    assert_eq!(b.status("res1"), "paused");
    let out = b.oci(&["pause", "res1"]);
    assert!(!out.status.success() && stderr(&out).contains("is paused"), "{}", describe(&out));
    let out = b.oci(&["delete", "res1"]);
    assert!(!out.status.success() && stderr(&out).contains("is paused"), "{}", describe(&out));

    // resume: thawed, running again; resuming a running container is refused.
    let out = b.oci(&["resume", "res1"]);
    assert!(out.status.success(), "resume: {}", describe(&out));
    assert_eq!(read("freezer", "res1", "freezer.state"), "THAWED");
    assert_eq!(b.status("res1"), "running");
    let out = b.oci(&["resume", "res1"]);
    assert!(!out.status.success() && stderr(&out).contains("not paused"), "{}", describe(&out));

    // A paused container is ended by delete --force (SIGKILL, then thaw so it lands).
    assert!(b.oci(&["pause", "res1"]).status.success());
    let out = b.oci(&["delete", "--force", "res1"]);
    assert!(out.status.success(), "delete --force: {}", describe(&out));
    for c in hierarchies() {
        assert!(!group(c, "res1").exists(), "the {c} group outlived the container");
    }
    remove_parent();
    assert_no_leaks();
}

#[test]
fn a_paused_container_takes_a_signal_once_resumed_and_sigkill_thaws_it() {
    let _s = serial();
    require_v1();
    let b = Bundle::new(&["sh", "-c", "echo up; exec sleep 60"], |c| {
        c["linux"]["cgroupsPath"] = format!("/{PARENT}/res2").into();
    });
    let out = b.create("res2");
    assert!(out.status.success(), "create: {}", describe(&out));
    // No resources at all: the groups exist anyway (pause needs the freezer), with the
    // default device list.
    assert!(group("freezer", "res2").is_dir() && group("memory", "res2").is_dir());
    assert_eq!(read("devices", "res2", "devices.list").lines().count(), 11);
    assert!(b.oci(&["start", "res2"]).status.success());
    assert!(b.oci(&["pause", "res2"]).status.success());
    assert!(b.oci(&["kill", "res2", "TERM"]).status.success(), "a paused container can be signalled");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(b.status("res2"), "paused", "frozen tasks take a signal only once thawed (cgroup v1 freezer)");
    // SIGKILL thaws the group, as runc's kill does: containerd's shim waits for a killed
    // paused task to exit (`ctr tasks delete --force`, tests/oci_containerd.rs).
    assert!(b.oci(&["kill", "res2", "KILL"]).status.success());
    b.wait_status("res2", "stopped");
    assert!(b.oci(&["delete", "res2"]).status.success());
    assert!(!group("freezer", "res2").exists());
    remove_parent();
    assert_no_leaks();
}

#[test]
fn resources_this_host_cannot_enforce_fail_create_by_name() {
    let _s = serial();
    require_v1();
    let mounted = |c: &str| Path::new("/sys/fs/cgroup").join(c).join("cgroup.procs").exists();
    let mut cases: Vec<(Value, &str)> = Vec::new();
    if !mounted("hugetlb") {
        cases.push((json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}]}), "hugetlb"));
    }
    if !mounted("net_cls") {
        cases.push((json!({"network": {"classID": 1048577}}), "net_cls"));
    }
    if !blkio_weights() {
        cases.push((json!({"blockIO": {"weight": 500}}), "linux.resources.blockIO.weight"));
    }
    // Leaf weights went with CFQ (Linux 5.0); BFQ has none.
    if !Path::new("/sys/fs/cgroup/blkio/blkio.leaf_weight").exists() {
        cases.push((json!({"blockIO": {"leafWeight": 300}}), "linux.resources.blockIO.leafWeight"));
    }
    // Linux ≥ 5.16 takes memory.kmem.limit_in_bytes writes and ignores them.
    cases.push((json!({"memory": {"limit": 50593792, "kernel": 50593792}}), "linux.resources.memory.kernel"));
    cases.push((json!({"memory": {"limitt": 1}}), "linux.resources.memory.limitt: unknown key"));
    for (resources, name) in cases {
        let b = Bundle::new(&["true"], |c| {
            c["linux"]["cgroupsPath"] = format!("/{PARENT}/bad").into();
            c["linux"]["resources"] = resources.clone();
        });
        let out = b.create("bad");
        let err = stderr(&out);
        if name == "linux.resources.memory.kernel" && out.status.success() {
            // A kernel that still enforces kernel-memory limits keeps it.
            assert_eq!(read("memory", "bad", "memory.kmem.limit_in_bytes"), "50593792");
            assert!(b.oci(&["delete", "--force", "bad"]).status.success());
            continue;
        }
        if out.status.success() {
            // Not left waiting at the gate for the rest of the suite.
            let deleted = b.oci(&["delete", "--force", "bad"]);
            panic!("{resources}: created, expected an error naming {name} (delete --force: {})", describe(&deleted));
        }
        assert!(err.contains(name), "{resources}: expected an error naming {name}: {}", describe(&out));
        for c in hierarchies() {
            assert!(!group(c, "bad").exists(), "{resources}: a {c} group was left");
        }
    }
    remove_parent();
    assert_no_leaks();
}
