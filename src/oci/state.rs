//! Per-container state under `--root` (default /run/palisade-oci):
//!
//! ```text
//! ROOT/lock            flock(2): held across every read-modify-write of any container
//! ROOT/ID/state.json   the record below, replaced atomically (temp + fsync + rename)
//! ROOT/ID/exec.fifo    exists while the container is `created`: init waits on it
//! ROOT/ID/started      written by the monitor once the program runs after `start`
//! ROOT/ID/failed       written by the monitor if the container fails after `create`
//! ```
//!
//! The status is derived, never trusted from the file alone (runtime-spec runtime.md,
//! "State"): a recorded pid is alive only if /proc/PID/stat still shows the start time
//! recorded with it, so a recycled pid reads `stopped`.

use crate::runtime::bundle::Hook;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The runtime-spec's container statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    /// Frozen by `pause` (runc's status; the runtime spec leaves others to the runtime).
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A process named by pid and start time (field 22 of /proc/PID/stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessId {
    /// The process `pid` as it is now.
    pub fn of(pid: i32) -> Option<ProcessId> {
        Some(ProcessId { pid, start_time: start_time(pid)? })
    }

    /// Whether this very process is still alive (not exited, not a zombie).
    pub fn alive(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else { return false };
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        fields.first().is_some_and(|s| *s != "Z" && *s != "X") && fields.get(19).and_then(|t| t.parse().ok()) == Some(self.start_time)
    }
}

fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What is persisted about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub bundle: PathBuf,
    /// Recorded status; [`Record::status`] gives the real one.
    pub status: Status,
    /// The container's init (pid 1 of its namespace), once it exists.
    pub init: Option<ProcessId>,
    /// palisade's monitor process, which owns the cgroups and cleans up after init.
    pub monitor: Option<ProcessId>,
    pub created: String,
    pub annotations: BTreeMap<String, String>,
    /// The container's cgroup directories, as the monitor made them (for `pause`/`resume`).
    #[serde(default)]
    pub cgroups: Vec<PathBuf>,
    /// The config's hooks that later verbs run (`start`: poststart, `delete`: poststop),
    /// kept from create: runtime-spec runtime.md reads the config at create only.
    #[serde(default)]
    pub hooks: RecordedHooks,
    /// `create --policy`: layered on the bundle again for `exec`.
    #[serde(default)]
    pub policy: Option<String>,
    /// config.json had no `process`: `start` must fail (runtime-spec runtime.md).
    #[serde(default)]
    pub no_process: bool,
}

/// Hooks run by verbs after `create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecordedHooks {
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
}

impl Record {
    /// The state hooks receive, without `status` and `pid` (runtime/hooks.rs adds them).
    pub fn hook_state(&self) -> serde_json::Value {
        serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "bundle": self.bundle,
            "annotations": self.annotations,
        })
    }
}

/// The runtime-spec version of the state palisade reports (`state`, hooks' stdin).
pub const OCI_VERSION: &str = "1.0.2";

/// State errors, naming the container.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container `{0}` does not exist")]
    NotFound(String),
    #[error("container `{0}` already exists")]
    Exists(String),
    #[error("`{0}` is not a valid container id (letters, digits, `_`, `-`, `.`, not starting with `.`)")]
    BadId(String),
    #[error("{op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: corrupt state", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io { op, path: path.to_path_buf(), source }
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
}

