//! The learning run, from outside: a sandbox like the one the policy will get (same user,
//! capabilities, no_new_privileges, read-only root, private /tmp, network namespace), but
//! with seccomp allowing everything and no Landlock, so that nothing the workload does is
//! refused by the layers being learned. Its command is palisade itself as the tracer
//! (`palisade generate --trace-into FILE -- CMD…`), which writes the trace into a file of a
//! private scratch directory shared with the sandbox as a volume; palisade's executable is
//! bound into that directory too, so the tracer runs as the workload's user from wherever
//! palisade is installed.

use super::trace::Trace;
use super::GenerateError;
use crate::compile::Plan;
use crate::policy::model::{AppArmorProfile, Cap, Item, NetworkMode, Policy, Setting, User};
use crate::runtime::{self, RunSpec, VolumeSpec};
use crate::seccomp::action::Action;
use crate::seccomp::arch::Arch;
use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where scratch directories are made: on the host's disk (not /tmp, which the sandbox
/// replaces with its own), and present on every Debian-like system, so it can also be the
/// mount point inside the read-only host root.
const SCRATCH_PARENT: &str = "/var/tmp";

/// The learning sandbox's policy: `start` (the base, or the standalone settings) with every
/// learned layer opened up.
pub fn learning_policy(start: &Policy, extra_caps: &[Cap], network: NetworkMode, scratch: &Path, exe: &Path) -> Policy {
    let mut p = start.clone();
    p.name = "generate-learning".into();
    // Every syscall of every ABI this machine runs is allowed, and seen.
    p.seccomp.default_action = Some(Setting::default(Action::Allow));
    p.seccomp.allow.clear();
    p.seccomp.deny.clear();
    p.seccomp.rules.clear();
    p.seccomp.architectures = Setting::default(match Arch::host() {
        Some(Arch::Aarch64) => vec![Arch::Aarch64],
        _ => vec![Arch::X86_64, Arch::X86, Arch::X32],
    });
    p.filesystem.landlock.read.clear();
    p.filesystem.landlock.write.clear();
    p.filesystem.landlock.execute.clear();
    for cap in extra_caps {
        p.capabilities.kept.entry(*cap).or_insert_with(|| Item::default(&cap.name(), "needed by a merged policy"));
    }
    p.network.mode = Setting::default(network);
    p.network.egress = None;
    // Not applied by `palisade run` yet; unconfined says so rather than pretending.
    p.apparmor.profile = Setting::default(AppArmorProfile::Unconfined);
    // The only volumes are generate's own: the scratch directory and palisade's executable
    // (which may live where the workload's user cannot reach it, /root/… included). No
    // option may make them unusable (noexec); nosuid and nodev stay.
    p.volumes.allow_sources = Some(vec![
        Item::default(&scratch.to_string_lossy(), "generate's scratch directory"),
        Item::default(&exe.to_string_lossy(), "palisade, the tracer"),
    ]);
    p.volumes.deny_sources.clear();
    p.volumes.force_options = ["nosuid", "nodev"].iter().map(|o| Item::default(o, "generate's own volumes")).collect();
    p
}

/// A private directory for one learning run, removed (with what is in it) on drop.
struct Scratch {
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("palisade: generate: cleanup: {}: {e}", self.dir.display());
        }
    }
}

/// uid and gid the workload will run as (the tracer runs as them too).
fn identity(policy: &Policy) -> Result<(u32, u32), GenerateError> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let lookup = |m: &dyn Fn(&str, u32) -> bool| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let (uid, gid) = (f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?);
            m(f[0], uid).then_some((uid, gid))
        })
    };
    match policy.process.user.as_ref().map(|u| &u.value) {
        None => Ok((0, 0)),
        Some(User::Id { uid, gid: Some(gid) }) => Ok((*uid, *gid)),
        Some(User::Id { uid, gid: None }) => Ok(lookup(&|_, u| u == *uid).unwrap_or((*uid, *uid))),
        Some(User::Name(name)) => {
            lookup(&|n, _| n == name).ok_or_else(|| GenerateError::Setup(format!("user `{name}` is not in /etc/passwd")))
        }
    }
}

/// Runs `command` under the learning policy and returns what the tracer saw.
pub fn run(start: &Policy, extra_caps: &[Cap], network: NetworkMode, command: &[String]) -> Result<Trace, GenerateError> {
    let scratch_err = |what: &str, e: std::io::Error| GenerateError::Setup(format!("scratch directory: {what}: {e}"));
    let dir = Path::new(SCRATCH_PARENT).join(format!("palisade-generate-{}", runtime::new_id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| scratch_err(&dir.display().to_string(), e))?;
    let scratch = Scratch { dir };
    // The tracer is palisade itself, bound read-only onto an empty file of the scratch
    // directory, where the workload's user can execute it.
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| GenerateError::Setup(format!("palisade's own executable: {e}")))?;
    let tracer = scratch.dir.join("palisade");
    File::options().write(true).create_new(true).mode(0o755).open(&tracer).map_err(|e| scratch_err(&tracer.display().to_string(), e))?;
    let policy = learning_policy(start, extra_caps, network, &scratch.dir, &exe);
    let (uid, gid) = identity(&policy)?;
    let path = scratch.dir.join("trace");
    // Created here and held open: the tracer unlinks it once it has it open, and this
    // descriptor is how the trace comes back (see tracer.rs).
    let mut file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| scratch_err(&path.display().to_string(), e))?;
    if nix::unistd::geteuid().is_root() {
        for p in [&scratch.dir, &path] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(|e| scratch_err(&format!("chown {}", p.display()), e))?;
        }
    }
    let mut argv = vec![
        tracer.to_string_lossy().into_owned(),
        "generate".into(),
        "--trace-into".into(),
        path.to_string_lossy().into_owned(),
        "--".into(),
    ];
    argv.extend(command.iter().cloned());
    let spec = RunSpec {
        command: argv,
        volumes: vec![
            VolumeSpec { source: scratch.dir.clone(), destination: scratch.dir.clone(), read_only: false },
            VolumeSpec { source: exe, destination: tracer.clone(), read_only: true },
        ],
        ..RunSpec::default()
    };
    let plan = Plan::new(policy).map_err(GenerateError::Compile)?;
    let code = runtime::run(&plan, &spec).map_err(GenerateError::Run)?;
    let mut text = String::new();
    file.rewind().and_then(|()| file.read_to_string(&mut text)).map_err(|e| scratch_err("read the trace", e))?;
    if text.is_empty() {
        return Err(GenerateError::NoTrace { code });
    }
    let trace: Trace = serde_json::from_str(&text).map_err(|e| GenerateError::Trace(e.to_string()))?;
    trace.validate().map_err(|e| GenerateError::Trace(e.0))?;
    Ok(trace)
}
