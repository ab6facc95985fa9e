//! `fake_databricks`: a small server in the test crate, on 127.0.0.1, that
//! follows the published Databricks REST APIs for what minilake cannot
//! express. minilake accepts any token, always has a metastore, records grants
//! without enforcing them and has no OAuth token endpoint; this fake has:
//!
//! - **the OIDC token endpoint** (`POST /oidc/v1/token`): checks HTTP Basic
//!   `clientId:clientSecret`, `grant_type=client_credentials` and the scope,
//!   answers OAuth's error shapes, and issues access tokens with an
//!   `expires_in`; tokens it has issued can be expired at will, after which
//!   the workspace answers 401 for them;
//! - **a workspace** answering SCIM `Me`, the metastore assignment (or none:
//!   404 `No metastore assigned for the current workspace.`), catalogs,
//!   schemas and tables by name, `effective-permissions` (direct grants plus
//!   those inherited from the schema, catalog and metastore), and the SQL
//!   Statement Execution API with statements that finish at once, stay
//!   `PENDING`/`RUNNING` for a number of polls, never finish (until
//!   cancelled), or fail;
//! - **an HTML error page** for every request (a proxy or sign-in page where
//!   the API was due).
//!
//! Every request is recorded (method, path, Authorization header), so tests
//! can check which token each call carried.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The warehouse the fake serves statements on.
pub const WAREHOUSE: &str = "fakewh0001";
/// The OAuth client the token endpoint accepts, unless a test sets another.
pub const CLIENT_ID: &str = "fake-sp-application-id";

/// How submitted statements behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementMode {
    /// `SUCCEEDED` in the submit's answer.
    Immediate,
    /// `PENDING` in the submit's answer, then `RUNNING` for this many polls,
    /// then `SUCCEEDED`.
    Polls(u32),
    /// `RUNNING` until cancelled.
    Forever,
    /// `FAILED` in the submit's answer, with this error code and message.
    Fail(String, String),
}

/// One token request the endpoint received.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The Basic credentials decoded (`id:secret`), if any.
    pub basic: Option<String>,
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    pub granted: bool,
}

/// One request to the workspace (not to the token endpoint).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub status: u16,
}

#[derive(Debug)]
struct Statement {
    remaining_polls: u32,
    state: &'static str,
}

#[derive(Debug)]
pub struct State {
    /// SCIM `Me`'s `userName`: the principal grants name.
    pub principal: String,
    /// A personal access token the workspace accepts.
    pub pat: Option<String>,
    /// The OAuth client the token endpoint accepts: id and secret.
    pub client: (String, String),
    pub scope: String,
    /// The `expires_in` the endpoint gives issued tokens. The workspace
    /// honours a token until [`State::expire_tokens`] (time in tests is the
    /// client's business: the fake never sleeps).
    pub token_lifetime: Duration,
    /// Issued tokens are this, a dash and a counter.
    pub token_prefix: String,
    /// Issued token → whether the workspace still honours it.
    pub tokens: BTreeMap<String, bool>,
    pub token_requests: Vec<TokenRequest>,
    pub metastore: bool,
    /// Answer every request with an HTML page.
    pub html: bool,
    /// `catalog:c`, `schema:c.s`, `table:c.s.t`.
    pub objects: BTreeSet<String>,
    /// Catalog → owner.
    pub owners: BTreeMap<String, String>,
    /// Schema full name → its properties.
    pub schema_properties: BTreeMap<String, BTreeMap<String, String>>,
    /// (`CATALOG`|`SCHEMA`|`TABLE`|`METASTORE`, full name) → principal → privileges.
    pub grants: BTreeMap<(String, String), BTreeMap<String, BTreeSet<String>>>,
    pub statement_mode: StatementMode,
    /// `effective-permissions` answers an empty first page with a
    /// `next_page_token` (the API allows it).
    pub empty_first_page: bool,
    statements: BTreeMap<String, Statement>,
    /// The text of every statement submitted.
    pub statements_run: Vec<String>,
    pub polls: usize,
    pub cancels: usize,
    pub requests: Vec<Recorded>,
    next_id: u64,
}

