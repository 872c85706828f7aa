//! `palisade oci exec`: a new process in a running container, under the same hardening.
//!
//! ```text
//! palisade oci exec (stays in the host's mount ns)   the new process
//!  open init's pidfd and cgroup.procs files;
//!  setns(pidfd, pid uts ipc net cgroup: those
//!  of init's that differ from ours)  ──fork──▶ (in the container's pid namespace)
//!  write the child's pid into each cgroup.procs     wait for Go
//!  ──Go──────────────────────────────────────────▶ setns(pidfd, user mnt): the container's
//!                                                  root; a pty from its devpts
//!  ◀──Pty, Warning / Failed{layer}, or end-of-file  workload::start: rlimits, user, env,
//!     when execve closed the channel                 cwd, harden (no_new_privs → Landlock →
//!  detached: return its pid; else relay signals      caps → seccomp) → execve
//!  and the pty, exit with its status
//! ```
//!
//! The parent never enters the container's mount namespace: `--pid-file`, the console
//! socket and the host's cgroup filesystems stay reachable by the paths the caller gave,
//! and nothing in the container's filesystem can redirect a write of palisade's. The user
//! namespace is joined by the child with the mount namespace, after the parent (with the
//! host's privileges) has moved it into the cgroups.
//!
//! The process attributes and the [`Hardening`](super::harden::Hardening) come from the
//! same [`Container::prepare`] a container's workload gets them from, fed with the bundle's
//! config whose `process` is replaced by the exec's, and the process is run by the same
//! [`workload::start`]: nothing of the hardening sequence is duplicated here.

use super::channel::{Channel, Message};
use super::config::Container;
use super::{relay, workload, AtLayer, Layer, RunError};
use crate::compile::Plan;
use crate::sys::{self, process::Forked};
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Why an exec did not run.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("init's cgroup `{line}`: no mounted hierarchy holds it")]
    NoHierarchy { line: String },
    #[error("joining cgroup {}", path.display())]
    JoinCgroup {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("setns({flags:?}) into pid {pid}'s namespaces")]
    Setns {
        pid: i32,
        flags: CloneFlags,
        #[source]
        source: nix::errno::Errno,
    },
    #[error(transparent)]
    Run(#[from] RunError),
}

/// What to run, and how.
pub struct ExecRequest<'a> {
    /// The container's init (host pid) and a pidfd for it, checked by the caller to be that
    /// process.
    pub init: Pid,
    pub init_pidfd: OwnedFd,
    pub plan: &'a Plan,
    /// The translated bundle config with the exec's process.
    pub spec: &'a super::RunSpec,
    /// Return once the program runs instead of waiting for it.
    pub detach: bool,
    /// With a terminal: a connected `--console-socket` to hand the pty master to; `None`
    /// relays the terminal on this process's stdio.
    pub console: Option<&'a mut dyn FnMut(OwnedFd) -> Result<(), RunError>>,
}

/// How the exec ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Detached: the program runs as this host pid.
    Detached(Pid),
    /// The program's exit status (128 + N for signal N).
    Exited(i32),
}

