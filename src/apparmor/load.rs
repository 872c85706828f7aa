//! Reading AppArmor files and resolving their includes against a search path, as
//! apparmor_parser does (parser_include.c): `<name>` is looked up in each search directory in
//! turn, `"name"` is taken relative to the base directory, a directory includes every regular
//! file in it (skipping dotfiles and package-manager leftovers), and `include if exists`
//! tolerates a missing target. Every file is parsed once, whatever the number of includes.

use super::ast::{IncludeTarget, Item, ParsedFile};
use super::parse::{parse, SyntaxError};
use crate::diag::Diagnostic;
use crate::policy::source::{SourceFile, Span};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `include <…>` looks, and what `include "…"` is relative to.
#[derive(Debug, Clone)]
pub struct SearchPath {
    pub dirs: Vec<PathBuf>,
    pub base: PathBuf,
}

impl Default for SearchPath {
    /// apparmor_parser's defaults: `/etc/apparmor.d` for both.
    fn default() -> Self {
        SearchPath { dirs: vec![PathBuf::from("/etc/apparmor.d")], base: PathBuf::from("/etc/apparmor.d") }
    }
}

impl SearchPath {
    /// Finds an include target; `None` if it exists nowhere.
    pub fn resolve(&self, target: &IncludeTarget, from: Option<&Path>) -> Option<PathBuf> {
        match target {
            IncludeTarget::Search(name) => self.dirs.iter().map(|d| d.join(name)).find(|p| p.exists()),
            IncludeTarget::Path(name) => {
                let p = Path::new(name);
                if p.is_absolute() {
                    return p.exists().then(|| p.to_path_buf());
                }
                let base = self.base.join(p);
                if base.exists() {
                    return Some(base);
                }
                from.and_then(Path::parent).map(|d| d.join(p)).filter(|p| p.exists())
            }
        }
    }
}

/// One file's text and syntax tree.
#[derive(Debug)]
pub struct Source {
    pub file: Arc<SourceFile>,
    pub parsed: ParsedFile,
}

/// A file with everything it includes, transitively.
#[derive(Debug)]
pub struct Loaded {
    pub root: Arc<Source>,
    /// Every file read, by path.
    pub sources: HashMap<PathBuf, Arc<Source>>,
    /// For each include item (file, byte offset of the item): the files it brings in, in order.
    pub includes: HashMap<(PathBuf, usize), Vec<PathBuf>>,
    /// Includes whose target exists nowhere (only in lenient loads; `if exists` ones are not listed).
    pub missing: Vec<(Span, String)>,
}

impl Loaded {
    /// The files an include item of `source` brought in.
    pub fn included(&self, source: &Source, at: usize) -> Vec<Arc<Source>> {
        let key = source_key(&source.file);
        self.includes.get(&(key, at)).map(|paths| paths.iter().filter_map(|p| self.sources.get(p).cloned()).collect()).unwrap_or_default()
    }
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {message}", span.location())]
    Syntax { span: Span, message: String },
    #[error("{}: cannot find include `{name}` in {searched}", span.location())]
    MissingInclude { span: Span, name: String, searched: String },
    #[error("{}: include `{name}` includes itself", span.location())]
    Cycle { span: Span, name: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LoadError {
    /// The error as a diagnostic with a snippet (code `apparmor-syntax`, or `io`).
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            LoadError::Syntax { span, message } => Diagnostic::error("apparmor-syntax", message.clone()).at(span),
            LoadError::MissingInclude { span, name, searched } => {
                Diagnostic::error("apparmor-include", format!("cannot find include `{name}`"))
                    .at(span)
                    .with_hint(format!("searched {searched}; use `include if exists` for optional files"))
            }
            LoadError::Cycle { span, name } => Diagnostic::error("apparmor-include", format!("include `{name}` includes itself")).at(span),
            LoadError::Io { path, source } => Diagnostic::error("io", format!("cannot read {}: {source}", path.display())),
        }
    }
}

/// How strictly to treat include targets that exist nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An error, as apparmor_parser makes it.
    Error,
    /// Recorded in [`Loaded::missing`] and skipped (linting a profile written for another host).
    Record,
}

/// Parses text already in memory (its includes are read from disk).
pub fn load_text(name: &str, path: Option<PathBuf>, text: &str, search: &SearchPath, missing: Missing) -> Result<Loaded, LoadError> {
    let file = SourceFile::new(name, path, text);
    let root = parse_source(file)?;
    let mut loader =
        Loader { search, missing, sources: HashMap::new(), includes: HashMap::new(), missing_list: Vec::new(), stack: Vec::new() };
    let key = source_key(&root.file);
    loader.sources.insert(key.clone(), root.clone());
    loader.stack.push(key);
    loader.walk(&root, &root.parsed.items)?;
    Ok(Loaded { root, sources: loader.sources, includes: loader.includes, missing: loader.missing_list })
}

/// Reads and parses a profile file and everything it includes.
pub fn load_file(path: &Path, search: &SearchPath, missing: Missing) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
    load_text(&path.display().to_string(), Some(path.to_path_buf()), &text, search, missing)
}

fn parse_source(file: Arc<SourceFile>) -> Result<Arc<Source>, LoadError> {
    match parse(&file.text) {
        Ok(parsed) => Ok(Arc::new(Source { file, parsed })),
        Err(SyntaxError { offset, message }) => {
            let end = (offset + 1).min(file.text.len()).max(offset);
            Err(LoadError::Syntax { span: Span::new(&file, offset..end), message })
        }
    }
}

