//! Resource limits through cgroups: memory (the OOM killer ends the workload, not the host's
//! processes), pids (fork bombs stop) and cpu (a share of CPU time), plus everything an OCI
//! config's `linux.resources` asks for ([`resources`]). One group per container, created
//! before the workload starts, removed after it ends — also when the start fails.
//!
//! cgroup v1 (one hierarchy per controller) and v2 (one unified hierarchy) are both handled;
//! on a hybrid host (v1 controllers plus an empty unified hierarchy, as on the machines this
//! project is tested on) the v1 hierarchies are the ones that can limit. A setting that needs
//! a controller the host does not have, or that the kernel would accept and ignore, is an
//! error naming it: a limit is never reported as set when it is not.

pub mod freezer;
pub mod resources;
pub mod v1;
pub mod v2;

use crate::policy::model::Resources as PolicyResources;
use resources::{DeviceRule, ResourceError, Resources};
use std::io;
use std::path::{Path, PathBuf};

/// The limits one container gets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub pids: Option<u64>,
    /// CPU time in cores (0.5: half of one CPU).
    pub cpu: Option<f64>,
}

impl Limits {
    pub fn from_policy(resources: &PolicyResources) -> Limits {
        Limits {
            memory_bytes: resources.memory_bytes.as_ref().map(|s| s.value),
            pids: resources.pids.as_ref().map(|s| s.value),
            cpu: resources.cpu.as_ref().map(|s| s.value),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.memory_bytes.is_none() && self.pids.is_none() && self.cpu.is_none()
    }
}

/// Everything a container's cgroup gets: the policy's limits merged into the OCI config's
/// resources, checked before anything starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub resources: Resources,
    /// The policy limits memory and the config says nothing of swap: no swap on top of the
    /// limit where swap accounting exists (without it the workload would page out instead of
    /// being OOM-killed).
    pub no_swap: bool,
    /// `Some`: a device cgroup with `deny a` and then these rules, in order (an OCI container:
    /// see [`resources::effective_device_rules`]). `None`: the device cgroup is not used.
    pub devices: Option<Vec<DeviceRule>>,
    /// A group in every hierarchy palisade manages even with nothing to limit (an OCI
    /// container: `pause` freezes it).
    pub always: bool,
}

/// The controllers a cgroup v1 hierarchy can carry (Documentation/admin-guide/cgroup-v1).
pub const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "misc",
];

/// The v1 hierarchies an `always` group joins.
pub const MANAGED: [&str; 8] = ["cpuset", "cpu", "cpuacct", "memory", "pids", "blkio", "devices", "freezer"];

impl Settings {
    /// A `palisade run` container: the policy's limits only.
    pub fn from_limits(limits: &Limits) -> Settings {
        Settings::new(limits, None, false).expect("no config to refuse")
    }

    /// The policy's `limits` and an OCI config's raw `linux.resources` (`always`: an OCI
    /// container, which gets its groups and a device cgroup even without resources).
    pub fn new(limits: &Limits, resources: Option<&serde_json::Value>, always: bool) -> Result<Settings, ResourceError> {
        let mut r = match resources {
            Some(v) => Resources::parse(v)?,
            None => Resources::default(),
        };
        let no_swap = limits.memory_bytes.is_some() && r.memory.swap.is_none();
        r.tighten(limits);
        let devices = (resources.is_some() || always).then(|| resources::effective_device_rules(&r.devices));
        Ok(Settings { resources: r, no_swap, devices, always })
    }

    /// Opens the device cgroup to the nodes an OCI config's `linux.devices` creates (read,
    /// write, mknod), as runc does: a node the config makes is one it means the container
    /// to use. A config rule that denies that exact device still wins.
    pub fn allow_device_nodes(&mut self, nodes: &[crate::runtime::bundle::DeviceNode]) {
        let Some(rules) = &mut self.devices else { return };
        for node in nodes.iter().filter(|n| n.kind != 'p') {
            let (major, minor) = (Some(node.major as i64), Some(node.minor as i64));
            let denied = rules.iter().any(|r| !r.allow && !r.is_deny_all() && (r.kind, r.major, r.minor) == (node.kind, major, minor));
            if !denied {
                rules.push(resources::DeviceRule { allow: true, kind: node.kind, major, minor, access: "rwm".into() });
            }
        }
    }

    /// Nothing to create.
    pub fn is_empty(&self) -> bool {
        !self.always && self.v1_controllers().is_empty() && self.resources.unified.is_empty()
    }

