//! `fake_snowflake`: a small server in the test crate that speaks the
//! connector protocol (log-in, query, abort, session close) on 127.0.0.1, for
//! what fakesnow cannot express: roles, users, grants, key-pair JWTs (whose
//! signature it verifies against the user's registered public key) and
//! expired session tokens. It keeps the account's objects as data, runs the
//! handful of statement shapes the plugin sends (and refuses anything else),
//! and records every statement and log-in so tests can check what it received.
//! Access is checked as Snowflake checks it (`access`): objects have owner
//! roles, a session acts with its current role (the user's default until
//! `USE ROLE`) and the roles granted to it, and what it may see and do
//! follows from ownership and grants.

#![allow(dead_code)]

#[path = "fake_snowflake/access.rs"]
mod access;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

pub const ADMIN: &str = "ADMIN";
pub const ACCOUNT: &str = "FAKEACCT";
pub const WAREHOUSE: &str = "COMPUTE_WH";

/// One log-in the server accepted or refused.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub login_name: String,
    pub account: String,
    pub authenticator: String,
    pub accepted: bool,
    /// The verified JWT's claims (key-pair log-ins).
    pub claims: Option<Value>,
    /// The role asked for with the `roleName` log-in parameter.
    pub role: Option<String>,
}

#[derive(Debug, Default)]
pub struct State {
    /// `database "X"`, `schema "X"."Y"`, `table "X"."Y"."Z"`, `role "R"`, `warehouse "W"`.
    pub objects: BTreeSet<String>,
    /// `user "U"` → (password, default role, default warehouse).
    pub users: BTreeMap<String, (String, String, String)>,
    /// Users that log in with a key: the RSA public key (PKCS#1 DER).
    pub public_keys: BTreeMap<String, Vec<u8>>,
    /// `<what> TO <grantee>`, e.g. `ROLE "R" TO USER "U"`, `CREATE ROLE ON ACCOUNT TO ROLE "R"`.
    pub grants: BTreeSet<String>,
    /// The owner role of each object (`database "X"` → `R`) and user (`user "U"`).
    pub owners: BTreeMap<String, String>,
    /// Version-table rows by table.
    pub rows: BTreeMap<String, Vec<i64>>,
    /// Every statement received, in order (with passwords as sent).
    pub statements: Vec<String>,
    pub logins: Vec<LoginRecord>,
    /// Token → (user, current role).
    pub tokens: BTreeMap<String, (String, Option<String>)>,
    /// The next query answers "session expired" (390112) and forgets the token.
    pub expire_next: bool,
    /// The next query answers HTTP 401.
    pub reject_next: bool,
    /// A statement containing this text fails (a real failure, not an injected one).
    pub fail_on: Option<String>,
    pub closed_sessions: usize,
    pub aborts: usize,
    /// The next query answers only after this long.
    pub delay_next: Option<std::time::Duration>,
    /// The next query answers "still running" (333334) with a result URL, which
    /// answers "still running" this many more times before the result.
    pub pending_polls: Option<u32>,
    /// Results of queries answered as still running, by query id.
    pending: BTreeMap<String, (u32, Value)>,
    pub polls: usize,
    /// Every Authorization header seen on queries.
    pub authorizations: Vec<String>,
    next_token: u64,
}

