//! The platforms linked into the host are exactly the ones its features enable.
//! (This integration test also makes cargo build the `junction` binary, with
//! the same features, in the same test run as the end-to-end tests.)

#[test]
fn linked_platforms_are_exactly_the_enabled_features() {
    let registry = junction_host::registry().expect("registry");
    let linked: Vec<&str> = registry.names().collect();
    let enabled = junction_host::enabled_platforms();
    assert_eq!(
        linked, enabled,
        "linked platforms differ from the enabled features"
    );
}

#[test]
fn the_binary_is_built_alongside() {
    let bin = env!("CARGO_BIN_EXE_junction");
    assert!(std::path::Path::new(bin).exists(), "{bin} missing");
}
