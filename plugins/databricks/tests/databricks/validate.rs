//! The three validation tests, each both ways: on minilake where it can
//! express the case, on `fake_databricks` (or a TLS or closed port of the
//! test's own) where it cannot. Messages are the contract's, written out
//! literally here; the cause of a failure is in the log.

use crate::fake_databricks::{
    self, FakeDatabricks, fake_html_endpoint, fake_workspace_without_metastore,
};
use crate::support::{self, capture_logs, minilake, minilake_config, test, unique, validate};
use junction_core::{Platform, TestStatus};
use junction_databricks::Databricks;
use junction_databricks::testing::{POLICIES_SCHEMA, SYSTEM_SCHEMA, USER_ATTRIBUTES, property};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use std::sync::Arc;

const CONNECT: &str = "Basic connection test";
const METASTORE: &str = "Metastore validation";
const MANUAL: &str = "Manual catalog setup";
const CONNECT_FAILED: &str =
    "Could not connect to host, please confirm you are using valid connection parameters.";
const NO_METASTORE: &str = "No metastore is assigned to workspace.";
const LOOKUP_FAILED: &str = "Encountered an error looking up catalog metadata for catalog.";

const PAT: &str = "dapi-fake-valid-token";
const SECRET: &str = "fake-client-secret";

#[test]
fn the_contract_strings_are_the_plugins() {
    use junction_databricks::testing as t;
    assert_eq!(t::CONNECT, CONNECT);
    assert_eq!(t::METASTORE, METASTORE);
    assert_eq!(t::MANUAL_CATALOG, MANUAL);
    assert_eq!(t::CONNECT_FAILED, CONNECT_FAILED);
    assert_eq!(t::NO_METASTORE, NO_METASTORE);
    assert_eq!(t::CATALOG_LOOKUP_FAILED, LOOKUP_FAILED);
}

#[tokio::test]
async fn minilake_token_connection_and_metastore_pass_and_manual_is_skipped_when_automatic() {
    let Some(ml) = minilake().await else { return };
    let r = validate(&minilake_config(&ml, &unique("v")), true).await;
    assert_eq!(test(&r, CONNECT).0, TestStatus::Passed, "{r:?}");
    assert_eq!(test(&r, METASTORE).0, TestStatus::Passed, "{r:?}");
    assert_eq!(test(&r, MANUAL).0, TestStatus::Skipped, "{r:?}");
    assert_eq!(r.status, TestStatus::Passed);
}

#[tokio::test]
async fn fake_oauth_connection_and_metastore_pass_with_one_token_for_the_run() {
    let fake = FakeDatabricks::start("sp-app-id", PAT, SECRET).await;
    let r = validate(&support::fake_oauth_config(&fake, SECRET, "c"), true).await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
    // The metastore test used the connection test's client and token.
    assert_eq!(fake.with(|s| s.issued()), 1);
    assert_eq!(fake.with(|s| s.requests.len()), 2);
}

#[tokio::test]
async fn fake_invalid_token_fails_the_connection_with_the_403_in_the_log() {
    let (logs, _guard) = capture_logs();
    let fake = FakeDatabricks::start("someone", PAT, SECRET).await;
    let r = validate(
        &support::fake_token_config(&fake, "dapi-revoked", "c"),
        true,
    )
    .await;
    assert_eq!(
        test(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.into()))
    );
    assert_eq!(test(&r, METASTORE).0, TestStatus::Skipped);
    let logs = logs.text();
    assert!(logs.contains("HTTP 403"), "{logs}");
    assert!(logs.contains("Invalid access token."), "{logs}");
    assert!(!logs.contains("dapi-revoked"), "{logs}");
}

#[tokio::test]
async fn fake_oauth_wrong_secret_fails_the_connection_with_invalid_client_in_the_log() {
    let (logs, _guard) = capture_logs();
    let fake = FakeDatabricks::start("sp", PAT, SECRET).await;
    let wrong = "wrong-client-secret-value";
    let r = validate(&support::fake_oauth_config(&fake, wrong, "c"), true).await;
    assert_eq!(
        test(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.into()))
    );
    let logs = logs.text();
    assert!(logs.contains("HTTP 401 invalid_client"), "{logs}");
    assert!(!logs.contains(wrong), "{logs}");
    // The token endpoint saw the client's id with the wrong secret.
    let basic = fake.with(|s| s.token_requests[0].basic.clone());
    assert_eq!(
        basic.as_deref(),
        Some(format!("{}:{wrong}", fake_databricks::CLIENT_ID).as_str())
    );
    assert_eq!(
        fake.with(|s| s.requests.len()),
        0,
        "no API call without a token"
    );
}

