//! `palisade generate`: run a workload in learning mode and write the smallest policy that
//! lets it work.
//!
//! # Mechanism: a ptrace tracer of our own
//!
//! The workload runs in the sandbox it will later run in (host-root mode: the host's `/`
//! read-only, private `/tmp`, fresh `/proc`, its own pid and network namespaces, the user,
//! capabilities and no_new_privileges of the policy), with seccomp allowing everything and no
//! Landlock. Inside, palisade itself is the command: a tracer that forks the workload as its
//! tracee (PTRACE_TRACEME, then execve) with PTRACE_O_TRACESYSGOOD, TRACECLONE, TRACEFORK,
//! TRACEVFORK, TRACEEXEC and EXITKILL, and reads every syscall stop with
//! PTRACE_GET_SYSCALL_INFO (Linux 5.3) and the strings and addresses behind pointers with
//! process_vm_readv(2). See [`tracer`] for how it guards the trace from the workload.
//!
//! Why ptrace, over the kernel's two seccomp-based ways of watching a process:
//!
//! - **It sees everything the policy must decide.** Every thread and child is attached
//!   before it runs (the TRACE* options), every syscall's ABI is reported (`AUDIT_ARCH_*`:
//!   x86_64, 32-bit x86 through `int 0x80`, x32 by its number bit) with all six arguments
//!   and the return value, and the tracee's memory is readable at the stop: the path an
//!   open names, the address a connect goes to, clone3's flags, and, from `/proc/PID/fd`
//!   after the call, the file the kernel actually opened. Results matter: an EACCES from
//!   bind(:80) is how a missing capability shows (see [`caps`]).
//! - **SECCOMP_RET_LOG** records each call to the audit log (or printk without auditd):
//!   that needs the host's audit configuration and the right to read the log, and a record
//!   has the number and ABI but no arguments worth having (no pointed-to data, no result) —
//!   not enough for socket families behind socketcall, paths, or addresses.
//! - **Seccomp user notification** (SECCOMP_RET_USER_NOTIF) gives a supervisor the call and
//!   pointer access, but one listener fd per installed filter: the supervisor must receive it
//!   from the process that installed the filter, sees nothing a process does before its
//!   filter is in place (the fork that starts it, the execve), must answer every call itself
//!   (emulate or CONTINUE, whose result it never sees), and gets no return values at all.
//!
//! ptrace's costs: every syscall stops twice (a learning run is several times slower than a
//! real one; `generate` is not on any hot path), the tracer must run with the workload's uid
//! (it does, in the sandbox), a workload that ptraces itself cannot be learned (a process
//! has one tracer), and a setuid program runs without its privileges while traced (with
//! no_new_privileges, the default, it does anyway). Yama's ptrace_scope does not restrict
//! tracing one's own children.
//!
//! # From observations to policy
//!
//! [`observe`] turns stops into a [`trace::Trace`]; [`merge`] adds runs and existing policies
//! up (`--merge`); [`draft`] decides each entry — syscalls by ABI (the ABIs seen become
//! `architectures`), argument rules for socket and socketpair families, clone namespace
//! flags (clone3 gets ENOSYS so libc falls back to clone), personality values and ioctl
//! requests; capabilities from refusals; Landlock grants compacted by [`paths`]; network
//! mode and egress — and, with `--base`, keeps only what the base's own compiled filter does
//! not allow already; [`emit`] writes it with a reason on every entry, and [`generate`] loads
//! and compiles the result before returning it.

pub mod caps;
pub mod decode;
pub mod draft;
pub mod emit;
pub mod learn;
pub mod merge;
pub mod observe;
pub mod paths;
pub mod trace;
pub mod tracer;

use crate::compile::{CompileError, Plan};
use crate::policy::model::{Cap, NetworkMode, Policy};
use crate::runtime::RunError;
pub use draft::{Base, Draft};
pub use merge::Learned;

