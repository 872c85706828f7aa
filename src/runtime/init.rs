//! Init: pid 1 of the container's pid namespace. It builds the container (mounts, hostname,
//! loopback, terminal), forks the workload, tells the parent whether it started, then reaps
//! zombies, forwards signals and exits with the workload's status. When init exits the
//! kernel kills whatever is left in the namespace.

use super::bundle::NamespaceKind;
use super::channel::{Channel, Message};
use super::config::Container;
use super::{rootfs, workload, AtLayer, Layer, RunError};
use crate::sys::{self, process::Forked};
use caps::{Capability, CapsHashSet};
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, OwnedFd};

/// Runs in the cloned child; never returns.
pub fn main(c: &Container, parent: Channel) -> ! {
    let code = match run(c, &parent) {
        Ok(code) => code,
        Err(e) => {
            let (layer, message) = e.report();
            if let Err(send) = parent.send(&Message::Failed { layer, message }) {
                eprintln!("palisade: init: {e} (and could not report it: {send})");
            }
            e.exit_code()
        }
    };
    sys::process::exit_now(code)
}

fn run(c: &Container, parent: &Channel) -> Result<i32, RunError> {
    // Die with the parent: nothing may outlive `palisade run` unsupervised. A detached init
    // (`oci create`) outlives its parent by design; its subreaper supervises it.
    if !c.detached {
        sys::process::set_parent_death_signal(Signal::SIGKILL).at(Layer::Init)?;
    }
    // Wait until the parent has written the id maps and moved us into the cgroups.
    match parent.recv().at(Layer::Init)? {
        Some((Message::Go, _)) => {}
        // The parent gave up (its error is the one reported); leave quietly.
        _ => sys::process::exit_now(125),
    }
    // A session of our own: no controlling terminal, so the workload cannot push input into
    // the user's terminal (TIOCSTI needs it to be the caller's controlling tty;
    // CVE-2017-5226) and terminal signals reach it only through palisade.
    sys::process::new_session().at(Layer::Init)?;
    // In a user namespace of the container's own, become its root: the caller's ids may
    // have no mapping there (a root caller with an OCI bundle's maps), and an unmapped
    // owner cannot create files (EOVERFLOW) on the filesystems the namespace mounts.
    if let Some(user) = &c.namespaces.user {
        if !user.rootless {
            sys::ids::set_groups(&[]).at(Layer::IdMaps)?;
        }
        sys::ids::set_gid(0).at(Layer::IdMaps)?;
        sys::ids::set_uid(0).at(Layer::IdMaps)?;
        // A credential change clears the parent-death signal (prctl(2)): set it again.
        if !c.detached {
            sys::process::set_parent_death_signal(Signal::SIGKILL).at(Layer::Init)?;
        }
    }
    // Namespaces an OCI bundle joins by path: the parent was in them when it cloned us.
    // The cgroup namespace, now that we are in the container's cgroups: its root is ours.
    if c.namespaces.is_new(NamespaceKind::Cgroup) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| sys::Error::errno("unshare(CLONE_NEWCGROUP)", e))
            .at(Layer::Namespaces)?;
    }
    // Sysctls and the OOM score while the host's /proc is still mounted here: /proc/sys
    // files act on the namespaces of the process that opens them (ours), and the
    // container's own /proc/sys will be read-only.
    apply_kernel_settings(c)?;
    // Signals arrive through a signalfd; as a pid namespace's init we also need handlers, or
    // the kernel drops them.
    let signals = handled_signals();
    sys::signal::block(&signals).at(Layer::Init)?;
    sys::signal::install_noop_handlers(&signals).at(Layer::Init)?;
    let sigfd = sys::signal::signal_fd(&signals).at(Layer::Init)?;

    // --- OCI lifecycle hooks (runtime/hooks.rs) ---
    // The namespaces exist and nothing is mounted yet (no pivot_root): the parent runs
    // prestart and createRuntime now, then this process runs createContainer in them, with
    // host paths still reachable as config.md asks.
    let host_pid = lifecycle_pause(c, parent)?;
    // --- end OCI lifecycle hooks ---

    rootfs::setup(&c.mounts)?;
    if let Some(name) = &c.hostname {
        nix::unistd::sethostname(name).map_err(|e| sys::Error::errno(format!("sethostname({name})"), e)).at(Layer::Hostname)?;
    }
    if let Some(name) = &c.bundle.domainname {
        write_proc("/proc/sys/kernel/domainname", name).at(Layer::Hostname)?;
    }
    if c.namespaces.network {
        sys::net::loopback_up().at(Layer::Network)?;
    }
    let tty = if c.process.tty {
        let (master, slave) = sys::tty::open_pty().at(Layer::Terminal)?;
        parent.send_with_fd(&Message::Pty, Some(master.as_fd())).at(Layer::Terminal)?;
        Some(slave)
    } else {
        None
    };

    let (from_workload, to_init) = Channel::pair().at(Layer::Init)?;
    let workload = match sys::process::fork_process().at(Layer::Init)? {
        Forked::Child => {
            drop(from_workload);
            // The parent channel is close-on-exec; until the exec it is just unused here.
            workload::start(c, host_pid, to_init, tty)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(to_init);
    drop(tty);

    // Relay the workload's reports until execve closes its end (or it dies).
    let mut failure = None;
    while let Some((msg, _)) = from_workload.recv().at(Layer::Init)? {
        match msg {
            Message::Warning { .. } | Message::Waiting => parent.send(&msg).at(Layer::Init)?,
            Message::Failed { layer, message } => failure = Some(RunError::Start { layer, message }),
            _ => {}
        }
    }
    if let Some(e) = failure {
        sys::process::pidfd_wait(workload.1.as_fd()).at(Layer::Init)?;
        return Err(e);
    }
    parent.send(&Message::Started).at(Layer::Init)?;

    drop_own_privileges()?;
    Ok(supervise(workload, &sigfd))
}

/// The bundle's sysctls (checked to be namespaced ones by the translation) and OOM score
/// adjustment (inherited by the workload).
fn apply_kernel_settings(c: &Container) -> Result<(), RunError> {
    for (key, value) in &c.bundle.sysctl {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        write_proc(&path, value).map_err(|e| RunError::Start { layer: Layer::Sysctl, message: format!("{key}: {e}") })?;
    }
    if let Some(score) = c.bundle.oom_score_adj {
        write_proc("/proc/self/oom_score_adj", &score.to_string()).at(Layer::Init)?;
    }
    Ok(())
}

fn write_proc(path: &str, value: &str) -> sys::Result<()> {
    std::fs::write(path, value).map_err(|e| sys::Error::new(format!("write `{value}` to {path}"), e))
}

/// Tells the parent the namespaces exist, waits until it has run its hooks, then runs the
/// createContainer hooks. Returns init's pid in the parent's pid namespace (for the state
/// the hooks receive).
fn lifecycle_pause(c: &Container, parent: &Channel) -> Result<i32, RunError> {
    let bundle = &c.bundle;
    parent.send(&Message::Namespaced).at(Layer::Init)?;
    let pid = match parent.recv().at(Layer::Init)? {
        Some((Message::Resume { pid }, _)) => pid,
        // The parent gave up (a prestart or createRuntime hook failed): its error is the one
        // reported, and it kills this process.
        _ => sys::process::exit_now(125),
    };
    if !bundle.create_container_hooks.is_empty() {
        let state = super::hooks::state(bundle.state.as_ref().unwrap_or(&serde_json::Value::Null), "creating", pid);
        super::hooks::run_all(&bundle.create_container_hooks, &state)
            .map_err(|e| RunError::Start { layer: Layer::Hooks, message: format!("createContainer {e}") })?;
    }
    Ok(pid)
}

/// Init needs no privilege to wait and relay, except CAP_KILL to signal a workload that
/// runs as another user: everything else goes, and no_new_privs is set. Init is not under
/// the policy's seccomp filter or Landlock ruleset, so a workload of the same uid must not
/// be able to ptrace it and make it run syscalls on its behalf: init becomes non-dumpable.
fn drop_own_privileges() -> Result<(), RunError> {
    sys::process::set_non_dumpable().at(Layer::Init)?;
    let keep: CapsHashSet = [Capability::CAP_KILL].into_iter().collect();
    sys::process::set_no_new_privs().at(Layer::Init)?;
    sys::caps::drop_bounding(&keep).at(Layer::Init)?;
    sys::caps::set_inheritable(&CapsHashSet::new()).at(Layer::Init)?;
    sys::caps::set_ambient(&CapsHashSet::new()).at(Layer::Init)?;
    sys::caps::set_permitted_and_effective(&keep, &keep).at(Layer::Init)
}

/// Reaps every child (orphans are re-parented to us), forwards signals to the workload, and
/// returns the workload's status in the shell convention once it exits.
fn supervise((workload, _pidfd): (Pid, OwnedFd), sigfd: &nix::sys::signalfd::SignalFd) -> i32 {
    loop {
        let mut fds = [nix::poll::PollFd::new(sigfd.as_fd(), nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                eprintln!("palisade: init: poll: {e}");
                return 125;
            }
        }
        while let Ok(Some(info)) = sigfd.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else { continue };
            if signal == Signal::SIGCHLD {
                if let Some(code) = reap(workload) {
                    return code;
                }
            } else if let Err(e) = nix::sys::signal::kill(workload, signal) {
                // The workload is exiting; its SIGCHLD follows.
                if e != nix::errno::Errno::ESRCH {
                    eprintln!("palisade: init: forwarding {signal}: {e}");
                }
            }
        }
    }
}

/// Reaps all exited children; the workload's exit code if it was among them.
fn reap(workload: Pid) -> Option<i32> {
    let mut result = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return result,
            Ok(status) if status.pid() == Some(workload) => result = Some(sys::process::exit_code(status)),
            Ok(_) => {}
        }
    }
}

/// The signals init blocks and reads: the forwarded ones and SIGCHLD.
pub fn handled_signals() -> SigSet {
    let mut s = sys::signal::forwarded();
    s.add(Signal::SIGCHLD);
    s
}
