//! Lint rules of the `lsm` family: each fires on its fixture in tests/fixtures/lint/lsm/ and
//! none fires on that directory's clean fixtures.

mod lint_common;

use palisade::lint::catalog::Family;

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_clean_ones() {
    lint_common::check_family(Family::Lsm);
}
