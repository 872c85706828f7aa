//! `palisade oci exec`: the command-line half of runtime/exec.rs. The bundle's config.json
//! is read again with its `process` replaced by the exec's (`--process FILE`, or the
//! config's own with the command line's args, terminal, environment, cwd and user), and
//! translated and compiled like `create`'s, so the new process gets the container's
//! hardening (seccomp, Landlock, capabilities, no_new_privs) and attributes.

use super::oci::{connect_console, plan_for, send_master, start_err};
use crate::cli::oci::ExecArgs;
use crate::oci::config;
use crate::oci::state::{Status, Store};
use crate::runtime::{self, RunError};
use crate::sys;
use anyhow::{bail, Context};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;

/// `exec`: a new process in a running container, with the container's namespaces, cgroups
/// and hardening (runtime/exec.rs). Exits with the process's status, or 0 once it runs with
/// `--detach`.
pub fn exec(store: &Store, a: &ExecArgs) -> anyhow::Result<i32> {
    let record = store.load(&a.id)?;
    let status = store.status(&record);
    if status != Status::Running {
        bail!("container `{}` is {}: exec needs a running container", a.id, status.name());
    }
    let init = record.init.context("no init recorded")?;
    // The pidfd first, then the check that the pid is still init: from then on the pidfd
    // names init even if the pid is reused.
    let pidfd = sys::process::pidfd_open(Pid::from_raw(init.pid))?;
    if !init.alive() {
        bail!("container `{}` is stopped: exec needs a running container", a.id);
    }
    // The config the container was created with (the bundle's file may have changed since).
    let mut value = match store.load_config(&a.id)? {
        Some(value) => value,
        None => config::read(&record.bundle)?,
    };
    let process = exec_process(value.get("process"), a)?;
    value["process"] = process;
    // The same policy layered on the bundle as at create, if any.
    let (t, plan) = plan_for(&value, &record.bundle, &a.id, record.policy.as_deref())?;
    match (t.spec.tty, a.console_socket.is_some(), a.detach) {
        (true, false, true) => bail!("a detached exec with a terminal needs --console-socket to hand the terminal to"),
        (false, true, _) => bail!("--console-socket given, but the process has no terminal (-t or process.terminal)"),
        _ => {}
    }
    // Connected now: the socket's path is the host's, and exec leaves the host's mount
    // namespace before the pty exists.
    let stream = a.console_socket.as_deref().map(connect_console).transpose()?;
    let mut hand_over = |master: OwnedFd| send_master(stream.as_ref().expect("checked"), master);
    let mut on_running = |pid: Pid| -> Result<(), RunError> {
        if let Some(path) = &a.pid_file {
            super::compile::write_atomic(path, pid.as_raw().to_string().as_bytes())
                .map_err(|e| start_err(format!("writing {}: {e:#}", path.display())))?;
        }
        Ok(())
    };
    let req = runtime::exec::ExecRequest {
        init: Pid::from_raw(init.pid),
        init_pidfd: pidfd,
        plan: &plan,
        spec: &t.spec,
        detach: a.detach,
        console: if stream.is_some() { Some(&mut hand_over) } else { None },
    };
    match runtime::exec::exec(req, &mut on_running).with_context(|| format!("exec in container `{}`", a.id))? {
        runtime::exec::Outcome::Detached(_) => Ok(0),
        runtime::exec::Outcome::Exited(code) => Ok(code),
    }
}

/// The exec's `process`: `--process FILE` as a whole (with `-t` forcing a terminal), or the
/// config's with the command line's args, terminal, environment (appended), cwd and user.
fn exec_process(config: Option<&serde_json::Value>, a: &ExecArgs) -> anyhow::Result<serde_json::Value> {
    let mut p = match &a.process {
        Some(path) => {
            if !a.command.is_empty() {
                bail!("give the command either in --process or on the command line, not both");
            }
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))?
        }
        None => {
            if a.command.is_empty() {
                bail!("exec needs a command (or --process FILE)");
            }
            let mut p = config.cloned().context("config.json has no process")?;
            p["args"] = a.command.iter().map(|s| serde_json::Value::from(s.as_str())).collect();
            p["terminal"] = a.tty.into();
            p
        }
    };
    if !p.is_object() {
        bail!("the exec's process is not a JSON object");
    }
    if a.tty {
        p["terminal"] = true.into();
    }
    if !a.env.is_empty() {
        let mut env: Vec<serde_json::Value> = p.get("env").and_then(|e| e.as_array()).cloned().unwrap_or_default();
        for e in &a.env {
            if !e.contains('=') {
                bail!("--env `{e}`: expected KEY=VALUE");
            }
            env.push(e.as_str().into());
        }
        p["env"] = env.into();
    }
    if let Some(cwd) = &a.cwd {
        p["cwd"] = cwd.to_string_lossy().as_ref().into();
    }
    if let Some(user) = &a.user {
        let u: runtime::UserSpec = user.parse()?;
        p["user"]["uid"] = u.uid.into();
        // runc: a uid alone leaves the gid at 0.
        p["user"]["gid"] = u.gid.unwrap_or(0).into();
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_args(extra: &[&str]) -> ExecArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            a: ExecArgs,
        }
        Wrap::parse_from(std::iter::once("exec").chain(extra.iter().copied())).a
    }

    #[test]
    fn the_exec_process_is_the_configs_with_the_command_lines_changes() {
        let config =
            serde_json::json!({"args": ["sleep", "1"], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "terminal": false});
        let a = exec_args(&["-e", "A=1", "--cwd", "/tmp", "-u", "7:8", "-t", "c1", "sh", "-c", "echo hi"]);
        let p = exec_process(Some(&config), &a).unwrap();
        assert_eq!(p["args"], serde_json::json!(["sh", "-c", "echo hi"]));
        assert_eq!(p["env"], serde_json::json!(["PATH=/bin", "A=1"]));
        assert_eq!(p["cwd"], "/tmp");
        assert_eq!(p["user"], serde_json::json!({"uid": 7, "gid": 8}));
        assert_eq!(p["terminal"], true);
        assert!(exec_process(Some(&config), &exec_args(&["c1"])).is_err(), "no command");
        assert!(exec_process(Some(&config), &exec_args(&["-e", "NOEQUALS", "c1", "true"])).is_err());
    }
}
