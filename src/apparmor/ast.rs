//! The syntax tree of an AppArmor policy file, as written: every item keeps the byte range it
//! came from so diagnostics point at `file:line:col`. Includes are kept as items here; the
//! loader ([`super::load`]) resolves them and the model ([`super::model`]) flattens them.

use std::ops::Range;

/// One parsed file: a profile file, an abstraction, a tunables file, a `local/` snippet.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub items: Vec<Item>,
}

/// Anything that can appear at the top level of a file or inside a profile body. The
/// grammar (parser_yacc.y) separates preamble and rules; palisade parses both everywhere and
/// lets the model decide, which accepts a superset and rejects nothing apparmor_parser takes.
#[derive(Debug, Clone)]
pub enum Item {
    /// `include <x>`, `include "x"`, `#include <x>`, `include if exists <x>`.
    Include {
        target: IncludeTarget,
        if_exists: bool,
        range: Range<usize>,
    },
    /// `abi <abi/3.0>,`
    Abi {
        target: IncludeTarget,
        range: Range<usize>,
    },
    /// `alias /usr/ -> /mnt/usr/,`
    Alias {
        from: String,
        to: String,
        range: Range<usize>,
    },
    /// `@{NAME} = v1 v2` (also `+=`, `?=`, `:=`).
    Variable {
        name: String,
        op: AssignOp,
        values: Vec<String>,
        range: Range<usize>,
    },
    /// `${NAME} = true`: boolean variables for conditionals.
    BoolVariable {
        name: String,
        op: AssignOp,
        expr: String,
        range: Range<usize>,
    },
    /// `if EXPR { … } else if EXPR { … } else { … }`: branches in order, `None` for `else`.
    Conditional {
        branches: Vec<(Option<String>, Vec<Item>)>,
        range: Range<usize>,
    },
    Profile(Profile),
    Rule(Rule),
    /// `audit deny { … }`: a prefix applied to every rule of the block.
    Block {
        prefix: Prefix,
        items: Vec<Item>,
        range: Range<usize>,
    },
    /// `set rlimit nofile <= 1024,`
    Rlimit {
        name: String,
        value: String,
        unit: Option<String>,
        range: Range<usize>,
    },
}

/// What an include or abi names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IncludeTarget {
    /// `<abstractions/base>`: looked up in the search path.
    Search(String),
    /// `"/etc/apparmor.d/x"` or a bare path: absolute, or relative to the base directory.
    Path(String),
}

impl IncludeTarget {
    pub fn name(&self) -> &str {
        match self {
            IncludeTarget::Search(s) | IncludeTarget::Path(s) => s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    /// `?=`: set if not yet defined.
    SetIfUnset,
    /// `:=`: replace any earlier definition.
    Override,
}

/// How a profile was introduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// `/usr/bin/foo { … }` (a path as the name).
    Bare,
    /// `profile NAME …`
    Profile,
    /// `^NAME { … }` or `hat NAME { … }`.
    Hat,
}

/// A profile, hat or child profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub kind: ProfileKind,
    pub name: String,
    /// The executable(s) the profile attaches to, when given apart from the name.
    pub attachment: Option<String>,
    /// `xattrs=(…)` conditions on the executable.
    pub xattrs: Vec<Cond>,
    /// `flags=(complain,attach_disconnected)`.
    pub flags: Vec<String>,
    pub items: Vec<Item>,
    /// The header, from the keyword (or name) to the opening brace.
    pub range: Range<usize>,
}

impl Profile {
    /// `complain`, `unconfined`, `kill`, `enforce`, `prompt`, or `default_allow` if the flags say so.
    pub fn mode_flag(&self) -> Option<&str> {
        self.flags.iter().map(String::as_str).find(|f| ["complain", "unconfined", "kill", "enforce", "prompt", "default_allow"].contains(f))
    }
}

/// `allow`, `deny` or `prompt` (AppArmor 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMode {
    Allow,
    Deny,
    Prompt,
}

/// `owner` (the task's fsuid owns the file) or `other` (it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Owner,
    Other,
}

/// The qualifiers before a rule: `priority=N audit deny owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prefix {
    pub priority: Option<i32>,
    pub audit: bool,
    pub mode: Option<RuleMode>,
    pub owner: Option<Owner>,
}

impl Prefix {
    pub fn is_deny(&self) -> bool {
        self.mode == Some(RuleMode::Deny)
    }

