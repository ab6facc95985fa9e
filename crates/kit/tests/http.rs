//! The JSON-over-HTTPS helper against a local HTTP server (plain HTTP on
//! 127.0.0.1: what is under test is retries, errors and tokens, not TLS).
#![cfg(feature = "http")]
#![allow(clippy::expect_used)]

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use junction_core::Secret;
use junction_kit::http::{Auth, HttpError, HttpOptions, JsonClient, Request, Token, TokenSource};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn options() -> HttpOptions {
    HttpOptions {
        backoff: Duration::from_millis(1),
        ..HttpOptions::default()
    }
}

/// Answers 503 with `Retry-After: 0` until the third call.
fn flaky(
    count: Arc<AtomicU32>,
) -> impl Fn() -> std::future::Ready<axum::response::Response> + Clone {
    move || {
        let n = count.fetch_add(1, Ordering::SeqCst);
        let r = if n < 2 {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "0")],
                r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"try again"}"#,
            )
                .into_response()
        } else {
            (StatusCode::OK, r#"{"ok":true}"#).into_response()
        };
        std::future::ready(r)
    }
}

#[tokio::test]
async fn an_idempotent_call_is_retried_and_a_post_is_not() {
    let gets = Arc::new(AtomicU32::new(0));
    let posts = Arc::new(AtomicU32::new(0));
    let base = serve(
        Router::new()
            .route("/g", get(flaky(gets.clone())))
            .route("/p", post(flaky(posts.clone()))),
    )
    .await;
    let client = JsonClient::new(&base, options(), Auth::None).expect("client");
    let v: serde_json::Value = client.get("/g").await.expect("third attempt answers");
    assert_eq!(v["ok"], true);
    assert_eq!(gets.load(Ordering::SeqCst), 3);

    let e = client
        .send(&Request::post("/p").json(serde_json::json!({})))
        .await
        .expect_err("a POST is not retried");
    assert_eq!(posts.load(Ordering::SeqCst), 1);
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.code(), Some("TEMPORARILY_UNAVAILABLE"));

    // Marked idempotent, the same POST is.
    posts.store(0, Ordering::SeqCst);
    client
        .send(&Request::post("/p").json(serde_json::json!({})).idempotent())
        .await
        .expect("retried");
    assert_eq!(posts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit() {
    let n = Arc::new(AtomicU32::new(0));
    let count = n.clone();
    let base = serve(Router::new().route(
        "/down",
        get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            std::future::ready((StatusCode::BAD_GATEWAY, "{}"))
        }),
    ))
    .await;
    let client = JsonClient::new(&base, options(), Auth::None).expect("client");
    let e = client
        .get::<serde_json::Value>("/down")
        .await
        .expect_err("502 every time");
    assert_eq!(e.status(), Some(502));
    assert_eq!(n.load(Ordering::SeqCst), 1 + options().retries);
}

#[tokio::test]
async fn an_html_page_is_not_json_and_says_so() {
    let base = serve(Router::new().route(
        "/api/2.0/preview/scim/v2/Me",
        get(|| async {
            (
                StatusCode::OK,
                [("content-type", "text/html; charset=utf-8")],
                "<!DOCTYPE html><html><body>Sign in to continue</body></html>",
            )
        }),
    ))
    .await;
    let client = JsonClient::new(&base, options(), Auth::None).expect("client");
    let e = client
        .get::<serde_json::Value>("/api/2.0/preview/scim/v2/Me")
        .await
        .expect_err("HTML");
    match &e {
        HttpError::NotJson {
            status,
            content_type,
            excerpt,
            ..
        } => {
            assert_eq!(*status, 200);
            assert!(content_type.starts_with("text/html"));
            assert!(excerpt.contains("Sign in"));
        }
        other => panic!("expected NotJson, got {other:?}"),
    }
    assert!(e.to_string().contains("where JSON was expected"), "{e}");
}

struct Counting {
    fetched: AtomicU32,
    life: Duration,
}

#[async_trait::async_trait]
impl TokenSource for Counting {
    async fn fetch(&self, _http: &JsonClient) -> Result<Token, HttpError> {
        let n = self.fetched.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Token {
            value: Secret::new(format!("token-{n}")),
            expires_in: Some(self.life),
        })
    }
}

