//! An OCI config's `mounts`, `linux.devices` and `linux.rootfsPropagation` through
//! `palisade oci run`, as the runtime-tools `runtimetest` checks them: the mounts in
//! /proc/self/mountinfo in config order with the config's types and sources, flags applied
//! (a read-only tmpfs with a mode, a read-only bind from the host), device nodes with the
//! exact type, number, owner and mode, a fifo, and an unbindable root that `mount --rbind /`
//! fails on (checks in tests/oci_mounts_common). Needs root.

mod oci_mounts_common;
mod run_common;

use oci_mounts_common::*;
use run_common::*;
use serde_json::{json, Value};

#[test]
fn oci_run_mounts_the_configs_list_in_order_with_devices_and_propagation() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let data = data_dir();
    let bundle = tempfile::Builder::new().prefix("oci-bundle-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let state = tempfile::Builder::new().prefix("oci-state-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = palisade(["oci", "spec", "--bundle", bundle.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    let path = bundle.path().join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["root"]["path"] = rootfs.path().to_str().unwrap().into();
    config["process"]["args"] = json!(["sh", "-c", SCRIPT]);
    // CAP_SYS_ADMIN, so that the rbind fails for the root's propagation and not for
    // want of the capability.
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set].as_array_mut().unwrap().push("CAP_SYS_ADMIN".into());
    }
    let list = mounts(data.path());
    config["mounts"] = Value::Array(list.clone());
    config["linux"]["devices"] = devices();
    config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
    ]);
    config["linux"]["rootfsPropagation"] = "unbindable".into();
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    let out = palisade(["oci", "--root", state.path().to_str().unwrap(), "run", "--bundle", bundle.path().to_str().unwrap(), "m1"]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    check_inside(&String::from_utf8_lossy(&out.stdout), &list);
    assert_no_leaks();
}

/// runc's default list as is: its `cgroup` entry is the unified hierarchy where the host
/// has only that; on a cgroup v1 (or hybrid) host a tmpfs with one read-only mount per
/// hierarchy, each rooted at the container's own group (its pids.max is the config's limit).
#[test]
fn a_cgroup_mount_shows_the_containers_own_groups_read_only() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let bundle = tempfile::Builder::new().prefix("oci-bundle-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let state = tempfile::Builder::new().prefix("oci-state-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = palisade(["oci", "spec", "--bundle", bundle.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    let path = bundle.path().join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["root"]["path"] = rootfs.path().to_str().unwrap().into();
    config["process"]["args"] = json!([
        "sh",
        "-c",
        "grep ' /sys/fs/cgroup' /proc/self/mountinfo; echo pids.max=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null); \
         (echo 5 > /sys/fs/cgroup/pids/pids.max) 2>/dev/null && echo raised || echo write-refused; \
         mkdir /sys/fs/cgroup/x 2>/dev/null && echo tmpfs-writable || echo tmpfs-ro"
    ]);
    config["linux"]["resources"] = json!({"pids": {"limit": 77}});
    config["mounts"] = Value::Array(default_mounts(true));
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let out = palisade(["oci", "--root", state.path().to_str().unwrap(), "run", "--bundle", bundle.path().to_str().unwrap(), "m2"]);
    if host_is_cgroup2() {
        assert_eq!(code(&out), 0, "{}", describe(&out));
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(has_ro_cgroup2(&line), "{line}");
    } else {
        assert_eq!(code(&out), 0, "{}", describe(&out));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mounts = mountinfo(&text);
        assert!(mounts.iter().any(|(point, _, fstype, _, _)| point == "/sys/fs/cgroup" && fstype == "tmpfs"), "{text}");
        assert!(
            mounts
                .iter()
                .any(|(point, _, fstype, _, options)| point == "/sys/fs/cgroup/pids" && fstype == "cgroup" && options.starts_with("ro,")),
            "{text}"
        );
        // The hierarchy's root is the container's group: its limit, not the host's `max`.
        assert!(text.contains("pids.max=77"), "{text}");
        assert!(text.contains("write-refused") && text.contains("tmpfs-ro"), "{text}");
    }
    assert_no_leaks();
}

/// Whether mountinfo `text` has a read-only cgroup2 mount at /sys/fs/cgroup whose source is
/// `cgroup`.
fn has_ro_cgroup2(text: &str) -> bool {
    mountinfo(text).iter().any(|(point, _, fstype, source, options)| {
        point == "/sys/fs/cgroup" && fstype == "cgroup2" && source == "cgroup" && options.starts_with("ro,")
    })
}
