//! User and group identity: setgroups(2), setresgid(2), setresuid(2).

use super::{Op, Result};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

/// Sets the supplementary groups to exactly `groups` (none when empty).
pub fn set_groups(groups: &[u32]) -> Result<()> {
    let gids: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&gids).op(|| format!("setgroups({groups:?})"))
}

/// Sets the real, effective and saved group id (before the uid: afterwards it would need
/// CAP_SETGID, which a non-root user loses with the uid change).
pub fn set_gid(gid: u32) -> Result<()> {
    let g = Gid::from_raw(gid);
    setresgid(g, g, g).op(|| format!("setresgid({gid})"))
}

/// Sets the real, effective and saved user id: all three, so the workload cannot switch back.
pub fn set_uid(uid: u32) -> Result<()> {
    let u = Uid::from_raw(uid);
    setresuid(u, u, u).op(|| format!("setresuid({uid})"))
}

/// The caller's effective uid and gid.
pub fn current() -> (u32, u32) {
    (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
}