/// Runs the request. `on_running` is called with the program's host pid once it has
/// executed (for `--pid-file`). The caller must be single-threaded (setns of a mount
/// namespace and the fork require it).
pub fn exec(req: ExecRequest<'_>, on_running: &mut dyn FnMut(Pid) -> Result<(), RunError>) -> Result<Outcome, ExecError> {
    let ExecRequest { init, init_pidfd, plan, spec, detach, mut console } = req;
    // Everything that reads host paths happens before the mount namespace changes: the
    // bundle's rootfs is resolved by `prepare`, and the cgroup files are opened now.
    let mut container = Container::prepare(plan, spec)?;
    if !spec.bundle.lsm_not_enforced.is_empty() {
        eprintln!("palisade: note: not enforced here: {}", spec.bundle.lsm_not_enforced.join(", "));
    }
    // startContainer hooks belong to `start`, not to an exec.
    container.bundle.start_container_hooks.clear();
    let cgroups = open_cgroups(init)?;
    let (for_parent, for_child) = namespaces_to_join(init)?;
    join(init, &init_pidfd, for_parent)?;
    // Signals go to the program from here on (relay.rs); the child unblocks them.
    let signals = sys::signal::forwarded();
    sys::signal::block(&signals).at(Layer::Init)?;
    let sigfd = sys::signal::signal_fd(&signals).at(Layer::Init)?;
    let (parent, child) = Channel::pair().at(Layer::Init)?;
    let (pid, pidfd) = match sys::process::fork_process().at(Layer::Namespaces)? {
        Forked::Child => {
            drop(parent);
            // This process is in the container's pid namespace from birth and holds init's
            // pidfd and full capabilities until execve: the container's processes must not
            // be able to ptrace it (runc CVE-2016-9962), and it keeps no host cgroup files.
            if let Err(e) = sys::process::set_non_dumpable() {
                eprintln!("palisade: exec: {e}");
                sys::process::exit_now(125)
            }
            drop(cgroups);
            // Wait until the parent has moved us into the container's cgroups.
            match child.recv() {
                Ok(Some((Message::Go, _))) => {}
                _ => sys::process::exit_now(125),
            }
            let slave = match enter_container(init, &init_pidfd, for_child, spec.tty, &child) {
                Ok(slave) => slave,
                Err(e) => {
                    let (layer, message) = as_run_error(e).report();
                    if let Err(send) = child.send(&Message::Failed { layer, message }) {
                        eprintln!("palisade: exec: could not report a failure: {send}");
                    }
                    sys::process::exit_now(125)
                }
            };
            // The process's OOM score, as init's is set at create (process.oomScoreAdj).
            if let Some(score) = container.bundle.oom_score_adj {
                if let Err(e) = std::fs::write("/proc/self/oom_score_adj", score.to_string()) {
                    let message = format!("write `{score}` to /proc/self/oom_score_adj: {e}");
                    if let Err(send) = child.send(&Message::Failed { layer: Layer::Init, message }) {
                        eprintln!("palisade: exec: could not report a failure: {send}");
                    }
                    sys::process::exit_now(125)
                }
            }
            workload::start(&container, 0, child, slave)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child);
    let mut guard = ChildGuard(Some(pidfd));
    for (path, mut file) in cgroups {
        file.write_all(pid.as_raw().to_string().as_bytes()).map_err(|source| ExecError::JoinCgroup { path, source })?;
    }
    parent.send(&Message::Go).at(Layer::Init)?;
    // The channel is close-on-exec in the child: end-of-file means execve succeeded.
    let mut master = None;
    while let Some((msg, fd)) = parent.recv().at(Layer::Init)? {
        match msg {
            Message::Pty => master = fd,
            Message::Warning { layer, message } => eprintln!("palisade: warning: {layer}: {message}"),
            Message::Failed { layer, message } => {
                guard.reap()?;
                return Err(RunError::Start { layer, message }.into());
            }
            other => return Err(RunError::Start { layer: Layer::Init, message: format!("unexpected message {other:?}") }.into()),
        }
    }
    let master = match (master.take(), console.as_mut()) {
        (Some(m), Some(hand_over)) => {
            hand_over(m)?;
            None
        }
        (m, _) => m,
    };
    on_running(pid)?;
    let pidfd = guard.0.take().expect("not reaped");
    if detach {
        return Ok(Outcome::Detached(pid));
    }
    let code = relay::supervise(pidfd.as_fd(), &sigfd, master, true)?;
    Ok(Outcome::Exited(code))
}

/// In the forked child: joins the user and mount namespaces (its root and cwd become the
/// container's) and, with a terminal, opens a pty of the container's devpts and sends its
/// master to the parent. Returns the slave.
fn enter_container(init: Pid, pidfd: &OwnedFd, flags: CloneFlags, tty: bool, parent: &Channel) -> Result<Option<OwnedFd>, ExecError> {
    join(init, pidfd, flags)?;
    if !tty {
        return Ok(None);
    }
    let (master, slave) = sys::tty::open_pty().at(Layer::Terminal)?;
    parent.send_with_fd(&Message::Pty, Some(master.as_fd())).at(Layer::Terminal)?;
    Ok(Some(slave))
}

/// An exec error as a start error, to report over the channel.
fn as_run_error(e: ExecError) -> RunError {
    match e {
        ExecError::Run(r) => r,
        other => RunError::Start { layer: Layer::Namespaces, message: format!("{other}: {}", source_text(&other)) },
    }
}

/// The innermost cause's text (the channel carries one string).
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Kills and reaps the child on an early return, so a failed exec leaves nothing running.
struct ChildGuard(Option<OwnedFd>);

impl ChildGuard {
    fn reap(&mut self) -> Result<(), RunError> {
        match self.0.take() {
            Some(fd) => sys::process::pidfd_wait(fd.as_fd()).map(drop).at(Layer::Init),
            None => Ok(()),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            let killed = sys::process::pidfd_signal(fd.as_fd(), nix::sys::signal::Signal::SIGKILL);
            if let Err(e) = killed.and(sys::process::pidfd_wait(fd.as_fd()).map(drop)) {
                eprintln!("palisade: cleanup: exec'd process: {e}");
            }
        }
    }
}

/// The namespace kinds an exec joins, by /proc/PID/ns name, and whether the child joins
/// it (user and mount) rather than the parent. setns(2) with a pidfd joins several at once,
/// atomically, user first (kernel/nsproxy.c), so the mount namespace is joined with the
/// privileges the user namespace grants.
const KINDS: &[(&str, CloneFlags, bool)] = &[
    ("user", CloneFlags::CLONE_NEWUSER, true),
    ("mnt", CloneFlags::CLONE_NEWNS, true),
    ("pid", CloneFlags::CLONE_NEWPID, false),
    ("uts", CloneFlags::CLONE_NEWUTS, false),
    ("ipc", CloneFlags::CLONE_NEWIPC, false),
    ("net", CloneFlags::CLONE_NEWNET, false),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP, false),
];