/// Why generate could not produce a policy.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("learning run")]
    Run(#[source] RunError),
    #[error("learning policy")]
    Compile(#[source] CompileError),
    /// Preparing the learning run failed (scratch directory, user, palisade's executable).
    #[error("learning run: {0}")]
    Setup(String),
    #[error("learning run: the tracer wrote no trace (the run ended with exit code {code}; see its messages above)")]
    NoTrace { code: i32 },
    #[error("learning run: {0}")]
    Trace(String),
    #[error("learning run: the workload did not start (exit code {code}; see the message above)")]
    NotStarted { code: i32 },
    #[error("base `{base}`")]
    Base {
        base: String,
        #[source]
        source: CompileError,
    },
    #[error("the merged policies extend different bases ({0}); pass --base to choose one")]
    Bases(String),
    #[error("the generated policy does not load or compile (a bug in generate):\n{message}\n--- policy\n{text}")]
    Invalid { message: String, text: String },
}

/// What to learn from.
#[derive(Debug)]
pub struct Options {
    /// The profile to extend (loaded), or `None` for a standalone policy.
    pub base: Option<Base>,
    /// Existing policies to union with, each with the label reasons name it by.
    pub merged: Vec<(String, Policy)>,
    /// The workload; empty to only merge.
    pub command: Vec<String>,
    /// The learning run's network: `none` (loopback only) or `host`.
    pub network: NetworkMode,
}

/// A generated policy.
#[derive(Debug)]
pub struct Generated {
    pub text: String,
    pub draft: Draft,
    /// The learning run's exit code, if a command was run.
    pub exit_code: Option<i32>,
}

impl Base {
    /// The base for `extends`: a built-in by name, a file by its absolute path (the generated
    /// policy may be written anywhere).
    pub fn new(arg: &str, policy: Policy) -> Result<Base, GenerateError> {
        let reference = match crate::policy::PolicySource::from_arg(arg) {
            crate::policy::PolicySource::Builtin(name) => name.to_string(),
            crate::policy::PolicySource::File(path) => std::fs::canonicalize(&path).unwrap_or(path).to_string_lossy().into_owned(),
        };
        let plan = Plan::new(policy).map_err(|source| GenerateError::Base { base: arg.to_string(), source })?;
        Ok(Base { reference, plan })
    }
}

/// The base named by merged policies' chains (`builtin:NAME` or a path), when they agree.
pub fn merged_base(learned: &Learned) -> Result<Option<String>, GenerateError> {
    let mut bases: Vec<String> = learned.merged_bases.iter().map(|b| b.strip_prefix("builtin:").unwrap_or(b).to_string()).collect();
    bases.sort();
    bases.dedup();
    match bases.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(GenerateError::Bases(many.join(", "))),
    }
}

/// Learns (if a command is given), merges, decides and writes the policy, and checks that it
/// loads and compiles.
pub fn generate(mut options: Options, learned: Option<Learned>) -> Result<Generated, GenerateError> {
    let mut learned = learned.unwrap_or_default();
    for (label, policy) in &options.merged {
        learned.add_policy(policy, label);
    }
    let mut exit_code = None;
    if !options.command.is_empty() {
        let start = match &options.base {
            Some(b) => b.plan.policy.clone(),
            None => standalone_settings(),
        };
        // Capabilities merged policies keep are the learning run's too: a second run learns
        // what the workload does once it has them.
        let extra: Vec<Cap> = learned
            .trace
            .refusals
            .values()
            .filter_map(|(r, _)| format!("CAP_{}", r.capability).parse().ok().map(Cap))
            .filter(|c: &Cap| !caps::NEVER_GRANTED.contains(&c.name().as_str()))
            .collect();
        let trace = learn::run(&start, &extra, options.network, &options.command)?;
        // Nothing was executed: the command was not found or not executable (the tracer said
        // which); a policy for that would be a policy for nothing.
        if !trace.files.values().any(|f| f.execute) {
            return Err(GenerateError::NotStarted { code: trace.exit_code });
        }
        exit_code = Some(trace.exit_code);
        learned.add_trace(&trace);
    }
    let base = options.base.take();
    let draft = draft::draft(&learned, base.as_ref());
    let text = emit::render(&draft);
    check(&text)?;
    Ok(Generated { text, draft, exit_code })
}

/// The settings a standalone policy has besides what it learns, as a policy.
pub fn standalone_settings() -> Policy {
    let text = format!("[policy]\nname = \"generate-learning\"\n\n{}", emit::STANDALONE);
    crate::policy::load_str("generate-learning", &text).expect("the standalone settings are a valid policy")
}

