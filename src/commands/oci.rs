//! `palisade oci VERB`: the OCI runtime verbs over [`crate::oci`] and the runtime core.
//!
//! `create` forks a monitor (its own session) that runs the container with a start gate and
//! stays its parent: it owns the cgroups and removes them when init exits. `create` returns
//! once the workload waits at the gate (`created`); `start` opens the gate by writing a byte
//! into `exec.fifo` and removes it (`running`).
//!
//! Hooks (runtime/hooks.rs has the table of where each kind runs): prestart and
//! createRuntime run in the monitor while init waits before building the root filesystem;
//! createContainer and startContainer run inside (init, the workload); poststart runs in
//! `start` once the program runs, poststop in `delete`; `run` runs all of them.

use crate::cli::oci::{CreateArgs, LogFormat, OciArgs, OciCommand, PsFormat};
use crate::compile::Plan;
use crate::oci::config;
use crate::oci::state::{ProcessId, Record, RecordedHooks, Status, Store, OCI_VERSION};
use crate::runtime::cgroups::freezer;
use crate::runtime::hooks;
use crate::runtime::launch::Hooks;
use crate::runtime::{self, Layer, RunError};
use crate::sys::{self, process::Forked};
use anyhow::{bail, Context};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs one verb; errors are reported once, here, to stderr and to `--log`.
pub fn run(args: OciArgs) -> anyhow::Result<i32> {
    let result = dispatch(&args);
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("palisade oci: {message}");
            if let Some(path) = &args.log {
                log_error(path, args.log_format, &message);
            }
            Ok(1)
        }
    }
}

fn dispatch(args: &OciArgs) -> anyhow::Result<i32> {
    if args.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: palisade manages cgroupfs directly (there is no systemd here to delegate to)");
    }
    if args.rootless.is_some() {
        bail!("--rootless is not supported: palisade decides rootless mode from the caller's uid");
    }
    if args.criu.is_some() {
        bail!("--criu is not supported: palisade does not checkpoint containers");
    }
    let store = Store::new(args.root.clone());
    match &args.command {
        OciCommand::Create(a) => create(&store, a).map(|()| 0),
        OciCommand::Start { id } => start(&store, id).map(|()| 0),
        OciCommand::State { id } => state(&store, id).map(|()| 0),
        OciCommand::Kill { all, id, signal } => kill(&store, id, signal, *all).map(|()| 0),
        OciCommand::Delete { force, id } => delete(&store, id, *force).map(|()| 0),
        OciCommand::Ps { format, id } => ps(&store, id, *format).map(|()| 0),
        OciCommand::List { quiet, format } => super::oci_list::list(&store, *quiet, *format).map(|()| 0),
        OciCommand::Pause { id } => pause(&store, id).map(|()| 0),
        OciCommand::Resume { id } => resume(&store, id).map(|()| 0),
        OciCommand::Run(a) => {
            if a.detach {
                bail!("run --detach is not supported: use create and start");
            }
            run_foreground(&store, &a.create)
        }
        OciCommand::Exec(a) => super::oci_exec::exec(&store, a),
        OciCommand::Features => {
            println!("{}", serde_json::to_string_pretty(&features())?);
            Ok(0)
        }
        OciCommand::Spec { bundle } => {
            let path = bundle.join("config.json");
            if path.exists() {
                bail!("{} exists; remove it first", path.display());
            }
            super::compile::write_atomic(&path, serde_json::to_string_pretty(&config::default_spec())?.as_bytes())?;
            Ok(0)
        }
    }
}

/// Everything `create` and `run` need before a process exists.
struct Prepared {
    plan: Plan,
    spec: runtime::RunSpec,
    record: Record,
    hooks: config::RuntimeHooks,
    /// The config as read at create: kept in the state directory for `exec`, which must
    /// apply what the container was created with, not what the bundle's file says later.
    config: serde_json::Value,
}

