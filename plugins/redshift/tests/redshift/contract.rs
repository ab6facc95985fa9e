//! The response contract's Redshift section, copied here by hand: every
//! test name the plugin declares, in order. Its failure messages are held
//! literally by `validate.rs` (each produced against the stand-in) and by
//! the kit's own contract test.

use junction_core::DynPlatform;
use junction_redshift::Redshift;

const CONTRACT_TESTS: [&str; 3] = [
    "Initial validation: basic connection test",
    "Validate automatic: database does not exist",
    "Validate automatic: impersonation role does not exist",
];

#[test]
fn declared_tests_are_the_contracts_to_the_letter() {
    let d = DynPlatform::descriptor(&Redshift::new());
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, CONTRACT_TESTS);
}
