//! Format adapters: each reads one kind of file and reduces it to [`Subject`]s. Read errors
//! are diagnostics with `file:line:col` (exit status 2).

pub mod apparmor;
pub mod k8s;
pub mod oci;
pub mod palisade;
pub mod seccomp_json;

use super::subject::Subject;
use super::tree::TreeError;
use super::{InputKind, Options};
use crate::diag::Diagnostic;
use crate::policy::source::{SourceFile, Span};
use std::path::Path;
use std::sync::Arc;

/// The subjects of a file of the given kind.
pub fn subjects(kind: InputKind, name: &str, path: Option<&Path>, text: &str, options: &Options) -> Result<Vec<Subject>, Vec<Diagnostic>> {
    match kind {
        InputKind::Palisade => palisade::subjects(name, path, text, options),
        InputKind::SeccompJson => seccomp_json::subjects(name, text),
        InputKind::Oci => oci::subjects(name, text, options),
        InputKind::Apparmor => apparmor::subjects(name, path, text, options),
        InputKind::K8s => k8s::subjects(name, text, options),
    }
}

/// A tree parse error as a diagnostic.
pub(crate) fn tree_error(file: &Arc<SourceFile>, what: &str, e: TreeError) -> Vec<Diagnostic> {
    let end = (e.offset + 1).min(file.text.len()).max(e.offset);
    vec![Diagnostic::error("syntax", format!("invalid {what}: {}", e.message)).at(&Span::new(file, e.offset.min(file.text.len())..end))]
}

/// The span of a node in a file.
pub(crate) fn span(file: &Arc<SourceFile>, node: &super::tree::Node) -> Span {
    Span::new(file, node.range.clone())
}
