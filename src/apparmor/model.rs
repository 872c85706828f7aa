//! The meaning of a loaded policy: variables resolved, includes and rule blocks flattened into
//! each profile's rule list (every rule keeping the span it came from, even inside an
//! abstraction), and queries that apply AppArmor's rule semantics: a rule grants nothing unless
//! an allow rule covers it, and a `deny` rule wins over every allow, whatever the order.
//!
//! Conditional blocks (`if … { } else { }`) are flattened as the union of their branches: an
//! over-approximation of what the profile allows, the safe side for an auditing tool.

use super::ast::*;
use super::glob::{expand_vars, Glob};
use super::load::{Loaded, Source};
use crate::policy::source::Span;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// A rule with its effective prefix (block prefixes applied) and where it was written.
#[derive(Debug, Clone)]
pub struct FlatRule {
    pub prefix: Prefix,
    pub kind: RuleKind,
    pub span: Span,
}

impl FlatRule {
    pub fn is_deny(&self) -> bool {
        self.prefix.is_deny()
    }

    /// The rule as written, trimmed to one line.
    pub fn text(&self) -> String {
        let text = &self.span.file.text[self.span.range.clone()];
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// One profile (or hat, or child profile) with its rules flattened.
#[derive(Debug, Clone)]
pub struct ProfileModel {
    pub name: String,
    pub kind: ProfileKind,
    pub attachment: Option<String>,
    pub flags: Vec<String>,
    pub span: Span,
    pub rules: Vec<FlatRule>,
    pub children: Vec<ProfileModel>,
    pub rlimits: Vec<(String, String, Option<String>)>,
}

/// Every profile of a loaded file, and the variables in force.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub variables: BTreeMap<String, Vec<String>>,
    pub aliases: Vec<(String, String)>,
    pub profiles: Vec<ProfileModel>,
}

impl Model {
    pub fn new(loaded: &Loaded) -> Model {
        let mut builder = Builder { loaded, model: Model::default() };
        let mut seen = HashSet::new();
        builder.top(&loaded.root, &loaded.root.parsed.items, &mut seen);
        builder.model
    }

    /// A profile by name, searching children as `parent//child`.
    pub fn profile(&self, name: &str) -> Option<&ProfileModel> {
        fn find<'a>(list: &'a [ProfileModel], name: &str, prefix: &str) -> Option<&'a ProfileModel> {
            list.iter().find_map(|p| {
                let full = if prefix.is_empty() { p.name.clone() } else { format!("{prefix}//{}", p.name) };
                if full == name || (prefix.is_empty() && p.attachment.as_deref() == Some(name)) {
                    Some(p)
                } else {
                    find(&p.children, name, &full)
                }
            })
        }
        find(&self.profiles, name, "")
    }

    /// Expands variables in a path pattern.
    pub fn expand(&self, pattern: &str) -> String {
        expand_vars(pattern, &self.variables)
    }
}

struct Builder<'a> {
    loaded: &'a Loaded,
    model: Model,
}

