//! The example plugin, linked in: it conforms and its lifecycle works. (The
//! same platform through the shared-library ABI is tested by
//! junction-plugin-abi's tests, which load this crate's cdylib.)

use junction_core::{DynPlatform, OpContext, RunOptions, TestStatus};
use junction_example_dynamic::{CHECK_CONNECT, ExampleDynamic, remote_objects};
use serde_json::json;

#[test]
fn the_example_platform_conforms() {
    junction_testkit::conformance::assert_conforms(&ExampleDynamic);
    assert_eq!(ExampleDynamic.descriptor().secret_paths, ["/password"]);
}

#[tokio::test]
async fn checks_do_what_the_configuration_says() {
    let config =
        json!({"account": "a", "password": "p", "checks": {CHECK_CONNECT: {"behavior": "fail"}}});
    let results = ExampleDynamic
        .validate(&config, Default::default(), &RunOptions::default(), None)
        .await
        .expect("a valid configuration");
    assert_eq!(results.status, TestStatus::Failed);
    // The others need the connection: skipped.
    assert!(
        results.validation_tests[1..]
            .iter()
            .all(|t| t.status == TestStatus::Skipped)
    );
}

#[tokio::test]
async fn create_edit_migrate_delete() {
    let op = |v| OpContext {
        bootstrap_version: v,
        ..OpContext::default()
    };
    let first = json!({"account": "life", "password": "p", "label": "one"});
    let second = json!({"account": "life", "password": "p", "label": "two"});
    let out = ExampleDynamic.create(&op(0), &first).await.expect("create");
    assert_eq!(out.bootstrap_version, 1);
    assert!(remote_objects("life").contains("version-1"));
    ExampleDynamic
        .edit(&op(1), &first, &second)
        .await
        .expect("edit");
    assert!(remote_objects("life").contains("label:two"));
    let out = ExampleDynamic
        .migrate(&op(1), &second)
        .await
        .expect("migrate");
    assert_eq!(out.bootstrap_version, 2);
    assert!(remote_objects("life").contains("version-2"));
    ExampleDynamic
        .delete(&op(2), &second, None)
        .await
        .expect("delete");
    assert!(remote_objects("life").is_empty());
}