pub struct FakeSnowflake {
    pub endpoint: String,
    pub state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSnowflake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl FakeSnowflake {
    /// A server with an account holding the admin user (password
    /// `admin_password`, role ACCOUNTADMIN) and one warehouse.
    pub async fn start(admin_password: &str) -> FakeSnowflake {
        let mut st = State::default();
        st.objects.insert(format!("role {}", q("ACCOUNTADMIN")));
        st.objects.insert(format!("warehouse {}", q(WAREHOUSE)));
        st.objects.insert(format!("database {}", q("SNOWFLAKE")));
        st.users.insert(
            ADMIN.to_owned(),
            (
                admin_password.to_owned(),
                "ACCOUNTADMIN".into(),
                WAREHOUSE.into(),
            ),
        );
        st.grants
            .insert(format!("ROLE {} TO USER {}", q("ACCOUNTADMIN"), q(ADMIN)));
        for o in [
            "role \"ACCOUNTADMIN\"",
            "warehouse \"COMPUTE_WH\"",
            "database \"SNOWFLAKE\"",
        ] {
            st.owners.insert(o.to_owned(), "ACCOUNTADMIN".into());
        }
        let state = Arc::new(Mutex::new(st));
        let app = axum::Router::new()
            .route("/session/v1/login-request", axum::routing::post(login))
            .route("/queries/v1/query-request", axum::routing::post(query))
            .route("/queries/v1/abort-request", axum::routing::post(abort))
            .route("/session", axum::routing::post(close))
            .route("/queries/{id}/result", axum::routing::get(result))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSnowflake {
            endpoint,
            state,
            task,
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Adds a user with a role granted to it (its default role), the role
    /// owned by ACCOUNTADMIN and granted usage of the warehouse.
    pub fn add_user(&self, user: &str, password: &str, role: &str) {
        self.with(|s| {
            if s.objects.insert(format!("role {}", q(role))) {
                s.owners
                    .insert(format!("role {}", q(role)), "ACCOUNTADMIN".into());
                s.grants.insert(format!(
                    "USAGE ON WAREHOUSE {} TO ROLE {}",
                    q(WAREHOUSE),
                    q(role)
                ));
            }
            s.users.insert(
                user.to_owned(),
                (password.to_owned(), role.to_owned(), WAREHOUSE.into()),
            );
            s.grants
                .insert(format!("ROLE {} TO USER {}", q(role), q(user)));
        });
    }

    /// An object (`database "X"`, `warehouse "W"`, `role "R"`) made by someone
    /// else, owned by `owner`.
    pub fn add_object(&self, object: impl Into<String>, owner: &str) {
        let object = object.into();
        self.with(|s| {
            s.objects.insert(object.clone());
            s.owners.insert(object, owner.to_owned());
        });
    }

    /// Registers a key for a user (`ALTER USER … SET RSA_PUBLIC_KEY`).
    pub fn set_public_key(&self, user: &str, pkcs1_der: &[u8]) {
        self.with(|s| s.public_keys.insert(user.to_owned(), pkcs1_der.to_vec()));
    }

    /// Everything that makes up the account, as sorted lines (passwords as a hash).
    pub fn snapshot(&self) -> Vec<String> {
        self.with(|s| {
            let mut out: Vec<String> = s.objects.iter().cloned().collect();
            for (u, (pw, role, wh)) in &s.users {
                out.push(format!(
                    "user {} password#{:x} role={role} warehouse={wh}",
                    q(u),
                    fnv(pw)
                ));
            }
            out.extend(s.grants.iter().map(|g| format!("grant {g}")));
            for (t, rows) in &s.rows {
                out.push(format!("rows {t} {rows:?}"));
            }
            out.sort();
            out
        })
    }

    pub fn statements(&self) -> Vec<String> {
        self.with(|s| s.statements.clone())
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn ok_rows(columns: &[&str], rows: Vec<Vec<Value>>) -> Value {
    json!({
        "data": {
            "rowtype": columns.iter().map(|c| json!({"name": c, "type": "text", "nullable": true})).collect::<Vec<_>>(),
            "rowset": rows,
            "total": rows_len(&rows),
            "returned": rows_len(&rows),
            "queryResultFormat": "json",
        },
        "code": null,
        "message": null,
        "success": true,
    })
}

fn js(v: Value) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn rows_len(rows: &[Vec<Value>]) -> usize {
    rows.len()
}

fn status(text: &str) -> Value {
    ok_rows(&["status"], vec![vec![json!(text)]])
}

fn failure(code: &str, message: &str) -> Value {
    json!({
        "data": {"errorCode": code, "sqlState": "42000"},
        "code": code,
        "message": message,
        "success": false,
    })
}

/// A query parameter of the request's URI, percent-decoded.
fn query_param(uri: &axum::http::Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            let bytes = v.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'%' if i + 2 < bytes.len() => {
                        let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                        out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                        i += 3;
                    }
                    b'+' => {
                        out.push(b' ');
                        i += 1;
                    }
                    b => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    })
}

async fn login(
    AxState(state): AxState<Arc<Mutex<State>>>,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let role = query_param(&uri, "roleName");
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let d = &v["data"];
    // Login names are case-insensitive.
    let name = d["LOGIN_NAME"].as_str().unwrap_or("").to_ascii_uppercase();
    let account = d["ACCOUNT_NAME"].as_str().unwrap_or("").to_owned();
    let authenticator = d["AUTHENTICATOR"]
        .as_str()
        .unwrap_or("SNOWFLAKE")
        .to_owned();
    let mut st = state.lock().unwrap();
    let (accepted, claims) = if authenticator == "SNOWFLAKE_JWT" {
        match st.public_keys.get(&name) {
            Some(key) => {
                match verify_jwt(d["TOKEN"].as_str().unwrap_or(""), key, &account, &name) {
                    Ok(claims) => (true, Some(claims)),
                    Err(_) => (false, None),
                }
            }
            None => (false, None),
        }
    } else {
        let ok = st
            .users
            .get(&name)
            .is_some_and(|(pw, _, _)| Some(pw.as_str()) == d["PASSWORD"].as_str());
        (ok, None)
    };
    // A role asked for at log-in must be granted to the user, as Snowflake checks.
    let role_refused = accepted
        && role.as_ref().is_some_and(|r| {
            !st.grants
                .contains(&format!("ROLE {} TO USER {}", q(r), q(&name)))
        });
    st.logins.push(LoginRecord {
        login_name: name.clone(),
        account,
        authenticator: authenticator.clone(),
        accepted: accepted && !role_refused,
        claims,
        role: role.clone(),
    });
    if role_refused {
        let r = role.clone().unwrap_or_default();
        return js(failure(
            "390189",
            &format!("Role '{r}' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC."),
        ))
        .into_response();
    }
    if !accepted {
        let (code, message) = if authenticator == "SNOWFLAKE_JWT" {
            ("390144", "JWT token is invalid.")
        } else {
            ("390100", "Incorrect username or password was specified.")
        };
        return js(failure(code, message)).into_response();
    }
    st.next_token += 1;
    let token = format!("fake-token-{}-{}", st.next_token, fnv(&name));
    // A session starts in the role asked for, else the user's default role.
    let default_role = role.or_else(|| st.users.get(&name).map(|u| u.1.clone()));
    st.tokens.insert(token.clone(), (name, default_role));
    js(json!({
        "data": {"token": token, "masterToken": format!("master-{token}"), "validityInSeconds": 3600},
        "code": null, "message": null, "success": true,
    }))
    .into_response()
}

/// Verifies an RS256 JWT against a PKCS#1 public key, as Snowflake does:
/// signature, `iss` (with the key's SHA-256 fingerprint), `sub`, expiry.
pub fn verify_jwt(token: &str, pkcs1: &[u8], account: &str, user: &str) -> Result<Value, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("not a JWT".into());
    }
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[0])
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err("alg is not RS256".into());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|e| e.to_string())?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .map_err(|_| "bad signature".to_owned())?;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[1])
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let qualified = format!(
        "{}.{}",
        account.to_ascii_uppercase(),
        user.to_ascii_uppercase()
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki_of_pkcs1(pkcs1));
    let expected_iss = format!("{qualified}.SHA256:{}", STANDARD.encode(digest.as_ref()));
    if claims["iss"] != expected_iss.as_str() {
        return Err(format!("iss {} is not {expected_iss}", claims["iss"]));
    }
    if claims["sub"] != qualified.as_str() {
        return Err("sub".into());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if iat > now + 60 || exp <= now || exp > iat + 3600 {
        return Err("iat/exp".into());
    }
    Ok(claims)
}

