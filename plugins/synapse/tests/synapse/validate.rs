//! The four validation tests both ways against the fake, the transient
//! log-in errors, and the server certificate's verification.

use crate::support::{self, DB, auto_config, outcomes, validate};
use junction_core::{DynPlatform, TestStatus};
use junction_synapse::testing::checks::{
    CANNOT_MANAGE, CONNECT, CONNECT_FAILED, DELIMITERS, DELIMITERS_EQUAL, MANAGE, ROLE_ABSENT,
    ROLE_EXISTS,
};

fn status_of(r: &junction_core::ValidationResults, name: &str) -> (TestStatus, String) {
    let t = r
        .validation_tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test {name}: {:?}", outcomes(r)));
    (t.status, t.message.clone().unwrap_or_default())
}

#[tokio::test]
async fn every_test_passes_for_a_privileged_user_over_verified_tls() {
    let fake = support::fake();
    let p = support::platform();
    let r = validate(&p, &auto_config(fake.port, true), true).await;
    assert_eq!(r.status, TestStatus::Passed, "{:?}", outcomes(&r));
    let names: Vec<&str> = r.validation_tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, [CONNECT, DELIMITERS, ROLE_ABSENT, MANAGE]);
    // One log-in, handed on from the connection test to the others.
    assert_eq!(fake.logins_attempted(), 1);
    assert_eq!(fake.encryptions(), [crate::fake_synapse::Encryption::Full]);
}

#[tokio::test]
async fn a_wrong_password_fails_connect_and_skips_the_rest_naming_it() {
    let fake = support::fake();
    let mut c = auto_config(fake.port, true);
    c["password"] = "wrong-password".into();
    let r = validate(&support::platform(), &c, true).await;
    assert_eq!(
        status_of(&r, CONNECT),
        (TestStatus::Failed, CONNECT_FAILED.to_owned())
    );
    for name in [DELIMITERS, ROLE_ABSENT, MANAGE] {
        let (status, message) = status_of(&r, name);
        assert_eq!(status, TestStatus::Skipped, "{name}");
        assert!(message.contains(CONNECT), "{name}: {message}");
    }
    // A wrong password is not transient: one attempt.
    assert_eq!(fake.logins_attempted(), 1);
}

#[tokio::test]
async fn nothing_listening_fails_connect() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = validate(&support::platform(), &auto_config(port, false), true).await;
    assert_eq!(
        status_of(&r, CONNECT),
        (TestStatus::Failed, CONNECT_FAILED.to_owned())
    );
}

#[tokio::test]
async fn equal_hash_and_array_delimiters_fail_the_delimiters_test() {
    let fake = support::fake();
    let mut c = auto_config(fake.port, false);
    c["metadataDelimiters"] = serde_json::json!({"hashDelimiter": ",", "arrayDelimiter": ","});
    let r = validate(&support::platform(), &c, true).await;
    assert_eq!(
        status_of(&r, DELIMITERS),
        (TestStatus::Failed, DELIMITERS_EQUAL.to_owned())
    );
    assert_eq!(status_of(&r, CONNECT).0, TestStatus::Passed);
}

#[tokio::test]
async fn an_existing_role_fails_the_impersonation_test() {
    let fake = support::fake();
    fake.admin_batch(DB, "CREATE ROLE [immuta_imp]").unwrap();
    let r = validate(&support::platform(), &auto_config(fake.port, true), true).await;
    assert_eq!(
        status_of(&r, ROLE_ABSENT),
        (TestStatus::Failed, ROLE_EXISTS.to_owned())
    );
    // Without impersonation it does not apply.
    let r = validate(&support::platform(), &auto_config(fake.port, false), true).await;
    assert_eq!(status_of(&r, ROLE_ABSENT).0, TestStatus::Skipped);
}