#[tokio::test]
async fn fake_html_endpoint_fails_the_connection_with_not_json_in_the_log() {
    let (logs, _guard) = capture_logs();
    let fake = fake_html_endpoint().await;
    let r = validate(&support::fake_token_config(&fake, PAT, "c"), true).await;
    assert_eq!(
        test(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.into()))
    );
    let logs = logs.text();
    assert!(logs.contains("text/html"), "{logs}");
    assert!(logs.contains("where JSON was expected"), "{logs}");
}

#[tokio::test]
async fn a_closed_port_fails_the_connection_with_the_transport_error_in_the_log() {
    let (logs, _guard) = capture_logs();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = json!({
        "workspaceUrl": "closed.cloud.databricks.com",
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationType": "token",
        "token": PAT,
        "catalog": "c",
        "endpoint": format!("http://127.0.0.1:{port}"),
    });
    let r = validate(&config, true).await;
    assert_eq!(
        test(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.into()))
    );
    assert!(
        logs.text().contains("could not reach the server"),
        "{}",
        logs.text()
    );
}

const FIXTURE: &[u8] = include_bytes!("fixtures/self-signed-127.0.0.1.pem");

#[tokio::test]
async fn a_self_signed_certificate_fails_the_connection_with_the_tls_error_in_the_log() {
    let (logs, _guard) = capture_logs();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(FIXTURE)
        .collect::<Result<_, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(FIXTURE).expect("key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&handshakes);
    // The client tries again (an idempotent GET): every attempt is accepted.
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let ok = acceptor.accept(stream).await.is_ok();
            seen.lock().unwrap().push(ok);
        }
    });
    let config = json!({
        "workspaceUrl": "tls.cloud.databricks.com",
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationType": "token",
        "token": PAT,
        "catalog": "c",
        "endpoint": format!("https://127.0.0.1:{port}"),
    });
    let r = validate(&config, true).await;
    assert_eq!(
        test(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.into()))
    );
    let text = logs.text();
    assert!(text.contains("invalid peer certificate"), "{text}");
    server.abort();
    let handshakes = handshakes.lock().unwrap().clone();
    assert!(
        !handshakes.is_empty() && handshakes.iter().all(|ok| !ok),
        "{handshakes:?}"
    );
}

#[tokio::test]
async fn fake_workspace_without_metastore_fails_metastore_validation() {
    let fake = fake_workspace_without_metastore(PAT).await;
    let r = validate(&support::fake_token_config(&fake, PAT, "c"), true).await;
    assert_eq!(test(&r, CONNECT).0, TestStatus::Passed, "{r:?}");
    assert_eq!(
        test(&r, METASTORE),
        (TestStatus::Failed, Some(NO_METASTORE.into()))
    );
    assert_eq!(r.status, TestStatus::Failed);
}

#[tokio::test]
async fn minilake_manual_catalog_setup_passes_once_the_catalog_is_set_up() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("manual_ok");
    let config = minilake_config(&ml, &catalog);
    // The operator's set-up, done here by Junction's own plan.
    Platform::create(
        &Databricks::new(),
        &support::op(true, 0),
        support::typed(&config),
    )
    .await
    .expect("set up");
    let r = validate(&config, false).await;
    ml.drop_catalog(&catalog).await;
    assert_eq!(test(&r, MANUAL).0, TestStatus::Passed, "{r:?}");
    assert_eq!(r.status, TestStatus::Passed);
}

#[tokio::test]
async fn minilake_manual_catalog_setup_fails_without_the_catalog() {
    let (logs, _guard) = capture_logs();
    let Some(ml) = minilake().await else { return };
    let catalog = unique("manual_none");
    let r = validate(&minilake_config(&ml, &catalog), false).await;
    assert_eq!(
        test(&r, MANUAL),
        (TestStatus::Failed, Some(LOOKUP_FAILED.into()))
    );
    let text = logs.text();
    assert!(
        text.contains(&format!("the catalog {catalog} does not exist")),
        "{text}"
    );
}

