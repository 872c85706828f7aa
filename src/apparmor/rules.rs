//! The rules inside a profile (parser_yacc.y's `rules` alternatives): capability, network,
//! unix, dbus, signal, ptrace, userns, mqueue, io_uring, mount/remount/umount/pivot_root,
//! change_profile, link, all, and file rules with their permission and exec modes.
//!
//! apparmor_parser's lexer switches modes per rule keyword (NETWORK_MODE, DBUS_MODE, …); here
//! the shared shape of the keyword rules (`KEYWORD [perms] [conds] [operands] [-> target] ,`)
//! is read once by [`body`] and interpreted per class by [`rule_from_body`].

use super::ast::*;
use super::lex;
use super::parse::{Cursor, PResult, SyntaxError};
use nom::bytes::complete::tag;
use nom::character::complete::char;

/// One rule after its prefix.
pub(super) fn rule(c: &mut Cursor) -> PResult<RuleKind> {
    let kw_start = c.pos;
    let kw = c.peek(lex::keyword);
    // `all,`, `file,`: the keyword alone. Leaves the cursor untouched when more follows.
    let simple = |c: &mut Cursor, kw: &str| -> Option<()> {
        let at = c.pos;
        c.eat(tag(kw));
        c.ws();
        if c.eat(char(',')).is_some() {
            Some(())
        } else {
            c.pos = at;
            None
        }
    };
    match kw {
        Some("capability") => {
            c.eat(tag("capability"));
            let mut caps = Vec::new();
            loop {
                c.ws();
                if c.eat(char(',')).is_some() {
                    return Ok(RuleKind::Capability(caps));
                }
                let at = c.pos;
                let Some(name) = c.eat(lex::word) else { return c.err(format!("expected a capability name or `,`, found {}", c.found())) };
                if !CAPABILITIES.contains(&name) {
                    return Err(SyntaxError { offset: at, message: format!("invalid capability `{name}`") });
                }
                caps.push(name.to_string());
            }
        }
        Some("all") if simple(c, "all").is_some() => Ok(RuleKind::All),
        Some("file") if simple(c, "file").is_some() => {
            Ok(RuleKind::File(FileRule { path: None, perms: FilePerms::all(), target: None, safety: None }))
        }
        Some("file") => {
            c.eat(tag("file"));
            c.ws();
            file_rule(c)
        }
        Some(k @ ("network" | "unix" | "dbus" | "signal" | "ptrace" | "userns" | "mqueue" | "io_uring")) => {
            c.eat(tag(k));
            let b = body(c, k)?;
            rule_from_body(c, k, b, kw_start)
        }
        Some(k @ ("mount" | "remount" | "umount" | "pivot_root")) => {
            c.eat(tag(k));
            let b = body(c, k)?;
            let one = |list: &[String]| list.first().cloned();
            Ok(match k {
                "mount" => RuleKind::Mount { conds: b.conds, source: one(&b.before_arrow), target: one(&b.after_arrow) },
                "remount" => RuleKind::Remount { conds: b.conds, target: one(&b.before_arrow) },
                "umount" => RuleKind::Umount { conds: b.conds, target: one(&b.before_arrow) },
                _ => {
                    let oldroot = b.conds.iter().find(|c| c.name == "oldroot").and_then(|c| c.values.first().cloned());
                    RuleKind::PivotRoot { oldroot, new_root: one(&b.before_arrow), profile: one(&b.after_arrow) }
                }
            })
        }
        Some("change_profile") => {
            c.eat(tag("change_profile"));
            c.ws();
            let safety = match c.peek(lex::keyword) {
                Some("safe") => Some(ExecSafety::Safe),
                Some("unsafe") => Some(ExecSafety::Unsafe),
                _ => None,
            };
            if safety.is_some() {
                c.eat(lex::word);
                c.ws();
            }
            let mut exec = None;
            if !c.starts("->") && !c.starts(",") {
                exec = Some(operand(c, "the change_profile exec path")?);
                c.ws();
            }
            let mut target = None;
            if c.eat(lex::arrow).is_some() {
                c.ws();
                target = Some(operand(c, "the change_profile target")?);
            }
            if safety.is_some() && exec.is_none() {
                return c.err("an exec path is required when `safe` or `unsafe` is given");
            }
            c.end_of_rule("change_profile rule")?;
            Ok(RuleKind::ChangeProfile { safety, exec, target })
        }
        Some("link") => {
            c.eat(tag("link"));
            c.ws();
            let subset = c.eat(tag("subset")).or_else(|| c.eat(tag("<="))).is_some();
            c.ws();
            let from = operand(c, "the link path")?;
            c.ws();
            if c.eat(lex::arrow).is_none() {
                return c.err(format!("expected `->` in the link rule, found {}", c.found()));
            }
            c.ws();
            let to = operand(c, "the link target")?;
            c.end_of_rule("link rule")?;
            Ok(RuleKind::Link { subset, from, to })
        }
        Some(k @ ("safe" | "unsafe")) => {
            c.eat(tag(k));
            c.ws();
            let mut kind = file_rule(c)?;
            if let RuleKind::File(f) = &mut kind {
                if f.perms.exec.is_none() {
                    return Err(SyntaxError { offset: kw_start, message: format!("`{k}` needs a rule with exec permissions") });
                }
                f.safety = Some(if k == "safe" { ExecSafety::Safe } else { ExecSafety::Unsafe });
            }
            Ok(kind)
        }
        _ => file_rule(c),
    }
}

