//! The token exchange: the fake token endpoint checks the plugin's JWTs as
//! Google does (and refuses a wrong key, a wrong audience, an expired JWT);
//! the plugin's client caches the token and fetches a new one once after a 401.

use crate::fake_google::FakeGoogle;
use crate::keys::{self, PROJECT};
use crate::support::{self, ALL_HELD, config_for, fake, http, typed};
use junction_bigquery::testing::client::Google;
use junction_bigquery::testing::jwt;
use serde_json::Value;

/// Posts `assertion` to the fake's token endpoint as the plugin does.
async fn exchange(token_uri: &str, assertion: &str) -> (u16, Value) {
    let body = format!(
        "grant_type={}&assertion={assertion}",
        support::form_encode(jwt::GRANT_TYPE)
    );
    let (status, text) = http(
        "POST",
        token_uri,
        &[("content-type", "application/x-www-form-urlencoded")],
        body.into_bytes(),
    )
    .await;
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn the_fake_issues_a_token_for_a_jwt_signed_with_the_accounts_key() {
    let f = fake(None, 0, &[]).await;
    let c = typed(&config_for(&f, 0, "meta"));
    let a = jwt::assertion(&c.credential, &f.token_uri(), jwt::now()).unwrap();
    let (status, body) = exchange(&f.token_uri(), a.expose()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    let ex = f.exchanges();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].refused, None);
    assert_eq!(ex[0].header["kid"], "test-key-0");
}

#[tokio::test]
async fn the_fake_refuses_a_jwt_signed_with_another_key() {
    // The account's key is key 1; the key file holds key 0.
    let f = fake(None, 1, &[]).await;
    let c = typed(&config_for(&f, 0, "meta"));
    let a = jwt::assertion(&c.credential, &f.token_uri(), jwt::now()).unwrap();
    let (status, body) = exchange(&f.token_uri(), a.expose()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid JWT Signature.");
}

#[tokio::test]
async fn the_fake_refuses_a_wrong_audience() {
    let f = fake(None, 0, &[]).await;
    let c = typed(&config_for(&f, 0, "meta"));
    let a = jwt::assertion(
        &c.credential,
        "https://oauth2.googleapis.com/token",
        jwt::now(),
    )
    .unwrap();
    let (status, body) = exchange(&f.token_uri(), a.expose()).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Failed audience check"),
        "{body}"
    );
}

#[tokio::test]
async fn the_fake_refuses_an_expired_jwt() {
    let f = fake(None, 0, &[]).await;
    let c = typed(&config_for(&f, 0, "meta"));
    // Issued two hours ago: expired an hour ago.
    let a = jwt::assertion(&c.credential, &f.token_uri(), jwt::now() - 7200).unwrap();
    let (status, body) = exchange(&f.token_uri(), a.expose()).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("short-lived token"),
        "{body}"
    );
}

#[tokio::test]
async fn the_fake_refuses_an_unknown_account_and_a_wrong_grant_type() {
    let f = FakeGoogle::start(None).await;
    let c = typed(&config_for(&f, 0, "meta"));
    let a = jwt::assertion(&c.credential, &f.token_uri(), jwt::now()).unwrap();
    let (status, body) = exchange(&f.token_uri(), a.expose()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "Invalid grant: account not found"
    );
    let (status, text) = http(
        "POST",
        &f.token_uri(),
        &[("content-type", "application/x-www-form-urlencoded")],
        b"grant_type=client_credentials".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("unsupported_grant_type"), "{text}");
}

#[tokio::test]
async fn test_iam_permissions_answers_the_subset_held_to_a_valid_token_only() {
    let f = fake(
        None,
        0,
        &["bigquery.tables.get", "bigquery.datasets.create"],
    )
    .await;
    let c = typed(&config_for(&f, 0, "meta"));
    let google = Google::new(&c).unwrap();
    let mut held = google.held_permissions(&ALL_HELD).await.unwrap();
    held.sort();
    assert_eq!(held, ["bigquery.datasets.create", "bigquery.tables.get"]);
    assert_eq!(f.permission_calls(), [ALL_HELD.map(str::to_owned).to_vec()]);
    // None held: Google leaves the key out.
    let none = fake(None, 0, &[]).await;
    let google = Google::new(&typed(&config_for(&none, 0, "meta"))).unwrap();
    assert!(google.held_permissions(&ALL_HELD).await.unwrap().is_empty());
    // Without a token.
    let (status, text) = http(
        "POST",
        &format!("{}/v1/projects/{PROJECT}:testIamPermissions", f.url),
        &[("content-type", "application/json")],
        br#"{"permissions":["bigquery.tables.get"]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("UNAUTHENTICATED"));
}

#[tokio::test]
async fn one_token_serves_many_calls_and_a_refused_one_is_replaced_once() {
    let f = fake(None, 0, &ALL_HELD).await;
    let google = Google::new(&typed(&config_for(&f, 0, "meta"))).unwrap();
    for _ in 0..3 {
        google.held_permissions(&ALL_HELD).await.unwrap();
        google.lookup_dataset("meta").await.unwrap();
    }
    assert_eq!(f.issued(), 1, "cached");
    // The fake forgets its tokens: the next call gets a 401, the client a new token.
    f.revoke_tokens();
    google.held_permissions(&ALL_HELD).await.unwrap();
    assert_eq!(f.issued(), 2);
    // The fake records authenticated calls only: the refused one is not among them.
    assert_eq!(f.permission_calls().len(), 4);
}

#[tokio::test]
async fn an_expired_token_is_never_reused() {
    let f = fake(None, 0, &ALL_HELD).await;
    // Lives 0 s: the cache must not hand it out again.
    f.set_expires_in(0);
    let google = Google::new(&typed(&config_for(&f, 0, "meta"))).unwrap();
    google.lookup_dataset("meta").await.unwrap_err();
    // Refused with the expired token, retried once with a fresh one, also
    // expired at once: the call fails.
    let before = f.issued();
    assert!(before >= 2, "{before}");
    f.set_expires_in(3600);
    google.lookup_dataset("meta").await.unwrap();
    assert_eq!(
        f.issued(),
        before + 1,
        "the expired one was not handed out again"
    );
    google.lookup_dataset("meta").await.unwrap();
    assert_eq!(f.issued(), before + 1, "the live one is");
}

#[tokio::test]
async fn a_refused_token_names_the_cause_and_no_secret() {
    let f = fake(None, 1, &ALL_HELD).await;
    let google = Google::new(&typed(&config_for(&f, 0, "meta"))).unwrap();
    let err = google.lookup_dataset("meta").await.unwrap_err().to_string();
    assert!(err.contains("Invalid JWT Signature."), "{err}");
    assert!(err.contains("/token"), "{err}");
    for line in keys::key_material(0) {
        assert!(!err.contains(&line), "{err}");
    }
    assert!(!err.contains("eyJ"), "no JWT in {err}");
}
