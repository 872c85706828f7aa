//! Levels per rule: the catalog's defaults, then a config file (`--config palisade-lint.toml`),
//! then the command line (`--allow`, `--warn`, `--deny`, applied in that order, so `--deny`
//! wins). A selector is a rule code, a family name (`syscalls`), `all`, or `warnings` (every
//! rule currently at warn: `--deny warnings` fails on anything reported).
//!
//! ```toml
//! # palisade-lint.toml
//! allow = ["net-raw-capability"]     # lists of selectors, applied allow, warn, deny
//! deny = ["syscalls"]
//! [levels]                           # then one level per selector
//! root-user = "deny"
//! ```

use super::catalog::{Family, RULES};
use super::Level;
use crate::diag::{closest, Diagnostic};
use crate::policy::source::{SourceFile, Span};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;
use std::path::Path;

/// The level of every rule.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    overrides: BTreeMap<&'static str, Level>,
}

impl Levels {
    pub fn level(&self, code: &str) -> Level {
        if let Some(l) = self.overrides.get(code) {
            return *l;
        }
        super::catalog::rule(code).map_or(Level::Warn, |r| r.level)
    }

    /// Sets the level of every rule the selector names; `Err` with a hint if it names none.
    pub fn set(&mut self, selector: &str, level: Level) -> Result<(), String> {
        let codes: Vec<&'static str> = match selector {
            "all" => RULES.iter().map(|r| r.code).collect(),
            "warnings" => RULES.iter().filter(|r| self.level(r.code) == Level::Warn).map(|r| r.code).collect(),
            s => match Family::ALL.iter().find(|f| f.name() == s) {
                Some(f) => RULES.iter().filter(|r| r.family == *f).map(|r| r.code).collect(),
                None => match super::catalog::rule(s) {
                    Some(r) => vec![r.code],
                    None => {
                        let names = RULES.iter().map(|r| r.code).chain(Family::ALL.iter().map(|f| f.name())).chain(["all", "warnings"]);
                        return Err(match closest(s, names) {
                            Some(c) => format!("unknown lint rule `{s}`; did you mean `{c}`?"),
                            None => format!("unknown lint rule `{s}` (see `palisade lint --list`)"),
                        });
                    }
                },
            },
        };
        for code in codes {
            self.overrides.insert(code, level);
        }
        Ok(())
    }

    /// Applies a config file on top of these levels.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| Diagnostic::error("io", format!("cannot read {}: {e}", path.display())))?;
        self.apply_text(&path.display().to_string(), &text)
    }

    pub fn apply_text(&mut self, name: &str, text: &str) -> Result<(), Diagnostic> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            allow: Vec<Spanned<String>>,
            #[serde(default)]
            warn: Vec<Spanned<String>>,
            #[serde(default)]
            deny: Vec<Spanned<String>>,
            #[serde(default)]
            levels: BTreeMap<Spanned<String>, Spanned<String>>,
        }
        let file = SourceFile::new(name, None, text);
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let mut d = Diagnostic::error("lint-config", e.message().to_string());
            if let Some(r) = e.span() {
                d = d.at(&Span::new(&file, r));
            }
            d
        })?;
        let mut apply = |sel: &Spanned<String>, level: Level| -> Result<(), Diagnostic> {
            self.set(sel.get_ref(), level).map_err(|m| Diagnostic::error("lint-config", m).at(&Span::new(&file, sel.span())))
        };
        for (list, level) in [(&raw.allow, Level::Allow), (&raw.warn, Level::Warn), (&raw.deny, Level::Deny)] {
            for sel in list {
                apply(sel, level)?;
            }
        }
        for (sel, level) in &raw.levels {
            let Some(l) = Level::parse(level.get_ref()) else {
                return Err(Diagnostic::error("lint-config", format!("unknown level `{}`", level.get_ref()))
                    .at(&Span::new(&file, level.span()))
                    .with_hint("levels are allow, warn and deny"));
            };
            apply(sel, l)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_files() {
        let mut l = Levels::default();
        assert_eq!(l.level("privileged"), Level::Deny);
        l.set("syscalls", Level::Deny).unwrap();
        assert_eq!(l.level("ptrace-allowed"), Level::Deny);
        l.set("warnings", Level::Allow).unwrap();
        assert_eq!(l.level("root-user"), Level::Allow);
        assert!(l.set("privilegd", Level::Allow).unwrap_err().contains("did you mean `privileged`"));
        let mut l = Levels::default();
        l.apply_text("c.toml", "allow = [\"net-raw-capability\"]\n[levels]\nroot-user = \"deny\"\n").unwrap();
        assert_eq!(l.level("net-raw-capability"), Level::Allow);
        assert_eq!(l.level("root-user"), Level::Deny);
        let e = l.apply_text("c.toml", "deny = [\"nope\"]\n").unwrap_err();
        assert_eq!(e.location(), "c.toml:1:9");
    }
}
