//! An exact interpreter of classic BPF as the kernel runs it for seccomp.
//!
//! The kernel accepts a seccomp filter in three steps (kernel/seccomp.c, net/core/filter.c):
//! `bpf_check_basics_ok` (length 1..=BPF_MAXINSNS), `bpf_check_classic` (known opcodes,
//! jumps in range, constant divisors and shifts, scratch slots < 16, last instruction RET,
//! and `check_load_and_stores`: no scratch slot read before it is written on every path),
//! then `seccomp_check_filter` (the seccomp subset of opcodes; `LD W ABS` aligned and inside
//! `struct seccomp_data`). [`validate`] repeats those checks in that order, and [`run`]
//! executes only programs that pass them, so a test that runs a compiler's output through
//! [`run`] also proves that the kernel would load it.
//!
//! Run-time semantics follow the kernel's classic-to-eBPF conversion (`bpf_convert_filter`):
//! A and X start at 0, arithmetic is 32-bit wrapping, `DIV X` by zero ends the program with
//! return value 0 (SECCOMP_RET_KILL_THREAD), and shifts by X use the low 5 bits of X.
//! Loads read `struct seccomp_data` in little-endian order (the layout on x86-64 and arm64).

use seccompiler::sock_filter;

/// Seccomp return values (seccomp(2), "Filter return values"; include/uapi/linux/seccomp.h).
pub mod ret {
    /// SECCOMP_RET_KILL_PROCESS: kill the whole process.
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// SECCOMP_RET_KILL_THREAD (also SECCOMP_RET_KILL): kill the calling thread.
    pub const KILL_THREAD: u32 = 0x0000_0000;
    /// SECCOMP_RET_TRAP: send SIGSYS.
    pub const TRAP: u32 = 0x0003_0000;
    /// SECCOMP_RET_ERRNO: fail the syscall with the errno in the data bits.
    pub const ERRNO: u32 = 0x0005_0000;
    /// SECCOMP_RET_USER_NOTIF: ask the supervisor on the listener fd.
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// SECCOMP_RET_TRACE: notify a ptrace tracer.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// SECCOMP_RET_LOG: allow and log.
    pub const LOG: u32 = 0x7ffc_0000;
    /// SECCOMP_RET_ALLOW: allow.
    pub const ALLOW: u32 = 0x7fff_0000;
    /// SECCOMP_RET_DATA: the low 16 bits (errno, trace message).
    pub const DATA: u32 = 0x0000_ffff;
    /// SECCOMP_RET_ACTION_FULL: the action bits, as the kernel compares them.
    pub const ACTION_FULL: u32 = 0xffff_0000;
}

/// BPF_MAXINSNS (include/uapi/linux/bpf_common.h).
pub const MAX_INSNS: usize = 4096;
/// BPF_MEMWORDS: scratch memory slots.
pub const MEM_WORDS: usize = 16;
/// `sizeof(struct seccomp_data)`: what `LD W LEN` loads.
pub const SECCOMP_DATA_LEN: u32 = 64;

// Classic BPF opcode fields (include/uapi/linux/filter.h, bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_ST: u16 = 0x02;
const BPF_STX: u16 = 0x03;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_B: u16 = 0x10;
const BPF_IMM: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_IND: u16 = 0x40;
const BPF_MEM: u16 = 0x60;
const BPF_LEN: u16 = 0x80;
const BPF_MSH: u16 = 0xa0;
const BPF_ADD: u16 = 0x00;
const BPF_SUB: u16 = 0x10;
const BPF_MUL: u16 = 0x20;
const BPF_DIV: u16 = 0x30;
const BPF_OR: u16 = 0x40;
const BPF_AND: u16 = 0x50;
const BPF_LSH: u16 = 0x60;
const BPF_RSH: u16 = 0x70;
const BPF_NEG: u16 = 0x80;
const BPF_MOD: u16 = 0x90;
const BPF_XOR: u16 = 0xa0;
const BPF_JA: u16 = 0x00;
const BPF_JEQ: u16 = 0x10;
const BPF_JGT: u16 = 0x20;
const BPF_JGE: u16 = 0x30;
const BPF_JSET: u16 = 0x40;
const BPF_K: u16 = 0x00;
const BPF_X: u16 = 0x08;
const BPF_A: u16 = 0x10;
const BPF_TAX: u16 = 0x00;
const BPF_TXA: u16 = 0x80;

