//! Classic-BPF code generation for a [`Filter`].
//!
//! Why not seccompiler's backend: seccompiler (used by firecracker) emits one linear chain of
//! `jeq nr` tests per syscall and one action per filter, so a denied syscall walks every allowed
//! one (hundreds of instructions for Docker's profile), and it has no errno-per-rule, no 32-bit
//! argument comparisons and no x86/x32 sub-architectures. palisade keeps seccompiler's
//! `sock_filter` type and its installer (`apply_filter`) and generates the program itself:
//!
//! 1. dispatch on `seccomp_data.arch` (unknown architectures get the bad-arch action);
//! 2. on x86_64, split x32 (`nr >= 0x40000000`) from native syscalls explicitly: libseccomp and
//!    the kernel share AUDIT_ARCH_X86_64 for both ABIs;
//! 3. a balanced binary search over syscall-number *intervals* with the same outcome, so every
//!    syscall — allowed, denied or argument-checked — is resolved in O(log n) comparisons;
//! 4. argument checks per syscall, rule by rule (first match wins), comparing 64-bit values as
//!    two 32-bit words (high word first), or only the low word for 32-bit parameters.
//!
//! Conditional jumps reach at most 255 instructions ahead; the assembler inserts `ja`
//! trampolines where a target is farther.

use super::action::Action;
use super::arch::{Arch, X32_SYSCALL_BIT};
use super::condition::Op;
use super::filter::{ArchFilter, ArgCheck, ArgRule, Filter, SyscallDecision};
pub use seccompiler::sock_filter;

/// The kernel's limit on classic BPF program length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// Opcodes (linux/filter.h, linux/bpf_common.h).
pub const BPF_LD_W_ABS: u16 = 0x20;
pub const BPF_ALU_AND_K: u16 = 0x54;
pub const BPF_JMP_JA: u16 = 0x05;
pub const BPF_JMP_JEQ_K: u16 = 0x15;
pub const BPF_JMP_JGT_K: u16 = 0x25;
pub const BPF_JMP_JGE_K: u16 = 0x35;
pub const BPF_RET_K: u16 = 0x06;

