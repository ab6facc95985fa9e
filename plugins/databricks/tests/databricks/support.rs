//! Shared by the tests: minilake and its warehouse, configs for minilake and
//! for `fake_databricks`, validation, captured logs, and the catalog state
//! read back from minilake with a client of its own.

#![allow(dead_code)]

use crate::fake_databricks::{self, FakeDatabricks};
use junction_core::Secret;
use junction_core::{
    CheckContext, DynPlatform, OpContext, Platform, RunOptions, TestStatus, ValidationResults,
};
use junction_databricks::{Databricks, DatabricksConfig};
use junction_kit::http::{Auth, HttpOptions, JsonClient, Request};
use junction_testkit::stand_ins::{self, Http};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// minilake, with a SQL warehouse of this test's own.
pub struct Minilake {
    pub endpoint: String,
    pub warehouse: String,
    http: JsonClient,
}

/// minilake, or `None` (the test returns early) outside CI.
pub async fn minilake() -> Option<Minilake> {
    let ml = stand_ins::require::<Http>("minilake")?;
    let http = JsonClient::new(
        &ml.endpoint,
        HttpOptions::default(),
        Auth::Bearer(Secret::new("dapi-minilake-any".into())),
    )
    .expect("client");
    let req = Request::post("/api/2.0/sql/warehouses")
        .json(json!({"name": unique("wh"), "cluster_size": "2X-Small"}));
    let created = http.send(&req).await.expect("warehouse created");
    let warehouse = created.body["id"]
        .as_str()
        .expect("warehouse id")
        .to_owned();
    Some(Minilake {
        endpoint: ml.endpoint,
        warehouse,
        http,
    })
}

/// A lowercase name no other test (or earlier run) uses.
pub fn unique(tag: &str) -> String {
    junction_testkit::unique_name(tag, '_')
}

/// A token-authenticated config against minilake (which takes any token).
pub fn minilake_config(ml: &Minilake, catalog: &str) -> Value {
    json!({
        "workspaceUrl": format!("{catalog}.cloud.databricks.com"),
        "httpPath": format!("/sql/1.0/warehouses/{}", ml.warehouse),
        "authenticationType": "token",
        "token": "dapi-minilake-token",
        "catalog": catalog,
        "endpoint": ml.endpoint,
        "statementTimeoutSeconds": 60
    })
}

/// A token-authenticated config against a fake.
pub fn fake_token_config(fake: &FakeDatabricks, pat: &str, catalog: &str) -> Value {
    json!({
        "workspaceUrl": "fake.cloud.databricks.com",
        "httpPath": format!("/sql/1.0/warehouses/{}", fake_databricks::WAREHOUSE),
        "authenticationType": "token",
        "token": pat,
        "catalog": catalog,
        "endpoint": fake.endpoint,
        "requestTimeoutSeconds": 10
    })
}

/// An OAuth M2M config against a fake (its own token endpoint).
pub fn fake_oauth_config(fake: &FakeDatabricks, secret: &str, catalog: &str) -> Value {
    json!({
        "workspaceUrl": "fake.cloud.databricks.com",
        "httpPath": format!("/sql/1.0/warehouses/{}", fake_databricks::WAREHOUSE),
        "authenticationType": "oAuthM2M",
        "oAuthClientConfig": {
            "useCertificate": false,
            "clientId": fake_databricks::CLIENT_ID,
            "clientSecret": secret,
            "scope": "all-apis"
        },
        "catalog": catalog,
        "endpoint": fake.endpoint,
        "requestTimeoutSeconds": 10
    })
}

pub fn typed(config: &Value) -> DatabricksConfig {
    let c: DatabricksConfig =
        junction_core::config::from_json_at(config, "config").expect("config parses");
    Platform::validate_config(&Databricks::new(), &c, true).expect("config valid");
    c
}

pub fn op(auto: bool, version: u32) -> OpContext {
    junction_testkit::op_context(auto, version)
}

pub fn op_fault(auto: bool, version: u32, step: &str) -> OpContext {
    junction_testkit::op_context_failing_at(auto, version, step)
}

/// The validation of `config` as the host runs it.
pub async fn validate(config: &Value, auto_bootstrap: bool) -> ValidationResults {
    let ctx = CheckContext {
        auto_bootstrap,
        ..CheckContext::default()
    };
    DynPlatform::validate(
        &Databricks::new(),
        config,
        ctx,
        &RunOptions::default(),
        None,
    )
    .await
    .expect("config accepted")
}

/// The status and message of the named test.
pub fn test(results: &ValidationResults, name: &str) -> (TestStatus, Option<String>) {
    let t = results
        .validation_tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test {name} in {results:?}"));
    (t.status, t.message.clone())
}

#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