impl Builder<'_> {
    /// Top-level items: variables, aliases and profiles; includes are followed.
    fn top(&mut self, source: &Arc<Source>, items: &[Item], seen: &mut HashSet<PathBuf>) {
        for item in items {
            match item {
                Item::Include { range, .. } => {
                    for inc in self.loaded.included(source, range.start) {
                        let key = inc.file.path.clone().unwrap_or_default();
                        if seen.insert(key) {
                            self.top(&inc, &inc.parsed.items, seen);
                        }
                    }
                }
                Item::Variable { name, op, values, .. } => self.variable(name, *op, values),
                Item::Alias { from, to, .. } => self.model.aliases.push((from.clone(), to.clone())),
                Item::Profile(p) => {
                    let built = self.profile(source, p);
                    self.model.profiles.push(built);
                }
                Item::Conditional { branches, .. } => {
                    for (_, items) in branches {
                        self.top(source, items, seen);
                    }
                }
                _ => {}
            }
        }
    }

    fn variable(&mut self, name: &str, op: AssignOp, values: &[String]) {
        let vars = &mut self.model.variables;
        match op {
            AssignOp::Add => vars.entry(name.to_string()).or_default().extend(values.iter().cloned()),
            AssignOp::SetIfUnset if vars.contains_key(name) => {}
            _ => {
                vars.insert(name.to_string(), values.to_vec());
            }
        }
    }

    fn profile(&mut self, source: &Arc<Source>, p: &Profile) -> ProfileModel {
        let mut out = ProfileModel {
            name: p.name.clone(),
            kind: p.kind,
            attachment: p.attachment.clone(),
            flags: p.flags.clone(),
            span: Span::new(&source.file, p.range.clone()),
            rules: Vec::new(),
            children: Vec::new(),
            rlimits: Vec::new(),
        };
        // Like apparmor_parser's per-block include cache: a file included twice in one profile
        // contributes its rules once.
        let mut seen = HashSet::new();
        self.body(source, &p.items, Prefix::default(), &mut out, &mut seen);
        out
    }

    fn body(&mut self, source: &Arc<Source>, items: &[Item], outer: Prefix, out: &mut ProfileModel, seen: &mut HashSet<PathBuf>) {
        for item in items {
            match item {
                Item::Rule(r) => out.rules.push(FlatRule {
                    prefix: outer.merged_with(&r.prefix),
                    kind: r.kind.clone(),
                    span: Span::new(&source.file, r.range.clone()),
                }),
                Item::Block { prefix, items, .. } => self.body(source, items, outer.merged_with(prefix), out, seen),
                Item::Include { range, .. } => {
                    for inc in self.loaded.included(source, range.start) {
                        let key = inc.file.path.clone().unwrap_or_default();
                        if seen.insert(key) {
                            self.body(&inc, &inc.parsed.items, outer, out, seen);
                        }
                    }
                }
                Item::Profile(p) => {
                    let child = self.profile(source, p);
                    out.children.push(child);
                }
                Item::Variable { name, op, values, .. } => self.variable(name, *op, values),
                Item::Conditional { branches, .. } => {
                    for (_, items) in branches {
                        self.body(source, items, outer, out, seen);
                    }
                }
                Item::Rlimit { name, value, unit, .. } => out.rlimits.push((name.clone(), value.clone(), unit.clone())),
                Item::Alias { from, to, .. } => self.model.aliases.push((from.clone(), to.clone())),
                Item::Abi { .. } | Item::BoolVariable { .. } => {}
            }
        }
    }
}

/// Socket types by name, and the protocols that imply one (apparmor.d(5) "Network rules").
fn type_matches(rule_kind: &str, sock_type: &str) -> bool {
    rule_kind == sock_type || matches!((rule_kind, sock_type), ("tcp", "stream") | ("udp", "dgram") | ("icmp", "raw") | ("icmpv6", "raw"))
}

impl ProfileModel {
    /// `complain`, `unconfined`, `kill`, … from the flags.
    pub fn mode_flag(&self) -> Option<&str> {
        self.flags.iter().map(String::as_str).find(|f| ["complain", "unconfined", "kill", "enforce", "prompt", "default_allow"].contains(f))
    }

    fn allows_all(&self) -> Option<&FlatRule> {
        self.rules.iter().find(|r| matches!(r.kind, RuleKind::All) && !r.is_deny())
    }

    /// Capabilities granted (allowed and not denied), each with the rule that grants it.
    pub fn capabilities(&self) -> BTreeMap<String, &FlatRule> {
        let mut allowed: BTreeMap<String, &FlatRule> = BTreeMap::new();
        let mut denied = BTreeSet::new();
        let all = || super::rules::CAPABILITIES.iter().map(|s| s.to_string());
        if let Some(r) = self.allows_all() {
            for c in all() {
                allowed.insert(c, r);
            }
        }
        for r in &self.rules {
            if let RuleKind::Capability(list) = &r.kind {
                let names: Vec<String> = if list.is_empty() { all().collect() } else { list.clone() };
                for n in names {
                    if r.is_deny() {
                        denied.insert(n);
                    } else {
                        allowed.entry(n).or_insert(r);
                    }
                }
            }
        }
        allowed.retain(|c, _| !denied.contains(c));
        allowed
    }

