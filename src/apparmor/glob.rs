//! AppArmor path patterns (apparmor.d(5) "Globbing"): `*` (within one path component),
//! `**` (across components), `?`, `[…]` and `[^…]` classes, `{a,b}` alternations (nested),
//! `\` escapes; and `@{VAR}` expansion, after which repeated slashes collapse as the parser
//! collapses them. As in apparmor_parser's regex conversion, a `*` or `**` right after a `/`
//! must match at least one character: `/tmp/*` does not match `/tmp/` itself.

use std::collections::{BTreeMap, HashSet};

/// Alternatives beyond this many are not expanded (the pattern is then treated as unknown).
const MAX_ALTERNATIVES: usize = 4096;

/// Replaces `@{NAME}` by its values (`{a,b}` for several). Unknown variables stay as written.
pub fn expand_vars(text: &str, vars: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = text.to_string();
    for _ in 0..16 {
        if !out.contains("@{") {
            break;
        }
        let mut next = String::with_capacity(out.len());
        let mut rest = out.as_str();
        let mut changed = false;
        while let Some(at) = rest.find("@{") {
            next.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            match after.find('}') {
                Some(end) if vars.contains_key(&after[..end]) => {
                    let values = &vars[&after[..end]];
                    if values.len() == 1 {
                        next.push_str(&values[0]);
                    } else {
                        next.push('{');
                        next.push_str(&values.join(","));
                        next.push('}');
                    }
                    rest = &after[end + 1..];
                    changed = true;
                }
                _ => {
                    next.push_str("@{");
                    rest = after;
                }
            }
        }
        next.push_str(rest);
        out = next;
        // Variables that expand to themselves twice over grow exponentially: stop early.
        if !changed || out.len() > 1 << 16 {
            break;
        }
    }
    collapse_slashes(&out)
}

fn collapse_slashes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_slash = false;
    for c in s.chars() {
        if c == '/' && prev_slash {
            continue;
        }
        prev_slash = c == '/';
        out.push(c);
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `*` (`deep` false) or `**`; `nonempty` right after a `/`.
    Star {
        deep: bool,
        nonempty: bool,
    },
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled pattern: its alternatives, each a flat token list.
#[derive(Debug, Clone)]
pub struct Glob {
    alternatives: Vec<Vec<Tok>>,
    /// Set when the pattern had too many alternatives to expand.
    pub truncated: bool,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut truncated = false;
        let alternatives = expand(&chars, &mut truncated).into_iter().map(|alt| tokens(&alt)).collect();
        Glob { alternatives, truncated }
    }

    /// Whether the path matches any alternative.
    pub fn matches(&self, path: &str) -> bool {
        let s: Vec<char> = path.chars().collect();
        self.alternatives.iter().any(|toks| {
            let mut seen = HashSet::new();
            match_at(toks, 0, &s, 0, &mut seen)
        })
    }

    /// The longest leading literal directory of every alternative (`/usr/lib/*.so` → `/usr/lib/`).
    pub fn literal_prefixes(&self) -> Vec<String> {
        self.alternatives
            .iter()
            .map(|toks| {
                let lit: String = toks.iter().map_while(|t| if let Tok::Lit(c) = t { Some(*c) } else { None }).collect();
                if lit.len() == toks.len() {
                    lit
                } else {
                    lit[..=lit.rfind('/').unwrap_or(0)].to_string()
                }
            })
            .collect()
    }

    /// The alternatives as literal paths when none has a wildcard; `None` otherwise.
    pub fn literals(&self) -> Option<Vec<String>> {
        self.alternatives
            .iter()
            .map(|toks| toks.iter().map(|t| if let Tok::Lit(c) = t { Some(*c) } else { None }).collect::<Option<String>>())
            .collect()
    }

    /// For `DIR/**` (or `DIR/{,**}`) alternatives: the directory; `None` if any alternative is
    /// something else.
    pub fn subtrees(&self) -> Option<Vec<String>> {
        self.alternatives
            .iter()
            .map(|toks| match toks.split_last() {
                Some((Tok::Star { deep: true, .. }, head)) => {
                    let lit: Option<String> = head.iter().map(|t| if let Tok::Lit(c) = t { Some(*c) } else { None }).collect();
                    lit.filter(|l| l.ends_with('/'))
                }
                _ => None,
            })
            .collect()
    }
}

/// Expands `{a,b}` alternations into flat alternatives (escapes kept).
fn expand(chars: &[char], truncated: &mut bool) -> Vec<Vec<char>> {
    // Find the first unescaped top-level `{` and its matching `}`.
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => {
                // Skip a character class: braces inside it are literal.
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            '{' => {
                let Some((end, parts)) = split_alternation(chars, i) else { return vec![chars.to_vec()] };
                let head = &chars[..i];
                let tail = &chars[end + 1..];
                let mut out = Vec::new();
                let tails = expand(tail, truncated);
                for part in parts {
                    for p in expand(&part, truncated) {
                        for t in &tails {
                            if out.len() >= MAX_ALTERNATIVES {
                                *truncated = true;
                                return out;
                            }
                            let mut v = head.to_vec();
                            v.extend_from_slice(&p);
                            v.extend_from_slice(t);
                            out.push(v);
                        }
                    }
                }
                return out;
            }
            _ => i += 1,
        }
    }
    vec![chars.to_vec()]
}

