//! The request of tests/oci_mounts.rs made through the library: what `palisade oci` hands
//! the runtime (a `BundleSpec`), filled in directly, so the runtime's side is tested
//! whatever config.json translation is in place. The runtime clones its init only from a
//! single-threaded process, so this test has no libtest harness (Cargo.toml). Needs root.

mod oci_mounts_common;
mod run_common;

use oci_mounts_common::*;
use palisade::runtime::bundle::{BundleSpec, DeviceNode, IdMapping, MountEntry, Namespace, NamespaceKind, Propagation};
use run_common::*;

fn main() {
    the_runtime_honours_a_bundle_spec();
    println!("test the_runtime_honours_a_bundle_spec ... ok");
    a_shared_root_propagates_between_its_binds_and_a_private_one_does_not();
    println!("test a_shared_root_propagates_between_its_binds_and_a_private_one_does_not ... ok");
    in_a_user_namespace_devices_are_the_hosts_own_nodes();
    println!("test in_a_user_namespace_devices_are_the_hosts_own_nodes ... ok");
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
fn the_runtime_honours_a_bundle_spec() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let data = data_dir();
    let out_dir = tempfile::Builder::new().prefix("oci-mounts-out-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let list = mounts(data.path());
    let mut entries: Vec<MountEntry> = list.iter().map(entry).collect();
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
        bundle: BundleSpec { mounts: Some(entries), devices, rootfs_propagation: Some(Propagation::Unbindable), ..Default::default() },
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

/// runtime-tools' check of `rootfsPropagation: shared`: a mount made inside the container
/// shows through another bind of "/" made there; with `private` it does not.
fn a_shared_root_propagates_between_its_binds_and_a_private_one_does_not() {
    let _s = serial();
    require_root();
    for (propagation, propagates) in [(Propagation::Shared, true), (Propagation::Private, false)] {
        let rootfs = Rootfs::new();
        let out_dir = tempfile::Builder::new().prefix("oci-mounts-out-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let mut entries: Vec<MountEntry> = default_mounts(false).iter().map(entry).collect();
        entries.push(MountEntry {
            destination: "/out".into(),
            kind: "bind".into(),
            source: out_dir.path().to_str().unwrap().into(),
            options: vec!["rbind".into()],
        });
        let script = "mount --bind / /home && mount -t tmpfs seen-through /secret && cat /proc/self/mountinfo";
        let spec = palisade::runtime::RunSpec {
            command: vec!["sh".into(), "-c".into(), format!("({script}) > /out/result 2>&1")],
            rootfs: Some(rootfs.path().to_path_buf()),
            env: vec![("PATH".into(), "/bin".into())],
            bundle: BundleSpec { mounts: Some(entries), rootfs_propagation: Some(propagation), ..Default::default() },
            ..Default::default()
        };
        let policy = palisade::policy::load_str("oci-mounts-test.toml", POLICY).unwrap_or_else(|d| panic!("{}", d.render()));
        let plan = palisade::compile::Plan::new(policy).unwrap();
        let code = palisade::runtime::run(&plan, &spec).unwrap_or_else(|e| panic!("run: {e}"));
        let text = std::fs::read_to_string(out_dir.path().join("result")).unwrap_or_default();
        assert_eq!(code, 0, "{text}");
        let info = mountinfo(&text);
        assert!(info.iter().any(|(p, .., source, _)| p == "/secret" && source == "seen-through"), "{text}");
        let seen = info.iter().any(|(p, .., source, _)| p == "/home/secret" && source == "seen-through");
        assert_eq!(seen, propagates, "{propagation:?}: /home/secret\n{text}");
        assert_no_leaks();
    }
}

/// A mount of config.json as the runtime takes it.
fn entry(m: &serde_json::Value) -> MountEntry {
    MountEntry {
        destination: m["destination"].as_str().unwrap().into(),
        kind: m["type"].as_str().unwrap().into(),
        source: m["source"].as_str().unwrap().into(),
        options: m["options"].as_array().map(|o| o.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default(),
    }
}

/// A user namespace may not mknod: a device is then the host's node of the same path, when
/// that is the very device asked for, and otherwise the start fails naming it.
fn in_a_user_namespace_devices_are_the_hosts_own_nodes() {
    let _s = serial();
    require_root();
    let device =
        |path: &str, major, minor| DeviceNode { path: path.into(), kind: 'c', major, minor, mode: Some(0o600), uid: None, gid: None };
    for (devices, expect) in [(vec![device("/dev/full", 1, 7)], Ok("full 1:7")), (vec![device("/dev/full", 1, 3)], Err("is another node"))]
    {
        let rootfs = Rootfs::new();
        let out_dir = tempfile::Builder::new().prefix("oci-mounts-out-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let mut entries: Vec<MountEntry> = default_mounts(false).iter().map(entry).collect();
        entries.push(MountEntry {
            destination: "/out".into(),
            kind: "bind".into(),
            source: out_dir.path().to_str().unwrap().into(),
            options: vec!["rbind".into()],
        });
        let kinds =
            [NamespaceKind::Pid, NamespaceKind::Network, NamespaceKind::Ipc, NamespaceKind::Uts, NamespaceKind::Mount, NamespaceKind::User];
        // The container's root is the host's: files of the rootfs and of /out stay usable,
        // and still a user namespace grants no mknod.
        let map = vec![IdMapping { container_id: 0, host_id: 0, size: 65536 }];
        let spec = palisade::runtime::RunSpec {
            command: vec!["sh".into(), "-c".into(), "stat -c 'full %t:%T' /dev/full > /out/result 2>&1".into()],
            rootfs: Some(rootfs.path().to_path_buf()),
            env: vec![("PATH".into(), "/bin".into())],
            bundle: BundleSpec {
                mounts: Some(entries),
                devices,
                namespaces: Some(kinds.iter().map(|&kind| Namespace { kind, path: None }).collect()),
                uid_mappings: map.clone(),
                gid_mappings: map,
                ..Default::default()
            },
            ..Default::default()
        };
        let policy = palisade::policy::load_str("oci-mounts-test.toml", POLICY).unwrap_or_else(|d| panic!("{}", d.render()));
        let plan = palisade::compile::Plan::new(policy).unwrap();
        let result = palisade::runtime::run(&plan, &spec);
        let text = std::fs::read_to_string(out_dir.path().join("result")).unwrap_or_default();
        match expect {
            Ok(want) => {
                assert_eq!(result.as_ref().ok(), Some(&0), "{result:?}: {text}");
                assert!(text.contains(want), "{text}");
            }
            Err(want) => {
                let e = result.expect_err("a device the host does not have under that path must fail the start").to_string();
                assert!(e.contains("/dev/full") && e.contains("user namespace") && e.contains(want), "{e}");
            }
        }
        assert_no_leaks();
    }
}
