//! Local stand-ins for the platforms, on loopback ports of this checkout's
//! own ([`ports`]). Each is installed from Debian or PyPI when missing, kept
//! under `target/stand-ins/`, and its endpoint written to
//! `target/stand-ins/endpoints.json`, which the tests read.
//!
//! A stand-in that is already running for this checkout (its pid file's
//! process, listening on this checkout's port) is reused; one of ours on
//! another port is replaced; a port taken by anything else is an error.
//! `cargo xtask test` stops what it started when it ends.

mod catalog;
mod ports;
mod postgres;
mod process;
mod tools;

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use tools::ensure_tools;

/// Every stand-in xtask knows, in start order.
pub const ALL: &[&str] = &[
    "postgres",
    "moto",
    "fakesnow",
    "minilake",
    "pysqlbridge",
    "bqemulator",
];

pub fn endpoints_file(root: &Path) -> PathBuf {
    base(root).join("endpoints.json")
}

fn base(root: &Path) -> PathBuf {
    crate::target_dir(root).join("stand-ins")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn names(args: &[String]) -> Result<Vec<&'static str>> {
    if args.is_empty() {
        return Ok(ALL.to_vec());
    }
    args.iter()
        .map(|a| {
            ALL.iter()
                .copied()
                .find(|n| *n == a.as_str())
                .with_context(|| format!("unknown stand-in `{a}` (known: {})", ALL.join(", ")))
        })
        .collect()
}

/// Whether `up` found a stand-in running or started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Reused,
    Now,
}

/// What `up` did.
#[derive(Debug, Default)]
pub struct Report {
    /// Started by this call: the ones a test run stops at its end.
    pub started: Vec<String>,
    /// Could not start (only outside CI: under `CI=true` that is an error).
    pub missing: Vec<String>,
}

/// Starts the stand-ins.
pub fn up(root: &Path, args: &[String]) -> Result<Report> {
    std::fs::create_dir_all(base(root))?;
    let ports = ports::Ports::for_checkout(root);
    let mut report = Report::default();
    for name in names(args)? {
        let started = match name {
            "postgres" => postgres::up(root, ports.postgres()),
            other => catalog::up(root, &ports, other),
        };
        match started {
            Ok((endpoint, how)) => {
                write_endpoint(root, name, Some(endpoint))?;
                if how == Started::Now {
                    report.started.push(name.to_owned());
                }
                let port = ports.of(name);
                eprintln!(
                    "stand-in {name}: ready on 127.0.0.1:{port}{}",
                    if how == Started::Reused {
                        " (already running)"
                    } else {
                        ""
                    }
                );
            }
            Err(e) if in_ci() => return Err(e.context(format!("stand-in {name} could not start"))),
            Err(e) => {
                write_endpoint(root, name, None)?;
                eprintln!(
                    "stand-in {name}: NOT started ({e:#}); its tests will be skipped outside CI"
                );
                report.missing.push(name.to_owned());
            }
        }
    }
    Ok(report)
}

pub fn down(root: &Path, args: &[String]) -> Result<()> {
    for name in names(args)? {
        match name {
            "postgres" => postgres::down(root)?,
            other => catalog::down(root, other)?,
        }
        write_endpoint(root, name, None)?;
        eprintln!("stand-in {name}: stopped");
    }
    Ok(())
}

pub fn status(root: &Path) -> Result<()> {
    let text = std::fs::read_to_string(endpoints_file(root)).unwrap_or_else(|_| "{}".into());
    println!("{text}");
    Ok(())
}

fn write_endpoint(root: &Path, name: &str, endpoint: Option<Value>) -> Result<()> {
    let path = endpoints_file(root);
    let mut all: Map<String, Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    match endpoint {
        Some(e) => all.insert(name.into(), e),
        None => all.remove(name),
    };
    std::fs::write(&path, serde_json::to_string_pretty(&Value::Object(all))?)?;
    Ok(())
}