impl State {
    fn new(principal: &str) -> Self {
        State {
            principal: principal.to_owned(),
            pat: None,
            client: (CLIENT_ID.to_owned(), String::new()),
            scope: "all-apis".to_owned(),
            token_lifetime: Duration::from_secs(3600),
            token_prefix: "fake-access-token".to_owned(),
            tokens: BTreeMap::new(),
            token_requests: Vec::new(),
            metastore: true,
            html: false,
            objects: BTreeSet::new(),
            owners: BTreeMap::new(),
            schema_properties: BTreeMap::new(),
            grants: BTreeMap::new(),
            statement_mode: StatementMode::Immediate,
            empty_first_page: false,
            statements: BTreeMap::new(),
            statements_run: Vec::new(),
            polls: 0,
            cancels: 0,
            requests: Vec::new(),
            next_id: 0,
        }
    }

    /// Grants `privileges` on a securable to `principal`.
    pub fn grant(&mut self, kind: &str, name: &str, principal: &str, privileges: &[&str]) {
        self.grants
            .entry((kind.to_ascii_uppercase(), name.to_owned()))
            .or_default()
            .entry(principal.to_owned())
            .or_default()
            .extend(privileges.iter().map(|p| (*p).to_owned()));
    }

    /// Makes every token issued so far expired: the workspace answers 401.
    pub fn expire_tokens(&mut self) {
        for live in self.tokens.values_mut() {
            *live = false;
        }
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> usize {
        self.token_requests.iter().filter(|r| r.granted).count()
    }

    /// The bearer tokens the workspace's requests carried, in order.
    pub fn bearers(&self) -> Vec<String> {
        self.requests
            .iter()
            .filter_map(|r| r.authorization.as_deref())
            .filter_map(|a| a.strip_prefix("Bearer "))
            .map(str::to_owned)
            .collect()
    }
}

pub struct FakeDatabricks {
    pub endpoint: String,
    pub state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDatabricks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDatabricks {
    /// A workspace with a metastore whose principal is `principal`, accepting
    /// the personal access token `pat` and the OAuth client
    /// ([`CLIENT_ID`], `client_secret`).
    pub async fn start(principal: &str, pat: &str, client_secret: &str) -> Self {
        let mut state = State::new(principal);
        state.pat = Some(pat.to_owned());
        state.client.1 = client_secret.to_owned();
        Self::serve(state).await
    }

    async fn serve(state: State) -> Self {
        let state = Arc::new(Mutex::new(state));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDatabricks {
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
            task,
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("fake state"))
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, json!({"error_code": code, "message": message}))
}

const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1><p>This page requires JavaScript.</p></body></html>\n";

async fn handle(
    AxState(state): AxState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = state.lock().expect("fake state");
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if s.html {
        s.requests.push(Recorded {
            method: method.to_string(),
            path,
            authorization,
            status: 200,
        });
        return (
            StatusCode::OK,
            [("content-type", "text/html; charset=utf-8")],
            HTML_PAGE,
        )
            .into_response();
    }
    if path == "/oidc/v1/token" {
        return token(&mut s, &method, authorization.as_deref(), &body);
    }
    let response = match authenticate(&s, authorization.as_deref()) {
        Err(r) => *r,
        Ok(()) => route(&mut s, &method, &path, &query, &body),
    };
    s.requests.push(Recorded {
        method: method.to_string(),
        path,
        authorization,
        status: response.status().as_u16(),
    });
    response
}

/// A workspace request's bearer token: the PAT, or an unexpired issued token.
fn authenticate(s: &State, authorization: Option<&str>) -> Result<(), Box<Response>> {
    let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")) else {
        return Err(Box::new(api_error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Credential was not sent or was of an unsupported type for this API.",
        )));
    };
    if s.pat.as_deref() == Some(token) {
        return Ok(());
    }
    match s.tokens.get(token) {
        Some(true) => Ok(()),
        Some(_) => Err(Box::new(api_error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Token is expired.",
        ))),
        // What Databricks answers a token it does not know (observed: the
        // error code is a number).
        None => Err(Box::new(json_response(
            StatusCode::FORBIDDEN,
            json!({"error_code": 403, "message": "Invalid access token."}),
        ))),
    }
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `POST /oidc/v1/token`, as RFC 6749 §4.4 and Databricks' OAuth M2M docs.
fn token(s: &mut State, method: &Method, authorization: Option<&str>, body: &[u8]) -> Response {
    if method != Method::POST {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "invalid_request", "error_description": "POST only"}),
        );
    }
    let basic = authorization
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let fields = form(body);
    let grant_type = fields.get("grant_type").cloned();
    let scope = fields.get("scope").cloned();
    let mut record = TokenRequest {
        basic: basic.clone(),
        grant_type: grant_type.clone(),
        scope: scope.clone(),
        granted: false,
    };
    let expected = format!("{}:{}", s.client.0, s.client.1);
    let response = if basic.as_deref() != Some(expected.as_str()) {
        json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        )
    } else if grant_type.as_deref() != Some("client_credentials") {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}),
        )
    } else if scope.as_deref() != Some(s.scope.as_str()) {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_scope", "error_description": "The requested scope is invalid"}),
        )
    } else {
        s.next_id += 1;
        let value = format!("{}-{}", s.token_prefix, s.next_id);
        s.tokens.insert(value.clone(), true);
        record.granted = true;
        json_response(
            StatusCode::OK,
            json!({
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": s.token_lifetime.as_secs(),
                "scope": s.scope,
            }),
        )
    };
    s.token_requests.push(record);
    response
}

