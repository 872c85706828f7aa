//! Diagnostics: a stable kebab-case code, a message, an optional span with a source snippet,
//! and a hint. Rendered for humans (rustc-like) or as JSON for pipelines.

use crate::policy::source::{Origin, Span};
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding about a policy, tied to where it was written when that is known.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case identifier (`unknown-key`, `unknown-syscall`, …); tests and tools match on it.
    pub code: &'static str,
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, message: message.into(), span: None, hint: None }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: &Span) -> Self {
        self.span = Some(span.clone());
        self
    }

    /// Points at where a setting came from; palisade's own defaults have no position.
    pub fn at_origin(self, origin: &Origin) -> Self {
        match origin {
            Origin::At(span) => self.at(span),
            Origin::Default => self,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col`, or an empty string when the diagnostic has no position.
    pub fn location(&self) -> String {
        self.span.as_ref().map(Span::location).unwrap_or_default()
    }

    /// rustc-style text: header, location arrow, the source line with a caret underline, hint.
    pub fn render(&self) -> String {
        let mut out = format!("{}[{}]: {}\n", self.severity.label(), self.code, self.message);
        if let Some(span) = &self.span {
            let file = &span.file;
            let (line, col) = file.line_col(span.range.start);
            let text = file.line_text(line);
            let gutter = " ".repeat(line.to_string().len());
            let width = underline_width(text, col, span);
            out += &format!("{gutter}--> {}:{}:{}\n", file.name, line, col);
            out += &format!("{gutter} |\n{line} | {text}\n");
            // Keep the line's tabs in the padding so the caret lands under the span.
            let pad: String = text.chars().take(col - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            out += &format!("{gutter} | {pad}{}\n", "^".repeat(width));
        }
        if let Some(hint) = &self.hint {
            out += &format!("  = hint: {hint}\n");
        }
        out
    }

    /// The machine-readable form used by `--format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let (file, line, column) = match &self.span {
            Some(span) => {
                let (line, col) = span.file.line_col(span.range.start);
                (Some(span.file.name.clone()), Some(line), Some(col))
            }
            None => (None, None, None),
        };
        serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": file,
            "line": line,
            "column": column,
            "hint": self.hint,
        })
    }
}

/// Width of the caret underline: the span's characters on its first line, at least one.
fn underline_width(line_text: &str, col: usize, span: &Span) -> usize {
    let rest: String = line_text.chars().skip(col - 1).collect();
    let span_chars = span.file.text[span.range.clone()].chars().take_while(|&c| c != '\n').count();
    span_chars.min(rest.chars().count()).max(1)
}

/// A batch of diagnostics from one operation; an `Err` carrying it means at least one error.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn render(&self) -> String {
        self.0.iter().map(Diagnostic::render).collect::<Vec<_>>().join("\n")
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// The closest candidate by edit distance, for "did you mean" hints; `None` if nothing is close.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lc = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word_lc, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(3) / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::source::SourceFile;

    #[test]
    fn renders_location_snippet_and_hint() {
        let file = SourceFile::new("p.toml", None, "[seccomp]\ndefualt_action = 1\n");
        let d = Diagnostic::error("unknown-key", "unknown key `defualt_action`")
            .at(&Span::new(&file, 10..24))
            .with_hint("did you mean `default_action`?");
        let text = d.render();
        assert!(text.contains("error[unknown-key]: unknown key `defualt_action`"), "{text}");
        assert!(text.contains(" --> p.toml:2:1"), "{text}");
        assert!(text.contains("2 | defualt_action = 1"), "{text}");
        assert!(text.contains("  | ^^^^^^^^^^^^^^\n"), "{text}");
        assert_eq!(d.to_json()["line"], 2);
    }

    #[test]
    fn caret_stays_under_the_span_on_tab_indented_lines() {
        let file = SourceFile::new("p.json", None, "{\n\t\"x\": 1\n}\n");
        let text = Diagnostic::error("t", "m").at(&Span::new(&file, 3..6)).render();
        assert!(text.contains("2 | \t\"x\": 1\n  | \t^^^\n"), "{text:?}");
    }

    #[test]
    fn closest_suggests_only_near_words() {
        assert_eq!(closest("defualt_action", ["default_action", "allow"]), Some("default_action"));
        assert_eq!(closest("zzz", ["default_action", "allow"]), None);
    }
}