/// Offsets into `struct seccomp_data` (linux/seccomp.h), little-endian.
pub const OFF_NR: u32 = 0;
pub const OFF_ARCH: u32 = 4;
fn off_arg_low(arg: u8) -> u32 {
    16 + 8 * u32::from(arg)
}
fn off_arg_high(arg: u8) -> u32 {
    off_arg_low(arg) + 4
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodegenError {
    #[error("the compiled seccomp program has {len} instructions, over the kernel's limit of {MAX_INSNS}; split the policy's argument rules or allow whole syscalls")]
    TooLong { len: usize },
    #[error("architecture {0} is not in the policy's seccomp.architectures")]
    ArchNotInPolicy(&'static str),
}

/// A jump target in the assembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Label(usize);

#[derive(Debug, Clone)]
enum Item {
    Insn(sock_filter),
    /// A conditional jump with symbolic targets.
    Jump {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Ja(Label),
    Mark(Label),
}

/// Emits instructions with symbolic labels and resolves them, adding trampolines for far jumps.
#[derive(Default)]
struct Assembler {
    items: Vec<Item>,
    labels: usize,
}

impl Assembler {
    fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    fn mark(&mut self, l: Label) {
        self.items.push(Item::Mark(l));
    }
    fn stmt(&mut self, code: u16, k: u32) {
        self.items.push(Item::Insn(sock_filter { code, jt: 0, jf: 0, k }));
    }
    fn load(&mut self, offset: u32) {
        self.stmt(BPF_LD_W_ABS, offset);
    }
    fn ret(&mut self, action: Action) {
        self.stmt(BPF_RET_K, action.to_ret());
    }
    fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) {
        self.items.push(Item::Jump { code, k, jt, jf });
    }

    /// Resolves labels into offsets. A conditional jump whose target is more than 255
    /// instructions ahead is pointed at an inserted `ja` (32-bit offset) instead; insertion
    /// moves later code, so this repeats until every jump fits (it only ever grows, so it ends).
    fn finish(mut self) -> Vec<sock_filter> {
        self.drop_redundant_loads();
        loop {
            let positions = self.positions();
            let mut fix = None;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Jump { jt, jf, .. } = item {
                    let at = positions.1[i];
                    let far = |l: &Label| positions.0[l.0] - at - 1 > 255;
                    if far(jt) || far(jf) {
                        fix = Some((i, far(jt), far(jf)));
                        break;
                    }
                }
            }
            let Some((i, far_t, far_f)) = fix else { break };
            let Item::Jump { code, k, jt, jf } = self.items[i].clone() else { unreachable!() };
            let mut inserted = Vec::new();
            let (mut new_t, mut new_f) = (jt, jf);
            for (far, target, slot) in [(far_t, jt, &mut new_t), (far_f, jf, &mut new_f)] {
                if far {
                    let tramp = self.label();
                    inserted.push(Item::Mark(tramp));
                    inserted.push(Item::Ja(target));
                    *slot = tramp;
                }
            }
            self.items[i] = Item::Jump { code, k, jt: new_t, jf: new_f };
            self.items.splice(i + 1..i + 1, inserted);
        }
        let (labels, at) = self.positions();
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let offset = |l: &Label| labels[l.0] - at[i] - 1;
                match item {
                    Item::Insn(f) => Some(f.clone()),
                    Item::Jump { code, k, jt, jf } => Some(sock_filter { code: *code, jt: offset(jt) as u8, jf: offset(jf) as u8, k: *k }),
                    Item::Ja(l) => Some(sock_filter { code: BPF_JMP_JA, jt: 0, jf: 0, k: offset(l) as u32 }),
                    Item::Mark(_) => None,
                }
            })
            .collect()
    }

    /// Removes `ld [k]` where the accumulator already holds `seccomp_data[k]` on every path that
    /// reaches it — e.g. consecutive rules testing the same argument word (personality's five
    /// allowed values) load it once. Jumps only go forward, so one pass in program order sees
    /// every predecessor of an instruction before the instruction itself.
    fn drop_redundant_loads(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Acc {
            Holds(u32),
            Unknown,
        }
        fn join(a: Option<Acc>, b: Option<Acc>) -> Option<Acc> {
            match (a, b) {
                (None, x) | (x, None) => x,
                (Some(x), Some(y)) if x == y => Some(x),
                _ => Some(Acc::Unknown),
            }
        }
        let mut incoming: Vec<Option<Acc>> = vec![None; self.labels];
        // The entry point: nothing loaded yet.
        let mut cur = Some(Acc::Unknown);
        let mut keep = vec![true; self.items.len()];
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Mark(l) => cur = join(cur, incoming[l.0]),
                Item::Insn(f) if f.code == BPF_LD_W_ABS => {
                    if cur == Some(Acc::Holds(f.k)) {
                        keep[i] = false;
                    }
                    cur = Some(Acc::Holds(f.k));
                }
                Item::Insn(f) if f.code == BPF_RET_K => cur = None,
                Item::Insn(_) => cur = Some(Acc::Unknown),
                Item::Jump { jt, jf, .. } => {
                    incoming[jt.0] = join(incoming[jt.0], cur);
                    incoming[jf.0] = join(incoming[jf.0], cur);
                    cur = None;
                }
                Item::Ja(l) => {
                    incoming[l.0] = join(incoming[l.0], cur);
                    cur = None;
                }
            }
        }
        let mut keep = keep.into_iter();
        self.items.retain(|_| keep.next().unwrap_or(true));
    }

    /// (instruction index of each label, instruction index of each item).
    fn positions(&self) -> (Vec<usize>, Vec<usize>) {
        let mut labels = vec![usize::MAX; self.labels];
        let mut at = Vec::with_capacity(self.items.len());
        let mut pc = 0;
        for item in &self.items {
            at.push(pc);
            match item {
                Item::Mark(l) => labels[l.0] = pc,
                _ => pc += 1,
            }
        }
        (labels, at)
    }
}

/// Compiles the filter for every architecture in the policy.
pub fn compile(filter: &Filter) -> Result<Vec<sock_filter>, CodegenError> {
    let arches: Vec<Arch> = filter.arches.iter().map(|a| a.arch).collect();
    compile_for(filter, &arches)
}

