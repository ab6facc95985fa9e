//! The connector protocol against `fake_snowflake`: key-pair authentication
//! (the server verifies the JWT's RS256 signature against the user's
//! registered public key), encrypted keys, re-login after an expired or
//! rejected session token, polling a running query, aborting a slow one.

use crate::fake_snowflake::{ACCOUNT, FakeSnowflake};
use crate::support::{self, unique};
use junction_core::TestStatus;
use junction_snowflake::testing::checks::{CONNECT, CONNECT_FAILED};
use junction_snowflake::testing::{Credentials, Session};
use junction_testkit::SENTINEL;
use serde_json::json;

fn keypair_config(server: &FakeSnowflake, user: &str, pem: &str) -> serde_json::Value {
    let mut c = support::fake_config(server, "unused", &unique("kp"));
    c.as_object_mut().unwrap().remove("password");
    c["username"] = user.into();
    c["authenticationType"] = "keyPair".into();
    c["privateKey"] = json!({"keyName": "junction", "userFilename": "rsa_key.p8", "content": pem});
    c
}

#[tokio::test]
async fn fake_snowflake_key_pair_login_sends_a_verifiable_jwt() {
    let server = FakeSnowflake::start("x").await;
    let (pem, public) = support::generate_key();
    server.add_user("KEY_USER", SENTINEL, "ACCOUNTADMIN");
    server.set_public_key("KEY_USER", &public);
    let config = keypair_config(&server, "key_user", &pem);
    let c = support::typed(&config);
    let s = Session::open(&c, Credentials::of(&c))
        .await
        .expect("key-pair log-in");
    s.query("SELECT 1").await.unwrap();
    s.close().await;
    let login = server.with(|st| st.logins.last().cloned()).unwrap();
    assert!(login.accepted);
    assert_eq!(login.authenticator, "SNOWFLAKE_JWT");
    assert_eq!(login.account, ACCOUNT);
    let claims = login.claims.unwrap();
    assert_eq!(claims["sub"], "FAKEACCT.KEY_USER");
    assert!(
        claims["iss"]
            .as_str()
            .unwrap()
            .starts_with("FAKEACCT.KEY_USER.SHA256:")
    );
    // And through the validation tests.
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(support::result(&r, CONNECT).0, TestStatus::Passed, "{r:?}");
}

#[tokio::test]
async fn fake_snowflake_key_pair_login_with_another_key_is_refused() {
    let server = FakeSnowflake::start("x").await;
    let (pem, _) = support::generate_key();
    let (_, other_public) = support::generate_key();
    server.add_user("KEY_USER", "x", "ACCOUNTADMIN");
    server.set_public_key("KEY_USER", &other_public);
    let config = keypair_config(&server, "KEY_USER", &pem);
    let c = support::typed(&config);
    let err = Session::open(&c, Credentials::of(&c)).await.unwrap_err();
    assert!(err.to_string().contains("390144"), "{err}");
    assert!(!err.to_string().contains("PRIVATE KEY"));
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.to_owned()))
    );
}

#[tokio::test]
async fn fake_snowflake_expired_session_token_logs_in_again() {
    let server = FakeSnowflake::start("pw").await;
    let c = support::typed(&support::fake_config(&server, "pw", "DB"));
    let s = Session::open(&c, Credentials::of(&c)).await.unwrap();
    s.query("SELECT 1").await.unwrap();
    // 390112: session expired (HTTP 200, success false).
    server.with(|st| st.expire_next = true);
    let r = s
        .query("SELECT 1")
        .await
        .expect("retried after a new log-in");
    assert_eq!(r.scalar(), Some("1"));
    assert_eq!(s.logins(), 2);
    // HTTP 401: token rejected.
    server.with(|st| st.reject_next = true);
    s.query("SELECT 1")
        .await
        .expect("retried after a new log-in");
    assert_eq!(s.logins(), 3);
    // The statement ran once per accepted request; the header was exactly the protocol's.
    let auths = server.with(|st| st.authorizations.clone());
    assert!(
        auths
            .iter()
            .all(|a| a.starts_with("Snowflake Token=\"fake-token-") && a.ends_with('"'))
    );
    s.close().await;
    assert_eq!(server.with(|st| st.closed_sessions), 1);
}

/// The key encrypted by OpenSSL (`openssl pkcs8 -topk8 -v2 <cipher> -v2prf <prf>`),
/// or `None` when no openssl binary is installed.
fn openssl_encrypt(pem: &str, cipher: &str, prf: &str, passphrase: &str) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("jt-sf-key-{}-{cipher}-{prf}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("key.pem");
    std::fs::write(&input, pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", cipher, "-v2prf", prf, "-passout"])
        .arg(format!("pass:{passphrase}"))
        .arg("-in")
        .arg(&input)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        Ok(o) => panic!("openssl failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => {
            skip_without_openssl("to encrypt a test key");
            None
        }
    }
}

