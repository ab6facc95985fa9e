//! No password, private key or session token in any result, error, log line
//! or `Debug`, against `fake_snowflake` (whose admin password is the sentinel).

use crate::fake_snowflake::FakeSnowflake;
use crate::support::{self, op, unique};
use junction_core::Platform;
use junction_snowflake::testing::{Credentials, Session};
use junction_snowflake::{PrivilegedCredentials, Snowflake};
use junction_testkit::SENTINEL;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test process (nextest runs each test in its own).
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let writer = Buffer(Arc::clone(&buf));
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber in this process");
    buf
}

fn assert_clean(what: &str, text: &str, extra: &[&str]) {
    assert!(
        !text.contains(SENTINEL),
        "{what} shows the sentinel: {text}"
    );
    for e in extra {
        assert!(
            !e.is_empty() && !text.contains(e),
            "{what} shows a secret: {text}"
        );
    }
}

#[tokio::test]
async fn fake_snowflake_no_secret_in_results_errors_logs_or_debug() {
    let logs = capture_logs();
    let server = FakeSnowflake::start(SENTINEL).await;
    let db = unique("secret");
    let mut config = support::fake_config(&server, SENTINEL, &db);
    config["impersonation"] = json!({"enabled": true, "role": format!("{db}_IMP")});

    // Results, with the right and with a wrong password.
    let r = support::validate(&config, true, None, vec![]).await;
    assert_clean(
        "validation results",
        &serde_json::to_string(&r).unwrap(),
        &[],
    );
    let mut wrong = config.clone();
    wrong["password"] = format!("{SENTINEL}-wrong").into();
    let r = support::validate(&wrong, true, None, vec![]).await;
    assert_clean(
        "validation results",
        &serde_json::to_string(&r).unwrap(),
        &[],
    );

    // A set-up whose CREATE USER fails with an error that echoes the statement.
    server.with(|s| s.fail_on = Some("CREATE USER".into()));
    let err = Platform::create(&Snowflake::new(), &op(true, 0), support::typed(&config))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("PASSWORD = '[redacted]'"), "{msg}");
    assert_clean("create error", &msg, &[]);
    assert_clean("create error", &format!("{err:?}"), &[]);
    server.with(|s| s.fail_on = None);

    // A set-up that works: the stored config shows no password anywhere but expose().
    let stored = Platform::create(&Snowflake::new(), &op(true, 0), support::typed(&config))
        .await
        .unwrap()
        .config;
    let generated = stored.password.clone().unwrap().expose().clone();
    assert_clean("stored config Debug", &format!("{stored:?}"), &[&generated]);
    assert_clean(
        "stored config JSON",
        &serde_json::to_string(&stored).unwrap(),
        &[&generated],
    );

    // A rotation to the sentinel whose statement fails, echoing it.
    server.with(|s| s.fail_on = Some("ALTER USER".into()));
    let mut rotate = stored.clone();
    rotate.password = Some(SENTINEL.to_owned().into());
    let err = Platform::edit(&Snowflake::new(), &op(true, 2), stored.clone(), rotate)
        .await
        .unwrap_err();
    assert_clean("edit error", &err.to_string(), &[&generated]);
    assert!(err.to_string().contains("[redacted]"), "{err}");
    server.with(|s| s.fail_on = Some("DROP DATABASE".into()));

    // A delete that fails at its last step and rolls back (re-creating the user).
    let privileged: PrivilegedCredentials =
        serde_json::from_value(json!({"username": "ADMIN", "password": SENTINEL})).unwrap();
    assert_clean(
        "privileged credentials Debug",
        &format!("{privileged:?}"),
        &[],
    );
    let err = Platform::delete(
        &Snowflake::new(),
        &op(true, 2),
        stored.clone(),
        Some(privileged),
    )
    .await
    .unwrap_err();
    assert_clean("delete error", &err.to_string(), &[&generated]);

    // A session's Debug shows no token.
    let c = support::typed(&config);
    let s = Session::open(&c, Credentials::of(&c)).await.unwrap();
    assert!(!format!("{s:?}").contains("fake-token"), "{s:?}");
    s.close().await;

    // Key pairs: the PEM never shows.
    let (pem, _) = support::generate_key();
    let mut kp = config.clone();
    kp.as_object_mut().unwrap().remove("password");
    kp["authenticationType"] = "keyPair".into();
    kp["privateKey"] = json!({"content": pem});
    let key_body = pem.lines().nth(1).unwrap().to_owned();
    let typed = support::typed(&kp);
    assert_clean("key-pair config Debug", &format!("{typed:?}"), &[&key_body]);
    let err = Session::open(&typed, Credentials::of(&typed))
        .await
        .unwrap_err();
    assert_clean("key-pair log-in error", &err.to_string(), &[&key_body]);

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("logged in"), "the capture works: {logs}");
    assert_clean("logs", &logs, &[&generated, &key_body, "fake-token-"]);
}
