//! Validation against the stand-in: the three tests, their messages, their
//! prerequisites and applicability, and static rejection of bad values.

use crate::support::{self, Cleanup, Names};
use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus, ValidationResults};
use junction_redshift::Redshift;

// The contract's words, copied from the response contract (not from the
// plugin's constants, so a constant that drifts fails here).
const CONNECT: &str = "Initial validation: basic connection test";
const DATABASE_ABSENT: &str = "Validate automatic: database does not exist";
const ROLE_ABSENT: &str = "Validate automatic: impersonation role does not exist";
const CONNECT_FAILED: &str = "Unable to connect to host.";
const DATABASE_EXISTS: &str = "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name.";
const ROLE_EXISTS: &str = "Impersonation role already exists. If this role can be safely dropped please do so and try again. Alternatively, specify a different role name.";
use serde_json::{Value, json};
use std::time::Duration;

async fn validate(config: &Value, auto: bool) -> ValidationResults {
    let ctx = CheckContext {
        auto_bootstrap: auto,
        ..CheckContext::default()
    };
    DynPlatform::validate(&Redshift::new(), config, ctx, &RunOptions::default(), None)
        .await
        .expect("config is valid")
}

fn test<'a>(r: &'a ValidationResults, name: &str) -> &'a junction_core::ValidationTest {
    r.validation_tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test named {name} in {r:?}"))
}

#[tokio::test]
async fn good_config_passes_all_three_tests() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_ok");
    let r = validate(&support::auto_config(&pg, &names, true), true).await;
    let got: Vec<(&str, TestStatus)> = r
        .validation_tests
        .iter()
        .map(|t| (t.name.as_str(), t.status))
        .collect();
    assert_eq!(
        got,
        vec![
            (CONNECT, TestStatus::Passed),
            (DATABASE_ABSENT, TestStatus::Passed),
            (ROLE_ABSENT, TestStatus::Passed),
        ]
    );
    assert_eq!(r.status, TestStatus::Passed);
}

/// A port nobody listens on: bound, then released.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

fn assert_connection_failed_and_others_skipped(r: &ValidationResults) {
    let c = test(r, CONNECT);
    assert_eq!(c.status, TestStatus::Failed);
    assert_eq!(c.message.as_deref(), Some(CONNECT_FAILED));
    for name in [DATABASE_ABSENT, ROLE_ABSENT] {
        let t = test(r, name);
        assert_eq!(t.status, TestStatus::Skipped, "{name}");
        let msg = t.message.as_deref().unwrap_or_default();
        assert!(msg.contains(CONNECT), "{name} should name {CONNECT}: {msg}");
    }
    assert_eq!(r.status, TestStatus::Failed);
}

#[tokio::test]
async fn closed_port_fails_connection_within_timeout_and_skips_the_others() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_closed");
    let mut config = support::auto_config(&pg, &names, true);
    config["port"] = json!(closed_port());
    config["connectTimeoutSeconds"] = json!(2);
    let r = validate(&config, true).await;
    // A refused connection fails at once, with the contract's message (a
    // runner time-out would have said so instead).
    assert_connection_failed_and_others_skipped(&r);
}

#[tokio::test]
async fn silent_server_fails_connection_within_connect_timeout() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    // Accepts TCP connections and never answers: only the timeout can end the wait.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = accepted.clone();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(s);
        }
    });
    let names = Names::new("val_silent");
    let mut config = support::auto_config(&pg, &names, true);
    config["port"] = json!(port);
    config["connectTimeoutSeconds"] = json!(1);
    let r = validate(&config, true).await;
    hold.abort();
    // The client got in and the server never answered, so only the connect
    // timeout can have ended the wait: the check runner's own time-out (over
    // a minute) would have failed the test with its message, not the contract's.
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_connection_failed_and_others_skipped(&r);
}

#[tokio::test]
async fn existing_database_fails_with_the_contract_message() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_db");
    let _cleanup = Cleanup::new(&pg, &names);
    let admin = support::superuser(&pg, &pg.database).await;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{}\"", names.database))
        .await
        .expect("create database");
    let r = validate(&support::auto_config(&pg, &names, true), true).await;
    let t = test(&r, DATABASE_ABSENT);
    assert_eq!(t.status, TestStatus::Failed);
    assert_eq!(t.message.as_deref(), Some(DATABASE_EXISTS));
    assert_eq!(test(&r, ROLE_ABSENT).status, TestStatus::Passed);
    assert_eq!(r.status, TestStatus::Failed);
}

#[tokio::test]
async fn existing_role_fails_with_the_contract_message() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_role");
    let _cleanup = Cleanup::new(&pg, &names);
    let admin = support::superuser(&pg, &pg.database).await;
    admin
        .batch_execute(&format!("CREATE ROLE \"{}\"", names.role()))
        .await
        .expect("create role");
    let r = validate(&support::auto_config(&pg, &names, true), true).await;
    let t = test(&r, ROLE_ABSENT);
    assert_eq!(t.status, TestStatus::Failed);
    assert_eq!(t.message.as_deref(), Some(ROLE_EXISTS));
    assert_eq!(test(&r, DATABASE_ABSENT).status, TestStatus::Passed);
}