    /// The rule that lets the profile create a socket of `family` and `sock_type`, if any.
    pub fn network_allows(&self, family: &str, sock_type: &str) -> Option<&FlatRule> {
        let covers = |r: &FlatRule| match &r.kind {
            RuleKind::Network { domain, kind, .. } => {
                domain.as_deref().is_none_or(|d| d == family) && kind.as_deref().is_none_or(|k| type_matches(k, sock_type))
            }
            RuleKind::Unix { .. } => family == "unix",
            RuleKind::All => true,
            _ => false,
        };
        // A deny with conditions or peers is narrower than the whole family: only an
        // unconditional deny is counted as removing it.
        let denied = self.rules.iter().any(|r| {
            r.is_deny()
                && covers(r)
                && matches!(&r.kind, RuleKind::Network { conds, peer, perms, .. } if conds.is_empty() && peer.is_empty() && perms.is_empty())
        });
        if denied {
            return None;
        }
        self.rules.iter().find(|r| !r.is_deny() && covers(r))
    }

    /// An allow rule that names `family` explicitly (not a bare `network,`).
    pub fn explicit_network_rule(&self, family: &str) -> Option<&FlatRule> {
        self.rules.iter().find(|r| !r.is_deny() && matches!(&r.kind, RuleKind::Network { domain: Some(d), .. } if d == family))
    }

    /// The rule that grants `wanted` on `path`, if any (deny rules that are not owner-qualified
    /// win; owner-qualified allows count, since the workload may own the file).
    pub fn file_allows(&self, model: &Model, path: &str, wanted: &FilePerms) -> Option<&FlatRule> {
        let matches = |r: &FlatRule| -> Option<FilePerms> {
            match &r.kind {
                RuleKind::File(f) => match &f.path {
                    None => Some(f.perms),
                    Some(p) => Glob::new(&model.expand(p)).matches(path).then_some(f.perms),
                },
                RuleKind::All => Some(FilePerms::all()),
                _ => None,
            }
        };
        let denied = self.rules.iter().any(|r| r.is_deny() && r.prefix.owner.is_none() && matches(r).is_some_and(|p| p.intersects(wanted)));
        if denied {
            return None;
        }
        self.rules.iter().find(|r| !r.is_deny() && matches(r).is_some_and(|p| p.intersects(wanted)))
    }

    /// An allowed mount, remount, umount or pivot_root rule, unless an unconditional deny of
    /// the class removes it.
    pub fn mount_rule(&self) -> Option<&FlatRule> {
        let class = |k: &RuleKind| match k {
            RuleKind::Mount { .. } => Some("mount"),
            RuleKind::Remount { .. } => Some("remount"),
            RuleKind::Umount { .. } => Some("umount"),
            RuleKind::PivotRoot { .. } => Some("pivot_root"),
            _ => None,
        };
        let bare_deny = |name: &str| {
            self.rules.iter().any(|r| {
                r.is_deny()
                    && class(&r.kind) == Some(name)
                    && matches!(&r.kind, RuleKind::Mount { conds, source: None, target: None } | RuleKind::Remount { conds, target: None } | RuleKind::Umount { conds, target: None } if conds.is_empty())
            })
        };
        self.allows_all().or_else(|| self.rules.iter().find(|r| !r.is_deny() && class(&r.kind).is_some_and(|c| !bare_deny(c))))
    }