/// The parts of the alternation opening at `open`, and the index of its closing brace.
fn split_alternation(chars: &[char], open: usize) -> Option<(usize, Vec<Vec<char>>)> {
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut cur = Vec::new();
    let mut i = open + 1;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                cur.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    cur.push(n);
                }
                i += 2;
                continue;
            }
            '{' => depth += 1,
            '}' if depth == 0 => {
                parts.push(cur);
                return Some((i, parts));
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                i += 1;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    None
}

fn tokens(chars: &[char]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let after_slash = i == 0 || chars[i - 1] == '/';
        match c {
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    out.push(Tok::Lit(n));
                }
                i += 2;
                continue;
            }
            '*' => {
                let deep = chars.get(i + 1) == Some(&'*');
                let mut j = i + 1;
                while chars.get(j) == Some(&'*') {
                    j += 1;
                }
                out.push(Tok::Star { deep, nonempty: after_slash && i > 0 });
                i = j;
                continue;
            }
            '?' => out.push(Tok::Any),
            '[' => {
                let mut j = i + 1;
                let negated = chars.get(j) == Some(&'^');
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                while j < chars.len() && (chars[j] != ']' || first) {
                    first = false;
                    let mut lo = chars[j];
                    if lo == '\\' {
                        j += 1;
                        lo = *chars.get(j).unwrap_or(&'\\');
                    }
                    if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|&c| c != ']') {
                        ranges.push((lo, chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                out.push(Tok::Class { negated, ranges });
                i = j + 1;
                continue;
            }
            // Alternatives joined to what follows can double a slash (`{/root/,…}/x`):
            // apparmor_parser collapses them.
            '/' if out.last() == Some(&Tok::Lit('/')) => {}
            _ => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

fn match_at(toks: &[Tok], t: usize, s: &[char], p: usize, seen: &mut HashSet<(usize, usize)>) -> bool {
    if !seen.insert((t, p)) {
        return false;
    }
    let Some(tok) = toks.get(t) else { return p == s.len() };
    match tok {
        Tok::Lit(c) => s.get(p) == Some(c) && match_at(toks, t + 1, s, p + 1, seen),
        Tok::Any => s.get(p).is_some_and(|&c| c != '/') && match_at(toks, t + 1, s, p + 1, seen),
        Tok::Class { negated, ranges } => {
            s.get(p).is_some_and(|&c| c != '/' && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && match_at(toks, t + 1, s, p + 1, seen)
        }
        Tok::Star { deep, nonempty } => {
            let min = usize::from(*nonempty);
            let mut n = 0;
            loop {
                if n >= min && match_at(toks, t + 1, s, p + n, seen) {
                    return true;
                }
                match s.get(p + n) {
                    Some('/') if !deep => return false,
                    Some(_) => n += 1,
                    None => return false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_apparmor() {
        let g = |p: &str, s: &str| Glob::new(p).matches(s);
        assert!(g("/etc/passwd", "/etc/passwd"));
        assert!(g("/etc/*", "/etc/passwd") && !g("/etc/*", "/etc/") && !g("/etc/*", "/etc/a/b"));
        assert!(g("/etc/**", "/etc/a/b") && !g("/etc/**", "/etc/"));
        assert!(g("/{,**}", "/") && g("/{,**}", "/usr/bin/x"));
        assert!(g("/usr/{bin,sbin}/foo", "/usr/sbin/foo") && !g("/usr/{bin,sbin}/foo", "/usr/lib/foo"));
        assert!(g("/{usr/,}lib{,32,64}/**", "/lib64/x.so"));
        assert!(g("/proc/[0-9]*/maps", "/proc/12/maps") && !g("/proc/[0-9]*/maps", "/proc/self/maps"));
        assert!(g("/proc/[^0-9]*", "/proc/self"));
        assert!(g("/a\\*b", "/a*b") && !g("/a\\*b", "/axb"));
        // Docker's rule: /proc/sys is excluded from "files not in /proc/<number> or /proc/sys".
        let docker = "/proc/{[^1-9/],[^1-9/][^0-9/],[^1-9s/][^0-9y/][^0-9s/],[^1-9/][^0-9/][^0-9/][^0-9/]*}/**";
        assert!(g(docker, "/proc/acpi/x") && !g(docker, "/proc/sys/kernel/x") && !g(docker, "/proc/12/attr/x"));
    }

    #[test]
    fn variables_expand_and_slashes_collapse() {
        let mut vars = BTreeMap::new();
        vars.insert("HOME".to_string(), vec!["/home/*/".to_string(), "/root/".to_string()]);
        vars.insert("PROC".to_string(), vec!["/proc/".to_string()]);
        assert_eq!(expand_vars("@{HOME}/.bashrc", &vars), "{/home/*/,/root/}/.bashrc");
        assert!(Glob::new(&expand_vars("@{HOME}/.bashrc", &vars)).matches("/root/.bashrc"));
        assert_eq!(expand_vars("@{PROC}/sys/**", &vars), "/proc/sys/**");
        assert_eq!(expand_vars("@{NOPE}/x", &vars), "@{NOPE}/x");
        assert_eq!(Glob::new("/usr/lib/*.so").literal_prefixes(), ["/usr/lib/"]);
        assert_eq!(Glob::new("/usr/{bin,lib}/**").subtrees(), Some(vec!["/usr/bin/".to_string(), "/usr/lib/".to_string()]));
    }
}