#[tokio::test]
async fn a_user_without_control_cannot_manage_the_database() {
    let fake = support::fake();
    fake.admin_batch("master", "CREATE LOGIN [weak] WITH PASSWORD = N'Weak-pw-1'")
        .unwrap();
    fake.admin_batch(DB, "CREATE USER [weak] FROM LOGIN [weak]")
        .unwrap();
    fake.admin_batch(DB, "GRANT CREATE SCHEMA, ALTER ANY USER TO [weak]")
        .unwrap();
    let mut c = auto_config(fake.port, false);
    c["username"] = "weak".into();
    c["password"] = "Weak-pw-1".into();
    let (logs, _guard) = support::capture_logs();
    let r = validate(&support::platform(), &c, true).await;
    assert_eq!(
        status_of(&r, MANAGE),
        (TestStatus::Failed, CANNOT_MANAGE.to_owned())
    );
    assert!(
        logs.text().contains("CONTROL"),
        "the log names what is missing: {}",
        logs.text()
    );
    // A member of db_owner may.
    fake.admin_batch(DB, "ALTER ROLE [db_owner] ADD MEMBER [weak]")
        .unwrap();
    let r = validate(&support::platform(), &c, true).await;
    assert_eq!(
        status_of(&r, MANAGE).0,
        TestStatus::Passed,
        "{:?}",
        outcomes(&r)
    );
    // The permissions were asked for, not tried out: nothing was created.
    assert!(!fake.statements().iter().any(|(_, s)| s.contains("CREATE")));
}

#[tokio::test]
async fn transient_login_errors_are_retried_and_logged_by_number() {
    let fake = support::fake();
    fake.fail_next_logins(&[42109, 40613]);
    let (logs, _guard) = support::capture_logs();
    let r = validate(&support::platform(), &auto_config(fake.port, false), true).await;
    assert_eq!(
        status_of(&r, CONNECT).0,
        TestStatus::Passed,
        "{:?}",
        outcomes(&r)
    );
    assert_eq!(fake.logins_attempted(), 3);
    let text = logs.text();
    assert!(
        text.contains("transient log-in error 42109 (SQL pool warming up)"),
        "{text}"
    );
    assert!(
        text.contains("transient log-in error 40613 (database not currently available)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_pool_that_stays_paused_fails_within_the_connect_timeout() {
    let fake = support::fake();
    fake.fail_next_logins(&[42108; 100]);
    let mut c = auto_config(fake.port, false);
    c["connectTimeoutSeconds"] = 3.into();
    let (logs, _guard) = support::capture_logs();
    let r = validate(&support::platform(), &c, true).await;
    assert_eq!(
        status_of(&r, CONNECT),
        (TestStatus::Failed, CONNECT_FAILED.to_owned())
    );
    // Retried (backoff 0.5 s, 1 s, 2 s, …), and given up when the connect
    // timeout ran out rather than after a count of its own.
    let n = fake.logins_attempted();
    assert!(n >= 2, "{n} attempts");
    assert!(n < 100, "{n} attempts: the timeout ended them");
    assert!(
        logs.text().contains("last: Msg 42108: SQL pool paused"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn the_server_certificate_is_verified() {
    let fake = support::fake();
    let p = support::platform();
    // No CA file: the test CA is not among the public roots.
    let mut c = auto_config(fake.port, false);
    c.as_object_mut().unwrap().remove("trustedCaFile");
    let (logs, _guard) = support::capture_logs();
    let r = validate(&p, &c, true).await;
    assert_eq!(
        status_of(&r, CONNECT),
        (TestStatus::Failed, CONNECT_FAILED.to_owned())
    );
    assert!(logs.text().contains("certificate"), "{}", logs.text());
    // Another CA's file does not help either.
    c["trustedCaFile"] = support::path_str(&support::pki().other_ca_pem).into();
    let r = validate(&p, &c, true).await;
    assert_eq!(status_of(&r, CONNECT).0, TestStatus::Failed);
    // A server without TLS is refused when encryption is required.
    let plain = crate::fake_synapse::FakeSynapse::start(support::ADMIN_PW, &[DB], None);
    let r = validate(&p, &auto_config(plain.port, false), true).await;
    assert_eq!(status_of(&r, CONNECT).0, TestStatus::Failed);
    assert_eq!(
        plain.logins_attempted(),
        0,
        "no password was sent in the clear"
    );
    // With encrypt "disable" only the log-in is in TLS, unverified.
    let mut c = auto_config(fake.port, false);
    c["encrypt"] = "disable".into();
    c.as_object_mut().unwrap().remove("trustedCaFile");
    let r = validate(&p, &c, true).await;
    assert_eq!(
        status_of(&r, CONNECT).0,
        TestStatus::Passed,
        "{:?}",
        outcomes(&r)
    );
    assert_eq!(
        fake.encryptions().last(),
        Some(&crate::fake_synapse::Encryption::LoginOnly)
    );
}

#[tokio::test]
async fn a_bad_config_is_refused_with_its_path() {
    let mut c = auto_config(1, false);
    c["connectTimeoutSeconds"] = 0.into();
    let e = support::platform().parse(&c, true).expect_err("refused");
    assert_eq!(e.0[0].path, "config.connectTimeoutSeconds");
}
