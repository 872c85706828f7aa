//! Installs a precompiled seccomp BPF program with seccomp(2).
//!
//! Not `seccompiler::apply_filter`: it sets no_new_privs itself, and a policy that leaves
//! no_new_privs off (Docker's default) must be able to install the filter with
//! CAP_SYS_ADMIN instead.

use super::{check, Error, Result};
use crate::seccomp::bpf::sock_filter;
use nix::libc;

/// The kernel's BPF_MAXINSNS (include/uapi/linux/bpf_common.h).
pub const MAX_INSNS: usize = 4096;

/// The SECCOMP_FILTER_FLAG_* bits an OCI config may ask for, by the name runtime-spec uses
/// (include/uapi/linux/seccomp.h).
pub const FILTER_FLAGS: &[(&str, u32)] =
    &[("SECCOMP_FILTER_FLAG_TSYNC", 1), ("SECCOMP_FILTER_FLAG_LOG", 2), ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4)];

/// Installs `program` as a seccomp filter for the calling thread (SECCOMP_SET_MODE_FILTER)
/// with `flags` (SECCOMP_FILTER_FLAG_*). The kernel requires no_new_privs or CAP_SYS_ADMIN
/// in the caller's user namespace.
pub fn install(program: &[sock_filter], flags: u32) -> Result<()> {
    if program.is_empty() || program.len() > MAX_INSNS {
        return Err(Error::new(
            "seccomp(SECCOMP_SET_MODE_FILTER)",
            std::io::Error::other(format!("the program has {} instructions; the kernel accepts 1 to {MAX_INSNS}", program.len())),
        ));
    }
    let prog = libc::sock_fprog { len: program.len() as libc::c_ushort, filter: program.as_ptr() as *mut libc::sock_filter };
    // SAFETY: `prog` points at `program`, which outlives the call (the kernel copies it), and
    // seccompiler's sock_filter has the kernel's layout (u16 code, u8 jt, u8 jf, u32 k), as
    // libc's does.
    let ret =
        unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags as libc::c_uint, &prog as *const libc::sock_fprog) };
    let op = || format!("seccomp(SECCOMP_SET_MODE_FILTER, flags {flags:#x}, {} instructions)", program.len());
    // With TSYNC a thread that could not be synchronized is reported by its id (> 0).
    if ret > 0 {
        return Err(Error::new(op(), std::io::Error::other(format!("thread {ret} could not be synchronized"))));
    }
    check(ret, op).map(|_| ())
}

/// The calling thread's seccomp mode as /proc/self/status reports it (0 off, 1 strict,
/// 2 filter).
pub fn mode() -> Result<u32> {
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments.
    let ret = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    check(ret as libc::c_long, || "prctl(PR_GET_SECCOMP)".into()).map(|m| m as u32)
}
