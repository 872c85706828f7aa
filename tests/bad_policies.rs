//! A corpus of bad policies (tests/fixtures/bad/*.toml), each with the exact diagnostic it must
//! produce (`*.expected`): code, message, file:line:col, snippet and hint. Set
//! PALISADE_BLESS=1 to rewrite the expectations after an intended change, then review the diff.

use palisade::commands::check::check_one;

#[test]
fn every_bad_policy_gets_its_exact_diagnostic() {
    let root = env!("CARGO_MANIFEST_DIR");
    std::env::set_current_dir(root).unwrap();
    let mut files: Vec<_> = std::fs::read_dir("tests/fixtures/bad")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus shrank");
    let bless = std::env::var_os("PALISADE_BLESS").is_some();
    let mut failures = Vec::new();
    for file in files {
        if file.file_name().is_some_and(|n| n == "cycle-b.toml") {
            continue; // the second half of cycle-a's cycle
        }
        let diags = check_one(file.to_str().unwrap());
        assert!(diags.has_errors(), "{} was accepted", file.display());
        let rendered = diags.render();
        let expected_path = file.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &rendered).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if rendered != expected {
            failures.push(format!("{}:\n--- expected\n{expected}--- got\n{rendered}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
