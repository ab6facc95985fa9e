//! The twelve contract tests, each passing and failing, against the fake
//! Google endpoints (BigQuery answered by the fake as an empty project, or
//! with a dataset it was told about).

use crate::keys::{self, PROJECT};
use crate::support::{ALL_HELD, Captured, config_for, fake, outcome, validate};
use junction_bigquery::testing::checks::{self, PERMISSION_TESTS};
use junction_core::{CheckContext, Peer, Status, TestStatus};
use serde_json::json;
use std::sync::Arc;

const ALL_TESTS: [&str; 12] = [
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

#[tokio::test]
async fn everything_in_place_passes_every_test_with_three_calls() {
    let f = fake(None, 0, &ALL_HELD).await;
    let r = validate(&config_for(&f, 0, "meta"), CheckContext::default()).await;
    let names: Vec<&str> = r.validation_tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ALL_TESTS);
    for t in &r.validation_tests {
        assert_eq!(t.status, TestStatus::Passed, "{t:?}");
    }
    assert_eq!(r.status, TestStatus::Passed);
    // One token, one datasets.get, one testIamPermissions for all seven.
    assert_eq!(f.issued(), 1);
    assert_eq!(
        f.bigquery_calls(),
        [format!("GET /bigquery/v2/projects/{PROJECT}/datasets/meta")]
    );
    assert_eq!(f.permission_calls(), [ALL_HELD.map(str::to_owned).to_vec()]);
}

#[tokio::test]
async fn each_missing_permission_warns_its_test_naming_the_permission_and_the_role() {
    for (test, permission) in PERMISSION_TESTS {
        let held: Vec<&str> = ALL_HELD
            .iter()
            .copied()
            .filter(|p| *p != permission)
            .collect();
        let f = fake(None, 0, &held).await;
        let r = validate(&config_for(&f, 0, "meta"), CheckContext::default()).await;
        assert_eq!(r.status, TestStatus::Warning, "{r:?}");
        for t in &r.validation_tests {
            if t.name == test {
                assert_eq!(t.status, TestStatus::Warning, "{t:?}");
                let m = t.message.as_deref().unwrap();
                assert!(m.contains(permission), "{m}");
                assert!(
                    m.contains("projects/junction-test/roles/junction_test"),
                    "{m}"
                );
                assert!(
                    m.contains(&format!("--add-permissions={permission}")),
                    "{m}"
                );
            } else {
                assert_eq!(t.status, TestStatus::Passed, "{t:?}");
            }
        }
        assert_eq!(f.permission_calls().len(), 1);
    }
}

