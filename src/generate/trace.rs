//! What one learning run saw, as the tracer hands it to `palisade generate`: deduplicated
//! observations, each with how often and by which programs. Serialized as JSON between the
//! tracer (inside the sandbox) and generate (outside); [`Trace::validate`] checks what comes
//! back before anything is built from it.

use crate::seccomp::arch::Arch;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How many program names an observation keeps for its reason.
const MAX_PROGRAMS: usize = 4;

/// How often something was seen, and by which programs (executable base names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub count: u64,
    pub programs: BTreeSet<String>,
    /// Policies this was merged from (`--merge`), for entries no trace of this run saw.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sources: BTreeSet<String>,
}

impl Seen {
    pub fn add(&mut self, program: &str) {
        self.count += 1;
        if self.programs.len() < MAX_PROGRAMS || self.programs.contains(program) {
            self.programs.insert(program.to_string());
        }
    }

    pub fn merge(&mut self, other: &Seen) {
        self.count += other.count;
        for p in &other.programs {
            if self.programs.len() < MAX_PROGRAMS {
                self.programs.insert(p.clone());
            }
        }
        self.sources.extend(other.sources.iter().cloned());
    }

    /// Evidence from a merged policy file rather than a run.
    pub fn from_file(file: &str) -> Seen {
        Seen { count: 0, programs: BTreeSet::new(), sources: BTreeSet::from([file.to_string()]) }
    }

    /// `3 calls by python3.11, sh`; `in the run behind a.toml` for merged evidence.
    pub fn describe(&self, unit: &str) -> String {
        let plural = if self.count == 1 { "" } else { "s" };
        let by: Vec<&str> = self.programs.iter().map(String::as_str).collect();
        let mut text = match (self.count, by.is_empty()) {
            (0, _) => String::new(),
            (n, true) => format!("{n} {unit}{plural}"),
            (n, false) => format!("{n} {unit}{plural} by {}", by.join(", ")),
        };
        if !self.sources.is_empty() {
            let files: Vec<&str> = self.sources.iter().map(String::as_str).collect();
            let sep = if text.is_empty() { "" } else { "; also " };
            text.push_str(&format!("{sep}in the run behind {}", files.join(", ")));
        }
        text
    }
}

/// How a path was used. Paths are canonical (symlinks resolved, as Landlock sees them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUse {
    /// Opened for reading (a file) or listing (a directory).
    pub read: bool,
    /// Opened for writing, or truncated.
    pub write: bool,
    /// An entry was created, removed or renamed in this directory.
    pub modify_entries: bool,
    /// Executed (the program, a script, or the ELF interpreter the kernel loaded for it).
    pub execute: bool,
    pub is_dir: bool,
    pub seen: Seen,
}

/// Transport of a network use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
    Other,
}

/// What a socket address was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetKind {
    /// connect(2), or sendto/sendmsg with a destination.
    Connect,
    Bind,
    /// The peer of an accepted connection.
    Accept,
}

/// One IPv4/IPv6 endpoint the workload used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    pub kind: NetKind,
    pub transport: Transport,
    pub address: std::net::IpAddr,
    pub port: u16,
}

/// A privileged operation the kernel refused: evidence of a capability the workload lacked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Refusal {
    /// Capability name without `CAP_`.
    pub capability: String,
    /// `bind(0.0.0.0:80) refused with EACCES`.
    pub what: String,
}

