//! Docker/OCI seccomp JSON: imported with `seccomp::import` (the meaning-preserving importer
//! that `policy import` uses), then compiled to palisade's decision model, so the checks see
//! exactly what libseccomp would enforce. Capability-gated entries are evaluated against
//! Docker's default capability set, as Docker evaluates them for a default container.

use super::{span, tree_error};
use crate::diag::Diagnostic;
use crate::lint::subject::{Locator, SeccompFilter, SeccompState, Subject};
use crate::lint::tree::{parse_json, Node};
use crate::policy::source::{SourceFile, Span};
use crate::seccomp::filter::Filter;
use crate::seccomp::import::{import, DOCKER_DEFAULT_CAPS};
use crate::seccomp::json::Profile;
use std::sync::Arc;

pub fn subjects(name: &str, text: &str) -> Result<Vec<Subject>, Vec<Diagnostic>> {
    let file = SourceFile::new(name, None, text);
    let tree = parse_json(text).map_err(|e| tree_error(&file, "JSON", e))?;
    let anchor = Some(span(&file, &tree));
    let state = filter_state(&file, &tree, &tree, &[], name)?;
    let mut subject = Subject::new(format!("seccomp profile {}", short(name)), anchor);
    subject.seccomp = Some(state);
    Ok(vec![subject])
}

fn short(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Compiles the seccomp profile at `node` (the document, or an OCI config's `linux.seccomp`).
pub fn filter_state(file: &Arc<SourceFile>, root: &Node, node: &Node, path: &[&str], name: &str) -> Result<SeccompState, Vec<Diagnostic>> {
    let at = span(file, node);
    let json = &file.text[node.range.clone()];
    let profile: Profile = serde_json::from_str(json)
        .map_err(|e| vec![Diagnostic::error("invalid-seccomp-profile", format!("not a seccomp profile: {e}")).at(&at)])?;
    let filter = compile(&profile, name).map_err(|m| vec![Diagnostic::error("invalid-seccomp-profile", m).at(&at)])?;
    let default_span =
        node.key("defaultAction").map(|k| Span::new(file, k.range.start..node.get("defaultAction").map_or(k.range.end, |v| v.range.end)));
    let mut syscalls_path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    syscalls_path.push("syscalls".to_string());
    Ok(SeccompState::Filter(Box::new(SeccompFilter {
        filter,
        locator: Locator::Json { file: file.clone(), tree: root.clone(), syscalls_path },
        span: Some(at),
        default_span,
        assumed_caps: Some("Docker's default capabilities"),
    })))
}

/// A Docker/OCI profile as palisade's decision model.
pub fn compile(profile: &Profile, name: &str) -> Result<Filter, String> {
    let caps: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    let imported = import(profile, "linted", &caps).map_err(|e| format!("cannot read the seccomp profile: {e}"))?;
    let policy = crate::policy::load_str(name, &imported.toml)
        .map_err(|d| format!("the seccomp profile does not translate (a palisade bug):\n{}", d.render()))?;
    Filter::from_policy(&policy).map_err(|e| e.to_string())
}
