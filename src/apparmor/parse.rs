//! The AppArmor policy grammar (parser_yacc.y), as recursive descent over nom token parsers:
//! the file structure here (includes, abi, alias, variables, conditionals, profile and hat
//! headers, rule prefixes and blocks), the rules themselves in [`super::rules`]. Preamble
//! items (variables, alias, abi) and rules are accepted at any depth: a superset of the
//! grammar that never rejects what apparmor_parser accepts.

use super::ast::*;
use super::lex;
use super::rules::{cond_list, operand, paren_list, rule};
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::IResult;

/// A syntax error at a byte offset of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

pub(super) type PResult<T> = Result<T, SyntaxError>;

/// Parses one file's text.
pub fn parse(text: &str) -> PResult<ParsedFile> {
    let mut c = Cursor { text, pos: 0, depth: 0 };
    let items = items(&mut c, false)?;
    Ok(ParsedFile { items })
}

pub(super) struct Cursor<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
    /// Open blocks, bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

/// Blocks nest at most this deep (profiles, hats, rule blocks, conditionals).
const MAX_DEPTH: usize = 64;

impl<'a> Cursor<'a> {
    pub(super) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub(super) fn eat<T>(&mut self, mut p: impl FnMut(&'a str) -> IResult<&'a str, T>) -> Option<T> {
        match p(self.rest()) {
            Ok((r, v)) => {
                self.pos = self.text.len() - r.len();
                Some(v)
            }
            Err(_) => None,
        }
    }

    pub(super) fn peek<T>(&self, mut p: impl FnMut(&'a str) -> IResult<&'a str, T>) -> Option<T> {
        p(self.rest()).ok().map(|(_, v)| v)
    }

    pub(super) fn ws(&mut self) {
        self.eat(lex::ws);
    }

    pub(super) fn starts(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    pub(super) fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(SyntaxError { offset: self.pos, message: message.into() })
    }

    pub(super) fn found(&self) -> String {
        let line = lex::rest_of_line(self.rest()).trim();
        match line.chars().count() {
            0 if self.rest().is_empty() => "end of file".to_string(),
            0 => "end of line".to_string(),
            n if n > 24 => format!("`{}…`", line.chars().take(24).collect::<String>()),
            _ => format!("`{line}`"),
        }
    }

    /// Consumes `,` (after optional blanks) or fails with what was expected.
    pub(super) fn end_of_rule(&mut self, what: &str) -> PResult<()> {
        self.ws();
        if self.eat(char(',')).is_some() {
            Ok(())
        } else {
            self.err(format!("expected `,` to end the {what}, found {}", self.found()))
        }
    }
}

/// Items until `}` (when `nested`) or the end of the text.
fn items(c: &mut Cursor, nested: bool) -> PResult<Vec<Item>> {
    let mut out = Vec::new();
    loop {
        c.ws();
        if c.rest().is_empty() {
            if nested {
                return c.err("unexpected end of file: a `{` block is not closed with `}`");
            }
            return Ok(out);
        }
        if c.starts("}") {
            if nested {
                return Ok(out);
            }
            return c.err("unexpected `}` with no open block");
        }
        out.push(item(c)?);
    }
}

/// A `{ items }` block; the cursor is on `{`.
fn block(c: &mut Cursor) -> PResult<Vec<Item>> {
    if c.eat(char('{')).is_none() {
        return c.err(format!("expected `{{`, found {}", c.found()));
    }
    if c.depth >= MAX_DEPTH {
        return c.err(format!("blocks nest deeper than {MAX_DEPTH} levels"));
    }
    c.depth += 1;
    let inner = items(c, true)?;
    c.depth -= 1;
    c.eat(char('}'));
    Ok(inner)
}

fn item(c: &mut Cursor) -> PResult<Item> {
    let start = c.pos;
    if c.starts("#include") {
        c.eat(tag("#include"));
        return include(c, start);
    }
    if c.starts("@") && is_assignment(c.rest()) {
        return variable(c, start);
    }
    if c.starts("$") {
        return bool_variable(c, start);
    }
    if c.starts("^") {
        c.eat(char('^'));
        return profile(c, start, ProfileKind::Hat);
    }
    match c.peek(lex::keyword) {
        Some("include") => {
            c.eat(tag("include"));
            include(c, start)
        }
        Some("abi") => {
            c.eat(tag("abi"));
            c.ws();
            let Some((search, name)) = c.eat(lex::include_target) else {
                return c.err(format!("expected an abi file, found {}", c.found()));
            };
            c.end_of_rule("abi rule")?;
            let target = if search { IncludeTarget::Search(name) } else { IncludeTarget::Path(name) };
            Ok(Item::Abi { target, range: start..c.pos })
        }
        Some("alias") => {
            c.eat(tag("alias"));
            c.ws();
            let from = operand(c, "the alias source")?;
            c.ws();
            if c.eat(lex::arrow).is_none() {
                return c.err(format!("expected `->` in the alias rule, found {}", c.found()));
            }
            c.ws();
            let to = operand(c, "the alias target")?;
            c.end_of_rule("alias rule")?;
            Ok(Item::Alias { from, to, range: start..c.pos })
        }
        Some("profile") => {
            c.eat(tag("profile"));
            profile(c, start, ProfileKind::Profile)
        }
        Some("hat") => {
            c.eat(tag("hat"));
            profile(c, start, ProfileKind::Hat)
        }
        Some("if") => conditional(c, start),
        Some("set") => rlimit(c, start),
        _ => {
            let prefix = prefix(c)?;
            c.ws();
            if c.starts("{") {
                if prefix.priority.is_some() {
                    return c.err("priority is not allowed on rule blocks");
                }
                let items = block(c)?;
                return Ok(Item::Block { prefix, items, range: start..c.pos });
            }
            if prefix == Prefix::default() && looks_like_profile(c.rest()) {
                return profile(c, start, ProfileKind::Bare);
            }
            let kind = rule(c)?;
            Ok(Item::Rule(Rule { prefix, kind, range: start..c.pos }))
        }
    }
}

/// `include [if exists] TARGET` (the keyword already read).
fn include(c: &mut Cursor, start: usize) -> PResult<Item> {
    c.eat(lex::blanks);
    let if_exists = c.eat(|i| recognize(pair(pair(tag("if"), lex::blanks), tag("exists")))(i)).is_some();
    c.eat(lex::blanks);
    let Some((search, name)) = c.eat(lex::include_target) else {
        return c.err(format!("expected an include target (`<name>` or `\"path\"`), found {}", c.found()));
    };
    let target = if search { IncludeTarget::Search(name) } else { IncludeTarget::Path(name) };
    Ok(Item::Include { target, if_exists, range: start..c.pos })
}

/// `@{NAME}` or `@NAME` followed by an assignment operator.
fn is_assignment(rest: &str) -> bool {
    let Some(after) = variable_name(rest).ok().map(|(r, _)| r) else { return false };
    let after = after.trim_start_matches([' ', '\t']);
    after.starts_with('=') || after.starts_with("+=") || after.starts_with("?=") || after.starts_with(":=")
}

fn variable_name(i: &str) -> IResult<&str, &str> {
    let (i, _) = nom::character::complete::one_of("@$")(i)?;
    if let Some(rest) = i.strip_prefix('{') {
        let (r, name) = lex::word(rest)?;
        let (r, _) = char('}')(r)?;
        Ok((r, name))
    } else {
        lex::word(i)
    }
}

fn assign_op(c: &mut Cursor) -> PResult<AssignOp> {
    c.eat(lex::blanks);
    for (text, op) in [("+=", AssignOp::Add), ("?=", AssignOp::SetIfUnset), (":=", AssignOp::Override), ("=", AssignOp::Set)] {
        if c.eat(tag(text)).is_some() {
            return Ok(op);
        }
    }
    c.err(format!("expected `=`, `+=`, `?=` or `:=`, found {}", c.found()))
}

/// `@{NAME} OP value…` to the end of the line (a `\` at the end of a line continues it).
fn variable(c: &mut Cursor, start: usize) -> PResult<Item> {
    let name = c.eat(variable_name).unwrap_or_default().to_string();
    let op = assign_op(c)?;
    let mut values = Vec::new();
    loop {
        c.eat(lex::blanks);
        if c.eat(|i| tag("\\\n")(i)).is_some() || c.eat(|i| tag("\\\r\n")(i)).is_some() {
            continue;
        }
        if c.rest().is_empty() || c.starts("\n") || c.starts("\r\n") || c.starts("#") {
            c.eat(lex::comment);
            c.eat(lex::eol);
            break;
        }
        let at = c.pos;
        match c.eat(lex::value("")) {
            Some(v) => {
                if c.starts(",") {
                    c.pos += 1;
                    return Err(SyntaxError { offset: c.pos - 1, message: "variable declarations do not accept trailing commas".into() });
                }
                values.push(v);
            }
            None if c.starts(",") => return c.err("variable declarations do not accept trailing commas"),
            None => return Err(SyntaxError { offset: at, message: format!("expected a value for @{{{name}}}, found {}", c.found()) }),
        }
    }
    if values.is_empty() {
        return Err(SyntaxError { offset: start, message: format!("variable @{{{name}}} is assigned no value") });
    }
    Ok(Item::Variable { name, op, values, range: start..c.pos })
}

/// `${NAME} = EXPR` to the end of the line.
fn bool_variable(c: &mut Cursor, start: usize) -> PResult<Item> {
    let Some(name) = c.eat(variable_name) else { return c.err(format!("expected a variable name, found {}", c.found())) };
    let name = name.to_string();
    let op = assign_op(c)?;
    c.eat(lex::blanks);
    let expr = c.eat(nom::character::complete::not_line_ending).unwrap_or("").trim().to_string();
    if expr.is_empty() {
        return c.err(format!("boolean ${{{name}}} is assigned no value"));
    }
    Ok(Item::BoolVariable { name, op, expr, range: start..c.pos })
}

/// `if EXPR { … } [else if EXPR { … }]* [else { … }]`
fn conditional(c: &mut Cursor, start: usize) -> PResult<Item> {
    let mut branches = Vec::new();
    loop {
        c.eat(tag("if"));
        let expr_start = c.pos;
        let Some(brace) = c.rest().find('{') else { return c.err("expected `{` after the `if` condition") };
        let expr = c.rest()[..brace].trim().to_string();
        if expr.is_empty() {
            return Err(SyntaxError { offset: expr_start, message: "`if` needs a condition".into() });
        }
        c.pos += brace;
        branches.push((Some(expr), block(c)?));
        c.ws();
        if c.peek(lex::keyword) != Some("else") {
            break;
        }
        c.eat(tag("else"));
        c.ws();
        if c.peek(lex::keyword) == Some("if") {
            continue;
        }
        branches.push((None, block(c)?));
        break;
    }
    Ok(Item::Conditional { branches, range: start..c.pos })
}

/// `set rlimit NAME <= VALUE [UNIT],`
fn rlimit(c: &mut Cursor, start: usize) -> PResult<Item> {
    c.eat(tag("set"));
    c.ws();
    if c.eat(tag("rlimit")).is_none() {
        return c.err(format!("expected `rlimit` after `set`, found {}", c.found()));
    }
    c.ws();
    let Some(name) = c.eat(lex::word) else { return c.err(format!("expected an rlimit name, found {}", c.found())) };
    let name = name.to_string();
    if !RLIMITS.contains(&name.as_str()) {
        return Err(SyntaxError { offset: c.pos - name.len(), message: format!("unknown rlimit `{name}`") });
    }
    c.ws();
    if c.eat(tag("<=")).is_none() {
        return c.err(format!("expected `<=` in the rlimit rule, found {}", c.found()));
    }
    c.ws();
    let value =
        c.eat(|i| recognize(pair(opt(char('-')), digit1))(i)).map(str::to_string).or_else(|| c.eat(tag("infinity")).map(str::to_string));
    let Some(value) = value else { return c.err(format!("expected a number or `infinity`, found {}", c.found())) };
    c.eat(lex::blanks);
    let unit = c.eat(lex::word).map(str::to_string);
    c.end_of_rule("rlimit rule")?;
    Ok(Item::Rlimit { name, value, unit, range: start..c.pos })
}

const RLIMITS: &[&str] = &[
    "cpu",
    "fsize",
    "data",
    "stack",
    "core",
    "rss",
    "nofile",
    "ofile",
    "as",
    "nproc",
    "memlock",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "rttime",
];

/// Whether the text at the cursor is a profile header without a keyword: a name that starts
/// with `/`, `@{` or `:` (namespace), optionally an attachment and flags, then `{`.
fn looks_like_profile(rest: &str) -> bool {
    if !(rest.starts_with('/') || rest.starts_with("@{") || rest.starts_with(':') || rest.starts_with("\"/")) {
        return false;
    }
    let mut c = Cursor { text: rest, pos: 0, depth: 0 };
    if c.eat(lex::value("")).is_none() {
        return false;
    }
    c.ws();
    if c.starts("{") {
        return true;
    }
    if c.starts("/") || c.starts("@{") || c.starts("\"") {
        c.eat(lex::value(""));
        c.ws();
    }
    c.starts("{") || c.starts("(") || c.starts("flags") || c.starts("xattrs")
}

/// A profile header and body; the keyword (if any) is already read.
fn profile(c: &mut Cursor, start: usize, kind: ProfileKind) -> PResult<Item> {
    c.ws();
    let Some(name) = c.eat(lex::value("")) else { return c.err(format!("expected a profile name, found {}", c.found())) };
    c.ws();
    let mut attachment = None;
    if c.starts("/") || c.starts("@{") || c.starts("\"") {
        attachment = c.eat(lex::value(""));
        c.ws();
    }
    let mut xattrs = Vec::new();
    if c.starts("xattrs") {
        c.eat(tag("xattrs"));
        c.ws();
        c.eat(char('='));
        c.ws();
        xattrs = cond_list(c)?;
        c.ws();
    }
    let mut flags = Vec::new();
    if c.starts("flags") || c.starts("(") {
        if c.eat(tag("flags")).is_some() {
            c.ws();
            if c.eat(char('=')).is_none() {
                return c.err(format!("expected `=` after `flags`, found {}", c.found()));
            }
            c.ws();
        }
        flags = paren_list(c)?;
        c.ws();
    }
    let header_end = c.pos;
    if !c.starts("{") {
        return c.err(format!("expected `{{` to open profile `{name}`, found {}", c.found()));
    }
    let items = block(c)?;
    Ok(Item::Profile(Profile { kind, name, attachment, xattrs, flags, items, range: start..header_end }))
}

/// `priority=N audit allow|deny|prompt owner|other`, each optional, in this order.
fn prefix(c: &mut Cursor) -> PResult<Prefix> {
    let mut p = Prefix::default();
    if c.peek(lex::keyword) == Some("priority") {
        c.eat(tag("priority"));
        c.ws();
        if c.eat(char('=')).is_none() {
            return c.err(format!("expected `=` after `priority`, found {}", c.found()));
        }
        c.ws();
        let Some(n) = c.eat(|i| recognize(pair(opt(nom::character::complete::one_of("+-")), digit1))(i)) else {
            return c.err(format!("expected a priority number, found {}", c.found()));
        };
        let value: i32 = n.parse().map_err(|_| SyntaxError { offset: c.pos - n.len(), message: format!("invalid priority {n}") })?;
        if !(-1000..=1000).contains(&value) {
            return Err(SyntaxError { offset: c.pos - n.len(), message: format!("priority {value} is outside -1000..1000") });
        }
        p.priority = Some(value);
        c.ws();
    }
    if c.peek(lex::keyword) == Some("audit") {
        c.eat(tag("audit"));
        p.audit = true;
        c.ws();
    }
    match c.peek(lex::keyword) {
        Some("allow") => p.mode = Some(RuleMode::Allow),
        Some("deny") => p.mode = Some(RuleMode::Deny),
        Some("prompt") => p.mode = Some(RuleMode::Prompt),
        _ => {}
    }
    if p.mode.is_some() {
        c.eat(lex::word);
        c.ws();
    }
    match c.peek(lex::keyword) {
        Some("owner") => p.owner = Some(Owner::Owner),
        Some("other") => p.owner = Some(Owner::Other),
        _ => {}
    }
    if p.owner.is_some() {
        c.eat(lex::word);
        c.ws();
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_preamble_profiles_and_hats() {
        let text = "abi <abi/3.0>,\ninclude <tunables/global>\n@{X}=/a /b \\\n  /c # comment\n@{X}+=/d\nalias /usr/ -> /mnt/usr/,\n\
                    /usr/bin/foo flags=(complain) {\n  include if exists <local/foo>\n  audit deny owner /etc/** w,\n  deny { capability sys_admin, }\n  ^hat { /tmp/ r, }\n  profile child /bin/x { }\n  set rlimit nofile <= 1024,\n}\n";
        let file = parse(text).unwrap();
        assert_eq!(file.items.len(), 6);
        assert!(matches!(&file.items[2], Item::Variable { values, .. } if values == &["/a", "/b", "/c"]));
        let Item::Profile(p) = &file.items[5] else { panic!("{:?}", file.items[5]) };
        assert_eq!(p.name, "/usr/bin/foo");
        assert_eq!(p.flags, ["complain"]);
        assert_eq!(p.items.len(), 6);
        assert!(matches!(
            &p.items[1],
            Item::Rule(Rule { prefix: Prefix { audit: true, mode: Some(RuleMode::Deny), owner: Some(Owner::Owner), .. }, .. })
        ));
        assert!(matches!(&p.items[3], Item::Profile(Profile { kind: ProfileKind::Hat, .. })));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("profile t {\n  /etc/passwd rz,\n}\n").unwrap_err();
        assert_eq!(e.offset, 26);
        assert!(e.message.contains("invalid file permissions `rz`"), "{e:?}");
        let e = parse("profile t {\n  capability sys_admn,\n}\n").unwrap_err();
        assert!(e.message.contains("invalid capability `sys_admn`"), "{e:?}");
        assert!(parse("profile t {\n  /etc/passwd r\n}\n").unwrap_err().message.contains("expected `,`"));
        assert!(parse("profile t {\n").unwrap_err().message.contains("not closed"));
        assert!(parse("@{X}=/a,\n").unwrap_err().message.contains("trailing commas"));
    }
}