    /// A block's prefix combined with a rule's own (the rule's own wins where both say something).
    pub fn merged_with(&self, inner: &Prefix) -> Prefix {
        Prefix {
            priority: inner.priority.or(self.priority),
            audit: self.audit || inner.audit,
            mode: inner.mode.or(self.mode),
            owner: inner.owner.or(self.owner),
        }
    }
}

/// A conditional: `name=value`, `name=(a b)`, `name in (a b)`, or a bare `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub name: String,
    pub values: Vec<String>,
    /// `in (…)` rather than `=`.
    pub is_in: bool,
}

/// Whether a change_profile or file exec rule scrubs the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecSafety {
    Safe,
    Unsafe,
}

/// One rule with its prefix and source range.
#[derive(Debug, Clone)]
pub struct Rule {
    pub prefix: Prefix,
    pub kind: RuleKind,
    pub range: Range<usize>,
}

/// The access parts of a rule, by class (apparmor.d(5)).
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// `capability,` (every capability: empty list) or `capability net_raw sys_admin,`.
    Capability(Vec<String>),
    /// `network [perms] [domain [type|protocol]] [conds],`
    Network {
        perms: Vec<String>,
        domain: Option<String>,
        kind: Option<String>,
        conds: Vec<Cond>,
        peer: Vec<Cond>,
    },
    Unix {
        perms: Vec<String>,
        conds: Vec<Cond>,
        peer: Vec<Cond>,
    },
    Dbus {
        perms: Vec<String>,
        conds: Vec<Cond>,
        peer: Vec<Cond>,
    },
    Signal {
        perms: Vec<String>,
        conds: Vec<Cond>,
    },
    Ptrace {
        perms: Vec<String>,
        conds: Vec<Cond>,
    },
    /// `mount [conds] [source] [-> target],`
    Mount {
        conds: Vec<Cond>,
        source: Option<String>,
        target: Option<String>,
    },
    Remount {
        conds: Vec<Cond>,
        target: Option<String>,
    },
    Umount {
        conds: Vec<Cond>,
        target: Option<String>,
    },
    /// `pivot_root [oldroot=X] [new_root] [-> profile],`
    PivotRoot {
        oldroot: Option<String>,
        new_root: Option<String>,
        profile: Option<String>,
    },
    /// `change_profile [safe|unsafe] [exec] [-> target],`
    ChangeProfile {
        safety: Option<ExecSafety>,
        exec: Option<String>,
        target: Option<String>,
    },
    Userns {
        perms: Vec<String>,
        conds: Vec<Cond>,
    },
    Mqueue {
        perms: Vec<String>,
        conds: Vec<Cond>,
        name: Option<String>,
    },
    IoUring {
        perms: Vec<String>,
        conds: Vec<Cond>,
    },
    /// `all,`: every access of every class.
    All,
    /// `link [subset] FROM -> TO,`
    Link {
        subset: bool,
        from: String,
        to: String,
    },
    File(FileRule),
}

/// A file rule. `file,` alone is `path: None` (every file, every permission but exec modes).
#[derive(Debug, Clone)]
pub struct FileRule {
    pub path: Option<String>,
    pub perms: FilePerms,
    /// `-> target`: the profile an exec transitions to, or a link target.
    pub target: Option<String>,
    pub safety: Option<ExecSafety>,
}

/// File permissions as parsed from a mode string (`rw`, `mrix`, `Px`, `PUx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilePerms {
    pub read: bool,
    pub write: bool,
    pub append: bool,
    pub link: bool,
    pub lock: bool,
    pub mmap_exec: bool,
    /// The exec mode, if any (`ix`, `Px`, `cux`, plain `x` in deny rules).
    pub exec: Option<ExecMode>,
}

impl FilePerms {
    /// Every permission `file,` grants: all but exec transitions, plus `ix`.
    pub fn all() -> FilePerms {
        FilePerms { read: true, write: true, append: true, link: true, lock: true, mmap_exec: true, exec: Some(ExecMode::Inherit) }
    }

    pub fn is_empty(&self) -> bool {
        *self == FilePerms::default()
    }

    /// Whether these permissions include every permission in `other`.
    pub fn covers(&self, other: &FilePerms) -> bool {
        (!other.read || self.read)
            && (!other.write || self.write)
            && (!other.append || self.append || self.write)
            && (!other.link || self.link)
            && (!other.lock || self.lock)
            && (!other.mmap_exec || self.mmap_exec)
            && (other.exec.is_none() || self.exec.is_some())
    }