/// The input a seccomp filter sees (`struct seccomp_data`, little-endian layout:
/// nr@0, arch@4, instruction_pointer@8, args\[i\]@16+8*i).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeccompData {
    /// Syscall number, as the architecture numbers it.
    pub nr: i32,
    /// AUDIT_ARCH_* value of the calling convention.
    pub arch: u32,
    /// Instruction pointer at the syscall.
    pub instruction_pointer: u64,
    /// The six syscall arguments, zero-extended to 64 bits.
    pub args: [u64; 6],
}

impl SeccompData {
    /// The 64 bytes a filter's `LD W ABS` reads from.
    pub fn to_bytes(&self) -> [u8; SECCOMP_DATA_LEN as usize] {
        let mut b = [0u8; SECCOMP_DATA_LEN as usize];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        b
    }
}

/// The result of running a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The filter's return value (a `ret::*` action, possibly with data bits).
    pub ret: u32,
    /// Instructions executed, the final RET included.
    pub steps: usize,
}

/// Why the kernel would refuse to load a filter (each maps to its `-EINVAL`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    /// `bpf_check_basics_ok`: a zero-length program.
    #[error("empty BPF program")]
    EmptyProgram,
    /// `bpf_check_basics_ok`: more than BPF_MAXINSNS instructions.
    #[error("BPF program has {len} instructions, more than the kernel's limit of {MAX_INSNS}")]
    TooLong { len: usize },
    /// An opcode that classic BPF does not have, or that seccomp does not permit.
    #[error("instruction {pc}: opcode {code:#06x} is {reason}")]
    BadOpcode { pc: usize, code: u16, reason: &'static str },
    /// A jump whose target lies past the last instruction.
    #[error("instruction {pc}: jump target {target} is outside the program of {len} instructions")]
    JumpOutOfRange { pc: usize, target: usize, len: usize },
    /// `LD W ABS` outside `struct seccomp_data` or not 4-byte aligned.
    #[error("instruction {pc}: load at offset {offset} is unaligned or outside the 64-byte seccomp_data")]
    BadLoad { pc: usize, offset: u32 },
    /// The last instruction is not RET, so execution could run off the end.
    #[error("the last instruction ({pc}) is not RET: execution can fall off the end")]
    FallsOffEnd { pc: usize },
    /// `DIV K` (or `MOD K`) with a zero constant.
    #[error("instruction {pc}: division by constant zero")]
    DivisionByZero { pc: usize },
    /// `LSH K`/`RSH K` by 32 or more.
    #[error("instruction {pc}: shift by {k} (must be < 32)")]
    ShiftOutOfRange { pc: usize, k: u32 },
    /// A scratch-memory index of 16 or more.
    #[error("instruction {pc}: scratch memory slot {k} does not exist (only 0..{MEM_WORDS})")]
    MemoryIndexOutOfRange { pc: usize, k: u32 },
    /// A scratch slot read on some path before any store to it (`check_load_and_stores`).
    #[error("instruction {pc}: scratch memory slot {slot} may be read before it is written")]
    UninitializedMemory { pc: usize, slot: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    K,
    X,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Or,
    And,
    Lsh,
    Rsh,
    Xor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    Eq,
    Gt,
    Ge,
    Set,
}

/// A seccomp-permitted instruction, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    LdAbs,
    LdImm,
    LdxImm,
    LdMem,
    LdxMem,
    LdLen,
    LdxLen,
    St,
    Stx,
    Alu(AluOp, Src),
    Neg,
    Ja,
    Jmp(Cond, Src),
    RetK,
    RetA,
    Tax,
    Txa,
}