/// The key a source is stored under: its path, or its display name for text given in memory.
fn source_key(file: &SourceFile) -> PathBuf {
    file.path.clone().unwrap_or_else(|| PathBuf::from(format!("<{}>", file.name)))
}

struct Loader<'a> {
    search: &'a SearchPath,
    missing: Missing,
    sources: HashMap<PathBuf, Arc<Source>>,
    includes: HashMap<(PathBuf, usize), Vec<PathBuf>>,
    missing_list: Vec<(Span, String)>,
    stack: Vec<PathBuf>,
}

impl Loader<'_> {
    fn walk(&mut self, source: &Arc<Source>, items: &[Item]) -> Result<(), LoadError> {
        for item in items {
            match item {
                Item::Include { target, if_exists, range } => self.include(source, target, *if_exists, range)?,
                Item::Abi { target, range } => {
                    let special = matches!(target, IncludeTarget::Search(n) if n == "kernel" || n == "default");
                    if !special && self.search.resolve(target, source.file.path.as_deref()).is_none() {
                        self.not_found(source, target, range)?;
                    }
                }
                Item::Profile(p) => self.walk(source, &p.items)?,
                Item::Block { items, .. } => self.walk(source, items)?,
                Item::Conditional { branches, .. } => {
                    for (_, items) in branches {
                        self.walk(source, items)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn not_found(&mut self, source: &Arc<Source>, target: &IncludeTarget, range: &Range<usize>) -> Result<(), LoadError> {
        let span = Span::new(&source.file, range.clone());
        match self.missing {
            Missing::Record => {
                self.missing_list.push((span, target.name().to_string()));
                Ok(())
            }
            Missing::Error => {
                let searched = match target {
                    IncludeTarget::Search(_) => self.search.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "),
                    IncludeTarget::Path(_) => self.search.base.display().to_string(),
                };
                Err(LoadError::MissingInclude { span, name: target.name().to_string(), searched })
            }
        }
    }

    fn include(&mut self, source: &Arc<Source>, target: &IncludeTarget, if_exists: bool, range: &Range<usize>) -> Result<(), LoadError> {
        let Some(path) = self.search.resolve(target, source.file.path.as_deref()) else {
            return if if_exists { Ok(()) } else { self.not_found(source, target, range) };
        };
        let files = if path.is_dir() { dir_files(&path).map_err(|e| LoadError::Io { path: path.clone(), source: e })? } else { vec![path] };
        let key = (source_key(&source.file), range.start);
        let mut brought = Vec::new();
        for file in files {
            if self.stack.contains(&file) {
                return Err(LoadError::Cycle { span: Span::new(&source.file, range.clone()), name: target.name().to_string() });
            }
            brought.push(file.clone());
            if self.sources.contains_key(&file) {
                continue;
            }
            let text = std::fs::read_to_string(&file).map_err(|e| LoadError::Io { path: file.clone(), source: e })?;
            let included = parse_source(SourceFile::new(file.display().to_string(), Some(file.clone()), text))?;
            self.sources.insert(file.clone(), included.clone());
            self.stack.push(file.clone());
            self.walk(&included, &included.parsed.items)?;
            self.stack.pop();
        }
        self.includes.insert(key, brought);
        Ok(())
    }
}

/// The regular files of an included directory, sorted, without the names apparmor_parser skips
/// (is_blacklisted in lib.c: dotfiles and package-manager and editor leftovers).
fn dir_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    const SKIPPED_SUFFIXES: &[&str] = &[
        ".dpkg-new",
        ".dpkg-old",
        ".dpkg-dist",
        ".dpkg-bak",
        ".dpkg-remove",
        ".pacsave",
        ".pacnew",
        ".rpmnew",
        ".rpmsave",
        ".orig",
        ".rej",
        "~",
    ];
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || SKIPPED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        let path = entry.path();
        if path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_resolve_and_missing_ones_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("abstractions/extra.d")).unwrap();
        std::fs::write(dir.path().join("abstractions/one"), "/one r,\ninclude <abstractions/extra.d>\n").unwrap();
        std::fs::write(dir.path().join("abstractions/extra.d/a"), "/a r,\n").unwrap();
        std::fs::write(dir.path().join("abstractions/extra.d/.hidden"), "garbage {{{\n").unwrap();
        let search = SearchPath { dirs: vec![dir.path().to_path_buf()], base: dir.path().to_path_buf() };
        let text = "profile p {\n  include <abstractions/one>\n  include if exists <nothing>\n}\n";
        let loaded = load_text("p", None, text, &search, Missing::Error).unwrap();
        assert_eq!(loaded.sources.len(), 3, "root, one, extra.d/a");
        let err = load_text("p", None, "profile p {\n  include <nothing>\n}\n", &search, Missing::Error).unwrap_err();
        assert!(err.to_string().starts_with("p:2:3: cannot find include `nothing`"), "{err}");
        let lenient = load_text("p", None, "profile p {\n  include <nothing>\n}\n", &search, Missing::Record).unwrap();
        assert_eq!(lenient.missing.len(), 1);
        let err = load_text("p", None, "profile p {\n  /x rz,\n}\n", &search, Missing::Error).unwrap_err();
        assert!(err.to_string().starts_with("p:2:6: invalid file permissions"), "{err}");
    }
}
