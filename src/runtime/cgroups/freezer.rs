//! Pausing a container: the v1 freezer (freezer.state, Documentation/admin-guide/cgroup-v1/
//! freezer-subsystem.rst) or v2's cgroup.freeze. Both freeze asynchronously: the state reads
//! FREEZING (v1) or `frozen 0` (v2 cgroup.events) until every task has stopped, so `pause`
//! waits for the frozen state rather than returning while tasks still run.

use super::{Error, Fs, HostFs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether a group is frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Thawed,
    /// Freezing has been asked and not finished (v1 `FREEZING`).
    Freezing,
    Frozen,
}

/// The freezer of a container's groups: the v1 group holding freezer.state, or the v2 group.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

fn find(fs: &dyn Fs, dirs: &[PathBuf]) -> Result<Freezer, Error> {
    if let Some(d) = dirs.iter().find(|d| fs.exists(&d.join("freezer.state"))) {
        return Ok(Freezer::V1(d.clone()));
    }
    if let Some(d) = dirs.iter().find(|d| fs.exists(&d.join("cgroup.freeze"))) {
        return Ok(Freezer::V2(d.clone()));
    }
    let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(Error::NoFreezer { dirs: if dirs.is_empty() { "none".into() } else { dirs.join(", ") } })
}