/// The store's lock, held until dropped.
pub struct Lock(#[allow(dead_code)] Flock<File>);

impl Store {
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    /// Takes the store-wide lock (blocking).
    pub fn lock(&self) -> Result<Lock, StateError> {
        std::fs::create_dir_all(&self.root).map_err(io("create", &self.root))?;
        let path = self.root.join("lock");
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io("open", &path))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| StateError::Io { op: "flock", path, source: e.into() })?;
        Ok(Lock(lock))
    }

    /// A container's directory; the id is checked not to escape the store.
    pub fn dir(&self, id: &str) -> Result<PathBuf, StateError> {
        let ok = !id.is_empty()
            && !id.starts_with('.')
            && id.len() <= 1024
            && id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if !ok {
            return Err(StateError::BadId(id.to_string()));
        }
        Ok(self.root.join(id))
    }

    pub fn fifo(&self, id: &str) -> Result<PathBuf, StateError> {
        Ok(self.dir(id)?.join("exec.fifo"))
    }

    /// Written by the monitor once the user's program runs after `start` (so `start` can
    /// run poststart hooks after it, as runtime.md orders).
    pub fn started_marker(&self, id: &str) -> Result<PathBuf, StateError> {
        Ok(self.dir(id)?.join("started"))
    }

    /// Written by the monitor when the container fails after `create` returned (a
    /// startContainer hook, the workload's exec), for `start` to report.
    pub fn failure_note(&self, id: &str) -> Result<PathBuf, StateError> {
        Ok(self.dir(id)?.join("failed"))
    }

    /// Registers a new container (under the lock): its directory must not exist yet.
    pub fn register(&self, _lock: &Lock, record: &Record) -> Result<(), StateError> {
        let dir = self.dir(&record.id)?;
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(StateError::Exists(record.id.clone())),
            Err(e) => return Err(io("create", &dir)(e)),
        }
        self.save(_lock, record)
    }

    /// Keeps the config.json a container was created with (`ID/config.json`).
    pub fn save_config(&self, id: &str, config: &serde_json::Value) -> Result<(), StateError> {
        let path = self.dir(id)?.join("config.json");
        let text = serde_json::to_vec(config).map_err(|source| StateError::Corrupt { path: path.clone(), source })?;
        std::fs::write(&path, text).map_err(io("write", &path))
    }

    /// The config.json a container was created with; `None` for a container created
    /// before palisade kept it.
    pub fn load_config(&self, id: &str) -> Result<Option<serde_json::Value>, StateError> {
        let path = self.dir(id)?.join("config.json");
        match std::fs::read(&path) {
            Ok(text) => serde_json::from_slice(&text).map(Some).map_err(|source| StateError::Corrupt { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Replaces a container's record atomically: a reader sees the old or the new file,
    /// never half of one, even across a crash (rename(2) after fsync).
    pub fn save(&self, _lock: &Lock, record: &Record) -> Result<(), StateError> {
        let dir = self.dir(&record.id)?;
        let tmp = dir.join("state.json.tmp");
        let path = dir.join("state.json");
        let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(&serde_json::to_vec_pretty(record).expect("records serialize")).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("rename", &path))?;
        File::open(&dir).and_then(|d| d.sync_all()).map_err(io("fsync", &dir))
    }

    pub fn load(&self, id: &str) -> Result<Record, StateError> {
        let path = self.dir(id)?.join("state.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StateError::NotFound(id.to_string())),
            Err(e) => return Err(io("read", &path)(e)),
        };
        serde_json::from_slice(&text).map_err(|source| StateError::Corrupt { path, source })
    }

    /// The real status of a container: `stopped` once its init is gone, whatever the file says.
    pub fn status(&self, record: &Record) -> Status {
        match (record.status, record.init) {
            (Status::Creating, None) => {
                // create died before init existed: nothing runs.
                if record.monitor.is_some_and(|m| m.alive()) {
                    Status::Creating
                } else {
                    Status::Stopped
                }
            }
            (_, Some(init)) if !init.alive() => Status::Stopped,
            (Status::Stopped, _) => Status::Stopped,
            // A frozen group: paused, whether it was created or running (runc reads the
            // freezer the same way). No freezer, or an unreadable one, is not paused.
            (_, Some(_)) if is_frozen(&record.cgroups) => Status::Paused,
            (_, Some(_)) if self.fifo(&record.id).is_ok_and(|f| f.exists()) => Status::Created,
            (_, Some(_)) => Status::Running,
            (s, None) => s,
        }
    }

    /// The ids of every container in the store (directories with a state file), sorted.
    pub fn ids(&self) -> Result<Vec<String>, StateError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read", &self.root)(e)),
        };
        let mut ids: Vec<String> =
            entries.flatten().filter(|e| e.path().join("state.json").is_file()).filter_map(|e| e.file_name().into_string().ok()).collect();
        ids.sort();
        Ok(ids)
    }

    /// Removes a container's directory.
    pub fn remove(&self, _lock: &Lock, id: &str) -> Result<(), StateError> {
        let dir = self.dir(id)?;
        std::fs::remove_dir_all(&dir).map_err(io("remove", &dir))
    }
}

fn is_frozen(cgroups: &[PathBuf]) -> bool {
    matches!(crate::runtime::cgroups::freezer::state(cgroups), Ok(crate::runtime::cgroups::freezer::State::Frozen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_roundtrip_and_dead_pids_read_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        let lock = store.lock().unwrap();
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        let mut record = Record {
            id: "c1".into(),
            bundle: "/b".into(),
            status: Status::Running,
            init: Some(me),
            monitor: None,
            created: "now".into(),
            annotations: BTreeMap::new(),
            cgroups: Vec::new(),
            hooks: RecordedHooks::default(),
            policy: None,
            no_process: false,
        };
        store.register(&lock, &record).unwrap();
        assert!(matches!(store.register(&lock, &record), Err(StateError::Exists(_))));
        assert_eq!(store.status(&store.load("c1").unwrap()), Status::Running);
        // Same pid, other start time: a recycled pid is not the container.
        record.init = Some(ProcessId { pid: me.pid, start_time: me.start_time + 1 });
        store.save(&lock, &record).unwrap();
        assert_eq!(store.status(&store.load("c1").unwrap()), Status::Stopped);
        assert!(matches!(store.dir("../x"), Err(StateError::BadId(_))));
        store.remove(&lock, "c1").unwrap();
        assert!(matches!(store.load("c1"), Err(StateError::NotFound(_))));
    }

    #[test]
    fn a_frozen_group_reads_paused_and_a_thawed_one_running() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        let lock = store.lock().unwrap();
        let freezer = dir.path().join("freezer-c2");
        std::fs::create_dir(&freezer).unwrap();
        std::fs::write(freezer.join("freezer.state"), "FROZEN\n").unwrap();
        let record = Record {
            id: "c2".into(),
            bundle: "/b".into(),
            status: Status::Running,
            init: ProcessId::of(std::process::id() as i32),
            monitor: None,
            created: "now".into(),
            annotations: BTreeMap::new(),
            cgroups: vec![dir.path().join("memory-c2"), freezer.clone()],
            hooks: RecordedHooks::default(),
            policy: None,
            no_process: false,
        };
        store.register(&lock, &record).unwrap();
        assert_eq!(store.status(&store.load("c2").unwrap()), Status::Paused);
        std::fs::write(freezer.join("freezer.state"), "FREEZING\n").unwrap();
        assert_eq!(store.status(&record), Status::Running, "not yet frozen is not paused");
        // A record from before cgroups were recorded has none: never paused.
        let old: Record = serde_json::from_str(
            r#"{"id":"c3","bundle":"/b","status":"running","init":null,"monitor":null,"created":"now","annotations":{}}"#,
        )
        .unwrap();
        assert!(old.cgroups.is_empty());
    }
}