#[tokio::test]
async fn none_held_warns_all_seven() {
    let f = fake(None, 0, &[]).await;
    let r = validate(&config_for(&f, 0, "meta"), CheckContext::default()).await;
    for (test, permission) in PERMISSION_TESTS {
        let (status, message) = outcome(&r, test);
        assert_eq!(status, TestStatus::Warning);
        assert_eq!(
            message.unwrap(),
            format!(
                "The custom role projects/junction-test/roles/junction_test lacks the permission {permission}: add it to the role (gcloud iam roles update junction_test --project=junction-test --add-permissions={permission}) and make sure the role is granted to {}.",
                keys::email("junction", PROJECT)
            )
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_token_fails_the_connection_test_with_the_contracts_message() {
    let (logs, _guard) = Captured::start();
    // The account's key is key 1; the key file holds key 0.
    let f = fake(None, 1, &ALL_HELD).await;
    let r = validate(&config_for(&f, 0, "meta"), CheckContext::default()).await;
    assert_eq!(
        outcome(&r, checks::CONNECT),
        (
            TestStatus::Failed,
            Some("Could not connect to the remote BigQuery connection.".into())
        )
    );
    assert_eq!(r.status, TestStatus::Failed);
    for (test, _) in PERMISSION_TESTS {
        assert_eq!(outcome(&r, test).0, TestStatus::Skipped);
    }
    assert_eq!(outcome(&r, checks::DATASET_EXISTS).0, TestStatus::Skipped);
    // The static tests still ran.
    assert_eq!(outcome(&r, checks::POSTFIX).0, TestStatus::Passed);
    // The cause is in the log.
    let text = logs.text();
    assert!(text.contains("BigQuery connection test failed"), "{text}");
    assert!(text.contains("Invalid JWT Signature."), "{text}");
    assert!(f.bigquery_calls().is_empty());
}

#[tokio::test]
async fn an_unreachable_bigquery_fails_the_connection_test() {
    let f = fake(None, 0, &ALL_HELD).await;
    let mut c = config_for(&f, 0, "meta");
    c["endpoint"] = json!("http://127.0.0.1:1");
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(outcome(&r, checks::CONNECT).0, TestStatus::Failed);
    // An unreachable token endpoint too.
    let mut c = config_for(&f, 0, "meta");
    c["tokenUri"] = json!("http://127.0.0.1:1/token");
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(outcome(&r, checks::CONNECT).0, TestStatus::Failed);
}

#[tokio::test]
async fn an_account_of_another_project_fails_the_postfix_test() {
    let email = keys::email("junction", "other-project");
    let f = crate::fake_google::FakeGoogle::start(None).await;
    f.add_account(&email, &keys::key(0).public, &ALL_HELD);
    let mut c = config_for(&f, 0, "meta");
    c["credential"] = json!(keys::key_file(0, PROJECT, &email, &f.token_uri()));
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(
        outcome(&r, checks::POSTFIX),
        (
            TestStatus::Failed,
            Some("The Immuta service account does not end with expected value.".into())
        )
    );
    assert_eq!(outcome(&r, checks::CONNECT).0, TestStatus::Passed);
    assert_eq!(
        checks::expected_postfix("example.com:p"),
        "@p.example.com.iam.gserviceaccount.com"
    );
}

#[tokio::test]
async fn a_service_account_other_than_the_key_files_fails_its_test() {
    let f = fake(None, 0, &ALL_HELD).await;
    let mut c = config_for(&f, 0, "meta");
    c["serviceAccount"] = json!(keys::email("someone-else", PROJECT));
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(
        outcome(&r, checks::KEY_FILE_ACCOUNT),
        (
            TestStatus::Failed,
            Some(
                "The service account does not match the service account in the provided key file."
                    .into()
            )
        )
    );
    // The same account, written in another case: the same account.
    c["serviceAccount"] = json!(keys::email("junction", PROJECT).to_uppercase());
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(outcome(&r, checks::KEY_FILE_ACCOUNT).0, TestStatus::Passed);
}

fn peer(id: i64, service_account: &str) -> Arc<Peer> {
    Arc::new(Peer {
        id,
        status: Status::Enabled,
        config: json!({"dataset": "other", "serviceAccount": service_account}),
    })
}

#[tokio::test]
async fn a_service_account_another_integration_uses_fails_the_reuse_test() {
    let f = fake(None, 0, &ALL_HELD).await;
    let c = config_for(&f, 0, "meta");
    let mine = keys::email("junction", PROJECT);
    let ctx = CheckContext {
        integration_id: None,
        auto_bootstrap: false,
        peers: Arc::new(vec![
            peer(7, &keys::email("other", PROJECT)),
            peer(8, &mine),
        ]),
    };
    let r = validate(&c, ctx).await;
    assert_eq!(
        outcome(&r, checks::NOT_REUSED),
        (
            TestStatus::Failed,
            Some("Native BigQuery doesn't support the reuse of service accounts for integrations that are currently being used for data sources.".into())
        )
    );
    // Editing integration 8 itself: its own entry is no clash.
    let ctx = CheckContext {
        integration_id: Some(8),
        auto_bootstrap: false,
        peers: Arc::new(vec![
            peer(7, &keys::email("other", PROJECT)),
            peer(8, &mine),
        ]),
    };
    let r = validate(&c, ctx).await;
    assert_eq!(outcome(&r, checks::NOT_REUSED).0, TestStatus::Passed);
}

#[tokio::test]
async fn an_existing_dataset_fails_the_exists_test_unless_it_is_this_integrations() {
    let f = fake(None, 0, &ALL_HELD).await;
    f.add_dataset("meta");
    let c = config_for(&f, 0, "meta");
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(
        outcome(&r, checks::DATASET_EXISTS),
        (
            TestStatus::Failed,
            Some("An existing Immuta instance exists. Delete this dataset to continue.".into())
        )
    );
    assert_eq!(outcome(&r, checks::CONNECT).0, TestStatus::Passed);
    // Validating an edit of the integration that made it.
    let ctx = CheckContext {
        integration_id: Some(3),
        auto_bootstrap: false,
        peers: Arc::new(vec![Arc::new(Peer {
            id: 3,
            status: Status::Enabled,
            config: json!({"dataset": "meta"}),
        })]),
    };
    let r = validate(&c, ctx).await;
    let (status, message) = outcome(&r, checks::DATASET_EXISTS);
    assert_eq!(status, TestStatus::Passed);
    assert!(message.unwrap().contains("already manages"));
}

#[tokio::test]
async fn a_dataset_the_account_may_not_read_warns_and_the_connection_still_passes() {
    let f = fake(None, 0, &ALL_HELD).await;
    f.deny_bigquery();
    let r = validate(&config_for(&f, 0, "meta"), CheckContext::default()).await;
    assert_eq!(outcome(&r, checks::CONNECT).0, TestStatus::Passed);
    let (status, message) = outcome(&r, checks::DATASET_EXISTS);
    assert_eq!(status, TestStatus::Warning);
    let m = message.unwrap();
    assert!(
        m.contains("Could not tell whether the dataset meta exists"),
        "{m}"
    );
    assert!(m.contains("or it may not exist"), "{m}");
}

#[tokio::test]
async fn a_resource_manager_outage_warns_that_permissions_could_not_be_checked() {
    let f = fake(None, 0, &ALL_HELD).await;
    f.fail_permissions_with(503);
    let r = validate(&config_for(&f, 0, "meta"), CheckContext::default()).await;
    assert_eq!(outcome(&r, checks::CONNECT).0, TestStatus::Passed);
    for (test, permission) in PERMISSION_TESTS {
        let (status, message) = outcome(&r, test);
        assert_eq!(status, TestStatus::Warning);
        let m = message.unwrap();
        assert!(m.contains(&format!("The permission {permission}")), "{m}");
        assert!(m.contains("could not be checked"), "{m}");
        assert!(m.contains("HTTP 503"), "{m}");
    }
    // Retried (it is safe to repeat), and shared by the seven tests: 1 + 2 retries.
    assert_eq!(f.permission_calls().len(), 3);
}
