//! Docker / OCI seccomp profiles (moby profiles/seccomp, runtime-spec `linux.seccomp`): the
//! serde types, the emitter from a [`Filter`], and the importer to palisade TOML.
//!
//! Semantics gap, stated once: palisade's rules are ordered (first match wins) while a Docker
//! profile is an unordered set of entries. The emitter therefore writes, per syscall, entries
//! whose conditions are *disjoint* (rule i holds and no earlier rule holds), so no two entries
//! can both match and libseccomp never has to pick between actions.

use super::action::{Action, ActionError};
use super::arch::Arch;
use super::condition::Op;
use super::filter::{ArgCheck, Filter, SyscallDecision};
use crate::diag::Diagnostic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Docker seccomp profile; the OCI `linux.seccomp` object is the same minus archMap and
/// includes/excludes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch_map: Option<Vec<ArchMapEntry>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(default)]
    pub syscalls: Vec<SyscallEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArchMapEntry {
    pub architecture: String,
    #[serde(default)]
    pub sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyscallEntry {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Old single-name form, still accepted by Docker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Gate::is_empty")]
    pub includes: Gate,
    #[serde(default, skip_serializing_if = "Gate::is_empty")]
    pub excludes: Gate,
}

/// Docker's `includes`/`excludes` object (read on import; never emitted).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Gate {
    fn is_empty(&self) -> bool {
        self.arches.is_empty() && self.caps.is_empty() && self.min_kernel.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArgEntry {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("syscall `{syscall}`: {condition} cannot be expressed in palisade's policy language")]
    Unrepresentable { syscall: String, condition: String },
    #[error("syscall `{syscall}`: its rules expand to more than {MAX_ENTRIES} disjoint JSON entries")]
    TooManyEntries { syscall: String },
    #[error("{0}")]
    Action(#[from] ActionError),
    #[error("unknown seccomp action `{0}`")]
    UnknownAction(String),
    #[error("unknown comparison operator `{0}`")]
    UnknownOp(String),
    #[error("argument index {0} is out of range (0..=5)")]
    ArgIndex(u32),
}

const MAX_ENTRIES: usize = 128;

pub fn arch_from_docker(name: &str) -> Option<Arch> {
    match name {
        "amd64" => Some(Arch::X86_64),
        "x86" | "386" => Some(Arch::X86),
        "x32" => Some(Arch::X32),
        "arm64" => Some(Arch::Aarch64),
        other => other.parse().ok(),
    }
}

/// One comparison in the JSON's vocabulary (64-bit, unordered).
#[derive(Debug, Clone, PartialEq, Eq)]
struct JsonCond {
    index: u8,
    op: Op,
    value: u64,
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Eq => "SCMP_CMP_EQ",
        Op::Ne => "SCMP_CMP_NE",
        Op::Lt => "SCMP_CMP_LT",
        Op::Le => "SCMP_CMP_LE",
        Op::Gt => "SCMP_CMP_GT",
        Op::Ge => "SCMP_CMP_GE",
        Op::MaskedEq(_) => "SCMP_CMP_MASKED_EQ",
    }
}

/// A check in the JSON's vocabulary: when it holds and when it fails, each as a disjunction
/// of single comparisons. 32-bit checks are exact where a mask can say them: `lo == v` is
/// `MASKED_EQ(0xffffffff, v)` and `lo != v` its per-bit negation (this keeps Docker's
/// `socket(0x1_0000_0026)` AF_ALG bypass closed in the JSON too); 32-bit orderings (`<`, `>`…)
/// have no such form and widen to 64 bits (reported in `widened`).
struct Literal {
    holds: Vec<JsonCond>,
    fails: Vec<JsonCond>,
}

fn literal(check: &ArgCheck, widened: &mut Vec<String>) -> Literal {
    let low = |v: u64| v & 0xffff_ffff;
    let single = |op, value| JsonCond { index: check.arg, op, value };
    let masked = |mask: u64| single(Op::MaskedEq(mask), low(check.value) & mask);
    let (holds, fails) = match (check.low_word_only, check.op) {
        (true, Op::Eq) => {
            let c = masked(0xffff_ffff);
            (vec![c.clone()], negate(&c))
        }
        (true, Op::Ne) => {
            let c = masked(0xffff_ffff);
            (negate(&c), vec![c])
        }
        (true, Op::MaskedEq(m)) => {
            let c = single(Op::MaskedEq(m & 0xffff_ffff), low(check.value));
            (vec![c.clone()], negate(&c))
        }
        (true, op) => {
            widened.push(check.text.clone());
            let c = single(op, low(check.value));
            (vec![c.clone()], negate(&c))
        }
        (false, op) => {
            let c = single(op, check.value);
            (vec![c.clone()], negate(&c))
        }
    };
    Literal { holds, fails }
}

/// The conjunction of disjunctions `clauses`, multiplied out and simplified.
fn and_of_ors(clauses: impl IntoIterator<Item = Vec<JsonCond>>, start: Vec<Vec<JsonCond>>) -> Option<Vec<Vec<JsonCond>>> {
    let mut dnf = start;
    for clause in clauses {
        let mut next = Vec::new();
        for prefix in &dnf {
            for c in &clause {
                next.push([prefix.clone(), vec![c.clone()]].concat());
            }
        }
        dnf = simplify(next);
        if dnf.len() > MAX_ENTRIES {
            return None;
        }
    }
    Some(dnf)
}

/// The negation of a comparison as a disjunction of comparisons the JSON can express.
/// `(arg & m) != v` has no operator of its own, but it holds exactly when some bit of `m`
/// differs from `v`: one `MASKED_EQ` per mask bit (and always, if `v` has bits outside `m`).
fn negate(c: &JsonCond) -> Vec<JsonCond> {
    let op = match c.op {
        Op::Eq => Op::Ne,
        Op::Ne => Op::Eq,
        Op::Lt => Op::Ge,
        Op::Ge => Op::Lt,
        Op::Le => Op::Gt,
        Op::Gt => Op::Le,
        Op::MaskedEq(mask) => {
            if c.value & !mask != 0 {
                // `(arg & m) == v` can never hold, so its negation always does.
                return vec![JsonCond { index: c.index, op: Op::MaskedEq(0), value: 0 }];
            }
            return (0..64)
                .map(|bit| 1u64 << bit)
                .filter(|b| mask & b != 0)
                .map(|b| JsonCond { index: c.index, op: Op::MaskedEq(b), value: !c.value & b })
                .collect();
        }
    };
    vec![JsonCond { op, ..c.clone() }]
}

/// Entries (action, conjunction of comparisons) for one syscall such that entries with
/// different actions never overlap. Rule i decides exactly when its conditions hold and no
/// earlier rule *with another action* holds (earlier rules with the same action would decide
/// the same), and the fallback when no rule with another action holds.
fn disjoint_entries(
    decision: &SyscallDecision,
    default: Action,
    widened: &mut Vec<String>,
) -> Result<Vec<(Action, Vec<JsonCond>)>, JsonError> {
    let too_many = || JsonError::TooManyEntries { syscall: decision.name.to_string() };
    let rules: Vec<(Action, Vec<Literal>)> =
        decision.rules.iter().map(|r| (r.decided.action, r.checks.iter().map(|c| literal(c, widened)).collect())).collect();
    // DNF of "no rule before index i with an action other than `action` holds":
    // ¬(l1 ∧ … ∧ ln) = fails(l1) ∨ … ∨ fails(ln), one clause per such rule.
    let none_other_before = |i: usize, action: Action| -> Result<Vec<Vec<JsonCond>>, JsonError> {
        let clauses = rules[..i].iter().filter(|(a, _)| *a != action).map(|(_, lits)| lits.iter().flat_map(|l| l.fails.clone()).collect());
        and_of_ors(clauses, vec![Vec::new()]).ok_or_else(too_many)
    };
    let mut out = Vec::new();
    for (i, (action, lits)) in rules.iter().enumerate() {
        if *action != default {
            let prefix = none_other_before(i, *action)?;
            let entries = and_of_ors(lits.iter().map(|l| l.holds.clone()), prefix).ok_or_else(too_many)?;
            out.extend(entries.into_iter().map(|conds| (*action, conds)));
        }
    }
    if decision.fallback.action != default {
        for conds in none_other_before(rules.len(), decision.fallback.action)? {
            out.push((decision.fallback.action, conds));
        }
    }
    // runc ORs several comparisons of one argument within an entry, so each entry is
    // rewritten to compare every argument at most once.
    let mut split = Vec::new();
    for (action, conds) in out {
        for conj in one_comparison_per_argument(&conds).ok_or_else(|| JsonError::Unrepresentable {
            syscall: decision.name.to_string(),
            condition: "a combination of comparisons on one argument that seccomp JSON".to_string(),
        })? {
            split.push((action, conj));
        }
        if split.len() > MAX_ENTRIES {
            return Err(too_many());
        }
    }
    Ok(split)
}

/// Shrinks a disjunction: merges each conjunction's comparisons per argument, drops
/// contradictions, and drops conjunctions implied by another (absorption: A ∨ (A ∧ B) = A).
/// Negated 32-bit equalities expand to one term per bit; this keeps them to a few dozen.
fn simplify(dnf: Vec<Vec<JsonCond>>) -> Vec<Vec<JsonCond>> {
    let mut terms: Vec<Vec<JsonCond>> = Vec::new();
    for conj in dnf {
        match one_comparison_per_argument(&conj) {
            Some(alternatives) if alternatives.len() == 1 => terms.extend(alternatives),
            Some(alternatives) if alternatives.is_empty() => {} // never holds
            _ => terms.push(conj),
        }
    }
    // `t` is redundant if another term `k` follows from it (every comparison of `k` follows
    // from one of `t`'s); of two equivalent terms the first stays.
    let follows = |t: &[JsonCond], k: &[JsonCond]| k.iter().all(|kc| t.iter().any(|tc| implies(tc, kc)));
    let redundant: Vec<bool> = (0..terms.len())
        .map(|i| (0..terms.len()).any(|j| j != i && follows(&terms[i], &terms[j]) && (!follows(&terms[j], &terms[i]) || j < i)))
        .collect();
    terms.into_iter().zip(redundant).filter(|(_, r)| !r).map(|(t, _)| t).collect()
}

/// Whether comparison `a` holding guarantees `b` holds (a sound, incomplete check).
fn implies(a: &JsonCond, b: &JsonCond) -> bool {
    if a.index != b.index {
        return false;
    }
    if a == b {
        return true;
    }
    let holds_for = |c: &JsonCond, x: u64| match c.op {
        Op::Eq => x == c.value,
        Op::Ne => x != c.value,
        Op::Lt => x < c.value,
        Op::Le => x <= c.value,
        Op::Gt => x > c.value,
        Op::Ge => x >= c.value,
        Op::MaskedEq(m) => x & m == c.value,
    };
    match (a.op, b.op) {
        (Op::Eq, _) => holds_for(b, a.value),
        (Op::MaskedEq(ma), Op::MaskedEq(mb)) => mb & !ma == 0 && a.value & mb == b.value,
        _ => false,
    }
}

/// Rewrites a conjunction so that no argument is compared twice, as a disjunction of such
/// conjunctions (runc turns two comparisons of one argument in an entry into an OR).
/// Plain comparisons of one argument become a set of intervals: `[0, b]` is `LE b`, `[a, max]`
/// is `GE a`, `[a, a]` is `EQ a`, and short interior intervals are listed value by value —
/// Docker writes `socket` family ≠ 38 ∧ ≠ 40 the same way, as `LT 38 ∨ EQ 39 ∨ GT 40`.
/// Masked comparisons of one argument merge into one. `None` if that is impossible.
fn one_comparison_per_argument(conds: &[JsonCond]) -> Option<Vec<Vec<JsonCond>>> {
    let mut per_arg: BTreeMap<u8, Vec<&JsonCond>> = BTreeMap::new();
    for c in conds {
        per_arg.entry(c.index).or_default().push(c);
    }
    let mut dnf: Vec<Vec<JsonCond>> = vec![Vec::new()];
    for (index, list) in per_arg {
        let alternatives: Vec<Option<JsonCond>> = if list.len() == 1 {
            vec![Some(list[0].clone())]
        } else if list.iter().all(|c| matches!(c.op, Op::MaskedEq(_))) {
            let (mut mask, mut value) = (0u64, 0u64);
            for c in &list {
                let Op::MaskedEq(m) = c.op else { unreachable!() };
                if (value ^ c.value) & mask & m != 0 || c.value & !m != 0 {
                    return Some(Vec::new()); // contradictory: the conjunction never holds
                }
                mask |= m;
                value |= c.value;
            }
            vec![Some(JsonCond { index, op: Op::MaskedEq(mask), value })]
        } else if list.iter().all(|c| !matches!(c.op, Op::MaskedEq(_))) {
            intervals_as_comparisons(index, &list)?
        } else {
            return None;
        };
        let mut next = Vec::new();
        for prefix in &dnf {
            for alt in &alternatives {
                let mut conj = prefix.clone();
                conj.extend(alt.clone());
                next.push(conj);
            }
        }
        dnf = next;
    }
    Some(dnf)
}

/// The values satisfying all of `list` (plain comparisons of one argument) as single
/// comparisons (`None` in the result: any value). `None` if an interval can't be written.
fn intervals_as_comparisons(index: u8, list: &[&JsonCond]) -> Option<Vec<Option<JsonCond>>> {
    let mut set: Vec<(u64, u64)> = vec![(0, u64::MAX)];
    for c in list {
        let allowed: Vec<(u64, u64)> = match c.op {
            Op::Eq => vec![(c.value, c.value)],
            // Everything below the value and everything above it (either may be empty).
            Op::Ne => {
                let below = c.value.checked_sub(1).map(|b| (0, b));
                let above = c.value.checked_add(1).map(|a| (a, u64::MAX));
                below.into_iter().chain(above).collect()
            }
            Op::Lt => c.value.checked_sub(1).map(|b| vec![(0, b)]).unwrap_or_default(),
            Op::Le => vec![(0, c.value)],
            Op::Gt => c.value.checked_add(1).map(|a| vec![(a, u64::MAX)]).unwrap_or_default(),
            Op::Ge => vec![(c.value, u64::MAX)],
            Op::MaskedEq(_) => unreachable!("filtered by the caller"),
        };
        set = set
            .iter()
            .flat_map(|&(a, b)| allowed.iter().filter_map(move |&(c, d)| (a.max(c) <= b.min(d)).then_some((a.max(c), b.min(d)))))
            .collect();
    }
    let mut out = Vec::new();
    for (a, b) in set {
        let cond = |op, value| Some(JsonCond { index, op, value });
        match (a, b) {
            (0, u64::MAX) => out.push(None),
            (a, b) if a == b => out.push(cond(Op::Eq, a)),
            (0, b) => out.push(cond(Op::Le, b)),
            (a, u64::MAX) => out.push(cond(Op::Ge, a)),
            (a, b) if b - a < 16 => out.extend((a..=b).map(|v| cond(Op::Eq, v))),
            _ => return None,
        }
    }
    Some(out)
}

/// Emits a Docker-format profile (also valid as OCI `linux.seccomp`) for the host's
/// architecture family. Docker's `includes.arches` names the *host* architecture, not the
/// filter's (moby adds a matching entry for every sub-architecture), so it cannot express
/// per-architecture decisions: architectures that decide some syscall differently from the
/// primary one are left out, and their syscalls are killed (stricter; reported as a note).
pub fn from_filter(filter: &Filter, notes: &mut Vec<Diagnostic>) -> Result<Profile, JsonError> {
    let primary = Arch::host().filter(|h| filter.arch(*h).is_some()).or_else(|| filter.arches.first().map(|a| a.arch));
    let Some(primary) = primary else { return profile_entries(filter, notes) };
    let (profile, dropped) = for_oci(filter, primary, notes)?;
    if !dropped.is_empty() {
        let names: Vec<&str> = dropped.iter().map(|a| a.name()).collect();
        notes.push(Diagnostic::warning(
            "json-arch-dropped",
            format!("seccomp JSON has no per-architecture decisions: {} (deciding some syscalls differently from {}) left out, so their syscalls are killed", names.join(", "), primary.name()),
        ));
    }
    Ok(profile)
}

/// The profile of a filter whose architectures agree on every syscall they share.
fn profile_entries(filter: &Filter, notes: &mut Vec<Diagnostic>) -> Result<Profile, JsonError> {
    let default = filter.default.action;
    // Each name's decision, from the first architecture that has the syscall (they all agree).
    let mut by_name: BTreeMap<&str, Option<&SyscallDecision>> = BTreeMap::new();
    for arch_filter in &filter.arches {
        for &(name, _) in arch_filter.arch.syscalls() {
            let nr = arch_filter.arch.syscall_nr(name).expect("name comes from the table");
            by_name.entry(name).or_insert_with(|| arch_filter.syscalls.get(&nr));
        }
    }
    let mut widened = Vec::new();
    // (action, errno, args as (index, op, value, valueTwo)) → names, so syscalls with identical
    // entries share one entry.
    type EntryKey = (String, Option<u16>, Vec<(u8, String, u64, u64)>);
    let mut grouped: BTreeMap<EntryKey, Vec<String>> = BTreeMap::new();
    for (name, decision) in &by_name {
        let Some(decision) = decision else { continue };
        for (action, conds) in disjoint_entries(decision, default, &mut widened)? {
            let errno = match action {
                Action::Errno(e) | Action::Trace(e) => Some(e),
                _ => None,
            };
            let args = conds
                .iter()
                .map(|c| match c.op {
                    Op::MaskedEq(mask) => (c.index, op_name(c.op).to_string(), mask, c.value),
                    op => (c.index, op_name(op).to_string(), c.value, 0),
                })
                .collect();
            grouped.entry((action.scmp_name().to_string(), errno, args)).or_default().push(name.to_string());
        }
    }
    if !widened.is_empty() {
        widened.sort();
        widened.dedup();
        notes.push(Diagnostic::warning(
            "json-widened-comparison",
            format!("seccomp JSON compares arguments on 64 bits; these 32-bit conditions were written as 64-bit comparisons, as Docker's own profile does: {}", widened.join("; ")),
        ));
    }
    let (default_name, default_errno) = action_fields(default);
    let syscalls = grouped
        .into_iter()
        .map(|((action, errno, args), names)| SyscallEntry {
            names,
            action,
            errno_ret: errno.map(u32::from),
            args: args
                .into_iter()
                .map(|(index, op, value, value_two)| ArgEntry { index: u32::from(index), value, value_two, op })
                .collect(),
            ..SyscallEntry::default()
        })
        .collect();
    Ok(Profile {
        default_action: default_name,
        default_errno_ret: default_errno,
        architectures: filter.arches.iter().map(|a| a.arch.scmp_name().to_string()).collect(),
        syscalls,
        ..Profile::default()
    })
}

fn action_fields(action: Action) -> (String, Option<u32>) {
    let errno = match action {
        Action::Errno(e) | Action::Trace(e) => Some(u32::from(e)),
        _ => None,
    };
    (action.scmp_name().to_string(), errno)
}

/// Parses an `SCMP_ACT_*` name with its errno/trace value.
pub fn parse_scmp_action(name: &str, errno_ret: Option<u32>, default_errno: Option<u32>) -> Result<Action, JsonError> {
    let errno = || errno_ret.or(default_errno).unwrap_or(1).clamp(0, 4095) as u16;
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno()),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => Action::Notify,
        "SCMP_ACT_TRACE" => Action::Trace(errno()),
        other => return Err(JsonError::UnknownAction(other.to_string())),
    })
}

