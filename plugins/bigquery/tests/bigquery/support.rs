//! Shared by the tests: configs, the typed config, and the stand-in.

#![allow(dead_code)]

use crate::keys::{self, PROJECT};
use junction_bigquery::BigQueryConfig;
use serde_json::{Value, json};

/// A lowercase dataset id no other test (or earlier run) uses: the tests
/// share one emulator and run in parallel.
pub fn unique(tag: &str) -> String {
    junction_testkit::unique_name(tag, '_').replace('-', "_")
}

/// A config for key `n` of the default test service account, its token
/// endpoint at `token_uri` (the key file's own `token_uri`).
pub fn config(n: usize, token_uri: &str, dataset: &str) -> Value {
    let email = keys::email("junction", PROJECT);
    json!({
        "role": "junction_test",
        "dataset": dataset,
        "datasetSuffix": "_secureView",
        "location": "us-east1",
        "credential": keys::key_file(n, PROJECT, &email, token_uri),
        "timeoutSeconds": 5
    })
}

pub fn typed(config: &Value) -> BigQueryConfig {
    junction_core::config::from_json_at(config, "config").expect("parses")
}

/// The config's errors as `(path, message)` pairs, from parsing and the rules.
pub fn errors(config: &Value) -> Vec<(String, String)> {
    let errors = match junction_core::config::from_json_at::<BigQueryConfig>(config, "config") {
        Err(e) => e,
        Ok(c) => match junction_bigquery::testing::config::validate(&c) {
            Err(e) => e,
            Ok(()) => return Vec::new(),
        },
    };
    errors.0.into_iter().map(|e| (e.path, e.message)).collect()
}

pub fn paths(config: &Value) -> Vec<String> {
    errors(config).into_iter().map(|(p, _)| p).collect()
}

use crate::fake_google::FakeGoogle;
use junction_bigquery::BigQuery;
use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus, ValidationResults};
use junction_testkit::stand_ins::{self, Http};

/// bqemulator, or `None` (the test returns early) outside CI.
pub fn emulator() -> Option<Http> {
    stand_ins::require::<Http>("bqemulator")
}

/// bqemulator serves its one DuckDB connection to one request at a time
/// ("connection is busy with another call" is a 500 otherwise): the tests
/// that use it take turns — threads of one process (`cargo test`) on a
/// mutex, processes (`cargo nextest`) on a file lock. (Real BigQuery has no
/// such limit.)
pub struct EmulatorTurn {
    _thread: tokio::sync::MutexGuard<'static, ()>,
    _process: std::fs::File,
}

pub async fn emulator_turn() -> EmulatorTurn {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let thread = TURN.lock().await;
    let process = tokio::task::spawn_blocking(|| {
        let path = std::env::temp_dir().join("junction-bigquery-emulator.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .expect("lock file");
        #[allow(clippy::incompatible_msrv)]
        f.lock().expect("exclusive lock");
        f
    })
    .await
    .expect("lock task");
    EmulatorTurn {
        _thread: thread,
        _process: process,
    }
}

/// The seven permissions of the custom role.
pub const ALL_HELD: [&str; 7] = junction_bigquery::testing::checks::PERMISSIONS;

/// A fake (forwarding BigQuery to `upstream` if given) that knows the test
/// service account with key `n`, holding `held`.
pub async fn fake(upstream: Option<&Http>, n: usize, held: &[&str]) -> FakeGoogle {
    let f = FakeGoogle::start(upstream.map(|u| u.endpoint.as_str())).await;
    f.add_account(
        &keys::email("junction", PROJECT),
        &keys::key(n).public,
        held,
    );
    f
}

/// A config for key `n` against the fake: its token endpoint, its Resource
/// Manager, and BigQuery through it.
pub fn config_for(f: &FakeGoogle, n: usize, dataset: &str) -> Value {
    let mut c = config(n, &f.token_uri(), dataset);
    c["endpoint"] = json!(f.url);
    c["resourceManagerEndpoint"] = json!(f.url);
    c
}

pub async fn validate(config: &Value, ctx: CheckContext) -> ValidationResults {
    DynPlatform::validate(
        &BigQuery::platform(),
        config,
        ctx,
        &RunOptions::default(),
        None,
    )
    .await
    .expect("the config parses")
}

/// The status and message of the test named `name`.
pub fn outcome(r: &ValidationResults, name: &str) -> (TestStatus, Option<String>) {
    let t = r
        .validation_tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test {name:?} in {r:?}"));
    (t.status, t.message.clone())
}

/// One HTTP/1.1 request; returns the status and the body.
pub async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
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
        .send_request(
            req.body(Full::new(axum::body::Bytes::from(body)))
                .expect("request"),
        )
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Log lines written while a test runs, at TRACE.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Captures this thread's log lines until the guard drops (tests using
    /// it run on a current-thread runtime).
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
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
