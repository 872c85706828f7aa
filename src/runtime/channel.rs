//! The parent ↔ init ↔ workload channel: a SOCK_SEQPACKET socketpair (message boundaries
//! kept, peer death seen as end-of-file) carrying typed messages as JSON, and descriptors
//! (the pty master) as SCM_RIGHTS.

use super::Layer;
use crate::sys::{self, socket};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Largest message; JSON of a few fields.
const MAX_MESSAGE: usize = 64 * 1024;

/// Everything the three processes tell each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Parent → init: id maps are written and the cgroups joined; set up and start.
    Go,
    /// Init → parent: its namespaces exist and nothing of the root filesystem is built yet
    /// (no pivot_root); it waits for [`Message::Resume`]. The parent runs the OCI prestart
    /// and createRuntime hooks meanwhile (runtime/hooks.rs).
    Namespaced,
    /// Parent → init: go on building the container. `pid` is init's pid in the parent's
    /// pid namespace, for the state the in-container hooks receive.
    Resume { pid: i32 },
    /// Init → parent, with the pty master attached.
    Pty,
    /// Workload → init → parent: a layer is enforced less than the policy asks, which the
    /// policy allowed (best-effort); shown to the user.
    Warning { layer: Layer, message: String },
    /// Workload → init → parent: everything is set up and the workload waits at its start
    /// gate (`palisade oci create`); the container is `created`.
    Waiting,
    /// Init → parent: the workload runs (execve succeeded).
    Started,
    /// Init or workload → parent: the start failed at `layer`; nothing runs.
    Failed { layer: Layer, message: String },
}

/// One end of a channel.
#[derive(Debug)]
pub struct Channel(OwnedFd);

impl Channel {
    /// A connected pair (close-on-exec on both ends).
    pub fn pair() -> sys::Result<(Channel, Channel)> {
        let (a, b) = socket::seqpacket_pair()?;
        Ok((Channel(a), Channel(b)))
    }

    pub fn send(&self, msg: &Message) -> sys::Result<()> {
        self.send_with_fd(msg, None)
    }

    /// Sends a message, with a descriptor when given.
    pub fn send_with_fd(&self, msg: &Message, fd: Option<BorrowedFd<'_>>) -> sys::Result<()> {
        let bytes = serde_json::to_vec(msg).expect("messages serialize");
        socket::send(self.0.as_fd(), &bytes, fd)
    }

    /// Receives one message and any descriptor sent with it; `None` when the peer is gone.
    pub fn recv(&self) -> sys::Result<Option<(Message, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let (len, fd) = socket::recv(self.0.as_fd(), &mut buf)?;
        if len == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..len])
            .map_err(|e| sys::Error::new("recvmsg(channel)", std::io::Error::other(format!("malformed message: {e}"))))?;
        Ok(Some((msg, fd)))
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_descriptors_cross() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&Message::Go).unwrap();
        assert_eq!(b.recv().unwrap().unwrap().0, Message::Go);
        let file = std::fs::File::open("/dev/null").unwrap();
        b.send_with_fd(&Message::Pty, Some(file.as_fd())).unwrap();
        let (msg, fd) = a.recv().unwrap().unwrap();
        assert_eq!(msg, Message::Pty);
        assert!(fd.is_some());
        let failed = Message::Failed { layer: Layer::Seccomp, message: "x".into() };
        a.send(&failed).unwrap();
        assert_eq!(b.recv().unwrap().unwrap().0, failed);
        drop(a);
        assert!(b.recv().unwrap().is_none());
    }
}