/// Parses an `SCMP_CMP_*` operator; for MASKED_EQ the mask is `value`, the datum `valueTwo`.
pub fn parse_scmp_op(arg: &ArgEntry) -> Result<(Op, u64), JsonError> {
    if arg.index > 5 {
        return Err(JsonError::ArgIndex(arg.index));
    }
    Ok(match arg.op.as_str() {
        "SCMP_CMP_EQ" => (Op::Eq, arg.value),
        "SCMP_CMP_NE" => (Op::Ne, arg.value),
        "SCMP_CMP_LT" => (Op::Lt, arg.value),
        "SCMP_CMP_LE" => (Op::Le, arg.value),
        "SCMP_CMP_GT" => (Op::Gt, arg.value),
        "SCMP_CMP_GE" => (Op::Ge, arg.value),
        "SCMP_CMP_MASKED_EQ" => (Op::MaskedEq(arg.value), arg.value_two),
        other => return Err(JsonError::UnknownOp(other.to_string())),
    })
}

/// The architectures a Docker profile enables on `native`: `architectures`, or the archMap
/// entry for `native` with its sub-architectures.
pub fn profile_arches(profile: &Profile) -> (Vec<Arch>, Vec<String>) {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let mut add = |name: &str| match name.parse::<Arch>() {
        Ok(a) if !known.contains(&a) => known.push(a),
        Ok(_) => {}
        Err(_) => unknown.push(name.to_string()),
    };
    for a in &profile.architectures {
        add(a);
    }
    for entry in profile.arch_map.iter().flatten() {
        add(&entry.architecture);
        for sub in entry.sub_architectures.iter().flatten() {
            add(sub);
        }
    }
    (known, unknown)
}