/// Loads and compiles generated text: what `palisade policy check` does.
pub fn check(text: &str) -> Result<Plan, GenerateError> {
    let invalid = |message: String| GenerateError::Invalid { message, text: text.to_string() };
    let policy = crate::policy::load_str("generated.toml", text).map_err(|d| invalid(d.render()))?;
    Plan::new(policy).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::arch::Arch;

    fn busybox_like() -> Learned {
        let mut t = trace::Trace { command: vec!["busybox".into(), "ls".into(), "/usr".into()], ..Default::default() };
        for name in ["execve", "brk", "openat", "getdents64", "write", "exit_group", "ioctl", "socket", "clone3", "clone"] {
            t.syscall(Arch::X86_64, name, "busybox");
        }
        t.ioctls.entry(0x5401).or_default().add("busybox");
        t.socket_families.entry(1).or_default().add("busybox");
        t.clone_namespaces.entry(0).or_default().add("busybox");
        t.clone3_namespaces.entry(0).or_default().add("busybox");
        t.file("/usr", "busybox", |f| {
            f.read = true;
            f.is_dir = true;
        });
        t.file("/usr/bin/busybox", "busybox", |f| f.execute = true);
        t.file("/dev/null", "busybox", |f| f.write = true);
        t.refusal("NET_BIND_SERVICE", "bind to port 80 refused with EACCES".into(), "busybox");
        let mut l = Learned::default();
        l.add_trace(&t);
        l
    }

    #[test]
    fn a_standalone_policy_loads_compiles_and_allows_only_what_was_seen() {
        let g = generate(Options { base: None, merged: Vec::new(), command: Vec::new(), network: NetworkMode::None }, Some(busybox_like()))
            .unwrap();
        let plan = check(&g.text).unwrap();
        let filter = &plan.filter;
        let nr = |n: &str| Arch::X86_64.syscall_nr(n).unwrap();
        let allow = crate::seccomp::action::Action::Allow;
        let arch = Arch::X86_64.audit_arch();
        assert_eq!(filter.decide(arch, nr("getdents64"), &[0; 6]), allow);
        assert_ne!(filter.decide(arch, nr("mkdir"), &[0; 6]), allow, "{}", g.text);
        assert_eq!(filter.decide(arch, nr("socket"), &[1, 1, 0, 0, 0, 0]), allow);
        assert_ne!(filter.decide(arch, nr("socket"), &[2, 1, 0, 0, 0, 0]), allow);
        assert_eq!(filter.decide(arch, nr("ioctl"), &[1, 0x5401, 0, 0, 0, 0]), allow);
        assert_ne!(filter.decide(arch, nr("ioctl"), &[1, 0x5412, 0, 0, 0, 0]), allow);
        assert_eq!(filter.decide(arch, nr("clone"), &[0x11, 0, 0, 0, 0, 0]), allow);
        assert_ne!(filter.decide(arch, nr("clone"), &[0x1000_0011, 0, 0, 0, 0, 0]), allow, "CLONE_NEWUSER is refused");
        assert_eq!(filter.decide(arch, nr("clone3"), &[0; 6]), crate::seccomp::action::Action::Errno(38));
        assert_eq!(
            filter.decide(Arch::X86.audit_arch(), 3, &[0; 6]),
            crate::seccomp::action::Action::KillProcess,
            "unseen ABIs are killed"
        );
        let p = &plan.policy;
        assert!(p.capabilities.kept.keys().any(|c| c.name() == "NET_BIND_SERVICE"));
        let names = |items: &[crate::policy::model::Item]| items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&p.filesystem.landlock.read), ["/usr"]);
        assert_eq!(names(&p.filesystem.landlock.write), ["/dev/null"]);
        assert_eq!(names(&p.filesystem.landlock.execute), ["/usr/bin/busybox"]);
        assert_eq!(p.network.mode.value, NetworkMode::None);
        // Every entry has a reason that says it was observed.
        for line in g.text.lines().filter(|l| l.trim_start().starts_with("{ name")) {
            assert!(line.contains("reason = \"observed: ") || line.contains("palisade's runtime"), "{line}");
        }
    }

    #[test]
    fn with_a_base_only_what_it_lacks_is_added_and_its_denials_are_warnings() {
        let mut l = busybox_like();
        l.trace.syscall(Arch::X86_64, "io_uring_setup", "busybox");
        l.trace.syscall(Arch::X86_64, "sethostname", "busybox");
        let untrusted = crate::policy::load(&crate::policy::PolicySource::Builtin("untrusted")).unwrap();
        let base = Base::new("untrusted", untrusted).unwrap();
        let g =
            generate(Options { base: Some(base), merged: Vec::new(), command: Vec::new(), network: NetworkMode::None }, Some(l)).unwrap();
        let d = &g.draft;
        assert_eq!(d.extends.as_deref(), Some("untrusted"));
        assert!(d.allow.is_empty(), "untrusted allows all of these: {:?}", d.allow);
        assert!(d.rules.is_empty(), "{:?}", d.rules);
        assert!(d.read.is_empty() && d.execute.is_empty(), "untrusted's Landlock covers /usr");
        assert!(d.network.is_none());
        assert_eq!(d.capabilities.len(), 1);
        let warnings = d.warnings.join("\n");
        assert!(warnings.contains("`io_uring_setup` was observed, but base `untrusted` denies it"), "{warnings}");
        assert!(warnings.contains("`sethostname`"), "{warnings}");
        assert!(!g.text.contains("io_uring"), "a denied syscall is never allowed: {}", g.text);
    }

    #[test]
    fn merging_a_generated_policy_gives_the_same_policy() {
        let once =
            generate(Options { base: None, merged: Vec::new(), command: Vec::new(), network: NetworkMode::None }, Some(busybox_like()))
                .unwrap();
        let policy = crate::policy::load_str("once.toml", &once.text).unwrap();
        let again = generate(
            Options { base: None, merged: vec![("once.toml".into(), policy)], command: Vec::new(), network: NetworkMode::None },
            None,
        )
        .unwrap();
        let entries = |d: &Draft| {
            (
                d.allow.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
                d.rules.iter().map(|r| (r.syscalls.clone(), r.action.clone(), r.when.clone())).collect::<Vec<_>>(),
                d.capabilities.len(),
            )
        };
        assert_eq!(entries(&again.draft), entries(&once.draft));
        let paths = |d: &Draft| [&d.read, &d.write, &d.execute].map(|l| l.iter().map(|e| e.name.clone()).collect::<Vec<_>>());
        assert_eq!(paths(&again.draft), paths(&once.draft));
    }
}