    /// The v1 controllers the settings write to, by kernel name.
    pub fn v1_controllers(&self) -> Vec<&'static str> {
        let r = &self.resources;
        let mut c = Vec::new();
        if r.memory != resources::Memory::default() || self.no_swap {
            c.push("memory");
        }
        if r.pids.is_some_and(|p| p != 0) {
            c.push("pids");
        }
        let cpu = &r.cpu;
        let cpu_time = [cpu.quota, cpu.realtime_runtime, cpu.idle].iter().any(Option::is_some)
            || [cpu.shares, cpu.period, cpu.burst, cpu.realtime_period].iter().any(Option::is_some);
        if cpu_time {
            c.push("cpu");
        }
        if cpu.cpus.is_some() || cpu.mems.is_some() {
            c.push("cpuset");
        }
        if !r.blkio.is_empty() {
            c.push("blkio");
        }
        if self.devices.is_some() {
            c.push("devices");
        }
        if !r.hugepage_limits.is_empty() {
            c.push("hugetlb");
        }
        if r.network.class_id.is_some() {
            c.push("net_cls");
        }
        if !r.network.priorities.is_empty() {
            c.push("net_prio");
        }
        if !r.rdma.is_empty() {
            c.push("rdma");
        }
        c
    }
}

/// The CFS period palisade uses (100 ms, the kernel's default) and the quota for `cores`.
pub fn cpu_quota(cores: f64) -> (u64, u64) {
    let period = 100_000u64;
    // The kernel refuses quotas under 1 ms.
    let quota = ((cores * period as f64).round() as u64).max(1_000);
    (quota, period)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("create cgroup {}: {source}{}", path.display(), hint(source))]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write `{value}` to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("move process {pid} into {}: {source}", path.display())]
    Join {
        pid: i32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("remove cgroup {}: {source}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the container's limits need the {controller} controller, but no cgroup hierarchy on this host has it ({detail})")]
    NoController { controller: &'static str, detail: String },
    #[error(transparent)]
    Resources(#[from] ResourceError),
    #[error("{setting}: {why}")]
    Unsupported { setting: &'static str, why: String },
    #[error("{}: freezer state is `{state}` after {waited_ms} ms, not {want}", path.display())]
    Freeze { path: PathBuf, state: String, want: &'static str, waited_ms: u64 },
    #[error("the container has no freezer cgroup (recorded groups: {dirs}); it cannot be paused")]
    NoFreezer { dirs: String },
    #[error("cgroup path `{name}`: expected a path of plain names such as /default/ID (no `.`, `..`, empty components or systemd `slice:prefix:name` form)")]
    Name { name: String },
    #[error("read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            " (resource limits need a cgroup palisade may create: run as root, or use a policy without [resources])"
        }
        io::ErrorKind::ReadOnlyFilesystem => " (the cgroup filesystem is read-only here)",
        _ => "",
    }
}

/// The file operations on a cgroup filesystem, so the backends can be tested against a
/// fake tree that behaves like the kernel's (control files appear with the directory).
pub trait Fs: Sync {
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// Writes to an existing file; cgroup control files cannot be created.
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    fn read(&self, path: &Path) -> io::Result<String>;
    fn exists(&self, path: &Path) -> bool;
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
}

/// The host's cgroup filesystems.
pub struct HostFs;

impl Fs for HostFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
}

/// A container's cgroup: one directory per v1 hierarchy, or one v2 directory.
pub struct Cgroup {
    fs: &'static dyn Fs,
    dirs: Vec<PathBuf>,
    removed: bool,
}

impl std::fmt::Debug for Cgroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cgroup").field("dirs", &self.dirs).field("removed", &self.removed).finish()
    }
}

