//! Turns the syscall stops of the tracees into observations. At entry: the ABI and name, the
//! arguments that matter (socket family, clone flags, ioctl request…) and the strings and
//! addresses behind pointers, read while the tracee is stopped. At exit: the result, which
//! decides what a path turned out to be (the descriptor an open returned names the file the
//! kernel actually opened, symlinks resolved) and whether a refusal points at a capability.
//!
//! Everything is read from the tracee's own view (`/proc/PID/{cwd,fd,exe}`), from inside the
//! same sandbox, so paths are the ones the enforced policy will see.

use super::caps;
use super::decode::{self, join_lexically};
use super::trace::{Endpoint, NetKind, Trace, Transport};
use crate::seccomp::arch::{Arch, X32_SYSCALL_BIT};
use crate::sys::ptrace;
use nix::libc;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The namespace flags clone(2) can carry (Docker's mask, 0x7E020000). CLONE_NEWTIME shares
/// its bit with the exit signal in clone() and can only be asked for through clone3.
pub const CLONE_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;
/// clone3's namespace flags: clone's and CLONE_NEWTIME.
pub const CLONE3_NAMESPACES: u64 = CLONE_NAMESPACES | libc::CLONE_NEWTIME as u64;

/// Longest path read from a tracee (PATH_MAX).
const PATH_MAX: usize = 4096;

/// What an entry stop remembered for the exit stop.
#[derive(Debug, Clone)]
enum Detail {
    None,
    Open {
        path: Option<PathBuf>,
        flags: u64,
        creates: bool,
    },
    Exec {
        path: Option<PathBuf>,
    },
    /// Entries created, removed or renamed: their parent directories change.
    Entries(Vec<PathBuf>),
    Truncate(Option<PathBuf>),
    Socket {
        family: u32,
        kind: u32,
    },
    SocketPair {
        family: u32,
        kind: u32,
        fds: u64,
    },
    Bind {
        port: Option<u16>,
        unix_path: Option<PathBuf>,
    },
    Accept {
        addr: u64,
        len: u64,
    },
}

#[derive(Debug, Clone)]
struct Pending {
    name: &'static str,
    args: [u64; 6],
    detail: Detail,
}

#[derive(Debug, Clone, Default)]
struct Tracee {
    program: String,
    tgid: Option<i32>,
    pending: Option<Pending>,
}

/// The observations of one run, fed by the tracer's stops.
#[derive(Debug, Default)]
pub struct Observer {
    pub trace: Trace,
    tracees: HashMap<Pid, Tracee>,
    /// Socket descriptors by (thread group, fd): family and type, for the transport of a
    /// later connect or sendto.
    sockets: HashMap<(i32, i32), (u32, u32)>,
}

/// The ABI and syscall a stop is for.
pub fn syscall_of(audit_arch: u32, nr: u64) -> Option<(Arch, &'static str)> {
    let nr = u32::try_from(nr).ok()?;
    let x32 = nr & X32_SYSCALL_BIT != 0;
    let arch = Arch::ALL.into_iter().find(|a| {
        a.audit_arch() == audit_arch && (a.audit_arch() != crate::seccomp::arch::AUDIT_ARCH_X86_64 || (*a == Arch::X32) == x32)
    })?;
    Some((arch, arch.syscall_name(nr)?))
}

impl Observer {
    /// An observer whose first tracee, `pid`, is about to execute `program`.
    pub fn new(pid: Pid, program: &str) -> Observer {
        let mut o = Observer::default();
        o.tracees.insert(pid, Tracee { program: base_name(program), ..Tracee::default() });
        o
    }

    fn tracee(&mut self, pid: Pid) -> &mut Tracee {
        self.tracees.entry(pid).or_insert_with(|| Tracee { program: "?".into(), ..Tracee::default() })
    }

    fn program(&mut self, pid: Pid) -> String {
        self.tracee(pid).program.clone()
    }

    fn tgid(&mut self, pid: Pid) -> i32 {
        if let Some(t) = self.tracee(pid).tgid {
            return t;
        }
        let tgid = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Tgid:").and_then(|v| v.trim().parse().ok())))
            .unwrap_or(pid.as_raw());
        self.tracee(pid).tgid = Some(tgid);
        tgid
    }

    /// A new tracee (fork, vfork or clone of `parent`): it runs the parent's program and, if
    /// it is a new process, holds copies of the parent's sockets.
    pub fn new_tracee(&mut self, parent: Pid, child: Pid) {
        let program = self.program(parent);
        let t = self.tracee(child);
        if t.program == "?" {
            t.program = program;
        }
        let (from, to) = (self.tgid(parent), self.tgid(child));
        if from != to {
            let copies: Vec<_> = self.sockets.iter().filter(|((g, _), _)| *g == from).map(|((_, fd), v)| ((to, *fd), *v)).collect();
            self.sockets.extend(copies);
        }
    }

    /// A tracee is gone.
    pub fn gone(&mut self, pid: Pid) {
        self.tracees.remove(&pid);
    }

    /// A syscall-enter stop.
    pub fn entry(&mut self, pid: Pid, audit_arch: u32, nr: u64, args: [u64; 6]) {
        let Some((arch, name)) = syscall_of(audit_arch, nr) else {
            self.trace.notes.insert(format!(
                "a syscall with an unknown ABI or number was made (arch {audit_arch:#x}, nr {nr}); no policy entry can allow it"
            ));
            self.tracee(pid).pending = None;
            return;
        };
        let program = self.program(pid);
        self.trace.syscall(arch, name, &program);
        let wide = !arch.is_32bit_abi();
        let detail = match name {
            "open" => self.open(pid, libc::AT_FDCWD as u64, args[0], args[1]),
            "openat" => self.open(pid, args[0], args[1], args[2]),
            "openat2" => {
                // struct open_how starts with the u64 flags on every ABI.
                let flags = read_u64(pid, args[2]).unwrap_or(0);
                self.open(pid, args[0], args[1], flags)
            }
            "creat" => self.open(pid, libc::AT_FDCWD as u64, args[0], (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64),
            "execve" => Detail::Exec { path: self.path_at(pid, libc::AT_FDCWD as u64, args[0]) },
            "execveat" => Detail::Exec { path: self.path_at(pid, args[0], args[1]) },
            "mkdir" | "rmdir" | "unlink" | "mknod" => {
                Detail::Entries(self.path_at(pid, libc::AT_FDCWD as u64, args[0]).into_iter().collect())
            }
            "mkdirat" | "unlinkat" | "mknodat" => Detail::Entries(self.path_at(pid, args[0], args[1]).into_iter().collect()),
            "rename" => Detail::Entries(
                [self.path_at(pid, libc::AT_FDCWD as u64, args[0]), self.path_at(pid, libc::AT_FDCWD as u64, args[1])]
                    .into_iter()
                    .flatten()
                    .collect(),
            ),
            "renameat" | "renameat2" => {
                Detail::Entries([self.path_at(pid, args[0], args[1]), self.path_at(pid, args[2], args[3])].into_iter().flatten().collect())
            }
            "link" => Detail::Entries(self.path_at(pid, libc::AT_FDCWD as u64, args[1]).into_iter().collect()),
            "linkat" => Detail::Entries(self.path_at(pid, args[2], args[3]).into_iter().collect()),
            "symlink" => Detail::Entries(self.path_at(pid, libc::AT_FDCWD as u64, args[1]).into_iter().collect()),
            "symlinkat" => Detail::Entries(self.path_at(pid, args[1], args[2]).into_iter().collect()),
            "truncate" | "truncate64" => Detail::Truncate(self.path_at(pid, libc::AT_FDCWD as u64, args[0])),
            "socket" => {
                let family = args[0] as u32;
                self.trace.socket_families.entry(family).or_default().add(&program);
                Detail::Socket { family, kind: args[1] as u32 }
            }
            "socketpair" => {
                let family = args[0] as u32;
                self.trace.socketpair_families.entry(family).or_default().add(&program);
                Detail::SocketPair { family, kind: args[1] as u32, fds: args[3] }
            }
            "connect" => {
                self.endpoint(pid, NetKind::Connect, args[0], args[1], args[2]);
                Detail::None
            }
            "sendto" if args[4] != 0 => {
                self.endpoint(pid, NetKind::Connect, args[0], args[4], args[5]);
                Detail::None
            }
            // struct msghdr starts with msg_name (a pointer) and msg_namelen on 64-bit ABIs;
            // struct mmsghdr starts with a msghdr. The 32-bit layouts are not decoded.
            "sendmsg" | "sendmmsg" if wide => {
                if let Some((name, len)) = read_u64(pid, args[1]).zip(read_u64(pid, args[1] + 8)) {
                    if name != 0 {
                        self.endpoint(pid, NetKind::Connect, args[0], name, len & 0xffff_ffff);
                    }
                }
                Detail::None
            }
            "bind" => self.bind(pid, args[0], args[1], args[2]),
            "accept" | "accept4" => Detail::Accept { addr: args[1], len: args[2] },
            "clone" => {
                self.trace.clone_namespaces.entry(args[0] & CLONE_NAMESPACES).or_default().add(&program);
                Detail::None
            }
            "clone3" => {
                // struct clone_args starts with the u64 flags on every ABI.
                let flags = read_u64(pid, args[0]).unwrap_or(0);
                self.trace.clone3_namespaces.entry(flags & CLONE3_NAMESPACES).or_default().add(&program);
                Detail::None
            }
            "personality" => {
                self.trace.personalities.entry(args[0] & 0xffff_ffff).or_default().add(&program);
                Detail::None
            }
            "ioctl" => {
                self.trace.ioctls.entry(args[1] as u32).or_default().add(&program);
                Detail::None
            }
            _ => Detail::None,
        };
        self.tracee(pid).pending = Some(Pending { name, args, detail });
    }

    /// A syscall-exit stop.
    pub fn exit(&mut self, pid: Pid, rval: i64, is_error: bool) {
        // An exit without an entry: the tracee was attached inside the call (a new child).
        let Some(p) = self.tracee(pid).pending.take() else { return };
        let program = self.program(pid);
        if is_error {
            let errno = (-rval) as i32;
            let port = match &p.detail {
                Detail::Bind { port, .. } => *port,
                _ => None,
            };
            if let Some(needed) = caps::refused(p.name, &p.args, errno, port) {
                self.trace.refusal(needed.capability, needed.what, &program);
            }
            if let Detail::Open { path: Some(path), .. } = &p.detail {
                if errno == libc::EACCES || errno == libc::EPERM {
                    self.trace.notes.insert(format!(
                        "{program}: opening {} was refused by file permissions ({}); generate does not grant DAC_OVERRIDE for it",
                        path.display(),
                        crate::seccomp::arch::errno_name(errno as u32).unwrap_or("?")
                    ));
                }
            }
            return;
        }
        match p.detail {
            Detail::Open { path, flags, creates } => self.opened(pid, &program, rval, path, flags, creates),
            Detail::Entries(paths) => {
                for path in paths {
                    if let Some(parent) = canonical_parent(&path) {
                        self.trace.file(&parent, &program, |f| {
                            f.modify_entries = true;
                            f.is_dir = true;
                        });
                    }
                }
            }
            Detail::Truncate(Some(path)) => {
                if let Ok(real) = std::fs::canonicalize(&path) {
                    self.trace.file(&real.to_string_lossy(), &program, |f| f.write = true);
                }
            }
            Detail::Socket { family, kind } => {
                let tgid = self.tgid(pid);
                self.sockets.insert((tgid, rval as i32), (family, kind));
            }
            Detail::SocketPair { family, kind, fds } => {
                let tgid = self.tgid(pid);
                if let Ok(bytes) = ptrace::read_memory(pid, fds, 8) {
                    for chunk in bytes.chunks_exact(4) {
                        let fd = i32::from_ne_bytes(chunk.try_into().expect("4 bytes"));
                        self.sockets.insert((tgid, fd), (family, kind));
                    }
                }
            }
            Detail::Bind { unix_path: Some(path), .. } => {
                // A named Unix socket is a new directory entry (Landlock's make_sock).
                if let Some(parent) = canonical_parent(&path) {
                    self.trace.file(&parent, &program, |f| {
                        f.modify_entries = true;
                        f.is_dir = true;
                    });
                }
            }
            Detail::Accept { addr, len } if addr != 0 && len != 0 => {
                let len = read_u64(pid, len).map_or(0, |l| (l & 0xffff_ffff) as usize);
                if let Some((address, port)) = ptrace::read_memory(pid, addr, len.min(128)).ok().and_then(|b| decode::sockaddr(&b)) {
                    let transport = self.transport(pid, rval as u64);
                    self.trace.endpoint(Endpoint { kind: NetKind::Accept, transport, address, port }, &program);
                }
            }
            _ => {}
        }
    }

    /// PTRACE_EVENT_EXEC: `pid` now runs a new program. A non-leader thread that called
    /// execve takes the leader's pid (`former` is its old thread id).
    pub fn exec(&mut self, pid: Pid, former: Pid) {
        if former != pid {
            if let Some(t) = self.tracees.remove(&former) {
                self.tracee(pid).pending = t.pending;
            }
        }
        let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else { return };
        let exe_text = exe.to_string_lossy().into_owned();
        let program = base_name(&exe_text);
        {
            let t = self.tracee(pid);
            t.program = program.clone();
            t.tgid = Some(pid.as_raw());
        }
        // execve closes nothing but close-on-exec descriptors; sockets stay, by the same pid.
        self.trace.file(&exe_text, &program, |f| f.execute = true);
        // A script: the kernel checked execute on the script and ran its interpreter (exe).
        let script = match self.tracees.get(&pid).and_then(|t| t.pending.as_ref()).map(|p| &p.detail) {
            Some(Detail::Exec { path: Some(path) }) => std::fs::canonicalize(path).ok().filter(|p| *p != exe),
            _ => None,
        };
        if let Some(script) = script {
            self.trace.file(&script.to_string_lossy(), &program, |f| f.execute = true);
        }
        // The ELF interpreter (dynamic loader): the kernel opens it for execution too.
        let mut head = Vec::new();
        if std::fs::File::open(format!("/proc/{pid}/exe")).and_then(|f| f.take(65536).read_to_end(&mut head)).is_ok() {
            if let Some(interp) = decode::elf_interpreter(&head).and_then(|i| std::fs::canonicalize(i).ok()) {
                self.trace.file(&interp.to_string_lossy(), &program, |f| f.execute = true);
            }
        }
    }

    /// An open-family entry: the path, and whether O_CREAT would make a new entry.
    fn open(&mut self, pid: Pid, dirfd: u64, path: u64, flags: u64) -> Detail {
        let path = self.path_at(pid, dirfd, path);
        // Creating needs a right on the directory, opening an existing file does not (an
        // `> /dev/null` redirection opens with O_CREAT and must not grant writes in /dev).
        let creates = flags & libc::O_CREAT as u64 != 0 && path.as_deref().is_some_and(|p| std::fs::symlink_metadata(p).is_err());
        Detail::Open { path, flags, creates }
    }

    fn opened(&mut self, pid: Pid, program: &str, fd: i64, path: Option<PathBuf>, flags: u64, creates: bool) {
        // O_PATH descriptors grant no access; Landlock does not check them.
        if flags & libc::O_PATH as u64 != 0 {
            return;
        }
        let link = format!("/proc/{pid}/fd/{fd}");
        let Some(real) = std::fs::read_link(&link)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| p.starts_with('/') && !p.ends_with(" (deleted)"))
        else {
            return;
        };
        let is_dir = std::fs::metadata(&link).is_ok_and(|m| m.is_dir());
        let access = flags & libc::O_ACCMODE as u64;
        let read = access == libc::O_RDONLY as u64 || access == libc::O_RDWR as u64;
        let write = access != libc::O_RDONLY as u64 || flags & libc::O_TRUNC as u64 != 0;
        self.trace.file(&real, program, |f| {
            f.read |= read;
            f.write |= write;
            f.is_dir |= is_dir;
        });
        if creates {
            let parent =
                Path::new(&real).parent().map(|p| p.to_string_lossy().into_owned()).or_else(|| path.and_then(|p| canonical_parent(&p)));
            if let Some(parent) = parent {
                self.trace.file(&parent, program, |f| {
                    f.modify_entries = true;
                    f.is_dir = true;
                });
            }
        }
    }

    fn bind(&mut self, pid: Pid, fd: u64, addr: u64, len: u64) -> Detail {
        let bytes = ptrace::read_memory(pid, addr, (len as usize).min(128)).unwrap_or_default();
        if let Some((address, port)) = decode::sockaddr(&bytes) {
            let transport = self.transport(pid, fd);
            let program = self.program(pid);
            self.trace.endpoint(Endpoint { kind: NetKind::Bind, transport, address, port }, &program);
            return Detail::Bind { port: Some(port), unix_path: None };
        }
        // struct sockaddr_un: family, then sun_path; a leading NUL means an abstract name.
        let unix_path = (bytes.get(0..2) == Some(&(libc::AF_UNIX as u16).to_ne_bytes()[..]))
            .then(|| bytes.get(2..).unwrap_or_default())
            .filter(|p| p.first().is_some_and(|b| *b != 0))
            .map(|p| PathBuf::from(OsString::from_vec(p.split(|b| *b == 0).next().unwrap_or_default().to_vec())))
            .and_then(|p| self.resolve(pid, libc::AT_FDCWD as u64, p));
        Detail::Bind { port: None, unix_path }
    }

    fn endpoint(&mut self, pid: Pid, kind: NetKind, fd: u64, addr: u64, len: u64) {
        let bytes = ptrace::read_memory(pid, addr, (len as usize).min(128)).unwrap_or_default();
        if let Some((address, port)) = decode::sockaddr(&bytes) {
            let transport = self.transport(pid, fd);
            let program = self.program(pid);
            self.trace.endpoint(Endpoint { kind, transport, address, port }, &program);
        }
    }

    fn transport(&mut self, pid: Pid, fd: u64) -> Transport {
        let tgid = self.tgid(pid);
        match self.sockets.get(&(tgid, fd as i32)).map(|(_, kind)| *kind as i32 & 0xf) {
            Some(libc::SOCK_STREAM) => Transport::Tcp,
            Some(libc::SOCK_DGRAM) => Transport::Udp,
            _ => Transport::Other,
        }
    }

    /// A path argument, absolute, resolved against `dirfd` as the kernel would start.
    fn path_at(&mut self, pid: Pid, dirfd: u64, addr: u64) -> Option<PathBuf> {
        if addr == 0 {
            return None;
        }
        let bytes = ptrace::read_c_string(pid, addr, PATH_MAX).ok()?;
        self.resolve(pid, dirfd, PathBuf::from(OsString::from_vec(bytes)))
    }

    fn resolve(&mut self, pid: Pid, dirfd: u64, path: PathBuf) -> Option<PathBuf> {
        if path.is_absolute() {
            return Some(join_lexically(Path::new("/"), &path));
        }
        // AT_FDCWD arrives as a 64-bit -100, or zero-extended from a 32-bit ABI.
        let base = if dirfd as i32 == libc::AT_FDCWD { format!("/proc/{pid}/cwd") } else { format!("/proc/{pid}/fd/{}", dirfd as i32) };
        let base = std::fs::read_link(base).ok()?;
        base.is_absolute().then(|| join_lexically(&base, &path))
    }
}

fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    let bytes = ptrace::read_memory(pid, addr, 8).ok()?;
    Some(u64::from_ne_bytes(bytes.get(0..8)?.try_into().ok()?))
}

/// The parent directory of `path`, with symlinks resolved.
fn canonical_parent(path: &Path) -> Option<String> {
    let parent = path.parent()?;
    std::fs::canonicalize(parent).ok().map(|p| p.to_string_lossy().into_owned())
}

fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};

    #[test]
    fn stops_map_to_the_abi_that_made_them() {
        assert_eq!(syscall_of(AUDIT_ARCH_X86_64, 0), Some((Arch::X86_64, "read")));
        assert_eq!(syscall_of(AUDIT_ARCH_X86_64, u64::from(X32_SYSCALL_BIT)), Some((Arch::X32, "read")));
        assert_eq!(syscall_of(AUDIT_ARCH_I386, 3), Some((Arch::X86, "read")));
        assert_eq!(syscall_of(0x1234, 0), None);
        assert_eq!(syscall_of(AUDIT_ARCH_X86_64, 1 << 40), None);
    }

    #[test]
    fn namespace_masks_match_dockers() {
        assert_eq!(CLONE_NAMESPACES, 0x7E02_0000);
        assert_eq!(CLONE3_NAMESPACES, 0x7E02_0080);
    }
}
