//! The runner's own overhead: 1,000 trivial checks (each returns at once), so
//! what is measured is scheduling, prerequisite bookkeeping, spawning and
//! result assembly. Run with `cargo xtask bench-core` (or
//! `cargo bench -p junction-core --bench runner`).

use junction_core::runner::{RunOptions, run_checks};
use junction_core::{Check, CheckContext, CheckOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn checks(n: usize, chained: bool) -> Vec<Check<()>> {
    (0..n)
        .map(|i| {
            let c = Check::new(format!("check {i}"), "returns at once", |_, _| async {
                CheckOutcome::passed()
            });
            // A chain of ten: each check requires the one before it in its group.
            if chained && i % 10 != 0 {
                c.requires(format!("check {}", i - 1))
            } else {
                c
            }
        })
        .collect()
}

fn measure(rt: &tokio::runtime::Runtime, label: &str, checks: &[Check<()>]) -> Result<(), String> {
    let ctx = CheckContext::default();
    let opts = RunOptions::default();
    // Warm-up.
    for _ in 0..5 {
        rt.block_on(run_checks(checks, Arc::new(()), &ctx, &opts, None));
    }
    let mut samples = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let r = rt.block_on(run_checks(checks, Arc::new(()), &ctx, &opts, None));
        samples.push(start.elapsed());
        if r.validation_tests.len() != checks.len() {
            return Err("wrong result count".into());
        }
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let per_check = median / checks.len() as u32;
    println!(
        "{label:<40} median {:>8.2} ms  min {:>8.2} ms  p90 {:>8.2} ms  per check {:>6.2} µs",
        ms(median),
        ms(samples[0]),
        ms(samples[samples.len() * 9 / 10]),
        per_check.as_secs_f64() * 1e6
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), String> {
    for (name, rt) in [
        (
            "current-thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
        ),
        (
            "multi-thread (2 workers)",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        ),
    ] {
        let rt = rt.map_err(|e| e.to_string())?;
        println!("runtime: {name}");
        measure(
            &rt,
            "1,000 independent trivial checks",
            &checks(1000, false),
        )?;
        measure(
            &rt,
            "1,000 trivial checks in chains of 10",
            &checks(1000, true),
        )?;
    }
    Ok(())
}
