//! What the compiled profiles allow, on palisade's seccomp decision model (every format's
//! filter is compiled to it) and on the AppArmor profile where AppArmor mediates the same
//! thing: io-uring-allowed, socket-af-alg, socket-af-vsock, socketcall-bypass,
//! namespace-creation, ptrace-allowed, keyctl-allowed, bpf-allowed, userfaultfd-allowed,
//! perf-event-open-allowed, seccomp-64bit-int-comparison.
//!
//! A check fires only when every layer that can decide the access allows it.

use crate::lint::subject::{origin_span, Locator, SeccompFilter, SeccompState, Subject};
use crate::lint::Sink;
use crate::policy::source::Span;
use crate::seccomp::action::Action;
use crate::seccomp::arch::Arch;
use crate::seccomp::condition::is_int_parameter;
use crate::seccomp::filter::{Decided, Source};

/// Whether an action may let the syscall run (a supervisor or tracer may allow it too).
pub fn may_allow(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log | Action::Notify | Action::Trace(_))
}

/// The filter of a subject, if it has one.
pub fn filter(s: &Subject) -> Option<&SeccompFilter> {
    match &s.seccomp {
        Some(SeccompState::Filter(f)) => Some(f),
        _ => None,
    }
}

/// The decision that lets `syscall(args)` through on some architecture, if any.
pub fn allows_with<'a>(f: &'a SeccompFilter, syscall: &str, args: &[u64; 6]) -> Option<(Arch, &'a Decided)> {
    f.filter.arches.iter().find_map(|af| {
        let nr = af.arch.syscall_nr(syscall)?;
        let nr = if af.arch == Arch::X32 { nr | crate::seccomp::arch::X32_SYSCALL_BIT } else { nr };
        let d = af.syscalls.get(&nr).map_or(&f.filter.default, |d| d.decide(args));
        may_allow(d.action).then_some((af.arch, d))
    })
}

/// The decision that lets `syscall` through for some arguments on some architecture, if any.
pub fn allows_any<'a>(f: &'a SeccompFilter, syscall: &str) -> Option<(Arch, &'a Decided)> {
    f.filter.arches.iter().find_map(|af| {
        let nr = af.arch.syscall_nr(syscall)?;
        let nr = if af.arch == Arch::X32 { nr | crate::seccomp::arch::X32_SYSCALL_BIT } else { nr };
        match af.syscalls.get(&nr) {
            Some(d) => d.rules.iter().map(|r| &r.decided).chain([&d.fallback]).find(|d| may_allow(d.action)).map(|d| (af.arch, d)),
            None => may_allow(f.filter.default.action).then_some((af.arch, &f.filter.default)),
        }
    })
}

/// Where to point for a decision about `syscall`.
pub fn span_for(f: &SeccompFilter, syscall: &str, d: &Decided) -> Option<Span> {
    if d.source == Source::Default {
        return f.default_span.clone().or_else(|| f.span.clone());
    }
    match &f.locator {
        Locator::Policy => origin_span(&d.origin).or_else(|| f.span.clone()),
        Locator::Json { file, tree, syscalls_path } => {
            let keys: Vec<&str> = syscalls_path.iter().map(String::as_str).collect();
            let entries = tree.path(&keys).map(|n| n.as_seq()).unwrap_or(&[]);
            let wanted = d.action.scmp_name();
            let mut best = None;
            for e in entries {
                let names = e.get("names").map(|n| n.as_seq().to_vec()).unwrap_or_default().into_iter().chain(e.get("name").cloned());
                for n in names {
                    if n.as_str() == Some(syscall) {
                        let span = Span::new(file, n.range.clone());
                        if e.get("action").and_then(|a| a.as_str()) == Some(wanted) {
                            return Some(span);
                        }
                        best.get_or_insert(span);
                    }
                }
            }
            best.or_else(|| f.span.clone())
        }
    }
}

const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWCGROUP: u64 = 0x0200_0000;
const CLONE_NEWUTS: u64 = 0x0400_0000;
const CLONE_NEWIPC: u64 = 0x0800_0000;
const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWPID: u64 = 0x2000_0000;
const CLONE_NEWNET: u64 = 0x4000_0000;
const SIGCHLD: u64 = 17;

