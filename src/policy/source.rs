//! Source files and positions: every policy value remembers where it was written, so
//! diagnostics and `policy explain` can point at `file:line:col`.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// One policy file's text, as read, plus its display name.
#[derive(Debug)]
pub struct SourceFile {
    /// What diagnostics print: the path as given, or `builtin:NAME` for embedded profiles.
    pub name: String,
    /// The file on disk, for resolving relative `extends` paths; `None` for built-ins.
    pub path: Option<PathBuf>,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, path: Option<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Arc::new(SourceFile { name: name.into(), path, text, line_starts })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).map_or(self.text.len(), |&next| next);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// A byte range in one source file.
#[derive(Debug, Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub range: Range<usize>,
}

impl Span {
    pub fn new(file: &Arc<SourceFile>, range: Range<usize>) -> Self {
        Span { file: Arc::clone(file), range }
    }

    /// `file:line:col` of the start of the span.
    pub fn location(&self) -> String {
        let (line, col) = self.file.line_col(self.range.start);
        format!("{}:{}:{}", self.file.name, line, col)
    }

    pub fn line(&self) -> usize {
        self.file.line_col(self.range.start).0
    }
}

impl PartialEq for Span {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.range == other.range
    }
}

/// Where an effective setting came from: a span in a policy file, or palisade's built-in default.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Default,
    At(Span),
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Default => "palisade's default".to_string(),
            Origin::At(span) => span.location(),
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let file = SourceFile::new("p.toml", None, "a = 1\nbé = 2\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(6), (2, 1));
        assert_eq!(file.line_col(9), (2, 3)); // after the two-byte 'é'
        assert_eq!(file.line_text(2), "bé = 2");
        assert_eq!(Span::new(&file, 6..8).location(), "p.toml:2:1");
    }
}