/// The SubjectPublicKeyInfo DER of a PKCS#1 RSA public key, built here rather
/// than taken from the library the plugin uses, so the fingerprint is checked
/// independently.
pub fn spki_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = content.len();
        if n < 128 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    // SEQUENCE { OID rsaEncryption, NULL }
    let alg = der(
        0x30,
        &[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ],
    );
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut content = alg;
    content.extend(der(0x03, &bits));
    der(0x30, &content)
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    let h = headers.get("authorization")?.to_str().ok()?;
    let rest = h.strip_prefix("Snowflake Token=\"")?;
    rest.strip_suffix('"').map(str::to_owned)
}

async fn abort(AxState(state): AxState<Arc<Mutex<State>>>) -> Response {
    state.lock().unwrap().aborts += 1;
    js(json!({"data": null, "success": true})).into_response()
}

async fn close(AxState(state): AxState<Arc<Mutex<State>>>, headers: HeaderMap) -> Response {
    let mut st = state.lock().unwrap();
    if let Some(t) = token_of(&headers) {
        st.tokens.remove(&t);
    }
    st.closed_sessions += 1;
    js(json!({"data": null, "success": true})).into_response()
}

fn in_progress(id: &str) -> Value {
    json!({
        "data": {"queryId": id, "getResultUrl": format!("/queries/{id}/result")},
        "code": "333334",
        "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
        "success": true,
    })
}

async fn result(
    AxState(state): AxState<Arc<Mutex<State>>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut st = state.lock().unwrap();
    if token_of(&headers).is_none_or(|t| !st.tokens.contains_key(&t)) {
        return (
            StatusCode::UNAUTHORIZED,
            js(failure("390103", "Authentication token is invalid.")),
        )
            .into_response();
    }
    st.polls += 1;
    let Some((left, answer)) = st.pending.remove(&id) else {
        return js(failure("000709", "Statement not found.")).into_response();
    };
    if left > 0 {
        st.pending.insert(id.clone(), (left - 1, answer));
        return js(in_progress(&id)).into_response();
    }
    js(answer).into_response()
}

