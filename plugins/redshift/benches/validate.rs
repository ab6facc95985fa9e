//! Validation time against the PostgreSQL stand-in, directly and through a
//! proxy that adds 100 ms to every round trip, beside the sum of the three
//! tests run one after another.
//!
//! `cargo xtask stand-ins up postgres && cargo bench -p junction-redshift`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_core::{CheckContext, Platform, TestStatus};
use junction_redshift::{Redshift, RedshiftConfig};
use junction_testkit::bench::{self, median, ms};
use junction_testkit::stand_ins::{self, Postgres};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config(pg: &Postgres, port: u16) -> Value {
    json!({
        "host": pg.host, "port": port, "initialDatabase": pg.database,
        "database": "jt_bench_never_created", "username": pg.user, "password": pg.password,
        "impersonation": {"enabled": true, "role": "jt_bench_never_created_imp"},
        "tls": "disable", "connectTimeoutSeconds": 10
    })
}

fn ctx() -> CheckContext {
    CheckContext {
        auto_bootstrap: true,
        ..CheckContext::default()
    }
}

/// The three tests' own code, one after another, each on its own: the sum of
/// the tests' times.
async fn sequential_once(config: &Value) -> Duration {
    let typed: Arc<RedshiftConfig> =
        Arc::new(junction_core::config::from_json_at(config, "config").expect("config"));
    let started = Instant::now();
    let count = Platform::checks(&Redshift::new()).len();
    for i in 0..count {
        // Fresh checks for each test: each stands alone, as in a sequential
        // runner, with no connection handed on from the connection test.
        let checks = Platform::checks(&Redshift::new());
        let check = &checks[i];
        let outcome = (check.run)(Arc::clone(&typed), ctx()).await;
        assert_eq!(outcome.status, TestStatus::Passed, "{}", check.name);
    }
    started.elapsed()
}

fn main() {
    let Some(pg) = stand_ins::require::<Postgres>("postgres") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let direct = config(&pg, pg.port);
        let upstream = format!("{}:{}", pg.host, pg.port).parse().expect("address");
        let proxy = junction_testkit::proxy::DelayProxy::start(upstream, Duration::from_millis(100))
            .await
            .expect("proxy");
        let slow = config(&pg, proxy.port);

        // Warm-up: first connections pay for process start-up on the server.
        bench::validate_once(&Redshift::new(), &direct, true).await;
        let (n_fast, n_slow) = (30, 7);
        let mut rows = Vec::new();
        for (label, cfg, n) in [("stand-in, direct", &direct, n_fast), ("stand-in + 100 ms per round trip", &slow, n_slow)] {
            let mut concurrent = Vec::new();
            let mut sequential = Vec::new();
            for _ in 0..n {
                concurrent.push(bench::validate_once(&Redshift::new(), cfg, true).await);
                sequential.push(sequential_once(cfg).await);
            }
            rows.push(format!(
                "| {label} | {n} | {} | {} |",
                ms(median(concurrent)),
                ms(median(sequential))
            ));
        }
        println!("| network | runs | validation (3 tests, runner) median | the 3 tests one after another, median |");
        println!("|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
    });
}
