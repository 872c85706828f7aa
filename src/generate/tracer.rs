//! The tracer: the process `palisade generate` runs inside the learning sandbox. It forks the
//! workload as a tracee, follows every thread and child it makes, feeds each stop to the
//! [`Observer`], and when the workload's main process ends writes the [`Trace`] to a file
//! that only it and `palisade generate` hold open.
//!
//! The tracer runs as the workload's user, so it guards itself first: it takes the trace
//! file off the filesystem (the workload cannot open what has no name) and makes itself
//! non-dumpable (the workload cannot ptrace it or reach its descriptors through /proc,
//! ptrace(2) "Ptrace access mode checking"), then forks. Its stops end with the workload's
//! main process, as a run's do (the sandbox's init ends then, and its pid namespace with it);
//! PTRACE_O_EXITKILL takes down anything still traced when the tracer exits.

use super::observe::Observer;
use super::trace::Trace;
use crate::sys::{self, process::Forked, ptrace};
use nix::libc;
use nix::unistd::Pid;
use std::collections::HashSet;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Why tracing failed (reported by the tracer on its stderr; generate then finds no trace).
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("trace file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sys(#[from] sys::Error),
    #[error("the command contains a NUL byte")]
    Nul,
    #[error("the workload did not stop for the tracer (it exited with {0})")]
    NoStop(String),
}

/// Opens the trace file, unlinks it, and traces `command`; returns the workload's exit code.
pub fn run(trace_file: &Path, command: &[String]) -> Result<i32, TraceError> {
    let file_err = |source| TraceError::File { path: trace_file.display().to_string(), source };
    let mut out = std::fs::OpenOptions::new().write(true).open(trace_file).map_err(file_err)?;
    std::fs::remove_file(trace_file).map_err(file_err)?;
    sys::process::set_non_dumpable()?;
    let (code, trace) = trace(command, &out)?;
    let json = serde_json::to_vec(&trace).expect("a trace serializes");
    out.write_all(&json)
        .and_then(|()| out.sync_all())
        .map_err(|source| TraceError::File { path: trace_file.display().to_string(), source })?;
    Ok(code)
}

/// argv, envp and the exec candidates, built before the fork: between PTRACE_TRACEME and
/// execve the child makes no call of its own (no allocation) that would show up as the
/// workload's.
struct Exec {
    argv: Vec<CString>,
    envp: Vec<CString>,
    candidates: Vec<CString>,
}

impl Exec {
    fn new(command: &[String]) -> Result<Exec, TraceError> {
        let cstr = |s: &str| CString::new(s).map_err(|_| TraceError::Nul);
        let argv = command.iter().map(|a| cstr(a)).collect::<Result<Vec<_>, _>>()?;
        let envp = std::env::vars_os().map(|(k, v)| {
            let mut kv = k.into_encoded_bytes();
            kv.push(b'=');
            kv.extend(v.into_encoded_bytes());
            CString::new(kv).map_err(|_| TraceError::Nul)
        });
        let envp = envp.collect::<Result<Vec<_>, _>>()?;
        // As the runtime's exec step: a name without `/` is looked up in PATH, in order.
        let program = command.first().ok_or(TraceError::Nul)?;
        let candidates = if program.contains('/') {
            vec![cstr(program)?]
        } else {
            let path = std::env::var("PATH").unwrap_or_default();
            path.split(':')
                .filter(|d| !d.is_empty())
                .map(|d| cstr(&format!("{}/{program}", d.trim_end_matches('/'))))
                .collect::<Result<_, _>>()?
        };
        Ok(Exec { argv, envp, candidates })
    }

