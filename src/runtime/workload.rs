//! The workload process, forked by init inside the finished container: terminal, rlimits,
//! user and groups, environment, working directory, then the hardening sequence and execve.

use super::channel::{Channel, Message};
use super::config::{Container, UserPlan};
use super::harden::{self, KernelSteps};
use super::{AtLayer, Layer, RunError};
use crate::sys;
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

/// Runs in the forked workload process; never returns. On failure the layer and reason go
/// to init over `report`, and the process exits with 125, 126 or 127.
/// `host_pid` (init's pid as the runtime sees it) is for the state the OCI startContainer
/// hooks receive.
pub fn start(c: &Container, host_pid: i32, report: Channel, tty: Option<OwnedFd>) -> ! {
    let err = match prepare_and_exec(c, host_pid, &report, tty) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let (layer, message) = err.report();
    if let Err(e) = report.send(&Message::Failed { layer, message }) {
        // The channel is gone (init died): stderr is the last place left to say it.
        eprintln!("palisade: {err} (and could not report it: {e})");
    }
    sys::process::exit_now(err.exit_code())
}

/// Name, uid, gid and home of a user, from the container's /etc/passwd.
struct Passwd {
    uid: u32,
    gid: u32,
    home: String,
}

fn passwd_lookup(by: impl Fn(&str, u32) -> bool) -> Option<Passwd> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let (name, uid, gid, home) = (f.first()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?, f.get(5)?);
        by(name, uid).then(|| Passwd { uid, gid, home: home.to_string() })
    })
}

