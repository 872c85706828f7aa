//! Capability sets (capabilities(7)): the bounding set through prctl, the others through the
//! `caps` crate (capset/capget and PR_CAP_AMBIENT).

use super::{check, Error, Result};
use caps::{CapSet, Capability, CapsHashSet};
use nix::libc;

/// The highest capability number the running kernel knows; it may exceed what the `caps`
/// crate names, and the bounding set must lose those too. Probed with PR_CAPBSET_READ (EINVAL
/// past the last one), as libcap does, rather than read from /proc/sys/kernel/cap_last_cap:
/// the bounding set is dropped after Landlock, whose rules need not grant /proc.
pub fn last_cap() -> Result<u8> {
    let mut last = None;
    for n in 0u8..64 {
        // SAFETY: PR_CAPBSET_READ takes integer arguments only and changes nothing.
        let ret =
            unsafe { libc::prctl(libc::PR_CAPBSET_READ, n as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
        if ret < 0 {
            break;
        }
        last = Some(n);
    }
    last.ok_or_else(|| Error::new("prctl(PR_CAPBSET_READ, 0)", std::io::Error::last_os_error()))
}

/// Removes every capability not in `keep` from the bounding set, by number up to the
/// kernel's last one. Needs CAP_SETPCAP in the effective set.
pub fn drop_bounding(keep: &CapsHashSet) -> Result<()> {
    let kept: Vec<u8> = keep.iter().map(|c| c.index()).collect();
    for n in 0..=last_cap()? {
        if kept.contains(&n) {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes integer arguments only.
        let ret =
            unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
        check(ret as libc::c_long, || format!("prctl(PR_CAPBSET_DROP, {n})"))?;
    }
    Ok(())
}

/// Sets the inheritable set to exactly `keep`.
pub fn set_inheritable(keep: &CapsHashSet) -> Result<()> {
    caps::set(None, CapSet::Inheritable, keep).map_err(|e| Error::new("capset(inheritable)", std::io::Error::other(e.to_string())))
}

/// Clears the ambient set, then raises exactly `keep` in it (each must be permitted and
/// inheritable already), so that a non-root workload still holds them after execve.
pub fn set_ambient(keep: &CapsHashSet) -> Result<()> {
    caps::clear(None, CapSet::Ambient).map_err(|e| Error::new("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", std::io::Error::other(e.to_string())))?;
    for cap in keep {
        caps::raise(None, CapSet::Ambient, *cap)
            .map_err(|e| Error::new(format!("prctl(PR_CAP_AMBIENT_RAISE, {cap})"), std::io::Error::other(e.to_string())))?;
    }
    Ok(())
}

/// Sets the effective set to exactly `effective`, then the permitted set to exactly
/// `permitted` (effective first: capset refuses an effective set larger than the permitted
/// one; an `effective` outside `permitted` is refused by the kernel with EPERM).
pub fn set_permitted_and_effective(permitted: &CapsHashSet, effective: &CapsHashSet) -> Result<()> {
    caps::set(None, CapSet::Effective, effective).map_err(|e| Error::new("capset(effective)", std::io::Error::other(e.to_string())))?;
    caps::set(None, CapSet::Permitted, permitted).map_err(|e| Error::new("capset(permitted)", std::io::Error::other(e.to_string())))
}

/// Raises the effective set to the whole permitted set (after a uid change with keepcaps,
/// the kernel clears the effective set but keeps the permitted one).
pub fn raise_effective_to_permitted() -> Result<()> {
    let permitted = read(CapSet::Permitted)?;
    caps::set(None, CapSet::Effective, &permitted).map_err(|e| Error::new("capset(effective)", std::io::Error::other(e.to_string())))
}

/// Whether `cap` is in the calling thread's effective set.
pub fn has_effective(cap: Capability) -> Result<bool> {
    caps::has_cap(None, CapSet::Effective, cap).map_err(|e| Error::new("capget", std::io::Error::other(e.to_string())))
}

/// One capability set of the calling thread.
pub fn read(set: CapSet) -> Result<CapsHashSet> {
    caps::read(None, set).map_err(|e| Error::new(format!("capget({set:?})"), std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_cap_matches_the_kernels_own_number() {
        let proc: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap().trim().parse().unwrap();
        assert_eq!(super::last_cap().unwrap(), proc);
    }
}
