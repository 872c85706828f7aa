//! v1 against a fake kernel: hierarchies in a temporary directory that behave like cgroupfs
//! where it matters (control files appear with a group, writes never create files, cpuset
//! groups start empty, devices.list follows devices.allow/deny, rmdir works with control
//! files inside and fails on a populated group).

use super::*;
use crate::runtime::cgroups::{Limits, Settings};
use serde_json::json;
use std::fs;
use std::io;

struct FakeV1 {
    root: PathBuf,
    /// Linux ≥ 5.16: memory.kmem.limit_in_bytes takes writes and ignores them.
    kmem_ignored: bool,
}

const UNLIMITED: &str = "9223372036854771712";

fn files(ctl: &str) -> &'static [(&'static str, &'static str)] {
    match ctl {
        "memory" => &[
            ("memory.limit_in_bytes", UNLIMITED),
            ("memory.soft_limit_in_bytes", UNLIMITED),
            ("memory.memsw.limit_in_bytes", UNLIMITED),
            ("memory.kmem.limit_in_bytes", UNLIMITED),
            ("memory.kmem.tcp.limit_in_bytes", UNLIMITED),
            ("memory.swappiness", "60"),
            ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n"),
            ("memory.use_hierarchy", "1"),
        ],
        "cpu" => &[
            ("cpu.shares", "1024"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "-1"),
            ("cpu.rt_period_us", "1000000"),
            ("cpu.rt_runtime_us", "0"),
        ],
        "cpuacct" => &[("cpuacct.usage", "0")],
        "cpuset" => &[("cpuset.cpus", ""), ("cpuset.mems", "")],
        "pids" => &[("pids.max", "max")],
        // As on the test hosts: no CFQ or BFQ, so no weight files.
        "blkio" => &[("blkio.throttle.read_bps_device", ""), ("blkio.throttle.write_iops_device", "")],
        "devices" => &[("devices.allow", ""), ("devices.deny", ""), ("devices.list", "a *:* rwm\n")],
        "freezer" => &[("freezer.state", "THAWED\n")],
        _ => &[],
    }
}

impl FakeV1 {
    fn mounts(&self) -> Vec<(String, PathBuf)> {
        let mut m = Vec::new();
        for dir in ["cpu,cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer"] {
            for ctl in dir.split(',') {
                m.push((ctl.to_string(), self.root.join(dir)));
            }
        }
        m
    }

    fn controllers(&self, path: &Path) -> Vec<String> {
        let rel = path.strip_prefix(&self.root).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        top.split(',').map(str::to_string).collect()
    }
}

impl Fs for FakeV1 {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        fs::create_dir(path)?;
        fs::write(path.join("cgroup.procs"), "")?;
        for ctl in self.controllers(path) {
            for (f, v) in files(&ctl) {
                fs::write(path.join(f), v)?;
            }
        }
        Ok(())
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        if !path.exists() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        let dir = path.parent().unwrap();
        match path.file_name().unwrap().to_str().unwrap() {
            "devices.deny" if value == "a" => fs::write(dir.join("devices.list"), ""),
            "devices.allow" => {
                let list = fs::read_to_string(dir.join("devices.list"))? + value + "\n";
                fs::write(dir.join("devices.list"), list)
            }
            "devices.deny" => {
                // Exact matches lose the denied access (security/device_cgroup.c dev_exception_rm).
                let (head, access) = value.rsplit_once(' ').unwrap();
                let list: String = fs::read_to_string(dir.join("devices.list"))?
                    .lines()
                    .filter_map(|l| {
                        let (h, a) = l.rsplit_once(' ').unwrap();
                        let left: String = a.chars().filter(|c| h != head || !access.contains(*c)).collect();
                        (!left.is_empty()).then(|| format!("{h} {left}\n"))
                    })
                    .collect();
                fs::write(dir.join("devices.list"), list)
            }
            "memory.kmem.limit_in_bytes" if self.kmem_ignored => Ok(()),
            "memory.oom_control" => fs::write(path, format!("oom_kill_disable {value}\nunder_oom 0\n")),
            _ => fs::write(path, value),
        }
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        fs::read_to_string(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        if fs::read_to_string(path.join("cgroup.procs"))?.trim().chars().any(|c| c.is_ascii_digit()) {
            return Err(io::Error::from_raw_os_error(nix::libc::EBUSY));
        }
        fs::remove_dir_all(path)
    }
}