    /// In the child: let go of the trace file, stop for the tracer, then execute the first
    /// candidate that runs.
    fn child(&self, out: &File) -> ! {
        // The child is a copy of the non-dumpable tracer. It must be dumpable for the tracer
        // to read its memory and /proc files (the tracer has no CAP_SYS_PTRACE), so first it
        // closes its copy of the trace file: from then on it holds nothing of the tracer's
        // but stdio.
        // The child never returns (it executes or exits), so the tracer's `File` in its copy
        // of memory is never dropped twice.
        if nix::unistd::close(out.as_raw_fd()).is_err()
            || ptrace::make_dumpable().is_err()
            || ptrace::trace_me().is_err()
            || ptrace::stop_self().is_err()
        {
            sys::process::exit_now(126);
        }
        let mut last = None;
        for c in &self.candidates {
            let e = sys::process::execve(c, &self.argv, &self.envp);
            if !matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) {
                last.get_or_insert(e);
            }
        }
        let code = match last {
            Some(e) => {
                eprintln!("palisade: generate: {e}");
                126
            }
            None => {
                eprintln!("palisade: generate: `{}`: not found", self.argv[0].to_string_lossy());
                127
            }
        };
        sys::process::exit_now(code)
    }
}

/// Traces `command` to the end of its main process.
fn trace(command: &[String], out: &File) -> Result<(i32, Trace), TraceError> {
    let exec = Exec::new(command)?;
    let child = match sys::process::fork_process()? {
        Forked::Child => exec.child(out),
        Forked::Parent { pid, .. } => pid,
    };
    // The child's SIGSTOP: set the options before it runs the workload.
    match ptrace::wait_any()? {
        ptrace::Stop::Signal { pid, signal: libc::SIGSTOP } if pid == child => {}
        other => return Err(TraceError::NoStop(format!("{other:?}"))),
    }
    ptrace::set_options(child, ptrace::OPTIONS)?;
    let mut observer = Observer::new(child, &command[0]);
    let mut attached: HashSet<Pid> = HashSet::from([child]);
    ptrace::resume(child, 0)?;
    let code = loop {
        let stop = match ptrace::wait_any() {
            Ok(stop) => stop,
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => break 128,
            Err(e) => return Err(e.into()),
        };
        match stop {
            ptrace::Stop::Exited { pid, code } => {
                observer.gone(pid);
                if pid == child {
                    break code;
                }
            }
            ptrace::Stop::Killed { pid, signal } => {
                observer.gone(pid);
                if pid == child {
                    break 128 + signal;
                }
            }
            ptrace::Stop::Syscall { pid } => {
                // A tracee killed meanwhile has no info; its exit is the next report.
                match ptrace::syscall_info(pid) {
                    Ok(ptrace::SyscallInfo::Entry { arch, nr, args }) => observer.entry(pid, arch, nr, args),
                    Ok(ptrace::SyscallInfo::Exit { rval, is_error }) => observer.exit(pid, rval, is_error),
                    Ok(ptrace::SyscallInfo::Other) | Err(_) => {}
                }
                continue_tracee(pid, 0);
            }
            ptrace::Stop::Event { pid, event } => {
                match event {
                    libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                        if let Ok(new) = ptrace::event_message(pid) {
                            observer.new_tracee(pid, Pid::from_raw(new as i32));
                        }
                    }
                    libc::PTRACE_EVENT_EXEC => {
                        let former = ptrace::event_message(pid).map_or(pid, |t| Pid::from_raw(t as i32));
                        observer.exec(pid, former);
                    }
                    _ => {}
                }
                continue_tracee(pid, 0);
            }
            ptrace::Stop::Signal { pid, signal } => {
                // A new tracee's first stop is the SIGSTOP of its automatic attach (it may
                // come before its parent's fork event): swallow it.
                // A group stop is resumed too: job control inside a learning run is not
                // learned, and the tracer would otherwise wait on it forever.
                let first_stop = attached.insert(pid) && signal == libc::SIGSTOP;
                let deliver = if first_stop || ptrace::is_group_stop(pid) { 0 } else { signal };
                continue_tracee(pid, deliver);
            }
        }
    };
    let mut trace = observer.trace;
    trace.command = command.to_vec();
    trace.exit_code = code;
    Ok((code, trace))
}

/// Resumes a tracee; one that vanished (killed meanwhile) is reported by waitpid next.
fn continue_tracee(pid: Pid, signal: i32) {
    if let Err(e) = ptrace::resume(pid, signal) {
        if e.raw_os_error() != Some(libc::ESRCH) {
            eprintln!("palisade: generate: {e}");
        }
    }
}