fn prepare_and_exec(c: &Container, host_pid: i32, report: &Channel, tty: Option<OwnedFd>) -> Result<Infallible, RunError> {
    let p = &c.process;
    // Signal dispositions and the mask survive execve: start the workload clean.
    sys::signal::reset_dispositions().at(Layer::Init)?;
    sys::signal::unblock_all().at(Layer::Init)?;

    // A session (and process group) of the workload's own, apart from init's: a group-wide
    // kill(0, …) in the workload stays in the workload. With a pty, its slave becomes the
    // session's controlling terminal.
    sys::process::new_session().at(Layer::Init)?;
    if let Some(slave) = tty {
        sys::tty::set_controlling_terminal(slave.as_fd()).at(Layer::Terminal)?;
        for n in 0..=2 {
            sys::process::dup_onto(slave.as_fd(), n).at(Layer::Terminal)?;
        }
    }

    // rlimits, lowered only (checked by the parent already; the kernel checks again).
    for (name, soft, hard) in &p.rlimits {
        sys::rlimit::lower(name, *soft, *hard).at(Layer::Rlimits)?;
    }

    // The user, looked up inside the container when given by name.
    let user_err = |message: String| RunError::Start { layer: Layer::User, message };
    let (uid, gid, home) = match &p.user {
        UserPlan::Id { uid, gid } => {
            let pw = passwd_lookup(|_, u| u == *uid);
            (*uid, gid.or(pw.as_ref().map(|pw| pw.gid)).unwrap_or(*uid), pw.map(|pw| pw.home))
        }
        UserPlan::Name(name) => {
            let pw = passwd_lookup(|n, _| n == name).ok_or_else(|| user_err(format!("no user `{name}` in the container's /etc/passwd")))?;
            (pw.uid, pw.gid, Some(pw.home))
        }
    };
    if p.run_as_non_root && uid == 0 {
        return Err(user_err(format!("run_as_non_root is set, but user {:?} is uid 0", p.user)));
    }
    // Groups, then gid, then uid: each later change takes away the right to make the earlier
    // ones. A rootless run cannot call setgroups (it was denied to write the gid map).
    if !c.namespaces.rootless() {
        sys::ids::set_groups(&p.groups).at(Layer::User)?;
    } else if !p.groups.is_empty() {
        return Err(user_err("supplementary groups cannot be set in a rootless run (setgroups is denied in its user namespace)".into()));
    }
    // Keep the permitted capabilities across the uid change, so the capability step (not
    // the uid change) decides which ones the workload keeps.
    sys::process::set_keep_capabilities(true).at(Layer::User)?;
    sys::ids::set_gid(gid).at(Layer::User)?;
    sys::ids::set_uid(uid).at(Layer::User)?;
    sys::caps::raise_effective_to_permitted().at(Layer::User)?;

    // Environment: HOME from the passwd entry unless set.
    let mut env = p.env.clone();
    if !env.iter().any(|(k, _)| k == "HOME") {
        env.insert(0, ("HOME".into(), home.unwrap_or_else(|| "/".into())));
    }
    let mut merged: Vec<(String, String)> = Vec::new();
    for (k, v) in env {
        merged.retain(|(mk, _)| *mk != k);
        merged.push((k, v));
    }
    let cstr = |s: String| {
        CString::new(s).map_err(|e| RunError::Start { layer: Layer::Environment, message: format!("contains a NUL byte: {e}") })
    };
    let path = merged.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone()).unwrap_or_default();
    let envp = merged.into_iter().map(|(k, v)| cstr(format!("{k}={v}"))).collect::<Result<Vec<_>, _>>()?;
    let argv = p.args.iter().map(|a| cstr(a.clone())).collect::<Result<Vec<_>, _>>()?;

    if let Some(mask) = p.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask as nix::libc::mode_t));
    }
    // The working directory, as the workload's user.
    // Resolved inside the container's root without magic links (openat2 RESOLVE_IN_ROOT |
    // RESOLVE_NO_MAGICLINKS): an image's cwd that is a symlink to /proc/1/root or a
    // /proc/self/fd entry must not land the workload outside its root (CVE-2024-21626's
    // class). fchdir checks search permission as chdir does.
    let root = sys::mount::open_dir(std::path::Path::new("/")).at(Layer::WorkingDirectory)?;
    let cwd = sys::mount::open_in_root(root.as_fd(), &p.cwd, sys::mount::Create::Never).at(Layer::WorkingDirectory)?;
    nix::unistd::fchdir(cwd.as_fd())
        .map_err(|e| sys::Error::errno(format!("chdir({})", p.cwd.display()), e))
        .at(Layer::WorkingDirectory)?;
    drop((root, cwd));

    // `palisade oci create`: wait here, fully set up but before any hardening step, until
    // `start` writes a byte into the gate (a FIFO held open read-write, so the read blocks
    // until a writer writes rather than seeing end-of-file), as runc's init waits on exec.fifo.
    if let Some(gate) = &c.gate {
        report.send(&Message::Waiting).at(Layer::Init)?;
        let mut byte = [0u8; 1];
        loop {
            match nix::unistd::read(gate.as_fd(), &mut byte) {
                Ok(1) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => return Err(RunError::Start { layer: Layer::Init, message: "start gate closed without a start".into() }),
                Err(e) => return Err(sys::Error::errno("read(exec.fifo)", e)).at(Layer::Init),
            }
        }
    }

    // A container created without a process is never started (`start` refuses it); should
    // its gate open anyway, nothing runs.
    if c.bundle.no_process {
        return Err(RunError::Start { layer: Layer::Exec, message: "config.json has no process to run".into() });
    }
    // startContainer hooks run as the workload will, with every layer in place: they are
    // found in the container's root, which the image controls, so they get no more power
    // than the program (runc runs them after its capability drop, too). See harden.rs.
    let bundle = &c.bundle;
    let start_hooks = match bundle.start_container_hooks.is_empty() {
        true => None,
        false => Some((
            bundle.start_container_hooks.clone(),
            super::hooks::state(bundle.state.as_ref().unwrap_or(&serde_json::Value::Null), "running", host_pid),
        )),
    };

    // The bundle's persona (LINUX32), before seccomp, which may restrict personality(2).
    if let Some(persona) = c.hardening.personality {
        sys::process::set_personality(persona).at(Layer::Exec)?;
    }
    // No descriptor but stdio (and the report channel, already close-on-exec) survives
    // execve: GHSA-xr7r-f8xq-vfvv.
    sys::process::close_range_cloexec(3).at(Layer::Init)?;

    let mut steps = KernelSteps { hardening: &c.hardening, report, argv, envp, path, start_hooks };
    Err(harden::harden_and_exec(&mut steps, c.hardening.no_new_privs))
}
