//! An OCI config's `mounts`, `linux.devices` and `linux.rootfsPropagation`, as the
//! runtime-tools `runtimetest` checks them: the mounts in /proc/self/mountinfo in config
//! order with the config's types and sources, flags applied (a read-only tmpfs with a mode, a
//! read-only bind from the host), device nodes with the exact type, number, owner and mode,
//! a fifo, and an unbindable root that `mount --rbind /` fails on. Driven twice: through
//! `palisade oci run` on a bundle, and through the library with the same request filled in
//! directly (the runtime alone, whatever config.json translation is in place). Needs root.

mod run_common;

use palisade::runtime::bundle::{BundleSpec, DeviceNode, MountEntry, Propagation};
use run_common::*;
use serde_json::{json, Value};
use std::path::Path;

/// What the container runs: everything it finds, on stdout.
const SCRIPT: &str = "cat /proc/self/mountinfo; echo ---; \
    stat -c 'test-null %t:%T %a %u:%g %F' /dev/test-null; \
    stat -c 'test-fifo %a %u:%g %F' /dev/test-fifo; \
    echo x > /dev/test-zero && echo zero-opens; \
    cat /data/hello; \
    (echo y > /data/new) 2>/dev/null && echo data-writable || echo data-read-only; \
    (echo z > /scratch/f) 2>/dev/null && echo scratch-writable || echo scratch-read-only; \
    stat -c 'scratch-mode %a' /scratch; \
    mount -t tmpfs probe /home && echo tmpfs-mount-ok && busybox umount /home; \
    mount --rbind / /home 2>&1 && echo rbind-ok || echo rbind-refused";

/// runc's default mount list (`runc spec`), in its order; the cgroup entry only where the
/// host has the unified hierarchy (palisade refuses cgroup v1 by name).
fn default_mounts(cgroup: bool) -> Vec<Value> {
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
    ];
    if cgroup {
        mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}));
    }
    mounts
}

fn host_is_cgroup2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup").unwrap().filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC
}

/// The whole `mounts` list of the test: runc's defaults, a read-only tmpfs with a mode,
/// and a read-only bind of `data` from the host.
fn mounts(data: &Path) -> Vec<Value> {
    let mut mounts = default_mounts(host_is_cgroup2());
    mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "scratch", "options": ["ro", "nosuid", "mode=1700", "size=1m"]}));
    mounts.push(json!({"destination": "/data", "type": "bind", "source": data.to_str().unwrap(), "options": ["rbind", "ro"]}));
    mounts
}

/// `linux.devices`: /dev/null's number under another name with an owner and mode, /dev/zero's
/// with the defaults, and a fifo.
fn devices() -> Value {
    json!([
        {"path": "/dev/test-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 1, "gid": 2},
        {"path": "/dev/test-zero", "type": "c", "major": 1, "minor": 5},
        {"path": "/dev/test-fifo", "type": "p", "fileMode": 0o640, "uid": 3, "gid": 4}
    ])
}

/// A host directory to bind, holding /data/hello.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("oci-mounts-data-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(dir.path().join("hello"), "hello from the host\n").unwrap();
    dir
}

/// One line of mountinfo: (mount point, optional fields, type, source, per-mount options).
fn mountinfo(text: &str) -> Vec<(String, String, String, String, String)> {
    text.lines()
        .take_while(|l| *l != "---")
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            Some((left[4].into(), left[6..].join(" "), right[0].into(), right[1].into(), left[5].into()))
        })
        .collect()
}

