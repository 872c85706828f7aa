//! AppArmor profiles: parsed with palisade's parser, includes resolved against
//! `--apparmor-path` (missing ones are reported, not fatal: a profile written for another host
//! can still be checked). Each profile, hat and child profile is a subject.

use crate::apparmor::{load_file, load_text, Missing, Model, ProfileModel};
use crate::diag::Diagnostic;
use crate::lint::subject::{AppArmorState, Capabilities, Subject};
use crate::lint::Options;
use crate::policy::source::Span;
use std::path::Path;
use std::sync::Arc;

pub fn subjects(name: &str, path: Option<&Path>, text: &str, options: &Options) -> Result<Vec<Subject>, Vec<Diagnostic>> {
    let loaded =
        load_text(name, path.map(Path::to_path_buf), text, &options.apparmor_path, Missing::Record).map_err(|e| vec![e.to_diagnostic()])?;
    let model = Arc::new(Model::new(&loaded));
    let mut out = Vec::new();
    fn walk(model: &Arc<Model>, list: &[ProfileModel], prefix: &str, missing: &[(Span, String)], out: &mut Vec<Subject>) {
        for p in list {
            let full = if prefix.is_empty() { p.name.clone() } else { format!("{prefix}//{}", p.name) };
            let mut s = Subject::new(format!("profile {full}"), Some(p.span.clone()));
            s.capabilities = Some(Capabilities {
                granted: p.capabilities().into_iter().map(|(c, r)| (c.to_ascii_uppercase(), Some(r.span.clone()))).collect(),
                drops_all: None,
            });
            s.apparmor = Some(AppArmorState::Profile { model: model.clone(), name: full.clone(), span: Some(p.span.clone()) });
            s.missing_includes = missing.to_vec();
            out.push(s);
            walk(model, &p.children, &full, &[], out);
        }
    }
    walk(&model, &model.profiles, "", &loaded.missing, &mut out);
    Ok(out)
}

/// A profile named by another format (`apparmorProfile`, `localhost/NAME`, `[apparmor] profile`),
/// looked up in the files of the search path.
pub fn lookup_profile(name: &str, span: Option<Span>, options: &Options) -> AppArmorState {
    if name == "unconfined" {
        return AppArmorState::Unconfined { span, why: "the AppArmor profile is `unconfined`".to_string() };
    }
    for dir in &options.apparmor_path.dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for file in files {
            // Cheap filter before parsing: the name must appear in the file.
            if !std::fs::read_to_string(&file).is_ok_and(|t| t.contains(name)) {
                continue;
            }
            if let Ok(loaded) = load_file(&file, &options.apparmor_path, Missing::Record) {
                let model = Model::new(&loaded);
                if model.profile(name).is_some() {
                    return AppArmorState::Profile { model: Arc::new(model), name: name.to_string(), span };
                }
            }
        }
    }
    AppArmorState::Named { name: name.to_string(), span }
}
