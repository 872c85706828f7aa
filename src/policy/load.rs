//! Reads policy files and resolves `extends` chains: built-in profile names (embedded from
//! profiles/) or paths relative to the extending file; cycles are errors that show the chain.

use super::defaults::base_policy;
use super::lower::Lowering;
use super::model::Policy;
use super::raw::RawPolicy;
use super::source::{SourceFile, Span};
use crate::diag::{closest, Diagnostic, Diagnostics};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The built-in profiles, embedded so palisade works offline with no files installed.
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    ("docker-default", include_str!("../../profiles/docker-default.toml")),
    ("restricted", include_str!("../../profiles/restricted.toml")),
    ("untrusted", include_str!("../../profiles/untrusted.toml")),
];

/// Extends chains longer than this are refused (a guard against runaway generated chains).
const MAX_CHAIN: usize = 32;

/// Where a policy comes from.
#[derive(Debug, Clone)]
pub enum PolicySource {
    Builtin(&'static str),
    File(PathBuf),
}

impl PolicySource {
    /// A built-in name if one matches, else a path.
    pub fn from_arg(arg: &str) -> PolicySource {
        match builtin(arg) {
            Some((name, _)) if !Path::new(arg).exists() => PolicySource::Builtin(name),
            _ => PolicySource::File(PathBuf::from(arg)),
        }
    }

    fn identity(&self) -> String {
        match self {
            PolicySource::Builtin(name) => format!("builtin:{name}"),
            PolicySource::File(path) => path.canonicalize().unwrap_or_else(|_| path.clone()).display().to_string(),
        }
    }
}

fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN_PROFILES.iter().copied().find(|(n, _)| *n == name)
}

/// Loads a policy file (or built-in) and everything it extends.
pub fn load(source: &PolicySource) -> Result<Policy, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut stack = Vec::new();
    let policy = load_chain(source, None, &mut stack, &mut diags);
    match policy {
        Some(p) if !diags.has_errors() => Ok(p),
        _ => Err(diags),
    }
}

/// Parses policy text given directly (for tests, fuzzing and stdin); `extends` paths resolve
/// against the current directory.
pub fn load_str(name: &str, text: &str) -> Result<Policy, Diagnostics> {
    let mut diags = Diagnostics::default();
    let file = SourceFile::new(name, None, text);
    let mut stack = vec![format!("text:{name}")];
    let policy = apply_file(&file, &mut stack, &mut diags);
    match policy {
        Some(p) if !diags.has_errors() => Ok(p),
        _ => Err(diags),
    }
}

fn load_chain(source: &PolicySource, from: Option<&Span>, stack: &mut Vec<String>, diags: &mut Diagnostics) -> Option<Policy> {
    let identity = source.identity();
    if let Some(pos) = stack.iter().position(|s| *s == identity) {
        // Show the files as the user named them, not their canonical paths.
        let display = |id: &str| id.rsplit('/').next().unwrap_or(id).to_string();
        let cycle: Vec<String> = stack[pos..].iter().map(|s| display(s)).chain([display(&identity)]).collect();
        let mut d = Diagnostic::error("extends-cycle", format!("`extends` forms a cycle: {}", cycle.join(" -> ")));
        d.span = from.cloned();
        diags.push(d.with_hint("a policy cannot extend itself, directly or through others"));
        return None;
    }
    if stack.len() >= MAX_CHAIN {
        let mut d = Diagnostic::error("extends-cycle", format!("`extends` chain is longer than {MAX_CHAIN} policies"));
        d.span = from.cloned();
        diags.push(d);
        return None;
    }
    let file = match source {
        PolicySource::Builtin(name) => {
            let (_, text) = builtin(name).expect("PolicySource::Builtin holds a known name");
            SourceFile::new(format!("builtin:{name}"), None, text)
        }
        PolicySource::File(path) => match std::fs::read_to_string(path) {
            Ok(text) => SourceFile::new(path.display().to_string(), Some(path.clone()), text),
            Err(e) => {
                let code = if from.is_some() { "extends-not-found" } else { "io" };
                let mut d = Diagnostic::error(code, format!("cannot read policy {}: {e}", path.display()));
                d.span = from.cloned();
                if from.is_some() {
                    let names: Vec<&str> = BUILTIN_PROFILES.iter().map(|(n, _)| *n).collect();
                    d.hint =
                        Some(format!("built-in profiles are {}; other names are paths relative to the extending file", names.join(", ")));
                }
                diags.push(d);
                return None;
            }
        },
    };
    stack.push(identity);
    let policy = apply_file(&file, stack, diags);
    stack.pop();
    policy
}

/// Parses one file, loads its parent, and applies the file on top of it.
fn apply_file(file: &Arc<SourceFile>, stack: &mut Vec<String>, diags: &mut Diagnostics) -> Option<Policy> {
    let raw: RawPolicy = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => {
            diags.push(toml_diagnostic(file, &e));
            return None;
        }
    };
    let extends = raw.policy.as_ref().and_then(|m| m.extends.as_ref());
    let mut policy = match extends {
        Some(parent) => {
            let span = Span::new(file, parent.span());
            let source = resolve_extends(parent.get_ref(), file);
            load_chain(&source, Some(&span), stack, diags)?
        }
        None => base_policy(),
    };
    let name_set = raw.policy.as_ref().and_then(|m| m.name.as_ref()).is_some();
    Lowering { file, diags }.apply(&mut policy, raw);
    if !name_set {
        policy.name = default_name(file);
    }
    policy.chain.push(file.name.clone());
    Some(policy)
}

fn default_name(file: &SourceFile) -> String {
    let stem = file.name.rsplit('/').next().unwrap_or(&file.name);
    stem.strip_prefix("builtin:").unwrap_or(stem).trim_end_matches(".toml").to_string()
}

/// A built-in profile name, or a path relative to the directory of the extending file.
fn resolve_extends(name: &str, from: &SourceFile) -> PolicySource {
    if !name.contains('/') && !name.ends_with(".toml") {
        if let Some((builtin_name, _)) = builtin(name) {
            return PolicySource::Builtin(builtin_name);
        }
    }
    let base = from.path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
    PolicySource::File(base.join(name))
}

/// Maps a TOML parse error to a diagnostic with a stable code and a hint.
fn toml_diagnostic(file: &Arc<SourceFile>, e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_string();
    let (code, hint) = if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = message.split("expected").nth(1).unwrap_or("").split('`').skip(1).step_by(2).collect();
        let hint = match closest(key, expected.iter().copied()) {
            Some(c) => format!("did you mean `{c}`?"),
            None if !expected.is_empty() => format!("expected one of: {}", expected.join(", ")),
            None => "remove this key".to_string(),
        };
        ("unknown-key", Some(hint))
    } else if message.contains("duplicate key") || message.contains("defined multiple times") || message.contains("duplicate field") {
        let key = e.span().and_then(|r| file.text.get(r)).map(str::trim).unwrap_or("");
        let message = if key.is_empty() { message.clone() } else { format!("duplicate key `{key}`") };
        let mut d = Diagnostic::error("duplicate-key", message).with_hint("each key may appear once per table");
        if let Some(range) = e.span() {
            d = d.at(&Span::new(file, range));
        }
        return d;
    } else if message.contains("invalid type") || message.contains("missing field") || message.contains("did not match any variant") {
        ("invalid-value", None)
    } else {
        ("toml-syntax", None)
    };
    let mut d = Diagnostic::error(code, message);
    if let Some(range) = e.span() {
        d = d.at(&Span::new(file, range));
    }
    d.hint = hint;
    d
}
