//! The response contract's Snowflake section, copied here by hand: every
//! test name the plugin declares (in order) and every failure message it can
//! give. A character changed in the plugin's source fails this test.

use junction_core::DynPlatform;
use junction_snowflake::Snowflake;
use junction_snowflake::testing::checks;

const CONTRACT_TESTS: [&str; 7] = [
    "Initial validation: basic connection test",
    "Initial validation: default warehouse access test",
    "Initial validation: table grants role prefix is unique",
    "Initial validation: validate access to privileged role",
    "Validate automatic bootstrap user grants",
    "Validate automatic: database does not exist",
    "Validate automatic: impersonation role does not exist",
];

#[test]
fn declared_tests_are_the_contracts_to_the_letter() {
    let d = DynPlatform::descriptor(&Snowflake::new());
    let mut names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    let mut contract = CONTRACT_TESTS.to_vec();
    names.sort_unstable();
    contract.sort_unstable();
    assert_eq!(names, contract);
}

#[test]
fn failure_messages_are_the_contracts_to_the_letter() {
    for (ours, contract_text) in [
        (checks::CONNECT_FAILED, "Unable to connect to host."),
        (
            checks::WAREHOUSE_FAILED,
            "Unable to access default warehouse. If this was a manual installation, ensure that the user has been granted usage on the specified warehouse.",
        ),
        (
            checks::PRIVILEGED_ROLE_FAILED,
            "User does not have access to the privileged role.",
        ),
        (
            checks::DATABASE_EXISTS,
            "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name.",
        ),
        (
            checks::ROLE_EXISTS,
            "Impersonation role already exists. If this role can be safely dropped please do so and try again. Alternatively, specify a different role name.",
        ),
    ] {
        assert_eq!(ours, contract_text);
    }
    // The contract's example names the default prefix IMMUTA.
    assert_eq!(
        checks::role_prefix_in_use("IMMUTA"),
        "The Snowflake table grants role prefix IMMUTA is used by another Immuta instance connected to the same Snowflake host. Please update the table grants role prefix for this Immuta instance and try again."
    );
}