/// 401 unless the bearer token is `token-2` or later.
async fn guarded(headers: HeaderMap) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth == "Bearer token-1" || auth.is_empty() {
        (
            StatusCode::UNAUTHORIZED,
            r#"{"error_code":"UNAUTHENTICATED","message":"expired"}"#,
        )
            .into_response()
    } else {
        (StatusCode::OK, format!(r#"{{"auth":"{auth}"}}"#)).into_response()
    }
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_a_live_one_is_cached() {
    let base = serve(Router::new().route("/me", get(guarded))).await;
    let source = Arc::new(Counting {
        fetched: AtomicU32::new(0),
        life: Duration::from_secs(3600),
    });
    let client = JsonClient::new(&base, options(), Auth::Source(source.clone())).expect("client");
    let v: serde_json::Value = client.get("/me").await.expect("after one refresh");
    assert_eq!(v["auth"], "Bearer token-2");
    assert_eq!(source.fetched.load(Ordering::SeqCst), 2);
    for _ in 0..3 {
        let _: serde_json::Value = client.get("/me").await.expect("cached");
    }
    assert_eq!(
        source.fetched.load(Ordering::SeqCst),
        2,
        "a live token is reused"
    );
}

#[tokio::test]
async fn a_token_about_to_expire_is_fetched_again() {
    let base = serve(Router::new().route("/me", get(guarded))).await;
    let source = Arc::new(Counting {
        fetched: AtomicU32::new(1),
        // Shorter than twice the margin: replaced at half its life, so at once here.
        life: Duration::from_secs(0),
    });
    let client = JsonClient::new(&base, options(), Auth::Source(source.clone())).expect("client");
    for _ in 0..3 {
        let _: serde_json::Value = client.get("/me").await.expect("fresh token each time");
    }
    assert_eq!(source.fetched.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_token_that_is_refused_twice_is_an_error_not_a_loop() {
    let base = serve(Router::new().route(
        "/me",
        get(|| async { (StatusCode::UNAUTHORIZED, r#"{"message":"no"}"#) }),
    ))
    .await;
    let source = Arc::new(Counting {
        fetched: AtomicU32::new(0),
        life: Duration::from_secs(3600),
    });
    let client = JsonClient::new(&base, options(), Auth::Source(source.clone())).expect("client");
    let e = client
        .get::<serde_json::Value>("/me")
        .await
        .expect_err("401");
    assert_eq!(e.status(), Some(401));
    assert_eq!(source.fetched.load(Ordering::SeqCst), 2);
}

#[test]
fn an_extra_root_that_is_not_pem_is_refused() {
    let options = HttpOptions {
        extra_root_pem: Some(b"not a certificate".to_vec()),
        ..HttpOptions::default()
    };
    let e = JsonClient::new("https://127.0.0.1:1", options, Auth::None).expect_err("refused");
    assert!(matches!(e, HttpError::Setup(_)), "{e:?}");
}

/// A source that asks a token endpoint through the client it is handed, as
/// OAuth sources do.
struct ViaEndpoint {
    url: String,
    fetched: AtomicU32,
}

#[async_trait::async_trait]
impl TokenSource for ViaEndpoint {
    async fn fetch(&self, http: &JsonClient) -> Result<Token, HttpError> {
        self.fetched.fetch_add(1, Ordering::SeqCst);
        let answer = http
            .send(&Request::token_endpoint(&self.url).form(vec![(
                "grant_type".into(),
                Secret::new("client_credentials".into()),
            )]))
            .await?;
        let token = answer.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(Token {
            value: Secret::new(token),
            expires_in: Some(Duration::from_secs(3600)),
        })
    }
}

#[tokio::test]
async fn a_source_may_fetch_through_the_client_it_is_handed() {
    let base = serve(
        Router::new()
            .route(
                "/oidc/v1/token",
                post(|headers: HeaderMap| async move {
                    // The token request itself carries no bearer token.
                    assert!(headers.get("authorization").is_none());
                    r#"{"access_token":"token-2","expires_in":3600}"#
                }),
            )
            .route("/me", get(guarded)),
    )
    .await;
    let source = Arc::new(ViaEndpoint {
        url: format!("{base}/oidc/v1/token"),
        fetched: AtomicU32::new(0),
    });
    let client = JsonClient::new(&base, options(), Auth::Source(source.clone())).expect("client");
    let v: serde_json::Value = tokio::time::timeout(Duration::from_secs(30), client.get("/me"))
        .await
        .expect("no deadlock: the token request does not wait on the token cache")
        .expect("answer");
    assert_eq!(v["auth"], "Bearer token-2");
    assert_eq!(source.fetched.load(Ordering::SeqCst), 1);
}
