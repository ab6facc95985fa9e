//! A fake S3 Control server for S3 Access Grants, which moto lacks. It follows
//! the published API: the paths under `/v20180820/accessgrantsinstance`, the
//! `x-amz-account-id` header, the XML request and response bodies, and the
//! documented error codes (`AccessGrantsInstanceNotExistsError` 404,
//! `NoSuchAccessGrantsLocationError` 404,
//! `AccessGrantsLocationAlreadyExistsError` 409, `AccessDenied` 403, …) in the
//! `ErrorResponse` shape the SDK's S3 Control model reads, with the request id
//! in `x-amz-request-id`.
//!
//! It checks every SigV4 `Authorization` header it receives (algorithm,
//! credential scope `…/<region>/s3/aws4_request`, signed headers) and, for the
//! keys it is told about, recomputes the signature with the secret: a wrong
//! one is a 403 `SignatureDoesNotMatch`, as AWS answers.
//!
//! Everything else (STS, S3) is forwarded to moto, so one `endpointUrl`
//! serves all three services, as it would behind a private endpoint.

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

pub const INSTANCE_ARN_PREFIX: &str = "arn:aws:s3:us-east-1";
/// The region of instances and locations added without one: the tests'.
pub const DEFAULT_REGION: &str = "us-east-1";

/// One location the server holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub account: String,
    /// Access Grants are regional: an instance and its locations live in one region.
    pub region: String,
    pub id: String,
    pub scope: String,
    pub role: String,
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub op: String,
    pub method: String,
    pub path: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
    pub signed_headers: Vec<String>,
    /// `Ok(true)` when the signature was recomputed and matched; `Ok(false)`
    /// when the key was unknown (format checked only); `Err` when refused.
    pub signature: Result<bool, String>,
    pub body: String,
}

#[derive(Debug, Clone)]
struct Failure {
    op: String,
    status: u16,
    code: String,
    message: String,
}

#[derive(Default)]
struct Inner {
    /// (account, region) of each instance.
    instances: Vec<(String, String)>,
    /// The account each known access key belongs to: a call for another
    /// account is refused, as AWS refuses it without a cross-account grant.
    key_accounts: HashMap<String, String>,
    locations: BTreeMap<String, Location>,
    next_id: u32,
    next_request: u32,
    denied: Vec<String>,
    failures: Vec<Failure>,
    secrets: HashMap<String, String>,
    strict_keys: bool,
    page_size: Option<usize>,
    prefix_filter: bool,
    seen: Vec<Seen>,
}

