//! `palisade policy check`: parse, validate and compile each file; report every diagnostic.

use crate::cli::Format;
use crate::compile::Plan;
use crate::diag::{Diagnostic, Diagnostics};
use crate::policy::source::{SourceFile, Span};
use crate::policy::{load, PolicySource};

pub fn run(files: &[String], format: Format) -> anyhow::Result<i32> {
    let mut report = Vec::new();
    let mut failed = false;
    for file in files {
        let diags = check_one(file);
        failed |= diags.has_errors();
        report.push((file, diags));
    }
    match format {
        Format::Text => {
            for (file, diags) in &report {
                if diags.0.is_empty() {
                    println!("{file}: ok");
                } else {
                    eprint!("{}", diags.render());
                }
            }
        }
        Format::Json => {
            let json: Vec<_> = report
                .iter()
                .map(|(file, diags)| {
                    serde_json::json!({
                        "file": file,
                        "valid": !diags.has_errors(),
                        "diagnostics": diags.0.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(i32::from(failed))
}

/// Everything wrong with one policy: load errors, then compile errors (a policy that loads but
/// cannot compile, e.g. with no seccomp default, is not valid either).
pub fn check_one(file: &str) -> Diagnostics {
    match load(&PolicySource::from_arg(file)) {
        Err(diags) => diags,
        Ok(policy) => {
            // Compile errors concern the whole chain: point at the start of the checked file.
            let top = std::fs::read_to_string(file).ok().map(|text| Span::new(&SourceFile::new(file, None, text), 0..0));
            match Plan::new(policy) {
                Ok(_) => Diagnostics::default(),
                Err(e) => {
                    let code = match &e {
                        crate::compile::CompileError::Seccomp { .. } => "missing-seccomp",
                        _ => "compile",
                    };
                    let mut d = Diagnostic::error(code, e.to_string());
                    d.span = top;
                    d.into()
                }
            }
        }
    }
}
