//! A sentinel token and client secret (and access tokens the fake issues
//! with the sentinel in them) never in a result, an error, a log line (the
//! HTTP stack's included, at every level) or a `Debug`. The store's bytes
//! are checked through the binary (`api.rs`).

use crate::fake_databricks::{CLIENT_ID, FakeDatabricks};
use crate::support::{self, capture_all_logs, minilake, minilake_config, op, unique, validate};
use junction_core::{Platform, TestStatus};
use junction_databricks::Databricks;
use junction_testkit::SENTINEL;
use serde_json::json;

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SENTINEL), "{what} shows a secret: {text}");
}

#[tokio::test]
async fn minilake_sentinel_token_never_shows_in_results_errors_or_logs() {
    let (logs, _guard) = capture_all_logs();
    let Some(ml) = minilake().await else { return };
    let catalog = unique("secret");
    let mut config = minilake_config(&ml, &catalog);
    config["token"] = json!(SENTINEL);
    let r = validate(&config, true).await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
    assert_clean("results", &serde_json::to_string(&r).unwrap());

    let platform = Databricks::new();
    let out = Platform::create(&platform, &op(true, 0), support::typed(&config))
        .await
        .expect("create");
    assert_clean("the stored config's Debug", &format!("{:?}", out.config));
    // A failing create (the catalog exists now): its error.
    let e = Platform::create(&platform, &op(true, 0), support::typed(&config))
        .await
        .expect_err("exists");
    assert_clean("an error", &e.to_string());
    assert_clean("an error's Debug", &format!("{e:?}"));
    let mut edited = out.config.clone();
    edited.audit.enabled = true;
    let out = Platform::edit(&platform, &op(true, 2), out.config, edited)
        .await
        .expect("edit");
    Platform::delete(&platform, &op(true, 2), out.config, None)
        .await
        .expect("delete");
    let text = logs.text();
    // The plan's steps and the HTTP stack's own lines were captured.
    assert!(text.contains("applying step"), "{text}");
    assert!(text.contains("connecting to 127.0.0.1"), "{text}");
    assert_clean("the logs", &text);
}

#[tokio::test]
async fn fake_sentinel_client_secret_and_access_tokens_never_show() {
    let (logs, _guard) = capture_all_logs();
    let fake = FakeDatabricks::start("sp", "unused", SENTINEL).await;
    fake.with(|s| s.token_prefix = format!("{SENTINEL}-access"));
    let config = support::fake_oauth_config(&fake, SENTINEL, "c");
    let r = validate(&config, true).await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
    assert_clean("results", &serde_json::to_string(&r).unwrap());
    assert!(
        fake.with(|s| s.bearers())
            .iter()
            .all(|b| b.starts_with(SENTINEL)),
        "the sentinel tokens were used"
    );

    // Refused secret, then a workspace that refuses the token it was given.
    let mut wrong = config.clone();
    wrong["oAuthClientConfig"]["clientSecret"] = json!(format!("{SENTINEL}-wrong"));
    let r = validate(&wrong, true).await;
    assert_eq!(r.status, TestStatus::Failed);
    assert_clean("results", &serde_json::to_string(&r).unwrap());
    fake.with(|s| s.expire_tokens());
    let ws = junction_databricks::testing::Workspace::new(&support::typed(&config)).unwrap();
    fake.with(|s| s.client.1 = "rotated".into());
    let e = ws.me().await.expect_err("refused");
    assert_clean("an error", &format!("{e} {e:?}"));
    assert_clean("a client's Debug", &format!("{ws:?}"));
    assert_clean("the logs", &logs.text());
    // It really was the sentinel that went over the wire, as HTTP Basic.
    let basic = fake.with(|s| s.token_requests[0].basic.clone()).unwrap();
    assert_eq!(basic, format!("{CLIENT_ID}:{SENTINEL}"));
}
