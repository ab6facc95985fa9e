//! A fake of the Google endpoints bqemulator lacks, following their published
//! protocols:
//! - the OAuth 2.0 token endpoint of the service-account flow (`POST /token`,
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`):
//!   it verifies the JWT's RS256 signature with the public half of the key it
//!   was told about for the issuer, and its claims (`aud` is this endpoint,
//!   `exp` after now and at most an hour after `iat`, a BigQuery scope), and
//!   answers `{"access_token","expires_in","token_type":"Bearer"}` or Google's
//!   `{"error":"invalid_grant","error_description":…}`;
//! - Resource Manager's `POST /v1/projects/{project}:testIamPermissions`
//!   `{"permissions":[…]}`, answering the subset the caller's account holds
//!   (the key omitted when none is held, as Google does);
//! - BigQuery under `/bigquery/v2/`: every call must carry a token this fake
//!   issued and that has not expired (else 401 `UNAUTHENTICATED`), and is then
//!   forwarded to bqemulator — which checks no auth itself — or, without an
//!   upstream, answered 404 as by an empty project.

#![allow(dead_code)]

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A service account the fake knows.
#[derive(Debug, Clone)]
struct Account {
    /// PKCS#1 `RSAPublicKey` DER of the key the account's JWTs must be signed with.
    public: Vec<u8>,
    /// Project permissions its role grants.
    held: BTreeSet<String>,
}

/// A JWT the token endpoint received, and what it said.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The JWT as received: what no output may hold.
    pub jwt: String,
    pub header: Value,
    pub claims: Value,
    /// `None`: a token was issued; else the `error_description`.
    pub refused: Option<String>,
}

#[derive(Default)]
struct Inner {
    accounts: HashMap<String, Account>,
    /// Issued token → (account, expiry).
    tokens: HashMap<String, (String, Instant)>,
    expires_in: u64,
    issued: u64,
    exchanges: Vec<Exchange>,
    permission_calls: Vec<Vec<String>>,
    bigquery_calls: Vec<String>,
    /// Every token endpoint answer refused (`invalid_grant`), whatever the JWT.
    refuse_all: bool,
    /// The audience a JWT must name: this endpoint's URL (or a proxy's before it).
    audience: String,
    /// Resource Manager answers this status (an outage) instead.
    permissions_status: Option<u16>,
    /// Without an upstream: the datasets that exist.
    datasets: BTreeSet<String>,
    /// BigQuery refuses every call with 403 `accessDenied`, as to an account
    /// without `bigquery.datasets.get` ("or it may not exist").
    deny_bigquery: bool,
}

#[derive(Clone)]
struct App {
    state: Arc<Mutex<Inner>>,
    upstream: Option<String>,
}

/// The running server. Dropping it stops it.
pub struct FakeGoogle {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGoogle {
    /// Forwards BigQuery calls to `upstream` (bqemulator) when given.
    pub async fn start(upstream: Option<&str>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let state = Arc::new(Mutex::new(Inner {
            expires_in: 3600,
            audience: format!("{url}/token"),
            ..Inner::default()
        }));
        let app = App {
            state: Arc::clone(&state),
            upstream: upstream.map(|u| u.trim_end_matches('/').to_owned()),
        };
        let router = axum::Router::new().fallback(handle).with_state(app);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeGoogle { url, state, task }
    }

    /// The token endpoint: the key files' `token_uri`, and the JWT's audience.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url)
    }

    /// Knows `email`, whose JWTs `public` verifies, holding `held` on the project.
    pub fn add_account(&self, email: &str, public: &[u8], held: &[&str]) {
        self.state.lock().unwrap().accounts.insert(
            email.to_owned(),
            Account {
                public: public.to_vec(),
                held: held.iter().map(|p| (*p).to_owned()).collect(),
            },
        );
    }

    /// Adds `permission` to what `email`'s role grants on the project, as
    /// Google does once the custom role is updated with it.
    pub fn add_permission(&self, email: &str, permission: &str) {
        let mut state = self.state.lock().unwrap();
        let account = state.accounts.get_mut(email).expect("a known account");
        account.held.insert(permission.to_owned());
    }

    /// JWTs must name `url` as their audience: the token URL a client uses
    /// when a proxy stands before this fake.
    pub fn set_audience(&self, url: &str) {
        self.state.lock().unwrap().audience = url.to_owned();
    }

    /// Tokens issued from now on live this long.
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.lock().unwrap().expires_in = seconds;
    }

    /// Every token issued so far stops working (as on a key's revocation).
    pub fn revoke_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    pub fn refuse_all_tokens(&self) {
        self.state.lock().unwrap().refuse_all = true;
    }

    pub fn fail_permissions_with(&self, status: u16) {
        self.state.lock().unwrap().permissions_status = Some(status);
    }

    /// Without an upstream: `datasets.get` of `id` finds it.
    pub fn add_dataset(&self, id: &str) {
        self.state.lock().unwrap().datasets.insert(id.to_owned());
    }

    pub fn deny_bigquery(&self) {
        self.state.lock().unwrap().deny_bigquery = true;
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().unwrap().exchanges.clone()
    }

    /// How many tokens were issued.
    pub fn issued(&self) -> u64 {
        self.state.lock().unwrap().issued
    }

    /// Every access token issued: what no output may hold.
    pub fn issued_tokens(&self) -> Vec<String> {
        let n = self.issued();
        (1..=n).map(token_value).collect()
    }

    /// The permission lists of every `testIamPermissions` call.
    pub fn permission_calls(&self) -> Vec<Vec<String>> {
        self.state.lock().unwrap().permission_calls.clone()
    }

    /// `METHOD path` of every authenticated BigQuery call.
    pub fn bigquery_calls(&self) -> Vec<String> {
        self.state.lock().unwrap().bigquery_calls.clone()
    }
}

fn token_value(n: u64) -> String {
    format!("ya29.fake-access-token-{n:04}-0f3c1b")
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from(body.to_string()))
        .expect("response")
}

fn google_error(status: u16, code: &str, reason: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": status, "message": message, "status": code,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

async fn handle(State(app): State<App>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = req.headers().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return google_error(400, "INVALID_ARGUMENT", "invalid", "unreadable body"),
    };
    if method == Method::POST && path == "/token" {
        return token(&app, &headers, &body);
    }
    if method == Method::POST
        && path.starts_with("/v1/projects/")
        && path.ends_with(":testIamPermissions")
    {
        return test_iam_permissions(&app, &headers, &body);
    }
    if path.starts_with("/bigquery/v2/") {
        let Some(_account) = authenticated(&app, &headers) else {
            return unauthenticated();
        };
        app.state
            .lock()
            .unwrap()
            .bigquery_calls
            .push(format!("{method} {path}"));
        let (deny, found) = {
            let state = app.state.lock().unwrap();
            let dataset = path.rsplit_once("/datasets/").map(|(_, d)| d.to_owned());
            (
                state.deny_bigquery,
                dataset.filter(|d| method == Method::GET && state.datasets.contains(d)),
            )
        };
        if deny {
            let what = path.rsplit('/').next().unwrap_or_default();
            return google_error(
                403,
                "PERMISSION_DENIED",
                "accessDenied",
                &format!(
                    "Access Denied: Dataset {what}: Permission bigquery.datasets.get denied on dataset {what} (or it may not exist)."
                ),
            );
        }
        return match (&app.upstream, found) {
            (Some(up), _) => forward(up, &method, &path, query.as_deref(), &headers, body).await,
            (None, Some(d)) => json_response(
                200,
                &json!({"kind": "bigquery#dataset", "datasetReference": {"datasetId": d}, "location": "US"}),
            ),
            (None, None) => {
                google_error(404, "NOT_FOUND", "notFound", &format!("Not found: {path}"))
            }
        };
    }
    google_error(
        404,
        "NOT_FOUND",
        "notFound",
        "no such endpoint in this fake",
    )
}

fn unauthenticated() -> Response {
    google_error(
        401,
        "UNAUTHENTICATED",
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    )
}

/// The account of a valid `Authorization: Bearer` token.
fn authenticated(app: &App, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let state = app.state.lock().unwrap();
    let (account, expiry) = state.tokens.get(token)?;
    (Instant::now() < *expiry).then(|| account.clone())
}

/// `application/x-www-form-urlencoded` pairs.
fn form(body: &[u8]) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn invalid_grant(description: &str) -> Response {
    json_response(
        400,
        &json!({"error": "invalid_grant", "error_description": description}),
    )
}

fn token(app: &App, headers: &HeaderMap, body: &Bytes) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return json_response(
            400,
            &json!({"error": "invalid_request", "error_description": "Invalid request: form body expected"}),
        );
    }
    let fields = form(body);
    if fields.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return json_response(
            400,
            &json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}),
        );
    }
    let Some(jwt) = fields.get("assertion") else {
        return invalid_grant("Invalid JWT: no assertion");
    };
    let verdict = verify(app, jwt);
    let mut state = app.state.lock().unwrap();
    let (header, claims, refused) = match verdict {
        Ok((h, c, account)) if !state.refuse_all => {
            state.issued += 1;
            let value = token_value(state.issued);
            let life = state.expires_in;
            state.tokens.insert(
                value.clone(),
                (account, Instant::now() + Duration::from_secs(life)),
            );
            state.exchanges.push(Exchange {
                jwt: jwt.clone(),
                header: h,
                claims: c,
                refused: None,
            });
            return json_response(
                200,
                &json!({"access_token": value, "expires_in": life, "token_type": "Bearer"}),
            );
        }
        Ok((h, c, _)) => (h, c, "Invalid grant: account disabled".to_owned()),
        Err((h, c, why)) => (h, c, why),
    };
    state.exchanges.push(Exchange {
        jwt: jwt.clone(),
        header,
        claims,
        refused: Some(refused.clone()),
    });
    invalid_grant(&refused)
}

type Verdict = Result<(Value, Value, String), (Value, Value, String)>;

/// Checks a JWT as Google's token endpoint does.
fn verify(app: &App, jwt: &str) -> Verdict {
    let parts: Vec<&str> = jwt.split('.').collect();
    let part = |p: &str| -> Value {
        URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    };
    if parts.len() != 3 {
        return Err((Value::Null, Value::Null, "Invalid JWT: malformed".into()));
    }
    let (header, claims) = (part(parts[0]), part(parts[1]));
    let refuse = |why: &str| Err((header.clone(), claims.clone(), why.to_owned()));
    if header["alg"] != "RS256" {
        return refuse("Invalid JWT: alg must be RS256");
    }
    let Some(iss) = claims["iss"].as_str() else {
        return refuse("Invalid JWT: no iss");
    };
    let account = app.state.lock().unwrap().accounts.get(iss).cloned();
    let Some(account) = account else {
        return refuse("Invalid grant: account not found");
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(parts[2]) else {
        return refuse("Invalid JWT Signature.");
    };
    let signed = format!("{}.{}", parts[0], parts[1]);
    if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &account.public)
        .verify(signed.as_bytes(), &signature)
        .is_err()
    {
        return refuse("Invalid JWT Signature.");
    }
    let audience = app.state.lock().unwrap().audience.clone();
    if claims["aud"].as_str() != Some(audience.as_str()) {
        return refuse(&format!(
            "Invalid JWT: Failed audience check. The right audience is {audience}"
        ));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
        return refuse("Invalid JWT: iat and exp are required");
    };
    let t = now();
    if exp <= t || exp < iat || exp - iat > 3600 || iat > t + 300 {
        return refuse(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    let scopes = claims["scope"].as_str().unwrap_or("").to_owned();
    if !scopes.split(' ').any(|s| {
        s == "https://www.googleapis.com/auth/bigquery"
            || s == "https://www.googleapis.com/auth/cloud-platform"
    }) {
        return refuse("Invalid JWT: no BigQuery scope");
    }
    let iss = iss.to_owned();
    Ok((header, claims, iss))
}

fn test_iam_permissions(app: &App, headers: &HeaderMap, body: &Bytes) -> Response {
    let Some(account) = authenticated(app, headers) else {
        return unauthenticated();
    };
    let asked: Vec<String> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v["permissions"].as_array().map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    let mut state = app.state.lock().unwrap();
    state.permission_calls.push(asked.clone());
    if let Some(status) = state.permissions_status {
        return google_error(
            status,
            "UNAVAILABLE",
            "backendError",
            "The service is currently unavailable.",
        );
    }
    let held = state
        .accounts
        .get(&account)
        .map(|a| a.held.clone())
        .unwrap_or_default();
    let granted: Vec<&String> = asked.iter().filter(|p| held.contains(*p)).collect();
    if granted.is_empty() {
        json_response(200, &json!({}))
    } else {
        json_response(200, &json!({"permissions": granted}))
    }
}

/// The same request to bqemulator, its answer back.
async fn forward(
    upstream: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let authority = upstream.strip_prefix("http://").expect("http upstream");
    let stream = match tokio::net::TcpStream::connect(authority).await {
        Ok(s) => s,
        Err(e) => {
            return google_error(
                502,
                "UNAVAILABLE",
                "backendError",
                &format!("upstream: {e}"),
            );
        }
    };
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let uri = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut req = hyper::Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("host", authority);
    if let Some(ct) = headers.get("content-type") {
        req = req.header("content-type", ct);
    }
    let resp = sender
        .send_request(req.body(Full::new(body)).expect("request"))
        .await
        .expect("upstream answer");
    let status = resp.status();
    let content_type = resp.headers().get("content-type").cloned();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let mut out = Response::builder().status(status);
    if let Some(ct) = content_type {
        out = out.header("content-type", ct);
    }
    out.body(Body::from(bytes)).unwrap_or_else(|_| {
        Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .expect("response")
    })
}