/// What runtimetest checks, and palisade's hardening on top.
fn check_inside(text: &str, config_mounts: &[Value]) {
    let info = mountinfo(text);
    // Every config mount is there, in config order, with the config's type and (but for
    // binds) source; cgroup is mounted as cgroup2 on a unified host, as runc does.
    let mut last = None;
    for m in config_mounts {
        let dest = m["destination"].as_str().unwrap();
        let i = info.iter().position(|(point, ..)| point == dest).unwrap_or_else(|| panic!("{dest} is not mounted:\n{text}"));
        assert!(last.is_none_or(|l| l < i), "{dest} is out of config order:\n{text}");
        last = Some(i);
        let (_, _, fstype, source, _) = &info[i];
        match m["type"].as_str().unwrap() {
            "bind" => {}
            "cgroup" => assert_eq!((fstype.as_str(), source.as_str()), ("cgroup2", "cgroup"), "{text}"),
            ty => assert_eq!((fstype.as_str(), source.as_str()), (ty, m["source"].as_str().unwrap()), "{dest}:\n{text}"),
        }
    }
    let options = |dest: &str| info.iter().find(|(p, ..)| p == dest).map(|(.., o)| o.clone()).unwrap();
    for dest in ["/proc", "/dev", "/dev/shm", "/dev/mqueue", "/sys", "/scratch", "/data"] {
        assert!(options(dest).split(',').any(|o| o == "nodev"), "{dest} is not nodev: {}", options(dest));
    }
    assert!(!options("/dev/pts").split(',').any(|o| o == "nodev"), "devpts must keep its devices");
    assert!(options("/scratch").starts_with("ro,"), "the tmpfs's ro: {}", options("/scratch"));
    assert!(options("/data").starts_with("ro,") && options("/data").contains("nosuid"), "the bind's ro, and nosuid: {}", options("/data"));
    assert!(options("/sys").starts_with("ro,"), "{}", options("/sys"));
    // The root is unbindable (mountinfo's optional field), and so rbinding it fails.
    let root = info.iter().find(|(p, ..)| p == "/").unwrap();
    assert!(root.1.contains("unbindable"), "root propagation: {root:?}");
    assert!(text.contains("tmpfs-mount-ok"), "the workload may mount (or the rbind check proves nothing):\n{text}");
    assert!(text.contains("Invalid argument") && text.contains("rbind-refused"), "rbind of an unbindable / must fail with EINVAL:\n{text}");

    // Devices: exact type, number, owner and mode; the default-mode one opens although
    // /dev is nodev (it is a bind from the staging tmpfs).
    assert!(text.contains("test-null 1:3 600 1:2 character special file"), "{text}");
    assert!(text.contains("test-fifo 640 3:4 fifo"), "{text}");
    assert!(text.contains("zero-opens"), "{text}");
    // The host's file is seen through the read-only bind, which refuses writes; the
    // read-only tmpfs has the mode asked.
    assert!(text.contains("hello from the host"), "{text}");
    assert!(text.contains("data-read-only") && !text.contains("data-writable"), "{text}");
    assert!(text.contains("scratch-read-only") && text.contains("scratch-mode 1700"), "{text}");
}

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
/// has only that, and refused by name on a cgroup v1 (or hybrid) host.
#[test]
fn a_cgroup_mount_is_cgroup2_or_refused_by_name() {
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
    config["process"]["args"] = json!(["sh", "-c", "grep ' /sys/fs/cgroup ' /proc/self/mountinfo"]);
    config["mounts"] = Value::Array(default_mounts(true));
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let out = palisade(["oci", "--root", state.path().to_str().unwrap(), "run", "--bundle", bundle.path().to_str().unwrap(), "m2"]);
    if host_is_cgroup2() {
        assert_eq!(code(&out), 0, "{}", describe(&out));
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(has_ro_cgroup2(&line), "{line}");
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(code(&out), 0, "{}", describe(&out));
        assert!(err.contains("mounts[6] (/sys/fs/cgroup)") && err.contains("cgroup v1"), "{}", describe(&out));
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

/// The policy `palisade oci` makes of runc's default config, plus CAP_SYS_ADMIN (see above).
const POLICY: &str = r#"
[policy]
name = "oci-mounts-test"

[capabilities]
keep = ["AUDIT_WRITE", "KILL", "NET_BIND_SERVICE", "SYS_ADMIN"]

[seccomp]
default_action = "allow"

[process]
run_as_non_root = false
no_new_privileges = true

[filesystem]
read_only_root = true
masked_paths = ["/proc/kcore", "/proc/keys", "/sys/firmware"]
readonly_paths = ["/proc/sys", "/proc/sysrq-trigger"]

[network]
mode = "none"
"#;

/// The same request, made through the library: what `palisade oci` hands the runtime,
/// filled in by hand (the JSON above, read by the runtime's own types).
#[test]
fn the_runtime_honours_a_bundle_spec() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let data = data_dir();
    let out_dir = tempfile::Builder::new().prefix("oci-mounts-out-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let list = mounts(data.path());
    let mut entries: Vec<MountEntry> = list
        .iter()
        .map(|m| MountEntry {
            destination: m["destination"].as_str().unwrap().into(),
            kind: m["type"].as_str().unwrap().into(),
            source: m["source"].as_str().unwrap().into(),
            options: m["options"].as_array().map(|o| o.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default(),
        })
        .collect();
    // The workload's stdout goes to the test's own: the script writes to a bind instead.
    entries.push(MountEntry {
        destination: "/out".into(),
        kind: "bind".into(),
        source: out_dir.path().to_str().unwrap().into(),
        options: vec!["rbind".into(), "rw".into()],
    });
    let devices = devices()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| DeviceNode {
            path: d["path"].as_str().unwrap().into(),
            kind: d["type"].as_str().unwrap().chars().next().unwrap(),
            major: d["major"].as_u64().unwrap_or(0),
            minor: d["minor"].as_u64().unwrap_or(0),
            mode: d["fileMode"].as_u64().map(|m| m as u32),
            uid: d["uid"].as_u64().map(|u| u as u32),
            gid: d["gid"].as_u64().map(|g| g as u32),
        })
        .collect();
    let spec = palisade::runtime::RunSpec {
        command: vec!["sh".into(), "-c".into(), format!("({SCRIPT}) > /out/result 2>&1")],
        rootfs: Some(rootfs.path().to_path_buf()),
        env: vec![("PATH".into(), "/bin".into())],
        bundle: BundleSpec {
            mounts: Some(entries),
            devices,
            rootfs_propagation: Some(Propagation::Unbindable),
            ..Default::default()
        },
        ..Default::default()
    };
    let policy = palisade::policy::load_str("oci-mounts-test.toml", POLICY).unwrap_or_else(|d| panic!("{}", d.render()));
    let plan = palisade::compile::Plan::new(policy).unwrap();
    let code = palisade::runtime::run(&plan, &spec).unwrap_or_else(|e| panic!("run: {e}"));
    let text = std::fs::read_to_string(out_dir.path().join("result")).unwrap_or_default();
    assert_eq!(code, 0, "{text}");
    check_inside(&text, &list);
    assert_no_leaks();
}
