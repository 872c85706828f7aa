//! Every rule of the catalog belongs to a family with a test file and fixtures, and explains
//! itself.

use palisade::lint::catalog::{Family, RULES};
use std::path::Path;

#[test]
fn every_family_has_a_test_file_and_every_rule_a_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for family in Family::ALL {
        let test = root.join(format!("tests/lint_{}.rs", family.name().replace('-', "_")));
        assert!(test.exists(), "missing {}", test.display());
    }
    for rule in RULES {
        let dir = root.join("tests/fixtures/lint").join(rule.family.name());
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(&format!("{}.fire.", rule.code)));
        assert!(found, "no fixture for {}", rule.code);
        assert!(rule.explanation.len() > 80, "{} explains too little", rule.code);
    }
}
