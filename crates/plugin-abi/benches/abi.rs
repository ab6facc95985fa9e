//! The cost of the plugin ABI: the example platform's validation (three
//! checks, all passing at once) and its `parse`, linked in and through the
//! shared library, side by side. What the difference measures is JSON both
//! ways, the hand-over to the plugin's runtime and the completion callback.
//!
//! Run with `cargo bench -p junction-plugin-abi --bench abi`; the example's
//! cdylib is built by the same command (it is a dev-dependency).

use junction_core::{CheckContext, DynPlatform, RunOptions, ValidationTest};
use junction_example_dynamic::ExampleDynamic;
use junction_plugin_abi::loader::{self, LoadOptions};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ROUNDS: usize = 3000;

fn library() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let deps = exe.parent().ok_or("no directory")?;
    let file = format!(
        "{}junction_example_dynamic{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{file} not found next to {}", exe.display()))
}

struct Stats {
    median: Duration,
    p90: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let total: Duration = samples.iter().sum();
    Stats {
        median: samples[samples.len() / 2],
        p90: samples[samples.len() * 9 / 10],
        mean: total / u32::try_from(samples.len()).unwrap_or(u32::MAX),
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn row(label: &str, s: &Stats) {
    println!(
        "| {label:<50} | {:>9.1} | {:>9.1} | {:>9.1} |",
        us(s.median),
        us(s.p90),
        us(s.mean)
    );
}

fn validate_rounds(
    rt: &tokio::runtime::Runtime,
    platform: &dyn DynPlatform,
    with_progress: bool,
) -> Result<Stats, String> {
    let config = json!({"account": "bench", "password": "pw", "label": "x"});
    let ctx = CheckContext {
        auto_bootstrap: true,
        ..CheckContext::default()
    };
    let options = RunOptions::default();
    let progress = |_: &ValidationTest| {};
    let mut samples = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS + ROUNDS / 10 {
        let start = Instant::now();
        let r = rt.block_on(platform.validate(
            &config,
            ctx.clone(),
            &options,
            if with_progress { Some(&progress) } else { None },
        ));
        let elapsed = start.elapsed();
        match r {
            Ok(r) if r.ok() && r.validation_tests.len() == 3 => {}
            other => return Err(format!("unexpected validation: {other:?}")),
        }
        // The first tenth warms up.
        if i >= ROUNDS / 10 {
            samples.push(elapsed);
        }
    }
    Ok(stats(samples))
}

fn parse_rounds(platform: &dyn DynPlatform) -> Result<Stats, String> {
    let config = json!({"account": "bench", "password": "pw", "label": "x"});
    let mut samples = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS + ROUNDS / 10 {
        let start = Instant::now();
        let r = platform.parse(&config, true);
        let elapsed = start.elapsed();
        r.map_err(|e| e.to_string())?;
        if i >= ROUNDS / 10 {
            samples.push(elapsed);
        }
    }
    Ok(stats(samples))
}

fn main() -> Result<(), String> {
    let path = library()?;
    let plugin = loader::load(&path, &LoadOptions::default()).map_err(|e| e.to_string())?;
    let linked = ExampleDynamic;
    // The host's side: a current-thread runtime (the plugin runs its own).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    println!(
        "{ROUNDS} rounds each after {} warm-up rounds; times in µs",
        ROUNDS / 10
    );
    println!(
        "| {:<50} | {:>9} | {:>9} | {:>9} |",
        "", "median", "p90", "mean"
    );
    println!("|{:-<52}|{:->11}|{:->11}|{:->11}|", "", "", "", "");
    let v_linked = validate_rounds(&rt, &linked, false)?;
    let v_abi = validate_rounds(&rt, &*plugin, false)?;
    let vp_linked = validate_rounds(&rt, &linked, true)?;
    let vp_abi = validate_rounds(&rt, &*plugin, true)?;
    let p_linked = parse_rounds(&linked)?;
    let p_abi = parse_rounds(&*plugin)?;
    row("validate (3 checks), linked in", &v_linked);
    row("validate (3 checks), through the ABI", &v_abi);
    row("validate with progress callback, linked in", &vp_linked);
    row("validate with progress callback, through the ABI", &vp_abi);
    row("parse, linked in", &p_linked);
    row("parse, through the ABI", &p_abi);
    println!(
        "ABI overhead per validation (median): {:.1} µs; per parse: {:.1} µs",
        us(v_abi.median.saturating_sub(v_linked.median)),
        us(p_abi.median.saturating_sub(p_linked.median))
    );
    Ok(())
}
