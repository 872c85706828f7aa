//! `--format sarif`: SARIF 2.1.0 (OASIS, errata 01), the format GitHub code scanning and other
//! tools load. One run; the driver lists every rule of the catalog (id, short and full
//! description, help, default level, family as a tag); results point at file, line and column
//! with the source line as snippet. Exposure scores ride in the run's property bag.
//! tests/lint_sarif.rs validates the output against the official schema.

use crate::lint::catalog::RULES;
use crate::lint::{FileReport, Level};
use serde::Serialize;

pub const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

#[derive(Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub invocations: Vec<Invocation>,
    pub artifacts: Vec<Artifact>,
    pub results: Vec<SarifResult>,
    pub properties: serde_json::Value,
}

#[derive(Serialize)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: &'static str,
    pub version: &'static str,
    pub rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
pub struct Message {
    pub text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    pub id: &'static str,
    pub name: String,
    pub short_description: Message,
    pub full_description: Message,
    pub help: Message,
    pub default_configuration: Configuration,
    pub properties: serde_json::Value,
}

#[derive(Serialize)]
pub struct Configuration {
    pub level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
    pub tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
pub struct Notification {
    pub level: &'static str,
    pub message: Message,
    pub locations: Vec<Location>,
}

#[derive(Serialize)]
pub struct Artifact {
    pub location: ArtifactLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: &'static str,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Message,
    pub locations: Vec<Location>,
    pub properties: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Serialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub snippet: Message,
}

/// A file path as a URI reference: relative paths stay relative, absolute ones become
/// `file://` URIs; characters outside RFC 3986's unreserved set and `/` are percent-encoded.
pub fn uri(path: &str) -> String {
    let mut enc = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            enc.push(b as char);
        } else {
            enc += &format!("%{b:02X}");
        }
    }
    if path.starts_with('/') {
        format!("file://{enc}")
    } else {
        enc
    }
}

fn location(span: &crate::policy::source::Span) -> Location {
    let (start_line, start_column) = span.file.line_col(span.range.start);
    let (end_line, end_column) = span.file.line_col(span.range.end.max(span.range.start + 1).min(span.file.text.len()));
    let (end_line, end_column) =
        if (end_line, end_column) <= (start_line, start_column) { (start_line, start_column + 1) } else { (end_line, end_column) };
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri(&span.file.name) },
            region: Some(Region {
                start_line,
                start_column,
                end_line,
                end_column,
                snippet: Message { text: span.file.line_text(start_line).to_string() },
            }),
        },
    }
}

fn pascal(code: &str) -> String {
    code.split('-').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
}

pub fn render(reports: &[FileReport]) -> Log {
    let rules = RULES
        .iter()
        .map(|r| ReportingDescriptor {
            id: r.code,
            name: pascal(r.code),
            short_description: Message { text: r.summary.to_string() },
            full_description: Message { text: r.explanation.to_string() },
            help: Message { text: format!("{} See `palisade lint --explain {}`.", r.explanation, r.code) },
            default_configuration: Configuration { level: sarif_level(r.level) },
            properties: serde_json::json!({ "tags": ["security", r.family.name()] }),
        })
        .collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for report in reports {
        for f in &report.findings {
            let rule_index = RULES.iter().position(|r| r.code == f.code).unwrap_or(0);
            let locations = match &f.span {
                Some(span) => vec![location(span)],
                None => vec![Location {
                    physical_location: PhysicalLocation { artifact_location: ArtifactLocation { uri: uri(&report.path) }, region: None },
                }],
            };
            results.push(SarifResult {
                rule_id: f.code,
                rule_index,
                level: sarif_level(f.level),
                message: Message { text: format!("{} ({})", f.message, f.subject) },
                locations,
                properties: serde_json::json!({ "subject": f.subject }),
            });
        }
        for e in &report.errors {
            let locations = e.span.as_ref().map(location).into_iter().collect();
            notifications.push(Notification { level: "error", message: Message { text: format!("{}: {}", e.code, e.message) }, locations });
        }
    }
    let scores: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.subjects
                .iter()
                .map(move |s| serde_json::json!({ "file": r.path, "subject": s.name, "score": s.score.value, "rating": s.score.rating }))
        })
        .collect();
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool { driver: Driver { name: "palisade", version: env!("CARGO_PKG_VERSION"), rules } },
            invocations: vec![Invocation { execution_successful: notifications.is_empty(), tool_execution_notifications: notifications }],
            artifacts: reports.iter().map(|r| Artifact { location: ArtifactLocation { uri: uri(&r.path) } }).collect(),
            results,
            properties: serde_json::json!({ "exposure": scores }),
        }],
    }
}

fn sarif_level(l: Level) -> &'static str {
    match l {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "none",
    }
}