/// A fake host: every hierarchy's root with the root group's files (cpuset: two cpus, one node).
fn host(kmem_ignored: bool) -> (tempfile::TempDir, &'static FakeV1) {
    let t = tempfile::tempdir().unwrap();
    let fake: &'static FakeV1 = Box::leak(Box::new(FakeV1 { root: t.path().to_path_buf(), kmem_ignored }));
    for (ctl, dir) in fake.mounts() {
        fs::create_dir_all(&dir).unwrap();
        for (f, v) in files(&ctl) {
            fs::write(dir.join(f), v).unwrap();
        }
    }
    fs::write(t.path().join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
    fs::write(t.path().join("cpuset/cpuset.mems"), "0\n").unwrap();
    (t, fake)
}

fn oci(resources: serde_json::Value) -> Settings {
    Settings::new(&Limits::default(), Some(&resources), true).unwrap()
}

fn read(p: PathBuf) -> String {
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn oci_resources_land_in_the_files_runc_uses() {
    let (t, fake) = host(false);
    let root = t.path();
    let settings = oci(json!({
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}, {"allow": true, "type": "b", "major": 8, "minor": 20, "access": "rw"}],
        "memory": {"limit": 50593792, "reservation": 40000000, "swap": 60000000, "kernel": -1, "kernelTCP": 50593792, "swappiness": 10, "disableOOMKiller": true},
        "cpu": {"shares": 2048, "quota": 50000, "period": 500000, "realtimePeriod": 1000000, "realtimeRuntime": 950000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 1000},
        "blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 102400}], "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 300}]},
        "hugepageLimits": [],
        "network": {"priorities": []}
    }));
    let cg = create(fake, &fake.mounts(), "testdir/cgrouptest/c1", &settings).unwrap();
    let g = |h: &str| root.join(h).join("testdir/cgrouptest/c1");
    // One group per managed hierarchy; the co-mounted cpu,cpuacct once.
    assert_eq!(cg.paths().len(), 7, "{:?}", cg.paths());
    for h in ["cpu,cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer"] {
        assert!(g(h).is_dir(), "{h}");
    }
    assert_eq!(read(g("memory").join("memory.limit_in_bytes")), "50593792");
    assert_eq!(read(g("memory").join("memory.soft_limit_in_bytes")), "40000000");
    assert_eq!(read(g("memory").join("memory.memsw.limit_in_bytes")), "60000000");
    assert_eq!(read(g("memory").join("memory.kmem.limit_in_bytes")), UNLIMITED, "-1 is the default: not written");
    assert_eq!(read(g("memory").join("memory.kmem.tcp.limit_in_bytes")), "50593792");
    assert_eq!(read(g("memory").join("memory.swappiness")), "10");
    assert!(read(g("memory").join("memory.oom_control")).starts_with("oom_kill_disable 1"));
    assert_eq!(read(g("cpu,cpuacct").join("cpu.shares")), "2048");
    assert_eq!(read(g("cpu,cpuacct").join("cpu.cfs_period_us")), "500000");
    assert_eq!(read(g("cpu,cpuacct").join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(g("cpu,cpuacct").join("cpu.rt_runtime_us")), "950000");
    assert_eq!(read(g("pids").join("pids.max")), "1000");
    assert_eq!(read(g("blkio").join("blkio.throttle.read_bps_device")), "8:0 102400");
    assert_eq!(read(g("blkio").join("blkio.throttle.write_iops_device")), "8:0 300");
    // cpuset: the parents made on the way got the root's cpus and nodes, the group its own.
    assert_eq!(read(root.join("cpuset/testdir/cpuset.cpus")), "0-1");
    assert_eq!(read(root.join("cpuset/testdir/cgrouptest/cpuset.mems")), "0");
    assert_eq!(read(g("cpuset").join("cpuset.cpus")), "0");
    // devices: everything denied, then the config's rules in order, then runc's defaults.
    let list = read(g("devices").join("devices.list"));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[..3], ["c 10:229 rwm", "b 8:20 rw", "c *:* m"], "{list}");
    assert!(lines.contains(&"c 1:3 rwm") && lines.contains(&"c 136:* rwm"), "{list}");
    assert!(!list.contains("a *:* rwm"), "{list}");

    cg.join(4242).unwrap();
    assert_eq!(read(g("freezer").join("cgroup.procs")), "4242");
    for p in cg.paths() {
        fs::write(p.join("cgroup.procs"), "").unwrap();
    }
    cg.remove().unwrap();
    assert!(!g("memory").exists() && !g("freezer").exists());
    assert!(root.join("memory/testdir/cgrouptest").exists(), "shared parents stay, as with runc");
}

#[test]
fn an_oci_container_without_resources_still_gets_every_group_and_the_default_devices() {
    let (t, fake) = host(false);
    let settings = Settings::new(&Limits::default(), None, true).unwrap();
    let cg = create(fake, &fake.mounts(), "default/c2", &settings).unwrap();
    assert_eq!(cg.paths().len(), 7);
    let list = read(t.path().join("devices/default/c2/devices.list"));
    assert_eq!(list.lines().count(), 11, "{list}");
    assert_eq!(read(t.path().join("cpuset/default/c2/cpuset.cpus")), "0-1", "inherited: a task can join");
    assert_eq!(read(t.path().join("memory/default/c2/memory.limit_in_bytes")), UNLIMITED);
    cg.remove().unwrap();
}

