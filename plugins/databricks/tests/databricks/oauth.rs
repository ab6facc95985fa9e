//! OAuth M2M against `fake_databricks`'s token endpoint (minilake has none):
//! what the token request carries, a live token reused, a token that expires
//! fetched again before it is used, and a token the workspace refuses (401)
//! replaced once. Plus OAuth end to end against minilake, with the fake as
//! the `authorityUrl`.

use crate::fake_databricks::{CLIENT_ID, FakeDatabricks};
use crate::support::{self, minilake, minilake_config, unique};
use junction_core::Platform;
use junction_databricks::Databricks;
use junction_databricks::testing::{ClientError, Workspace};
use serde_json::json;
use std::time::Duration;

const SECRET: &str = "oauth-test-client-secret";

fn workspace(fake: &FakeDatabricks) -> Workspace {
    Workspace::new(&support::typed(&support::fake_oauth_config(
        fake, SECRET, "c",
    )))
    .expect("client")
}

#[tokio::test]
async fn fake_token_request_is_basic_auth_client_credentials_with_the_scope() {
    let fake = FakeDatabricks::start("sp", "unused", SECRET).await;
    let me = workspace(&fake).me().await.expect("me");
    assert_eq!(me.user_name, "sp");
    let r = fake.with(|s| s.token_requests.clone());
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].basic.as_deref(),
        Some(format!("{CLIENT_ID}:{SECRET}").as_str())
    );
    assert_eq!(r[0].grant_type.as_deref(), Some("client_credentials"));
    assert_eq!(r[0].scope.as_deref(), Some("all-apis"));
    assert!(r[0].granted);
    assert_eq!(fake.with(|s| s.bearers()), ["fake-access-token-1"]);
}

#[tokio::test]
async fn fake_a_live_token_is_reused() {
    let fake = FakeDatabricks::start("sp", "unused", SECRET).await;
    let ws = workspace(&fake);
    for _ in 0..3 {
        ws.me().await.expect("me");
    }
    assert_eq!(fake.with(|s| s.issued()), 1);
    assert_eq!(fake.with(|s| s.bearers()), ["fake-access-token-1"; 3]);
}

#[tokio::test]
async fn fake_a_token_that_expires_is_fetched_again_before_it_is_used() {
    let fake = FakeDatabricks::start("sp", "unused", SECRET).await;
    // expires_in 0: expired as soon as it is issued.
    fake.with(|s| s.token_lifetime = Duration::ZERO);
    let ws = workspace(&fake);
    for _ in 0..3 {
        ws.me().await.expect("me");
    }
    assert_eq!(fake.with(|s| s.issued()), 3);
    assert_eq!(
        fake.with(|s| s.bearers()),
        [
            "fake-access-token-1",
            "fake-access-token-2",
            "fake-access-token-3"
        ]
    );
    // Refreshed by the client on expiry: the workspace never had to refuse one.
    assert!(fake.with(|s| s.requests.iter().all(|r| r.status == 200)));
}

#[tokio::test]
async fn fake_a_token_refused_with_401_is_replaced_once() {
    let fake = FakeDatabricks::start("sp", "unused", SECRET).await;
    let ws = workspace(&fake);
    ws.me().await.expect("first");
    // The workspace revokes it (as it does a token past its expiry).
    fake.with(|s| s.expire_tokens());
    ws.me().await.expect("after one refresh");
    let statuses: Vec<u16> = fake.with(|s| s.requests.iter().map(|r| r.status).collect());
    assert_eq!(statuses, [200, 401, 200]);
    assert_eq!(
        fake.with(|s| s.bearers()),
        [
            "fake-access-token-1",
            "fake-access-token-1",
            "fake-access-token-2"
        ]
    );
    // Refused again: an error, not a loop.
    fake.with(|s| {
        s.expire_tokens();
        s.client.1 = "rotated".into();
    });
    let e = ws.me().await.expect_err("no token");
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert_eq!(fake.with(|s| s.token_requests.len()), 3);
}

#[tokio::test]
async fn fake_a_wrong_scope_or_grant_is_refused_by_the_endpoint() {
    let fake = FakeDatabricks::start("sp", "unused", SECRET).await;
    fake.with(|s| s.scope = "sql".into());
    let e = workspace(&fake).me().await.expect_err("scope");
    let text = e.to_string();
    assert!(text.contains("HTTP 400 invalid_scope"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(matches!(e, ClientError::Http(_)));
}

#[tokio::test]
async fn minilake_create_and_delete_with_oauth_tokens_from_the_fake_endpoint() {
    let Some(ml) = minilake().await else { return };
    let fake = FakeDatabricks::start("sp", "unused", SECRET).await;
    let catalog = unique("oauth");
    let mut config = minilake_config(&ml, &catalog);
    config["authenticationType"] = json!("oAuthM2M");
    config.as_object_mut().map(|o| o.remove("token"));
    config["oAuthClientConfig"] = json!({
        "clientId": CLIENT_ID,
        "clientSecret": SECRET,
        "authorityUrl": format!("{}/oidc/v1/token", fake.endpoint),
    });
    let platform = Databricks::new();
    let out = Platform::create(&platform, &support::op(true, 0), support::typed(&config))
        .await
        .expect("create");
    assert!(ml.snapshot(&catalog).await["catalog"].is_object());
    Platform::delete(
        &platform,
        &support::op(true, out.bootstrap_version),
        out.config,
        None,
    )
    .await
    .expect("delete");
    assert!(ml.snapshot(&catalog).await["catalog"].is_null());
    // One token per operation (its session), none for the workspace's 401s.
    assert_eq!(fake.with(|s| s.issued()), 2);
}
