//! JSON over HTTPS for the REST platforms, on reqwest with rustls (aws-lc-rs),
//! the workspace's one HTTP client stack.
//!
//! What every REST platform needs and gets here once:
//! - a connect timeout and a per-request timeout;
//! - typed errors ([`HttpError`]): transport, timeout, an error status with
//!   the server's JSON error body read in the common shapes (Databricks'
//!   `{"error_code","message"}`, Google's `{"error":{"code","status","message"}}`,
//!   OAuth's `{"error","error_description"}`), and **not JSON** when a server
//!   (a proxy, a login page) answers HTML where JSON was due;
//! - retries with exponential backoff for idempotent requests only (GET, PUT,
//!   DELETE, or a POST marked [`Request::idempotent`]), on transport failures
//!   and 429/500/502/503/504, honouring `Retry-After` in seconds;
//! - bearer tokens from a [`TokenSource`], cached until shortly before they
//!   expire and fetched again once after a 401.
//!
//! Certificates are verified against the web PKI roots, plus an optional
//! extra root (PEM) for a private CA or a local test server; there is no way
//! to turn verification off.
//!
//! No secret goes into an error or a log line: a token or a form body is
//! never formatted, and errors carry the method, the path and the server's words.

use junction_core::Secret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub use reqwest::Method;

/// How long before its expiry a cached token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The longest `Retry-After` honoured; a server asking for more fails the call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// How much of a non-JSON body an error quotes.
const EXCERPT_CHARS: usize = 120;

/// Timeouts, retries and trust.
#[derive(Clone)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// For one attempt of one request, the response body included.
    pub request_timeout: Duration,
    /// Extra attempts of an idempotent request.
    pub retries: u32,
    /// The first retry's pause; each next one doubles.
    pub backoff: Duration,
    /// A PEM root certificate to trust besides the web PKI's.
    pub extra_root_pem: Option<Vec<u8>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retries: 2,
            backoff: Duration::from_millis(200),
            extra_root_pem: None,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retries", &self.retries)
            .field("extra_root", &self.extra_root_pem.is_some())
            .finish()
    }
}

/// Why a call failed. Names no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("the HTTP client could not be built: {0}")]
    Setup(String),
    /// `request` is the method and path: `GET /api/2.1/unity-catalog/catalogs`.
    #[error("{request}: could not reach the server: {cause}")]
    Transport { request: String, cause: String },
    #[error("{request}: no answer within {seconds} s")]
    Timeout { request: String, seconds: u64 },
    #[error("{request}: HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        request: String,
        status: u16,
        /// The error code of the body (`error_code`, `error.status`, `error`).
        code: Option<String>,
        message: String,
        /// The error body as JSON (`Null` when there was none).
        body: Box<Value>,
    },
    #[error(
        "{request}: HTTP {status} answered {content_type} where JSON was expected: {excerpt:?}"
    )]
    NotJson {
        request: String,
        status: u16,
        content_type: String,
        excerpt: String,
    },
    #[error("{request}: the answer did not have the expected shape: {cause}")]
    Decode { request: String, cause: String },
    #[error("the access token could not be obtained: {0}")]
    Token(String),
}

impl HttpError {
    /// The HTTP status of an answer that was an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } | HttpError::NotJson { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error code the server gave, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            HttpError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// An access token and how long it lives.
pub struct Token {
    pub value: Secret<String>,
    /// `None`: until the server refuses it.
    pub expires_in: Option<Duration>,
}

/// Where bearer tokens come from (OAuth client credentials, a JWT bearer
/// grant, …). Called through the cache only.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + 'static {
    /// A fresh token; `http` is the client's own transport, with no auth.
    async fn fetch(&self, http: &JsonClient) -> Result<Token, HttpError>;
}

/// How requests authenticate.
#[derive(Clone)]
pub enum Auth {
    None,
    /// A fixed bearer token (a personal access token).
    Bearer(Secret<String>),
    /// Tokens from a source, cached.
    Source(Arc<dyn TokenSource>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::None => "None",
            Auth::Bearer(_) => "Bearer([redacted])",
            Auth::Source(_) => "Source",
        })
    }
}