    /// Whether any permission of `other` is also in these.
    pub fn intersects(&self, other: &FilePerms) -> bool {
        (self.read && other.read)
            || ((self.write || self.append) && (other.write || other.append))
            || (self.link && other.link)
            || (self.lock && other.lock)
            || (self.mmap_exec && other.mmap_exec)
            || (self.exec.is_some() && other.exec.is_some())
    }
}

/// How an executed file is confined (apparmor.d(5) "Execute modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// `x` alone: only valid in deny rules.
    Any,
    /// `ix`: stay in this profile.
    Inherit,
    /// `px`/`Px`: the target's own profile (`Px` scrubs the environment).
    Profile { scrub: bool, fallback: Fallback },
    /// `cx`/`Cx`: a child profile.
    Child { scrub: bool, fallback: Fallback },
    /// `ux`/`Ux`: unconfined.
    Unconfined { scrub: bool },
}

/// What `pix`, `pux` and friends fall back to when no profile matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    None,
    Inherit,
    Unconfined,
}

impl ExecMode {
    /// Whether the program can end up running without confinement.
    pub fn may_run_unconfined(self) -> bool {
        matches!(self, ExecMode::Unconfined { .. })
            || matches!(
                self,
                ExecMode::Profile { fallback: Fallback::Unconfined, .. } | ExecMode::Child { fallback: Fallback::Unconfined, .. }
            )
    }
}

/// Parses a mode string as the lexer's MODES token does (`([RrWwaLlMmkXx])|(([Pp]|[Cc])[Xx])|
/// (([Pp]|[Cc])?([IiUu])[Xx])`, repeated). `None` if a character is not a permission.
pub fn parse_file_perms(text: &str) -> Option<FilePerms> {
    let mut perms = FilePerms::default();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let set_exec = |perms: &mut FilePerms, mode: ExecMode| -> Option<()> {
        match perms.exec {
            Some(old) if old != mode => None,
            _ => {
                perms.exec = Some(mode);
                Some(())
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let next2 = chars.get(i + 2).copied();
        let is_x = |c: Option<char>| matches!(c, Some('x' | 'X'));
        match c {
            'r' | 'R' => perms.read = true,
            'w' | 'W' => perms.write = true,
            'a' => perms.append = true,
            'l' | 'L' => perms.link = true,
            'k' => perms.lock = true,
            'm' | 'M' => perms.mmap_exec = true,
            'x' | 'X' => set_exec(&mut perms, ExecMode::Any)?,
            'i' | 'I' if is_x(next) => {
                set_exec(&mut perms, ExecMode::Inherit)?;
                i += 1;
            }
            'u' | 'U' if is_x(next) => {
                set_exec(&mut perms, ExecMode::Unconfined { scrub: c == 'U' })?;
                i += 1;
            }
            'p' | 'P' | 'c' | 'C' => {
                let scrub = c.is_ascii_uppercase();
                let child = c.eq_ignore_ascii_case(&'c');
                let (fallback, len) = match (next, next2) {
                    (Some('x' | 'X'), _) => (Fallback::None, 2),
                    (Some('i' | 'I'), n) if is_x(n) => (Fallback::Inherit, 3),
                    (Some('u' | 'U'), n) if is_x(n) => (Fallback::Unconfined, 3),
                    _ => return None,
                };
                let mode = if child { ExecMode::Child { scrub, fallback } } else { ExecMode::Profile { scrub, fallback } };
                set_exec(&mut perms, mode)?;
                i += len - 1;
            }
            _ => return None,
        }
        i += 1;
    }
    // An exec mode where plain `x` also appears collapses to the specific mode.
    Some(perms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_parse_like_the_lexer() {
        let p = parse_file_perms("mrix").unwrap();
        assert!(p.read && p.mmap_exec && p.exec == Some(ExecMode::Inherit));
        assert_eq!(parse_file_perms("Px").unwrap().exec, Some(ExecMode::Profile { scrub: true, fallback: Fallback::None }));
        assert_eq!(parse_file_perms("PUx").unwrap().exec, Some(ExecMode::Profile { scrub: true, fallback: Fallback::Unconfined }));
        assert_eq!(parse_file_perms("cix").unwrap().exec, Some(ExecMode::Child { scrub: false, fallback: Fallback::Inherit }));
        assert!(parse_file_perms("Ux").unwrap().exec.unwrap().may_run_unconfined());
        assert!(parse_file_perms("rwlk").unwrap().lock);
        assert_eq!(parse_file_perms("rz"), None);
        assert_eq!(parse_file_perms("p"), None);
        assert_eq!(parse_file_perms("ixux"), None, "two exec modes conflict");
    }
}
