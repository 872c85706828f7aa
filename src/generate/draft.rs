//! From what was learned to the entries of the policy: which syscalls, argument rules,
//! capabilities, Landlock grants and network the workload needs, each with its reason; with
//! `--base`, only what the base does not already give (decided by the base's own compiled
//! filter, so `extends` semantics are exactly the runtime's). What the base denies outright
//! cannot be added by a policy that extends it: those become warnings, never silent allows.

use super::caps::NEVER_GRANTED;
use super::decode::{family_name, ioctl_name};
use super::merge::Learned;
use super::observe::{CLONE3_NAMESPACES, CLONE_NAMESPACES};
use super::paths::{self, Coverage};
use super::trace::{NetKind, Seen, Transport};
use crate::compile::Plan;
use crate::policy::model::{NetworkMode, SeccompRule};
use crate::seccomp::action::Action;
use crate::seccomp::arch::Arch;
use crate::seccomp::filter::Source;
use std::collections::{BTreeMap, BTreeSet};

/// The profile a generated policy extends.
#[derive(Debug)]
pub struct Base {
    /// As the generated policy's `extends` names it: a built-in name or an absolute path.
    pub reference: String,
    pub plan: Plan,
}

/// A list entry with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub reason: String,
}

/// A `[[seccomp.rule]]` to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub syscalls: Vec<String>,
    pub action: String,
    pub when: Vec<String>,
    /// Extra `key = value` lines of a rule carried over from a merged policy.
    pub extra: Vec<(String, String)>,
    pub reason: String,
}

/// One `egress` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressEntry {
    pub to: String,
    pub ports: Vec<u16>,
    pub protocol: &'static str,
    pub reason: String,
}

/// The generated policy, before it is written.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub commands: Vec<Vec<String>>,
    /// `extends`; `None` writes a standalone policy.
    pub extends: Option<String>,
    /// Capabilities to keep (standalone) or add (to the base's).
    pub capabilities: Vec<Entry>,
    /// `None`: the base's architectures cover every ABI seen.
    pub architectures: Option<Vec<Arch>>,
    pub allow: Vec<Entry>,
    pub rules: Vec<Rule>,
    pub read: Vec<Entry>,
    pub write: Vec<Entry>,
    pub execute: Vec<Entry>,
    /// `None`: the base's mode is right.
    pub network: Option<(NetworkMode, String)>,
    pub egress: Vec<EgressEntry>,
    /// Things that make the policy not work as learned, or that need a person's decision.
    pub warnings: Vec<String>,
    /// Facts worth knowing that are not entries.
    pub notes: Vec<String>,
}

/// Syscalls whose arguments are written as rules rather than allowed whole.
const ARGUMENT_RULES: &[&str] = &["socket", "socketpair", "clone", "clone3", "personality", "ioctl"];

/// What the base does with a call.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Allowed,
    /// A deny list entry: nothing that extends the base can allow it.
    Denied(String),
    /// Anything else (default action, a refusing rule, an architecture it does not filter).
    Missing,
}

fn verdict(base: Option<&Base>, arch: Arch, syscall: &str, args: Option<[u64; 6]>) -> Verdict {
    let Some(base) = base else { return Verdict::Missing };
    let filter = &base.plan.filter;
    let (Some(af), Some(nr)) = (filter.arch(arch), arch.syscall_nr(syscall)) else { return Verdict::Missing };
    let decided = match af.syscalls.get(&nr) {
        Some(d) => match args {
            Some(a) => d.decide(&a).clone(),
            None => d.fallback.clone(),
        },
        None => filter.default.clone(),
    };
    match (decided.source, decided.action) {
        (Source::Deny, action) => Verdict::Denied(format!("{action}, {}", decided.origin.describe())),
        (_, Action::Allow) => Verdict::Allowed,
        _ => Verdict::Missing,
    }
}

/// The arches a syscall was seen on.
fn arches_of(learned: &Learned, syscall: &str) -> Vec<Arch> {
    learned.trace.syscalls.iter().filter(|(_, calls)| calls.contains_key(syscall)).filter_map(|(a, _)| a.parse().ok()).collect()
}

