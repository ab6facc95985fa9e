//! Shared by the tests: moto, unique names, a small HTTP client, IAM users and
//! buckets made directly in moto, configs, and the lock that keeps moto's
//! global auth enforcement away from the other tests.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use junction_core::OpContext;
use junction_s3::{S3, S3Config};
use junction_testkit::stand_ins::{self, Http};
use serde_json::{Value, json};

/// A key id the tests use where moto does not enforce auth.
pub const TEST_KEY_ID: &str = "AKIAJUNCTIONTEST0001";
/// The account moto reports, and the one the fake S3 Control server serves.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const LOCATION_ROLE: &str = "arn:aws:iam::123456789012:role/junction-location";

/// moto, or `None` (the test returns early) outside CI.
pub fn moto() -> Option<Http> {
    // The `auto` chain must never probe the EC2 instance metadata service
    // from a test.
    set_env("AWS_EC2_METADATA_DISABLED", "true");
    stand_ins::require::<Http>("moto")
}

/// Sets an environment variable. Each test runs in its own process under
/// nextest, and every test sets the same values, so the race std warns of
/// cannot change what another thread reads.
#[allow(unsafe_code)]
pub fn set_env(key: &str, value: &str) {
    if std::env::var(key).ok().as_deref() != Some(value) {
        // SAFETY: see above; the values set are the same in every test.
        unsafe { std::env::set_var(key, value) };
    }
}

/// Held by the tests that change AWS_* variables, so that under `cargo test`
/// (one process, many threads) they do not see each other's values.
pub static ENV_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Removes an environment variable (see [`set_env`]); only the test that
/// needs it gone does this, in its own process.
#[allow(unsafe_code)]
pub fn remove_env(key: &str) {
    if std::env::var_os(key).is_some() {
        // SAFETY: as for set_env.
        unsafe { std::env::remove_var(key) };
    }
}

/// A lowercase name no other test (or earlier run) uses: the tests share one
/// moto and run in parallel.
pub fn unique(tag: &str) -> String {
    junction_testkit::unique_name(tag, '-')
}

/// moto's auth enforcement is global: tests that use moto hold this lock
/// shared; the test that switches enforcement on holds it exclusively.
pub struct MotoLock(std::fs::File);

fn lock_file() -> std::fs::File {
    let path = std::env::temp_dir().join("junction-s3-moto-auth.lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .expect("lock file")
}

#[allow(clippy::incompatible_msrv)]
pub fn moto_shared() -> MotoLock {
    let f = lock_file();
    f.lock_shared().expect("shared lock");
    MotoLock(f)
}

#[allow(clippy::incompatible_msrv)]
pub fn moto_exclusive() -> MotoLock {
    let f = lock_file();
    f.lock().expect("exclusive lock");
    MotoLock(f)
}

/// One HTTP/1.1 request; returns the status, the headers and the body.
pub async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, hyper::HeaderMap, String) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// An AWS query-protocol call to moto while it does not check signatures:
/// the credential scope only routes it to the service.
pub async fn moto_query(moto: &Http, service: &str, params: &[(&str, &str)]) -> String {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={TEST_KEY_ID}/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=00"
    );
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let (status, _, text) = http(
        "POST",
        &format!("{}/", moto.endpoint),
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{service} {params:?}: {text}");
    text
}

pub fn encode(s: &str) -> String {
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

/// The text of the first `<tag>` in `xml`.
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_owned())
}

/// An IAM user in moto with an access key and an inline policy.
#[derive(Debug, Clone)]
pub struct IamUser {
    pub name: String,
    pub arn: String,
    pub user_id: String,
    pub key_id: String,
    pub secret: String,
}

