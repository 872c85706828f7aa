//! Argument conditions of seccomp rules: `arg0 != AF_ALG`, `arg0 & CLONE_NEWUSER == 0`,
//! `arg1:64 >= 0x1000`. Parsed with nom; names resolve through the constant tables.
//!
//! Width matters. The kernel sees six 64-bit argument registers, but a syscall whose parameter is
//! an `int` ignores the upper 32 bits. A 64-bit `arg0 != 38` on socket() is therefore bypassed by
//! passing `0x1_0000_0026` (the filter sees "not 38", the kernel creates an AF_ALG socket).
//! palisade compares only the low 32 bits for parameters it knows are 32-bit (see
//! [`INT_PARAMETERS`]) unless the condition says `:64`; everything else is compared on 64 bits,
//! as libseccomp and the OCI runtime spec do.

use super::arch;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, hex_digit1, multispace0, oct_digit1, one_of};
use nom::combinator::{all_consuming, map, map_res, opt, recognize};
use nom::multi::separated_list1;
use nom::sequence::{delimited, pair, preceded, tuple};
use nom::IResult;
use std::fmt;

/// How many bits of the argument a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// Compare the low 32 bits only.
    W32,
    W64,
    /// Not written: 32 for known `int` parameters of the syscall, else 64.
    Inferred,
}

/// A comparison operator; `MaskedEq(mask)` is `(arg & mask) == value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq(u64),
}

/// One argument comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    pub arg: u8,
    pub width: Width,
    pub op: Op,
    pub value: u64,
    /// The text as written, for explanations.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("cannot parse condition `{0}`; expected e.g. `arg0 != AF_ALG` or `arg0 & CLONE_NEWUSER == 0`")]
    Syntax(String),
    #[error("unknown constant `{0}`")]
    UnknownConstant(String),
    #[error("argument index {0} is out of range (arg0..arg5)")]
    ArgRange(u8),
}

/// Parameters that are 32-bit (`int`, `unsigned int`, `pid_t`, `uid_t`, …) in the kernel's
/// syscall definitions, by syscall name and argument index.
pub const INT_PARAMETERS: &[(&str, &[u8])] = &[
    ("accept4", &[0, 3]),
    ("bpf", &[0]),
    ("close", &[0]),
    ("dup2", &[0, 1]),
    ("dup3", &[0, 1, 2]),
    ("epoll_create1", &[0]),
    ("eventfd2", &[0, 1]),
    ("fchmod", &[0, 1]),
    ("fchmodat", &[0, 2]),
    ("fcntl", &[0, 1]),
    ("flock", &[0, 1]),
    ("getsockopt", &[0, 1, 2]),
    ("inotify_init1", &[0]),
    ("io_uring_setup", &[0]),
    ("ioctl", &[0, 1]),
    ("ioprio_set", &[0, 1, 2]),
    ("kcmp", &[0, 1, 2]),
    ("keyctl", &[0]),
    ("kill", &[0, 1]),
    ("madvise", &[2]),
    ("memfd_create", &[1]),
    ("open", &[1, 2]),
    ("openat", &[0, 2, 3]),
    ("perf_event_open", &[1, 2, 3]),
    ("personality", &[0]),
    ("pidfd_open", &[0, 1]),
    ("prctl", &[0]),
    ("read", &[0]),
    ("reboot", &[0, 1, 2]),
    ("seccomp", &[0, 1]),
    ("setfsgid", &[0]),
    ("setfsuid", &[0]),
    ("setgid", &[0]),
    ("setns", &[0, 1]),
    ("setpriority", &[0, 1, 2]),
    ("setregid", &[0, 1]),
    ("setresgid", &[0, 1, 2]),
    ("setresuid", &[0, 1, 2]),
    ("setreuid", &[0, 1]),
    ("setsockopt", &[0, 1, 2]),
    ("setuid", &[0]),
    ("socket", &[0, 1, 2]),
    ("socketcall", &[0]),
    ("socketpair", &[0, 1, 2]),
    ("syslog", &[0, 2]),
    ("tgkill", &[0, 1, 2]),
    ("tkill", &[0, 1]),
    ("umount2", &[1]),
    ("userfaultfd", &[0]),
    ("write", &[0]),
];

/// Whether the kernel reads argument `arg` of `syscall` as a 32-bit value.
pub fn is_int_parameter(syscall: &str, arg: u8) -> bool {
    INT_PARAMETERS.binary_search_by_key(&syscall, |(name, _)| name).is_ok_and(|i| INT_PARAMETERS[i].1.contains(&arg))
}

impl Condition {
    /// Parses one condition string.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let (_, (arg, width, op, value)) =
            all_consuming(delimited(multispace0, condition, multispace0))(text).map_err(|_| ConditionError::Syntax(text.to_string()))?;
        if arg > 5 {
            return Err(ConditionError::ArgRange(arg));
        }
        let resolve = |v: Value| v.resolve();
        let op = match op {
            ParsedOp::Simple(op) => op,
            ParsedOp::Masked(mask) => Op::MaskedEq(resolve(mask)?),
        };
        Ok(Condition { arg, width, op, value: resolve(value)?, text: text.trim().to_string() })
    }

    /// The width actually compared for `syscall`.
    pub fn width_for(&self, syscall: &str) -> Width {
        match self.width {
            Width::Inferred if is_int_parameter(syscall, self.arg) => Width::W32,
            Width::Inferred => Width::W64,
            explicit => explicit,
        }
    }

    /// Evaluates the condition on an argument value, as the compiled filter must.
    pub fn holds(&self, syscall: &str, arg_value: u64) -> bool {
        compare(self.op, self.width_for(syscall) == Width::W32, arg_value, self.value)
    }
}

