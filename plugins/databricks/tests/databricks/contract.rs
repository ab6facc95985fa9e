//! The response contract's Databricks Unity Catalog section, copied here by
//! hand: every test name the plugin declares and every failure message it can
//! give, plus the reference product's DELETE message. A character changed in
//! the plugin's source fails this test.

use junction_core::DynPlatform;
use junction_databricks::Databricks;
use junction_databricks::testing::{
    CATALOG_LOOKUP_FAILED, CONNECT, CONNECT_FAILED, MANUAL_CATALOG, METASTORE, NO_METASTORE,
};

#[test]
fn declared_tests_are_the_contracts_to_the_letter() {
    let d = DynPlatform::descriptor(&Databricks::new());
    let mut names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Basic connection test",
            "Manual catalog setup",
            "Metastore validation"
        ]
    );
    assert_eq!(CONNECT, "Basic connection test");
    assert_eq!(MANUAL_CATALOG, "Manual catalog setup");
    assert_eq!(METASTORE, "Metastore validation");
}

#[test]
fn failure_messages_are_the_contracts_to_the_letter() {
    assert_eq!(
        CONNECT_FAILED,
        "Could not connect to host, please confirm you are using valid connection parameters."
    );
    assert_eq!(
        CATALOG_LOOKUP_FAILED,
        "Encountered an error looking up catalog metadata for catalog."
    );
    assert_eq!(NO_METASTORE, "No metastore is assigned to workspace.");
}