#[tokio::test]
async fn impersonation_test_is_skipped_with_its_reason_when_disabled() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_noimp");
    let r = validate(&support::auto_config(&pg, &names, false), true).await;
    let t = test(&r, ROLE_ABSENT);
    assert_eq!(t.status, TestStatus::Skipped);
    assert!(
        t.message
            .as_deref()
            .unwrap_or_default()
            .contains("impersonation enabled")
    );
    assert_eq!(r.status, TestStatus::Passed);
}

#[tokio::test]
async fn manual_set_up_skips_both_automatic_tests_with_their_reason() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_manual");
    // Manual: the credentials log in to the managed database, which exists.
    let mut config = support::auto_config(&pg, &names, true);
    config["database"] = json!(pg.database);
    config["initialDatabase"] = json!("template1");
    let r = validate(&config, false).await;
    assert_eq!(test(&r, CONNECT).status, TestStatus::Passed);
    for name in [DATABASE_ABSENT, ROLE_ABSENT] {
        let t = test(&r, name);
        assert_eq!(t.status, TestStatus::Skipped, "{name}");
        assert!(
            t.message
                .as_deref()
                .unwrap_or_default()
                .contains("autoBootstrap"),
            "{name}: {:?}",
            t.message
        );
    }
}

#[tokio::test]
async fn wrong_password_fails_the_connection_test_without_showing_it() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("val_pw");
    let mut config = support::auto_config(&pg, &names, true);
    config["password"] = json!(junction_testkit::SENTINEL);
    let r = validate(&config, true).await;
    assert_connection_failed_and_others_skipped(&r);
    let text = serde_json::to_string(&r).expect("json");
    assert!(!text.contains(junction_testkit::SENTINEL));
}

#[tokio::test]
async fn tls_require_against_a_server_without_tls_fails_cleanly() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    // The stand-in runs with ssl=off: a client that requires TLS must refuse it.
    let names = Names::new("val_tls");
    let mut config = support::auto_config(&pg, &names, true);
    config["tls"] = json!("require");
    let r = validate(&config, true).await;
    assert_connection_failed_and_others_skipped(&r);
}

fn parse_error(config: &Value) -> Vec<(String, String)> {
    match DynPlatform::parse(&Redshift::new(), config, true) {
        Ok(_) => vec![],
        Err(e) => e.0.into_iter().map(|f| (f.path, f.message)).collect(),
    }
}

#[test]
fn bad_values_are_rejected_with_their_path() {
    let base = json!({
        "host": "127.0.0.1", "initialDatabase": "dev", "database": "junction",
        "username": "admin", "password": "pw"
    });
    assert!(parse_error(&base).is_empty(), "{:?}", parse_error(&base));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("port", json!(0), "config.port"),
        ("port", json!(70000), "config.port"),
        ("port", json!("5439"), "config.port"),
        ("tls", json!("maybe"), "config.tls"),
        (
            "authenticationType",
            json!("keyPair"),
            "config.authenticationType",
        ),
        (
            "connectTimeoutSeconds",
            json!(0),
            "config.connectTimeoutSeconds",
        ),
        (
            "connectTimeoutSeconds",
            json!(3600),
            "config.connectTimeoutSeconds",
        ),
        ("database", json!("Upper"), "config.database"),
        ("database", json!(""), "config.database"),
        ("database", json!("dev"), "config.database"),
        ("database", json!("x".repeat(60)), "config.database"),
        ("host", json!(""), "config.host"),
        ("password", json!(""), "config.password"),
        ("bogus", json!(1), "config.bogus"),
        (
            "impersonation",
            json!({"enabled": true, "role": ""}),
            "config.impersonation.role",
        ),
        (
            "impersonation",
            json!({"enabled": true, "role": "Imp"}),
            "config.impersonation.role",
        ),
        (
            "impersonation",
            json!({"enabled": true, "extra": 1}),
            "config.impersonation.extra",
        ),
    ];
    for (field, value, path) in cases {
        let mut c = base.clone();
        c[field] = value.clone();
        let errors = parse_error(&c);
        assert!(
            errors.iter().any(|(p, _)| p == path),
            "{field}={value}: expected an error at {path}, got {errors:?}"
        );
    }
    let mut missing = base.clone();
    missing.as_object_mut().map(|o| o.remove("username"));
    assert_eq!(parse_error(&missing)[0].0, "config.username");
}

#[test]
fn defaults_are_port_5439_and_tls_require() {
    let c = support::typed(&json!({
        "host": "h", "initialDatabase": "dev", "database": "junction",
        "username": "admin", "password": "pw"
    }));
    assert_eq!(c.port, 5439);
    assert_eq!(c.tls, junction_redshift::TlsMode::Require);
    assert!(!c.impersonation.enabled);
}

#[tokio::test]
async fn validation_passes_through_a_slow_network() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let upstream = format!("{}:{}", pg.host, pg.port).parse().expect("address");
    let proxy = junction_testkit::proxy::DelayProxy::start(upstream, Duration::from_millis(100))
        .await
        .expect("proxy");
    let names = Names::new("val_slow");
    let mut config = support::auto_config(&pg, &names, true);
    config["port"] = json!(proxy.port);
    let r = validate(&config, true).await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
}