/// The namespaces of init that differ from ours (joining our own user namespace is EINVAL,
/// and one shared with the host needs no join): (the parent's, the child's).
fn namespaces_to_join(init: Pid) -> Result<(CloneFlags, CloneFlags), ExecError> {
    let (mut parent, mut child) = (CloneFlags::empty(), CloneFlags::empty());
    for (name, flag, by_child) in KINDS {
        let theirs = format!("/proc/{init}/ns/{name}");
        let target = std::fs::read_link(&theirs).map_err(|source| ExecError::Read { path: theirs.into(), source })?;
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
        if ours.as_ref() != Some(&target) {
            if *by_child {
                child |= *flag;
            } else {
                parent |= *flag;
            }
        }
    }
    Ok((parent, child))
}

/// setns(2) with init's pidfd (Linux >= 5.8): all of `flags` or none.
fn join(init: Pid, pidfd: &OwnedFd, flags: CloneFlags) -> Result<(), ExecError> {
    if flags.is_empty() {
        return Ok(());
    }
    nix::sched::setns(pidfd, flags).map_err(|source| ExecError::Setns { pid: init.as_raw(), flags, source })
}

/// The cgroup.procs files of init's cgroups that differ from ours, opened for writing
/// while the host's cgroup filesystems are reachable.
fn open_cgroups(init: Pid) -> Result<Vec<(PathBuf, std::fs::File)>, ExecError> {
    let read = |path: String| std::fs::read_to_string(&path).map_err(|source| ExecError::Read { path: path.into(), source });
    let theirs = read(format!("/proc/{init}/cgroup"))?;
    let ours = read("/proc/self/cgroup".into())?;
    let mountinfo = read("/proc/self/mountinfo".into())?;
    let mut files = Vec::new();
    for path in cgroup_procs_paths(&theirs, &ours, &mountinfo)? {
        let file =
            std::fs::File::options().write(true).open(&path).map_err(|source| ExecError::JoinCgroup { path: path.clone(), source })?;
        files.push((path, file));
    }
    Ok(files)
}

/// For each line `ID:CONTROLLERS:PATH` of init's /proc/PID/cgroup whose path differs from
/// ours: the cgroup.procs file under the hierarchy's mount point (cgroup2 for ID 0, else
/// the v1 mount whose super options name exactly those controllers). A hierarchy that is
/// not mounted here (the v2 line of a v1-only host) cannot be joined and is left alone, as
/// it was for init's own start; one that is mounted must be joined.
fn cgroup_procs_paths(theirs: &str, ours: &str, mountinfo: &str) -> Result<Vec<PathBuf>, ExecError> {
    let mounts: Vec<super::mountinfo::Mount> =
        super::mountinfo::parse(mountinfo).filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2").collect();
    let mut paths = Vec::new();
    for line in theirs.lines().filter(|l| !l.is_empty()) {
        if ours.lines().any(|o| o == line) {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = match (parts.next(), parts.next(), parts.next()) {
            (Some(i), Some(c), Some(p)) => (i, c, p),
            _ => return Err(ExecError::NoHierarchy { line: line.into() }),
        };
        let wanted: Vec<&str> = controllers.split(',').filter(|c| !c.is_empty()).collect();
        let mount = mounts.iter().find(|m| {
            if id == "0" {
                m.fs_type == "cgroup2"
            } else {
                m.fs_type == "cgroup" && wanted.iter().all(|w| m.super_option_list().any(|o| o == *w))
            }
        });
        let Some(super::mountinfo::Mount { root, mount_point: point, .. }) = mount else {
            if id == "0" {
                continue;
            }
            return Err(ExecError::NoHierarchy { line: line.into() });
        };
        // The mount may show a subtree (its root field): the path is relative to it.
        let rel = path.strip_prefix(root.trim_end_matches('/')).unwrap_or(path);
        paths.push(Path::new(point).join(rel.trim_start_matches('/')).join("cgroup.procs"));
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 /sub /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn init_cgroups_map_to_their_hierarchies_and_shared_ones_are_skipped() {
        let theirs = "4:memory:/palisade-c1\n3:cpu,cpuacct:/\n2:name=systemd:/sub/c1\n0::/c1\n";
        let ours = "4:memory:/\n3:cpu,cpuacct:/\n2:name=systemd:/\n0::/\n";
        let paths = cgroup_procs_paths(theirs, ours, MOUNTINFO).unwrap();
        assert_eq!(
            paths,
            [PathBuf::from("/sys/fs/cgroup/memory/palisade-c1/cgroup.procs"), PathBuf::from("/sys/fs/cgroup/systemd/c1/cgroup.procs")]
        );
        let v2 = "40 31 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_procs_paths("0::/default/c1\n", "0::/\n", v2).unwrap(),
            [PathBuf::from("/sys/fs/cgroup/default/c1/cgroup.procs")]
        );
        // A v1 hierarchy that is not mounted cannot be joined: refused, not skipped.
        assert!(matches!(cgroup_procs_paths("5:pids:/c1\n", "5:pids:/\n", MOUNTINFO), Err(ExecError::NoHierarchy { .. })));
    }
}