/// Compiles the filter for a subset of its architectures; syscalls from any other
/// architecture get the bad-arch action.
pub fn compile_for(filter: &Filter, arches: &[Arch]) -> Result<Vec<sock_filter>, CodegenError> {
    let selected: Vec<&ArchFilter> =
        arches.iter().map(|&a| filter.arch(a).ok_or(CodegenError::ArchNotInPolicy(a.name()))).collect::<Result<_, _>>()?;
    let mut asm = Assembler::default();
    // x86_64 and x32 share one AUDIT_ARCH value: one dispatch entry for both.
    let mut audit_arches: Vec<u32> = selected.iter().map(|a| a.arch.audit_arch()).collect();
    audit_arches.dedup();
    let entries: Vec<(u32, Label)> = audit_arches.iter().map(|&aa| (aa, asm.label())).collect();
    asm.load(OFF_ARCH);
    for &(audit, label) in &entries {
        let next = asm.label();
        asm.jump(BPF_JMP_JEQ_K, audit, label, next);
        asm.mark(next);
    }
    asm.ret(filter.bad_arch);
    for &(audit, label) in &entries {
        asm.mark(label);
        asm.load(OFF_NR);
        let of_audit: Vec<&ArchFilter> = selected.iter().copied().filter(|a| a.arch.audit_arch() == audit).collect();
        if audit == Arch::X86_64.audit_arch() {
            let native = of_audit.iter().copied().find(|a| a.arch == Arch::X86_64);
            let x32 = of_audit.iter().copied().find(|a| a.arch == Arch::X32);
            let (x32_label, native_label) = (asm.label(), asm.label());
            asm.jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, x32_label, native_label);
            asm.mark(native_label);
            match native {
                Some(a) => emit_tree(&mut asm, a, 0, u64::from(X32_SYSCALL_BIT), filter.default.action),
                None => asm.ret(filter.bad_arch),
            }
            asm.mark(x32_label);
            match x32 {
                Some(a) => emit_tree(&mut asm, a, u64::from(X32_SYSCALL_BIT), 1 << 32, filter.default.action),
                None => asm.ret(filter.bad_arch),
            }
        } else {
            emit_tree(&mut asm, of_audit[0], 0, 1 << 32, filter.default.action);
        }
    }
    let program = asm.finish();
    if program.len() > MAX_INSNS {
        return Err(CodegenError::TooLong { len: program.len() });
    }
    Ok(program)
}

/// What a run of consecutive syscall numbers leads to.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Ret(Action),
    Check(&'a SyscallDecision),
}

/// Emits the binary search over `[lo, hi)` of one architecture's syscall numbers.
fn emit_tree(asm: &mut Assembler, arch: &ArchFilter, lo: u64, hi: u64, default: Action) {
    // Intervals (start, leaf), covering [lo, hi), adjacent equal `Ret`s merged.
    let mut intervals: Vec<(u64, Leaf)> = Vec::new();
    let mut cursor = lo;
    for (&nr, decision) in arch.syscalls.range(lo as u32..).take_while(|(&nr, _)| u64::from(nr) < hi) {
        let nr = u64::from(nr);
        if nr > cursor {
            add_interval(&mut intervals, cursor, Leaf::Ret(default));
        }
        let leaf = if decision.rules.is_empty() { Leaf::Ret(decision.fallback.action) } else { Leaf::Check(decision) };
        add_interval(&mut intervals, nr, leaf);
        cursor = nr + 1;
    }
    if cursor < hi {
        add_interval(&mut intervals, cursor, Leaf::Ret(default));
    }
    emit_search(asm, &intervals);
}

fn add_interval<'a>(intervals: &mut Vec<(u64, Leaf<'a>)>, start: u64, leaf: Leaf<'a>) {
    if let (Some((_, Leaf::Ret(prev))), Leaf::Ret(action)) = (intervals.last(), leaf) {
        if *prev == action {
            return;
        }
    }
    intervals.push((start, leaf));
}

fn emit_search(asm: &mut Assembler, intervals: &[(u64, Leaf)]) {
    if let [(_, leaf)] = intervals {
        match leaf {
            Leaf::Ret(action) => asm.ret(*action),
            Leaf::Check(decision) => emit_checks(asm, decision),
        }
        return;
    }
    let mid = intervals.len() / 2;
    let (high, low) = (asm.label(), asm.label());
    // The accumulator holds nr for the whole search; argument checks only run at leaves.
    asm.jump(BPF_JMP_JGE_K, intervals[mid].0 as u32, high, low);
    asm.mark(low);
    emit_search(asm, &intervals[..mid]);
    asm.mark(high);
    emit_search(asm, &intervals[mid..]);
}

