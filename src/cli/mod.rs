//! Command-line surface (clap derive). Handlers are thin: they parse arguments, call
//! `commands`, and turn results into exit codes. anyhow lives only here and in `commands`.

use crate::compile::EmitKind;
use crate::seccomp::arch::Arch;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "palisade", version, about = "A security-hardening container sandbox driven by one TOML policy")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check, compile, explain and import policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run a command in a sandbox under a policy: in a directory rootfs, or in the host-root
    /// sandbox (the host's / read-only, private /tmp, no network) when --rootfs is absent.
    Run(RunArgs),
}

/// `palisade run`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Policy file or built-in profile (docker-default, restricted, untrusted).
    #[arg(long, default_value = "untrusted")]
    pub policy: String,
    /// Directory to use as the root filesystem (default: the host's /, read-only).
    #[arg(long)]
    pub rootfs: Option<PathBuf>,
    /// Bind a host path: SRC:DST[:ro]; SRC must be admitted by the policy's volume sources.
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]")]
    pub volumes: Vec<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to copy palisade's own).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the sandbox.
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<PathBuf>,
    /// User to run as (overrides the policy's; run_as_non_root still applies).
    #[arg(short = 'u', long = "user", value_name = "UID[:GID]")]
    pub user: Option<String>,
    #[arg(long)]
    pub hostname: Option<String>,
    /// Give the command a terminal (a pty of the sandbox's own devpts).
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Keep standard input open (always the case; accepted for `-it`).
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Network override, only towards isolation: `none` always, `host` if the policy says host.
    #[arg(long = "net", value_enum)]
    pub net: Option<NetArg>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `--net` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetArg {
    None,
    Host,
    Bridge,
}

/// `--lsm`: a target, or `auto` for the LSMs enabled on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsmArg {
    Auto,
    All,
    Apparmor,
    Selinux,
    None,
}

/// Output format for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files (exit 0 valid, 1 invalid, 2 error).
    Check {
        /// Policy files or built-in profile names.
        #[arg(required = true)]
        files: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Compile a policy into an enforcement artifact.
    Compile {
        /// Policy file or built-in profile name.
        file: String,
        #[arg(long, value_enum)]
        emit: EmitKind,
        /// Output file (a directory for `--emit k8s`); standard output if absent.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Architecture for `--emit seccomp-bpf` and the primary one for `--emit oci`.
        #[arg(long)]
        arch: Option<Arch>,
        /// `--emit oci`: the LSMs the host that runs the config enforces (`auto`: this host's).
        #[arg(long, value_enum, default_value = "auto")]
        lsm: LsmArg,
        /// Process arguments for `--emit oci`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Convert a Docker/OCI seccomp JSON profile into a palisade policy.
    Import {
        file: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Name of the generated policy (default: the file's stem).
        #[arg(long)]
        name: Option<String>,
        /// Capabilities the profile's capability-gated rules are evaluated against:
        /// `docker-default` (Docker's 14), `none`, or a comma-separated list.
        #[arg(long, default_value = "docker-default")]
        capabilities: String,
    },
    /// Show the effective decision for a syscall, capability or path, and the line behind it.
    Explain {
        file: String,
        #[arg(long)]
        syscall: Option<String>,
        /// Argument values for --syscall (numbers or constant names), comma-separated.
        #[arg(long, value_delimiter = ',')]
        args: Vec<String>,
        #[arg(long)]
        arch: Option<Arch>,
        #[arg(long)]
        capability: Option<String>,
        #[arg(long)]
        path: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List the named syscall groups (`@name` in allow/deny lists), or one group's syscalls.
    Groups { name: Option<String> },
    /// List the built-in profiles, or print one.
    Profiles { name: Option<String> },
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy(cmd) => crate::commands::policy(cmd),
        Command::Run(args) => crate::commands::run::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: {e:#}");
            2
        }
    }
}
