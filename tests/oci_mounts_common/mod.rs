//! Shared by tests/oci_mounts.rs (through `palisade oci run`) and
//! tests/oci_mounts_runtime.rs (through the library): one container request with an OCI
//! config's mounts, devices and root propagation, and what must hold inside it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::Path;

/// What the container runs: everything it finds, on stdout.
pub const SCRIPT: &str = "cat /proc/self/mountinfo; echo ---; \
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
pub fn default_mounts(cgroup: bool) -> Vec<Value> {
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

pub fn host_is_cgroup2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup").unwrap().filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC
}

/// The whole `mounts` list of the test: runc's defaults, a read-only tmpfs with a mode,
/// and a read-only bind of `data` from the host.
pub fn mounts(data: &Path) -> Vec<Value> {
    let mut mounts = default_mounts(host_is_cgroup2());
    mounts.push(
        json!({"destination": "/scratch", "type": "tmpfs", "source": "scratch", "options": ["ro", "nosuid", "mode=1700", "size=1m"]}),
    );
    mounts.push(json!({"destination": "/data", "type": "bind", "source": data.to_str().unwrap(), "options": ["rbind", "ro"]}));
    mounts
}

/// `linux.devices`: /dev/null's number under another name with an owner and mode, /dev/zero's
/// with the defaults, and a fifo.
pub fn devices() -> Value {
    json!([
        {"path": "/dev/test-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 1, "gid": 2},
        {"path": "/dev/test-zero", "type": "c", "major": 1, "minor": 5},
        {"path": "/dev/test-fifo", "type": "p", "fileMode": 0o640, "uid": 3, "gid": 4}
    ])
}

/// A host directory to bind, holding /data/hello.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("oci-mounts-data-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(dir.path().join("hello"), "hello from the host\n").unwrap();
    dir
}

/// One line of mountinfo: (mount point, optional fields, type, source, per-mount options).
pub fn mountinfo(text: &str) -> Vec<(String, String, String, String, String)> {
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
pub fn check_inside(text: &str, config_mounts: &[Value]) {
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
