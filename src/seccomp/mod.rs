//! Seccomp: architectures and syscall tables, actions, argument conditions, named groups,
//! the decision model, BPF code generation, a BPF interpreter, and Docker/OCI JSON.

pub mod action;
pub mod arch;
pub mod bpf;
pub mod condition;
pub mod filter;
pub mod groups;
pub mod import;
pub mod interp;
pub mod json;
pub mod tables;
