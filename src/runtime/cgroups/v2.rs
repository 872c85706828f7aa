//! cgroup v2: one directory in the unified hierarchy (Documentation/admin-guide/cgroup-v2.rst).
//! The OCI settings map onto v2 files as runc maps them (libcontainer/cgroups/fs2); a v1-only
//! setting with no v2 equivalent is an error naming it.

use super::resources::{self, Resources};
use super::{Cgroup, Error, Fs, Settings};
use std::path::Path;

/// The v2 controllers the settings need, in the order they are enabled.
fn controllers(s: &Settings, available: &[&str]) -> Vec<String> {
    let mut c: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !c.iter().any(|x| x == name) {
            c.push(name.to_string());
        }
    };
    for v1 in s.v1_controllers() {
        match v1 {
            "blkio" => add("io"),
            // Devices need no controller (an eBPF program), net_cls/net_prio have none.
            "devices" | "net_cls" | "net_prio" => {}
            other => add(other),
        }
    }
    for key in s.resources.unified.keys() {
        let prefix = key.split('.').next().unwrap_or_default();
        if prefix != "cgroup" {
            add(prefix);
        }
    }
    if s.always {
        for name in ["memory", "pids", "cpu", "cpuset", "io"] {
            if available.contains(&name) {
                add(name);
            }
        }
    }
    c
}

/// Creates `root/name`, enabling the needed controllers for root's children first
/// (`cgroup.subtree_control`), and writes the settings.
pub fn create(fs: &'static dyn Fs, root: &Path, name: &str, s: &Settings) -> Result<Cgroup, Error> {
    refuse_v1_only(s)?;
    let available_path = root.join("cgroup.controllers");
    let available_text = fs.read(&available_path).map_err(|source| Error::Read { path: available_path.clone(), source })?;
    let available: Vec<&str> = available_text.split_whitespace().collect();
    let needed = controllers(s, &available);
    for ctl in &needed {
        if !available.contains(&ctl.as_str()) {
            let controller = super::MANAGED
                .iter()
                .chain(&["io", "hugetlb", "rdma", "misc"])
                .find(|m| *m == ctl)
                .copied()
                .unwrap_or("(named in unified)");
            return Err(Error::NoController {
                controller,
                detail: format!("{} lists `{}`", available_path.display(), available_text.trim()),
            });
        }
    }
    let mut cg = Cgroup::empty(fs);
    let enable: Vec<String> = needed.iter().map(|c| format!("+{c}")).collect();
    if !enable.is_empty() {
        cg.write_limit(root.join("cgroup.subtree_control"), enable.join(" "))?;
    }
    // A nested name (an OCI cgroupsPath such as `default/ID`): every parent below the root
    // passes the controllers on too. Parents are shared and left in place.
    let mut parent = root.to_path_buf();
    let components: Vec<&str> = name.split('/').collect();
    for c in &components[..components.len().saturating_sub(1)] {
        parent.push(c);
        if !fs.exists(&parent) {
            if let Err(source) = fs.create_dir(&parent) {
                if source.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(Error::Create { path: parent, source });
                }
            }
        }
        if !enable.is_empty() {
            cg.write_limit(parent.join("cgroup.subtree_control"), enable.join(" "))?;
        }
    }
    let dir = cg.make(root.join(name))?.to_path_buf();
    write_settings(&cg, &dir, s)?;
    Ok(cg)
}

