//! apparmor-unresolved-include.

use crate::lint::subject::{AppArmorState, Subject};
use crate::lint::Sink;

pub fn run(s: &Subject, sink: &mut Sink) {
    if !matches!(s.apparmor, Some(AppArmorState::Profile { .. })) {
        return;
    }
    sink.checked("apparmor-unresolved-include");
    for (span, name) in &s.missing_includes {
        sink.fire(
            "apparmor-unresolved-include",
            format!("include `{name}` was not found: its rules were not checked"),
            Some(span.clone()),
            Some("give the directory with --apparmor-path, or write `include if exists`".into()),
        );
    }
}
