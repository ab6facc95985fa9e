//! `cargo xtask fuzz --seconds N [--target T]…`: builds the fuzz targets of
//! `fuzz/` once (cargo fuzz, libFuzzer, into `fuzz/target`), runs each for N
//! seconds, one after the other and niced, and prints per target the
//! executions, executions per second, coverage and findings. Exits non-zero
//! when a target found anything.
//!
//! Why `--sanitizer none`: the only toolchain is stable, where AddressSanitizer
//! needs `RUSTC_BOOTSTRAP=1` to unlock `-Zsanitizer`; the code under test is
//! safe Rust (the ABI's `unsafe` is in its FFI, not in the wire decoding), so
//! ASan would add a slowdown of about 2x and find nothing a bounds check does
//! not already turn into a panic. What the fuzzer looks for is panics
//! (debug assertions and overflow checks are on), hangs and allocations out
//! of proportion (libFuzzer's `-rss_limit_mb` and `-malloc_limit_mb`).
//!
//! The targets are built by `cargo fuzz build` and then run as the binaries
//! it left (`fuzz/target/<host>/release/<target>`), with libFuzzer's flags.
//!
//! Each run's working corpus is `fuzz/corpus-run/<target>` (not committed);
//! the committed seeds (`fuzz/corpus/<target>`) and regressions
//! (`fuzz/regressions/<target>`) are read as extra corpora. A crash's input
//! is left in `fuzz/artifacts/<target>/`; moving it into
//! `fuzz/regressions/<target>/` makes it a test of the normal build.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--target T]… [-- LIBFUZZER-ARGS…]";

/// What one run of one target did.
#[derive(Debug, Default)]
struct Outcome {
    target: String,
    seconds: f64,
    executions: Option<u64>,
    per_second: Option<u64>,
    coverage: Option<u64>,
    features: Option<u64>,
    corpus: Option<String>,
    peak_rss_mb: Option<u64>,
    findings: Vec<String>,
    failed: bool,
}

pub fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut extra = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .with_context(|| format!("--seconds takes a number\n{USAGE}"))?;
            }
            "--target" => targets.push(
                it.next()
                    .with_context(|| format!("--target takes a name\n{USAGE}"))?
                    .clone(),
            ),
            "--" => extra.extend(it.by_ref().cloned()),
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    let dir = root.join("fuzz");
    if !has_cargo_fuzz() {
        bail!("cargo-fuzz is not installed: `cargo install cargo-fuzz` (from crates.io)");
    }
    let all = list(&dir)?;
    if targets.is_empty() {
        targets = all.clone();
    }
    for t in &targets {
        if !all.contains(t) {
            bail!("no fuzz target `{t}`; there are: {}", all.join(", "));
        }
    }
    // One build of every target (its own target directory, fuzz/target).
    crate::run(
        niced(&dir)
            .args(["fuzz", "build", "--sanitizer", "none"])
            .env("CARGO_TARGET_DIR", dir.join("target")),
    )
    .context("building the fuzz targets")?;
    // The binaries just built are run as they are, not through `cargo fuzz
    // run`, which would build again first: in a checkout others are editing,
    // each target would then be a different build (or a failed one).
    let bin = dir.join("target").join(host_triple()?).join("release");
    let mut outcomes = Vec::new();
    for t in &targets {
        outcomes.push(run_one(&dir, &bin.join(t), t, seconds, &extra)?);
    }
    print_summary(seconds, &outcomes);
    let found: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.failed || !o.findings.is_empty())
        .map(|o| o.target.as_str())
        .collect();
    if !found.is_empty() {
        bail!(
            "fuzzing found something in: {} (inputs in fuzz/artifacts/; each becomes a regression \
             under fuzz/regressions/<target>/ and a fix)",
            found.join(", ")
        );
    }
    Ok(())
}

