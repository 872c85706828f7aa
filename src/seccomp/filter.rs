//! The seccomp decision model: for each architecture and syscall number, the ordered argument
//! rules and the fallback action, each traced to the policy line it came from. Built from a
//! [`Policy`] by the documented precedence (deny > rules, most-derived first > allow > default);
//! [`Filter::decide`] is the reference semantics the BPF code generator is tested against.

use super::action::Action;
use super::arch::{Arch, X32_SYSCALL_BIT};
use super::condition::{compare, Condition, Op, Width};
use crate::policy::lower::rule_applies;
use crate::policy::model::Policy;
use crate::policy::source::Origin;
use std::collections::{BTreeMap, BTreeSet};

/// Why a syscall gets its action: the layer of the precedence order that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Deny,
    Rule,
    Allow,
    Default,
}

/// An action and the policy line behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub action: Action,
    pub source: Source,
    pub origin: Origin,
    /// The rule's or entry's stated reason, if any.
    pub reason: Option<String>,
}

/// One argument comparison with its width resolved for the syscall it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgCheck {
    pub arg: u8,
    pub low_word_only: bool,
    pub op: Op,
    pub value: u64,
    pub text: String,
}

impl ArgCheck {
    fn new(cond: &Condition, syscall: &str, arch: Arch) -> ArgCheck {
        ArgCheck {
            arg: cond.arg,
            // On 32-bit ABIs only the low word carries the argument (see `is_32bit_abi`).
            low_word_only: cond.width_for(syscall) == Width::W32 || arch.is_32bit_abi(),
            op: cond.op,
            value: cond.value,
            text: cond.text.clone(),
        }
    }

    pub fn holds(&self, args: &[u64; 6]) -> bool {
        compare(self.op, self.low_word_only, args[usize::from(self.arg)], self.value)
    }
}

/// A rule with conditions: if every check holds, `decided` applies.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgRule {
    pub checks: Vec<ArgCheck>,
    pub decided: Decided,
}

/// What happens to one syscall: the argument rules in order, then the fallback.
#[derive(Debug, Clone, PartialEq)]
pub struct SyscallDecision {
    pub name: &'static str,
    pub rules: Vec<ArgRule>,
    pub fallback: Decided,
}

impl SyscallDecision {
    pub fn decide(&self, args: &[u64; 6]) -> &Decided {
        self.rules.iter().find(|r| r.checks.iter().all(|c| c.holds(args))).map_or(&self.fallback, |r| &r.decided)
    }
}

/// The decisions for one architecture, keyed by the syscall number as the filter sees it
/// (x32 numbers include `X32_SYSCALL_BIT`). Syscalls absent here get the default action.
#[derive(Debug, Clone)]
pub struct ArchFilter {
    pub arch: Arch,
    pub syscalls: BTreeMap<u32, SyscallDecision>,
}

/// The whole filter: architectures, per-syscall decisions, the default.
#[derive(Debug, Clone)]
pub struct Filter {
    pub default: Decided,
    /// What a syscall from an architecture not in the list gets.
    pub bad_arch: Action,
    pub arches: Vec<ArchFilter>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error(
        "the policy never sets seccomp.default_action (set it, or extend a profile; write \"allow\" to run without seccomp explicitly)"
    )]
    Unconfigured,
    #[error("seccomp.architectures is empty: every syscall would be killed")]
    NoArchitectures,
}