fn route(s: &mut State, method: &Method, path: &str, query: &str, body: &[u8]) -> Response {
    const UC: &str = "/api/2.1/unity-catalog/";
    const STATEMENTS: &str = "/api/2.0/sql/statements";
    if method == Method::GET && path == "/api/2.0/preview/scim/v2/Me" {
        return json_response(
            StatusCode::OK,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "8400000000000001",
                "userName": s.principal,
                "displayName": "Fake principal",
                "active": true,
            }),
        );
    }
    if let Some(rest) = path.strip_prefix(UC) {
        if method != Method::GET {
            return api_error(
                StatusCode::NOT_IMPLEMENTED,
                "NOT_IMPLEMENTED",
                "fake_databricks serves reads of Unity Catalog only; writes go to minilake",
            );
        }
        return unity_catalog(s, rest, query);
    }
    if path == STATEMENTS && method == Method::POST {
        return submit(s, body);
    }
    if let Some(rest) = path
        .strip_prefix(STATEMENTS)
        .and_then(|r| r.strip_prefix('/'))
    {
        if let Some(id) = rest.strip_suffix("/cancel") {
            if method == Method::POST {
                return cancel(s, id);
            }
        } else if method == Method::GET {
            return poll(s, rest);
        }
    }
    api_error(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        &format!("No API found for '{method} {path}'"),
    )
}

