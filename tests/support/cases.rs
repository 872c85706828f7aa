//! Test support: the syscall and argument cases on which two seccomp programs (or a program and
//! the decision model) must agree — every syscall number of an architecture, numbers just past
//! the tables, the x32 range, and for argument-checked syscalls the boundary values of every
//! comparison (v-1, v, v+1, with and without high bits set).
#![allow(dead_code)]

use palisade::seccomp::arch::{Arch, X32_SYSCALL_BIT};
use palisade::seccomp::condition::Op;
use palisade::seccomp::filter::Filter;
use palisade::seccomp::interp::SeccompData;
use std::collections::BTreeSet;

/// Argument vectors worth trying for a syscall, given the checks the filter makes on it.
pub fn arg_cases(filter: &Filter, arch: Arch, nr: u32) -> Vec<[u64; 6]> {
    let mut per_arg: Vec<BTreeSet<u64>> = vec![BTreeSet::from([0u64]); 6];
    let decision = filter.arch(arch).and_then(|a| a.syscalls.get(&nr));
    for rule in decision.map(|d| d.rules.as_slice()).unwrap_or_default() {
        for check in &rule.checks {
            let set = &mut per_arg[usize::from(check.arg)];
            let v = check.value;
            for x in [v, v.wrapping_sub(1), v.wrapping_add(1), v | (1 << 32), v ^ (1 << 63), u64::MAX, 1, 0xffff_ffff] {
                set.insert(x);
                set.insert(x & 0xffff_ffff);
            }
            if let Op::MaskedEq(m) = check.op {
                for x in [m, m & (m.wrapping_neg()), v | m, !m, v | (1 << 40)] {
                    set.insert(x);
                }
            }
        }
    }
    let used: Vec<usize> = (0..6).filter(|&i| per_arg[i].len() > 1).collect();
    let mut cases = vec![[0u64; 6]];
    for &i in &used {
        let mut next = Vec::new();
        for case in &cases {
            for &v in &per_arg[i] {
                let mut c = *case;
                c[i] = v;
                next.push(c);
            }
        }
        cases = next;
        if cases.len() > 20_000 {
            break;
        }
    }
    cases
}

/// Every syscall number worth trying on an architecture, as `seccomp_data.nr` values.
pub fn numbers(arch: Arch) -> Vec<u32> {
    let bit = if arch == Arch::X32 { X32_SYSCALL_BIT } else { 0 };
    let max = arch.syscalls().iter().map(|&(_, n)| n).max().unwrap_or(0);
    let mut out: Vec<u32> = (0..=max + 16).map(|n| n | bit).collect();
    out.extend([0x3fff_ffff, 0xffff_ffff, 0x8000_0000, 1000, 4095]);
    if arch == Arch::X86_64 {
        out.extend([X32_SYSCALL_BIT, X32_SYSCALL_BIT | 1, X32_SYSCALL_BIT | 520]);
    }
    out
}

pub fn data(arch: Arch, nr: u32, args: [u64; 6]) -> SeccompData {
    SeccompData { nr: nr as i32, arch: arch.audit_arch(), instruction_pointer: 0x7fff_0000_1000, args }
}