/// The OCI runtime spec's `linux.seccomp` has no `includes`: it keeps the architectures whose
/// every decision equals `primary`'s and leaves the others out of `architectures`, so their
/// syscalls get the bad-arch action (stricter, never looser; the caller reports them).
pub fn for_oci(filter: &Filter, primary: Arch, notes: &mut Vec<Diagnostic>) -> Result<(Profile, Vec<Arch>), JsonError> {
    let Some(base) = filter.arch(primary) else {
        return profile_entries(filter, notes).map(|p| (p, Vec::new()));
    };
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    for arch_filter in &filter.arches {
        if arch_filter.arch == primary || same_decisions(base, arch_filter) {
            kept.push(arch_filter.clone());
        } else {
            dropped.push(arch_filter.arch);
        }
    }
    let restricted = Filter { arches: kept, ..filter.clone() };
    let profile = profile_entries(&restricted, notes)?;
    Ok((profile, dropped))
}

/// Whether two architectures decide every syscall they both have the same way.
fn same_decisions(a: &super::filter::ArchFilter, b: &super::filter::ArchFilter) -> bool {
    // libseccomp compares only the low word on 32-bit ABIs for the same JSON entry, exactly
    // as palisade's filter for such an ABI does: there the width is not a difference.
    let ignore_width = a.arch.is_32bit_abi() || b.arch.is_32bit_abi();
    let outcome = |f: &super::filter::ArchFilter, name: &str| {
        let nr = f.arch.syscall_nr(name)?;
        let check_key = |c: &ArgCheck| (c.arg, c.op, c.value, !ignore_width && c.low_word_only);
        Some(f.syscalls.get(&nr).map(|d| {
            (
                d.rules.iter().map(|r| (r.checks.iter().map(check_key).collect::<Vec<_>>(), r.decided.action)).collect::<Vec<_>>(),
                d.fallback.action,
            )
        }))
    };
    a.arch.syscalls().iter().all(|&(name, _)| match (outcome(a, name), outcome(b, name)) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    })
}
