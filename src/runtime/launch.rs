//! The parent side of `palisade run`: prepare, create cgroups, clone init into its
//! namespaces, map ids, move it into the cgroups, release it, relay until it exits, clean up.
//! Every failure path kills init (through its pidfd) and removes the cgroups and an overlay's
//! upper dir that is not kept (on drop).

use super::cgroups::Cgroup;
use super::channel::{Channel, Message};
use super::config::Container;
use super::spec::RunSpec;
use super::{init, relay, AtLayer, Layer, RunError};
use crate::compile::Plan;
use crate::sys::{self, process::Forked};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Runs `spec` under `plan` and returns the workload's exit code (128 + N for signal N).
pub fn run(plan: &Plan, spec: &RunSpec) -> Result<i32, RunError> {
    run_gated(
        plan,
        spec,
        Hooks { gate: None, on_ready: &mut |_| Ok(()), on_console: None, on_cgroup: None, on_namespaces: None, on_started: None },
    )
}

/// What `palisade oci` needs from a run beyond [`run`]'s.
pub struct Hooks<'a> {
    /// The start gate (see [`Container::gate`]): the workload waits, set up, until a byte
    /// arrives on it.
    pub gate: Option<OwnedFd>,
    /// Called with init's pid once the workload waits at the gate, or (without a gate) once
    /// it runs. An error stops the container.
    pub on_ready: &'a mut dyn FnMut(nix::unistd::Pid) -> Result<(), RunError>,
    /// With a terminal: receives the pty master (for `--console-socket`) instead of the
    /// parent relaying it to its own stdio.
    pub on_console: Option<&'a mut dyn FnMut(OwnedFd) -> Result<(), RunError>>,
    /// Called with the container's cgroup directories once init is in them (before it is
    /// released), so that `pause` finds the groups without deriving them again.
    pub on_cgroup: Option<&'a mut CgroupHook<'a>>,
    // --- OCI lifecycle hooks (runtime/hooks.rs) ---
    /// Called with init's pid once its namespaces exist, before anything of the root
    /// filesystem is built (before pivot_root); init waits meanwhile. For the prestart and
    /// createRuntime hooks. An error stops the container.
    pub on_namespaces: Option<&'a mut dyn FnMut(nix::unistd::Pid) -> Result<(), RunError>>,
    /// With a gate: called once the workload has executed the user's program after the
    /// gate opened (so that `start` can run poststart hooks after it).
    pub on_started: Option<&'a mut dyn FnMut(nix::unistd::Pid) -> Result<(), RunError>>,
}

/// Receives a container's cgroup directories.
pub type CgroupHook<'a> = dyn FnMut(&[std::path::PathBuf]) -> Result<(), RunError> + 'a;

