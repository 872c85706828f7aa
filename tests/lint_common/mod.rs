//! Shared by the tests/lint_<family>.rs files: lint a fixture, and the per-family contract
//! (every rule has a fixture that fires it, with a location; the family's clean fixtures fire
//! none of its rules), in the manner of cargo-deny's per-check test files.
#![allow(dead_code)]

use palisade::apparmor::SearchPath;
use palisade::lint::catalog::{Family, RULES};
use palisade::lint::{lint_file, FileReport, Options};
use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

/// Options with the fixtures' AppArmor directory searched before /etc/apparmor.d.
pub fn options() -> Options {
    let dirs = vec![fixtures().join("cross-layer/apparmor.d"), PathBuf::from("/etc/apparmor.d")];
    Options { apparmor_path: SearchPath { dirs, base: PathBuf::from("/etc/apparmor.d") }, ..Options::default() }
}

pub fn lint(path: &Path) -> FileReport {
    let report = lint_file(path, &options());
    assert!(report.errors.is_empty(), "{}: {}", path.display(), report.errors.iter().map(|e| e.render()).collect::<String>());
    report
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    out.sort();
    out
}

/// The contract of a family: fires where it must, stays quiet where it must.
pub fn check_family(family: Family) {
    let dir = fixtures().join(family.name());
    let codes: Vec<&str> = RULES.iter().filter(|r| r.family == family).map(|r| r.code).collect();
    assert!(!codes.is_empty());
    for code in &codes {
        let fire = files(&dir, &format!("{code}.fire."));
        assert!(!fire.is_empty(), "rule {code} has no fixture {}/{code}.fire.*", dir.display());
        for f in fire {
            let report = lint(&f);
            let hit = report.findings.iter().find(|x| x.code == *code);
            let Some(hit) = hit else {
                panic!("{code} did not fire on {}; findings: {:?}", f.display(), report.findings.iter().map(|x| x.code).collect::<Vec<_>>())
            };
            let span = hit.span.as_ref().unwrap_or_else(|| panic!("{code} on {} has no location", f.display()));
            assert!(span.location().contains(':'), "{}", span.location());
            assert!(hit.to_diagnostic().render().contains(&format!("[{code}]")));
        }
    }
    let clean = files(&dir, "clean.");
    assert!(!clean.is_empty(), "family {} has no clean fixture", family.name());
    for f in clean {
        let report = lint(&f);
        let fired: Vec<String> =
            report.findings.iter().filter(|x| codes.contains(&x.code)).map(|x| format!("{}: {}", x.code, x.message)).collect();
        assert!(fired.is_empty(), "{} fired on the clean fixture {}:\n{}", family.name(), f.display(), fired.join("\n"));
    }
}

/// The first finding of a rule in a fixture, as `file:line:col` and message.
pub fn finding(path: &str, code: &str) -> (String, String) {
    let report = lint(&fixtures().join(path));
    let f = report.findings.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("{code} not in {path}"));
    (f.span.as_ref().map(|s| s.location()).unwrap_or_default(), f.message.clone())
}
