//! What the platforms' validation benchmarks share: one timed validation,
//! the median of a run, and figures as BENCHMARKS.md writes them.

use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus};
use serde_json::Value;
use std::time::{Duration, Instant};

/// One whole validation of `config` (the runner, as the host calls it):
/// how long it took. Every test must pass, or the figure would measure a
/// failure path.
pub async fn validate_once(
    platform: &dyn DynPlatform,
    config: &Value,
    auto_bootstrap: bool,
) -> Duration {
    let ctx = CheckContext {
        auto_bootstrap,
        ..CheckContext::default()
    };
    let started = Instant::now();
    let r = platform
        .validate(config, ctx, &RunOptions::default(), None)
        .await;
    let elapsed = started.elapsed();
    match r {
        Ok(r) => assert_eq!(r.status, TestStatus::Passed, "{r:?}"),
        Err(e) => panic!("the bench's config is invalid: {e}"),
    }
    elapsed
}

/// The median of the samples (the upper one of an even count).
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// `12.3 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `1.03×`: a figure against the protocol's minimum.
pub fn ratio(d: Duration, minimum_ms: f64) -> String {
    format!("{:.2}×", d.as_secs_f64() * 1000.0 / minimum_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_the_benchmarks_page_writes_them() {
        let d = |ms| Duration::from_millis(ms);
        assert_eq!(median(vec![d(3), d(1), d(2)]), d(2));
        assert_eq!(median(Vec::new()), Duration::ZERO);
        assert_eq!(ms(Duration::from_micros(12_340)), "12.3 ms");
        assert_eq!(ratio(d(412), 400.0), "1.03×");
    }
}
