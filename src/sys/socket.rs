//! Datagram-style messages with an optional descriptor (SCM_RIGHTS) over a SOCK_SEQPACKET
//! socketpair.

use super::{Error, Op, Result};
use nix::sys::socket::{recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A connected SOCK_SEQPACKET pair, close-on-exec on both ends.
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).op(|| "socketpair(AF_UNIX, SOCK_SEQPACKET)".into())
}

/// Sends one message, with `fd` attached when given.
pub fn send(sock: BorrowedFd<'_>, bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    let fds = fd.map(|f| [f.as_raw_fd()]);
    let cmsgs: Vec<ControlMessage> = fds.as_ref().map(|f| vec![ControlMessage::ScmRights(f)]).unwrap_or_default();
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &[IoSlice::new(bytes)], &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return other.map(|_| ()).op(|| "sendmsg".into()),
        }
    }
}

/// Receives one message into `buf`: its length (0 at end-of-file) and the first descriptor
/// attached to it (any others are closed).
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>)> {
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::errno("recvmsg", e)),
            Ok(r) => {
                let mut first = None;
                for c in r.cmsgs().op(|| "recvmsg control data".into())? {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for raw in fds {
                            // SAFETY: SCM_RIGHTS has just installed `raw` in this process and
                            // nothing else refers to it; owning it guarantees it is closed.
                            let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                            first.get_or_insert(owned);
                        }
                    }
                }
                if r.flags.contains(MsgFlags::MSG_TRUNC) {
                    return Err(Error::new("recvmsg", std::io::Error::other("message truncated")));
                }
                return Ok((r.bytes, first));
            }
        }
    }
}
