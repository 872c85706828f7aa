//! Seccomp actions: the policy spelling (`errno(EPERM)`), the kernel's `SECCOMP_RET_*` value
//! and the Docker/OCI `SCMP_ACT_*` name.

use super::arch;
use std::fmt;

/// What the kernel does with a syscall (seccomp(2), "Filter return values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    KillProcess,
    KillThread,
    Trap,
    Errno(u16),
    /// Hand the syscall to a supervisor over the listener fd (SECCOMP_RET_USER_NOTIF).
    Notify,
    Trace(u16),
    Log,
    Allow,
}

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// Why an action string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("unknown seccomp action `{0}`")]
    Unknown(String),
    #[error("unknown errno `{0}`")]
    UnknownErrno(String),
    #[error("errno {0} is out of range (0..=4095)")]
    ErrnoRange(u64),
}

impl Action {
    /// The policy spellings, for hints.
    pub const SPELLINGS: &'static [&'static str] =
        &["kill-process", "kill-thread", "trap", "errno(EPERM)", "log", "notify", "trace(N)", "allow"];

    /// Parses `kill-process`, `kill-thread`, `trap`, `errno(N|ENAME)`, `log`, `notify`,
    /// `trace(N)` or `allow`.
    pub fn parse(text: &str) -> Result<Action, ActionError> {
        let text = text.trim();
        let simple = match text {
            "kill-process" => Some(Action::KillProcess),
            "kill-thread" => Some(Action::KillThread),
            "trap" => Some(Action::Trap),
            "log" => Some(Action::Log),
            "notify" => Some(Action::Notify),
            "allow" => Some(Action::Allow),
            _ => None,
        };
        if let Some(action) = simple {
            return Ok(action);
        }
        if let Some(arg) = text.strip_prefix("errno(").and_then(|t| t.strip_suffix(')')) {
            return parse_errno(arg.trim()).map(Action::Errno);
        }
        if let Some(arg) = text.strip_prefix("trace(").and_then(|t| t.strip_suffix(')')) {
            let n: u16 = arg.trim().parse().map_err(|_| ActionError::Unknown(text.to_string()))?;
            return Ok(Action::Trace(n));
        }
        Err(ActionError::Unknown(text.to_string()))
    }

    /// The `SECCOMP_RET_*` value a filter returns for this action.
    pub fn to_ret(self) -> u32 {
        match self {
            Action::KillProcess => RET_KILL_PROCESS,
            Action::KillThread => RET_KILL_THREAD,
            Action::Trap => RET_TRAP,
            Action::Errno(e) => RET_ERRNO | u32::from(e),
            Action::Notify => RET_USER_NOTIF,
            Action::Trace(n) => RET_TRACE | u32::from(n),
            Action::Log => RET_LOG,
            Action::Allow => RET_ALLOW,
        }
    }

    /// Decodes a filter return value, as the kernel would act on it.
    pub fn from_ret(ret: u32) -> Action {
        let data = (ret & 0xffff) as u16;
        match ret & 0xffff_0000 {
            RET_KILL_PROCESS => Action::KillProcess,
            RET_KILL_THREAD => Action::KillThread,
            RET_TRAP => Action::Trap,
            RET_ERRNO => Action::Errno(data),
            RET_USER_NOTIF => Action::Notify,
            RET_TRACE => Action::Trace(data),
            RET_LOG => Action::Log,
            RET_ALLOW => Action::Allow,
            // seccomp(2): unknown actions are treated as SECCOMP_RET_KILL_PROCESS.
            _ => Action::KillProcess,
        }
    }

    /// The libseccomp / Docker / OCI action name.
    pub fn scmp_name(self) -> &'static str {
        match self {
            Action::KillProcess => "SCMP_ACT_KILL_PROCESS",
            Action::KillThread => "SCMP_ACT_KILL_THREAD",
            Action::Trap => "SCMP_ACT_TRAP",
            Action::Errno(_) => "SCMP_ACT_ERRNO",
            Action::Notify => "SCMP_ACT_NOTIFY",
            Action::Trace(_) => "SCMP_ACT_TRACE",
            Action::Log => "SCMP_ACT_LOG",
            Action::Allow => "SCMP_ACT_ALLOW",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillProcess => f.write_str("kill-process"),
            Action::KillThread => f.write_str("kill-thread"),
            Action::Trap => f.write_str("trap"),
            Action::Errno(e) => match arch::errno_name(u32::from(*e)) {
                Some(name) => write!(f, "errno({name})"),
                None => write!(f, "errno({e})"),
            },
            Action::Notify => f.write_str("notify"),
            Action::Trace(n) => write!(f, "trace({n})"),
            Action::Log => f.write_str("log"),
            Action::Allow => f.write_str("allow"),
        }
    }
}

/// An errno by name (`EPERM`) or number. The kernel caps errnos at 4095 (MAX_ERRNO);
/// `errno(0)` is legal and makes the syscall "succeed" without running, as in libseccomp.
pub fn parse_errno(text: &str) -> Result<u16, ActionError> {
    let number = if text.starts_with(|c: char| c.is_ascii_digit()) {
        text.parse::<u64>().map_err(|_| ActionError::UnknownErrno(text.to_string()))?
    } else {
        u64::from(arch::errno(text).ok_or_else(|| ActionError::UnknownErrno(text.to_string()))?)
    };
    if number > 4095 {
        return Err(ActionError::ErrnoRange(number));
    }
    Ok(number as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_and_round_trips_through_display() {
        for text in ["kill-process", "kill-thread", "trap", "errno(EPERM)", "log", "notify", "allow", "trace(7)"] {
            let action = Action::parse(text).unwrap();
            assert_eq!(action.to_string(), text);
            assert_eq!(Action::from_ret(action.to_ret()), action);
        }
        assert_eq!(Action::parse("errno(38)").unwrap(), Action::Errno(38));
        assert_eq!(Action::parse("errno(ENOSYS)").unwrap().to_ret(), 0x0005_0026);
    }

    #[test]
    fn refuses_unknown_actions_and_bad_errnos() {
        assert_eq!(Action::parse("deny"), Err(ActionError::Unknown("deny".into())));
        assert_eq!(Action::parse("errno(EWHAT)"), Err(ActionError::UnknownErrno("EWHAT".into())));
        assert_eq!(Action::parse("errno(0)"), Ok(Action::Errno(0)));
        assert_eq!(Action::parse("errno(5000)"), Err(ActionError::ErrnoRange(5000)));
    }
}