/// Translates a config.json of `bundle`, narrows it by a `--policy` layered on it
/// (src/oci/layer.rs) and compiles the result: `create`, `run` and `exec` alike.
pub(super) fn plan_for(
    value: &serde_json::Value,
    bundle: &Path,
    id: &str,
    layer: Option<&str>,
) -> anyhow::Result<(config::Translated, Plan)> {
    let mut t = config::translate(value, bundle, id)?;
    let layered = match layer {
        Some(arg) => {
            let policy = crate::policy::load(&crate::policy::PolicySource::from_arg(arg)).map_err(|d| anyhow::anyhow!("{}", d.render()))?;
            crate::oci::layer::narrow(&mut t, &policy)?;
            Some(Plan::new(policy)?)
        }
        None => None,
    };
    let text = t.sections.render(id)?;
    let mut policy = crate::policy::load_str(&format!("oci-{id}"), &text).map_err(|d| {
        anyhow::anyhow!("{}: the translated policy does not validate:\n{}", bundle.join("config.json").display(), d.render())
    })?;
    // The bundle's own binds are its orchestrator's decision (a Kubernetes pod's volumes
    // live under /var/lib/kubelet, which palisade's built-in list denies `palisade run`
    // users): a bundle alone is checked against no deny list; a layered policy brings its own.
    policy.volumes.deny_sources.clear();
    if let Some(layered) = &layered {
        crate::oci::layer::carry(&mut policy, layered, &mut t);
    }
    let plan = Plan::new(policy)?;
    Ok((t, plan))
}

/// The prestart and createRuntime hooks, run in the runtime's namespaces while init waits
/// before pivot_root: prestart gets status `created` (what runtime-tools' hooks_stdin
/// checks), createRuntime `creating`. The first failure stops the container.
fn runtime_hooks(hooks: &config::RuntimeHooks, record: &Record, pid: Pid) -> Result<(), RunError> {
    let base = record.hook_state();
    let fail = |kind: &str, e: hooks::HookError| RunError::Start { layer: Layer::Hooks, message: format!("{kind} {e}") };
    hooks::run_all(&hooks.prestart, &hooks::state(&base, "created", pid.as_raw())).map_err(|e| fail("prestart", e))?;
    hooks::run_all(&hooks.create_runtime, &hooks::state(&base, "creating", pid.as_raw())).map_err(|e| fail("createRuntime", e))
}

fn prepare(store: &Store, a: &CreateArgs, detached: bool) -> anyhow::Result<Prepared> {
    store.dir(&a.id)?;
    let bundle = std::fs::canonicalize(&a.bundle).with_context(|| format!("bundle {}", a.bundle.display()))?;
    let value = config::read(&bundle)?;
    let (t, plan) = plan_for(&value, &bundle, &a.id, a.policy.as_deref())?;
    // As runc: a detached terminal needs somewhere to send its master, and a socket without
    // a terminal is a mistake.
    match (t.spec.tty, a.console_socket.is_some(), detached) {
        (true, false, true) => bail!("process.terminal is true: create needs --console-socket to hand the terminal to"),
        (false, true, _) => bail!("--console-socket given, but process.terminal is false in {}", bundle.join("config.json").display()),
        (_, true, false) => bail!("--console-socket is only supported by create"),
        _ => {}
    }
    let record = Record {
        id: a.id.clone(),
        bundle,
        status: Status::Creating,
        init: None,
        monitor: ProcessId::of(std::process::id() as i32),
        created: rfc3339_now(),
        annotations: t.annotations,
        cgroups: Vec::new(),
        hooks: RecordedHooks { poststart: t.hooks.poststart.clone(), poststop: t.hooks.poststop.clone() },
        policy: a.policy.clone(),
        no_process: t.spec.bundle.no_process,
    };
    let mut spec = t.spec;
    // Every hook kind gets the same state (ociVersion is the runtime's state version, as
    // `state` prints it), whether init, the workload or this process runs it.
    spec.bundle.state = Some(record.hook_state());
    Ok(Prepared { plan, spec, record, hooks: t.hooks, config: value })
}

/// Records a new container with the config it is created from; nothing is left if either
/// write fails.
fn register(store: &Store, p: &Prepared) -> anyhow::Result<()> {
    let lock = store.lock()?;
    store.register(&lock, &p.record)?;
    if let Err(e) = store.save_config(&p.record.id, &p.config) {
        if let Err(rm) = store.remove(&lock, &p.record.id) {
            eprintln!("palisade oci: cleanup: {rm}");
        }
        return Err(e.into());
    }
    Ok(())
}

