//! The AppArmor parser against the real corpus: every profile Debian ships in the apparmor,
//! apparmor-profiles and apparmor-profiles-extra packages parses, with its includes resolved
//! against /etc/apparmor.d (.ci/run installs the packages). The count is printed.

use palisade::apparmor::{load_file, Missing, Model, SearchPath};
use std::path::{Path, PathBuf};

/// Profile files: the top level of each directory (abstractions, tunables and local/ snippets
/// are reached through the includes of the profiles; `abi/` holds kernel feature files, not
/// policy; README files are documentation).
fn profile_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && name != "README" && !name.ends_with(".md")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_debian_profile_parses_with_includes_resolved() {
    let dirs = [Path::new("/etc/apparmor.d"), Path::new("/usr/share/apparmor/extra-profiles")];
    let files: Vec<PathBuf> = dirs.iter().flat_map(|d| profile_files(d)).collect();
    if std::env::var_os("CI").is_some() {
        assert!(files.len() > 100, "the corpus is missing: install apparmor apparmor-profiles apparmor-profiles-extra");
    }
    if files.is_empty() {
        eprintln!("skipped: no AppArmor corpus on this machine");
        return;
    }
    let search = SearchPath::default();
    let mut failures = Vec::new();
    let (mut profiles, mut rules, mut included) = (0, 0, std::collections::BTreeSet::new());
    for file in &files {
        match load_file(file, &search, Missing::Error) {
            Ok(loaded) => {
                included.extend(loaded.sources.keys().cloned());
                let model = Model::new(&loaded);
                fn count(p: &[palisade::apparmor::ProfileModel]) -> (usize, usize) {
                    p.iter().fold((0, 0), |(n, r), p| {
                        let (cn, cr) = count(&p.children);
                        (n + 1 + cn, r + p.rules.len() + cr)
                    })
                }
                let (n, r) = count(&model.profiles);
                profiles += n;
                rules += r;
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    println!(
        "apparmor corpus: {}/{} files parsed ({} files with includes), {profiles} profiles, {rules} rules",
        files.len() - failures.len(),
        files.len(),
        included.len()
    );
    assert!(failures.is_empty(), "{} of {} files failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}

/// Every abstraction, tunables file and local snippet parses on its own too, including those
/// no shipped profile includes.
#[test]
fn every_include_fragment_parses() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "README" {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for sub in ["abstractions", "tunables", "local", "apache2.d"] {
        walk(&Path::new("/etc/apparmor.d").join(sub), &mut files);
    }
    if files.is_empty() {
        eprintln!("skipped: no AppArmor corpus on this machine");
        return;
    }
    let search = SearchPath::default();
    let failures: Vec<String> = files.iter().filter_map(|f| load_file(f, &search, Missing::Error).err().map(|e| e.to_string())).collect();
    println!("apparmor include fragments: {}/{} parsed", files.len() - failures.len(), files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