/// The comparison a filter makes: unsigned, on the low 32 bits only or on all 64.
pub fn compare(op: Op, low_word_only: bool, arg: u64, value: u64) -> bool {
    let width_mask = if low_word_only { 0xffff_ffff } else { u64::MAX };
    let (a, v) = (arg & width_mask, value & width_mask);
    match op {
        Op::Eq => a == v,
        Op::Ne => a != v,
        Op::Lt => a < v,
        Op::Le => a <= v,
        Op::Gt => a > v,
        Op::Ge => a >= v,
        Op::MaskedEq(m) => a & m & width_mask == v,
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A value expression before constant lookup: terms joined by `|`.
struct Value(Vec<Term>);

enum Term {
    Number(u64),
    Name(String),
}

impl Value {
    fn resolve(self) -> Result<u64, ConditionError> {
        self.0.into_iter().try_fold(0u64, |acc, term| {
            let v = match term {
                Term::Number(n) => n,
                Term::Name(name) => arch::constant(&name).ok_or(ConditionError::UnknownConstant(name))?,
            };
            Ok(acc | v)
        })
    }
}

enum ParsedOp {
    Simple(Op),
    Masked(Value),
}

fn condition(input: &str) -> IResult<&str, (u8, Width, ParsedOp, Value)> {
    let (input, (arg, width)) = argument(input)?;
    let (input, _) = multispace0(input)?;
    alt((
        map(tuple((char('&'), multispace0, value, multispace0, tag("=="), multispace0, value)), move |(_, _, mask, _, _, _, v)| {
            (arg, width, ParsedOp::Masked(mask), v)
        }),
        map(tuple((operator, multispace0, value)), move |(op, _, v)| (arg, width, ParsedOp::Simple(op), v)),
    ))(input)
}

fn argument(input: &str) -> IResult<&str, (u8, Width)> {
    let (input, index) = preceded(tag("arg"), map_res(digit1, str::parse::<u8>))(input)?;
    let (input, width) = opt(preceded(char(':'), alt((tag("32"), tag("64")))))(input)?;
    let width = match width {
        Some("32") => Width::W32,
        Some(_) => Width::W64,
        None => Width::Inferred,
    };
    Ok((input, (index, width)))
}

fn operator(input: &str) -> IResult<&str, Op> {
    alt((
        map(tag("=="), |_| Op::Eq),
        map(tag("!="), |_| Op::Ne),
        map(tag("<="), |_| Op::Le),
        map(tag(">="), |_| Op::Ge),
        map(tag("<"), |_| Op::Lt),
        map(tag(">"), |_| Op::Gt),
    ))(input)
}

fn value(input: &str) -> IResult<&str, Value> {
    map(separated_list1(delimited(multispace0, char('|'), multispace0), term), Value)(input)
}

fn term(input: &str) -> IResult<&str, Term> {
    alt((map(number, Term::Number), map(name, |n: &str| Term::Name(n.to_string()))))(input)
}

fn name(input: &str) -> IResult<&str, &str> {
    recognize(pair(
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        opt(take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_')),
    ))(input)
}

/// Decimal, `0x` hex, `0o` octal, or a negative decimal (two's complement, like `AT_FDCWD`).
fn number(input: &str) -> IResult<&str, u64> {
    alt((
        map_res(preceded(alt((tag("0x"), tag("0X"))), hex_digit1), |h| u64::from_str_radix(h, 16)),
        map_res(preceded(tag("0o"), oct_digit1), |o| u64::from_str_radix(o, 8)),
        map_res(preceded(char('-'), digit1), |d: &str| d.parse::<i64>().map(|n| (-n) as u64)),
        map_res(recognize(pair(one_of("0123456789"), opt(digit1))), str::parse::<u64>),
    ))(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comparisons_masks_widths_and_constants() {
        let c = Condition::parse("arg0 != AF_ALG").unwrap();
        assert_eq!((c.arg, c.width, c.op, c.value), (0, Width::Inferred, Op::Ne, 38));
        let c = Condition::parse(" arg1:64 >= 0x1000 ").unwrap();
        assert_eq!((c.arg, c.width, c.op, c.value), (1, Width::W64, Op::Ge, 0x1000));
        let c = Condition::parse("arg0 & CLONE_NEWUSER|CLONE_NEWNET == 0").unwrap();
        assert_eq!(c.op, Op::MaskedEq(0x1000_0000 | 0x4000_0000));
        assert_eq!(Condition::parse("arg0 == -100").unwrap().value, (-100i64) as u64);
    }

    #[test]
    fn reports_syntax_unknown_constants_and_range() {
        assert!(matches!(Condition::parse("arg0 ~ 1"), Err(ConditionError::Syntax(_))));
        assert_eq!(Condition::parse("arg0 == AF_NOPE"), Err(ConditionError::UnknownConstant("AF_NOPE".into())));
        assert_eq!(Condition::parse("arg6 == 1"), Err(ConditionError::ArgRange(6)));
    }

    #[test]
    fn int_parameters_compare_only_the_low_word() {
        let c = Condition::parse("arg0 != AF_ALG").unwrap();
        assert!(!c.holds("socket", 0x1_0000_0026), "high bits must not hide AF_ALG");
        assert!(c.holds("socket", 2));
        let wide = Condition::parse("arg0:64 != AF_ALG").unwrap();
        assert!(wide.holds("socket", 0x1_0000_0026));
        assert!(INT_PARAMETERS.windows(2).all(|w| w[0].0 < w[1].0), "table must stay sorted");
    }
}