/// Namespace flags, the user namespace first (the one unprivileged processes can create).
pub const NAMESPACE_FLAGS: &[(&str, u64)] = &[
    ("CLONE_NEWUSER", CLONE_NEWUSER),
    ("CLONE_NEWNS", CLONE_NEWNS),
    ("CLONE_NEWPID", CLONE_NEWPID),
    ("CLONE_NEWNET", CLONE_NEWNET),
    ("CLONE_NEWUTS", CLONE_NEWUTS),
    ("CLONE_NEWIPC", CLONE_NEWIPC),
    ("CLONE_NEWCGROUP", CLONE_NEWCGROUP),
];

/// How a filter lets a process create namespaces, if it does.
pub fn namespace_creation(f: &SeccompFilter) -> Option<(String, Option<Span>)> {
    for (name, flag) in NAMESPACE_FLAGS {
        if let Some((arch, d)) = allows_with(f, "unshare", &[*flag, 0, 0, 0, 0, 0]) {
            return Some((format!("unshare({name}) is allowed ({})", arch.name()), span_for(f, "unshare", d)));
        }
        if let Some((arch, d)) = allows_with(f, "clone", &[*flag | SIGCHLD, 0, 0, 0, 0, 0]) {
            return Some((format!("clone({name}) is allowed ({})", arch.name()), span_for(f, "clone", d)));
        }
    }
    allows_any(f, "clone3").map(|(arch, d)| {
        (format!("clone3 is allowed ({}); its flags are in memory seccomp cannot read", arch.name()), span_for(f, "clone3", d))
    })
}

/// Whether socket(family, type) can succeed on some architecture.
pub fn socket_family(f: &SeccompFilter, af: u64) -> Option<(Arch, &Decided)> {
    [1u64, 2, 3, 5].iter().find_map(|ty| allows_with(f, "socket", &[af, *ty, 0, 0, 0, 0]))
}

fn layered(
    sink: &mut Sink,
    code: &'static str,
    seccomp: Option<Option<(String, Option<Span>)>>,
    apparmor: Option<Option<(String, Option<Span>)>>,
    hint: Option<&str>,
) {
    let layers: Vec<Option<(String, Option<Span>)>> = [seccomp, apparmor].into_iter().flatten().collect();
    if layers.is_empty() {
        return;
    }
    sink.checked(code);
    if layers.iter().all(Option::is_some) {
        let parts: Vec<(String, Option<Span>)> = layers.into_iter().flatten().collect();
        let message = parts.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>().join("; ");
        let span = parts.iter().find_map(|(_, s)| s.clone());
        sink.fire(code, message, span, hint.map(str::to_string));
    }
}