/// Settings cgroup v2 has no file for.
fn refuse_v1_only(s: &Settings) -> Result<(), Error> {
    let r = &s.resources;
    let m = &r.memory;
    let refuse = |setting: &'static str, why: &str| Err(Error::Unsupported { setting, why: format!("{why} (this host uses cgroup v2)") });
    if m.kernel.is_some_and(|k| k != -1) {
        return refuse("linux.resources.memory.kernel", "cgroup v2 has no kernel-memory limit: kernel memory counts against memory.max");
    }
    if m.kernel_tcp.is_some_and(|k| k != -1) {
        return refuse("linux.resources.memory.kernelTCP", "cgroup v2 has no separate TCP buffer limit");
    }
    if m.swappiness.is_some() {
        return refuse("linux.resources.memory.swappiness", "cgroup v2 has no per-group swappiness");
    }
    if m.disable_oom_killer == Some(true) {
        return refuse("linux.resources.memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer for a group");
    }
    if m.use_hierarchy == Some(false) {
        return refuse("linux.resources.memory.useHierarchy", "cgroup v2 accounting is always hierarchical");
    }
    if r.cpu.realtime_period.is_some() || r.cpu.realtime_runtime.is_some() {
        return refuse("linux.resources.cpu.realtimeRuntime", "cgroup v2 has no real-time bandwidth per group");
    }
    if r.blkio.leaf_weight.is_some() || r.blkio.weight_device.iter().any(|d| d.leaf_weight.is_some()) {
        return refuse("linux.resources.blockIO.leafWeight", "cgroup v2 has no leaf weights");
    }
    if !r.network.is_empty() {
        return refuse("linux.resources.network", "net_cls and net_prio exist only in cgroup v1");
    }
    if s.devices.is_some() {
        // v2 filters devices with an eBPF program, which palisade does not load. The default
        // allow list alone is accepted: /dev then holds only those nodes and every other
        // mount is nodev (bundle.rs MountEntry), so a node made with mknod cannot be opened.
        // Anything else (other rules, or `linux.devices` nodes, which are allowed rules)
        // would not be enforced, and is refused.
        let defaults = resources::default_device_rules();
        if !r.devices.iter().all(|d| d.is_deny_all() || (d.allow && defaults.contains(d))) {
            return refuse(
                "linux.resources.devices",
                "device rules beyond the default allow list need a cgroup v2 eBPF device program, which palisade does not load",
            );
        }
    }
    if s.resources.memory.swap.is_some_and(|sw| sw != -1) && s.resources.memory.limit.is_none_or(|l| l <= 0) {
        return refuse(
            "linux.resources.memory.swap",
            "a swap limit without a memory limit has no v2 equivalent (swap.max counts swap alone)",
        );
    }
    Ok(())
}

