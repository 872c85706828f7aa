//! `palisade policy import FILE`: a Docker/OCI seccomp profile (JSON) or an AppArmor profile
//! becomes a palisade policy.

use crate::seccomp::import::{import, DOCKER_DEFAULT_CAPS};
use crate::seccomp::json::Profile;
use anyhow::Context;
use std::path::{Path, PathBuf};

pub fn run(
    file: &Path,
    output: Option<&Path>,
    name: Option<String>,
    capabilities: &str,
    profile: Option<&str>,
    apparmor_path: &[PathBuf],
) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let name = name.unwrap_or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "imported".into()));
    // JSON is a seccomp profile; anything else is read as AppArmor.
    let (toml, notes) = if text.trim_start().starts_with('{') {
        let profile: Profile = match serde_json::from_str(&text) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error[invalid-profile]: {}:{}:{}: {e}", file.display(), e.line(), e.column());
                return Ok(1);
            }
        };
        let caps: Vec<String> = match capabilities {
            "docker-default" => DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            "none" | "" => Vec::new(),
            list => list.split(',').map(|c| c.trim().trim_start_matches("CAP_").to_string()).collect(),
        };
        let imported = import(&profile, &name, &caps).with_context(|| format!("importing {}", file.display()))?;
        (imported.toml, imported.notes)
    } else {
        match import_apparmor(file, &text, &name, profile, apparmor_path)? {
            Some(r) => r,
            None => return Ok(1),
        }
    };
    for note in &notes {
        eprintln!("note: {note}");
    }
    // The output must itself be a valid policy: check it before writing anything.
    if let Err(diags) = crate::policy::load_str(&name, &toml) {
        anyhow::bail!("the imported policy does not validate (a palisade bug):\n{}", diags.render());
    }
    match output {
        Some(path) => super::compile::write_atomic(path, toml.as_bytes())?,
        None => print!("{toml}"),
    }
    Ok(0)
}

/// An AppArmor profile file → policy text and notes; `None` after reporting a parse error.
fn import_apparmor(
    file: &Path,
    text: &str,
    name: &str,
    wanted: Option<&str>,
    apparmor_path: &[PathBuf],
) -> anyhow::Result<Option<(String, Vec<String>)>> {
    use crate::apparmor::{load_text, Missing, Model, SearchPath};
    let mut search = SearchPath::default();
    if !apparmor_path.is_empty() {
        search = SearchPath { dirs: apparmor_path.to_vec(), base: apparmor_path[0].clone() };
    }
    let loaded = match load_text(&file.display().to_string(), Some(file.to_path_buf()), text, &search, Missing::Record) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{}", e.to_diagnostic().render());
            return Ok(None);
        }
    };
    let model = Model::new(&loaded);
    let mut notes: Vec<String> = loaded
        .missing
        .iter()
        .map(|(span, inc)| format!("{}: include `{inc}` was not found; its rules are not imported", span.location()))
        .collect();
    let profile = match wanted {
        Some(w) => model.profile(w).with_context(|| format!("{} has no profile `{w}`", file.display()))?,
        None => {
            let first = model.profiles.first().with_context(|| format!("{} defines no profile", file.display()))?;
            if model.profiles.len() > 1 {
                let names: Vec<&str> = model.profiles.iter().map(|p| p.name.as_str()).collect();
                notes.push(format!(
                    "the file defines {} profiles ({}); imported `{}` (choose with --profile)",
                    names.len(),
                    names.join(", "),
                    first.name
                ));
            }
            first
        }
    };
    let imported = crate::apparmor::import::import(&model, profile, name);
    notes.extend(imported.notes);
    Ok(Some((imported.toml, notes)))
}