impl Filter {
    /// Builds the decision model from a resolved policy.
    pub fn from_policy(policy: &Policy) -> Result<Filter, FilterError> {
        let seccomp = &policy.seccomp;
        let default_setting = seccomp.default_action.as_ref().ok_or(FilterError::Unconfigured)?;
        let default =
            Decided { action: default_setting.value, source: Source::Default, origin: default_setting.origin.clone(), reason: None };
        let arches: BTreeSet<Arch> = seccomp.architectures.value.iter().copied().collect();
        if arches.is_empty() {
            return Err(FilterError::NoArchitectures);
        }
        let caps = &policy.capabilities.kept;
        let rules: Vec<_> = seccomp.rules.iter().filter(|r| rule_applies(r, caps)).collect();
        let mut out = Vec::new();
        for &arch in &arches {
            let mut syscalls = BTreeMap::new();
            for &(name, table_nr) in arch.syscalls() {
                let nr = if arch == Arch::X32 { table_nr | X32_SYSCALL_BIT } else { table_nr };
                let decision = decide_syscall(policy, arch, name, &rules, &default);
                if !(decision.rules.is_empty() && decision.fallback.action == default.action) {
                    syscalls.insert(nr, decision);
                }
            }
            out.push(ArchFilter { arch, syscalls });
        }
        Ok(Filter { default, bad_arch: Action::KillProcess, arches: out })
    }

    /// The reference decision for a syscall as the kernel would present it.
    pub fn decide(&self, audit_arch: u32, nr: u32, args: &[u64; 6]) -> Action {
        let Some(arch) = self.arch_for(audit_arch, nr) else { return self.bad_arch };
        match arch.syscalls.get(&nr) {
            Some(decision) => decision.decide(args).action,
            None => self.default.action,
        }
    }

    /// Which architecture's table handles a syscall, as the filter dispatches it.
    pub fn arch_for(&self, audit_arch: u32, nr: u32) -> Option<&ArchFilter> {
        // Like the generated program (and libseccomp), every number from the x32 bit up is x32's.
        let x32_bit_set = nr >= X32_SYSCALL_BIT;
        self.arches.iter().find(|a| {
            a.arch.audit_arch() == audit_arch
                && match a.arch {
                    Arch::X32 => x32_bit_set,
                    Arch::X86_64 => !x32_bit_set,
                    _ => true,
                }
        })
    }

    pub fn arch(&self, arch: Arch) -> Option<&ArchFilter> {
        self.arches.iter().find(|a| a.arch == arch)
    }
}

fn decide_syscall(
    policy: &Policy,
    arch: Arch,
    name: &'static str,
    rules: &[&crate::policy::model::SeccompRule],
    default: &Decided,
) -> SyscallDecision {
    let seccomp = &policy.seccomp;
    // 1. A deny anywhere in the chain is final.
    if let Some(item) = seccomp.deny.iter().find(|d| d.name == name) {
        let fallback =
            Decided { action: seccomp.deny_action.value, source: Source::Deny, origin: item.origin.clone(), reason: item.reason.clone() };
        return SyscallDecision { name, rules: Vec::new(), fallback };
    }
    // 2. Rules, most-derived first; an unconditional rule ends the chain.
    let mut arg_rules = Vec::new();
    let mut terminal = None;
    for rule in rules.iter().filter(|r| r.syscalls.iter().any(|s| s == name)) {
        if rule.arches.as_ref().is_some_and(|list| !list.contains(&arch)) {
            continue;
        }
        let decided = Decided { action: rule.action, source: Source::Rule, origin: rule.origin.clone(), reason: rule.reason.clone() };
        if rule.conditions.is_empty() {
            terminal = Some(decided);
            break;
        }
        let checks = rule.conditions.iter().map(|c| ArgCheck::new(c, name, arch)).collect();
        arg_rules.push(ArgRule { checks, decided });
    }
    // 3. The allow list, 4. the default.
    let fallback = terminal.unwrap_or_else(|| match seccomp.allow.iter().find(|a| a.name == name) {
        Some(item) => Decided { action: Action::Allow, source: Source::Allow, origin: item.origin.clone(), reason: item.reason.clone() },
        None => default.clone(),
    });
    // Trailing rules that end in the fallback's action change nothing; dropping them keeps the
    // program short and the decision identical.
    while arg_rules.last().is_some_and(|r| r.decided.action == fallback.action) {
        arg_rules.pop();
    }
    SyscallDecision { name, rules: arg_rules, fallback }
}