fn read(fs: &dyn Fs, path: &Path) -> Result<String, Error> {
    fs.read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

fn write(fs: &dyn Fs, path: PathBuf, value: &str) -> Result<(), Error> {
    fs.write(&path, value).map_err(|source| Error::Write { path, value: value.to_string(), source })
}

/// The freezer state of the container whose groups are `dirs`.
pub fn state(dirs: &[PathBuf]) -> Result<State, Error> {
    state_in(&HostFs, dirs)
}

/// Freezes the container and waits (up to `timeout`) until every task is frozen. On a
/// timeout the group is thawed again: a half-frozen container is neither paused nor
/// running, and reporting it as either would be wrong.
pub fn freeze(dirs: &[PathBuf], timeout: Duration) -> Result<(), Error> {
    set(&HostFs, dirs, true, timeout)
}

/// Thaws the container and waits until it reads thawed.
pub fn thaw(dirs: &[PathBuf], timeout: Duration) -> Result<(), Error> {
    set(&HostFs, dirs, false, timeout)
}

fn state_in(fs: &dyn Fs, dirs: &[PathBuf]) -> Result<State, Error> {
    match find(fs, dirs)? {
        Freezer::V1(d) => {
            let path = d.join("freezer.state");
            Ok(match read(fs, &path)?.trim() {
                "FROZEN" => State::Frozen,
                "FREEZING" => State::Freezing,
                _ => State::Thawed,
            })
        }
        Freezer::V2(d) => {
            // cgroup.freeze is what was asked; cgroup.events' `frozen` is what is.
            let asked = read(fs, &d.join("cgroup.freeze"))?.trim() == "1";
            let events = read(fs, &d.join("cgroup.events"))?;
            let frozen = events.lines().any(|l| l.trim() == "frozen 1");
            Ok(match (asked, frozen) {
                (_, true) => State::Frozen,
                (true, false) => State::Freezing,
                (false, false) => State::Thawed,
            })
        }
    }
}

fn set(fs: &dyn Fs, dirs: &[PathBuf], frozen: bool, timeout: Duration) -> Result<(), Error> {
    let freezer = find(fs, dirs)?;
    let ask = |fs: &dyn Fs, frozen: bool| match &freezer {
        Freezer::V1(d) => write(fs, d.join("freezer.state"), if frozen { "FROZEN" } else { "THAWED" }),
        Freezer::V2(d) => write(fs, d.join("cgroup.freeze"), if frozen { "1" } else { "0" }),
    };
    let want = if frozen { State::Frozen } else { State::Thawed };
    let start = Instant::now();
    loop {
        // v1: writing FROZEN again retries tasks that could not be frozen on the last pass
        // (the kernel re-walks the group on each write), as runc does.
        ask(fs, frozen)?;
        let now = state_in(fs, dirs)?;
        if now == want {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            if frozen {
                // Undo the half-done freeze; the timeout is the error reported.
                if let Err(e) = ask(fs, false) {
                    eprintln!("palisade: cleanup: thaw after a failed freeze: {e}");
                }
            }
            let path = match &freezer {
                Freezer::V1(d) => d.join("freezer.state"),
                Freezer::V2(d) => d.join("cgroup.events"),
            };
            return Err(Error::Freeze {
                path,
                state: format!("{now:?}").to_uppercase(),
                want: if frozen { "FROZEN" } else { "THAWED" },
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::Mutex;

    /// A freezer that takes `passes` writes of FROZEN before it reads FROZEN (the kernel
    /// reports FREEZING while tasks are still running).
    struct SlowFreezer {
        passes: Mutex<u32>,
        dir: PathBuf,
    }

    impl Fs for SlowFreezer {
        fn create_dir(&self, _: &Path) -> io::Result<()> {
            unreachable!()
        }
        fn write(&self, path: &Path, value: &str) -> io::Result<()> {
            let mut passes = self.passes.lock().unwrap();
            let state = match value {
                "FROZEN" if *passes > 0 => {
                    *passes -= 1;
                    "FREEZING"
                }
                "FROZEN" => "FROZEN",
                "THAWED" => "THAWED",
                _ => return Err(io::Error::from_raw_os_error(nix::libc::EINVAL)),
            };
            std::fs::write(path, state)
        }
        fn read(&self, path: &Path) -> io::Result<String> {
            std::fs::read_to_string(path)
        }
        fn exists(&self, path: &Path) -> bool {
            path.starts_with(&self.dir) && path.exists()
        }
        fn remove_dir(&self, _: &Path) -> io::Result<()> {
            unreachable!()
        }
    }

    fn v1(passes: u32) -> (tempfile::TempDir, SlowFreezer, Vec<PathBuf>) {
        let t = tempfile::tempdir().unwrap();
        let memory = t.path().join("memory/c1");
        let freezer = t.path().join("freezer/c1");
        for d in [&memory, &freezer] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(freezer.join("freezer.state"), "THAWED\n").unwrap();
        let fs = SlowFreezer { passes: Mutex::new(passes), dir: t.path().to_path_buf() };
        (t, fs, vec![memory, freezer])
    }

    #[test]
    fn freeze_waits_until_the_group_reads_frozen_and_thaw_undoes_it() {
        let (_t, fs, dirs) = v1(3);
        assert_eq!(state_in(&fs, &dirs).unwrap(), State::Thawed);
        set(&fs, &dirs, true, Duration::from_secs(5)).unwrap();
        assert_eq!(state_in(&fs, &dirs).unwrap(), State::Frozen);
        set(&fs, &dirs, false, Duration::from_secs(5)).unwrap();
        assert_eq!(state_in(&fs, &dirs).unwrap(), State::Thawed);
    }

    #[test]
    fn a_freeze_that_does_not_finish_is_undone_and_reported() {
        let (_t, fs, dirs) = v1(u32::MAX);
        let err = set(&fs, &dirs, true, Duration::from_millis(50)).unwrap_err();
        assert!(err.to_string().contains("`FREEZING`") && err.to_string().contains("not FROZEN"), "{err}");
        assert_eq!(state_in(&fs, &dirs).unwrap(), State::Thawed, "thawed again");
    }

    #[test]
    fn v2_reads_cgroup_events_and_no_freezer_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("c1");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("cgroup.freeze"), "1\n").unwrap();
        std::fs::write(d.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        let dirs = vec![d.clone()];
        assert_eq!(state_in(&HostFs, &dirs).unwrap(), State::Freezing);
        std::fs::write(d.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        assert_eq!(state_in(&HostFs, &dirs).unwrap(), State::Frozen);
        let err = state_in(&HostFs, &[t.path().join("nothing")]).unwrap_err();
        assert!(matches!(err, Error::NoFreezer { .. }), "{err}");
    }
}