/// A request body.
enum Body {
    Json(Value),
    /// `application/x-www-form-urlencoded`; values may be credentials (an
    /// assertion, a client secret), so they are never formatted.
    Form(Vec<(String, Secret<String>)>),
}

/// One call: method, path (joined to the client's base URL), query, body.
pub struct Request {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Body>,
    headers: Vec<(String, Secret<String>)>,
    basic: Option<(String, Secret<String>)>,
    idempotent: bool,
    /// Send without the client's auth (token endpoints).
    anonymous: bool,
    /// An absolute URL instead of base + path (a token URI elsewhere).
    absolute: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Request {
    /// `METHOD path`, for errors and logs (no query, no body).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            basic: None,
            idempotent,
            anonymous: false,
            absolute: false,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Request::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>) -> Self {
        Request::new(Method::POST, path)
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Request::new(Method::DELETE, path)
    }

    /// A POST to an absolute URL, without the client's auth: a token endpoint.
    pub fn token_endpoint(url: impl Into<String>) -> Self {
        let mut r = Request::post(url);
        r.anonymous = true;
        r.absolute = true;
        r
    }

    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    pub fn form(mut self, fields: Vec<(String, Secret<String>)>) -> Self {
        self.body = Some(Body::Form(fields));
        self
    }

    /// A header whose value is never formatted.
    pub fn header(mut self, name: impl Into<String>, value: Secret<String>) -> Self {
        self.headers.push((name.into(), value));
        self
    }

    pub fn basic_auth(mut self, user: impl Into<String>, password: Secret<String>) -> Self {
        self.basic = Some((user.into(), password));
        self
    }

    /// May be retried although its method is POST (the server deduplicates it).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Never retried (a POST that must not run twice, even as a PUT).
    pub fn once(mut self) -> Self {
        self.idempotent = false;
        self
    }
}

/// An answer with a 2xx status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The body as JSON; `Null` for an empty body.
    pub body: Value,
}

impl Response {
    /// The body as `T`.
    pub fn decode<T: DeserializeOwned>(self, what: &Request) -> Result<T, HttpError> {
        serde_json::from_value(self.body).map_err(|e| HttpError::Decode {
            request: what.describe(),
            cause: e.to_string(),
        })
    }
}

struct Cached {
    value: Secret<String>,
    /// When it must be replaced (`None`: until refused).
    refresh_at: Option<Instant>,
}