/// [`run`] with [`Hooks`].
pub fn run_gated(plan: &Plan, spec: &RunSpec, hooks: Hooks<'_>) -> Result<i32, RunError> {
    let Hooks { gate, on_ready, mut on_console, on_cgroup, mut on_namespaces, mut on_started } = hooks;
    let mut container = Container::prepare(plan, spec)?;
    let gated = gate.is_some();
    container.gate = gate;
    // `oci create` (the gated run) detaches init: see `Container::detached`.
    container.detached = gated;
    // What the policy asks of AppArmor and SELinux is reported as not enforced. A bundle's
    // own translation asks nothing of them (its labels are reported just below),
    // so OCI runs say it only when a policy is layered on the bundle.
    let bundle_only = spec.bundle.namespaces.is_some() && spec.bundle.layered_seccomp.is_empty();
    if let Some(note) = super::lsm::note(&plan.policy).filter(|_| !bundle_only) {
        eprintln!("palisade: note: {note}");
    }
    if !spec.bundle.lsm_not_enforced.is_empty() {
        eprintln!("palisade: note: not enforced here: {}", spec.bundle.lsm_not_enforced.join(", "));
    }
    for warning in &spec.bundle.warnings {
        eprintln!("palisade: warning: {warning}");
    }
    let cgroup_name = spec.cgroups_path.clone().unwrap_or_else(|| format!("palisade-{}", container.id));
    let cgroup = Cgroup::create(&cgroup_name, &container.limits)?;
    // Signals are read from a signalfd from now on; palisade must not die of one between
    // clone and supervision and leave its cgroups behind.
    let signals = sys::signal::forwarded();
    sys::signal::block(&signals).at(Layer::Init)?;
    let sigfd = sys::signal::signal_fd(&signals).at(Layer::Init)?;
    let (parent, child) = Channel::pair().at(Layer::Init)?;
    // Namespaces the bundle joins by path are entered here, for the clone only, and left
    // right after: the child inherits them, while a user namespace the clone creates owns
    // only the namespaces it creates (joining a host-owned one from inside it would need
    // privilege there it does not have), and a pid namespace join only ever applies to
    // children (setns(2)). Our own hooks and forks stay in the runtime's namespaces.
    let mut own = Vec::new();
    for (kind, fd) in &container.joins {
        let ours = Path::new("/proc/self/ns").join(kind.proc_name());
        own.push((*kind, sys::ns::open_namespace(&ours, kind.clone_flag()).at(Layer::Namespaces)?));
        sys::ns::enter(fd.as_fd(), kind.clone_flag()).at(Layer::Namespaces)?;
    }
    let parent_flag = if container.detached { nix::libc::CLONE_PARENT as u64 } else { 0 };
    let cloned = sys::process::clone_process(container.namespaces.clone_flags() | parent_flag);
    if matches!(cloned, Ok(Forked::Parent { .. }) | Err(_)) {
        for (kind, fd) in &own {
            sys::ns::enter(fd.as_fd(), kind.clone_flag()).at(Layer::Namespaces)?;
        }
    }
    drop(own);
    let (pid, pidfd) = match cloned.at(Layer::Namespaces)? {
        Forked::Child => {
            drop(parent);
            init::main(&container, child)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child);
    let mut init = InitGuard { pidfd: Some(pidfd), reap: !container.detached };

    container.namespaces.write_id_maps(pid).at(Layer::IdMaps)?;
    if let Some(cg) = &cgroup {
        cg.join(pid.as_raw())?;
        if let Some(record) = on_cgroup {
            record(cg.paths())?;
        }
    }
    parent.send(&Message::Go).at(Layer::Init)?;

    let mut master = None;
    loop {
        match parent.recv().at(Layer::Init)? {
            Some((Message::Pty, fd)) => match (on_console.as_mut(), fd) {
                (Some(hand_over), Some(fd)) => hand_over(fd)?,
                (_, fd) => master = fd,
            },
            Some((Message::Warning { layer, message }, _)) => eprintln!("palisade: warning: {layer}: {message}"),
            Some((Message::Waiting, _)) => on_ready(pid)?,
            Some((Message::Namespaced, _)) => {
                if let Some(f) = on_namespaces.as_mut() {
                    f(pid)?;
                }
                parent.send(&Message::Resume { pid: pid.as_raw() }).at(Layer::Init)?;
            }
            Some((Message::Started, _)) => {
                if !gated {
                    on_ready(pid)?;
                } else if let Some(f) = on_started.as_mut() {
                    f(pid)?;
                }
                break;
            }
            Some((Message::Failed { layer, message }, _)) => {
                init.wait()?;
                return Err(RunError::Start { layer, message });
            }
            Some((other, _)) => return Err(RunError::Start { layer: Layer::Init, message: format!("unexpected message {other:?}") }),
            None => {
                let status = init.wait()?;
                return Err(RunError::InitDied { status });
            }
        }
    }
    let code = relay::supervise(init.pidfd.as_ref().expect("init not reaped yet").as_fd(), &sigfd, master, init.reap)?;
    init.pidfd = None;
    if let Some(cg) = cgroup {
        cg.remove()?;
    }
    container.mounts.finish()?;
    Ok(code)
}

/// Owns init until it is reaped; on any early return it is killed and reaped, so no
/// process (and with it no namespace) outlives the failed start. A detached init is not our
/// child: it is waited for (its pidfd turns readable at exit) and left to its parent to reap.
struct InitGuard {
    pidfd: Option<OwnedFd>,
    reap: bool,
}

impl InitGuard {
    /// Waits for init to exit and describes how it ended.
    fn wait(&mut self) -> Result<String, RunError> {
        let Some(fd) = self.pidfd.take() else { return Ok("already reaped".into()) };
        if !self.reap {
            sys::process::pidfd_wait_exit(fd.as_fd()).at(Layer::Init)?;
            return Ok("exited".into());
        }
        let status = sys::process::pidfd_wait(fd.as_fd()).at(Layer::Init)?;
        Ok(format!("{status:?}"))
    }
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        if let Some(fd) = self.pidfd.take() {
            let killed = sys::process::pidfd_signal(fd.as_fd(), Signal::SIGKILL);
            let reaped = if self.reap { sys::process::pidfd_wait(fd.as_fd()).map(drop) } else { sys::process::pidfd_wait_exit(fd.as_fd()) };
            if let Err(e) = killed.and(reaped.map(drop)) {
                eprintln!("palisade: cleanup: init: {e}");
            }
        }
    }
}
