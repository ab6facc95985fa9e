//! The response contract's Azure Synapse Analytics section, copied here by
//! hand: every test name the plugin declares (in order) and every failure
//! message it can give. A character changed in the plugin's source fails this test.

use junction_core::DynPlatform;
use junction_synapse::Synapse;
use junction_synapse::testing::checks;

#[test]
fn declared_tests_are_the_contracts_to_the_letter() {
    let d = DynPlatform::descriptor(&junction_kit::Kit(Synapse::new()));
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Initial validation: connect",
            "Initial validation: delimiters test",
            "Validate automatic: impersonation role does not exist",
            "Validate Immuta system user can manage database",
        ]
    );
}

#[test]
fn failure_messages_are_the_contracts_to_the_letter() {
    for (ours, contract_text) in [
        (checks::CONNECT_FAILED, "Unable to connect to host."),
        (
            checks::DELIMITERS_EQUAL,
            "Hash delimiter and array delimiter must not have the same value.",
        ),
        (
            checks::ROLE_EXISTS,
            "Impersonation role already exists. If this role can be safely dropped please do so and try again. Alternatively, specify a different role name.",
        ),
        (
            checks::CANNOT_MANAGE,
            "User does not have permission to manage database.",
        ),
    ] {
        assert_eq!(ours, contract_text);
    }
}