fn has_cargo_fuzz() -> bool {
    Command::new(crate::cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn list(dir: &Path) -> Result<Vec<String>> {
    let out = Command::new(crate::cargo())
        .current_dir(dir)
        .args(["fuzz", "list"])
        .output()
        .context("cargo fuzz list")?;
    if !out.status.success() {
        bail!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// `cargo …` in `dir`, niced.
fn niced(dir: &Path) -> Command {
    let mut cmd = nice(Path::new(&crate::cargo()));
    cmd.current_dir(dir);
    cmd
}

/// `program` under `nice -n 10` where there is one: the machine is shared.
fn nice(program: &Path) -> Command {
    let has_nice = Command::new("nice")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_nice {
        let mut c = Command::new("nice");
        c.args(["-n", "10"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The toolchain's host triple, cargo fuzz's default target (its output directory).
fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

fn run_one(
    dir: &Path,
    bin: &Path,
    target: &str,
    seconds: u64,
    extra: &[String],
) -> Result<Outcome> {
    let work = dir.join("corpus-run").join(target);
    let artifacts = dir.join("artifacts").join(target);
    std::fs::create_dir_all(&work)?;
    std::fs::create_dir_all(&artifacts)?;
    let mut cmd = nice(bin);
    cmd.current_dir(dir).arg(&work);
    for seeds in ["corpus", "regressions"] {
        let d = dir.join(seeds).join(target);
        if d.is_dir() {
            cmd.arg(d);
        }
    }
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    eprintln!("== fuzz {target} for {seconds} s");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", bin.display()))?;
    let mut outcome = Outcome {
        target: target.to_owned(),
        ..Outcome::default()
    };
    let mut tail: Vec<String> = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines() {
            let line = line.unwrap_or_default();
            read_line(&line, &mut outcome);
            if line.contains("INITED") || line.contains("DONE") || line.starts_with("==") {
                eprintln!("   {line}");
            }
            tail.push(line);
            if tail.len() > 60 {
                tail.remove(0);
            }
        }
    }
    let status = child.wait()?;
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome.failed = !status.success();
    if outcome.failed {
        eprintln!("   … the run failed ({status}); its last lines:");
        for l in &tail {
            eprintln!("   | {l}");
        }
    }
    Ok(outcome)
}

/// Reads libFuzzer's status lines (`#N DONE cov: … ft: … corp: …`), its
/// final stats (`stat::…`) and where it wrote a finding.
fn read_line(line: &str, o: &mut Outcome) {
    if let Some(path) = line.split("Test unit written to ").nth(1) {
        o.findings.push(path.trim().to_owned());
    }
    if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
        o.executions = v.trim().parse().ok();
    } else if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
        o.per_second = v.trim().parse().ok();
    } else if let Some(v) = line.strip_prefix("stat::peak_rss_mb:") {
        o.peak_rss_mb = v.trim().parse().ok();
    } else if line.starts_with('#') {
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        if let Some(c) = after("cov:").and_then(|v| v.parse().ok()) {
            o.coverage = Some(c);
        }
        if let Some(f) = after("ft:").and_then(|v| v.parse().ok()) {
            o.features = Some(f);
        }
        if let Some(c) = after("corp:") {
            o.corpus = Some(c.to_owned());
        }
        // Until the final stats say it exactly, the latest status line counts.
        if let Some(n) = words
            .first()
            .and_then(|w| w.get(1..))
            .and_then(|n| n.parse().ok())
        {
            o.executions = o.executions.max(Some(n));
        }
    }
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "?".into(), |n| n.to_string())
}

fn print_summary(seconds: u64, outcomes: &[Outcome]) {
    println!("\nfuzz: {seconds} s per target (cargo fuzz, libFuzzer, --sanitizer none)\n");
    println!(
        "| target | time (s) | executions | exec/s | coverage (cov) | features (ft) | corpus | peak RSS (MB) | findings |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---|");
    for o in outcomes {
        let findings = if o.findings.is_empty() && !o.failed {
            "none".to_owned()
        } else if o.findings.is_empty() {
            "the run failed (see above)".to_owned()
        } else {
            o.findings.join(", ")
        };
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            o.target,
            o.seconds,
            show(o.executions),
            show(o.per_second),
            show(o.coverage),
            show(o.features),
            o.corpus.as_deref().unwrap_or("?"),
            show(o.peak_rss_mb),
            findings
        );
    }
}