/// Rules in order; each rule's checks fall through on success and jump to the next rule on
/// failure; the fallback comes last.
fn emit_checks(asm: &mut Assembler, decision: &SyscallDecision) {
    let rules = &decision.rules;
    let mut i = 0;
    while i < rules.len() {
        let run = equality_run(&rules[i..]);
        if run >= 2 {
            emit_membership(asm, &rules[i..i + run]);
            i += run;
            continue;
        }
        let next_rule = asm.label();
        for check in &rules[i].checks {
            let pass = asm.label();
            emit_check(asm, check, pass, next_rule);
            asm.mark(pass);
        }
        asm.ret(rules[i].decided.action);
        asm.mark(next_rule);
        i += 1;
    }
    asm.ret(decision.fallback.action);
}

/// How many rules from the start form a set-membership test: same action, each one equality
/// on the same argument and width. Such rules are an unordered OR, so they may be tested as
/// one set (Docker's five personality values become one load and five compares).
fn equality_run(rules: &[ArgRule]) -> usize {
    let key = |r: &ArgRule| match r.checks.as_slice() {
        [c] if c.op == Op::Eq => Some((r.decided.action, c.arg, c.low_word_only)),
        _ => None,
    };
    let Some(first) = key(&rules[0]) else { return 0 };
    rules.iter().take_while(|r| key(r) == Some(first)).count()
}

/// Emits "argument ∈ {values} → action", falling through when no value matches. 64-bit values
/// are grouped by high word so each high word is compared once.
fn emit_membership(asm: &mut Assembler, rules: &[ArgRule]) {
    let (action, arg, low_only) = (rules[0].decided.action, rules[0].checks[0].arg, rules[0].checks[0].low_word_only);
    let values: Vec<u64> = rules.iter().map(|r| if low_only { r.checks[0].value & 0xffff_ffff } else { r.checks[0].value }).collect();
    let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
    for v in values {
        let (hi, lo) = ((v >> 32) as u32, v as u32);
        match groups.iter_mut().find(|(h, _)| *h == hi) {
            Some((_, los)) => los.push(lo),
            None => groups.push((hi, vec![lo])),
        }
    }
    let (matched, none) = (asm.label(), asm.label());
    for (hi, los) in &groups {
        let next_group = asm.label();
        if !low_only {
            let same_hi = asm.label();
            asm.load(off_arg_high(arg));
            asm.jump(BPF_JMP_JEQ_K, *hi, same_hi, next_group);
            asm.mark(same_hi);
        }
        asm.load(off_arg_low(arg));
        for (j, lo) in los.iter().enumerate() {
            let miss = if j + 1 == los.len() { next_group } else { asm.label() };
            asm.jump(BPF_JMP_JEQ_K, *lo, matched, miss);
            if j + 1 < los.len() {
                asm.mark(miss);
            }
        }
        asm.mark(next_group);
    }
    asm.items.push(Item::Ja(none));
    asm.mark(matched);
    asm.ret(action);
    asm.mark(none);
}

