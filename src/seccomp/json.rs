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
    #[serde(default, skip_serializing_if = "Filter_::is_empty")]
    pub includes: Filter_,
    #[serde(default, skip_serializing_if = "Filter_::is_empty")]
    pub excludes: Filter_,
}

/// Docker's `includes`/`excludes` object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[allow(non_camel_case_types)]
pub struct Filter_ {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Filter_ {
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
    #[error("syscall `{syscall}`: its rules need the negation of a masked comparison (`{condition}`), which Docker/OCI seccomp JSON cannot express; reorder the rules or use plain comparisons")]
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

const MAX_ENTRIES: usize = 64;

/// The Docker architecture names used in `includes.arches`.
pub fn docker_arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "amd64",
        Arch::X86 => "x86",
        Arch::X32 => "x32",
        Arch::Aarch64 => "arm64",
    }
}

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

/// Translates a check; a 32-bit equality becomes an exact masked comparison, other 32-bit
/// comparisons widen to 64 bits (reported in `widened`).
fn json_cond(check: &ArgCheck, widened: &mut Vec<String>) -> JsonCond {
    let op = match (check.low_word_only, check.op) {
        (true, Op::Eq) => Op::MaskedEq(0xffff_ffff),
        (true, Op::MaskedEq(m)) => Op::MaskedEq(m & 0xffff_ffff),
        (true, op) => {
            widened.push(check.text.clone());
            op
        }
        (false, op) => op,
    };
    let value = if check.low_word_only { check.value & 0xffff_ffff } else { check.value };
    JsonCond { index: check.arg, op, value }
}

fn negate(c: &JsonCond) -> Option<JsonCond> {
    let op = match c.op {
        Op::Eq => Op::Ne,
        Op::Ne => Op::Eq,
        Op::Lt => Op::Ge,
        Op::Ge => Op::Lt,
        Op::Le => Op::Gt,
        Op::Gt => Op::Le,
        Op::MaskedEq(_) => return None,
    };
    Some(JsonCond { op, ..c.clone() })
}

/// Disjoint conjunctions (each a JSON entry's args) and their actions for one syscall.
fn disjoint_entries(decision: &SyscallDecision, default: Action, widened: &mut Vec<String>) -> Result<Vec<(Action, Vec<JsonCond>)>, JsonError> {
    let unrepresentable = |c: &ArgCheck| JsonError::Unrepresentable { syscall: decision.name.to_string(), condition: c.text.clone() };
    // `none_before`: DNF of "no earlier rule matched".
    let mut none_before: Vec<Vec<JsonCond>> = vec![Vec::new()];
    let mut out = Vec::new();
    for rule in &decision.rules {
        let conds: Vec<JsonCond> = rule.checks.iter().map(|c| json_cond(c, widened)).collect();
        if rule.decided.action != default {
            for prefix in &none_before {
                out.push((rule.decided.action, [prefix.clone(), conds.clone()].concat()));
            }
        }
        // ¬(c1 ∧ … ∧ cn) = ¬c1 ∨ … ∨ ¬cn, distributed over the existing disjunction.
        let mut next = Vec::new();
        for prefix in &none_before {
            for (check, cond) in rule.checks.iter().zip(&conds) {
                let negated = negate(cond).ok_or_else(|| unrepresentable(check))?;
                next.push([prefix.clone(), vec![negated]].concat());
            }
        }
        none_before = next;
        if none_before.len() > MAX_ENTRIES {
            return Err(JsonError::TooManyEntries { syscall: decision.name.to_string() });
        }
    }
    if decision.fallback.action != default {
        out.extend(none_before.into_iter().map(|conds| (decision.fallback.action, conds)));
    }
    if out.len() > MAX_ENTRIES {
        return Err(JsonError::TooManyEntries { syscall: decision.name.to_string() });
    }
    Ok(out)
}

/// Emits a Docker-format profile (also valid as OCI `linux.seccomp`, which ignores nothing it
/// needs: per-architecture differences use Docker's `includes.arches`).
pub fn from_filter(filter: &Filter, notes: &mut Vec<Diagnostic>) -> Result<Profile, JsonError> {
    let default = filter.default.action;
    // name → arch → decision (absent = default)
    let mut by_name: BTreeMap<&str, Vec<(Arch, Option<&SyscallDecision>)>> = BTreeMap::new();
    for arch_filter in &filter.arches {
        for &(name, _) in arch_filter.arch.syscalls() {
            let nr = arch_filter.arch.syscall_nr(name).expect("name comes from the table");
            by_name.entry(name).or_default().push((arch_filter.arch, arch_filter.syscalls.get(&nr)));
        }
    }
    let all_arches: Vec<Arch> = filter.arches.iter().map(|a| a.arch).collect();
    let mut widened = Vec::new();
    // (action, args, arches) → names, so syscalls with identical entries share one entry.
    let mut grouped: BTreeMap<(String, Option<u16>, Vec<(u8, String, u64, u64)>, Vec<Arch>), Vec<String>> = BTreeMap::new();
    for (name, per_arch) in &by_name {
        // Group the architectures by identical entry lists.
        let mut variants: Vec<(Vec<(Action, Vec<JsonCond>)>, Vec<Arch>)> = Vec::new();
        for (arch, decision) in per_arch {
            let entries = match decision {
                Some(d) => disjoint_entries(d, default, &mut widened)?,
                None => Vec::new(),
            };
            match variants.iter_mut().find(|(e, _)| *e == entries) {
                Some((_, arches)) => arches.push(*arch),
                None => variants.push((entries, vec![*arch])),
            }
        }
        // libseccomp skips a name on architectures that lack it, so `includes.arches` is only
        // needed where architectures that have the syscall disagree.
        let uniform = variants.len() == 1;
        for (entries, arches) in variants {
            let arches = if uniform { Vec::new() } else { arches };
            for (action, conds) in entries {
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
                grouped.entry((action.scmp_name().to_string(), errno, args, arches.clone())).or_default().push(name.to_string());
            }
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
        .map(|((action, errno, args, arches), names)| SyscallEntry {
            names,
            action,
            errno_ret: errno.map(u32::from),
            args: args.into_iter().map(|(index, op, value, value_two)| ArgEntry { index: u32::from(index), value, value_two, op }).collect(),
            includes: Filter_ { arches: arches.iter().map(|a| docker_arch_name(*a).to_string()).collect(), ..Filter_::default() },
            ..SyscallEntry::default()
        })
        .collect();
    Ok(Profile {
        default_action: default_name,
        default_errno_ret: default_errno,
        architectures: all_arches.iter().map(|a| a.scmp_name().to_string()).collect(),
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
        return from_filter(filter, notes).map(|p| (p, Vec::new()));
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
    let profile = from_filter(&restricted, notes)?;
    Ok((profile, dropped))
}

/// Whether two architectures decide every syscall they both have the same way.
fn same_decisions(a: &super::filter::ArchFilter, b: &super::filter::ArchFilter) -> bool {
    let outcome = |f: &super::filter::ArchFilter, name: &str| {
        let nr = f.arch.syscall_nr(name)?;
        Some(f.syscalls.get(&nr).map(|d| (d.rules.iter().map(|r| (r.checks.clone(), r.decided.action)).collect::<Vec<_>>(), d.fallback.action)))
    };
    a.arch.syscalls().iter().all(|&(name, _)| match (outcome(a, name), outcome(b, name)) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    })
}
