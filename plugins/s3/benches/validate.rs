//! Validation time of the seven S3 tests against moto (STS, S3) behind the
//! test crate's `fake_s3control` (Access Grants), directly and through a
//! proxy that adds 100 ms to every round trip, beside the protocol's minimum.
//!
//! `cargo xtask stand-ins up moto && cargo bench -p junction-s3`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/s3/fake_s3control.rs"]
mod fake_s3control;
#[allow(dead_code)]
#[path = "../tests/s3/support.rs"]
mod support;

use junction_testkit::SENTINEL;
use junction_testkit::bench::{self, median, ms};
use junction_testkit::proxy::DelayProxy;
use std::time::Duration;

fn main() {
    let Some(moto) = support::moto() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fake = fake_s3control::FakeS3Control::start(Some(&moto.endpoint)).await;
        fake.know_key(support::TEST_KEY_ID, SENTINEL);
        fake.add_instance(support::ACCOUNT);
        let bucket = support::unique("bench");
        support::bucket_with(&moto, &bucket, &["root/a/1.csv"]).await;
        let path = format!("s3://{bucket}/root");
        let direct = support::config(&fake.endpoint, "bench", &path);
        let upstream = fake
            .endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("address");
        let proxy = DelayProxy::start(upstream, Duration::from_millis(100))
            .await
            .expect("proxy");
        let slow = support::config(&format!("http://127.0.0.1:{}", proxy.port), "bench", &path);

        bench::validate_once(&support::platform(), &direct, false).await;
        let mut rows = Vec::new();
        for (label, cfg, n, minimum) in [
            ("stand-ins, direct", &direct, 30, None),
            ("stand-ins + 100 ms per round trip", &slow, 7, Some(100.0)),
        ] {
            let runs: Vec<Duration> = {
                let mut v = Vec::new();
                for _ in 0..n {
                    v.push(bench::validate_once(&support::platform(), cfg, false).await);
                }
                v
            };
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
