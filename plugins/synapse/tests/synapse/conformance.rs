//! The conformance suite every platform runs, and the registration.

use junction_synapse::TYPE_NAME;

#[test]
fn the_platform_conforms() {
    junction_testkit::conformance::assert_conforms(&crate::support::platform());
}

#[test]
fn the_platform_is_registered_once_under_its_type_name() {
    let registry = junction_core::Registry::linked().expect("registry");
    assert!(registry.get(TYPE_NAME).is_some());
}