/// A JSON-over-HTTPS client for one base URL.
pub struct JsonClient {
    http: reqwest::Client,
    base: String,
    options: HttpOptions,
    auth: Auth,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for JsonClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonClient")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

/// rustls on aws-lc-rs, verifying against the web PKI roots and the extra
/// root. The provider is passed explicitly, so this works whatever the
/// process installed; installing it as the default too (when none is) keeps
/// other rustls users in the process from panicking on a missing provider.
fn tls_config(extra_root_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, HttpError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let _ = rustls::crypto::CryptoProvider::install_default(
        rustls::crypto::aws_lc_rs::default_provider(),
    );
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_root_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|e| HttpError::Setup(format!("the extra root is not PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| HttpError::Setup(format!("the extra root was refused: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(HttpError::Setup(
                "the extra root holds no certificate".into(),
            ));
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The cause of a transport error with its sources.
fn transport_cause(e: &reqwest::Error) -> String {
    let mut cause = e.without_url_ref_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    cause
}

trait WithoutUrl {
    fn without_url_ref_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    /// reqwest's text names the URL, query included; the method and path are
    /// in our error already.
    fn without_url_ref_string(&self) -> String {
        if self.is_connect() {
            "connection failed".into()
        } else if self.is_body() || self.is_decode() {
            "the answer's body could not be read".into()
        } else if self.is_request() {
            "the request could not be sent".into()
        } else {
            "transport error".into()
        }
    }
}

/// The code and message of a JSON error body, in the shapes platforms use.
fn error_parts(body: &Value) -> (Option<String>, String) {
    let s = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(e) = body.get("error").filter(|e| e.is_object()) {
        // Google: {"error": {"code": 404, "message": …, "status": "NOT_FOUND"}}
        let code = e
            .get("status")
            .and_then(s)
            .or_else(|| e.get("code").map(|c| c.to_string()));
        let message = e.get("message").and_then(s).unwrap_or_default();
        return (code, message);
    }
    let code = body
        .get("error_code")
        .and_then(|c| s(c).or_else(|| c.as_i64().map(|n| n.to_string())))
        .or_else(|| body.get("error").and_then(s))
        .or_else(|| body.get("code").and_then(s));
    let message = body
        .get("message")
        .and_then(s)
        .or_else(|| body.get("error_description").and_then(s))
        .or_else(|| body.get("detail").and_then(s))
        .unwrap_or_default();
    (code, message)
}

fn excerpt(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    match flat.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat.to_owned(),
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// What one attempt came to.
enum Attempt {
    Done(Result<Response, HttpError>),
    /// Worth another try (if the request may be repeated), after at least this.
    Retry(HttpError, Option<Duration>),
    Unauthorized(HttpError),
}

impl JsonClient {
    /// A client for `base` (`https://host[:port]`, no trailing slash needed).
    pub fn new(base: &str, options: HttpOptions, auth: Auth) -> Result<Self, HttpError> {
        let tls = tls_config(options.extra_root_pem.as_deref())?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("Junction/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Setup(transport_cause(&e)))?;
        Ok(JsonClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            options,
            auth,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        let req = Request::get(path);
        let resp = self.send(&req).await?;
        resp.decode(&req)
    }

    /// Sends `req` with retries (idempotent requests only) and auth.
    pub async fn send(&self, req: &Request) -> Result<Response, HttpError> {
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            // A token endpoint's own request goes without a token: asking the
            // cache for one there would wait on the fetch that sent it.
            let token = if req.anonymous {
                None
            } else {
                self.token(false).await?
            };
            match self.attempt(req, token.as_ref()).await {
                Attempt::Done(r) => return r,
                Attempt::Unauthorized(e) => {
                    // A refused token was not applied: one fresh token, once.
                    if refreshed || !matches!(self.auth, Auth::Source(_)) || req.anonymous {
                        return Err(e);
                    }
                    refreshed = true;
                    tracing::info!(method = %req.method, path = %req.path, "token refused (401): fetching a new one");
                    self.token(true).await?;
                }
                Attempt::Retry(e, after) => {
                    if !req.idempotent || attempt >= self.options.retries {
                        return Err(e);
                    }
                    let backoff = self.options.backoff.saturating_mul(1 << attempt.min(16));
                    let pause = match after {
                        Some(a) if a > MAX_RETRY_AFTER => return Err(e),
                        Some(a) => a.max(backoff),
                        None => backoff,
                    };
                    attempt += 1;
                    tracing::info!(method = %req.method, path = %req.path, attempt, pause_ms = pause.as_millis() as u64, error = %e, "retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// The bearer token to send, from the cache or the source.
    async fn token(&self, force: bool) -> Result<Option<Secret<String>>, HttpError> {
        let source = match &self.auth {
            Auth::None => return Ok(None),
            Auth::Bearer(t) => return Ok(Some(t.clone())),
            Auth::Source(s) => s,
        };
        let mut cache = self.cache.lock().await;
        if !force
            && let Some(c) = cache.as_ref()
            && c.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(Some(c.value.clone()));
        }
        let token = source.fetch(self).await?;
        let refresh_at = token
            .expires_in
            .map(|life| Instant::now() + life.saturating_sub(REFRESH_MARGIN.min(life / 2)));
        *cache = Some(Cached {
            value: token.value.clone(),
            refresh_at,
        });
        Ok(Some(token.value))
    }

    async fn attempt(&self, req: &Request, token: Option<&Secret<String>>) -> Attempt {
        let request = req.describe();
        let url = if req.absolute {
            req.path.clone()
        } else {
            format!("{}{}", self.base, req.path)
        };
        let mut b = self
            .http
            .request(req.method.clone(), &url)
            .timeout(self.options.request_timeout);
        // JSON unless the request names its own media type (Snowflake's
        // `application/snowflake`).
        if !req
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
        {
            b = b.header(reqwest::header::ACCEPT, "application/json");
        }
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        if let (Some(t), false) = (token, req.anonymous) {
            b = b.bearer_auth(t.expose());
        }
        if let Some((user, password)) = &req.basic {
            b = b.basic_auth(user, Some(password.expose()));
        }
        for (name, value) in &req.headers {
            b = b.header(name.as_str(), value.expose().as_str());
        }
        b = match &req.body {
            Some(Body::Json(v)) => b.json(v),
            Some(Body::Form(fields)) => {
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.expose().as_str()))
                    .collect();
                b.form(&pairs)
            }
            None => b,
        };
        let resp = match b.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(
                    HttpError::Timeout {
                        request,
                        seconds: self.options.request_timeout.as_secs(),
                    },
                    None,
                );
            }
            Err(e) => {
                return Attempt::Retry(
                    HttpError::Transport {
                        request,
                        cause: transport_cause(&e),
                    },
                    None,
                );
            }
        };
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(
                    HttpError::Timeout {
                        request,
                        seconds: self.options.request_timeout.as_secs(),
                    },
                    None,
                );
            }
            Err(e) => {
                return Attempt::Retry(
                    HttpError::Transport {
                        request,
                        cause: transport_cause(&e),
                    },
                    None,
                );
            }
        };
        let body = if text.trim().is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_str::<Value>(&text)
        };
        let body = match body {
            Ok(v) => v,
            Err(_) => {
                let e = HttpError::NotJson {
                    request,
                    status,
                    content_type: if content_type.is_empty() {
                        "no content type".into()
                    } else {
                        content_type
                    },
                    excerpt: excerpt(&text),
                };
                return if matches!(status, 429 | 500 | 502 | 503 | 504) {
                    Attempt::Retry(e, after)
                } else {
                    Attempt::Done(Err(e))
                };
            }
        };
        if (200..300).contains(&status) {
            return Attempt::Done(Ok(Response { status, body }));
        }
        let (code, message) = error_parts(&body);
        let e = HttpError::Status {
            request,
            status,
            code,
            message,
            body: Box::new(body),
        };
        match status {
            401 => Attempt::Unauthorized(e),
            // 500 too: Google asks clients to retry `backendError`; only
            // idempotent requests are ever retried.
            429 | 500 | 502 | 503 | 504 => Attempt::Retry(e, after),
            _ => Attempt::Done(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_in_each_platforms_shape() {
        let google = serde_json::json!({"error": {"code": 404, "message": "Not found: Dataset p:d", "status": "NOT_FOUND"}});
        assert_eq!(
            error_parts(&google),
            (Some("NOT_FOUND".into()), "Not found: Dataset p:d".into())
        );
        let databricks =
            serde_json::json!({"error_code": "PERMISSION_DENIED", "message": "no USE CATALOG"});
        assert_eq!(
            error_parts(&databricks),
            (Some("PERMISSION_DENIED".into()), "no USE CATALOG".into())
        );
        // Databricks also answers a numeric code.
        let numeric = serde_json::json!({"error_code": 403, "message": "Invalid access token."});
        assert_eq!(
            error_parts(&numeric),
            (Some("403".into()), "Invalid access token.".into())
        );
        let oauth =
            serde_json::json!({"error": "invalid_client", "error_description": "bad secret"});
        assert_eq!(
            error_parts(&oauth),
            (Some("invalid_client".into()), "bad secret".into())
        );
    }

    #[test]
    fn an_excerpt_is_short_and_on_one_line() {
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let e = excerpt(&html);
        assert!(!e.contains('\n'));
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.starts_with("<html> <body>"));
    }

    #[test]
    fn debug_prints_no_credential() {
        let r = Request::token_endpoint("https://example.test/token")
            .basic_auth("client", Secret::new("SENTINEL-client-secret".into()))
            .form(vec![(
                "assertion".into(),
                Secret::new("SENTINEL-assertion".into()),
            )]);
        let auth = Auth::Bearer(Secret::new("SENTINEL-token".into()));
        let text = format!("{r:?} {auth:?}");
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}