/// The running server. Dropping it stops it.
pub struct FakeS3Control {
    pub endpoint: String,
    state: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeS3Control {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct App {
    state: Arc<Mutex<Inner>>,
    upstream: Option<String>,
}

impl FakeS3Control {
    /// Starts on 127.0.0.1 (a free port); `upstream` (moto) receives what is
    /// not S3 Control.
    pub async fn start(upstream: Option<&str>) -> Self {
        let state = Arc::new(Mutex::new(Inner::default()));
        let app = App {
            state: Arc::clone(&state),
            upstream: upstream.map(|u| u.trim_end_matches('/').to_owned()),
        };
        let router = axum::Router::new().fallback(handle).with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeS3Control {
            endpoint: format!("http://{addr}"),
            state,
            task,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }

    /// An Access Grants instance exists for `account` in the default region.
    pub fn add_instance(&self, account: &str) {
        self.add_instance_in(account, DEFAULT_REGION);
    }

    /// An Access Grants instance exists for `account` in `region`.
    pub fn add_instance_in(&self, account: &str, region: &str) {
        self.with(|s| s.instances.push((account.to_owned(), region.to_owned())));
    }

    /// Registers a location directly (as if someone else had), in the default region.
    pub fn add_location(&self, account: &str, scope: &str, role: &str) -> String {
        self.with(|s| insert_location(s, account, DEFAULT_REGION, scope, role))
    }

    /// Requests signed with `key_id` come from `account`.
    pub fn key_belongs_to(&self, key_id: &str, account: &str) {
        self.with(|s| {
            s.key_accounts.insert(key_id.to_owned(), account.to_owned());
        });
    }

    pub fn locations(&self) -> Vec<Location> {
        self.with(|s| s.locations.values().cloned().collect())
    }

    /// Every call of `op` (`ListAccessGrantsLocations`, …, or `*`) is refused
    /// with 403 `AccessDenied`.
    pub fn deny(&self, op: &str) {
        self.with(|s| s.denied.push(op.to_owned()));
    }

    /// The next call of `op` fails with this error (once).
    pub fn fail_next(&self, op: &str, status: u16, code: &str, message: &str) {
        self.with(|s| {
            s.failures.push(Failure {
                op: op.to_owned(),
                status,
                code: code.to_owned(),
                message: message.to_owned(),
            })
        });
    }

    /// The server recomputes signatures made with this key.
    pub fn know_key(&self, key_id: &str, secret: &str) {
        self.with(|s| {
            s.secrets.insert(key_id.to_owned(), secret.to_owned());
        });
    }

    /// Unknown key ids are refused (403 `InvalidAccessKeyId`) instead of
    /// having their format checked only.
    pub fn strict_keys(&self) {
        self.with(|s| s.strict_keys = true);
    }

    /// Lists locations `n` at a time (with `NextToken`), and filters by
    /// scope prefix instead of exact scope: the client must page and match
    /// exactly by itself.
    pub fn page_by(&self, n: usize, prefix_filter: bool) {
        self.with(|s| {
            s.page_size = Some(n);
            s.prefix_filter = prefix_filter;
        });
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }
}

fn insert_location(s: &mut Inner, account: &str, region: &str, scope: &str, role: &str) -> String {
    s.next_id += 1;
    let id = format!("a1b2c3d4-5e6f-4a0b-9c8d-{:012x}", s.next_id);
    s.locations.insert(
        id.clone(),
        Location {
            account: account.to_owned(),
            region: region.to_owned(),
            id: id.clone(),
            scope: scope.to_owned(),
            role: role.to_owned(),
        },
    );
    id
}

const NS: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";
const CREATED_AT: &str = "2026-01-01T00:00:00Z";

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml_unescape(&xml[start..end]))
}

fn location_xml(l: &Location, tag: &str) -> String {
    format!(
        "<{tag}><CreatedAt>{CREATED_AT}</CreatedAt><AccessGrantsLocationId>{}</AccessGrantsLocationId><AccessGrantsLocationArn>arn:aws:s3:{}:{}:access-grants/default/location/{}</AccessGrantsLocationArn><LocationScope>{}</LocationScope><IAMRoleArn>{}</IAMRoleArn></{tag}>",
        l.id,
        l.region,
        l.account,
        l.id,
        xml_escape(&l.scope),
        xml_escape(&l.role)
    )
}

fn result_xml(root: &str, inner: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NS}\">{inner}</{root}>")
}

fn respond(status: u16, request_id: &str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("x-amz-request-id", request_id)
        .header("x-amz-id-2", format!("host-{request_id}"))
        .header("content-type", "application/xml")
        .body(Body::from(body))
        .expect("response")
}

fn error(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    respond(
        status,
        request_id,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId><HostId>host-{request_id}</HostId></ErrorResponse>",
            xml_escape(message)
        ),
    )
}

/// The operation a request names, from the published paths.
fn operation(method: &str, path: &str) -> Option<(&'static str, Option<String>)> {
    let rest = path.strip_prefix("/v20180820/accessgrantsinstance")?;
    Some(match (method, rest) {
        ("GET", "") => ("GetAccessGrantsInstance", None),
        ("POST", "") => ("CreateAccessGrantsInstance", None),
        ("DELETE", "") => ("DeleteAccessGrantsInstance", None),
        ("GET", "/locations") => ("ListAccessGrantsLocations", None),
        ("POST", "/location") => ("CreateAccessGrantsLocation", None),
        (m, r) if r.starts_with("/location/") => {
            let id = r["/location/".len()..].to_owned();
            let op = match m {
                "GET" => "GetAccessGrantsLocation",
                "PUT" => "UpdateAccessGrantsLocation",
                "DELETE" => "DeleteAccessGrantsLocation",
                _ => return None,
            };
            (op, Some(id))
        }
        _ => return None,
    })
}

fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SigV4's URI encoding: everything but unreserved characters.
fn sigv4_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

struct Auth {
    key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_auth(value: &str) -> Result<Auth, String> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("the algorithm is not AWS4-HMAC-SHA256")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or("no Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(format!("bad credential scope {credential}"));
    }
    let signature = signature.ok_or("no Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the signature is not 64 hex digits".into());
    }
    Ok(Auth {
        key_id: scope[0].to_owned(),
        date: scope[1].to_owned(),
        region: scope[2].to_owned(),
        service: scope[3].to_owned(),
        signed_headers: signed
            .ok_or("no SignedHeaders")?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: signature.to_owned(),
    })
}

/// Recomputes the signature of a request (S3 rules: the path as sent, no
/// double encoding; the payload hash from `x-amz-content-sha256`).
fn expected_signature(
    auth: &Auth,
    secret: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, String> {
    let mut params = query_params(query);
    params.sort();
    let canonical_query = params
        .iter()
        .map(|(k, v)| format!("{}={}", sigv4_encode(k), sigv4_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} is missing"));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let body_hash = hex(&Sha256::digest(body));
    let payload_hash = match headers.get("x-amz-content-sha256") {
        Some(v) => {
            let v = v.to_str().map_err(|_| "bad x-amz-content-sha256")?;
            if v != "UNSIGNED-PAYLOAD" && v != body_hash {
                return Err("x-amz-content-sha256 does not match the body".into());
            }
            v.to_owned()
        }
        None => body_hash,
    };
    let canonical_request = format!(
        "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
        auth.signed_headers.join(";")
    );
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or("no x-amz-date")?;
    if !amz_date.starts_with(&auth.date) {
        return Err("x-amz-date and the credential scope's date differ".into());
    }
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), &auth.date);
    let k_region = hmac(&k_date, &auth.region);
    let k_service = hmac(&k_region, &auth.service);
    let k_signing = hmac(&k_service, "aws4_request");
    Ok(hex(&hmac(&k_signing, &string_to_sign)))
}

async fn proxy(upstream: &str, req: Request) -> Response {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let authority = upstream.trim_start_matches("http://").to_owned();
    let Ok(stream) = tokio::net::TcpStream::connect(&authority).await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from("moto is not reachable"))
            .expect("response");
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
    else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .expect("response");
    };
    tokio::spawn(conn);
    let mut out = hyper::Request::builder().method(parts.method).uri(
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    );
    // The Host header stays as signed: moto checks signatures against it.
    for (k, v) in &parts.headers {
        out = out.header(k, v);
    }
    let out = out.body(http_body_util::Full::new(body)).expect("request");
    match sender.send_request(out).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Body::from(body))
        }
        Err(e) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from(e.to_string()))
            .expect("response"),
    }
}

