//! palisade: one TOML policy compiled into every enforcement layer Linux offers.
//!
//! Dependencies point one way: `cli` → `commands` → {`policy`, `compile`} → `seccomp`.
//! `policy`, `compile` and `seccomp` are pure: they never make a syscall.

pub mod cli;
pub mod commands;
pub mod compile;
pub mod diag;
pub mod policy;
pub mod runtime;
pub mod seccomp;
pub mod sys;