fn unity_catalog(s: &mut State, rest: &str, query: &str) -> Response {
    if rest == "current-metastore-assignment" {
        return if s.metastore {
            json_response(
                StatusCode::OK,
                json!({
                    "metastore_id": "11111111-2222-3333-4444-555555555555",
                    "workspace_id": 1_234_567_890_123_456_i64,
                    "default_catalog_name": "main",
                }),
            )
        } else {
            api_error(
                StatusCode::NOT_FOUND,
                "METASTORE_DOES_NOT_EXIST",
                "No metastore assigned for the current workspace.",
            )
        };
    }
    if !s.metastore {
        return api_error(
            StatusCode::NOT_FOUND,
            "METASTORE_DOES_NOT_EXIST",
            "No metastore assigned for the current workspace.",
        );
    }
    if let Some(name) = rest.strip_prefix("catalogs/") {
        return match s.objects.contains(&format!("catalog:{name}")) {
            true => json_response(
                StatusCode::OK,
                json!({
                    "name": name,
                    "owner": s.owners.get(name).cloned().unwrap_or_else(|| "admins".into()),
                    "catalog_type": "MANAGED_CATALOG",
                    "properties": {},
                }),
            ),
            false => api_error(
                StatusCode::NOT_FOUND,
                "CATALOG_DOES_NOT_EXIST",
                &format!("Catalog '{name}' does not exist."),
            ),
        };
    }
    if let Some(full) = rest.strip_prefix("schemas/") {
        return match s.objects.contains(&format!("schema:{full}")) {
            true => {
                let (catalog, name) = full.split_once('.').unwrap_or((full, ""));
                let properties = s.schema_properties.get(full).cloned().unwrap_or_default();
                json_response(
                    StatusCode::OK,
                    json!({"name": name, "catalog_name": catalog, "full_name": full, "properties": properties}),
                )
            }
            false => api_error(
                StatusCode::NOT_FOUND,
                "SCHEMA_DOES_NOT_EXIST",
                &format!("Schema '{full}' does not exist."),
            ),
        };
    }
    if let Some(full) = rest.strip_prefix("tables/") {
        return match s.objects.contains(&format!("table:{full}")) {
            true => {
                let parts: Vec<&str> = full.splitn(3, '.').collect();
                json_response(
                    StatusCode::OK,
                    json!({
                        "name": parts.get(2),
                        "catalog_name": parts.first(),
                        "schema_name": parts.get(1),
                        "full_name": full,
                        "table_type": "MANAGED",
                        "data_source_format": "DELTA",
                        "columns": [],
                    }),
                )
            }
            false => api_error(
                StatusCode::NOT_FOUND,
                "TABLE_DOES_NOT_EXIST",
                &format!("Table '{full}' does not exist."),
            ),
        };
    }
    if let Some(rest) = rest.strip_prefix("effective-permissions/") {
        let Some((kind, full)) = rest.split_once('/') else {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER_VALUE",
                "bad path",
            );
        };
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
                .map(percent_decode)
        };
        if s.empty_first_page && param("page_token").is_none() {
            return json_response(
                StatusCode::OK,
                json!({"privilege_assignments": [], "next_page_token": "page-2"}),
            );
        }
        return effective(
            s,
            &kind.to_ascii_uppercase(),
            full,
            param("principal").as_deref(),
        );
    }
    api_error(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        &format!("No API found for 'GET /api/2.1/unity-catalog/{rest}'"),
    )
}

