//! Validation time, directly and through a proxy that adds 100 ms to every
//! round trip, beside the sum of the tests run one after another, each on its
//! own: against minilake (token; automatic, and manual on a set-up catalog)
//! and against `fake_databricks` (OAuth M2M, so a token is fetched first).
//!
//! `cargo xtask stand-ins up minilake && cargo bench -p junction-databricks`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

#[path = "../tests/databricks/fake_databricks.rs"]
mod fake_databricks;

use fake_databricks::FakeDatabricks;
use junction_core::{CheckContext, Platform, TestStatus};
use junction_databricks::{Databricks, DatabricksConfig};
use junction_testkit::bench::{self, median, ms};
use junction_testkit::proxy::DelayProxy;
use junction_testkit::stand_ins::{self, Http};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ctx(auto: bool) -> CheckContext {
    CheckContext {
        auto_bootstrap: auto,
        ..CheckContext::default()
    }
}

/// The tests that apply, one after another, each on its own (fresh checks,
/// nothing handed on): the sum of the tests' times.
async fn sequential_once(config: &Value, auto: bool) -> Duration {
    let typed: Arc<DatabricksConfig> =
        Arc::new(junction_core::config::from_json_at(config, "config").expect("config"));
    let count = Platform::checks(&Databricks::new()).len();
    let started = Instant::now();
    for i in 0..count {
        let checks = Platform::checks(&Databricks::new());
        let check = &checks[i];
        if check.name == "Manual catalog setup" && auto {
            continue;
        }
        let outcome = (check.run)(Arc::clone(&typed), ctx(auto)).await;
        assert_eq!(outcome.status, TestStatus::Passed, "{}", check.name);
    }
    started.elapsed()
}

fn with_endpoint(config: &Value, endpoint: &str) -> Value {
    let mut c = config.clone();
    c["endpoint"] = json!(endpoint);
    c
}

fn main() {
    let Some(ml) = stand_ins::require::<Http>("minilake") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let catalog = junction_testkit::unique_name("bench", '_');
        let warehouse = minilake_warehouse(&ml.endpoint).await;
        let minilake = json!({
            "workspaceUrl": "bench.cloud.databricks.com",
            "httpPath": format!("/sql/1.0/warehouses/{warehouse}"),
            "authenticationType": "token",
            "token": "dapi-bench",
            "catalog": catalog,
        });
        // The manual rows need a set-up catalog.
        let set_up = Platform::create(
            &Databricks::new(),
            &junction_testkit::op_context(true, 0),
            junction_core::config::from_json_at(&with_endpoint(&minilake, &ml.endpoint), "config")
                .expect("config"),
        )
        .await
        .expect("set-up");

        let fake = FakeDatabricks::start("bench-sp", "unused", "bench-secret").await;
        let oauth = json!({
            "workspaceUrl": "fake.cloud.databricks.com",
            "httpPath": format!("/sql/1.0/warehouses/{}", fake_databricks::WAREHOUSE),
            "authenticationType": "oAuthM2M",
            "oAuthClientConfig": {"clientId": fake_databricks::CLIENT_ID, "clientSecret": "bench-secret"},
            "catalog": "c",
        });

        let ml_addr = format!("127.0.0.1:{}", ml.port).parse().expect("address");
        let fake_addr = fake.endpoint.trim_start_matches("http://").parse().expect("address");
        let ml_proxy = DelayProxy::start(ml_addr, Duration::from_millis(100)).await.expect("proxy");
        let fake_proxy = DelayProxy::start(fake_addr, Duration::from_millis(100)).await.expect("proxy");
        let slow_ml = format!("http://127.0.0.1:{}", ml_proxy.port);
        let slow_fake = format!("http://127.0.0.1:{}", fake_proxy.port);

        let cases: Vec<(&str, Value, bool, &str)> = vec![
            ("minilake, token, automatic (2 tests), direct", with_endpoint(&minilake, &ml.endpoint), true, "—"),
            ("minilake, token, automatic (2 tests), +100 ms", with_endpoint(&minilake, &slow_ml), true, "100 ms"),
            ("minilake, token, manual (3 tests), direct", with_endpoint(&minilake, &ml.endpoint), false, "—"),
            ("minilake, token, manual (3 tests), +100 ms", with_endpoint(&minilake, &slow_ml), false, "200 ms"),
            ("fake_databricks, oAuthM2M, automatic (2 tests), direct", with_endpoint(&oauth, &fake.endpoint), true, "—"),
            ("fake_databricks, oAuthM2M, automatic (2 tests), +100 ms", with_endpoint(&oauth, &slow_fake), true, "200 ms"),
        ];
        // Warm-up.
        for (_, cfg, auto, _) in &cases {
            bench::validate_once(&Databricks::new(), cfg, *auto).await;
        }
        println!("| case | runs | validation (runner), median | minimum | the tests one after another, median |");
        println!("|---|---|---|---|---|");
        for (label, cfg, auto, minimum) in &cases {
            let n = if label.ends_with("direct") { 30 } else { 7 };
            let mut concurrent = Vec::new();
            let mut sequential = Vec::new();
            for _ in 0..n {
                concurrent.push(bench::validate_once(&Databricks::new(), cfg, *auto).await);
                sequential.push(sequential_once(cfg, *auto).await);
            }
            println!(
                "| {label} | {n} | {} | {minimum} | {} |",
                ms(median(concurrent)),
                ms(median(sequential))
            );
        }
        Platform::delete(
            &Databricks::new(),
            &junction_testkit::op_context(true, set_up.bootstrap_version),
            set_up.config,
            None,
        )
        .await
        .expect("clean-up");
    });
}

async fn minilake_warehouse(endpoint: &str) -> String {
    use junction_kit::http::{Auth, HttpOptions, JsonClient, Request};
    let http = JsonClient::new(
        endpoint,
        HttpOptions::default(),
        Auth::Bearer(junction_core::Secret::new("dapi-bench".into())),
    )
    .expect("client");
    let r = http
        .send(&Request::post("/api/2.0/sql/warehouses").json(json!({"name": "bench"})))
        .await
        .expect("warehouse");
    r.body["id"].as_str().expect("id").to_owned()
}
