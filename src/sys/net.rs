//! Network interfaces in the workload's own network namespace: only loopback, brought up.

use super::{check, Op, Result};
use nix::libc;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use std::os::fd::{AsRawFd, OwnedFd};

/// `struct ifreq` with the `ifr_flags` member of its union (netdevice(7)); 40 bytes on
/// every 64-bit ABI.
#[repr(C)]
struct IfreqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn ifreq(name: &str) -> IfreqFlags {
    let mut req = IfreqFlags { name: [0; libc::IFNAMSIZ], flags: 0, _pad: [0; 22] };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    req
}

fn control_socket() -> Result<OwnedFd> {
    socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None).op(|| "socket(AF_INET, SOCK_DGRAM)".into())
}

/// The interface flags of `name` (SIOCGIFFLAGS).
pub fn interface_flags(name: &str) -> Result<i16> {
    let sock = control_socket()?;
    let mut req = ifreq(name);
    // SAFETY: `req` is a valid ifreq with a NUL-terminated name; the kernel writes ifr_flags.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req as *mut IfreqFlags) };
    check(ret as libc::c_long, || format!("ioctl(SIOCGIFFLAGS, {name})"))?;
    Ok(req.flags)
}

/// Brings `lo` up: a new network namespace starts with loopback down, and programs expect
/// 127.0.0.1 to work. Needs CAP_NET_ADMIN over the namespace.
pub fn loopback_up() -> Result<()> {
    let sock = control_socket()?;
    let mut req = ifreq("lo");
    req.flags = interface_flags("lo")? | (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: `req` is a valid ifreq for "lo" with the flags member set; the kernel reads it.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &mut req as *mut IfreqFlags) };
    check(ret as libc::c_long, || "ioctl(SIOCSIFFLAGS, lo up)".into()).map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ifreq_has_the_kernel_size() {
        assert_eq!(std::mem::size_of::<super::IfreqFlags>(), 40);
    }
}