#[tokio::test]
async fn minilake_manual_catalog_setup_fails_when_a_table_is_missing() {
    let (logs, _guard) = capture_logs();
    let Some(ml) = minilake().await else { return };
    let catalog = unique("manual_table");
    let config = minilake_config(&ml, &catalog);
    let typed = support::typed(&config);
    Platform::create(&Databricks::new(), &support::op(true, 0), typed.clone())
        .await
        .expect("set up");
    let ws = junction_databricks::testing::Workspace::new(&typed).unwrap();
    ws.execute(&format!(
        "DROP TABLE `{catalog}`.`{SYSTEM_SCHEMA}`.`{USER_ATTRIBUTES}`"
    ))
    .await
    .expect("dropped");
    let r = validate(&config, false).await;
    ml.drop_catalog(&catalog).await;
    assert_eq!(
        test(&r, MANUAL),
        (TestStatus::Failed, Some(LOOKUP_FAILED.into()))
    );
    let text = logs.text();
    assert!(
        text.contains(&format!(
            "the table {catalog}.{SYSTEM_SCHEMA}.{USER_ATTRIBUTES} does not exist"
        )),
        "{text}"
    );
}

/// A manual set-up of version 2 in the fake, owned by someone else.
pub(crate) fn seed_manual(fake: &FakeDatabricks, catalog: &str) {
    fake.with(|s| {
        s.objects.insert(format!("catalog:{catalog}"));
        s.owners.insert(catalog.to_owned(), "admins".to_owned());
        for schema in [SYSTEM_SCHEMA, POLICIES_SCHEMA] {
            s.objects.insert(format!("schema:{catalog}.{schema}"));
        }
        s.objects
            .insert(format!("table:{catalog}.{SYSTEM_SCHEMA}.{USER_ATTRIBUTES}"));
        s.schema_properties.insert(
            format!("{catalog}.{SYSTEM_SCHEMA}"),
            [(property::VERSION.to_owned(), "2".to_owned())].into(),
        );
    });
}

#[tokio::test]
async fn fake_principal_missing_manage_fails_manual_catalog_setup() {
    let (logs, _guard) = capture_logs();
    let fake = FakeDatabricks::start("etl@example.com", PAT, SECRET).await;
    seed_manual(&fake, "jc");
    fake.with(|s| {
        s.grant(
            "CATALOG",
            "jc",
            "etl@example.com",
            &["USE_CATALOG", "USE_SCHEMA", "MODIFY", "SELECT"],
        );
        // Someone else's MANAGE is not the principal's.
        s.grant("CATALOG", "jc", "admins", &["MANAGE"]);
    });
    let r = validate(&support::fake_token_config(&fake, PAT, "jc"), false).await;
    assert_eq!(
        test(&r, MANUAL),
        (TestStatus::Failed, Some(LOOKUP_FAILED.into()))
    );
    let text = logs.text();
    assert!(
        text.contains("the principal etl@example.com lacks MANAGE on catalog jc"),
        "{text}"
    );
}

#[tokio::test]
async fn fake_principal_with_the_privileges_passes_manual_catalog_setup() {
    let fake = FakeDatabricks::start("etl@example.com", PAT, SECRET).await;
    seed_manual(&fake, "jc");
    fake.with(|s| {
        s.grant(
            "CATALOG",
            "jc",
            "etl@example.com",
            &["USE_CATALOG", "MANAGE"],
        );
        // Inherited from the metastore.
        s.grant(
            "METASTORE",
            "metastore",
            "etl@example.com",
            &["USE_SCHEMA", "MODIFY", "SELECT"],
        );
    });
    // The first page is empty and names a next one.
    fake.with(|s| s.empty_first_page = true);
    let r = validate(&support::fake_token_config(&fake, PAT, "jc"), false).await;
    assert_eq!(test(&r, MANUAL).0, TestStatus::Passed, "{r:?}");
    let pages = fake.with(|s| {
        s.requests
            .iter()
            .filter(|r| r.path == "/api/2.1/unity-catalog/effective-permissions/catalog/jc")
            .count()
    });
    assert_eq!(pages, 2, "both pages of effective-permissions were read");
}

#[tokio::test]
async fn fake_manual_set_up_without_a_recorded_version_fails() {
    let (logs, _guard) = capture_logs();
    let fake = FakeDatabricks::start("admins", PAT, SECRET).await;
    seed_manual(&fake, "jc");
    fake.with(|s| s.schema_properties.clear());
    let r = validate(&support::fake_token_config(&fake, PAT, "jc"), false).await;
    assert_eq!(
        test(&r, MANUAL),
        (TestStatus::Failed, Some(LOOKUP_FAILED.into()))
    );
    assert!(
        logs.text().contains("records no set-up version"),
        "{}",
        logs.text()
    );
}