/// `PATH PERMS [-> TARGET],` or `PERMS [subset] PATH [-> TARGET],`
fn file_rule(c: &mut Cursor) -> PResult<RuleKind> {
    let at = c.pos;
    let pathish = |c: &Cursor| c.starts("/") || c.starts("@") || c.starts("\"") || c.starts(":") || c.starts("&");
    let (path, perms) = if pathish(c) {
        let path = operand(c, "the file path")?;
        c.ws();
        let perms = perms(c)?;
        (path, perms)
    } else if let Some(p) = c.peek(lex::ident("")).and_then(parse_file_perms) {
        c.eat(lex::ident(""));
        c.ws();
        c.eat(tag("subset")).or_else(|| c.eat(tag("<=")));
        c.ws();
        if !pathish(c) {
            return c.err(format!("expected a file path after the permissions, found {}", c.found()));
        }
        (operand(c, "the file path")?, p)
    } else {
        let what = c.peek(lex::ident("")).unwrap_or("");
        return Err(SyntaxError {
            offset: at,
            message: format!("unexpected `{what}`: expected a rule (file paths start with `/` or a variable)"),
        });
    };
    c.ws();
    let mut target = None;
    if c.eat(lex::arrow).is_some() {
        c.ws();
        target = Some(operand(c, "the exec transition target")?);
    }
    c.end_of_rule("file rule")?;
    Ok(RuleKind::File(FileRule { path: Some(path), perms, target, safety: None }))
}

fn perms(c: &mut Cursor) -> PResult<FilePerms> {
    let at = c.pos;
    let Some(text) = c.eat(lex::ident("")) else {
        return c.err(format!("expected file permissions (e.g. `r`, `rw`, `mrix`), found {}", c.found()));
    };
    parse_file_perms(text).ok_or_else(|| SyntaxError {
        offset: at,
        message: format!("invalid file permissions `{text}` (expected r, w, a, l, k, m and an exec mode)"),
    })
}

/// An operand: a quoted string or an identifier.
pub(super) fn operand(c: &mut Cursor, what: &str) -> PResult<String> {
    match c.eat(lex::value("")) {
        Some(v) => Ok(v),
        None => c.err(format!("expected {what}, found {}", c.found())),
    }
}

/// The generic shape of keyword rules after the keyword.
#[derive(Default)]
struct Body {
    perms: Vec<String>,
    conds: Vec<Cond>,
    peer: Vec<Cond>,
    before_arrow: Vec<String>,
    after_arrow: Vec<String>,
}

/// Permission words each rule class accepts without parentheses.
fn perm_words(kw: &str) -> &'static [&'static str] {
    match kw {
        "network" | "unix" => &[
            "create", "bind", "listen", "accept", "connect", "shutdown", "getattr", "setattr", "getopt", "setopt", "send", "receive",
            "read", "write", "r", "w", "rw", "wr",
        ],
        "dbus" => &["bind", "send", "receive", "read", "write", "eavesdrop", "r", "w", "rw", "wr"],
        "signal" => &["send", "receive", "read", "write", "r", "w", "rw", "wr"],
        "ptrace" => &["trace", "tracedby", "read", "readby", "write", "r", "w", "rw", "wr"],
        "userns" => &["create"],
        "mqueue" => &["create", "open", "delete", "getattr", "setattr", "read", "write", "r", "w", "rw", "wr"],
        "io_uring" => &["override_creds", "sqpoll"],
        _ => &[],
    }
}