impl Cgroup {
    /// Creates the group `name` (`palisade-<id>`, or an OCI `cgroupsPath` such as
    /// `/default/<id>`, taken relative to each hierarchy's root) with `limits` in the host's
    /// hierarchies; `None` when there is nothing to limit (no cgroup is needed then, which
    /// keeps rootless runs possible). Missing parents of a nested name are created and left
    /// in place (as runc does: other containers share them); the group itself is removed.
    pub fn create(name: &str, settings: &Settings) -> Result<Option<Cgroup>, Error> {
        if settings.is_empty() {
            return Ok(None);
        }
        let name = relative_name(name)?;
        let mounts = Mounts::read()?;
        if let Some(v2) = mounts.v2_root.as_deref().filter(|r| r.join("cgroup.controllers").exists() && mounts.is_pure_v2(r)) {
            return v2::create(&HostFs, v2, &name, settings).map(Some);
        }
        let in_v1 = |c: &&str| mounts.v1.iter().any(|(ctl, _)| ctl == c);
        let needed = settings.v1_controllers();
        if settings.always || (needed.iter().all(in_v1) && settings.resources.unified.is_empty()) {
            // An OCI container on a host with v1 hierarchies lives in them; v1::create names
            // any needed controller that is missing.
            if !mounts.v1.is_empty() {
                return v1::create(&HostFs, &mounts.v1, &name, settings).map(Some);
            }
        }
        if let Some(v2) = mounts.v2_root.as_deref() {
            return v2::create(&HostFs, v2, &name, settings).map(Some);
        }
        let missing = needed.into_iter().find(|c| !in_v1(c)).unwrap_or("memory");
        Err(Error::NoController { controller: missing, detail: "no cgroup v1 mount has it and no cgroup2 filesystem is mounted".into() })
    }

    fn empty(fs: &'static dyn Fs) -> Cgroup {
        Cgroup { fs, dirs: Vec::new(), removed: false }
    }

    /// Makes `dir` (which must not exist) and remembers it for removal.
    fn make(&mut self, dir: PathBuf) -> Result<&Path, Error> {
        let missing: Vec<&Path> = dir.ancestors().skip(1).take_while(|a| !self.fs.exists(a)).collect();
        for parent in missing.into_iter().rev() {
            match self.fs.create_dir(parent) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(Error::Create { path: parent.to_path_buf(), source: e });
                }
                _ => {}
            }
        }
        self.fs.create_dir(&dir).map_err(|source| Error::Create { path: dir.clone(), source })?;
        self.dirs.push(dir);
        Ok(self.dirs.last().expect("just pushed"))
    }

    /// The group's directories.
    pub fn paths(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Moves `pid` (and the threads of its process) into the group.
    pub fn join(&self, pid: i32) -> Result<(), Error> {
        for dir in &self.dirs {
            let path = dir.join("cgroup.procs");
            self.fs.write(&path, &pid.to_string()).map_err(|source| Error::Join { pid, path, source })?;
        }
        Ok(())
    }

    /// Removes the group. Processes that were just killed may still be exiting, so a busy
    /// group is retried for up to two seconds.
    pub fn remove(mut self) -> Result<(), Error> {
        self.removed = true;
        remove_dirs(self.fs, &self.dirs)
    }

    fn read(&self, path: &Path) -> Result<String, Error> {
        self.fs.read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
    }

    fn exists(&self, path: &Path) -> bool {
        self.fs.exists(path)
    }

    /// Writes a limit, with the file and value in the error.
    fn write_limit(&self, path: PathBuf, value: String) -> Result<(), Error> {
        self.fs.write(&path, &value).map_err(|source| Error::Write { path, value, source })
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.removed {
            // Reached on an error path, where the first error is the one being reported;
            // a cleanup failure on top of it is still said once, not swallowed.
            if let Err(e) = remove_dirs(self.fs, &self.dirs) {
                eprintln!("palisade: cleanup: {e}");
            }
        }
    }
}

/// One line of rdma.max (Documentation/admin-guide/cgroup-v1/rdma.rst): `DEVICE
/// hca_handle=N hca_object=M`, with only the limits given.
fn rdma_line(device: &str, l: &resources::Rdma) -> String {
    let mut line = device.to_string();
    if let Some(h) = l.hca_handles {
        line += &format!(" hca_handle={h}");
    }
    if let Some(o) = l.hca_objects {
        line += &format!(" hca_object={o}");
    }
    line
}

/// A group name as a path relative to a hierarchy's root: the leading `/` of an OCI
/// `cgroupsPath` is dropped; empty names, `.`, `..` and systemd's `slice:prefix:name` form
/// are refused.
pub fn relative_name(name: &str) -> Result<String, Error> {
    let rel = name.trim_start_matches('/').trim_end_matches('/');
    let bad = rel.is_empty() || rel.contains(':') || rel.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(Error::Name { name: name.to_string() });
    }
    Ok(rel.to_string())
}

/// Removes a container's recorded groups that are still there: `delete` calls it after the
/// container's processes are gone, for the case where the monitor that owns the groups was
/// killed before it could remove them (as runc's delete destroys the cgroups itself).
pub fn remove_leftover(dirs: &[PathBuf]) -> Result<(), Error> {
    remove_dirs(&HostFs, dirs)
}

