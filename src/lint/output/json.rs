//! `--format json`: one document with every file's findings, errors and scores.

use crate::lint::{exit_status, FileReport, Level};
use serde_json::{json, Value};

pub fn render(reports: &[FileReport]) -> Value {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| {
            let findings: Vec<Value> = r
                .findings
                .iter()
                .map(|f| {
                    let mut v = f.to_diagnostic().to_json();
                    v["level"] = json!(f.level);
                    v["subject"] = json!(f.subject);
                    v["message"] = json!(f.message);
                    v
                })
                .collect();
            json!({
                "path": r.path,
                "kind": r.kind.map(|k| k.name()),
                "errors": r.errors.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
                "findings": findings,
                "subjects": r.subjects.iter().map(|s| json!({
                    "name": s.name,
                    "score": s.score.value,
                    "rating": s.score.rating,
                    "breakdown": s.score.breakdown,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let count = |l: Level| reports.iter().flat_map(|r| &r.findings).filter(|f| f.level == l).count();
    json!({
        "files": files,
        "summary": {
            "deny": count(Level::Deny),
            "warn": count(Level::Warn),
            "errors": reports.iter().map(|r| r.errors.len()).sum::<usize>(),
        },
        "exit_status": exit_status(reports),
    })
}
