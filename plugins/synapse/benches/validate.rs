//! Validation time against `fake_synapse` (the test crate's TDS server, with
//! full TLS 1.2 and the test CA), directly and through a proxy that adds
//! 100 ms to every round trip, beside the sum of the four tests run one
//! after another.
//!
//! `cargo bench -p junction-synapse` (needs `openssl` for the test CA).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The test crate's fake and helpers; the bench uses a part of them.
#[allow(dead_code)]
#[path = "../tests/synapse/fake_synapse/mod.rs"]
mod fake_synapse;
#[path = "../tests/synapse/support.rs"]
mod support;

use junction_core::{CheckContext, Platform, TestStatus};
use junction_synapse::SynapseConfig;
use junction_testkit::bench::{self, median, ms};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ctx() -> CheckContext {
    CheckContext {
        auto_bootstrap: true,
        ..CheckContext::default()
    }
}

/// The four tests' own code, one after another, each on its own (its own
/// connection): the sum of the tests' times.
async fn sequential_once(config: &Value) -> Duration {
    let typed: Arc<SynapseConfig> = Arc::new(support::typed(config));
    let started = Instant::now();
    let count = Platform::checks(&support::platform()).len();
    for i in 0..count {
        let checks = Platform::checks(&support::platform());
        let check = &checks[i];
        let outcome = (check.run)(Arc::clone(&typed), ctx()).await;
        assert_eq!(outcome.status, TestStatus::Passed, "{}", check.name);
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
        let fake = support::fake();
        let direct = support::auto_config(fake.port, true);
        let upstream = format!("127.0.0.1:{}", fake.port).parse().expect("address");
        let proxy = junction_testkit::proxy::DelayProxy::start(upstream, Duration::from_millis(100))
            .await
            .expect("proxy");
        let slow = support::auto_config(proxy.port, true);
        bench::validate_once(&support::platform(), &direct, true).await;
        let mut rows = Vec::new();
        for (label, cfg, n) in [("fake, direct", &direct, 30), ("fake + 100 ms per round trip", &slow, 7)] {
            let (mut concurrent, mut sequential) = (Vec::new(), Vec::new());
            for _ in 0..n {
                concurrent.push(bench::validate_once(&support::platform(), cfg, true).await);
                sequential.push(sequential_once(cfg).await);
            }
            rows.push(format!("| {label} | {n} | {} | {} |", ms(median(concurrent)), ms(median(sequential))));
        }
        println!("| network | runs | validation (4 tests, runner) median | the 4 tests one after another, median |");
        println!("|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
    });
}
