//! The response contract's Google BigQuery section, copied here by hand:
//! every test name the plugin declares and every failure message it can
//! give. A character changed in the plugin's source fails this test. (The
//! seven permission tests' messages are "a permission warning" in the
//! contract: ours name the permission and the role; see `validate.rs`.)

use junction_bigquery::BigQuery;
use junction_bigquery::testing::checks;
use junction_core::DynPlatform;

#[test]
fn declared_tests_are_the_contracts_to_the_letter() {
    let d = DynPlatform::descriptor(&junction_kit::Kit(BigQuery::new()));
    let mut names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let mut contract = vec![
        "Basic validation: connection can be made to BigQuery",
        "Basic validation: Immuta service account postfix",
        "Basic validation: non-matching service account in key file",
        "Basic validation: verify service account not being used for data source connection credentials",
        "Validate manual: [dataset - create]",
        "Validate manual: [dataset - delete]",
        "Initialize validation: [dataset - exists]",
        "Validate manual: [table - create]",
        "Validate manual: [table - delete]",
        "Validate manual: [table - get]",
        "Validate manual: [table - insert]",
        "Validate manual: [table - update]",
    ];
    contract.sort_unstable();
    assert_eq!(names, contract);
}

#[test]
fn failure_messages_are_the_contracts_to_the_letter() {
    for (ours, contract_text) in [
        (
            checks::CONNECT_FAILED,
            "Could not connect to the remote BigQuery connection.",
        ),
        (
            checks::POSTFIX_FAILED,
            "The Immuta service account does not end with expected value.",
        ),
        (
            checks::KEY_FILE_ACCOUNT_FAILED,
            "The service account does not match the service account in the provided key file.",
        ),
        (
            checks::REUSED,
            "Native BigQuery doesn't support the reuse of service accounts for integrations that are currently being used for data sources.",
        ),
        (
            checks::DATASET_EXISTS_FAILED,
            "An existing Immuta instance exists. Delete this dataset to continue.",
        ),
    ] {
        assert_eq!(ours, contract_text);
    }
}
