//! OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): a program run at a point of
//! the lifecycle with the container's state as JSON on its stdin.
//!
//! Where each kind runs, and the `status` its state carries (runtime.md "Lifecycle"):
//!
//! | hook            | run by                          | namespaces        | status     | on failure            |
//! |-----------------|---------------------------------|-------------------|------------|-----------------------|
//! | prestart        | the parent (launch.rs callback) | runtime's         | `created`  | create fails          |
//! | createRuntime   | the parent, right after prestart| runtime's         | `creating` | create fails          |
//! | createContainer | init, before the rootfs is built| container's       | `creating` | create fails          |
//! | startContainer  | the workload, after the gate    | container's, root | `running`  | start fails           |
//! | poststart       | `oci start` / `oci run`         | runtime's         | `running`  | warning, continue     |
//! | poststop        | `oci delete` / `oci run`        | runtime's         | `stopped`  | warning, continue     |
//!
//! prestart gets `created` rather than `creating` because runtime-tools' hooks_stdin test
//! asks for it (runc passed `created` to prestart before createRuntime existed). init
//! pauses before the root filesystem is built (before pivot_root) until the parent has run
//! prestart and createRuntime, so both see the container's namespaces through
//! /proc/PID/ns with PID = init's host pid, which every state but poststop's carries.
//!
//! createContainer runs in init before rootfs.rs builds anything: config.md puts it after
//! the config's mounts and before pivot_root, but rootfs::setup mounts and pivots in one
//! step, so the hook sees the container's namespaces (mount namespace included, still a
//! copy of the host's) without the container's mounts. A hook point between the mounts and
//! the pivot belongs in rootfs.rs.
//!
//! runtime-tools (260e151) `prestart` still checks the runtime-spec 1.0.0 wording (prestart
//! during `start`); palisade follows the current config.md, as runc and crun do.

use crate::runtime::bundle::Hook;
use crate::sys;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// Why a hook did not succeed; every variant names the hook's program.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hook {path}: {detail}")]
    Invalid { path: String, detail: String },
    #[error("hook {path}: {source}")]
    Sys {
        path: String,
        #[source]
        source: sys::Error,
    },
    #[error("hook {path}: did not finish within its timeout of {seconds} s (killed)")]
    TimedOut { path: String, seconds: u64 },
    #[error("hook {path}: {status}")]
    Failed { path: String, status: String },
}

/// The state a hook receives: `base` (ociVersion, id, bundle, annotations) with `status` and,
/// when positive, `pid` (runtime.md "State": pid is required while created or running).
pub fn state(base: &serde_json::Value, status: &str, pid: i32) -> serde_json::Value {
    let mut state = match base {
        serde_json::Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    state.insert("status".into(), status.into());
    if pid > 0 {
        state.insert("pid".into(), pid.into());
    } else {
        state.remove("pid");
    }
    serde_json::Value::Object(state)
}

/// Runs every hook in order; the first failure stops the rest (createRuntime, createContainer,
/// startContainer and prestart: runtime.md says the runtime MUST generate an error).
pub fn run_all(hooks: &[Hook], state: &serde_json::Value) -> Result<(), HookError> {
    hooks.iter().try_for_each(|h| run_hook(h, state))
}

/// Runs every hook in order; a failure is a warning on stderr and the rest still run
/// (poststart and poststop: "the runtime MUST log a warning, but the remaining hooks and
/// lifecycle continue as if the hook had succeeded"). Returns the failures.
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &serde_json::Value) -> Vec<HookError> {
    let mut failed = Vec::new();
    for h in hooks {
        if let Err(e) = run_hook(h, state) {
            eprintln!("palisade oci: warning: {kind} {e}");
            failed.push(e);
        }
    }
    failed
}