async fn handle(State(app): State<App>, req: Request) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let Some((op, id)) = operation(&method, &path) else {
        if path.starts_with("/v20180820/") {
            let rid = next_request_id(&app.state);
            return error(
                404,
                "NotImplemented",
                "The fake serves Access Grants only",
                &rid,
            );
        }
        return match &app.upstream {
            Some(up) => proxy(up, req).await,
            None => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Body::empty())
                .expect("response"),
        };
    };
    let headers = req.headers().clone();
    let body = {
        use http_body_util::BodyExt;
        req.into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default()
    };
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let rid = next_request_id(&app.state);
    let account = headers
        .get("x-amz-account-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    // Authentication, as AWS does it before anything else.
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(parse_auth);
    let mut seen = Seen {
        op: op.to_owned(),
        method: method.clone(),
        path: path.clone(),
        account: account.clone(),
        region: None,
        service: None,
        signed_headers: Vec::new(),
        signature: Err("no Authorization header".into()),
        body: body_text.clone(),
    };
    let mut signer: Option<String> = None;
    let verdict: Result<bool, (u16, &str, String)> = match auth {
        None => Err((
            403,
            "AccessDenied",
            "Anonymous access is not allowed".into(),
        )),
        Some(Err(e)) => Err((400, "AuthorizationHeaderMalformed", e)),
        Some(Ok(a)) => {
            signer = Some(a.key_id.clone());
            seen.region = Some(a.region.clone());
            seen.service = Some(a.service.clone());
            seen.signed_headers = a.signed_headers.clone();
            let secret = app
                .state
                .lock()
                .expect("state")
                .secrets
                .get(&a.key_id)
                .cloned();
            let strict = app.state.lock().expect("state").strict_keys;
            if a.service != "s3" {
                Err((
                    400,
                    "AuthorizationHeaderMalformed",
                    format!("the credential scope's service is {}, not s3", a.service),
                ))
            } else if ![
                "host",
                "x-amz-date",
                "x-amz-account-id",
                "x-amz-content-sha256",
            ]
            .iter()
            .all(|h| a.signed_headers.iter().any(|s| s == h))
            {
                Err((
                    403,
                    "AccessDenied",
                    "host, x-amz-date, x-amz-account-id and x-amz-content-sha256 must be signed"
                        .into(),
                ))
            } else {
                match secret {
                    Some(secret) => {
                        match expected_signature(&a, &secret, &method, &path, &query, &headers, &body)
                        {
                            Ok(sig) if sig == a.signature => Ok(true),
                            Ok(_) => Err((
                                403,
                                "SignatureDoesNotMatch",
                                "The request signature we calculated does not match the signature you provided. Check your key and signing method.".into(),
                            )),
                            Err(e) => Err((400, "InvalidRequest", e)),
                        }
                    }
                    None if strict => Err((
                        403,
                        "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.".into(),
                    )),
                    None => Ok(false),
                }
            }
        }
    };
    seen.signature = verdict
        .clone()
        .map_err(|(_, code, m)| format!("{code}: {m}"));
    // The region the request was signed for is the one it addresses.
    let region = seen.region.clone().unwrap_or_default();
    let mut s = app.state.lock().expect("state");
    s.seen.push(seen);
    if let Err((status, code, message)) = verdict {
        return error(status, code, &message, &rid);
    }
    let Some(account) = account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    else {
        return error(
            400,
            "InvalidRequest",
            "x-amz-account-id must be 12 digits",
            &rid,
        );
    };
    let owner = signer.as_ref().and_then(|k| s.key_accounts.get(k));
    if owner.is_some_and(|o| *o != account) {
        // Another account's instance, and no cross-account grant.
        return error(403, "AccessDenied", "Access Denied", &rid);
    }
    if s.denied.iter().any(|d| d == op || d == "*") {
        return error(403, "AccessDenied", "Access Denied", &rid);
    }
    if let Some(i) = s.failures.iter().position(|f| f.op == op) {
        let f = s.failures.remove(i);
        return error(f.status, &f.code, &f.message, &rid);
    }
    if !s.instances.contains(&(account.clone(), region.clone())) {
        return error(
            404,
            "AccessGrantsInstanceNotExistsError",
            "Access Grants Instance does not exist",
            &rid,
        );
    }
    match op {
        "GetAccessGrantsInstance" => respond(
            200,
            &rid,
            result_xml(
                "GetAccessGrantsInstanceResult",
                &format!(
                    "<AccessGrantsInstanceArn>arn:aws:s3:{region}:{account}:access-grants/default</AccessGrantsInstanceArn><AccessGrantsInstanceId>default</AccessGrantsInstanceId><CreatedAt>{CREATED_AT}</CreatedAt>"
                ),
            ),
        ),
        "ListAccessGrantsLocations" => {
            let params = query_params(&query);
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let scope = param("locationscope");
            let prefix_filter = s.prefix_filter;
            let matching: Vec<&Location> = s
                .locations
                .values()
                .filter(|l| l.account == account && l.region == region)
                .filter(|l| {
                    scope.as_ref().is_none_or(|sc| {
                        if prefix_filter {
                            l.scope.starts_with(sc.as_str())
                        } else {
                            &l.scope == sc
                        }
                    })
                })
                .collect();
            // Pages: `nextToken` is the index of the first item of the page.
            let start: usize = param("nextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let size = param("maxResults")
                .and_then(|m| m.parse().ok())
                .or(s.page_size)
                .unwrap_or(1000);
            let page: String = matching
                .iter()
                .skip(start)
                .take(size)
                .map(|l| location_xml(l, "AccessGrantsLocation"))
                .collect();
            let next = if start + size < matching.len() {
                format!("<NextToken>{}</NextToken>", start + size)
            } else {
                String::new()
            };
            respond(
                200,
                &rid,
                result_xml(
                    "ListAccessGrantsLocationsResult",
                    &format!("{next}<AccessGrantsLocationsList>{page}</AccessGrantsLocationsList>"),
                ),
            )
        }
        "CreateAccessGrantsLocation" => {
            let (Some(scope), Some(role)) = (
                xml_field(&body_text, "LocationScope"),
                xml_field(&body_text, "IAMRoleArn"),
            ) else {
                return error(
                    400,
                    "MalformedXML",
                    "The XML you provided was not well-formed",
                    &rid,
                );
            };
            if !body_text.contains("<CreateAccessGrantsLocationRequest") {
                return error(
                    400,
                    "MalformedXML",
                    "The XML you provided was not well-formed",
                    &rid,
                );
            }
            if !role.starts_with("arn:aws:iam::") || !role.contains(":role/") {
                return error(
                    400,
                    "InvalidIamRole",
                    "The specified IAM Role is invalid",
                    &rid,
                );
            }
            if !scope.starts_with("s3://") {
                return error(
                    400,
                    "InvalidAccessGrantsLocation",
                    "The specified Access Grants Location is invalid",
                    &rid,
                );
            }
            if s.locations
                .values()
                .any(|l| l.account == account && l.region == region && l.scope == scope)
            {
                return error(
                    409,
                    "AccessGrantsLocationAlreadyExistsError",
                    "The specified access grants location already exists",
                    &rid,
                );
            }
            let id = insert_location(&mut s, &account, &region, &scope, &role);
            let l = s.locations[&id].clone();
            respond(
                200,
                &rid,
                result_xml(
                    "CreateAccessGrantsLocationResult",
                    location_xml(&l, "X")
                        .trim_start_matches("<X>")
                        .trim_end_matches("</X>"),
                ),
            )
        }
        "UpdateAccessGrantsLocation" | "DeleteAccessGrantsLocation" | "GetAccessGrantsLocation" => {
            let id = id.unwrap_or_default();
            let found = s
                .locations
                .get(&id)
                .filter(|l| l.account == account && l.region == region)
                .cloned();
            let Some(mut l) = found else {
                return error(
                    404,
                    "NoSuchAccessGrantsLocationError",
                    "The specified access grants location does not exist",
                    &rid,
                );
            };
            match op {
                "DeleteAccessGrantsLocation" => {
                    s.locations.remove(&id);
                    respond(204, &rid, String::new())
                }
                "UpdateAccessGrantsLocation" => {
                    let Some(role) = xml_field(&body_text, "IAMRoleArn") else {
                        return error(
                            400,
                            "MalformedXML",
                            "The XML you provided was not well-formed",
                            &rid,
                        );
                    };
                    if !role.starts_with("arn:aws:iam::") || !role.contains(":role/") {
                        return error(
                            400,
                            "InvalidIamRole",
                            "The specified IAM Role is invalid",
                            &rid,
                        );
                    }
                    l.role = role;
                    s.locations.insert(id, l.clone());
                    let inner = location_xml(&l, "X");
                    respond(
                        200,
                        &rid,
                        result_xml(
                            "UpdateAccessGrantsLocationResult",
                            inner.trim_start_matches("<X>").trim_end_matches("</X>"),
                        ),
                    )
                }
                _ => {
                    let inner = location_xml(&l, "X");
                    respond(
                        200,
                        &rid,
                        result_xml(
                            "GetAccessGrantsLocationResult",
                            inner.trim_start_matches("<X>").trim_end_matches("</X>"),
                        ),
                    )
                }
            }
        }
        _ => error(501, "NotImplemented", "Not implemented by the fake", &rid),
    }
}

fn next_request_id(state: &Arc<Mutex<Inner>>) -> String {
    let mut s = state.lock().expect("state");
    s.next_request += 1;
    format!("FAKE{:012X}", s.next_request)
}