thread_local! {
    /// Where this thread's log lines go while a test captures them.
    static SINK: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Writes to the current thread's [`SINK`], if any.
struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| {
            if let Some(logs) = &*s.borrow() {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops the capture of this thread's log lines when dropped.
pub struct Capture;

impl Drop for Capture {
    fn drop(&mut self) {
        SINK.with(|s| *s.borrow_mut() = None);
    }
}

/// Every log line of this thread (a `#[tokio::test]` runs its tasks on it),
/// at every level, the HTTP stack's included, while the guard lives.
///
/// One process-wide subscriber at TRACE writes each line to the thread that
/// emitted it: scoped subscribers (`set_default`) race on tracing's global
/// level hint when tests run in parallel threads (`cargo test`), and lose lines.
pub fn capture_logs() -> (Logs, Capture) {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadSink)
            .try_init();
    });
    let logs = Logs::default();
    SINK.with(|s| *s.borrow_mut() = Some(logs.clone()));
    (logs, Capture)
}

/// The same: every line is captured.
pub fn capture_all_logs() -> (Logs, Capture) {
    capture_logs()
}

impl Minilake {
    async fn get(&self, path: &str) -> Option<Value> {
        match self.http.get::<Value>(path).await {
            Ok(v) => Some(v),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => panic!("minilake: {e}"),
        }
    }

    async fn grants(&self, kind: &str, full: &str) -> Value {
        let v = self
            .get(&format!("/api/2.1/unity-catalog/permissions/{kind}/{full}"))
            .await
            .unwrap_or(Value::Null);
        v["privilege_assignments"].clone()
    }

    /// What minilake holds of `catalog`, read with a client of the test's
    /// own: the catalog (comment, properties), each schema (properties),
    /// each table (columns), and the grants on each, without timestamps and
    /// ids. Grants are read on every name a set-up uses, existing or not
    /// (minilake keeps the grants of a dropped object).
    pub async fn snapshot(&self, catalog: &str) -> Value {
        use junction_databricks::testing::{
            AUDIT_EVENTS, POLICIES_SCHEMA, SYSTEM_SCHEMA, USER_ATTRIBUTES,
        };
        let info = self
            .get(&format!("/api/2.1/unity-catalog/catalogs/{catalog}"))
            .await
            .map(|c| json!({"comment": c["comment"], "properties": c["properties"]}));
        let mut schemas = serde_json::Map::new();
        if info.is_some() {
            let list = self
                .get(&format!(
                    "/api/2.1/unity-catalog/schemas?catalog_name={catalog}"
                ))
                .await
                .unwrap_or(Value::Null);
            for s in list["schemas"].as_array().cloned().unwrap_or_default() {
                let name = s["name"].as_str().unwrap_or_default().to_owned();
                let tables = self
                    .get(&format!(
                        "/api/2.1/unity-catalog/tables?catalog_name={catalog}&schema_name={name}"
                    ))
                    .await
                    .unwrap_or(Value::Null);
                let mut ts = serde_json::Map::new();
                for t in tables["tables"].as_array().cloned().unwrap_or_default() {
                    let columns: Vec<Value> = t["columns"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|c| json!([c["name"], c["type_name"]]))
                        .collect();
                    ts.insert(
                        t["name"].as_str().unwrap_or_default().to_owned(),
                        json!(columns),
                    );
                }
                schemas.insert(
                    name,
                    json!({"comment": s["comment"], "properties": s["properties"], "tables": ts}),
                );
            }
        }
        let mut grants = serde_json::Map::new();
        grants.insert(catalog.to_owned(), self.grants("catalog", catalog).await);
        for s in [SYSTEM_SCHEMA, POLICIES_SCHEMA, "default"] {
            let full = format!("{catalog}.{s}");
            grants.insert(full.clone(), self.grants("schema", &full).await);
        }
        for t in [USER_ATTRIBUTES, AUDIT_EVENTS] {
            let full = format!("{catalog}.{SYSTEM_SCHEMA}.{t}");
            grants.insert(full.clone(), self.grants("table", &full).await);
        }
        json!({"catalog": info, "schemas": schemas, "grants": grants})
    }

    /// Removes the catalog whatever a failed test left (best effort).
    pub async fn drop_catalog(&self, catalog: &str) {
        let _ = self
            .http
            .send(
                &Request::delete(format!("/api/2.1/unity-catalog/catalogs/{catalog}"))
                    .query("force", "true"),
            )
            .await;
    }

    /// Creates an empty catalog by hand, as someone other than Junction.
    pub async fn create_foreign_catalog(&self, catalog: &str) {
        self.http
            .send(
                &Request::post("/api/2.1/unity-catalog/catalogs")
                    .json(json!({"name": catalog, "comment": "not Junction's"})),
            )
            .await
            .expect("catalog created");
    }
}
