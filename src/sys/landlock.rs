//! The running kernel's Landlock ABI, for reporting; rulesets themselves are built with the
//! `landlock` crate (which holds its own `unsafe`).

use nix::libc;

/// LANDLOCK_CREATE_RULESET_VERSION (include/uapi/linux/landlock.h).
const CREATE_RULESET_VERSION: libc::c_uint = 1;

/// The highest Landlock ABI the kernel supports; 0 when Landlock is not built in or not
/// enabled at boot (ENOSYS/EOPNOTSUPP).
pub fn abi_version() -> u32 {
    // SAFETY: with a null attribute and size 0 this call only returns the ABI version.
    let ret = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<libc::c_void>(), 0usize, CREATE_RULESET_VERSION) };
    if ret < 0 {
        0
    } else {
        ret as u32
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_an_abi_or_zero() {
        // Every kernel answers; on this project's machines (6.18) it is at least 6.
        let abi = super::abi_version();
        assert!(abi < 100, "{abi}");
    }
}