fn write_settings(cg: &Cgroup, dir: &Path, s: &Settings) -> Result<(), Error> {
    let r: &Resources = &s.resources;
    let max = |n: i64| if n < 0 { "max".to_string() } else { n.to_string() };
    if let Some(cpus) = &r.cpu.cpus {
        cg.write_limit(dir.join("cpuset.cpus"), cpus.clone())?;
    }
    if let Some(mems) = &r.cpu.mems {
        cg.write_limit(dir.join("cpuset.mems"), mems.clone())?;
    }
    let m = &r.memory;
    if let Some(limit) = m.limit {
        cg.write_limit(dir.join("memory.max"), max(limit))?;
    }
    let swap_file = dir.join("memory.swap.max");
    match (m.swap, m.limit) {
        // The spec's swap is memory plus swap; v2's swap.max is swap alone.
        (Some(-1), _) => cg.write_limit(swap_file, "max".into())?,
        (Some(swap), Some(limit)) => {
            if !cg.exists(&swap_file) {
                return Err(Error::Unsupported {
                    setting: "linux.resources.memory.swap",
                    why: "swap accounting is off on this host (no memory.swap.max)".into(),
                });
            }
            cg.write_limit(swap_file, (swap - limit).to_string())?;
        }
        // The policy's "no paging past the limit" (the file exists only with swap accounting).
        (None, Some(_)) if s.no_swap && cg.exists(&swap_file) => cg.write_limit(swap_file, "0".into())?,
        _ => {}
    }
    if let Some(low) = m.reservation {
        cg.write_limit(dir.join("memory.low"), max(low))?;
    }
    match r.pids {
        Some(p) if p != 0 => cg.write_limit(dir.join("pids.max"), max(p))?,
        _ => {}
    }
    let c = &r.cpu;
    if let Some(shares) = c.shares {
        // runc's conversion (ConvertCPUSharesToCgroupV2Value): 2..262144 onto 1..10000.
        cg.write_limit(dir.join("cpu.weight"), (1 + ((shares - 2) * 9999) / 262_142).to_string())?;
    }
    if c.quota.is_some() || c.period.is_some() {
        let quota = c.quota.map_or("max".to_string(), max);
        cg.write_limit(dir.join("cpu.max"), format!("{quota} {}", c.period.unwrap_or(100_000)))?;
    }
    if let Some(burst) = c.burst {
        cg.write_limit(dir.join("cpu.max.burst"), burst.to_string())?;
    }
    if let Some(idle) = c.idle {
        cg.write_limit(dir.join("cpu.idle"), idle.to_string())?;
    }
    let b = &r.blkio;
    // BFQ takes blkio's 10..1000 weights as they are; io.weight is 1..10000 (runc's
    // ConvertBlkIOToIOWeightValue).
    let bfq = cg.exists(&dir.join("io.bfq.weight"));
    let (weight_file, convert): (&str, fn(u16) -> u64) =
        if bfq { ("io.bfq.weight", |w| w as u64) } else { ("io.weight", |w| 1 + (w as u64 - 10) * 9999 / 990) };
    if let Some(w) = b.weight {
        cg.write_limit(dir.join(weight_file), convert(w).to_string())?;
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            cg.write_limit(dir.join(weight_file), format!("{}:{} {}", d.major, d.minor, convert(w)))?;
        }
    }
    for (key, list) in [
        ("rbps", &b.throttle_read_bps),
        ("wbps", &b.throttle_write_bps),
        ("riops", &b.throttle_read_iops),
        ("wiops", &b.throttle_write_iops),
    ] {
        for t in list {
            cg.write_limit(dir.join("io.max"), format!("{}:{} {key}={}", t.major, t.minor, t.rate))?;
        }
    }
    for h in &r.hugepage_limits {
        let path = dir.join(format!("hugetlb.{}.max", h.page_size));
        if !cg.exists(&path) {
            return Err(Error::Unsupported {
                setting: "linux.resources.hugepageLimits",
                why: format!("this kernel has no {} huge pages ({} does not exist)", h.page_size, path.display()),
            });
        }
        cg.write_limit(path, h.limit.to_string())?;
    }
    for (device, l) in &r.rdma {
        cg.write_limit(dir.join("rdma.max"), super::rdma_line(device, l))?;
    }
    // Last: the config's own v2 settings override the mapped ones (runtime-spec
    // config-linux.md "Unified").
    for (key, value) in &r.unified {
        let path = dir.join(key);
        if !cg.exists(&path) {
            return Err(Error::Unsupported {
                setting: "linux.resources.unified",
                why: format!("{key}: no such file in the container's cgroup"),
            });
        }
        cg.write_limit(path, value.clone())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::cgroups::Limits;
    use std::fs;
    use std::io;

    /// A unified hierarchy in a temporary directory that behaves like cgroupfs where it
    /// matters: a new group comes with the control files of the controllers its parent
    /// enabled, writes never create files, and rmdir succeeds with control files inside.
    struct FakeKernel;

    const FILES: &[(&str, &[&str])] = &[
        ("", &["cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "cgroup.freeze", "cgroup.events"]),
        ("memory", &["memory.max", "memory.swap.max", "memory.low", "memory.high"]),
        ("pids", &["pids.max"]),
        ("cpu", &["cpu.max", "cpu.weight"]),
        ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
        ("io", &["io.weight", "io.max"]),
    ];

    impl Fs for FakeKernel {
        fn create_dir(&self, path: &Path) -> io::Result<()> {
            fs::create_dir(path)?;
            let enabled = fs::read_to_string(path.parent().unwrap().join("cgroup.subtree_control"))?;
            for (ctl, files) in FILES {
                if ctl.is_empty() || enabled.split_whitespace().any(|e| e.trim_start_matches('+') == *ctl) {
                    for f in *files {
                        fs::write(path.join(f), "")?;
                    }
                }
            }
            Ok(())
        }

        fn write(&self, path: &Path, value: &str) -> io::Result<()> {
            if !path.exists() {
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
            fs::write(path, value)
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

    fn fake_root(controllers: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("cgroup.controllers"), controllers).unwrap();
        fs::write(root.path().join("cgroup.subtree_control"), "").unwrap();
        root
    }

    fn read(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
    }

    #[test]
    fn limits_land_in_the_control_files() {
        let root = fake_root("cpuset cpu io memory pids\n");
        let limits = Limits { memory_bytes: Some(256 << 20), pids: Some(128), cpu: Some(0.5) };
        let cg = create(&FakeKernel, root.path(), "palisade-t1", &Settings::from_limits(&limits)).unwrap();
        let dir = root.path().join("palisade-t1");
        assert_eq!(cg.paths(), std::slice::from_ref(&dir));
        assert_eq!(read(&root.path().join("cgroup.subtree_control")), "+memory +pids +cpu");
        assert_eq!(read(&dir.join("memory.max")), "268435456");
        assert_eq!(read(&dir.join("memory.swap.max")), "0");
        assert_eq!(read(&dir.join("pids.max")), "128");
        assert_eq!(read(&dir.join("cpu.max")), "50000 100000");
        cg.join(4242).unwrap();
        assert_eq!(read(&dir.join("cgroup.procs")), "4242");
        // The process has exited: the kernel empties cgroup.procs, and the group goes.
        fs::write(dir.join("cgroup.procs"), "").unwrap();
        cg.remove().unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn a_nested_path_enables_controllers_on_the_way_and_keeps_the_parents() {
        let root = fake_root("cpu memory pids");
        let cg = create(&FakeKernel, root.path(), "default/c1", &Settings::from_limits(&Limits { pids: Some(10), ..Limits::default() }))
            .unwrap();
        let dir = root.path().join("default/c1");
        assert_eq!(cg.paths(), std::slice::from_ref(&dir));
        assert_eq!(read(&root.path().join("default/cgroup.subtree_control")), "+pids");
        assert_eq!(read(&dir.join("pids.max")), "10");
        cg.remove().unwrap();
        assert!(!dir.exists());
        assert!(root.path().join("default").exists(), "the shared parent stays, as with runc");
    }

    #[test]
    fn only_needed_controllers_are_enabled() {
        let root = fake_root("cpu memory pids");
        let cg = create(&FakeKernel, root.path(), "palisade-t2", &Settings::from_limits(&Limits { pids: Some(10), ..Limits::default() }))
            .unwrap();
        assert_eq!(read(&root.path().join("cgroup.subtree_control")), "+pids");
        assert!(!root.path().join("palisade-t2/memory.max").exists());
        cg.remove().unwrap();
    }

    #[test]
    fn a_missing_controller_is_an_error_and_nothing_is_left() {
        let root = fake_root("cpu pids");
        let err = create(
            &FakeKernel,
            root.path(),
            "palisade-t3",
            &Settings::from_limits(&Limits { memory_bytes: Some(1 << 20), ..Limits::default() }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("memory controller"), "{err}");
        assert!(!root.path().join("palisade-t3").exists());
    }

    #[test]
    fn a_failed_write_removes_the_group() {
        // A kernel that makes the group without cpu's control files: the write fails, and
        // the half-made group must not be left behind.
        struct NoCpuFiles;
        impl Fs for NoCpuFiles {
            fn create_dir(&self, path: &Path) -> io::Result<()> {
                fs::create_dir(path)?;
                fs::write(path.join("cgroup.procs"), "")
            }
            fn write(&self, path: &Path, value: &str) -> io::Result<()> {
                FakeKernel.write(path, value)
            }
            fn read(&self, path: &Path) -> io::Result<String> {
                FakeKernel.read(path)
            }
            fn exists(&self, path: &Path) -> bool {
                path.exists()
            }
            fn remove_dir(&self, path: &Path) -> io::Result<()> {
                FakeKernel.remove_dir(path)
            }
        }
        let root = fake_root("cpu");
        let err = create(&NoCpuFiles, root.path(), "palisade-t4", &Settings::from_limits(&Limits { cpu: Some(1.0), ..Limits::default() }))
            .unwrap_err();
        assert!(matches!(err, Error::Write { .. }), "{err}");
        assert!(!root.path().join("palisade-t4").exists(), "the half-made group is removed");
    }

    fn oci(resources: serde_json::Value) -> Settings {
        Settings::new(&Limits::default(), Some(&resources), true).unwrap()
    }

    #[test]
    fn oci_resources_map_onto_v2_files_as_runc_maps_them() {
        let root = fake_root("cpuset cpu io memory pids");
        let settings = oci(serde_json::json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": 100000000, "reservation": 50000000, "swap": 150000000, "useHierarchy": true},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
            "pids": {"limit": -1},
            "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "unified": {"memory.high": "90000000"}
        }));
        let cg = create(&FakeKernel, root.path(), "default/c1", &settings).unwrap();
        let dir = root.path().join("default/c1");
        // Every controller an OCI container may use is passed down, needed or not.
        assert_eq!(read(&root.path().join("cgroup.subtree_control")), "+memory +pids +cpu +cpuset +io");
        assert_eq!(read(&dir.join("memory.max")), "100000000");
        assert_eq!(read(&dir.join("memory.swap.max")), "50000000", "swap alone: memory+swap minus memory");
        assert_eq!(read(&dir.join("memory.low")), "50000000");
        assert_eq!(read(&dir.join("memory.high")), "90000000");
        assert_eq!(read(&dir.join("cpu.weight")), "39", "runc's conversion of 1024 shares");
        assert_eq!(read(&dir.join("cpu.max")), "50000 100000");
        assert_eq!(read(&dir.join("cpuset.cpus")), "0-1");
        assert_eq!(read(&dir.join("pids.max")), "max");
        assert_eq!(read(&dir.join("io.weight")), "4950", "runc's conversion of blkio weight 500");
        assert_eq!(read(&dir.join("io.max")), "8:0 rbps=1048576");
        cg.remove().unwrap();
    }

    #[test]
    fn v1_only_settings_and_device_rules_beyond_the_defaults_are_refused() {
        let root = fake_root("cpuset cpu io memory pids");
        for (resources, setting) in [
            (
                serde_json::json!({"devices": [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]}),
                "linux.resources.devices",
            ),
            (
                serde_json::json!({"devices": [{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}),
                "linux.resources.devices",
            ),
            (serde_json::json!({"memory": {"kernel": 1048576}}), "linux.resources.memory.kernel"),
            (serde_json::json!({"memory": {"swappiness": 10}}), "linux.resources.memory.swappiness"),
            (serde_json::json!({"memory": {"disableOOMKiller": true}}), "linux.resources.memory.disableOOMKiller"),
            (serde_json::json!({"network": {"classID": 1}}), "linux.resources.network"),
            (serde_json::json!({"blockIO": {"leafWeight": 100}}), "linux.resources.blockIO.leafWeight"),
        ] {
            let err = create(&FakeKernel, root.path(), "c2", &oci(resources)).unwrap_err();
            assert!(err.to_string().starts_with(setting), "{err}");
            assert!(!root.path().join("c2").exists());
        }
        // The default allow list (what a config's `deny a` becomes) needs no program.
        let cg = create(&FakeKernel, root.path(), "c3", &oci(serde_json::json!({"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}))).unwrap();
        cg.remove().unwrap();
        let err = create(&FakeKernel, root.path(), "c4", &oci(serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]})))
            .unwrap_err();
        assert!(matches!(err, Error::NoController { controller: "hugetlb", .. }), "{err}");
    }

    #[test]
    fn the_v2_freezer_is_found_in_the_recorded_group() {
        let root = fake_root("pids");
        let cg = create(&FakeKernel, root.path(), "c5", &Settings::new(&Limits::default(), None, true).unwrap()).unwrap();
        fs::write(root.path().join("c5/cgroup.events"), "populated 0\nfrozen 1\n").unwrap();
        assert_eq!(super::super::freezer::state(cg.paths()).unwrap(), super::super::freezer::State::Frozen);
        cg.remove().unwrap();
    }
}
