//! Test support: every policy palisade ships — the built-in profiles, then policies/*.toml in
//! name order — as (display name, source).
#![allow(dead_code)]

use palisade::policy::load::BUILTIN_PROFILES;
use palisade::policy::PolicySource;
use std::path::Path;

pub fn all() -> Vec<(String, PolicySource)> {
    let mut out: Vec<(String, PolicySource)> =
        BUILTIN_PROFILES.iter().map(|(name, _)| (format!("builtin:{name}"), PolicySource::Builtin(name))).collect();
    // Relative paths, so that file names in diagnostics and artifacts don't depend on where
    // the checkout lives (snapshots hold them).
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(Path::new("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    out.extend(files.into_iter().map(|f| (format!("policies/{}", f.file_name().unwrap().to_string_lossy()), PolicySource::File(f))));
    out
}