#[test]
fn a_policy_limit_makes_only_the_groups_it_needs() {
    let (t, fake) = host(false);
    let settings = Settings::from_limits(&Limits { memory_bytes: Some(1 << 20), ..Limits::default() });
    let cg = create(fake, &fake.mounts(), "palisade-x", &settings).unwrap();
    assert_eq!(cg.paths(), [t.path().join("memory/palisade-x")]);
    assert_eq!(read(t.path().join("memory/palisade-x/memory.memsw.limit_in_bytes")), "1048576", "no swap past the limit");
    assert!(!t.path().join("devices/palisade-x").exists(), "palisade run leaves the device cgroup alone");
    cg.remove().unwrap();
}

#[test]
fn a_controller_this_host_lacks_is_an_error_naming_it_and_nothing_is_left() {
    let (t, fake) = host(false);
    for (resources, controller) in [
        (json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 1048576}]}), "hugetlb"),
        (json!({"network": {"classID": 1048577}}), "net_cls"),
        (json!({"network": {"priorities": [{"name": "eth0", "priority": 1}]}}), "net_prio"),
        (json!({"rdma": {"mlx5_1": {"hcaHandles": 1}}}), "rdma"),
    ] {
        let err = create(fake, &fake.mounts(), "c3", &oci(resources)).unwrap_err();
        assert!(matches!(err, Error::NoController { controller: c, .. } if c == controller), "{err}");
        assert!(err.to_string().contains(controller), "{err}");
    }
    let err = create(fake, &fake.mounts(), "c3", &oci(json!({"unified": {"memory.high": "1"}}))).unwrap_err();
    assert!(err.to_string().starts_with("linux.resources.unified:"), "{err}");
    for h in ["memory", "freezer", "cpuset"] {
        assert!(!t.path().join(h).join("c3").exists(), "{h}");
    }
}

#[test]
fn settings_the_kernel_would_not_honour_are_refused_not_faked() {
    let (t, fake) = host(true);
    let err = create(fake, &fake.mounts(), "c4", &oci(json!({"memory": {"limit": 50593792, "kernel": 50593792}}))).unwrap_err();
    assert!(matches!(err, Error::Unsupported { setting: "linux.resources.memory.kernel", .. }), "{err}");
    assert!(err.to_string().contains("does not enforce"), "{err}");
    assert!(!t.path().join("memory/c4").exists(), "the half-made group is removed");
    // Where the kernel still keeps it, the limit is written and kept.
    let (t, fake) = host(false);
    let cg = create(fake, &fake.mounts(), "c5", &oci(json!({"memory": {"limit": 50593792, "kernel": 50593792}}))).unwrap();
    assert_eq!(read(t.path().join("memory/c5/memory.kmem.limit_in_bytes")), "50593792");
    cg.remove().unwrap();
    // No CFQ/BFQ: a blkio weight has no file to go to.
    let err = create(fake, &fake.mounts(), "c6", &oci(json!({"blockIO": {"weight": 500}}))).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.blockIO.weight: this kernel's blkio controller has no blkio.bfq.weight or blkio.weight"),
        "{err}"
    );
    let err = create(fake, &fake.mounts(), "c6", &oci(json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "leafWeight": 300}]}})))
        .unwrap_err();
    assert!(err.to_string().contains("blkio.leaf_weight_device"), "{err}");
    assert!(!t.path().join("blkio/c6").exists());
}

#[test]
fn the_policy_and_the_config_combine_to_the_stricter_limit() {
    let (t, fake) = host(false);
    let limits = Limits { memory_bytes: Some(32 << 20), pids: Some(500), cpu: Some(0.2) };
    let settings = Settings::new(
        &limits,
        Some(&json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 100}, "cpu": {"quota": 50000, "period": 100000}})),
        true,
    )
    .unwrap();
    let cg = create(fake, &fake.mounts(), "c7", &settings).unwrap();
    assert_eq!(read(t.path().join("memory/c7/memory.limit_in_bytes")), (32 << 20).to_string());
    assert_eq!(read(t.path().join("memory/c7/memory.memsw.limit_in_bytes")), (32 << 20).to_string());
    assert_eq!(read(t.path().join("pids/c7/pids.max")), "100");
    assert_eq!(read(t.path().join("cpu,cpuacct/c7/cpu.cfs_quota_us")), "20000");
    cg.remove().unwrap();
}