/// Direct grants, then those inherited from the schema, the catalog and the
/// metastore (the nearest source wins), as Unity Catalog reports them.
fn effective(s: &State, kind: &str, full: &str, principal: Option<&str>) -> Response {
    let object = format!("{}:{full}", kind.to_ascii_lowercase());
    if !s.objects.contains(&object) {
        return api_error(
            StatusCode::NOT_FOUND,
            &format!("{kind}_DOES_NOT_EXIST"),
            &format!("{} '{full}' does not exist.", kind.to_ascii_lowercase()),
        );
    }
    let parts: Vec<&str> = full.split('.').collect();
    let mut chain: Vec<(String, String, bool)> = vec![(kind.to_owned(), full.to_owned(), false)];
    if parts.len() == 3 {
        chain.push(("SCHEMA".into(), parts[..2].join("."), true));
    }
    if parts.len() >= 2 {
        chain.push(("CATALOG".into(), parts[0].to_owned(), true));
    }
    chain.push(("METASTORE".into(), "metastore".into(), true));
    let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for (k, name, inherited) in chain {
        let Some(assignments) = s.grants.get(&(k.clone(), name.clone())) else {
            continue;
        };
        for (who, privileges) in assignments {
            for p in privileges {
                let entry = if inherited {
                    json!({"privilege": p, "inherited_from_type": k, "inherited_from_name": name})
                } else {
                    json!({"privilege": p})
                };
                out.entry(who.clone())
                    .or_default()
                    .entry(p.clone())
                    .or_insert(entry);
            }
        }
    }
    let assignments: Vec<Value> = out
        .into_iter()
        .filter(|(who, _)| principal.is_none_or(|p| p == who))
        .map(|(who, privileges)| {
            json!({"principal": who, "privileges": privileges.into_values().collect::<Vec<_>>()})
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({"privilege_assignments": assignments}),
    )
}

fn statement_json(id: &str, state: &str, error: Option<(&str, &str)>) -> Value {
    let mut status = json!({"state": state});
    if let Some((code, message)) = error {
        status["error"] = json!({"error_code": code, "message": message});
    }
    let mut v = json!({"statement_id": id, "status": status});
    if state == "SUCCEEDED" {
        v["manifest"] = json!({"format": "JSON_ARRAY", "schema": {"column_count": 0, "columns": []}, "total_row_count": 0});
        v["result"] = json!({"row_count": 0, "data_array": []});
    }
    v
}

fn submit(s: &mut State, body: &[u8]) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_REQUEST",
            "Could not parse request object",
        );
    };
    if req["warehouse_id"].as_str() != Some(WAREHOUSE) {
        return api_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            "SQL warehouse was not found.",
        );
    }
    let Some(text) = req["statement"].as_str() else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
            "statement is required",
        );
    };
    s.statements_run.push(text.to_owned());
    // A GRANT takes effect as Unity Catalog's does: effective-permissions
    // answers it from then on. One the fake cannot read fails as a syntax
    // error, never as a silent success.
    if text.trim_start().to_ascii_uppercase().starts_with("GRANT ") {
        match parse_grant(text) {
            Some((kind, name, principal, privileges)) => {
                let privileges: Vec<&str> = privileges.iter().map(String::as_str).collect();
                s.grant(&kind, &name, &principal, &privileges);
            }
            None => {
                s.next_id += 1;
                let id = format!("01ef-fake-{:04}", s.next_id);
                return json_response(
                    StatusCode::OK,
                    statement_json(
                        &id,
                        "FAILED",
                        Some(("PARSE_SYNTAX_ERROR", "[PARSE_SYNTAX_ERROR] Syntax error.")),
                    ),
                );
            }
        }
    }
    s.next_id += 1;
    let id = format!("01ef-fake-{:04}", s.next_id);
    let (state, remaining) = match &s.statement_mode {
        StatementMode::Immediate => ("SUCCEEDED", 0),
        StatementMode::Polls(n) => ("PENDING", *n),
        StatementMode::Forever => ("RUNNING", u32::MAX),
        StatementMode::Fail(code, message) => {
            let (code, message) = (code.clone(), message.clone());
            return json_response(
                StatusCode::OK,
                statement_json(&id, "FAILED", Some((&code, &message))),
            );
        }
    };
    s.statements.insert(
        id.clone(),
        Statement {
            remaining_polls: remaining,
            state,
        },
    );
    json_response(StatusCode::OK, statement_json(&id, state, None))
}

/// `GRANT p[, p…] ON CATALOG|SCHEMA|TABLE name TO principal[;]`, names in
/// backquotes (doubled inside) or bare, parts joined by dots: the securable's
/// kind, full name, the principal and the privileges in the REST API's names
/// (`USE CATALOG` → `USE_CATALOG`).
pub fn parse_grant(text: &str) -> Option<(String, String, String, Vec<String>)> {
    let text = text.trim().trim_end_matches(';').trim_end();
    let rest = strip_word(text, "GRANT")?;
    let on = find_word(rest, "ON")?;
    let privileges: Vec<String> = rest[..on]
        .split(',')
        .map(|p| {
            p.split_whitespace()
                .collect::<Vec<_>>()
                .join("_")
                .to_ascii_uppercase()
        })
        .collect();
    if privileges.iter().any(String::is_empty) {
        return None;
    }
    let rest = rest[on + 2..].trim_start();
    let (kind, rest) = rest.split_once(char::is_whitespace)?;
    let kind = kind.to_ascii_uppercase();
    if !["CATALOG", "SCHEMA", "TABLE"].contains(&kind.as_str()) {
        return None;
    }
    let (name, rest) = name_parts(rest.trim_start())?;
    let rest = strip_word(rest.trim_start(), "TO")?;
    let (mut principal, rest) = name_parts(rest.trim_start())?;
    // A principal is one name (its dots quoted).
    (rest.trim().is_empty() && principal.len() == 1)
        .then(|| (kind, name.join("."), principal.remove(0), privileges))
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace)).then_some(rest)
}