/// Everything one run observed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub command: Vec<String>,
    /// The workload's exit code (128 + N for signal N).
    pub exit_code: i32,
    /// By architecture name, then syscall name.
    pub syscalls: BTreeMap<String, BTreeMap<String, Seen>>,
    /// socket(2) by address family (low 32 bits of arg0, as the kernel reads it).
    pub socket_families: BTreeMap<u32, Seen>,
    pub socketpair_families: BTreeMap<u32, Seen>,
    /// clone(2) by the namespace flags it carried (0: none).
    pub clone_namespaces: BTreeMap<u64, Seen>,
    /// clone3(2) by the namespace flags in its `clone_args` (read from memory).
    pub clone3_namespaces: BTreeMap<u64, Seen>,
    /// personality(2) by its argument.
    pub personalities: BTreeMap<u64, Seen>,
    /// ioctl(2) by request (low 32 bits).
    pub ioctls: BTreeMap<u32, Seen>,
    pub files: BTreeMap<String, FileUse>,
    pub endpoints: BTreeMap<String, (Endpoint, Seen)>,
    pub refusals: BTreeMap<String, (Refusal, Seen)>,
    /// Things the user should know that are not policy entries (opens refused with EACCES…).
    pub notes: BTreeSet<String>,
}

/// A trace that does not hold together: it came from an untrusted process's run.
#[derive(Debug, thiserror::Error)]
#[error("the learning run's trace is invalid: {0}")]
pub struct InvalidTrace(pub String);

impl Trace {
    pub fn syscall(&mut self, arch: Arch, name: &str, program: &str) {
        self.syscalls.entry(arch.name().to_string()).or_default().entry(name.to_string()).or_default().add(program);
    }

    pub fn file(&mut self, path: &str, program: &str, update: impl FnOnce(&mut FileUse)) {
        let entry = self.files.entry(path.to_string()).or_default();
        update(entry);
        entry.seen.add(program);
    }

    pub fn endpoint(&mut self, endpoint: Endpoint, program: &str) {
        let key = format!("{:?} {:?} {}:{}", endpoint.kind, endpoint.transport, endpoint.address, endpoint.port);
        self.endpoints.entry(key).or_insert_with(|| (endpoint, Seen::default())).1.add(program);
    }

    pub fn refusal(&mut self, capability: &str, what: String, program: &str) {
        let key = format!("{capability} {what}");
        self.refusals.entry(key).or_insert_with(|| (Refusal { capability: capability.to_string(), what }, Seen::default())).1.add(program);
    }

    /// Checks what a tracer reported: known architectures and syscalls, absolute paths, known
    /// capabilities. The tracer runs beside the workload, so this is input, not truth.
    pub fn validate(&self) -> Result<(), InvalidTrace> {
        for (arch, calls) in &self.syscalls {
            let arch: Arch = arch.parse().map_err(|_| InvalidTrace(format!("unknown architecture `{arch}`")))?;
            if let Some(name) = calls.keys().find(|n| arch.syscall_nr(n).is_none()) {
                return Err(InvalidTrace(format!("`{name}` is not a syscall of {arch}")));
            }
        }
        if let Some(path) = self.files.keys().find(|p| !p.starts_with('/') || p.contains('\0')) {
            return Err(InvalidTrace(format!("path `{path}` is not absolute")));
        }
        for (refusal, _) in self.refusals.values() {
            if format!("CAP_{}", refusal.capability).parse::<caps::Capability>().is_err() {
                return Err(InvalidTrace(format!("unknown capability `{}`", refusal.capability)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_counts_and_keeps_a_few_programs() {
        let mut s = Seen::default();
        for p in ["a", "b", "a", "c", "d", "e"] {
            s.add(p);
        }
        assert_eq!(s.count, 6);
        assert_eq!(s.programs.len(), MAX_PROGRAMS);
        assert_eq!(s.describe("call"), "6 calls by a, b, c, d");
    }

    #[test]
    fn traces_round_trip_and_are_validated() {
        let mut t = Trace::default();
        t.syscall(Arch::X86_64, "openat", "cat");
        t.file("/etc/hostname", "cat", |f| f.read = true);
        t.refusal("NET_BIND_SERVICE", "bind(0.0.0.0:80) refused with EACCES".into(), "srv");
        let back: Trace = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert!(back.validate().is_ok());
        let mut bad = t.clone();
        bad.syscall(Arch::X86_64, "socketcall", "x");
        assert!(bad.validate().unwrap_err().to_string().contains("socketcall"));
        let mut bad = t.clone();
        bad.file("relative", "x", |f| f.read = true);
        assert!(bad.validate().is_err());
    }
}
