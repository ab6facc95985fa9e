//! The connection test against pysqlbridge, a TDS server we did not write
//! (`cargo xtask stand-ins up pysqlbridge`). It wraps the log-in in TLS with a
//! self-signed certificate made at start-up, serves SELECT only, and cannot
//! run DDL: good for the connection test, nothing more.

use crate::support::{self, outcomes};
use junction_core::TestStatus;
use junction_synapse::testing::checks::{CONNECT, CONNECT_FAILED};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
struct Bridge {
    host: String,
    port: u16,
    user: String,
    password: String,
}

fn bridge() -> Option<Bridge> {
    junction_testkit::stand_ins::require::<Bridge>("pysqlbridge")
}

fn config(b: &Bridge, password: &str, encrypt: &str) -> serde_json::Value {
    serde_json::json!({
        "host": b.host,
        "port": b.port,
        "database": "master",
        "schema": "immuta_views",
        "username": b.user,
        "password": password,
        "encrypt": encrypt,
        "connectTimeoutSeconds": 10
    })
}

fn connect_outcome(r: &junction_core::ValidationResults) -> (TestStatus, Option<String>) {
    let t = r
        .validation_tests
        .iter()
        .find(|t| t.name == CONNECT)
        .expect("connect test");
    (t.status, t.message.clone())
}

#[tokio::test]
async fn the_right_password_connects_and_a_wrong_one_does_not() {
    let Some(b) = bridge() else { return };
    let p = support::platform();
    let r = support::validate(&p, &config(&b, &b.password, "disable"), false).await;
    assert_eq!(
        connect_outcome(&r).0,
        TestStatus::Passed,
        "{:?}",
        outcomes(&r)
    );
    // It has no permission functions: the manage test cannot pass there,
    // and says why in its own words (the fake covers that test).
    let manage = r
        .validation_tests
        .iter()
        .find(|t| t.name == junction_synapse::testing::checks::MANAGE)
        .expect("manage test");
    assert_eq!(manage.status, TestStatus::Failed, "{:?}", outcomes(&r));
    assert!(
        manage
            .message
            .as_deref()
            .unwrap_or("")
            .starts_with("Unable to read the permissions held"),
        "{:?}",
        outcomes(&r)
    );
    let r = support::validate(&p, &config(&b, "not-the-password", "disable"), false).await;
    assert_eq!(
        connect_outcome(&r),
        (TestStatus::Failed, Some(CONNECT_FAILED.to_owned()))
    );
}

#[tokio::test]
async fn its_self_signed_certificate_is_refused_when_encryption_is_required() {
    let Some(b) = bridge() else { return };
    let (logs, _guard) = support::capture_logs();
    let r = support::validate(
        &support::platform(),
        &config(&b, &b.password, "require"),
        false,
    )
    .await;
    assert_eq!(
        connect_outcome(&r),
        (TestStatus::Failed, Some(CONNECT_FAILED.to_owned()))
    );
    assert!(logs.text().contains("certificate"), "{}", logs.text());
}