/// Runs one hook: `hook.path` with argv `hook.args` (default: the path alone) and exactly
/// `hook.env`, the state on its stdin (written, then closed), stdout and stderr inherited.
/// Waits at most `hook.timeout` seconds, then kills it (SIGKILL) and says so. A non-zero
/// exit or a signal is an error naming the path and the status.
pub fn run_hook(hook: &Hook, state: &serde_json::Value) -> Result<(), HookError> {
    let path = hook.path.display().to_string();
    let invalid = |detail: String| HookError::Invalid { path: path.clone(), detail };
    if !hook.path.is_absolute() {
        return Err(invalid("the path must be absolute (config.md)".into()));
    }
    if hook.timeout == Some(0) {
        return Err(invalid("timeout must be greater than zero (config.md)".into()));
    }
    if let Some(bad) = hook.args.iter().chain(&hook.env).find(|a| a.contains('\0')) {
        return Err(invalid(format!("`{bad}` contains a NUL byte")));
    }
    let json = serde_json::to_vec(state).expect("JSON values serialize");
    let sys_err = |source: sys::Error| HookError::Sys { path: path.clone(), source };

    // std's Command rather than a bare fork: it works in a multi-threaded caller (the unit
    // tests), resets the signal mask and SIGPIPE in the child (init calls this with signals
    // blocked and no-op handlers, which execve resets), and reports a failed execve here.
    let mut cmd = std::process::Command::new(&hook.path);
    cmd.env_clear().stdin(std::process::Stdio::piped());
    for kv in &hook.env {
        // config.md: env entries are `KEY=VALUE`; an entry without `=` has an empty value.
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        cmd.env(k, v);
    }
    if let Some((argv0, rest)) = hook.args.split_first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, argv0);
        cmd.args(rest);
    }
    // GHSA-xr7r-f8xq-vfvv: no descriptor of the runtime (channels, the gate, one inherited
    // from palisade's caller) reaches the hook.
    sys::process::close_fds_on_spawn(&mut cmd);
    // A process group of its own, so that a timeout ends whatever the hook started too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| sys_err(sys::Error::new(format!("execve({path})"), e)))?;
    let stdin: OwnedFd = child.stdin.take().expect("piped").into();
    // The child is not reaped until `wait` below, so its pid cannot be reused meanwhile.
    let waited = sys::process::pidfd_open(nix::unistd::Pid::from_raw(child.id() as i32))
        .and_then(|fd| Ok((feed_and_wait(stdin, &json, &fd, hook.timeout.map(|s| Instant::now() + Duration::from_secs(s)))?, fd)));
    match waited {
        Ok((true, _)) => {}
        Ok((false, fd)) => {
            // Past the deadline: kill the hook's process group (its children with it) and
            // the hook through its pidfd, and reap it so nothing is left. The group's id is
            // the unreaped hook's pid, so it cannot name another group.
            if let Err(e) = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), Signal::SIGKILL) {
                eprintln!("palisade oci: hook {path}: killing its process group: {e}");
            }
            let killed = sys::process::pidfd_signal(fd.as_fd(), Signal::SIGKILL);
            let reaped = child.wait();
            killed.map_err(sys_err)?;
            reaped.map_err(|e| sys_err(sys::Error::new("waitpid", e)))?;
            return Err(HookError::TimedOut { path, seconds: hook.timeout.unwrap_or(0) });
        }
        Err(e) => {
            // Never leave the hook running behind an error of ours; the first error is the
            // one reported, and kill/wait of our own unreaped child cannot hit another process.
            if let Err(k) = child.kill().and_then(|()| child.wait().map(drop)) {
                eprintln!("palisade oci: hook {path}: cleanup: {k}");
            }
            return Err(sys_err(e));
        }
    }
    let status = child.wait().map_err(|e| sys_err(sys::Error::new("waitpid", e)))?;
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(HookError::Failed { path, status: format!("exited with status {code}") }),
        (None, Some(sig)) => {
            let name = Signal::try_from(sig).map(|s| s.to_string()).unwrap_or_else(|_| format!("signal {sig}"));
            Err(HookError::Failed { path, status: format!("killed by {name}") })
        }
        (None, None) => Err(HookError::Failed { path, status: status.to_string() }),
    }
}

