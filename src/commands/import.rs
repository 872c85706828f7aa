//! `palisade policy import FILE`: a Docker/OCI seccomp profile becomes a palisade policy.

use crate::seccomp::import::{import, DOCKER_DEFAULT_CAPS};
use crate::seccomp::json::Profile;
use anyhow::Context;
use std::path::Path;

pub fn run(file: &Path, output: Option<&Path>, name: Option<String>, capabilities: &str) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let profile: Profile = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error[invalid-profile]: {}:{}:{}: {e}", file.display(), e.line(), e.column());
            return Ok(1);
        }
    };
    let name = name.unwrap_or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "imported".into()));
    let caps: Vec<String> = match capabilities {
        "docker-default" => DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
        "none" | "" => Vec::new(),
        list => list.split(',').map(|c| c.trim().trim_start_matches("CAP_").to_string()).collect(),
    };
    let imported = import(&profile, &name, &caps).with_context(|| format!("importing {}", file.display()))?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    // The output must itself be a valid policy: check it before writing anything.
    if let Err(diags) = crate::policy::load_str(&name, &imported.toml) {
        anyhow::bail!("the imported policy does not validate (a palisade bug):\n{}", diags.render());
    }
    match output {
        Some(path) => super::compile::write_atomic(path, imported.toml.as_bytes())?,
        None => print!("{}", imported.toml),
    }
    Ok(0)
}
