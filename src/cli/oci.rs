//! `palisade oci …`: the OCI runtime command line, in runc's shape (global flags before the
//! verb), so that containerd's shim, podman and the runtime-tools suite can drive palisade.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Global flags of the runtime interface.
#[derive(Debug, Args)]
pub struct OciArgs {
    /// State directory.
    #[arg(long, global = true, default_value = "/run/palisade-oci")]
    pub root: PathBuf,
    /// Also write errors to this file.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log more (accepted; palisade logs errors and notes only).
    #[arg(long, global = true)]
    pub debug: bool,
    /// runc's systemd cgroup driver: not supported.
    #[arg(long, global = true, hide = true)]
    pub systemd_cgroup: bool,
    /// runc's rootless mode switch: not supported (palisade decides from the caller's uid).
    #[arg(long, global = true, hide = true)]
    pub rootless: Option<String>,
    /// runc's checkpoint tool: not supported.
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: OciCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PsFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Create a container from a bundle; its process waits until `start`.
    Create(CreateArgs),
    /// Start a created container's process.
    Start { id: String },
    /// Print a container's state (runtime-spec JSON).
    State { id: String },
    /// Send a signal (name or number, default SIGTERM) to a container's init.
    Kill {
        /// Signal every process of the container.
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Remove a stopped container (with --force, kill it first).
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// List the containers in the state directory (runc's `list`).
    List {
        /// Print only the ids.
        #[arg(short, long)]
        quiet: bool,
        #[arg(short, long, value_enum, default_value = "table")]
        format: PsFormat,
    },
    /// Freeze every process of a container (its freezer cgroup).
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// List a container's processes (host pids): a table, or a JSON array as runc prints.
    Ps {
        #[arg(short, long, value_enum, default_value = "table")]
        format: PsFormat,
        id: String,
    },
    /// Create and start a container, wait for it, and delete it.
    Run(RunArgs),
    /// Run a new process in a running container (its namespaces, cgroups and hardening).
    Exec(ExecArgs),
    /// Print what this runtime supports (runtime-spec features.md JSON).
    Features,
    /// Write a default config.json.
    Spec {
        /// Directory to write config.json in.
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Accepted: palisade always pivots, which is stricter (the old root is detached).
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted: palisade never creates a session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// A palisade policy layered on the bundle's config: not implemented yet.
    #[arg(long)]
    pub policy: Option<String>,
    pub id: String,
}

/// runc's `exec [OPTIONS] ID [COMMAND [ARG...]]`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A runtime-spec `process` JSON to run instead of the config's (its args, env, cwd,
    /// user, capabilities, noNewPrivileges, terminal, rlimits replace the config's).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Give the process a terminal (a pty of the container's devpts).
    #[arg(short, long)]
    pub tty: bool,
    /// Return once the process runs instead of waiting for it.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's host pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE, added to the config's environment.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// UID[:GID] (numbers).
    #[arg(short, long)]
    pub user: Option<String>,
    /// An AF_UNIX socket to send the pty master to (with --tty).
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    pub id: String,
    /// Program and arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return after the start: not supported (use create and start).
    #[arg(short, long)]
    pub detach: bool,
}
