//! Platform features of the host: subset builds and the feature matrix.

use crate::{cargo, run};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// Features of `junction-host` that are not platforms.
const NOT_PLATFORMS: &[&str] = &["default", "synthetic", "fault-injection"];

/// The host's platform features, read from its manifest's `[features]` table.
pub fn platform_features(root: &Path) -> Result<Vec<String>> {
    let manifest = std::fs::read_to_string(root.join("crates/host/Cargo.toml"))
        .context("reading crates/host/Cargo.toml")?;
    let mut in_features = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        if !in_features || line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && !NOT_PLATFORMS.contains(&key) {
                out.push(key.to_owned());
            }
        }
    }
    Ok(out)
}

/// Every platform feature builds alone, and the host builds with none.
pub fn check_features(root: &Path) -> Result<()> {
    let features = platform_features(root)?;
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(features.iter().map(|f| Some(f.as_str())));
    for set in sets {
        eprintln!(
            "check-features: junction-host with {}",
            set.unwrap_or("no platform")
        );
        let mut cmd = Command::new(cargo());
        cmd.current_dir(root).args([
            "check",
            "--quiet",
            "-p",
            "junction-host",
            "--no-default-features",
        ]);
        if let Some(f) = set {
            cmd.args(["--features", f]);
        }
        run(&mut cmd)?;
    }
    eprintln!(
        "check-features: {} platform features and none: all build",
        features.len()
    );
    Ok(())
}

/// A release binary with only the named platforms; prints its path and size.
pub fn dist(root: &Path, args: &[String]) -> Result<()> {
    let list = match args {
        [flag, list] if flag == "--platforms" => list.clone(),
        [single] if single.starts_with("--platforms=") => single["--platforms=".len()..].to_owned(),
        _ => bail!("usage: cargo xtask dist --platforms a,b"),
    };
    let known = platform_features(root)?;
    let wanted: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for w in &wanted {
        if !known.contains(w) {
            bail!("unknown platform `{w}` (known: {})", known.join(", "));
        }
    }
    let target_dir = crate::target_dir(root);
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root).args([
        "build",
        "--release",
        "-p",
        "junction-host",
        "--no-default-features",
    ]);
    if !wanted.is_empty() {
        cmd.args(["--features", &wanted.join(",")]);
    }
    run(&mut cmd)?;
    // Each subset gets its own copy: the next build overwrites target/release/junction.
    let label = if wanted.is_empty() {
        "none".to_owned()
    } else {
        wanted.join("-")
    };
    let dist_dir = target_dir.join("dist");
    std::fs::create_dir_all(&dist_dir)?;
    let binary = dist_dir.join(format!("junction-{label}"));
    std::fs::copy(target_dir.join("release/junction"), &binary)
        .with_context(|| format!("copying the release binary to {}", binary.display()))?;
    let size = std::fs::metadata(&binary)?.len();
    println!("{}", binary.display());
    println!(
        "size: {} bytes ({:.1} MiB), platforms: {}",
        size,
        size as f64 / 1048576.0,
        if wanted.is_empty() {
            "none".into()
        } else {
            wanted.join(", ")
        }
    );
    Ok(())
}
