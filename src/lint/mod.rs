//! `palisade lint`: audits security profiles in the formats people already use — palisade
//! policies, Docker/OCI seccomp JSON, OCI config.json, AppArmor profiles and Kubernetes
//! manifests — with stable rule codes, levels, an exposure score, and text/JSON/SARIF output.
//!
//! Pipeline: [`detect`] the format → a `formats::*` adapter reduces the file to
//! [`subject::Subject`]s (every format through the same model; seccomp filters of every format
//! are compiled to palisade's decision model and analysed there) → the `checks::*` families run
//! on each subject → [`config::Levels`] decide what is reported and what fails → [`score`] →
//! `output::*`.

pub mod catalog;
pub mod checks;
pub mod config;
pub mod detect;
pub mod formats;
pub mod output;
pub mod score;
pub mod subject;
pub mod tree;

use crate::apparmor::SearchPath;
use crate::diag::Diagnostic;
use crate::policy::source::Span;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a rule's finding does: nothing, a warning, or a failure (exit status 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "allow" => Some(Level::Allow),
            "warn" | "warning" => Some(Level::Warn),
            "deny" | "error" => Some(Level::Deny),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

/// One finding of one rule about one subject.
#[derive(Debug, Clone)]
pub struct Finding {
    pub code: &'static str,
    pub level: Level,
    pub subject: String,
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Finding {
    /// The finding as a rustc-style diagnostic (deny → error, warn → warning).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let message = format!("{} ({})", self.message, self.subject);
        let mut d = if self.level == Level::Deny { Diagnostic::error(self.code, message) } else { Diagnostic::warning(self.code, message) };
        d.span = self.span.clone();
        d.hint = self.hint.clone();
        d
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// A palisade policy (TOML).
    Palisade,
    /// A Docker/OCI seccomp profile (JSON).
    SeccompJson,
    /// An OCI runtime config.json.
    Oci,
    /// An AppArmor profile.
    Apparmor,
    /// Kubernetes manifests (YAML or JSON; several documents).
    K8s,
}

impl InputKind {
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Palisade => "palisade",
            InputKind::SeccompJson => "seccomp-json",
            InputKind::Oci => "oci",
            InputKind::Apparmor => "apparmor",
            InputKind::K8s => "k8s",
        }
    }
}

/// Settings of a lint run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The format, or `None` to detect it per file.
    pub input: Option<InputKind>,
    pub levels: config::Levels,
    /// Where AppArmor includes and profiles named by other formats are looked up.
    pub apparmor_path: SearchPath,
    /// Where Kubernetes `Localhost` seccomp profiles are (kubelet's `<root-dir>/seccomp`).
    pub seccomp_root: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            input: None,
            levels: config::Levels::default(),
            apparmor_path: SearchPath::default(),
            seccomp_root: PathBuf::from("/var/lib/kubelet/seccomp"),
        }
    }
}

/// One subject's result.
#[derive(Debug, Clone)]
pub struct SubjectReport {
    pub name: String,
    pub score: score::Score,
}

/// Everything found in one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: String,
    pub kind: Option<InputKind>,
    pub subjects: Vec<SubjectReport>,
    /// Findings at warn or deny level (allowed ones are dropped).
    pub findings: Vec<Finding>,
    /// Problems reading the file: reported, and exit status 2.
    pub errors: Vec<Diagnostic>,
}

/// Collects findings for one subject and which rules could be evaluated on it.
#[derive(Debug, Default)]
pub struct Sink {
    pub checked: std::collections::BTreeSet<&'static str>,
    pub found: Vec<(&'static str, String, Option<Span>, Option<String>)>,
}

impl Sink {
    /// Marks a rule as applicable to this subject (for the score), whether or not it fires.
    pub fn checked(&mut self, code: &'static str) {
        debug_assert!(catalog::rule(code).is_some(), "unknown rule {code}");
        self.checked.insert(code);
    }

    pub fn fire(&mut self, code: &'static str, message: impl Into<String>, span: Option<Span>, hint: Option<String>) {
        self.checked(code);
        self.found.push((code, message.into(), span, hint));
    }

    pub fn fired(&self, code: &str) -> bool {
        self.found.iter().any(|(c, ..)| *c == code)
    }
}

/// Lints one file from disk.
pub fn lint_file(path: &Path, options: &Options) -> FileReport {
    let display = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => lint_text(&display, Some(path), &text, options),
        Err(e) => FileReport {
            path: display.clone(),
            kind: None,
            subjects: Vec::new(),
            findings: Vec::new(),
            errors: vec![Diagnostic::error("io", format!("cannot read {display}: {e}"))],
        },
    }
}

/// Lints text (its path, when given, resolves relative references like `extends`).
pub fn lint_text(name: &str, path: Option<&Path>, text: &str, options: &Options) -> FileReport {
    let mut report = FileReport { path: name.to_string(), kind: None, subjects: Vec::new(), findings: Vec::new(), errors: Vec::new() };
    let kind = match options.input.or_else(|| detect::detect(name, text)) {
        Some(k) => k,
        None => {
            report.errors.push(
                Diagnostic::error("unknown-format", format!("cannot tell what kind of file {name} is"))
                    .with_hint("give it with --input palisade|seccomp-json|oci|apparmor|k8s"),
            );
            return report;
        }
    };
    report.kind = Some(kind);
    let subjects = match formats::subjects(kind, name, path, text, options) {
        Ok(s) => s,
        Err(diags) => {
            report.errors = diags;
            return report;
        }
    };
    for subject in &subjects {
        let mut sink = Sink::default();
        checks::run_all(subject, &mut sink);
        let score = score::Score::compute(&sink);
        for (code, message, span, hint) in sink.found {
            let level = options.levels.level(code);
            if level == Level::Allow {
                continue;
            }
            let span = span.or_else(|| subject.anchor.clone());
            report.findings.push(Finding { code, level, subject: subject.name.clone(), message, span, hint });
        }
        report.subjects.push(SubjectReport { name: subject.name.clone(), score });
    }
    report
}

/// The exit status for a run: 2 on any error, 1 on any deny-level finding, else 0.
pub fn exit_status(reports: &[FileReport]) -> i32 {
    if reports.iter().any(|r| !r.errors.is_empty()) {
        2
    } else if reports.iter().any(|r| r.findings.iter().any(|f| f.level == Level::Deny)) {
        1
    } else {
        0
    }
}
