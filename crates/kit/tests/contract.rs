//! The contract strings the kit holds for several platforms, against the
//! response contract's text copied here by hand: a character changed in the
//! kit fails this test.

use junction_kit::contract;

#[test]
fn shared_contract_strings_are_the_contracts_to_the_letter() {
    for (ours, contract_text) in [
        (contract::UNABLE_TO_CONNECT, "Unable to connect to host."),
        (
            contract::IMPERSONATION_ROLE_EXISTS,
            "Impersonation role already exists. If this role can be safely dropped please do so and try again. Alternatively, specify a different role name.",
        ),
        (
            contract::DATABASE_EXISTS,
            "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name.",
        ),
        (
            contract::TEST_BASIC_CONNECTION,
            "Initial validation: basic connection test",
        ),
        (
            contract::TEST_DATABASE_ABSENT,
            "Validate automatic: database does not exist",
        ),
        (
            contract::TEST_IMPERSONATION_ROLE_ABSENT,
            "Validate automatic: impersonation role does not exist",
        ),
        (
            contract::DELETE_NEEDS_CREDENTIALS,
            "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload.",
        ),
        (
            contract::DELETE_REFUSES_CREDENTIALS,
            "Credentials are not required for disable unless the integration was configured automatically. If you need to update your integration credentials, use PUT to update the integration before disabling.",
        ),
    ] {
        assert_eq!(ours, contract_text);
    }
}
