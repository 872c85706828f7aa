//! The policy compiler: a resolved [`Policy`] becomes a [`Plan`] — the seccomp decision model
//! and its BPF program — and the plan is emitted in every format the other layers and tools
//! read (OCI config, Docker seccomp JSON, raw BPF, AppArmor, SELinux CIL, Landlock, Kubernetes).
//! Pure: no syscalls; every emitter is a function of the plan.

pub mod apparmor;
pub mod k8s;
pub mod landlock;
pub mod oci;
pub mod selinux;

use crate::diag::Diagnostic;
use crate::policy::Policy;
use crate::seccomp::bpf::{self, sock_filter, CodegenError};
use crate::seccomp::filter::{Filter, FilterError};
use crate::seccomp::json::JsonError;

/// Everything the runtime and the emitters need, computed once.
#[derive(Debug, Clone)]
pub struct Plan {
    pub policy: Policy,
    pub filter: Filter,
    /// The seccomp program for all of the policy's architectures.
    pub program: Vec<sock_filter>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("policy `{policy}`: {source}")]
    Seccomp {
        policy: String,
        #[source]
        source: FilterError,
    },
    #[error("policy `{policy}`: {source}")]
    Codegen {
        policy: String,
        #[source]
        source: CodegenError,
    },
    #[error("policy `{policy}`: {source}")]
    Json {
        policy: String,
        #[source]
        source: JsonError,
    },
    #[error("policy `{policy}`: cannot emit {kind}: {message}")]
    Emit { policy: String, kind: &'static str, message: String },
}

impl Plan {
    /// Compiles a policy: the decision model, then the BPF program.
    pub fn new(policy: Policy) -> Result<Plan, CompileError> {
        let filter = Filter::from_policy(&policy).map_err(|source| CompileError::Seccomp { policy: policy.name.clone(), source })?;
        let program = bpf::compile(&filter).map_err(|source| CompileError::Codegen { policy: policy.name.clone(), source })?;
        Ok(Plan { policy, filter, program })
    }
}

/// What an emitter produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Text(String),
    Bytes(Vec<u8>),
    /// Several files, by path relative to the output directory.
    Files(Vec<(String, String)>),
}

/// The `--emit` kinds of `palisade policy compile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmitKind {
    Oci,
    SeccompJson,
    SeccompBpf,
    Apparmor,
    Selinux,
    Landlock,
    K8s,
}

impl EmitKind {
    pub fn name(self) -> &'static str {
        match self {
            EmitKind::Oci => "oci",
            EmitKind::SeccompJson => "seccomp-json",
            EmitKind::SeccompBpf => "seccomp-bpf",
            EmitKind::Apparmor => "apparmor",
            EmitKind::Selinux => "selinux",
            EmitKind::Landlock => "landlock",
            EmitKind::K8s => "k8s",
        }
    }
}

/// Options that only some emitters read.
#[derive(Debug, Clone, Default)]
pub struct EmitOptions {
    /// `seccomp-bpf`: the one architecture to emit for (default: the host's).
    pub arch: Option<crate::seccomp::arch::Arch>,
    /// `oci`: the process arguments (default `["/bin/sh"]`).
    pub args: Vec<String>,
    /// `oci`: the LSMs the host that runs the config enforces.
    pub lsm: LsmTarget,
}

/// Which Linux security modules the target host enforces. OCI runtimes refuse a config that
/// names an LSM the host has not enabled, so `--emit oci` writes only the label fields of the
/// target's LSMs — and says which it left out, and that the workload is not confined by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LsmTarget {
    /// Both labels (a host with AppArmor and SELinux; the complete, fail-closed default).
    #[default]
    All,
    Apparmor,
    Selinux,
    None,
}

impl LsmTarget {
    pub fn apparmor(self) -> bool {
        matches!(self, LsmTarget::All | LsmTarget::Apparmor)
    }

    pub fn selinux(self) -> bool {
        matches!(self, LsmTarget::All | LsmTarget::Selinux)
    }
}

/// Emits one artifact. Anything the target format cannot express is reported in `notes`
/// (never silently dropped); anything that would weaken the policy is an error.
pub fn emit(plan: &Plan, kind: EmitKind, options: &EmitOptions, notes: &mut Vec<Diagnostic>) -> Result<Output, CompileError> {
    let policy = &plan.policy.name;
    let wrap_json = |source| CompileError::Json { policy: policy.clone(), source };
    Ok(match kind {
        EmitKind::Oci => Output::Text(oci::emit(plan, options, notes)?),
        EmitKind::SeccompJson => {
            let profile = crate::seccomp::json::from_filter(&plan.filter, notes).map_err(wrap_json)?;
            Output::Text(serde_json::to_string_pretty(&profile).expect("profile serializes") + "\n")
        }
        EmitKind::SeccompBpf => {
            let arch = options.arch.or_else(crate::seccomp::arch::Arch::host).unwrap_or(crate::seccomp::arch::Arch::X86_64);
            let program =
                bpf::compile_for(&plan.filter, &[arch]).map_err(|source| CompileError::Codegen { policy: policy.clone(), source })?;
            Output::Bytes(bpf::to_bytes(&program))
        }
        EmitKind::Apparmor => Output::Text(apparmor::emit(plan, notes)),
        EmitKind::Selinux => Output::Text(selinux::emit(plan, notes)),
        EmitKind::Landlock => Output::Text(landlock::emit(plan)),
        EmitKind::K8s => Output::Files(k8s::emit(plan, notes)?),
    })
}