/// Reads `[perm | (perms)] (cond | operand | -> )* ,`.
fn body(c: &mut Cursor, kw: &str) -> PResult<Body> {
    let mut b = Body::default();
    let mut after_arrow = false;
    let mut first = true;
    loop {
        c.ws();
        if c.eat(char(',')).is_some() {
            return Ok(b);
        }
        if c.rest().is_empty() {
            return c.err(format!("expected `,` to end the {kw} rule, found end of file"));
        }
        if first && c.starts("(") {
            b.perms = paren_list(c)?;
            first = false;
            continue;
        }
        if c.eat(lex::arrow).is_some() {
            after_arrow = true;
            first = false;
            continue;
        }
        // `name=…` or `name in (…)`: a conditional.
        if let Some(name) = c.peek(lex::word) {
            let after = &c.rest()[name.len()..];
            let after_ws = after.trim_start_matches([' ', '\t']);
            let is_in = after_ws.starts_with("in") && after_ws[2..].trim_start().starts_with('(') && after.len() != after_ws.len();
            if after_ws.starts_with('=') || is_in {
                let name = name.to_string();
                c.eat(lex::word);
                c.ws();
                if is_in {
                    c.eat(tag("in"));
                } else {
                    c.eat(char('='));
                }
                c.ws();
                if (name == "peer" || name == "xattrs") && c.starts("(") {
                    b.peer = cond_list(c)?;
                } else if c.starts("(") {
                    let values = paren_list(c)?;
                    b.conds.push(Cond { name, values, is_in });
                } else {
                    let v = operand(c, &format!("a value for `{name}`"))?;
                    b.conds.push(Cond { name, values: vec![v], is_in });
                }
                first = false;
                continue;
            }
            if first && perm_words(kw).contains(&name) && !after.starts_with(|ch: char| ch.is_ascii_alphanumeric() || ch == '_') {
                b.perms.push(name.to_string());
                c.eat(lex::word);
                first = false;
                continue;
            }
        }
        let v = operand(c, &format!("an operand or `,` in the {kw} rule"))?;
        if after_arrow {
            b.after_arrow.push(v);
        } else {
            b.before_arrow.push(v);
        }
        first = false;
    }
}

fn rule_from_body(c: &Cursor, kw: &str, b: Body, start: usize) -> PResult<RuleKind> {
    let err = |message: String| Err(SyntaxError { offset: start, message });
    if !b.after_arrow.is_empty() && kw != "mount" {
        return err(format!("`->` is not allowed in a {kw} rule"));
    }
    let _ = c;
    Ok(match kw {
        "network" => {
            if b.before_arrow.len() > 2 {
                return err(format!("a network rule names at most a domain and a type or protocol, found `{}`", b.before_arrow.join(" ")));
            }
            // A lone operand that is not a family is a socket type or protocol
            // (`network raw,` denies raw sockets of every family), as network.cc reads it.
            let mut it = b.before_arrow.into_iter();
            let (domain, kind) = match (it.next(), it.next()) {
                (Some(one), None) if !NETWORK_FAMILIES.contains(&one.as_str()) => (None, Some(one)),
                (d, k) => (d, k),
            };
            RuleKind::Network { perms: b.perms, domain, kind, conds: b.conds, peer: b.peer }
        }
        "unix" | "dbus" | "signal" | "ptrace" | "userns" | "io_uring" if !b.before_arrow.is_empty() => {
            return err(format!("unexpected `{}` in the {kw} rule (expected conditionals like `peer=…`)", b.before_arrow[0]));
        }
        "unix" => RuleKind::Unix { perms: b.perms, conds: b.conds, peer: b.peer },
        "dbus" => RuleKind::Dbus { perms: b.perms, conds: b.conds, peer: b.peer },
        "signal" => RuleKind::Signal { perms: b.perms, conds: b.conds },
        "ptrace" => RuleKind::Ptrace { perms: b.perms, conds: b.conds },
        "userns" => RuleKind::Userns { perms: b.perms, conds: b.conds },
        "io_uring" => RuleKind::IoUring { perms: b.perms, conds: b.conds },
        _ => RuleKind::Mqueue { perms: b.perms, conds: b.conds, name: b.before_arrow.into_iter().next() },
    })
}

/// `( a b, c )`: values separated by blanks or commas.
pub(super) fn paren_list(c: &mut Cursor) -> PResult<Vec<String>> {
    if c.eat(char('(')).is_none() {
        return c.err(format!("expected `(`, found {}", c.found()));
    }
    let mut out = Vec::new();
    loop {
        c.ws();
        if c.eat(char(')')).is_some() {
            return Ok(out);
        }
        if c.eat(char(',')).is_some() {
            continue;
        }
        match c.eat(lex::value("()")) {
            Some(v) => out.push(v),
            None => return c.err(format!("expected a value or `)`, found {}", c.found())),
        }
    }
}

