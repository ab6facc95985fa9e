//! `cargo xtask …`: the project's own commands.

mod features;
mod fuzz;
mod scaffold;
mod stand_ins;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const HELP: &str = "\
cargo xtask COMMAND

Commands:
  test [--keep-stand-ins] [ARGS…]
                               start the stand-ins, run every test of the workspace, then
                               check-features (ARGS go to the test runner, e.g. a filter,
                               and skip the feature matrix); stops the stand-ins it started
                               unless --keep-stand-ins (or JUNCTION_KEEP_STAND_INS=1)
  stand-ins up [NAME…]         install (cached under target/) and start stand-ins
  stand-ins down [NAME…]       stop them
  stand-ins status             what runs, and where
  new-plugin NAME [--dynamic]  scaffold a platform crate (plugins/NAME, wired into the host) or a
                               shared-library plugin (dynamic-plugins/NAME)
  check-features               the host builds with each platform feature alone and with none
  dist --platforms a,b         a release binary with only those platforms; prints path and size
  bench-core                   the check runner's overhead (1,000 trivial checks)
  fuzz [--seconds N] [--target T]…
                               build the fuzz targets (cargo fuzz, into fuzz/target) and run
                               each for N seconds (60), niced; prints executions and findings

Stand-ins: postgres, moto, fakesnow, minilake, pysqlbridge, bqemulator, on 127.0.0.1 ports
of this checkout's own (a block chosen by its target directory; JUNCTION_STAND_IN_PORT_BASE
sets it). Their endpoints are written to target/stand-ins/endpoints.json (JUNCTION_STAND_INS).
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("stand-ins") => match args.get(1).map(String::as_str) {
            Some("up") => stand_ins::up(&root, &args[2..]).map(|_| ()),
            Some("down") => stand_ins::down(&root, &args[2..]),
            Some("status") => stand_ins::status(&root),
            _ => bail!("usage: cargo xtask stand-ins up|down|status [NAME…]\n\n{HELP}"),
        },
        Some("new-plugin") => scaffold::new_plugin(&root, &args[1..]),
        Some("check-features") => features::check_features(&root),
        Some("dist") => features::dist(&root, &args[1..]),
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("bench-core") => run(Command::new(cargo()).current_dir(&root).args([
            "bench",
            "-p",
            "junction-core",
            "--bench",
            "runner",
        ])),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

/// The one test command: stand-ins up, then one build and run of every test,
/// then the feature matrix; the stand-ins this run started are stopped at the
/// end (`--keep-stand-ins` or `JUNCTION_KEEP_STAND_INS=1` keeps them).
fn test(root: &Path, args: &[String]) -> Result<()> {
    let keep = args.iter().any(|a| a == "--keep-stand-ins")
        || std::env::var("JUNCTION_KEEP_STAND_INS").is_ok_and(|v| v == "1");
    let extra: Vec<String> = args
        .iter()
        .filter(|a| *a != "--keep-stand-ins")
        .cloned()
        .collect();
    stand_ins::ensure_tools()?;
    // The stand-ins install and start (mostly downloads) while the workspace
    // builds (mostly CPU): on a fresh machine that overlap is minutes.
    let starting = {
        let root = root.to_path_buf();
        std::thread::spawn(move || stand_ins::up(&root, &[]))
    };
    let runner: &[&str] = if has_nextest() {
        &["nextest", "run", "--workspace"]
    } else {
        &["test", "--workspace"]
    };
    let built = run(Command::new(cargo())
        .current_dir(root)
        .args(runner)
        .args(test_features(root))
        .arg("--no-run"));
    let report = match starting.join() {
        Ok(report) => report?,
        Err(_) => bail!("starting the stand-ins panicked"),
    };
    built?;
    let endpoints = stand_ins::endpoints_file(root);
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root).env("JUNCTION_STAND_INS", &endpoints);
    cmd.args(runner)
        .arg("--no-fail-fast")
        .args(test_features(root))
        .args(&extra);
    let tests = run(&mut cmd);
    // The feature matrix runs only on a whole run, not on a filtered one.
    let features = if extra.is_empty() && tests.is_ok() {
        features::check_features(root)
    } else {
        Ok(())
    };
    if !keep && !report.started.is_empty() {
        if let Err(e) = stand_ins::down(root, &report.started) {
            eprintln!("stopping the stand-ins this run started failed: {e:#}");
        }
    }
    if !report.missing.is_empty() {
        // Their tests passed by returning early: said last, where it is seen.
        eprintln!(
            "\nWARNING: stand-ins not running: {}. Their tests returned early; \
             under CI=true this run would have failed. See `cargo xtask stand-ins up`.",
            report.missing.join(", ")
        );
    }
    tests.and(features)
}

/// Test-only features: the host links the synthetic platform for its tests.
fn test_features(root: &Path) -> Vec<String> {
    if root.join("crates/host/Cargo.toml").exists() {
        vec!["--features".into(), "junction-host/synthetic".into()]
    } else {
        Vec::new()
    }
}

fn has_nextest() -> bool {
    Command::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed: {status}", cmd.get_program());
    }
    Ok(())
}

/// Cargo's target dir: `CARGO_TARGET_DIR`, else `target/` of the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn workspace_root() -> Result<PathBuf> {
    // `cargo run` sets it at run time too; the compiled-in value is the fallback.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent folder")
}
