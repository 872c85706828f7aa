//! palisade: one TOML policy compiled into every enforcement layer Linux offers.
//!
//! Dependencies point one way: `cli` → `commands` → {`policy`, `compile`} → `seccomp`.
//! `policy`, `compile` and `seccomp` are pure: they never make a syscall.

pub mod apparmor;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod diag;
pub mod generate;
pub mod image;
pub mod lint;
pub mod oci;
pub mod policy;
pub mod runtime;
pub mod seccomp;
pub mod sys;
pub mod trust;