async fn query(
    AxState(state): AxState<Arc<Mutex<State>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = state.lock().unwrap().delay_next.take();
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut st = state.lock().unwrap();
    if let Some(h) = headers.get("authorization").and_then(|h| h.to_str().ok()) {
        st.authorizations.push(h.to_owned());
    }
    let token = token_of(&headers);
    if st.reject_next {
        st.reject_next = false;
        return (
            StatusCode::UNAUTHORIZED,
            js(failure("390104", "Authentication token is invalid.")),
        )
            .into_response();
    }
    let Some(token) = token.filter(|t| st.tokens.contains_key(t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            js(failure("390103", "Authentication token is invalid.")),
        )
            .into_response();
    };
    if st.expire_next {
        st.expire_next = false;
        st.tokens.remove(&token);
        return js(failure(
            "390112",
            "Your session has expired. Please login again.",
        ))
        .into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let sql = v["sqlText"].as_str().unwrap_or("").to_owned();
    st.statements.push(sql.clone());
    if let Some(f) = st.fail_on.clone() {
        if sql.contains(&f) {
            // Echoes the statement, as some real errors do: the client must scrub it.
            return js(failure(
                "003001",
                &format!("SQL access control error: Insufficient privileges to run '{sql}'."),
            ))
            .into_response();
        }
    }
    let answer = match run(&mut st, &token, &sql) {
        Ok(v) => v,
        Err((code, message)) => failure(code, &message),
    };
    if let Some(polls) = st.pending_polls.take() {
        let id = format!("q{}", st.statements.len());
        st.pending.insert(id.clone(), (polls, answer));
        return js(in_progress(&id)).into_response();
    }
    js(answer).into_response()
}

// ------------------------------------------------------------------ SQL

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Ident(String),
    Str(String),
    Punct(char),
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let cs: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    Some('"') if cs.get(i + 1) == Some(&'"') => {
                        s.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                    None => return Err("unterminated identifier".into()),
                }
            }
            out.push(Tok::Ident(s));
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    Some('\\') => {
                        if let Some(n) = cs.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some('\'') if cs.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                    None => return Err("unterminated string".into()),
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_alphanumeric() || c == '_' {
            let mut s = String::new();
            while let Some(ch) = cs.get(i).filter(|ch| ch.is_alphanumeric() || **ch == '_') {
                s.push(ch.to_ascii_uppercase());
                i += 1;
            }
            out.push(Tok::Word(s));
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Tokens back to canonical text: words upper-case, identifiers quoted.
fn canon(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Word(w) => w.clone(),
            Tok::Ident(i) => q(i),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Punct(c) => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" . ", ".")
        .replace(" , ", ", ")
}

/// A possibly qualified name at the start of `toks`: its parts, and the rest.
fn name(toks: &[Tok]) -> Option<(Vec<String>, &[Tok])> {
    let mut parts = Vec::new();
    let mut i = 0;
    loop {
        match toks.get(i)? {
            Tok::Ident(s) => parts.push(s.clone()),
            Tok::Word(w) => parts.push(w.clone()),
            _ => return None,
        }
        i += 1;
        if toks.get(i) == Some(&Tok::Punct('.')) {
            i += 1;
        } else {
            return Some((parts, &toks[i..]));
        }
    }
}

fn qn(parts: &[String]) -> String {
    parts.iter().map(|p| q(p)).collect::<Vec<_>>().join(".")
}

fn words(toks: &[Tok], n: usize) -> Vec<String> {
    toks.iter()
        .take(n)
        .map(|t| match t {
            Tok::Word(w) => w.clone(),
            _ => String::new(),
        })
        .collect()
}

type Res = Result<Value, (&'static str, String)>;

fn compile(m: impl Into<String>) -> (&'static str, String) {
    ("001003", format!("SQL compilation error: {}", m.into()))
}
fn missing(what: &str) -> (&'static str, String) {
    (
        "002003",
        format!("SQL compilation error: {what} does not exist or not authorized."),
    )
}
fn exists(what: &str) -> (&'static str, String) {
    (
        "002002",
        format!("SQL compilation error: Object {what} already exists."),
    )
}

fn like(pattern: &str, s: &str) -> bool {
    fn m(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('%'), _) => m(&p[1..], s) || (!s.is_empty() && m(p, &s[1..])),
            (Some('_'), Some(_)) => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    m(&p, &s)
}

fn objects_of(st: &State, kind: &str) -> Vec<String> {
    let lead = format!("{kind} \"");
    st.objects
        .iter()
        .filter_map(|o| o.strip_prefix(&lead))
        .map(|rest| rest.trim_end_matches('"').replace("\"\"", "\""))
        .collect()
}

/// Removes an object, everything inside it, and every grant on or to it.
fn drop_object(st: &mut State, kind: &str, full: &str) {
    st.objects.remove(&format!("{kind} {full}"));
    let inner = format!("{full}.");
    st.objects.retain(|o| {
        !o.split_once(' ')
            .is_some_and(|(_, n)| n.starts_with(&inner))
    });
    st.rows.retain(|t, _| !t.starts_with(&inner) && t != full);
    let on = format!(" {} {full}", kind.to_ascii_uppercase());
    let on_inner = format!(" {inner}");
    st.grants
        .retain(|g| !(g.contains(&format!("{on} ")) || g.ends_with(&on) || g.contains(&on_inner)));
}

fn run(st: &mut State, token: &str, sql: &str) -> Res {
    let mut toks = tokenize(sql).map_err(compile)?;
    // Snowflake runs one statement with or without its terminating semicolon.
    if toks.last() == Some(&Tok::Punct(';')) {
        toks.pop();
    }
    let w = words(&toks, 4);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let user = st
        .tokens
        .get(token)
        .map(|(u, _)| u.clone())
        .unwrap_or_default();
    let current = st.tokens.get(token).and_then(|t| t.1.clone());
    let roles = access::active_roles(st, current.as_deref());
    match w.as_slice() {
        ["SELECT", "1", ..] => Ok(ok_rows(&["1"], vec![vec![json!("1")]])),
        ["USE", "ROLE", ..] => {
            let (n, _) = name(&toks[2..]).ok_or_else(|| compile("role name"))?;
            let granted = st
                .grants
                .contains(&format!("ROLE {} TO USER {}", q(&n[0]), q(&user)));
            if !granted {
                return Err((
                    "003013",
                    format!(
                        "Requested role '{}' is not assigned to the executing user. Specify another role to activate.",
                        n[0]
                    ),
                ));
            }
            if let Some(t) = st.tokens.get_mut(token) {
                t.1 = Some(n[0].clone());
            }
            Ok(status("Statement executed successfully."))
        }
        ["USE", "WAREHOUSE", ..] => {
            let (n, _) = name(&toks[2..]).ok_or_else(|| compile("warehouse name"))?;
            let wh = format!("warehouse {}", q(&n[0]));
            if !st.objects.contains(&wh) || !access::sees(st, &roles, &wh) {
                return Err(missing(&format!("Object {}", q(&n[0]))));
            }
            Ok(status("Statement executed successfully."))
        }
        [
            "SHOW",
            kind @ ("DATABASES" | "ROLES" | "WAREHOUSES"),
            "LIKE",
            ..,
        ] => {
            let Some(Tok::Str(p)) = toks.get(3) else {
                return Err(compile("LIKE needs a string"));
            };
            let k = match *kind {
                "DATABASES" => "database",
                "ROLES" => "role",
                _ => "warehouse",
            };
            // Databases and warehouses are listed to the roles that own or
            // hold a privilege on them; roles to everyone.
            let rows = objects_of(st, k)
                .into_iter()
                .filter(|n| like(p, n))
                .filter(|n| k == "role" || access::sees(st, &roles, &format!("{k} {}", q(n))))
                .map(|n| vec![json!("2026-01-01 00:00:00"), json!(n)])
                .collect();
            Ok(ok_rows(&["created_on", "name"], rows))
        }
        ["SHOW", "GRANTS", "TO", "ROLE"] => {
            let (n, _) = name(&toks[4..]).ok_or_else(|| compile("role name"))?;
            let grantee = format!(" TO ROLE {}", q(&n[0]));
            let mut rows = Vec::new();
            for g in st.grants.iter().filter(|g| g.ends_with(&grantee)) {
                let what = g.trim_end_matches(&grantee);
                if let Some(role) = what.strip_prefix("ROLE ") {
                    let role = role.trim_matches('"').replace("\"\"", "\"");
                    rows.push(vec![json!("USAGE"), json!("ROLE"), json!(role)]);
                } else if let Some((privs, on)) = what.split_once(" ON ") {
                    let (kind, obj) = on.split_once(' ').unwrap_or((on, ""));
                    for p in privs.split(", ") {
                        rows.push(vec![json!(p), json!(kind), json!(obj)]);
                    }
                }
            }
            Ok(ok_rows(&["privilege", "granted_on", "name"], rows))
        }
        [
            "CREATE",
            kind @ ("DATABASE" | "SCHEMA" | "ROLE" | "TABLE"),
            ..,
        ] => {
            let (n, _) = name(&toks[2..]).ok_or_else(|| compile("object name"))?;
            let k = kind.to_ascii_lowercase();
            let full = qn(&n);
            let parent_ok = match *kind {
                "SCHEMA" => {
                    n.len() == 2 && st.objects.contains(&format!("database {}", qn(&n[..1])))
                }
                "TABLE" => n.len() == 3 && st.objects.contains(&format!("schema {}", qn(&n[..2]))),
                _ => n.len() == 1,
            };
            if !parent_ok {
                return Err(missing(&format!("Parent of {full}")));
            }
            let allowed = match *kind {
                "DATABASE" => access::holds(st, &roles, "CREATE DATABASE"),
                "ROLE" => access::holds(st, &roles, "CREATE ROLE"),
                "SCHEMA" => access::may_create_in(
                    st,
                    &roles,
                    &format!("database {}", qn(&n[..1])),
                    "CREATE SCHEMA",
                ),
                _ => access::may_create_in(
                    st,
                    &roles,
                    &format!("schema {}", qn(&n[..2])),
                    "CREATE TABLE",
                ),
            };
            if st.objects.contains(&format!("{k} {full}")) {
                return Err(exists(&full));
            }
            if !allowed {
                return Err(access::denied(&format!("{k} {full}")));
            }
            st.objects.insert(format!("{k} {full}"));
            st.owners
                .insert(format!("{k} {full}"), current.clone().unwrap_or_default());
            if *kind == "TABLE" {
                st.rows.insert(full.clone(), Vec::new());
            }
            Ok(status(&format!(
                "{} {} successfully created.",
                kind,
                n.last().unwrap()
            )))
        }
        [
            "DROP",
            kind @ ("DATABASE" | "SCHEMA" | "ROLE" | "TABLE" | "USER"),
            ..,
        ] => {
            let if_exists = matches!(w.get(2), Some(&"IF"))
                && matches!(toks.get(3), Some(Tok::Word(x)) if x == "EXISTS");
            let at = if if_exists { 4 } else { 2 };
            let (n, _) = name(&toks[at..]).ok_or_else(|| compile("object name"))?;
            let full = qn(&n);
            if *kind == "USER" {
                let key = format!("user {full}");
                if st.users.contains_key(&n[0])
                    && !access::owns(st, &roles, &key)
                    && !access::holds(st, &roles, "CREATE USER")
                {
                    return Err(access::denied(&key));
                }
                if st.users.remove(&n[0]).is_none() && !if_exists {
                    return Err(missing(&format!("User {full}")));
                }
                st.owners.remove(&key);
                let to = format!(" TO USER {full}");
                st.grants.retain(|g| !g.ends_with(&to));
                return Ok(status(&format!("{} successfully dropped.", n[0])));
            }
            let k = kind.to_ascii_lowercase();
            if !st.objects.contains(&format!("{k} {full}")) {
                if if_exists {
                    return Ok(status("Drop statement executed successfully."));
                }
                return Err(missing(&format!("{kind} {full}")));
            }
            // Only the owner drops an object.
            if !access::owns(st, &roles, &format!("{k} {full}")) {
                return Err(access::denied(&format!("{k} {full}")));
            }
            st.owners.remove(&format!("{k} {full}"));
            if *kind == "ROLE" {
                st.objects.remove(&format!("role {full}"));
                let to = format!(" TO ROLE {full}");
                let of = format!("ROLE {full} TO ");
                st.grants
                    .retain(|g| !g.ends_with(&to) && !g.starts_with(&of));
            } else {
                drop_object(st, &k, &full);
            }
            Ok(status(&format!(
                "{} successfully dropped.",
                n.last().unwrap()
            )))
        }
        ["ALTER", "ROLE", ..] => {
            let (from, rest) = name(&toks[2..]).ok_or_else(|| compile("role name"))?;
            let [Tok::Word(r), Tok::Word(t), rest @ ..] = rest else {
                return Err(compile("ALTER ROLE … RENAME TO …"));
            };
            if r != "RENAME" || t != "TO" {
                return Err(compile("ALTER ROLE … RENAME TO …"));
            }
            let (to, _) = name(rest).ok_or_else(|| compile("role name"))?;
            let (f, t) = (q(&from[0]), q(&to[0]));
            if !st.objects.contains(&format!("role {f}")) {
                return Err(missing(&format!("Role {f}")));
            }
            if !access::owns(st, &roles, &format!("role {f}")) {
                return Err(access::denied(&format!("role {f}")));
            }
            st.objects.remove(&format!("role {f}"));
            st.objects.insert(format!("role {t}"));
            if let Some(owner) = st.owners.remove(&format!("role {f}")) {
                st.owners.insert(format!("role {t}"), owner);
            }
            let grants: Vec<String> = st.grants.iter().cloned().collect();
            st.grants = grants
                .into_iter()
                .map(|g| g.replace(&format!("ROLE {f}"), &format!("ROLE {t}")))
                .collect();
            Ok(status("Statement executed successfully."))
        }
        ["CREATE", "USER", ..] => {
            let (n, rest) = name(&toks[2..]).ok_or_else(|| compile("user name"))?;
            let props = props(rest)?;
            if st.users.contains_key(&n[0]) {
                return Err(exists(&q(&n[0])));
            }
            if !access::holds(st, &roles, "CREATE USER") {
                return Err(access::denied("account"));
            }
            st.owners.insert(
                format!("user {}", q(&n[0])),
                current.clone().unwrap_or_default(),
            );
            let pw = props.get("PASSWORD").cloned().unwrap_or_default();
            let role = props.get("DEFAULT_ROLE").cloned().unwrap_or_default();
            let wh = props.get("DEFAULT_WAREHOUSE").cloned().unwrap_or_default();
            st.users.insert(n[0].clone(), (pw, role, wh));
            Ok(status(&format!("User {} successfully created.", n[0])))
        }
        ["ALTER", "USER", ..] => {
            let (n, rest) = name(&toks[2..]).ok_or_else(|| compile("user name"))?;
            let [Tok::Word(set), rest @ ..] = rest else {
                return Err(compile("ALTER USER … SET"));
            };
            if set != "SET" {
                return Err(compile("ALTER USER … SET"));
            }
            let props = props(rest)?;
            // A user may change its own password; anything else needs the
            // user's owner or a role that manages users.
            let own_password = n[0] == user && props.keys().all(|k| k == "PASSWORD");
            let manages = access::owns(st, &roles, &format!("user {}", q(&n[0])))
                || access::holds(st, &roles, "CREATE USER");
            if !own_password && !manages {
                return Err((
                    "003001",
                    "SQL access control error: Insufficient privileges to operate on user.".into(),
                ));
            }
            let Some(u) = st.users.get_mut(&n[0]) else {
                return Err(missing(&format!("User {}", q(&n[0]))));
            };
            if let Some(p) = props.get("PASSWORD") {
                u.0 = p.clone();
            }
            if let Some(wh) = props.get("DEFAULT_WAREHOUSE") {
                u.2 = wh.clone();
            }
            Ok(status("Statement executed successfully."))
        }
        ["GRANT", ..] | ["REVOKE", ..] => {
            let grant = w[0] == "GRANT";
            let sep = if grant { "TO" } else { "FROM" };
            let pos = toks
                .iter()
                .rposition(|t| *t == Tok::Word(sep.into()))
                .ok_or_else(|| compile("grantee"))?;
            let what = &toks[1..pos];
            let grantee = &toks[pos + 1..];
            let (gkind, gname) = match grantee {
                [Tok::Word(k), rest @ ..] if k == "ROLE" || k == "USER" => {
                    let (n, _) = name(rest).ok_or_else(|| compile("grantee name"))?;
                    (k.clone(), n[0].clone())
                }
                _ => return Err(compile("grantee")),
            };
            let grantee_exists = if gkind == "ROLE" {
                st.objects.contains(&format!("role {}", q(&gname)))
            } else {
                st.users.contains_key(&gname)
            };
            if !grantee_exists {
                return Err(missing(&format!("{gkind} {}", q(&gname))));
            }
            // What is granted must exist: a role, or the object after ON.
            if let [Tok::Word(r), rest @ ..] = what {
                if r == "ROLE" {
                    let (n, _) = name(rest).ok_or_else(|| compile("role"))?;
                    if !st.objects.contains(&format!("role {}", q(&n[0]))) {
                        return Err(missing(&format!("Role {}", q(&n[0]))));
                    }
                }
            }
            if let Some(on) = what.iter().position(|t| *t == Tok::Word("ON".into())) {
                if let Some(Tok::Word(kind)) = what.get(on + 1) {
                    if kind != "ACCOUNT" {
                        let (n, _) = name(&what[on + 2..]).ok_or_else(|| compile("object"))?;
                        let obj = format!("{} {}", kind.to_ascii_lowercase(), qn(&n));
                        if !st.objects.contains(&obj) {
                            return Err(missing(&obj));
                        }
                    }
                }
            }
            let what_text = canon(what);
            // What is granted: privileges Snowflake knows, on something the
            // session owns, or with MANAGE GRANTS.
            if !what_text.starts_with("ROLE ") {
                access::check_privileges(&what_text).map_err(compile)?;
            }
            let object = if let Some(role) = what_text.strip_prefix("ROLE ") {
                Some(format!("role {role}"))
            } else {
                what_text.split_once(" ON ").and_then(|(_, on)| {
                    let (kind, name) = on.split_once(' ')?;
                    (kind != "ACCOUNT").then(|| format!("{} {name}", kind.to_ascii_lowercase()))
                })
            };
            let may = access::holds(st, &roles, "MANAGE GRANTS")
                || object.as_ref().is_some_and(|o| access::owns(st, &roles, o));
            if !may {
                return Err(access::denied(object.as_deref().unwrap_or("account")));
            }
            let key = format!("{what_text} TO {gkind} {}", q(&gname));
            if grant {
                st.grants.insert(key);
            } else {
                st.grants.remove(&key);
            }
            Ok(status("Statement executed successfully."))
        }
        ["INSERT", "INTO", ..] => {
            let (n, rest) = name(&toks[2..]).ok_or_else(|| compile("table"))?;
            let v = rest.iter().rev().find_map(|t| match t {
                Tok::Word(x) => x.parse::<i64>().ok(),
                _ => None,
            });
            let rows = st.rows.get_mut(&qn(&n)).ok_or_else(|| missing(&qn(&n)))?;
            rows.push(v.ok_or_else(|| compile("value"))?);
            Ok(
                json!({"data": {"rowtype": [{"name": "number of rows inserted", "type": "fixed"}], "rowset": [["1"]], "total": 1, "queryResultFormat": "json"}, "success": true}),
            )
        }
        ["DELETE", "FROM", ..] => {
            let (n, rest) = name(&toks[2..]).ok_or_else(|| compile("table"))?;
            let v = last_number(rest).ok_or_else(|| compile("value"))?;
            let rows = st.rows.get_mut(&qn(&n)).ok_or_else(|| missing(&qn(&n)))?;
            rows.retain(|x| *x != v);
            Ok(
                json!({"data": {"rowtype": [{"name": "number of rows deleted", "type": "fixed"}], "rowset": [["1"]], "total": 1, "queryResultFormat": "json"}, "success": true}),
            )
        }
        ["UPDATE", ..] => {
            let (n, rest) = name(&toks[1..]).ok_or_else(|| compile("table"))?;
            let nums: Vec<i64> = rest
                .iter()
                .filter_map(|t| match t {
                    Tok::Word(x) => x.parse::<i64>().ok(),
                    _ => None,
                })
                .collect();
            let [to, from] = nums.as_slice() else {
                return Err(compile("UPDATE … SET VERSION = a WHERE VERSION = b"));
            };
            let rows = st.rows.get_mut(&qn(&n)).ok_or_else(|| missing(&qn(&n)))?;
            for r in rows.iter_mut().filter(|r| **r == *from) {
                *r = *to;
            }
            Ok(
                json!({"data": {"rowtype": [{"name": "number of rows updated", "type": "fixed"}], "rowset": [["1"]], "total": 1, "queryResultFormat": "json"}, "success": true}),
            )
        }
        ["SELECT", "MAX", ..] => {
            let from = toks
                .iter()
                .position(|t| *t == Tok::Word("FROM".into()))
                .ok_or_else(|| compile("FROM"))?;
            let (n, _) = name(&toks[from + 1..]).ok_or_else(|| compile("table"))?;
            let rows = st.rows.get(&qn(&n)).ok_or_else(|| missing(&qn(&n)))?;
            let max = rows
                .iter()
                .max()
                .map(|v| json!(v.to_string()))
                .unwrap_or(Value::Null);
            Ok(ok_rows(&["MAX(VERSION)"], vec![vec![max]]))
        }
        _ => Err(compile(format!(
            "the fake server does not understand: {}",
            canon(&toks)
        ))),
    }
}

fn last_number(toks: &[Tok]) -> Option<i64> {
    toks.iter().rev().find_map(|t| match t {
        Tok::Word(x) => x.parse::<i64>().ok(),
        _ => None,
    })
}

/// `KEY = value` properties (values: strings, identifiers, words).
fn props(toks: &[Tok]) -> Result<BTreeMap<String, String>, (&'static str, String)> {
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        let (Some(Tok::Word(k)), Some(Tok::Punct('=')), Some(v)) =
            (toks.get(i), toks.get(i + 1), toks.get(i + 2))
        else {
            return Err(compile(format!("property list near {:?}", toks.get(i))));
        };
        let v = match v {
            Tok::Str(s) | Tok::Ident(s) | Tok::Word(s) => s.clone(),
            Tok::Punct(c) => c.to_string(),
        };
        out.insert(k.clone(), v);
        i += 3;
    }
    Ok(out)
}
