//! cgroup v2: one directory in the unified hierarchy (Documentation/admin-guide/cgroup-v2.rst).

use super::{cpu_quota, Cgroup, Error, Fs, Limits};
use std::path::Path;

/// Creates `root/name`, enabling the needed controllers for root's children first
/// (`cgroup.subtree_control`), and writes the limits.
pub fn create(fs: &'static dyn Fs, root: &Path, name: &str, limits: &Limits) -> Result<Cgroup, Error> {
    let available_path = root.join("cgroup.controllers");
    let available = fs.read(&available_path).map_err(|source| Error::Read { path: available_path.clone(), source })?;
    let needed = limits.controllers();
    for ctl in &needed {
        if !available.split_whitespace().any(|a| a == *ctl) {
            return Err(Error::NoController {
                controller: ctl,
                detail: format!("{} lists `{}`", available_path.display(), available.trim()),
            });
        }
    }
    let mut cg = Cgroup::empty(fs);
    let enable: Vec<String> = needed.iter().map(|c| format!("+{c}")).collect();
    cg.write_limit(root.join("cgroup.subtree_control"), enable.join(" "))?;
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
        cg.write_limit(parent.join("cgroup.subtree_control"), enable.join(" "))?;
    }
    let dir = cg.make(root.join(name))?.to_path_buf();
    if let Some(bytes) = limits.memory_bytes {
        cg.write_limit(dir.join("memory.max"), bytes.to_string())?;
        // No swap: the limit must end in the OOM killer, not in paging (the file exists only
        // with swap accounting).
        let swap = dir.join("memory.swap.max");
        if fs.exists(&swap) {
            cg.write_limit(swap, "0".into())?;
        }
    }
    if let Some(pids) = limits.pids {
        cg.write_limit(dir.join("pids.max"), pids.to_string())?;
    }
    if let Some(cores) = limits.cpu {
        let (quota, period) = cpu_quota(cores);
        cg.write_limit(dir.join("cpu.max"), format!("{quota} {period}"))?;
    }
    Ok(cg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io;

    /// A unified hierarchy in a temporary directory that behaves like cgroupfs where it
    /// matters: a new group comes with the control files of the controllers its parent
    /// enabled, writes never create files, and rmdir succeeds with control files inside.
    struct FakeKernel;

    const FILES: &[(&str, &[&str])] = &[
        ("", &["cgroup.procs", "cgroup.controllers", "cgroup.subtree_control"]),
        ("memory", &["memory.max", "memory.swap.max"]),
        ("pids", &["pids.max"]),
        ("cpu", &["cpu.max"]),
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
        let cg = create(&FakeKernel, root.path(), "palisade-t1", &limits).unwrap();
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
        let cg = create(&FakeKernel, root.path(), "default/c1", &Limits { pids: Some(10), ..Limits::default() }).unwrap();
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
        let cg = create(&FakeKernel, root.path(), "palisade-t2", &Limits { pids: Some(10), ..Limits::default() }).unwrap();
        assert_eq!(read(&root.path().join("cgroup.subtree_control")), "+pids");
        assert!(!root.path().join("palisade-t2/memory.max").exists());
        cg.remove().unwrap();
    }

    #[test]
    fn a_missing_controller_is_an_error_and_nothing_is_left() {
        let root = fake_root("cpu pids");
        let err =
            create(&FakeKernel, root.path(), "palisade-t3", &Limits { memory_bytes: Some(1 << 20), ..Limits::default() }).unwrap_err();
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
        let err = create(&NoCpuFiles, root.path(), "palisade-t4", &Limits { cpu: Some(1.0), ..Limits::default() }).unwrap_err();
        assert!(matches!(err, Error::Write { .. }), "{err}");
        assert!(!root.path().join("palisade-t4").exists(), "the half-made group is removed");
    }
}