pub fn run(s: &Subject, sink: &mut Sink) {
    let f = filter(s);
    let aa = s.apparmor.as_ref().and_then(|a| a.profile());
    let aa_rule = |r: Option<&crate::apparmor::FlatRule>, what: &str| {
        r.map(|r| (format!("AppArmor rule `{}` allows {what}", r.text()), Some(r.span.clone())))
    };

    let simple = |names: &[&str]| -> Option<Option<(String, Option<Span>)>> {
        let f = f?;
        Some(
            names
                .iter()
                .find_map(|n| allows_any(f, n).map(|(arch, d)| (format!("seccomp allows {n} ({})", arch.name()), span_for(f, n, d)))),
        )
    };

    layered(
        sink,
        "io-uring-allowed",
        simple(&["io_uring_setup", "io_uring_enter", "io_uring_register"]),
        aa.map(|(_, p)| aa_rule(p.io_uring_rule(), "io_uring")).filter(Option::is_some),
        Some("deny @io-uring"),
    );
    for (code, af, family) in [("socket-af-alg", 38u64, "alg"), ("socket-af-vsock", 40, "vsock")] {
        let sec = f.map(|f| {
            socket_family(f, af).map(|(arch, d)| {
                (format!("seccomp allows socket(AF_{}, …) ({})", family.to_uppercase(), arch.name()), span_for(f, "socket", d))
            })
        });
        let app = aa.map(|(_, p)| {
            ["stream", "dgram", "seqpacket", "raw"]
                .iter()
                .find_map(|t| p.network_allows(family, t))
                .map(|r| (format!("AppArmor rule `{}` allows network {family}", r.text()), Some(r.span.clone())))
        });
        layered(
            sink,
            code,
            sec,
            app,
            Some(&format!(
                "refuse socket() for AF_{} (arg0 == {af}) in seccomp, or `deny network {family},` in AppArmor",
                family.to_uppercase()
            )),
        );
    }
    if let Some(f) = f {
        sink.checked("socketcall-bypass");
        let family_rules = f.filter.arches.iter().any(|af| {
            af.arch
                .syscall_nr("socket")
                .and_then(|nr| af.syscalls.get(&nr))
                .is_some_and(|d| !d.rules.is_empty() || !may_allow(d.fallback.action))
        });
        let socketcall = f.filter.arches.iter().filter(|a| a.arch == Arch::X86).find_map(|_| allows_any(f, "socketcall"));
        if let (true, Some((_, d))) = (family_rules, socketcall) {
            sink.fire(
                "socketcall-bypass",
                "socket() is restricted by family, but socketcall() is allowed on x86: socketcall(SYS_SOCKET, …) reaches any family",
                span_for(f, "socketcall", d),
                Some("deny socketcall, or remove x86 from the architectures".into()),
            );
        }
    }
    let ns_apparmor = aa
        .and_then(|(_, p)| p.userns_rule())
        .map(|r| Some((format!("AppArmor rule `{}` allows user namespaces", r.text()), Some(r.span.clone()))));
    layered(
        sink,
        "namespace-creation",
        f.map(namespace_creation),
        ns_apparmor,
        Some("refuse namespace flags to clone/unshare (arg0 & 0x7E020000 == 0) and clone3 (errno ENOSYS)"),
    );
    layered(sink, "ptrace-allowed", simple(&["ptrace"]), aa.map(|(_, p)| aa_rule(p.ptrace_trace_rule(), "ptrace trace")), None);
    layered(sink, "keyctl-allowed", simple(&["keyctl", "add_key", "request_key"]), None, None);
    layered(sink, "bpf-allowed", simple(&["bpf"]), None, None);
    layered(sink, "userfaultfd-allowed", simple(&["userfaultfd"]), None, None);
    layered(sink, "perf-event-open-allowed", simple(&["perf_event_open"]), None, None);

    if let Some(f) = f {
        sink.checked("seccomp-64bit-int-comparison");
        let mut reported = std::collections::BTreeSet::new();
        for af in f.filter.arches.iter().filter(|a| !a.arch.is_32bit_abi()) {
            for decision in af.syscalls.values() {
                for rule in &decision.rules {
                    for check in rule.checks.iter().filter(|c| !c.low_word_only && is_int_parameter(decision.name, c.arg)) {
                        if reported.contains(decision.name) {
                            continue;
                        }
                        // Only a comparison that a value with high bits set gets past is a
                        // bypass: the kernel sees the low word, which the filter would refuse.
                        let low_value = check.value & 0xffff_ffff;
                        let witness = [low_value | (1 << 32), low_value | 0xffff_ffff_0000_0000].into_iter().find_map(|v| {
                            let mut high = [0u64; 6];
                            high[usize::from(check.arg)] = v;
                            let mut low = high;
                            low[usize::from(check.arg)] = v & 0xffff_ffff;
                            let (ah, al) = (decision.decide(&high).action, decision.decide(&low).action);
                            (may_allow(ah) && !may_allow(al)).then(|| {
                                format!(
                                    ": {}({v:#x}, …) gets {ah} while the kernel sees {:#x}, which the filter refuses ({al})",
                                    decision.name,
                                    v & 0xffff_ffff
                                )
                            })
                        });
                        let Some(witness) = witness else { continue };
                        reported.insert(decision.name);
                        sink.fire(
                            "seccomp-64bit-int-comparison",
                            format!(
                                "`{}` compares int parameter arg{} of {} on 64 bits; the kernel reads only the low 32{witness}",
                                check.text, check.arg, decision.name
                            ),
                            span_for(f, decision.name, &rule.decided),
                            Some("compare the low 32 bits (palisade: drop `:64`; JSON: SCMP_CMP_MASKED_EQ with mask 0xffffffff)".into()),
                        );
                    }
                }
            }
        }
    }
}