fn remove_dirs(fs: &dyn Fs, dirs: &[PathBuf]) -> Result<(), Error> {
    let mut first = None;
    for dir in dirs.iter().rev() {
        let mut attempt = 0;
        loop {
            match fs.remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) && attempt < 200 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(source) => {
                    first.get_or_insert(Error::Remove { path: dir.clone(), source });
                    break;
                }
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Where the cgroup hierarchies are mounted, from /proc/self/mountinfo.
#[derive(Debug, Default)]
pub struct Mounts {
    /// v1 controller name → mount point (a co-mounted `cpu,cpuacct` appears under both).
    pub v1: Vec<(String, PathBuf)>,
    pub v2_root: Option<PathBuf>,
}

impl Mounts {
    pub fn read() -> Result<Mounts, Error> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.into(), source })?;
        Ok(Mounts::parse(&text))
    }

    /// The cgroup mounts of a mountinfo text.
    pub fn parse(mountinfo: &str) -> Mounts {
        let mut m = Mounts::default();
        for mount in crate::runtime::mountinfo::parse(mountinfo) {
            match mount.fs_type {
                "cgroup2" => {
                    m.v2_root.get_or_insert_with(|| PathBuf::from(mount.mount_point));
                }
                "cgroup" => {
                    for opt in mount.super_option_list().filter(|o| V1_CONTROLLERS.contains(o)) {
                        if !m.v1.iter().any(|(c, _)| c == opt) {
                            m.v1.push((opt.to_string(), PathBuf::from(mount.mount_point)));
                        }
                    }
                }
                _ => {}
            }
        }
        m
    }

    /// A cgroup2 mount with no v1 controller mounted beside it.
    fn is_pure_v2(&self, _root: &Path) -> bool {
        self.v1.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_mountinfo_parses() {
        let m = Mounts::parse(HYBRID);
        assert_eq!(m.v2_root.as_deref(), Some(Path::new("/sys/fs/cgroup/unified")));
        assert!(m.v1.contains(&("memory".to_string(), PathBuf::from("/sys/fs/cgroup/memory"))));
        assert!(m.v1.contains(&("pids".to_string(), PathBuf::from("/sys/fs/cgroup/pids"))));
        assert!(!m.is_pure_v2(Path::new("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn oci_cgroups_paths_are_relative_to_each_root() {
        assert_eq!(relative_name("/default/c1").unwrap(), "default/c1");
        assert_eq!(relative_name("k8s/pod/c").unwrap(), "k8s/pod/c");
        assert_eq!(relative_name("palisade-x").unwrap(), "palisade-x");
        for bad in ["", "/", "/a/../b", "a//b", "./a", "system.slice:palisade:c1"] {
            assert!(relative_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn limits_and_quota() {
        let l = Limits { memory_bytes: Some(1 << 20), pids: None, cpu: Some(0.5) };
        assert_eq!(Settings::from_limits(&l).v1_controllers(), ["memory", "cpu"]);
        assert_eq!(cpu_quota(0.5), (50_000, 100_000));
        assert_eq!(cpu_quota(0.001), (1_000, 100_000));
        assert!(Limits::default().is_empty());
    }

    #[test]
    fn settings_say_which_groups_a_container_needs() {
        // palisade run without limits: no cgroup at all (rootless runs stay possible).
        assert!(Settings::from_limits(&Limits::default()).is_empty());
        // An OCI container: always groups, and a device cgroup even without resources.
        let oci = Settings::new(&Limits::default(), None, true).unwrap();
        assert!(!oci.is_empty());
        assert_eq!(oci.v1_controllers(), ["devices"]);
        assert_eq!(oci.devices.as_ref().map(Vec::len), Some(11));
        let r = serde_json::json!({"cpu": {"cpus": "0"}, "pids": {"limit": 0}, "network": {"priorities": []}, "hugepageLimits": []});
        let s = Settings::new(&Limits::default(), Some(&r), false).unwrap();
        assert_eq!(s.v1_controllers(), ["cpuset", "devices"], "pids 0 and empty lists ask for nothing");
        // The config is checked when the settings are made, before anything starts.
        assert!(Settings::new(&Limits::default(), Some(&serde_json::json!({"cpu": {"shares": 1}})), true).is_err());
        // A policy memory limit with no swap in the config: no swap on top of it.
        assert!(Settings::from_limits(&Limits { memory_bytes: Some(1), ..Limits::default() }).no_swap);
    }
}
