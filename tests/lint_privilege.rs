//! Lint rules of the `privilege` family: each fires on its fixture in tests/fixtures/lint/privilege/ and
//! none fires on that directory's clean fixtures.

mod lint_common;

use palisade::lint::catalog::Family;

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_clean_ones() {
    lint_common::check_family(Family::Privilege);
}

#[test]
fn findings_point_at_the_value_that_grants() {
    let (at, message) = lint_common::finding("privilege/dangerous-capability.fire.yaml", "dangerous-capability");
    assert!(at.ends_with("dangerous-capability.fire.yaml:14:21"), "{at}");
    assert!(message.contains("SYS_ADMIN"), "{message}");
    let (at, _) = lint_common::finding("privilege/privileged.fire.yaml", "privileged");
    assert!(at.ends_with(":10:21"), "{at}");
}