fn create(store: &Store, a: &CreateArgs) -> anyhow::Result<()> {
    let p = prepare(store, a, true)?;
    register(store, &p)?;
    match create_registered(store, a, p) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Nothing runs (the monitor is reaped): the container never existed.
            if let Err(rm) = store.remove(&store.lock()?, &a.id) {
                eprintln!("palisade oci: cleanup: {rm}");
            }
            Err(e)
        }
    }
}

fn create_registered(store: &Store, a: &CreateArgs, p: Prepared) -> anyhow::Result<()> {
    let fifo = store.fifo(&a.id)?;
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).with_context(|| format!("mkfifo {}", fifo.display()))?;
    // Read-write: opening does not block, and init's read blocks until `start` writes
    // (with no writer left a FIFO read would return end-of-file at once).
    let gate: OwnedFd =
        std::fs::File::options().read(true).write(true).open(&fifo).with_context(|| format!("open {}", fifo.display()))?.into();
    // Close-on-exec, and read once rather than to end-of-file: init and the workload are
    // forked from the monitor and hold copies of the write end until the workload's execve.
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2")?;
    match sys::process::fork_process()? {
        Forked::Child => {
            drop(ready_r);
            monitor(store, a, p, gate, ready_w)
        }
        Forked::Parent { pidfd, .. } => {
            drop((ready_w, gate));
            // One write of at most PIPE_BUF bytes arrives whole (pipe(7)); a longer error may
            // be cut, which only shortens the message.
            let (mut buf, mut answer_pipe) = (vec![0u8; 4096], std::fs::File::from(ready_r));
            let n = loop {
                match answer_pipe.read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other.context("reading the monitor's answer")?,
                }
            };
            let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
            if answer == "ok" {
                return Ok(());
            }
            // The monitor failed and exits; reap it so nothing is left.
            sys::process::pidfd_wait(pidfd.as_fd())?;
            if answer.is_empty() {
                bail!("container `{}`: the monitor exited during create without saying why", a.id);
            }
            bail!("container `{}`: {answer}", a.id)
        }
    }
}

/// The monitor: a session of its own (a terminal hangup of the caller does not reach it),
/// runs the container and says `ok` (or the error) on `ready` once it is created.
fn monitor(store: &Store, a: &CreateArgs, p: Prepared, gate: OwnedFd, ready: OwnedFd) -> ! {
    let mut ready = Some(std::fs::File::from(ready));
    let result = sys::process::new_session().map_err(|source| RunError::Sys { layer: Layer::Init, source }).and_then(|()| {
        let mut on_ready = |pid| {
            record_init(store, &a.id, pid, Status::Created, a.pid_file.as_deref())?;
            let mut w = ready.take().expect("ready once");
            w.write_all(b"ok").map_err(|e| start_err(format!("answering create: {e}")))
        };
        let mut on_console = |master: OwnedFd| send_console(a.console_socket.as_deref().expect("checked in prepare"), master);
        let on_console: Option<&mut dyn FnMut(OwnedFd) -> Result<(), RunError>> =
            if a.console_socket.is_some() { Some(&mut on_console) } else { None };
        let mut on_cgroup = |dirs: &[PathBuf]| record_cgroups(store, &a.id, dirs);
        let mut on_namespaces = |pid| runtime_hooks(&p.hooks, &p.record, pid);
        // `start` waits for this file to run poststart after the program runs.
        let mut on_started = |_| {
            let marker = store.started_marker(&a.id).map_err(|e| start_err(e.to_string()))?;
            std::fs::write(&marker, b"").map_err(|e| start_err(format!("writing {}: {e}", marker.display())))
        };
        let hooks = Hooks {
            gate: Some(gate),
            on_ready: &mut on_ready,
            on_console,
            on_cgroup: Some(&mut on_cgroup),
            on_namespaces: Some(&mut on_namespaces),
            on_started: Some(&mut on_started),
        };
        runtime::launch::run_gated(&p.plan, &p.spec, hooks)
    });
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            match ready.take() {
                Some(mut w) => {
                    let text: String = e.to_string().chars().take(1000).collect();
                    if w.write_all(text.as_bytes()).is_err() {
                        eprintln!("palisade oci: container `{}`: {e}", a.id);
                    }
                }
                None => {
                    // Created already: `start` may be waiting for the program; leave it the
                    // reason (the directory is gone if the container was deleted).
                    eprintln!("palisade oci: container `{}`: {e}", a.id);
                    if let Ok(note) = store.failure_note(&a.id) {
                        if let Err(w) = std::fs::write(&note, e.to_string()) {
                            eprintln!("palisade oci: writing {}: {w}", note.display());
                        }
                    }
                }
            }
            e.exit_code()
        }
    };
    sys::process::exit_now(code)
}

