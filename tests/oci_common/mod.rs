//! An OCI bundle for the `palisade oci` tests: config.json from `palisade oci spec`, edited,
//! beside the busybox rootfs; a state directory (`--root`); and a scratch directory the
//! config may point at (hooks write there). Dropped, it force-deletes every container left
//! in its state directory, so a failed assertion never leaves one running into the next
//! test's leak check.
#![allow(dead_code)]

use super::run_common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

pub struct Bundle {
    pub rootfs: Rootfs,
    pub dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
    pub scratch: tempfile::TempDir,
}

impl Bundle {
    /// A bundle running `args`, its config edited by `edit`.
    pub fn new(args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        Bundle::with_scratch(args, |config, _| edit(config))
    }

    /// [`Bundle::new`], with the scratch directory's path given to `edit`.
    pub fn with_scratch(args: &[&str], edit: impl FnOnce(&mut Value, &Path)) -> Bundle {
        let rootfs = Rootfs::new();
        let tmp = |prefix: &str| tempfile::Builder::new().prefix(prefix).tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let (dir, state, scratch) = (tmp("oci-bundle-"), tmp("oci-state-"), tmp("oci-scratch-"));
        let out = palisade(["oci", "spec", "--bundle", dir.path().to_str().unwrap()]);
        assert!(out.status.success(), "{}", describe(&out));
        let path = dir.path().join("config.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        config["root"]["path"] = rootfs.path().to_str().unwrap().into();
        config["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        edit(&mut config, scratch.path());
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        Bundle { rootfs, dir, state, scratch }
    }

    /// The bundle directory.
    pub fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// The bundle directory as `state` reports it (canonical).
    pub fn canonical_path(&self) -> String {
        std::fs::canonicalize(self.dir.path()).unwrap().to_str().unwrap().to_string()
    }

    /// The state directory (`--root`).
    pub fn root(&self) -> &str {
        self.state.path().to_str().unwrap()
    }

    /// `palisade oci --root STATE ARGS…`, to completion.
    pub fn oci(&self, args: &[&str]) -> Output {
        let mut all = vec!["oci", "--root", self.root()];
        all.extend_from_slice(args);
        palisade(all)
    }

    /// `create --pid-file DIR/ID.pid`, with the container's stdio in DIR/ID.out and .err.
    pub fn create(&self, id: &str) -> Output {
        let pid_file = self.dir.path().join(format!("{id}.pid"));
        self.detached(&["create", "--bundle", self.path(), "--pid-file", pid_file.to_str().unwrap(), id], id)
    }

    /// Where a container created by [`Bundle::create`] writes its standard output.
    pub fn out_file(&self, id: &str) -> PathBuf {
        self.dir.path().join(format!("{id}.out"))
    }

    /// A verb whose processes outlive it (create, exec --detach): its stdio goes to files
    /// named after `tag`, as pipes would not reach end-of-file until the container ends.
    pub fn detached(&self, args: &[&str], tag: &str) -> Output {
        let err = self.dir.path().join(format!("{tag}.err"));
        let mut cmd = palisade_command();
        cmd.args(["oci", "--root", self.root()]).args(args);
        cmd.stdin(Stdio::null()).stdout(std::fs::File::create(self.out_file(tag)).unwrap()).stderr(std::fs::File::create(&err).unwrap());
        let mut child = cmd.spawn().unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > TIMEOUT {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("{args:?} did not return within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Output { status, stdout: Vec::new(), stderr: std::fs::read(&err).unwrap() }
    }

    /// `state ID` as JSON.
    pub fn state(&self, id: &str) -> Value {
        let out = self.oci(&["state", id]);
        assert!(out.status.success(), "state {id}: {}", describe(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Polls `state` until the container's status is `want` (10 s at most).
    pub fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.state(id)["status"].as_str().unwrap().to_string();
            if status == want {
                return;
            }
            assert!(Instant::now() < deadline, "container {id} stayed {status}, expected {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Force-deletes every container in the state directory.
    pub fn delete_all(&self) {
        for entry in std::fs::read_dir(self.state.path()).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                let out = self.oci(&["delete", "--force", entry.file_name().to_str().unwrap()]);
                if !out.status.success() {
                    eprintln!("cleanup: delete --force {:?}: {}", entry.file_name(), describe(&out));
                }
            }
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        self.delete_all();
    }
}

/// Reads a pty master in a thread (the read blocks) until `needle` has appeared or the
/// terminal closes.
pub struct TerminalReader(std::thread::JoinHandle<String>);

impl TerminalReader {
    pub fn start(master: std::os::fd::OwnedFd, needle: &'static str) -> TerminalReader {
        TerminalReader(std::thread::spawn(move || {
            use std::io::Read;
            let mut f = std::fs::File::from(master);
            let (mut seen, mut buf) = (Vec::new(), [0u8; 256]);
            while !String::from_utf8_lossy(&seen).contains(needle) {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        }))
    }

    /// Whether the reader finished within 10 s (if not, it ends once the container does).
    pub fn finished_in_time(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.0.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.0.is_finished()
    }

    /// What the terminal said.
    pub fn text(self) -> String {
        self.0.join().unwrap()
    }
}
