//! `palisade lint FILE...`: thin handler over [`crate::lint`].

use crate::cli::{LintArgs, LintFormat};
use crate::lint::catalog::{rule, RULES};
use crate::lint::{self, Level, Options};
use anyhow::Context;

pub fn run(args: LintArgs) -> anyhow::Result<i32> {
    if let Some(code) = &args.explain {
        let Some(r) = rule(code) else {
            let hint =
                crate::diag::closest(code, RULES.iter().map(|r| r.code)).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
            eprintln!("palisade: no lint rule `{code}`{hint}");
            return Ok(2);
        };
        println!(
            "{}: {}\n\nfamily: {}\ndefault level: {}\nexposure weight: {}\n\n{}",
            r.code,
            r.summary,
            r.family.name(),
            r.level.name(),
            r.weight,
            wrap(r.explanation, 92)
        );
        return Ok(0);
    }
    if args.list {
        for r in RULES {
            println!("{:<30} {:<12} {:<5} {}", r.code, r.family.name(), r.level.name(), r.summary);
        }
        return Ok(0);
    }
    if args.files.is_empty() {
        eprintln!("palisade: lint needs at least one FILE (or --explain CODE, or --list)");
        return Ok(2);
    }
    let mut options = Options { input: args.input, ..Options::default() };
    let config = args.config.clone().or_else(|| std::path::Path::new("palisade-lint.toml").exists().then(|| "palisade-lint.toml".into()));
    if let Some(path) = config {
        if let Err(d) = options.levels.apply_file(&path) {
            eprint!("{}", d.render());
            return Ok(2);
        }
    }
    for (list, level) in [(&args.allow, Level::Allow), (&args.warn, Level::Warn), (&args.deny, Level::Deny)] {
        for sel in list {
            if let Err(m) = options.levels.set(sel, level) {
                eprintln!("palisade: {m}");
                return Ok(2);
            }
        }
    }
    if !args.apparmor_path.is_empty() {
        options.apparmor_path.dirs = args.apparmor_path.clone();
        options.apparmor_path.base = args.apparmor_path[0].clone();
    }
    if let Some(root) = &args.seccomp_root {
        options.seccomp_root = root.clone();
    }
    let reports: Vec<_> = args.files.iter().map(|f| lint::lint_file(f, &options)).collect();
    let text = match args.format {
        LintFormat::Text => lint::output::text::render(&reports, args.score),
        LintFormat::Json => serde_json::to_string_pretty(&lint::output::json::render(&reports)).expect("serializes") + "\n",
        LintFormat::Sarif => serde_json::to_string_pretty(&lint::output::sarif::render(&reports)).expect("serializes") + "\n",
    };
    match &args.output {
        Some(path) => super::compile::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(lint::exit_status(&reports))
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out += word;
        line += word.len();
    }
    out
}