#[tokio::test]
async fn fake_snowflake_encrypted_key_pair_login() {
    let server = FakeSnowflake::start("x").await;
    let (pem, public) = support::generate_key();
    server.add_user("KEY_USER", "x", "ACCOUNTADMIN");
    server.set_public_key("KEY_USER", &public);
    for (cipher, prf) in [
        ("aes-256-cbc", "hmacWithSHA256"),
        ("aes-128-cbc", "hmacWithSHA1"),
        ("aes-192-cbc", "hmacWithSHA512"),
    ] {
        let Some(encrypted) = openssl_encrypt(&pem, cipher, prf, SENTINEL) else {
            return;
        };
        assert!(encrypted.contains("BEGIN ENCRYPTED PRIVATE KEY"));
        let mut config = keypair_config(&server, "KEY_USER", &encrypted);
        config["privateKeyPassword"] = SENTINEL.into();
        let r = support::validate(&config, false, None, vec![]).await;
        assert_eq!(
            support::result(&r, CONNECT).0,
            TestStatus::Passed,
            "{cipher}/{prf}: {r:?}"
        );
        // A wrong passphrase: refused, saying so, showing neither passphrase nor key.
        config["privateKeyPassword"] = "not-the-passphrase".into();
        let c = support::typed(&config);
        let err = Session::open(&c, Credentials::of(&c)).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("privateKeyPassword"), "{msg}");
        assert!(
            !msg.contains(SENTINEL) && !msg.contains("not-the-passphrase"),
            "{msg}"
        );
    }
    // Every JWT that reached the server verified; a wrong passphrase never got that far.
    let logins = server.with(|s| s.logins.clone());
    assert!(
        logins.len() >= 3 && logins.iter().all(|l| l.accepted),
        "{logins:?}"
    );
}

#[tokio::test]
async fn fake_snowflake_running_query_is_polled_and_a_slow_one_aborted() {
    let server = FakeSnowflake::start("pw").await;
    let c = support::typed(&support::fake_config(&server, "pw", "DB"));
    let mut s = Session::open(&c, Credentials::of(&c)).await.unwrap();
    // 333334 with a result URL, twice more, then the rows.
    server.with(|st| st.pending_polls = Some(2));
    let r = s.query("SELECT 1").await.expect("polled to the end");
    assert_eq!(r.scalar(), Some("1"));
    assert_eq!(server.with(|st| st.polls), 3);
    // A statement that outlives the query timeout is aborted on the server.
    s.set_query_timeout(std::time::Duration::from_millis(300));
    server.with(|st| st.delay_next = Some(std::time::Duration::from_secs(3)));
    // The answer comes after 3 s: a Timeout error and an abort on the
    // server prove the 300 ms query timeout ended the wait, not the answer.
    let err = s.query("SELECT 1").await.unwrap_err();
    assert!(
        matches!(err, junction_snowflake::testing::SfError::Timeout { .. }),
        "{err}"
    );
    assert_eq!(server.with(|st| st.aborts), 1);
    s.close().await;
}

/// An HTTPS server with a self-signed certificate (`openssl s_server`), or
/// `None` when no openssl binary is installed.
async fn self_signed_server() -> Option<(tokio::process::Child, u16, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("jt-sf-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output();
    if !matches!(made, Ok(ref o) if o.status.success()) {
        skip_without_openssl("to make a self-signed certificate");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    // Under CI a missing openssl fails the test; elsewhere it says so and skips.
    let Ok(child) = child else {
        skip_without_openssl("to run s_server");
        return None;
    };
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some((child, port, dir));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("openssl s_server did not start");
}

#[tokio::test]
async fn https_to_a_self_signed_local_server_is_refused() {
    let Some((_server, port, dir)) = self_signed_server().await else {
        return;
    };
    let mut config = support::config(
        &format!("https://127.0.0.1:{port}"),
        "U",
        SENTINEL,
        "W",
        "D",
    );
    config["connectTimeoutSeconds"] = 3.into();
    let c = support::typed(&config);
    let err = Session::open(&c, Credentials::of(&c)).await.unwrap_err();
    let msg = err.to_string();
    // TLS is on and the certificate is verified against the web PKI roots.
    assert!(msg.to_ascii_lowercase().contains("certificate"), "{msg}");
    assert!(!msg.contains(SENTINEL));
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.to_owned()))
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `cargo xtask test` installs openssl; under `CI=true` its absence is a failure.
fn skip_without_openssl(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("no openssl binary {what} (cargo xtask test installs it)");
    }
    eprintln!("SKIPPING: no openssl binary {what}");
}