fn observed(seen: &Seen, unit: &str) -> String {
    format!("observed: {}", seen.describe(unit))
}

/// Names of the flags set in `mask`, from the header tables, joined with `|`.
fn flag_names(mask: u64) -> String {
    let names = [
        "CLONE_NEWNS",
        "CLONE_NEWCGROUP",
        "CLONE_NEWUTS",
        "CLONE_NEWIPC",
        "CLONE_NEWUSER",
        "CLONE_NEWPID",
        "CLONE_NEWNET",
        "CLONE_NEWTIME",
    ];
    let set: Vec<&str> = names.into_iter().filter(|n| crate::seccomp::arch::constant(n).is_some_and(|v| mask & v != 0)).collect();
    if set.is_empty() {
        "none".into()
    } else {
        set.join("|")
    }
}

/// Decides every entry of the generated policy.
pub fn draft(learned: &Learned, base: Option<&Base>) -> Draft {
    let mut d = Draft { commands: learned.commands.clone(), extends: base.map(|b| b.reference.clone()), ..Draft::default() };
    let base_name = base.map(|b| b.plan.policy.name.clone()).unwrap_or_default();
    let denied = |d: &mut Draft, what: &str, why: &str| {
        d.warnings.push(format!("{what} was observed, but base `{base_name}` denies it ({why}); a policy that extends it cannot allow it, so the workload will fail there"));
    };

    // Architectures: the ABIs the workload used.
    let seen_arches: BTreeSet<Arch> = learned.trace.syscalls.keys().filter_map(|a| a.parse().ok()).collect();
    d.architectures = match base {
        None => Some(if seen_arches.is_empty() { Arch::host().into_iter().collect() } else { seen_arches.iter().copied().collect() }),
        Some(b) => {
            let have: BTreeSet<Arch> = b.plan.policy.seccomp.architectures.value.iter().copied().collect();
            let missing: Vec<Arch> = seen_arches.difference(&have).copied().collect();
            (!missing.is_empty()).then(|| {
                d.warnings.push(format!("the workload used the {} ABI, which base `{base_name}` does not filter (its calls are killed there); the policy adds it", missing.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")));
                have.union(&seen_arches).copied().collect()
            })
        }
    };

    // Plain syscalls, with their reasons.
    let mut plain: BTreeMap<&str, (Seen, Vec<Arch>)> = BTreeMap::new();
    for (arch, calls) in &learned.trace.syscalls {
        let Ok(arch) = arch.parse::<Arch>() else { continue };
        for (name, seen) in calls.iter().filter(|(n, _)| !ARGUMENT_RULES.contains(&n.as_str())) {
            let e = plain.entry(name.as_str()).or_default();
            e.0.merge(seen);
            e.1.push(arch);
        }
    }
    // Allowed outright when every ABI the workload used needs it; otherwise by a rule limited
    // to the ABIs that made the call (an x86_64 program's one `int 0x80` call does not open
    // the 32-bit table wide).
    let mut per_abi: BTreeMap<Vec<Arch>, Vec<(&str, &Seen)>> = BTreeMap::new();
    for (name, (seen, arches)) in &plain {
        let mut missing = BTreeSet::new();
        let mut denial = None;
        for a in arches {
            match verdict(base, *a, name, None) {
                Verdict::Denied(why) => denial = Some(why),
                Verdict::Missing => {
                    missing.insert(*a);
                }
                Verdict::Allowed => {}
            }
        }
        if let Some(why) = denial {
            denied(&mut d, &format!("`{name}`"), &why);
        } else if !missing.is_empty() && missing == seen_arches {
            d.allow.push(Entry { name: name.to_string(), reason: observed(seen, "call") });
        } else if !missing.is_empty() {
            per_abi.entry(missing.into_iter().collect()).or_default().push((name, seen));
        }
    }
    // One rule per set of ABIs, its reason counting each call.
    for (arches, calls) in per_abi {
        let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
        let extra = vec![("arches".to_string(), format!("[{}]", names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")))];
        let mut all = Seen::default();
        calls.iter().for_each(|(_, s)| all.merge(s));
        let counts: Vec<String> = calls.iter().map(|(n, s)| format!("{n} ×{}", s.count)).collect();
        let by = all.programs.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
        let reason = format!(
            "observed through the {} ABI only{}: {}",
            names.join(" and "),
            if by.is_empty() { String::new() } else { format!(", by {by}") },
            counts.join(", ")
        );
        d.rules.push(Rule {
            syscalls: calls.iter().map(|(n, _)| n.to_string()).collect(),
            action: "allow".into(),
            when: Vec::new(),
            extra,
            reason,
        });
    }
    if plain.contains_key("socketcall") {
        d.notes.push(
            "x86 socketcall() passes its arguments in memory, where seccomp cannot check the socket family: it is allowed whole".into(),
        );
    }

    argument_rules(&mut d, learned, base, &denied);
    runtime_needs(&mut d, learned, base);
    capabilities(&mut d, learned, base);
    landlock(&mut d, learned, base);
    network(&mut d, learned, base);
    d.notes.extend(learned.trace.notes.iter().cloned());
    d
}

/// socket, socketpair, clone, clone3, personality and ioctl, by the arguments seen.
fn argument_rules(d: &mut Draft, learned: &Learned, base: Option<&Base>, denied: &dyn Fn(&mut Draft, &str, &str)) {
    let t = &learned.trace;
    let standalone = base.is_none();
    // Each value seen becomes an allow rule unless the base already allows the call with it.
    let by_value = |d: &mut Draft, syscall: &str, arg: usize, values: Vec<(u64, String, &Seen)>| -> bool {
        let arches = arches_of(learned, syscall);
        let mut any = false;
        for (value, shown, seen) in values {
            let mut args = [0u64; 6];
            args[arg] = value;
            let verdicts: Vec<Verdict> = arches.iter().map(|a| verdict(base, *a, syscall, Some(args))).collect();
            if let Some(Verdict::Denied(why)) = verdicts.iter().find(|v| matches!(v, Verdict::Denied(_))) {
                denied(d, &format!("{syscall}({shown})"), why);
            } else if verdicts.contains(&Verdict::Missing) || arches.is_empty() {
                let when = vec![format!("arg{arg} == {shown}")];
                d.rules.push(Rule {
                    syscalls: vec![syscall.into()],
                    action: "allow".into(),
                    when,
                    extra: Vec::new(),
                    reason: observed(seen, "call"),
                });
                any = true;
            }
        }
        any
    };
    by_value(d, "socket", 0, socket_values(&t.socket_families));
    by_value(d, "socketpair", 0, socket_values(&t.socketpair_families));

    // clone: the namespace flags seen (through clone or clone3, which falls back to clone).
    let mut clone_seen = Seen::default();
    let mut used = 0u64;
    for (flags, seen) in t.clone_namespaces.iter().chain(&t.clone3_namespaces) {
        used |= flags & CLONE_NAMESPACES;
        clone_seen.merge(seen);
    }
    if clone_seen.count > 0 || !clone_seen.sources.is_empty() {
        let arches = arches_of(learned, "clone").into_iter().chain(arches_of(learned, "clone3")).collect::<BTreeSet<_>>();
        let flags: BTreeSet<u64> = t
            .clone_namespaces
            .keys()
            .chain(t.clone3_namespaces.keys())
            .map(|f| (f & CLONE_NAMESPACES) | nix::libc::SIGCHLD as u64)
            .collect();
        let verdicts: Vec<Verdict> = arches
            .iter()
            .flat_map(|a| flags.iter().map(move |f| (a, f)))
            .map(|(a, f)| verdict(base, *a, "clone", Some([*f, 0, 0, 0, 0, 0])))
            .collect();
        if let Some(Verdict::Denied(why)) = verdicts.iter().find(|v| matches!(v, Verdict::Denied(_))) {
            denied(d, "clone", why);
        } else if verdicts.contains(&Verdict::Missing) || verdicts.is_empty() {
            let refused = CLONE_NAMESPACES & !used;
            let reason = format!("{} (namespace flags used: {}); clone3 falls back to it", observed(&clone_seen, "call"), flag_names(used));
            if refused == 0 {
                d.warnings.push("the workload creates every kind of namespace; clone is allowed whole".into());
                d.allow.push(Entry { name: "clone".into(), reason });
            } else {
                let reason = format!("{reason}; creating other namespaces is refused");
                d.rules.push(Rule {
                    syscalls: vec!["clone".into()],
                    action: "allow".into(),
                    when: vec![format!("arg0 & {} == 0", flag_names(refused))],
                    extra: Vec::new(),
                    reason,
                });
            }
        }
    }
    // clone3: its flags are in memory, out of seccomp's reach. ENOSYS makes glibc and other
    // runtimes fall back to clone(), whose flags the rule above checks.
    if !t.clone3_namespaces.is_empty() {
        let mut seen = Seen::default();
        t.clone3_namespaces.values().for_each(|s| seen.merge(s));
        let with_namespaces = t.clone3_namespaces.keys().fold(0, |a, f| a | f) & CLONE3_NAMESPACES;
        let enosys = Action::Errno(nix::libc::ENOSYS as u16);
        let base_action = base.and_then(|b| {
            let arch = arches_of(learned, "clone3").into_iter().next()?;
            let nr = arch.syscall_nr("clone3")?;
            b.plan.filter.arch(arch)?.syscalls.get(&nr).map(|s| (s.fallback.source, s.fallback.action))
        });
        match base_action {
            Some((Source::Deny, action)) => denied(d, "clone3", &action.to_string()),
            Some((_, Action::Allow)) => {}
            Some((_, a)) if a == enosys && with_namespaces == 0 => {}
            _ if with_namespaces != 0 => {
                d.warnings.push(format!("clone3 was called with namespace flags ({}); seccomp cannot check clone3's flags, so it is allowed whole", flag_names(with_namespaces)));
                d.allow.push(Entry { name: "clone3".into(), reason: observed(&seen, "call") });
            }
            _ => d.rules.push(Rule { syscalls: vec!["clone3".into()], action: "errno(ENOSYS)".into(), when: Vec::new(), extra: Vec::new(), reason: format!("{}, none creating namespaces; seccomp cannot read clone3's flags, and ENOSYS makes libc fall back to clone, whose flags the rule above checks", observed(&seen, "call")) }),
        }
    }

    by_value(d, "personality", 0, t.personalities.iter().map(|(v, s)| (*v, format!("{v:#x}"), s)).collect());
    let ioctls = by_value(d, "ioctl", 1, t.ioctls.iter().map(|(r, s)| (u64::from(*r), ioctl_name(*r), s)).collect());

    // Rules of merged policies that generate does not write itself, as they were.
    for r in &learned.extra_rules {
        d.rules.push(carried(r));
    }

    // What else a standalone policy refuses with a code programs understand.
    if standalone {
        for (syscall, errno, why) in [
            ("socket", "EAFNOSUPPORT", "every other address family: programs read EAFNOSUPPORT as \"not available here\" and fall back"),
            ("socketpair", "EAFNOSUPPORT", "every other address family"),
        ] {
            if !arches_of(learned, syscall).is_empty() {
                d.rules.push(Rule {
                    syscalls: vec![syscall.into()],
                    action: format!("errno({errno})"),
                    when: Vec::new(),
                    extra: Vec::new(),
                    reason: why.into(),
                });
            }
        }
        if ioctls {
            d.rules.push(Rule {
                syscalls: vec!["ioctl".into()],
                action: "errno(ENOTTY)".into(),
                when: Vec::new(),
                extra: Vec::new(),
                reason: "every other request: ENOTTY is what a device that does not know a request answers".into(),
            });
        }
    }
}

/// Socket families as rule values: number, name, evidence.
fn socket_values(m: &BTreeMap<u32, Seen>) -> Vec<(u64, String, &Seen)> {
    m.iter().map(|(f, s)| (u64::from(*f), family_name(*f), s)).collect()
}

/// A merged policy's rule, carried over as written.
fn carried(r: &SeccompRule) -> Rule {
    let mut extra = Vec::new();
    if let Some(c) = r.if_capability {
        extra.push(("if_capability".into(), format!("\"{}\"", c.name())));
    }
    if let Some(c) = r.unless_capability {
        extra.push(("unless_capability".into(), format!("\"{}\"", c.name())));
    }
    if let Some(arches) = &r.arches {
        extra.push(("arches".into(), format!("[{}]", arches.iter().map(|a| format!("\"{}\"", a.name())).collect::<Vec<_>>().join(", "))));
    }
    Rule {
        syscalls: r.syscalls.clone(),
        action: r.action.to_string(),
        when: r.conditions.iter().map(|c| c.text.clone()).collect(),
        extra,
        reason: r.reason.clone().unwrap_or_else(|| format!("carried over from {}", r.origin.describe())),
    }
}

/// Calls palisade's runtime makes after the filter is in place, which no trace shows.
fn runtime_needs(d: &mut Draft, learned: &Learned, base: Option<&Base>) {
    let host = Arch::host().unwrap_or(Arch::X86_64);
    let need = |d: &mut Draft, syscall: &str, why: &str| {
        let listed = d.allow.iter().any(|e| e.name == syscall) || learned.trace.syscalls.values().any(|c| c.contains_key(syscall));
        if !listed && verdict(base, host, syscall, None) == Verdict::Missing {
            d.allow.push(Entry { name: syscall.into(), reason: why.into() });
        }
    };
    need(d, "execve", "palisade's runtime starts the workload with execve, after the filter is installed");
    let no_new_privs = base.is_none_or(|b| b.plan.policy.process.no_new_privileges.value);
    if !no_new_privs {
        need(
            d,
            "capset",
            "palisade's runtime: without no_new_privileges the filter goes in before the last capabilities are dropped (capset)",
        );
    }
}

/// Capabilities from refusals (see `caps`).
fn capabilities(d: &mut Draft, learned: &Learned, base: Option<&Base>) {
    let mut by_cap: BTreeMap<String, (Vec<String>, Seen)> = BTreeMap::new();
    for (refusal, seen) in learned.trace.refusals.values() {
        let e = by_cap.entry(refusal.capability.clone()).or_default();
        e.0.push(refusal.what.clone());
        e.1.merge(seen);
    }
    for (cap, (whats, seen)) in by_cap {
        if base.is_some_and(|b| b.plan.policy.capabilities.kept.keys().any(|c| c.name() == cap)) {
            continue;
        }
        let what = whats.join("; ");
        if NEVER_GRANTED.contains(&cap.as_str()) {
            d.warnings.push(format!("the workload needed CAP_{cap} ({what}); generate never grants it by itself: add it to the policy if you accept what it allows"));
            continue;
        }
        let from_run = seen.count > 0;
        d.capabilities.push(Entry { name: cap.clone(), reason: format!("observed: {what} ({})", seen.describe("time")) });
        if from_run {
            d.warnings.push(format!("the learning run saw {what}; the policy keeps CAP_{cap}, and what the workload does with it was not seen: run generate again with --merge on this policy to learn it"));
        }
    }
}

/// Landlock grants, minus what the base already grants.
fn landlock(d: &mut Draft, learned: &Learned, base: Option<&Base>) {
    let g = paths::grants(&learned.trace.files);
    d.warnings.extend(g.refused.iter().cloned());
    let base_ll = base.map(|b| &b.plan.policy.filesystem.landlock).filter(|ll| ll.enabled());
    // Base grants as the kernel resolves them (/lib64 may be a symlink into /usr).
    let canonical = |items: &[crate::policy::model::Item]| -> Vec<String> {
        items.iter().map(|i| std::fs::canonicalize(&i.name).map_or_else(|_| i.name.clone(), |p| p.to_string_lossy().into_owned())).collect()
    };
    let (b_read, b_write, b_exec) = match base_ll {
        Some(ll) => (canonical(&ll.read), canonical(&ll.write), canonical(&ll.execute)),
        None => Default::default(),
    };
    let uncovered = |grants: &BTreeMap<String, Coverage>, have: &[String], verb: &str, also: &[String]| -> Vec<Entry> {
        grants
            .iter()
            .filter(|(path, cov)| {
                let is_file = !std::path::Path::new(path).is_dir() && !cov.paths.is_empty();
                let covered = have.iter().any(|h| paths::covers(h, path)) || (is_file && also.iter().any(|h| paths::covers(h, path)));
                !covered
            })
            .map(|(path, cov)| Entry { name: path.clone(), reason: format!("observed: {}", cov.describe(verb)) })
            .collect()
    };
    // A file read is also covered by an execute grant (execute includes read_file).
    d.read = uncovered(&g.read, &b_read, "read", &b_exec);
    d.write = uncovered(&g.write, &b_write, "written", &[]);
    d.execute = uncovered(&g.execute, &b_exec, "executed", &[]);
}

/// Network mode and egress.
fn network(d: &mut Draft, learned: &Learned, base: Option<&Base>) {
    use super::decode::{is_loopback, is_unspecified};
    let mut egress: BTreeMap<(String, &'static str), (BTreeSet<u16>, Seen)> = BTreeMap::new();
    for (endpoint, seen) in learned.trace.endpoints.values() {
        let local = is_loopback(&endpoint.address) || is_unspecified(&endpoint.address);
        match endpoint.kind {
            NetKind::Connect if !local => {
                let protocol = match endpoint.transport {
                    Transport::Tcp => "tcp",
                    Transport::Udp => "udp",
                    Transport::Other => "any",
                };
                let e = egress.entry((endpoint.address.to_string(), protocol)).or_default();
                e.0.insert(endpoint.port);
                e.1.merge(seen);
            }
            NetKind::Bind if !local => d.notes.push(format!(
                "binds {}:{}, which is not a loopback address: the policy uses the bridge network",
                endpoint.address, endpoint.port
            )),
            NetKind::Bind if is_unspecified(&endpoint.address) => d.notes.push(format!(
                "listens on every interface ({}:{}); with network mode none only loopback reaches it",
                endpoint.address, endpoint.port
            )),
            NetKind::Accept if !local => {
                d.notes.push(format!("accepted a connection from {}: it serves clients beyond loopback", endpoint.address))
            }
            _ => {}
        }
    }
    let non_loopback_bind =
        learned.trace.endpoints.values().any(|(e, _)| e.kind == NetKind::Bind && !is_loopback(&e.address) && !is_unspecified(&e.address));
    let bridge = !egress.is_empty() || non_loopback_bind || !learned.bridge_from.is_empty() || !learned.extra_egress.is_empty();
    let (mode, reason) = if bridge {
        (NetworkMode::Bridge, "observed: connections beyond loopback".to_string())
    } else {
        let any = learned.trace.endpoints.is_empty();
        (
            NetworkMode::None,
            if any {
                "observed: no IPv4/IPv6 use; a namespace with only loopback".into()
            } else {
                "observed: loopback only; a namespace with only loopback".into()
            },
        )
    };
    if base.is_none_or(|b| b.plan.policy.network.mode.value != mode) {
        d.network = Some((mode, reason));
    }
    if bridge {
        d.warnings.push("the workload uses the network beyond loopback: the policy asks for network mode bridge, which `palisade run` does not support yet".into());
        for ((to, protocol), (ports, seen)) in egress {
            d.egress.push(EgressEntry { to, ports: ports.into_iter().collect(), protocol, reason: observed(&seen, "connection") });
        }
        for e in &learned.extra_egress {
            let protocol = match e.protocol {
                crate::policy::model::Protocol::Tcp => "tcp",
                crate::policy::model::Protocol::Udp => "udp",
                crate::policy::model::Protocol::Any => "any",
            };
            if !d.egress.iter().any(|x| x.to == e.to && x.protocol == protocol && x.ports == e.ports) {
                d.egress.push(EgressEntry {
                    to: e.to.clone(),
                    ports: e.ports.clone(),
                    protocol,
                    reason: e.reason.clone().unwrap_or_else(|| format!("carried over from {}", e.origin.describe())),
                });
            }
        }
    }
}