/// Decodes the opcodes `seccomp_check_filter` lets through; `None` for everything else.
fn decode(code: u16) -> Option<Op> {
    let alu = |op, src| Some(Op::Alu(op, src));
    let jmp = |c, src| Some(Op::Jmp(c, src));
    // Opcodes are 8 bits wide in classic BPF: class (0x07), size/op (0x18/0xf0), mode/src.
    if code > 0xff {
        return None;
    }
    match code {
        c if c == BPF_LD | BPF_W | BPF_ABS => Some(Op::LdAbs),
        c if c == BPF_LD | BPF_IMM => Some(Op::LdImm),
        c if c == BPF_LDX | BPF_IMM => Some(Op::LdxImm),
        c if c == BPF_LD | BPF_MEM => Some(Op::LdMem),
        c if c == BPF_LDX | BPF_MEM => Some(Op::LdxMem),
        c if c == BPF_LD | BPF_W | BPF_LEN => Some(Op::LdLen),
        c if c == BPF_LDX | BPF_W | BPF_LEN => Some(Op::LdxLen),
        c if c == BPF_ST => Some(Op::St),
        c if c == BPF_STX => Some(Op::Stx),
        c if c == BPF_ALU | BPF_NEG => Some(Op::Neg),
        c if c & 0x07 == BPF_ALU => {
            let src = if c & BPF_X != 0 { Src::X } else { Src::K };
            match c & 0xf0 {
                BPF_ADD => alu(AluOp::Add, src),
                BPF_SUB => alu(AluOp::Sub, src),
                BPF_MUL => alu(AluOp::Mul, src),
                BPF_DIV => alu(AluOp::Div, src),
                BPF_OR => alu(AluOp::Or, src),
                BPF_AND => alu(AluOp::And, src),
                BPF_LSH => alu(AluOp::Lsh, src),
                BPF_RSH => alu(AluOp::Rsh, src),
                BPF_XOR => alu(AluOp::Xor, src),
                _ => None, // MOD is classic BPF but not in seccomp's list; NEG|X is neither.
            }
        }
        c if c == BPF_JMP | BPF_JA => Some(Op::Ja),
        c if c & 0x07 == BPF_JMP => {
            let src = if c & BPF_X != 0 { Src::X } else { Src::K };
            match c & 0xf0 {
                BPF_JEQ => jmp(Cond::Eq, src),
                BPF_JGT => jmp(Cond::Gt, src),
                BPF_JGE => jmp(Cond::Ge, src),
                BPF_JSET => jmp(Cond::Set, src),
                _ => None,
            }
        }
        c if c == BPF_RET | BPF_K => Some(Op::RetK),
        c if c == BPF_RET | BPF_A => Some(Op::RetA),
        c if c == BPF_MISC | BPF_TAX => Some(Op::Tax),
        c if c == BPF_MISC | BPF_TXA => Some(Op::Txa),
        _ => None,
    }
}

/// `chk_code_allowed` in net/core/filter.c: the classic opcodes, seccomp or not. Those
/// outside seccomp's subset are refused later, by `seccomp_check_filter`.
fn is_classic(code: u16) -> bool {
    if decode(code).is_some() {
        return true;
    }
    [
        BPF_ALU | BPF_MOD | BPF_K,
        BPF_ALU | BPF_MOD | BPF_X,
        BPF_LD | BPF_H | BPF_ABS,
        BPF_LD | BPF_B | BPF_ABS,
        BPF_LD | BPF_W | BPF_IND,
        BPF_LD | BPF_H | BPF_IND,
        BPF_LD | BPF_B | BPF_IND,
        BPF_LDX | BPF_B | BPF_MSH,
    ]
    .contains(&code)
}

/// The statically known successors of instruction `pc` (jump targets unchecked).
fn successors(insn: &sock_filter, pc: usize) -> Successors {
    match decode(insn.code) {
        Some(Op::RetK | Op::RetA) => Successors::None,
        Some(Op::Ja) => Successors::One(pc + 1 + insn.k as usize),
        Some(Op::Jmp(..)) => Successors::Two(pc + 1 + usize::from(insn.jt), pc + 1 + usize::from(insn.jf)),
        _ => Successors::One(pc + 1),
    }
}

enum Successors {
    None,
    One(usize),
    Two(usize, usize),
}