/// Where ` ON ` (any case) is, outside names.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let upper = text.to_ascii_uppercase();
    upper.find(&format!(" {word} ")).map(|i| i + 1)
}

/// A dotted name of backquoted or bare parts: the parts unquoted, and what
/// follows.
fn name_parts(text: &str) -> Option<(Vec<String>, &str)> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        if let Some(quoted) = rest.strip_prefix('`') {
            let mut part = String::new();
            let mut chars = quoted.char_indices().peekable();
            let end = loop {
                let (i, ch) = chars.next()?;
                if ch == '`' {
                    if matches!(chars.peek(), Some((_, '`'))) {
                        chars.next();
                        part.push('`');
                        continue;
                    }
                    break i + 1;
                }
                part.push(ch);
            };
            parts.push(part);
            rest = &quoted[end..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            parts.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => return Some((parts, rest)),
        }
    }
}

fn poll(s: &mut State, id: &str) -> Response {
    s.polls += 1;
    let Some(st) = s.statements.get_mut(id) else {
        return api_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("Statement {id} not found."),
        );
    };
    if matches!(st.state, "PENDING" | "RUNNING") {
        if st.remaining_polls == 0 {
            st.state = "SUCCEEDED";
        } else {
            if st.remaining_polls != u32::MAX {
                st.remaining_polls -= 1;
            }
            st.state = "RUNNING";
        }
    }
    let state = st.state;
    json_response(StatusCode::OK, statement_json(id, state, None))
}

fn cancel(s: &mut State, id: &str) -> Response {
    s.cancels += 1;
    match s.statements.get_mut(id) {
        Some(st) => {
            if matches!(st.state, "PENDING" | "RUNNING") {
                st.state = "CANCELED";
            }
            json_response(StatusCode::OK, json!({}))
        }
        None => api_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("Statement {id} not found."),
        ),
    }
}

/// A workspace that answers every request with an HTML sign-in page (HTTP 200,
/// `text/html`), as a proxy or a wrong URL does.
pub async fn fake_html_endpoint() -> FakeDatabricks {
    let mut state = State::new("nobody");
    state.html = true;
    FakeDatabricks::serve(state).await
}

/// A workspace with no metastore assigned.
pub async fn fake_workspace_without_metastore(pat: &str) -> FakeDatabricks {
    let server = FakeDatabricks::start("someone@example.com", pat, "unused").await;
    server.with(|s| s.metastore = false);
    server
}

#[cfg(test)]
mod own_tests {
    #[test]
    fn grants_are_parsed_as_databricks_sql_reads_them() {
        use super::parse_grant;
        assert_eq!(
            parse_grant("GRANT USE CATALOG, MANAGE ON CATALOG `j``c` TO `etl@example.com`;"),
            Some((
                "CATALOG".into(),
                "j`c".into(),
                "etl@example.com".into(),
                vec!["USE_CATALOG".into(), "MANAGE".into()]
            ))
        );
        assert_eq!(
            parse_grant("grant select on table c.`s`.t to admins").map(|g| g.1),
            Some("c.s.t".into())
        );
        assert_eq!(
            parse_grant("GRANT MANAGE ON CATALOG `jc` TO etl@example.com"),
            None
        );
        assert_eq!(parse_grant("GRANT MANAGE ON VOLUME `jc` TO `a`"), None);
        assert_eq!(parse_grant("GRANT MANAGE ON CATALOG `jc"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(super::percent_decode("all-apis"), "all-apis");
        assert_eq!(super::percent_decode("a+b%20c%3D"), "a b c=");
        assert_eq!(super::percent_decode("100%"), "100%");
    }
}
