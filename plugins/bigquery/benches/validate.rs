//! Validation time against this crate's fake Google endpoints (token
//! endpoint, Resource Manager, BigQuery answering an empty project), directly
//! and through a proxy that adds 100 ms to every round trip, beside the sum
//! of the twelve tests run one after another.
//!
//! `cargo bench -p junction-bigquery` (no stand-in needed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

#[path = "../tests/bigquery/fake_google.rs"]
mod fake_google;
#[path = "../tests/bigquery/keys.rs"]
mod keys;

use junction_bigquery::{BigQuery, BigQueryConfig};
use junction_core::{CheckContext, Platform, TestStatus};
use junction_testkit::bench::{self, median, ms};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PERMISSIONS: [&str; 7] = junction_bigquery::testing::checks::PERMISSIONS;

/// A config whose every URL points at `base` (the fake, or the proxy before it).
fn config(base: &str) -> Value {
    let token_uri = format!("{base}/token");
    json!({
        "role": "junction_bench",
        "dataset": "never_created",
        "datasetSuffix": "_secureView",
        "location": "US",
        "credential": keys::key_file(0, keys::PROJECT, &keys::email("junction", keys::PROJECT), &token_uri),
        "endpoint": base,
        "resourceManagerEndpoint": base,
        "timeoutSeconds": 10
    })
}

/// The twelve tests' own code, one after another, each with fresh checks (no
/// token, no answer handed on).
async fn sequential_once(config: &Value) -> Duration {
    let typed: Arc<BigQueryConfig> =
        Arc::new(junction_core::config::from_json_at(config, "config").expect("config"));
    let started = Instant::now();
    let count = Platform::checks(&BigQuery::platform()).len();
    for i in 0..count {
        let checks = Platform::checks(&BigQuery::platform());
        let outcome = (checks[i].run)(Arc::clone(&typed), CheckContext::default()).await;
        assert_eq!(outcome.status, TestStatus::Passed, "{}", checks[i].name);
    }
    started.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fake = fake_google::FakeGoogle::start(None).await;
        fake.add_account(&keys::email("junction", keys::PROJECT), &keys::key(0).public, &PERMISSIONS);
        let upstream = fake.url.trim_start_matches("http://").parse().expect("address");
        let proxy = junction_testkit::proxy::DelayProxy::start(upstream, Duration::from_millis(100))
            .await
            .expect("proxy");
        let direct = config(&fake.url);
        let proxied = format!("http://127.0.0.1:{}", proxy.port);
        let slow = config(&proxied);

        bench::validate_once(&BigQuery::platform(), &direct, false).await;
        let (n_fast, n_slow) = (30, 7);
        let mut rows = Vec::new();
        for (label, cfg, n) in [
            ("fake, direct", &direct, n_fast),
            ("fake + 100 ms per round trip", &slow, n_slow),
        ] {
            // The JWT's audience is the token URL the plugin was given.
            fake.set_audience(&format!("{}/token", cfg["endpoint"].as_str().unwrap()));
            let mut concurrent = Vec::new();
            let mut sequential = Vec::new();
            let before = fake.issued();
            for _ in 0..n {
                concurrent.push(bench::validate_once(&BigQuery::platform(), cfg, false).await);
                sequential.push(sequential_once(cfg).await);
            }
            let tokens = fake.issued() - before;
            rows.push(format!(
                "| {label} | {n} | {} | {} | {tokens} tokens for {n} runs |",
                ms(median(concurrent)),
                ms(median(sequential))
            ));
        }
        println!("| network | runs | validation (12 tests, runner) median | the 12 tests one after another, median | token exchanges |");
        println!("|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
    });
}
