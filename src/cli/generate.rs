//! `palisade generate`'s arguments.

use clap::ValueEnum;
use std::path::PathBuf;

/// `palisade generate [--base PROFILE] [-o FILE] [--merge POLICY…] -- CMD…`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Extend this profile (built-in name or file) and add only what it lacks.
    #[arg(long, value_name = "PROFILE")]
    pub base: Option<String>,
    /// Write the policy here (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Union with earlier runs' policies (or hand-written ones); repeatable. With no command,
    /// only merges.
    #[arg(long, value_name = "POLICY")]
    pub merge: Vec<PathBuf>,
    /// The learning run's network: `none` (only loopback; connections beyond it are seen as
    /// attempts) or `host` (the host's network, reachable while learning).
    #[arg(long, value_enum, default_value = "none")]
    pub net: LearnNet,
    /// Internal: run as the tracer inside the learning sandbox, writing the trace into FILE.
    #[arg(long, value_name = "FILE", hide = true)]
    pub trace_into: Option<PathBuf>,
    /// The workload and its arguments, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// `--net` of a learning run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LearnNet {
    None,
    Host,
}