pub async fn iam_user(moto: &Http, tag: &str, policy: &Value) -> IamUser {
    let name = unique(tag);
    let created = moto_query(
        moto,
        "iam",
        &[
            ("Action", "CreateUser"),
            ("Version", "2010-05-08"),
            ("UserName", &name),
        ],
    )
    .await;
    let key = moto_query(
        moto,
        "iam",
        &[
            ("Action", "CreateAccessKey"),
            ("Version", "2010-05-08"),
            ("UserName", &name),
        ],
    )
    .await;
    moto_query(
        moto,
        "iam",
        &[
            ("Action", "PutUserPolicy"),
            ("Version", "2010-05-08"),
            ("UserName", &name),
            ("PolicyName", "junction-test"),
            ("PolicyDocument", &policy.to_string()),
        ],
    )
    .await;
    IamUser {
        arn: xml_field(&created, "Arn").expect("arn"),
        user_id: xml_field(&created, "UserId").expect("user id"),
        key_id: xml_field(&key, "AccessKeyId").expect("key id"),
        secret: xml_field(&key, "SecretAccessKey").expect("secret"),
        name,
    }
}

/// A bucket in moto with objects under the given keys (path-style, unsigned:
/// moto sends unsigned requests to S3).
pub async fn bucket_with(moto: &Http, bucket: &str, keys: &[&str]) {
    let (status, _, text) = http(
        "PUT",
        &format!("{}/{bucket}", moto.endpoint),
        &[("content-type", "application/xml")],
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200, "create bucket: {text}");
    for key in keys {
        let (status, _, text) = http(
            "PUT",
            &format!("{}/{bucket}/{key}", moto.endpoint),
            &[("content-type", "text/plain")],
            b"junction".to_vec(),
        )
        .await;
        assert_eq!(status, 200, "put {key}: {text}");
    }
}

/// moto's IAM and signature enforcement: `true` on, `false` off.
pub async fn moto_enforce(moto: &Http, on: bool) {
    let (status, _, text) = http(
        "POST",
        &format!("{}/moto-api/reset-auth", moto.endpoint),
        &[("content-type", "text/plain")],
        if on { b"0".to_vec() } else { b"inf".to_vec() },
    )
    .await;
    assert_eq!(status, 200, "reset-auth: {text}");
}

/// Switches moto's enforcement off again when dropped, even after a panic.
pub struct EnforcementGuard {
    pub endpoint: String,
}

impl Drop for EnforcementGuard {
    fn drop(&mut self) {
        let endpoint = self.endpoint.clone();
        // A fresh thread and runtime: drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let moto = Http {
                    host: String::new(),
                    port: 0,
                    endpoint,
                };
                moto_enforce(&moto, false).await;
            });
        })
        .join();
    }
}

/// A valid `accessKey` config against `endpoint` (moto, or the fake S3 Control
/// server in front of it), with `SENTINEL` as the secret.
pub fn config(endpoint: &str, name: &str, path: &str) -> Value {
    json!({
        "name": name,
        "awsAccountId": ACCOUNT,
        "awsRegion": REGION,
        "awsLocationRole": LOCATION_ROLE,
        "awsLocationPath": path,
        "authenticationType": "accessKey",
        "awsAccessKeyId": TEST_KEY_ID,
        "awsSecretAccessKey": junction_testkit::SENTINEL,
        "endpointUrl": endpoint,
        "timeoutSeconds": 5
    })
}

pub fn typed(c: &Value) -> S3Config {
    junction_core::config::from_json_at(c, "config").expect("valid config")
}

pub fn op(version: u32) -> OpContext {
    OpContext {
        integration_id: Some(1),
        auto_bootstrap: false,
        bootstrap_version: version,
        fault: None,
    }
}

pub fn op_fault(version: u32, step: &str) -> OpContext {
    OpContext {
        fault: Some(junction_core::FaultInjection::at(step)),
        ..op(version)
    }
}

/// The test results by name.
pub fn result<'a>(
    r: &'a junction_core::ValidationResults,
    name: &str,
) -> &'a junction_core::ValidationTest {
    r.validation_tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test {name} in {r:?}"))
}

pub fn platform() -> junction_kit::Kit<S3> {
    S3::new()
}