/// Writes `json` to the hook's stdin without blocking past the deadline (a hook that never
/// reads must still time out), closes it, then waits for the hook to exit. Returns whether
/// it exited before the deadline. A hook that exits without reading its stdin is not an
/// error here (EPIPE): its exit status decides.
fn feed_and_wait(stdin: OwnedFd, json: &[u8], pidfd: &OwnedFd, deadline: Option<Instant>) -> sys::Result<bool> {
    nix::fcntl::fcntl(&stdin, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK))
        .map_err(|e| sys::Error::errno("fcntl(O_NONBLOCK)", e))?;
    let mut stdin = Some(stdin);
    let mut written = 0;
    loop {
        if stdin.is_some() && written == json.len() {
            stdin = None; // closed: the hook sees end-of-file
        }
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(false);
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32 + 1).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        if let Some(w) = &stdin {
            fds.push(PollFd::new(w.as_fd(), PollFlags::POLLOUT));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(sys::Error::errno("poll", e)),
        }
        let exited = fds[0].revents().is_some_and(|r| !r.is_empty());
        let writable = fds.get(1).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
        drop(fds);
        if exited {
            return Ok(true);
        }
        if writable {
            let w = stdin.as_ref().expect("polled");
            match nix::unistd::write(w, &json[written..]) {
                Ok(n) => written += n,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                // The hook closed its stdin: nothing more to give it.
                Err(_) => stdin = None,
            }
            if stdin.is_none() {
                written = json.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sh(script: &str) -> Hook {
        Hook { path: PathBuf::from("/bin/sh"), args: vec!["sh".into(), "-c".into(), script.into()], env: vec![], timeout: None }
    }

    #[test]
    fn the_state_arrives_on_stdin_with_exactly_the_hooks_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut hook = sh(&format!("read -r line; echo \"$line|$FOO|$HOME\" > {}", out.display()));
        hook.env = vec!["FOO=bar".into()];
        let base = serde_json::json!({"ociVersion": "1.0.2", "id": "c1", "bundle": "/b", "annotations": {}});
        run_hook(&hook, &state(&base, "creating", 42)).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let (json, rest) = text.trim_end().split_once('|').unwrap();
        let got: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(got["id"], "c1");
        assert_eq!(got["status"], "creating");
        assert_eq!(got["pid"], 42);
        // HOME is not passed on: the environment is exactly hook.env.
        assert_eq!(rest, "bar|");
    }

    #[test]
    fn failures_name_the_hook_and_status() {
        let base = serde_json::json!({});
        let err = run_hook(&sh("exit 3"), &base).unwrap_err();
        assert_eq!(err.to_string(), "hook /bin/sh: exited with status 3");
        let err = run_hook(&sh("kill -9 $$"), &base).unwrap_err();
        assert!(err.to_string().contains("SIGKILL"), "{err}");
        let missing = Hook { path: "/nonexistent/hook".into(), args: vec![], env: vec![], timeout: None };
        let err = run_hook(&missing, &base).unwrap_err().to_string();
        assert!(err.starts_with("hook /nonexistent/hook: execve(/nonexistent/hook)"), "{err}");
        let relative = Hook { path: "bin/true".into(), args: vec![], env: vec![], timeout: None };
        assert!(matches!(run_hook(&relative, &base), Err(HookError::Invalid { .. })));
    }

    #[test]
    fn a_hook_past_its_timeout_is_killed_even_if_it_never_reads_stdin() {
        let mut hook = sh("sleep 30");
        hook.timeout = Some(1);
        // More than a pipe holds, so the write alone would block without the deadline.
        let big = serde_json::json!({"annotations": {"x": "y".repeat(1 << 20)}});
        let err = run_hook(&hook, &big).unwrap_err();
        assert!(matches!(err, HookError::TimedOut { seconds: 1, .. }), "{err}");
    }

    #[test]
    fn no_descriptor_of_the_runtime_reaches_a_hook() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fds");
        // Not close-on-exec, as one inherited from palisade's caller would be.
        // F_DUPFD leaves it inheritable, at a number `ls` will not use for its own directory.
        let null = std::fs::File::open("/dev/null").unwrap();
        let leaky = nix::fcntl::fcntl(&null, nix::fcntl::FcntlArg::F_DUPFD(200)).unwrap();
        let result = run_hook(&sh(&format!("ls /proc/self/fd > {}", out.display())), &serde_json::json!({}));
        nix::unistd::close(leaky).unwrap();
        result.unwrap();
        let fds: Vec<i32> = std::fs::read_to_string(&out).unwrap().split_whitespace().filter_map(|f| f.parse().ok()).collect();
        assert!(!fds.contains(&leaky), "fd {leaky} leaked into the hook: {fds:?}");
        assert!(fds.contains(&0), "stdin is the state pipe: {fds:?}");
    }

    #[test]
    fn warnings_do_not_stop_the_remaining_hooks() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let hooks = [sh("exit 1"), sh(&format!("echo second > {}", out.display()))];
        assert_eq!(run_all_warn("poststart", &hooks, &serde_json::json!({})).len(), 1);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "second\n");
        assert!(run_all(&hooks, &serde_json::json!({})).is_err());
    }
}