/// `( name=value name=(a b) … )`: the conditionals of `peer=(…)` and `xattrs=(…)`.
pub(super) fn cond_list(c: &mut Cursor) -> PResult<Vec<Cond>> {
    if c.eat(char('(')).is_none() {
        return c.err(format!("expected `(`, found {}", c.found()));
    }
    let mut out = Vec::new();
    loop {
        c.ws();
        if c.eat(char(')')).is_some() {
            return Ok(out);
        }
        if c.eat(char(',')).is_some() {
            continue;
        }
        let Some(name) = c.eat(lex::ident("=()")) else { return c.err(format!("expected `name=value` or `)`, found {}", c.found())) };
        let name = lex::unescape(name);
        c.ws();
        if c.eat(char('=')).is_none() {
            out.push(Cond { name, values: Vec::new(), is_in: false });
            continue;
        }
        c.ws();
        let values = if c.starts("(") {
            paren_list(c)?
        } else {
            match c.eat(lex::value("()")) {
                Some(v) => vec![v],
                None => return c.err(format!("expected a value for `{name}`, found {}", c.found())),
            }
        };
        out.push(Cond { name, values, is_in: false });
    }
}

/// Address families a network rule can name (apparmor.d(5), network.c's table).
pub const NETWORK_FAMILIES: &[&str] = &[
    "unix",
    "local",
    "inet",
    "ax25",
    "ipx",
    "appletalk",
    "netrom",
    "bridge",
    "atmpvc",
    "x25",
    "inet6",
    "rose",
    "netbeui",
    "security",
    "key",
    "netlink",
    "route",
    "packet",
    "ash",
    "econet",
    "atmsvc",
    "rds",
    "sna",
    "irda",
    "pppox",
    "wanpipe",
    "llc",
    "ib",
    "mpls",
    "can",
    "tipc",
    "bluetooth",
    "iucv",
    "rxrpc",
    "isdn",
    "phonet",
    "ieee802154",
    "caif",
    "alg",
    "nfc",
    "vsock",
    "kcm",
    "qipcrtr",
    "smc",
    "xdp",
    "mctp",
];

/// Capability names apparmor_parser knows (capability.h, apparmor's base_cap_names.h).
pub const CAPABILITIES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn one_rule(text: &str) -> RuleKind {
        let file = parse(&format!("profile t {{\n  {text}\n}}\n")).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let Item::Profile(p) = &file.items[0] else { panic!() };
        match &p.items[0] {
            Item::Rule(r) => r.kind.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_rule_classes() {
        assert!(matches!(one_rule("capability,"), RuleKind::Capability(c) if c.is_empty()));
        assert!(matches!(one_rule("capability net_raw setuid,"), RuleKind::Capability(c) if c == ["net_raw", "setuid"]));
        match one_rule("network (bind, listen) inet stream,") {
            RuleKind::Network { perms, domain, kind, .. } => {
                assert_eq!(perms, ["bind", "listen"]);
                assert_eq!(domain.as_deref(), Some("inet"));
                assert_eq!(kind.as_deref(), Some("stream"));
            }
            other => panic!("{other:?}"),
        }
        match one_rule("dbus send\n     bus=session\n     path=/org/freedesktop/DBus\n     member={Hello,AddMatch}\n     peer=(name=org.freedesktop.DBus label=unconfined),") {
            RuleKind::Dbus { perms, conds, peer } => {
                assert_eq!(perms, ["send"]);
                assert_eq!(conds.len(), 3);
                assert_eq!(conds[2].values, ["{Hello,AddMatch}"]);
                assert_eq!(peer.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(one_rule("mount options=(rw, bind) /a/ -> /b/,"), RuleKind::Mount { source: Some(s), target: Some(t), .. } if s == "/a/" && t == "/b/")
        );
        assert!(matches!(one_rule("pivot_root oldroot=/old/ /new/ -> child,"), RuleKind::PivotRoot { oldroot: Some(_), .. }));
        assert!(matches!(one_rule("change_profile -> php-fpm//*,"), RuleKind::ChangeProfile { target: Some(t), .. } if t == "php-fpm//*"));
        assert!(matches!(one_rule("signal (receive) set=(term, kill) peer=unconfined,"), RuleKind::Signal { .. }));
        assert!(matches!(one_rule("/usr/bin/foo Px -> bar,"), RuleKind::File(f) if f.target.as_deref() == Some("bar")));
        assert!(matches!(one_rule("r /etc/passwd,"), RuleKind::File(f) if f.perms.read));
        assert!(matches!(one_rule("file,"), RuleKind::File(f) if f.path.is_none()));
        assert!(matches!(one_rule("link subset /a -> /b,"), RuleKind::Link { subset: true, .. }));
        assert!(matches!(one_rule("unix (send, receive) type=dgram peer=(label=foo addr=none),"), RuleKind::Unix { .. }));
        assert!(matches!(one_rule("userns,"), RuleKind::Userns { .. }));
        assert!(matches!(one_rule("all,"), RuleKind::All));
    }
}