    /// An allowed ptrace rule with the `trace` permission (or no permission list, meaning all).
    pub fn ptrace_trace_rule(&self) -> Option<&FlatRule> {
        let traces = |perms: &[String]| perms.is_empty() || perms.iter().any(|p| ["trace", "write", "rw", "wr", "w"].contains(&p.as_str()));
        let denied = self
            .rules
            .iter()
            .any(|r| r.is_deny() && matches!(&r.kind, RuleKind::Ptrace { perms, conds } if traces(perms) && conds.is_empty()));
        if denied {
            return None;
        }
        self.allows_all()
            .or_else(|| self.rules.iter().find(|r| !r.is_deny() && matches!(&r.kind, RuleKind::Ptrace { perms, .. } if traces(perms))))
    }

    /// An allowed `userns` rule (creating user namespaces).
    pub fn userns_rule(&self) -> Option<&FlatRule> {
        let denied = self.rules.iter().any(|r| r.is_deny() && matches!(&r.kind, RuleKind::Userns { conds, .. } if conds.is_empty()));
        if denied {
            return None;
        }
        self.allows_all().or_else(|| self.rules.iter().find(|r| !r.is_deny() && matches!(r.kind, RuleKind::Userns { .. })))
    }

    /// An allowed `io_uring` rule.
    pub fn io_uring_rule(&self) -> Option<&FlatRule> {
        self.allows_all().or_else(|| self.rules.iter().find(|r| !r.is_deny() && matches!(r.kind, RuleKind::IoUring { .. })))
    }

    /// Exec rules and profile changes that can leave the program unconfined.
    pub fn unconfined_transitions(&self) -> Vec<&FlatRule> {
        self.rules
            .iter()
            .filter(|r| !r.is_deny())
            .filter(|r| match &r.kind {
                RuleKind::File(f) => f.perms.exec.is_some_and(ExecMode::may_run_unconfined),
                RuleKind::ChangeProfile { target, .. } => target.as_deref() == Some("unconfined"),
                _ => false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apparmor::load::{load_text, Missing, SearchPath};

    fn model(text: &str) -> Model {
        let search = SearchPath { dirs: vec![], base: PathBuf::from("/nonexistent") };
        Model::new(&load_text("t", None, text, &search, Missing::Error).unwrap())
    }

    #[test]
    fn deny_wins_and_blocks_apply_their_prefix() {
        let m = model(
            "@{PROC}=/proc/\nprofile t {\n  capability,\n  deny capability sys_admin,\n  network,\n  deny network raw,\n  file,\n  deny @{PROC}/sys/** w,\n  audit deny {\n    /etc/shadow r,\n  }\n}\n",
        );
        let p = &m.profiles[0];
        let caps = p.capabilities();
        assert!(caps.contains_key("net_raw") && !caps.contains_key("sys_admin"));
        assert!(p.network_allows("inet", "stream").is_some());
        assert!(p.network_allows("inet", "raw").is_none());
        let w = FilePerms { write: true, ..FilePerms::default() };
        let r = FilePerms { read: true, ..FilePerms::default() };
        assert!(p.file_allows(&m, "/proc/sys/kernel/core_pattern", &w).is_none());
        assert!(p.file_allows(&m, "/proc/self/attr/current", &w).is_some());
        assert!(p.file_allows(&m, "/etc/shadow", &r).is_none());
        assert!(p.file_allows(&m, "/etc/passwd", &r).is_some());
        assert_eq!(p.rules.iter().filter(|r| r.is_deny() && r.prefix.audit).count(), 1);
    }

    #[test]
    fn transitions_and_children() {
        let m =
            model("profile t {\n  /bin/sh Ux,\n  /bin/x pix,\n  change_profile -> unconfined,\n  profile c { ptrace trace peer=t, }\n  ^h { userns, }\n}\n");
        let p = &m.profiles[0];
        assert_eq!(p.unconfined_transitions().len(), 2);
        assert_eq!(p.children.len(), 2);
        assert!(m.profile("t//c").unwrap().ptrace_trace_rule().is_some());
        assert!(m.profile("t//h").unwrap().userns_rule().is_some());
    }
}