/// Hands the pty master to `--console-socket` as runc does: one message over a connected
/// AF_UNIX stream socket, the descriptor as SCM_RIGHTS and a file name as the payload
/// (go-runc's console receiver reads both).
fn send_console(socket: &Path, master: OwnedFd) -> Result<(), RunError> {
    send_master(&connect_console(socket)?, master)
}

pub(super) fn connect_console(socket: &Path) -> Result<std::os::unix::net::UnixStream, RunError> {
    std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| RunError::Sys { layer: Layer::Terminal, source: sys::Error::new(format!("connect {}", socket.display()), e) })
}

pub(super) fn send_master(stream: &std::os::unix::net::UnixStream, master: OwnedFd) -> Result<(), RunError> {
    sys::socket::send(stream.as_fd(), b"/dev/ptmx", Some(master.as_fd())).map_err(|source| RunError::Sys { layer: Layer::Terminal, source })
}

pub(super) fn start_err(message: String) -> RunError {
    RunError::Start { layer: Layer::Init, message }
}

/// Records init (pid and start time) and writes the pid file, atomically.
///
/// The pid file names init, as runc's does and `state` reports it. Under `create` init is
/// a child of the `create` process, which exits once the container is created, so init is
/// re-parented to the caller's subreaper (containerd's shim, conmon), which reaps it and
/// reads the workload's status from it (see `runtime::Container::detached`); the monitor
/// only watches it through a pidfd.
fn record_init(store: &Store, id: &str, pid: Pid, status: Status, pid_file: Option<&Path>) -> Result<(), RunError> {
    let init = ProcessId::of(pid.as_raw()).ok_or_else(|| start_err(format!("init (pid {pid}) is gone")))?;
    let save = || -> anyhow::Result<()> {
        let lock = store.lock()?;
        let mut record = store.load(id)?;
        record.init = Some(init);
        record.status = status;
        record.monitor = ProcessId::of(std::process::id() as i32);
        store.save(&lock, &record)?;
        if let Some(path) = pid_file {
            super::compile::write_atomic(path, pid.as_raw().to_string().as_bytes())?;
        }
        Ok(())
    };
    save().map_err(|e| start_err(format!("recording the container: {e:#}")))
}

fn start(store: &Store, id: &str) -> anyhow::Result<()> {
    let lock = store.lock()?;
    let mut record = store.load(id)?;
    let status = store.status(&record);
    if status != Status::Created {
        bail!("container `{id}` is {}, not created: only a created container can be started", status.name());
    }
    if record.no_process {
        bail!("container `{id}`: its config.json has no `process`, so there is nothing to start");
    }
    let fifo = store.fifo(id)?;
    let mut f = std::fs::File::options()
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .with_context(|| format!("open {}", fifo.display()))?;
    f.write_all(b"0").with_context(|| format!("write {}", fifo.display()))?;
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    record.status = Status::Running;
    store.save(&lock, &record)?;
    drop(lock);
    wait_started(store, &record)?;
    let pid = record.init.map(|i| i.pid).unwrap_or(0);
    hooks::run_all_warn("poststart", &record.hooks.poststart, &hooks::state(&record.hook_state(), "running", pid));
    Ok(())
}