/// Jumps to `pass` if the check holds, else to `fail`.
fn emit_check(asm: &mut Assembler, check: &ArgCheck, pass: Label, fail: Label) {
    let (lo_v, hi_v) = (check.value as u32, (check.value >> 32) as u32);
    let lo_off = off_arg_low(check.arg);
    if let Op::MaskedEq(mask) = check.op {
        let (lo_m, hi_m) = (mask as u32, (mask >> 32) as u32);
        if !check.low_word_only && (hi_m != 0 || hi_v != 0) {
            let lo = asm.label();
            asm.load(off_arg_high(check.arg));
            asm.stmt(BPF_ALU_AND_K, hi_m);
            asm.jump(BPF_JMP_JEQ_K, hi_v, lo, fail);
            asm.mark(lo);
        }
        asm.load(lo_off);
        asm.stmt(BPF_ALU_AND_K, lo_m);
        asm.jump(BPF_JMP_JEQ_K, lo_v, pass, fail);
        return;
    }
    if check.low_word_only {
        asm.load(lo_off);
        emit_word_compare(asm, check.op, lo_v, pass, fail);
        return;
    }
    // 64-bit: decide on the high word when it differs, else on the low word.
    let low = asm.label();
    asm.load(off_arg_high(check.arg));
    match check.op {
        Op::Eq => asm.jump(BPF_JMP_JEQ_K, hi_v, low, fail),
        Op::Ne => asm.jump(BPF_JMP_JEQ_K, hi_v, low, pass),
        Op::Gt | Op::Ge => {
            let equal = asm.label();
            asm.jump(BPF_JMP_JGT_K, hi_v, pass, equal);
            asm.mark(equal);
            asm.jump(BPF_JMP_JEQ_K, hi_v, low, fail);
        }
        Op::Lt | Op::Le => {
            let not_less = asm.label();
            asm.jump(BPF_JMP_JGE_K, hi_v, not_less, pass);
            asm.mark(not_less);
            asm.jump(BPF_JMP_JGT_K, hi_v, fail, low);
        }
        Op::MaskedEq(_) => unreachable!("handled above"),
    }
    asm.mark(low);
    asm.load(lo_off);
    emit_word_compare(asm, check.op, lo_v, pass, fail);
}

/// Unsigned comparison of the accumulator against one 32-bit word.
fn emit_word_compare(asm: &mut Assembler, op: Op, v: u32, pass: Label, fail: Label) {
    match op {
        Op::Eq => asm.jump(BPF_JMP_JEQ_K, v, pass, fail),
        Op::Ne => asm.jump(BPF_JMP_JEQ_K, v, fail, pass),
        Op::Gt => asm.jump(BPF_JMP_JGT_K, v, pass, fail),
        Op::Ge => asm.jump(BPF_JMP_JGE_K, v, pass, fail),
        Op::Lt => asm.jump(BPF_JMP_JGE_K, v, fail, pass),
        Op::Le => asm.jump(BPF_JMP_JGT_K, v, fail, pass),
        Op::MaskedEq(_) => unreachable!("masked comparisons are emitted by emit_check"),
    }
}

/// The program as bytes, 8 per instruction in native (little-endian) order, as
/// `--emit seccomp-bpf` writes it and `seccomp(2)` reads it.
pub fn to_bytes(program: &[sock_filter]) -> Vec<u8> {
    program
        .iter()
        .flat_map(|f| {
            let mut b = [0u8; 8];
            b[0..2].copy_from_slice(&f.code.to_le_bytes());
            b[2] = f.jt;
            b[3] = f.jf;
            b[4..8].copy_from_slice(&f.k.to_le_bytes());
            b
        })
        .collect()
}

/// A readable listing of a program, one instruction per line with absolute jump targets, for
/// `--emit seccomp-bpf` review and snapshot tests.
pub fn disassemble(program: &[sock_filter]) -> String {
    let mut out = String::new();
    for (pc, f) in program.iter().enumerate() {
        let target = |off: u32| pc + 1 + off as usize;
        let text = match f.code {
            BPF_LD_W_ABS => format!("ld  [{}]{}", f.k, field_name(f.k)),
            BPF_ALU_AND_K => format!("and #{:#x}", f.k),
            BPF_JMP_JA => format!("ja  {}", target(f.k)),
            BPF_JMP_JEQ_K | BPF_JMP_JGT_K | BPF_JMP_JGE_K => {
                let op = match f.code {
                    BPF_JMP_JEQ_K => "jeq",
                    BPF_JMP_JGT_K => "jgt",
                    _ => "jge",
                };
                format!("{op} #{:#x}, {}, {}", f.k, target(u32::from(f.jt)), target(u32::from(f.jf)))
            }
            BPF_RET_K => format!("ret {}", Action::from_ret(f.k)),
            code => format!("op {code:#06x} {} {} {:#x}", f.jt, f.jf, f.k),
        };
        out += &format!("{pc:4}: {text}\n");
    }
    out
}

fn field_name(offset: u32) -> String {
    match offset {
        OFF_NR => " nr".to_string(),
        OFF_ARCH => " arch".to_string(),
        16..=63 => format!(" arg{}.{}", (offset - 16) / 8, if (offset - 16) % 8 == 0 { "lo" } else { "hi" }),
        _ => String::new(),
    }
}