/// The static checks the kernel makes when a seccomp filter is loaded, in the kernel's order
/// (so the first error reported is the one the kernel would hit first).
pub fn validate(prog: &[sock_filter]) -> Result<(), InterpError> {
    // 1. bpf_check_basics_ok.
    if prog.is_empty() {
        return Err(InterpError::EmptyProgram);
    }
    let len = prog.len();
    if len > MAX_INSNS {
        return Err(InterpError::TooLong { len });
    }
    // 2. bpf_check_classic: per-instruction checks.
    for (pc, insn) in prog.iter().enumerate() {
        let code = insn.code;
        if !is_classic(code) {
            return Err(InterpError::BadOpcode { pc, code, reason: "not a classic BPF opcode" });
        }
        let is = |codes: &[u16]| codes.contains(&code);
        if is(&[BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_MOD | BPF_K]) && insn.k == 0 {
            return Err(InterpError::DivisionByZero { pc });
        }
        if is(&[BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_RSH | BPF_K]) && insn.k >= 32 {
            return Err(InterpError::ShiftOutOfRange { pc, k: insn.k });
        }
        if is(&[BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX]) && insn.k as usize >= MEM_WORDS {
            return Err(InterpError::MemoryIndexOutOfRange { pc, k: insn.k });
        }
        // Jumps: the kernel compares offsets against flen - pc - 1, which is the same as
        // requiring the target to be an existing instruction.
        match successors(insn, pc) {
            Successors::One(t) if decode(code) == Some(Op::Ja) && t >= len => {
                return Err(InterpError::JumpOutOfRange { pc, target: t, len });
            }
            Successors::Two(t, f) if t >= len || f >= len => {
                let target = if t >= len { t } else { f };
                return Err(InterpError::JumpOutOfRange { pc, target, len });
            }
            _ => {}
        }
    }
    // 3. bpf_check_classic: the last instruction must be RET.
    let last = &prog[len - 1];
    if !matches!(decode(last.code), Some(Op::RetK | Op::RetA)) {
        return Err(InterpError::FallsOffEnd { pc: len - 1 });
    }
    // 4. check_load_and_stores: every scratch read is preceded by a store on every path.
    check_load_and_stores(prog)?;
    // 5. seccomp_check_filter: the seccomp subset, and loads inside struct seccomp_data.
    for (pc, insn) in prog.iter().enumerate() {
        match decode(insn.code) {
            None => return Err(InterpError::BadOpcode { pc, code: insn.code, reason: "not permitted in seccomp filters" }),
            Some(Op::LdAbs) if insn.k >= SECCOMP_DATA_LEN || insn.k & 3 != 0 => {
                return Err(InterpError::BadLoad { pc, offset: insn.k });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The kernel's `check_load_and_stores`, bit for bit: a mask of written slots flows
/// forward; a jump ANDs it into its targets and resets it to "all written" for the
/// fall-through position (which only jumps can reach). RET does not reset it, as in the
/// kernel, so code after a RET also inherits the RET's mask: conservative, like the kernel.
fn check_load_and_stores(prog: &[sock_filter]) -> Result<(), InterpError> {
    let mut masks = vec![u16::MAX; prog.len()];
    let mut memvalid: u16 = 0;
    for (pc, insn) in prog.iter().enumerate() {
        memvalid &= masks[pc];
        match decode(insn.code) {
            Some(Op::St | Op::Stx) => memvalid |= 1 << insn.k,
            Some(Op::LdMem | Op::LdxMem) if memvalid & (1 << insn.k) == 0 => {
                return Err(InterpError::UninitializedMemory { pc, slot: insn.k });
            }
            Some(Op::Ja | Op::Jmp(..)) => {
                match successors(insn, pc) {
                    Successors::One(t) => masks[t] &= memvalid,
                    Successors::Two(t, f) => {
                        masks[t] &= memvalid;
                        masks[f] &= memvalid;
                    }
                    Successors::None => {}
                }
                memvalid = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs a filter on one input, as the kernel would: the program is first checked with
/// [`validate`] (the kernel never runs a program it refused), then executed.
pub fn run(prog: &[sock_filter], data: &SeccompData) -> Result<Outcome, InterpError> {
    validate(prog)?;
    let bytes = data.to_bytes();
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; MEM_WORDS];
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        // validate() guarantees pc stays in range: jumps land inside and the last
        // instruction is RET, so every path ends in a RET.
        let insn = &prog[pc];
        let k = insn.k;
        steps += 1;
        let op = decode(insn.code).expect("validated program has only seccomp opcodes");
        let mut next = pc + 1;
        match op {
            Op::LdAbs => {
                let o = k as usize;
                a = u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
            }
            Op::LdImm => a = k,
            Op::LdxImm => x = k,
            Op::LdMem => a = mem[k as usize],
            Op::LdxMem => x = mem[k as usize],
            Op::LdLen => a = SECCOMP_DATA_LEN,
            Op::LdxLen => x = SECCOMP_DATA_LEN,
            Op::St => mem[k as usize] = a,
            Op::Stx => mem[k as usize] = x,
            Op::Neg => a = a.wrapping_neg(),
            Op::Alu(alu, src) => {
                let v = if src == Src::K { k } else { x };
                a = match alu {
                    AluOp::Add => a.wrapping_add(v),
                    AluOp::Sub => a.wrapping_sub(v),
                    AluOp::Mul => a.wrapping_mul(v),
                    AluOp::Div => {
                        // bpf_convert_filter: a classic `DIV X` by zero exits with 0,
                        // which seccomp reads as SECCOMP_RET_KILL_THREAD.
                        if v == 0 {
                            return Ok(Outcome { ret: 0, steps });
                        }
                        a / v
                    }
                    AluOp::Or => a | v,
                    AluOp::And => a & v,
                    // The eBPF interpreter masks 32-bit shift counts with 31, as do the
                    // x86-64 and arm64 JITs; constant counts are already < 32.
                    AluOp::Lsh => a.wrapping_shl(v),
                    AluOp::Rsh => a.wrapping_shr(v),
                    AluOp::Xor => a ^ v,
                };
            }
            Op::Ja => next = pc + 1 + k as usize,
            Op::Jmp(cond, src) => {
                let v = if src == Src::K { k } else { x };
                let taken = match cond {
                    Cond::Eq => a == v,
                    Cond::Gt => a > v,
                    Cond::Ge => a >= v,
                    Cond::Set => a & v != 0,
                };
                let off = if taken { insn.jt } else { insn.jf };
                next = pc + 1 + usize::from(off);
            }
            Op::RetK => return Ok(Outcome { ret: k, steps }),
            Op::RetA => return Ok(Outcome { ret: a, steps }),
            Op::Tax => x = a,
            Op::Txa => a = x,
        }
        pc = next;
    }
}

/// The longest path, in instructions executed (the final RET included), from the entry to
/// any RET over the control-flow DAG. Both arms of every conditional count as feasible.
/// Classic BPF only jumps forward, so one backward pass suffices. Meant for validated
/// programs; edges that leave the program are ignored, and an empty program gives 0.
pub fn worst_case_path(prog: &[sock_filter]) -> usize {
    let len = prog.len();
    let mut longest = vec![0usize; len];
    let at = |v: &Vec<usize>, t: usize| if t < len { v[t] } else { 0 };
    for pc in (0..len).rev() {
        let tail = match successors(&prog[pc], pc) {
            Successors::None => 0,
            Successors::One(t) => at(&longest, t),
            Successors::Two(t, f) => at(&longest, t).max(at(&longest, f)),
        };
        longest[pc] = 1 + tail;
    }
    longest.first().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    fn stmt(code: u16, k: u32) -> sock_filter {
        sock_filter { code, jt: 0, jf: 0, k }
    }
    fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
        sock_filter { code, jt, jf, k }
    }
    fn out(ret: u32, steps: usize) -> Outcome {
        Outcome { ret, steps }
    }
    /// Validates `insn` followed by `RET A`.
    fn check_one(insn: sock_filter) -> Result<(), InterpError> {
        validate(&[insn, stmt(BPF_RET | BPF_A, 0)])
    }
    /// A = a; A = A <op> k; return A.
    fn alu(a: u32, code: u16, k: u32) -> u32 {
        let p = [stmt(BPF_LD | BPF_IMM, a), stmt(code, k), stmt(BPF_RET | BPF_A, 0)];
        run(&p, &SeccompData::default()).unwrap().ret
    }
    fn data(arch: u32, nr: i32, args: [u64; 6]) -> SeccompData {
        SeccompData { nr, arch, instruction_pointer: 0x7fff_0000_1234, args }
    }

    /// The classic hand-written filter: kill other arches, allow read (0) and write (1)
    /// on x86-64, and fail everything else with EPERM.
    fn arch_nr_filter() -> Vec<sock_filter> {
        vec![
            stmt(BPF_LD | BPF_W | BPF_ABS, 4),
            jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            stmt(BPF_RET | BPF_K, ret::KILL_PROCESS),
            stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
            jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 0),
            stmt(BPF_RET | BPF_K, ret::ERRNO | 1),
            stmt(BPF_RET | BPF_K, ret::ALLOW),
        ]
    }

    #[test]
    fn arch_and_nr_filter() {
        let p = arch_nr_filter();
        validate(&p).unwrap();
        let r = |arch, nr| run(&p, &data(arch, nr, [0; 6])).unwrap();
        assert_eq!(r(AUDIT_ARCH_X86_64, 0), out(ret::ALLOW, 5));
        assert_eq!(r(AUDIT_ARCH_X86_64, 1), out(ret::ALLOW, 6));
        assert_eq!(r(AUDIT_ARCH_X86_64, 2), out(ret::ERRNO | 1, 6));
        assert_eq!(r(AUDIT_ARCH_I386, 0), out(ret::KILL_PROCESS, 3));
        assert_eq!(worst_case_path(&p), 6);
    }

    #[test]
    fn loads_are_little_endian_over_seccomp_data() {
        let d = data(AUDIT_ARCH_X86_64, -1, [0x1122_3344_5566_7788, 0, 0, 0, 0, 0xdead_beef_0000_0001]);
        let load = |off| run(&[stmt(BPF_LD | BPF_W | BPF_ABS, off), stmt(BPF_RET | BPF_A, 0)], &d);
        assert_eq!(load(0).unwrap().ret, u32::MAX);
        assert_eq!(load(4).unwrap().ret, AUDIT_ARCH_X86_64);
        assert_eq!(load(8).unwrap().ret, 0x0000_1234);
        assert_eq!(load(12).unwrap().ret, 0x7fff);
        assert_eq!(load(16).unwrap().ret, 0x5566_7788);
        assert_eq!(load(20).unwrap().ret, 0x1122_3344);
        assert_eq!(load(56).unwrap().ret, 1);
        assert_eq!(load(60).unwrap().ret, 0xdead_beef);
    }

    #[test]
    fn scratch_memory_and_alu() {
        // mem[3] = arg0.lo; X = arg1.lo; A = mem[3]; A = (A + X) * 3 - 1; A ^= 0xff;
        // if (A & 0x100) ret A else ret ALLOW | (A & 0xffff)
        let p = vec![
            stmt(BPF_LD | BPF_W | BPF_ABS, 16),
            stmt(BPF_ST, 3),
            stmt(BPF_LDX | BPF_MEM, 3),
            stmt(BPF_LD | BPF_W | BPF_ABS, 24),
            stmt(BPF_MISC | BPF_TAX, 0),
            stmt(BPF_LD | BPF_MEM, 3),
            stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
            stmt(BPF_ALU | BPF_MUL | BPF_K, 3),
            stmt(BPF_ALU | BPF_SUB | BPF_K, 1),
            stmt(BPF_ALU | BPF_XOR | BPF_K, 0xff),
            jump(BPF_JMP | BPF_JSET | BPF_K, 0x100, 0, 1),
            stmt(BPF_RET | BPF_A, 0),
            stmt(BPF_ALU | BPF_AND | BPF_K, 0xffff),
            stmt(BPF_ALU | BPF_OR | BPF_K, ret::ALLOW),
            stmt(BPF_RET | BPF_A, 0),
        ];
        validate(&p).unwrap();
        // (10 + 20) * 3 - 1 = 89 = 0x59; ^0xff = 0xa6: bit 8 clear.
        let o = run(&p, &data(AUDIT_ARCH_X86_64, 0, [10, 20, 0, 0, 0, 0])).unwrap();
        assert_eq!(o, out(ret::ALLOW | 0xa6, 14));
        // (100 + 0) * 3 - 1 = 299 = 0x12b; ^0xff = 0x1d4: bit 8 set.
        let o = run(&p, &data(AUDIT_ARCH_X86_64, 0, [100, 0, 0, 0, 0, 0])).unwrap();
        assert_eq!(o, out(0x1d4, 12));
        assert_eq!(worst_case_path(&p), 14);
    }

    #[test]
    fn alu_edge_semantics() {
        let eval = |ops: &[sock_filter]| {
            let mut p = ops.to_vec();
            p.push(stmt(BPF_RET | BPF_A, 0));
            run(&p, &SeccompData::default()).unwrap().ret
        };
        assert_eq!(alu(5, BPF_ALU | BPF_NEG, 0), 5u32.wrapping_neg());
        assert_eq!(alu(7, BPF_ALU | BPF_DIV | BPF_K, 2), 3);
        assert_eq!(alu(1, BPF_ALU | BPF_LSH | BPF_K, 31), 1 << 31);
        assert_eq!(alu(0x80, BPF_ALU | BPF_RSH | BPF_K, 4), 8);
        assert_eq!(eval(&[stmt(BPF_LD | BPF_W | BPF_LEN, 0)]), 64);
        assert_eq!(eval(&[stmt(BPF_LDX | BPF_W | BPF_LEN, 0), stmt(BPF_MISC | BPF_TXA, 0)]), 64);
        // Shift by X uses X & 31, like the kernel's interpreter and JITs.
        let shl_x = [stmt(BPF_LDX | BPF_IMM, 33), stmt(BPF_LD | BPF_IMM, 1), stmt(BPF_ALU | BPF_LSH | BPF_X, 0)];
        assert_eq!(eval(&shl_x), 2);
        // DIV X by zero ends the program with 0 (SECCOMP_RET_KILL_THREAD), as converted
        // classic BPF does in the kernel.
        let p = [stmt(BPF_LD | BPF_IMM, 9), stmt(BPF_ALU | BPF_DIV | BPF_X, 0), stmt(BPF_RET | BPF_K, ret::ALLOW)];
        assert_eq!(run(&p, &SeccompData::default()).unwrap(), out(ret::KILL_THREAD, 2));
        // JGT/JGE are unsigned.
        let p = [
            stmt(BPF_LD | BPF_IMM, 0xffff_fffe),
            jump(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 1),
            stmt(BPF_RET | BPF_K, ret::ALLOW),
            stmt(BPF_RET | BPF_K, ret::TRAP),
        ];
        assert_eq!(run(&p, &SeccompData::default()).unwrap().ret, ret::ALLOW);
    }

    #[test]
    fn ja_and_worst_case_path() {
        let p = vec![
            jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2), // nr==0 ? fall through : skip to 3
            stmt(BPF_JMP | BPF_JA, 2),                // -> 4
            stmt(BPF_RET | BPF_K, ret::TRAP),         // unreachable
            stmt(BPF_LD | BPF_IMM, 1),
            stmt(BPF_RET | BPF_K, ret::LOG),
        ];
        validate(&p).unwrap();
        assert_eq!(run(&p, &SeccompData::default()).unwrap(), out(ret::LOG, 3));
        assert_eq!(run(&p, &data(0, 5, [0; 6])).unwrap(), out(ret::LOG, 3));
        assert_eq!(worst_case_path(&p), 3);
        assert_eq!(worst_case_path(&[]), 0);
    }

    #[test]
    fn rejects_empty_and_too_long() {
        assert_eq!(validate(&[]), Err(InterpError::EmptyProgram));
        let mut p = vec![stmt(BPF_LD | BPF_IMM, 0); MAX_INSNS];
        p[MAX_INSNS - 1] = stmt(BPF_RET | BPF_K, ret::ALLOW);
        validate(&p).unwrap();
        p.insert(0, stmt(BPF_LD | BPF_IMM, 0));
        let e = Err(InterpError::TooLong { len: MAX_INSNS + 1 });
        assert_eq!(validate(&p), e);
        assert_eq!(run(&p, &SeccompData::default()).map(|_| ()), e);
    }

    #[test]
    fn rejects_bad_opcodes() {
        let with = |insn| vec![insn, stmt(BPF_RET | BPF_K, ret::ALLOW)];
        let bad = |code| match validate(&with(stmt(code, 1))) {
            Err(InterpError::BadOpcode { pc: 0, code: c, reason }) if c == code => reason,
            other => panic!("{code:#x}: {other:?}"),
        };
        // Not classic BPF at all.
        assert_eq!(bad(0xffff), "not a classic BPF opcode");
        assert_eq!(bad(BPF_RET | BPF_X), "not a classic BPF opcode");
        assert_eq!(bad(BPF_ALU | BPF_NEG | BPF_X), "not a classic BPF opcode");
        assert_eq!(bad(BPF_LDX | BPF_W | BPF_ABS), "not a classic BPF opcode");
        // Classic, but outside seccomp's subset.
        for code in [
            BPF_ALU | BPF_MOD | BPF_K,
            BPF_ALU | BPF_MOD | BPF_X,
            BPF_LD | BPF_B | BPF_ABS,
            BPF_LD | BPF_H | BPF_ABS,
            BPF_LD | BPF_W | BPF_IND,
            BPF_LDX | BPF_B | BPF_MSH,
        ] {
            assert_eq!(bad(code), "not permitted in seccomp filters");
        }
    }

    #[test]
    fn rejects_bad_loads() {
        let bad = |offset| Err(InterpError::BadLoad { pc: 0, offset });
        let ld = |k| check_one(stmt(BPF_LD | BPF_W | BPF_ABS, k));
        assert_eq!(ld(2), bad(2));
        assert_eq!(ld(64), bad(64));
        assert_eq!(ld(0xffff_f000), bad(0xffff_f000));
        ld(60).unwrap();
    }

    #[test]
    fn rejects_jumps_out_of_range() {
        use InterpError::JumpOutOfRange as J;
        let ja = stmt(BPF_JMP | BPF_JA, 1);
        assert_eq!(check_one(ja), Err(J { pc: 0, target: 2, len: 2 }));
        let jeq = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
        assert_eq!(check_one(jeq), Err(J { pc: 0, target: 2, len: 2 }));
        let jset = jump(BPF_JMP | BPF_JSET | BPF_X, 0, 255, 0);
        assert_eq!(check_one(jset), Err(J { pc: 0, target: 256, len: 2 }));
        // A huge JA offset must not overflow.
        let far = stmt(BPF_JMP | BPF_JA, u32::MAX);
        assert!(matches!(check_one(far), Err(J { pc: 0, .. })));
    }

    #[test]
    fn rejects_falling_off_the_end() {
        let p = vec![stmt(BPF_RET | BPF_K, 0), stmt(BPF_LD | BPF_IMM, 0)];
        let e = Err(InterpError::FallsOffEnd { pc: 1 });
        assert_eq!(validate(&p), e);
        assert_eq!(run(&p, &SeccompData::default()).map(|_| ()), e);
    }

    #[test]
    fn rejects_constant_division_by_zero_and_wide_shifts() {
        use InterpError::{DivisionByZero, ShiftOutOfRange};
        let div0 = stmt(BPF_ALU | BPF_DIV | BPF_K, 0);
        assert_eq!(check_one(div0), Err(DivisionByZero { pc: 0 }));
        // MOD K 0 fails the classic check before seccomp's opcode check.
        let mod0 = stmt(BPF_ALU | BPF_MOD | BPF_K, 0);
        assert_eq!(check_one(mod0), Err(DivisionByZero { pc: 0 }));
        let lsh = stmt(BPF_ALU | BPF_LSH | BPF_K, 32);
        assert_eq!(check_one(lsh), Err(ShiftOutOfRange { pc: 0, k: 32 }));
        let rsh = stmt(BPF_ALU | BPF_RSH | BPF_K, 40);
        assert_eq!(check_one(rsh), Err(ShiftOutOfRange { pc: 0, k: 40 }));
    }

    #[test]
    fn rejects_bad_scratch_memory_use() {
        use InterpError::{MemoryIndexOutOfRange, UninitializedMemory};
        let st16 = stmt(BPF_ST, 16);
        assert_eq!(check_one(st16), Err(MemoryIndexOutOfRange { pc: 0, k: 16 }));
        let ldx0 = stmt(BPF_LDX | BPF_MEM, 0);
        assert_eq!(check_one(ldx0), Err(UninitializedMemory { pc: 0, slot: 0 }));
        // Written on one arm only: the join point sees the AND of both masks.
        let p = vec![jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), stmt(BPF_ST, 5), stmt(BPF_LD | BPF_MEM, 5), stmt(BPF_RET | BPF_A, 0)];
        assert_eq!(validate(&p), Err(UninitializedMemory { pc: 2, slot: 5 }));
        // Written before the branch: fine on both arms.
        let p = vec![
            stmt(BPF_STX, 5),
            jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
            stmt(BPF_LD | BPF_IMM, 1),
            stmt(BPF_LD | BPF_MEM, 5),
            stmt(BPF_RET | BPF_A, 0),
        ];
        validate(&p).unwrap();
    }

    #[test]
    fn error_messages_name_the_instruction() {
        let e = check_one(stmt(BPF_LD | BPF_W | BPF_ABS, 3)).unwrap_err();
        assert_eq!(e.to_string(), "instruction 0: load at offset 3 is unaligned or outside the 64-byte seccomp_data");
    }
}