/// Waits until the monitor says the program runs (startContainer hooks done, execve
/// succeeded) or exits without saying so, which is a failed start: runtime.md has the
/// poststart hooks run after the user's program starts, and a startContainer failure must
/// fail `start`.
fn wait_started(store: &Store, record: &Record) -> anyhow::Result<()> {
    let marker = store.started_marker(&record.id)?;
    let monitor = record.monitor.context("no monitor recorded")?;
    loop {
        if marker.exists() {
            return Ok(());
        }
        if !monitor.alive() {
            // The marker may have been written just before the monitor exited.
            if marker.exists() {
                return Ok(());
            }
            let why = std::fs::read_to_string(store.failure_note(&record.id)?).unwrap_or_default();
            if why.is_empty() {
                bail!("container `{}` exited before its process started", record.id);
            }
            bail!("container `{}`: {why}", record.id);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn state(store: &Store, id: &str) -> anyhow::Result<()> {
    let record = store.load(id)?;
    let status = store.status(&record);
    let pid = match status {
        Status::Created | Status::Running | Status::Paused => record.init.map(|i| i.pid).unwrap_or(0),
        _ => 0,
    };
    let out = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "id": record.id,
        "status": status.name(),
        "pid": pid,
        "bundle": record.bundle,
        "annotations": record.annotations,
        "created": record.created,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `SIGTERM`, `TERM`, `term` or `15`.
pub fn parse_signal(text: &str) -> anyhow::Result<Signal> {
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| anyhow::anyhow!("signal {n}: not a signal palisade can send (1-31)"));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse().map_err(|_| anyhow::anyhow!("`{text}` is not a signal name or number"))
}

/// Signals a recorded process through a pidfd, after checking (with the pidfd open) that
/// the pid still names that process.
fn signal_process(p: ProcessId, signal: Signal) -> anyhow::Result<bool> {
    let Ok(fd) = sys::process::pidfd_open(Pid::from_raw(p.pid)) else { return Ok(false) };
    if !p.alive() {
        return Ok(false);
    }
    match sys::process::pidfd_signal(fd.as_fd(), signal) {
        Ok(()) => Ok(true),
        // It exited between the check and the signal: nothing left to signal.
        Err(e) if e.raw_os_error() == Some(nix::libc::ESRCH) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// init of a container that has one (created, running or paused), with the container's
/// record and status.
///
/// The error for one that has none says `container not running`, runc's words: containerd's
/// runc shim matches them (checkKillError in pkg/process/utils.go) to tell "already
/// stopped", which `ctr tasks delete --force` and a kill racing the exit tolerate, from a
/// failure.
fn live_init(store: &Store, id: &str) -> anyhow::Result<(ProcessId, Record, Status)> {
    let record = store.load(id)?;
    let status = store.status(&record);
    match (status, record.init) {
        (Status::Created | Status::Running | Status::Paused, Some(init)) => Ok((init, record, status)),
        _ => bail!("container `{id}` is {}: container not running", status.name()),
    }
}

/// Every process of the container but init, as host pids: the members of its cgroup (the
/// recorded groups hold exactly its processes, whatever pid namespace they share), or of
/// init's pid namespace when no group was recorded and that namespace is not ours. A
/// container sharing our pid namespace without a group has no way to tell its processes
/// from the host's: refused rather than signalling the host.
fn members(init: ProcessId, record: &Record) -> anyhow::Result<Vec<ProcessId>> {
    if let Some(group) = record.cgroups.first() {
        let procs = group.join("cgroup.procs");
        let text = match std::fs::read_to_string(&procs) {
            Ok(text) => text,
            // The group is gone with the container's last process.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", procs.display()))),
        };
        return Ok(text
            .lines()
            .filter_map(|l| l.trim().parse::<i32>().ok())
            .filter(|p| *p != init.pid)
            .filter_map(ProcessId::of)
            .collect());
    }
    let ns = std::fs::read_link(format!("/proc/{}/ns/pid", init.pid)).context("reading init's pid namespace")?;
    if std::fs::read_link("/proc/self/ns/pid").ok().as_ref() == Some(&ns) {
        bail!(
            "container `{}` shares palisade's pid namespace and has no recorded cgroup: its processes cannot be told from the host's",
            record.id
        );
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        if pid == init.pid || std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok().as_ref() != Some(&ns) {
            continue;
        }
        found.extend(ProcessId::of(pid));
    }
    Ok(found)
}

fn ps(store: &Store, id: &str, format: PsFormat) -> anyhow::Result<()> {
    let (init, record, _) = live_init(store, id)?;
    let mut all = vec![init];
    all.extend(members(init, &record)?);
    match format {
        PsFormat::Json => println!("{}", serde_json::to_string(&all.iter().map(|p| p.pid).collect::<Vec<_>>())?),
        PsFormat::Table => {
            println!("PID\tCMD");
            for p in all {
                let cmd = std::fs::read(format!("/proc/{}/cmdline", p.pid)).unwrap_or_default();
                let cmd: Vec<String> =
                    cmd.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                println!("{}\t{}", p.pid, cmd.join(" "));
            }
        }
    }
    Ok(())
}

fn kill(store: &Store, id: &str, signal: &str, all: bool) -> anyhow::Result<()> {
    let signal = parse_signal(signal)?;
    let (init, record, status) = live_init(store, id)?;
    if all {
        // Every process of the container; init last, because its exit kills the rest. init
        // also exits on its own once the workload has died, so finding it gone by then means
        // every process was signalled.
        for p in members(init, &record)? {
            signal_process(p, signal)?;
        }
        signal_process(init, signal)?;
    } else if !signal_process(init, signal)? {
        bail!("container `{id}` is stopped: container not running");
    }
    if signal == Signal::SIGKILL && status == Status::Paused {
        // Left frozen, a killed container would stay paused, and containerd's `ctr tasks
        // delete --force` would wait for an exit that never comes. runc's kill thaws too
        // (libcontainer Container.Signal).
        thaw_killed(&record, init)?;
    }
    Ok(())
}

/// Thaws a paused container that has just been sent SIGKILL: v1's freezer holds even
/// SIGKILL until the tasks thaw; thawed, they die.
fn thaw_killed(record: &Record, killed: ProcessId) -> anyhow::Result<()> {
    match freezer::thaw(&record.cgroups, FREEZE_TIMEOUT) {
        Ok(()) => Ok(()),
        // Thawed, init dies and the monitor removes the groups, possibly before the thaw
        // reads them back: a dead process is a kill done, not a failed thaw.
        Err(_) if !killed.alive() => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("container `{}`: thawing after SIGKILL", record.id))),
    }
}

fn delete(store: &Store, id: &str, force: bool) -> anyhow::Result<()> {
    let lock = store.lock()?;
    let record = store.load(id)?;
    let status = store.status(&record);
    if status != Status::Stopped {
        if !force {
            bail!("container `{id}` is {}: only a stopped container can be deleted (or use --force)", status.name());
        }
        // SIGKILL to a pid namespace's init kills every process in it (pid_namespaces(7));
        // a container sharing or joining a pid namespace has its other processes killed
        // by cgroup membership first.
        let target = record.init.or(record.monitor).context("no process recorded")?;
        if let Some(init) = record.init.filter(|i| i.alive()) {
            for p in members(init, &record).unwrap_or_default() {
                signal_process(p, Signal::SIGKILL)?;
            }
        }
        signal_process(target, Signal::SIGKILL)?;
        if status == Status::Paused {
            // As runc's delete --force does.
            thaw_killed(&record, target)?;
        }
    }
    // The monitor removes the cgroups once init is gone: wait for it, so that nothing of the
    // container remains when delete returns.
    let deadline = Instant::now() + Duration::from_secs(10);
    while record.init.is_some_and(|p| p.alive()) || record.monitor.is_some_and(|p| p.alive() && p.pid != std::process::id() as i32) {
        if Instant::now() > deadline {
            bail!("container `{id}`: its processes did not exit within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The monitor removes the groups; if it was killed, nobody did.
    crate::runtime::cgroups::remove_leftover(&record.cgroups).with_context(|| format!("container `{id}`"))?;
    store.remove(&lock, id)?;
    drop(lock);
    // runtime.md: poststop after the container is deleted; failures are warnings.
    hooks::run_all_warn("poststop", &record.hooks.poststop, &hooks::state(&record.hook_state(), "stopped", 0));
    Ok(())
}

/// How long `pause` and `resume` wait for the freezer to settle.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// Records the container's cgroup directories (called by the monitor once init is in them).
fn record_cgroups(store: &Store, id: &str, dirs: &[PathBuf]) -> Result<(), RunError> {
    let save = || -> anyhow::Result<()> {
        let lock = store.lock()?;
        let mut record = store.load(id)?;
        record.cgroups = dirs.to_vec();
        Ok(store.save(&lock, &record)?)
    };
    save().map_err(|e| start_err(format!("recording the container's cgroups: {e:#}")))
}

/// `pause`: freezes a created or running container (as runc, both can be paused) and waits
/// until every task is frozen.
fn pause(store: &Store, id: &str) -> anyhow::Result<()> {
    let _lock = store.lock()?;
    let record = store.load(id)?;
    let status = store.status(&record);
    if !matches!(status, Status::Created | Status::Running) {
        bail!("container `{id}` is {}: only a created or running container can be paused", status.name());
    }
    freezer::freeze(&record.cgroups, FREEZE_TIMEOUT).with_context(|| format!("container `{id}`"))
}

/// `resume`: thaws a paused container.
fn resume(store: &Store, id: &str) -> anyhow::Result<()> {
    let _lock = store.lock()?;
    let record = store.load(id)?;
    let status = store.status(&record);
    if status != Status::Paused {
        bail!("container `{id}` is {}, not paused", status.name());
    }
    freezer::thaw(&record.cgroups, FREEZE_TIMEOUT).with_context(|| format!("container `{id}`"))
}

/// `run`: create and start in the foreground (no gate, no monitor of its own: this process
/// is the monitor), then delete; exits with the container's status.
fn run_foreground(store: &Store, a: &CreateArgs) -> anyhow::Result<i32> {
    let p = prepare(store, a, false)?;
    register(store, &p)?;
    let mut on_ready = |pid: Pid| {
        record_init(store, &a.id, pid, Status::Running, a.pid_file.as_deref())?;
        hooks::run_all_warn("poststart", &p.record.hooks.poststart, &hooks::state(&p.record.hook_state(), "running", pid.as_raw()));
        Ok(())
    };
    let mut on_cgroup = |dirs: &[PathBuf]| record_cgroups(store, &a.id, dirs);
    let mut on_namespaces = |pid| runtime_hooks(&p.hooks, &p.record, pid);
    let hooks = Hooks {
        gate: None,
        on_ready: &mut on_ready,
        on_console: None,
        on_cgroup: Some(&mut on_cgroup),
        on_namespaces: Some(&mut on_namespaces),
        on_started: None,
    };
    let result = runtime::launch::run_gated(&p.plan, &p.spec, hooks);
    store.remove(&store.lock()?, &a.id)?;
    if result.is_ok() {
        // The container ran: it is stopped and deleted now.
        hooks::run_all_warn("poststop", &p.record.hooks.poststop, &hooks::state(&p.record.hook_state(), "stopped", 0));
    }
    match result {
        Ok(code) => Ok(code),
        Err(e) => Err(anyhow::Error::new(e).context(format!("container `{}`", a.id))),
    }
}

/// runtime-spec features.md: what this runtime can be asked for.
fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.1.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": [
            "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "mand", "noatime", "nodev", "nodiratime", "noexec", "nomand",
            "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime", "ro", "rprivate", "rshared", "rslave", "runbindable",
            "rw", "shared", "slave", "strictatime", "suid", "sync", "unbindable"
        ],
        "linux": {
            "namespaces": ["pid", "mount", "ipc", "uts", "network", "cgroup", "user"],
            "capabilities": caps::all().iter().map(|c| c.to_string()).collect::<std::collections::BTreeSet<_>>(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": true, "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"], "operators": ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        },
        "annotations": {"org.palisade.oci.unsupported": "time namespaces, joining a user or mount namespace, sharing the host's mount namespace, id-mapped mounts, seccomp notify, intelRdt, netDevices"}
    })
}

/// Appends an error to `--log` as runc does (containerd reads the last JSON line).
fn log_error(path: &PathBuf, format: LogFormat, message: &str) {
    let line = match format {
        LogFormat::Json => serde_json::json!({"level": "error", "msg": message, "time": rfc3339_now()}).to_string(),
        LogFormat::Text => format!("time=\"{}\" level=error msg={:?}", rfc3339_now(), message),
    };
    let written = std::fs::File::options().create(true).append(true).open(path).and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        eprintln!("palisade oci: writing log {}: {e}", path.display());
    }
}

/// The current UTC time as RFC 3339, to the second.
fn rfc3339_now() -> String {
    crate::image::rootfs::rfc3339(crate::image::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_and_number() {
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("SIGTERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("hup").unwrap(), Signal::SIGHUP);
        assert!(parse_signal("SIGNOPE").is_err());
        assert!(parse_signal("64").is_err());
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }
}
