//! Validation time of the seven Snowflake tests against `fake_snowflake`
//! (the test crate's connector-protocol server, with its roles and grants),
//! directly and through a proxy that adds 100 ms to every round trip,
//! beside the protocol's minimum.
//!
//! `cargo bench -p junction-snowflake`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/snowflake/fake_snowflake.rs"]
mod fake_snowflake;

use junction_snowflake::Snowflake;
use junction_testkit::bench::{self, median, ms};
use junction_testkit::proxy::DelayProxy;
use serde_json::{Value, json};
use std::time::Duration;

const PW: &str = "bench-password";

fn config(endpoint: &str) -> Value {
    json!({
        "host": "fakeacct.snowflakecomputing.com",
        "port": 443,
        "warehouse": fake_snowflake::WAREHOUSE,
        "database": "JT_BENCH_NEVER_CREATED",
        "role": "ACCOUNTADMIN",
        "authenticationType": "userPassword",
        "username": fake_snowflake::ADMIN,
        "password": PW,
        "endpoint": endpoint,
        "impersonation": {"enabled": true, "role": "JT_BENCH_IMP"},
        "tableGrants": {"enabled": true, "rolePrefix": "JT_BENCH"},
        "connectTimeoutSeconds": 10
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = fake_snowflake::FakeSnowflake::start(PW).await;
        let upstream = server
            .endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("address");
        let proxy = DelayProxy::start(upstream, Duration::from_millis(100))
            .await
            .expect("proxy");
        let direct = config(&server.endpoint);
        let slow = config(&format!("http://127.0.0.1:{}", proxy.port));
        bench::validate_once(&Snowflake::new(), &direct, true).await;
        let mut rows = Vec::new();
        for (label, cfg, n, minimum) in [
            ("fake_snowflake, direct", &direct, 30, None),
            (
                "fake_snowflake + 100 ms per round trip",
                &slow,
                7,
                Some(200.0),
            ),
        ] {
            let mut runs = Vec::new();
            for _ in 0..n {
                runs.push(bench::validate_once(&Snowflake::new(), cfg, true).await);
            }
            let m = median(runs);
            let (min, ratio) = match minimum {
                Some(min_ms) => (
                    format!("{min_ms:.0} ms"),
                    junction_testkit::bench::ratio(m, min_ms),
                ),
                None => ("—".into(), "—".into()),
            };
            rows.push(format!("| {label} | {n} | {} | {min} | {ratio} |", ms(m)));
        }
        println!("| network | runs | validation (7 tests, runner), median | minimum | ratio |");
        println!("|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
    });
}
