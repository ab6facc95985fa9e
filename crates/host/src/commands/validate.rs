//! `junction validate FILE`: a payload's validation tests, run here against
//! the platform by the same code as the server's `POST /integrations/validate`
//! (without a store, so with no peers).

use super::client::print_value;
use super::out::{errln, outln};
use super::{Output, print_error, read_payload_file};
use anyhow::Result;
use junction_core::{CheckContext, Remedy, TestStatus, ValidationTest};
use junction_host::body;
use junction_host::error::ApiError;
use junction_host::host::{self, HostError, Platforms};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub async fn validate(
    file: PathBuf,
    output: Output,
    check_timeout: Duration,
    plugin_dir: Option<PathBuf>,
) -> Result<ExitCode> {
    let bad = ExitCode::from(2);
    let (bytes, format) = match read_payload_file(&file) {
        Ok(x) => x,
        Err(e) => {
            errln!("junction: {e}");
            return Ok(bad);
        }
    };
    let payload = match body::parse_value(&bytes, format).and_then(body::payload) {
        Ok(p) => p,
        Err(e) => {
            print_error(&e);
            return Ok(bad);
        }
    };
    let (registry, _) =
        junction_host::registry_with_plugins(plugin_dir.as_deref(), Duration::from_secs(600))?;
    let platforms = Platforms::new(&registry);
    let entry = match platforms.get(&payload.type_name) {
        Ok(entry) => entry,
        Err(HostError::UnknownType { type_name, known }) => {
            errln!(
                "junction: type: unknown integration type \"{type_name}\"; this binary supports: {}",
                HostError::known_list(&known)
            );
            return Ok(bad);
        }
        Err(e) => {
            print_error(&ApiError::from(e));
            return Ok(bad);
        }
    };
    let ctx = CheckContext {
        integration_id: None,
        auto_bootstrap: payload.auto_bootstrap,
        peers: Default::default(),
    };
    let options = host::run_options(check_timeout, &payload.type_name);
    // Each test as it ends (its message already scrubbed).
    let progress = |t: &ValidationTest| {
        let msg = t.message.as_deref().unwrap_or_default();
        errln!(
            "  {:<8} {}{}",
            t.status.as_str(),
            t.name,
            if msg.is_empty() {
                String::new()
            } else {
                format!(" — {msg}")
            }
        );
    };
    let results = match host::validate(entry, &payload, ctx, &options, Some(&progress)).await {
        Ok(r) => r,
        Err(e) => {
            print_error(&ApiError::from(e));
            return Ok(bad);
        }
    };
    match output {
        // The API's answer: the results with `remedies` beside them.
        Output::Json | Output::Yaml => print_value(
            output,
            &serde_json::to_value(junction_host::remedies::validate_answer(&results))?,
        ),
        Output::Table => {
            let width = results
                .validation_tests
                .iter()
                .map(|t| t.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            outln!("{:<8}  {:<width$}  MESSAGE", "STATUS", "TEST");
            for t in &results.validation_tests {
                outln!(
                    "{:<8}  {:<width$}  {}",
                    t.status.as_str(),
                    t.name,
                    t.message.as_deref().unwrap_or("")
                );
            }
            outln!("overall: {}", results.status);
            print_remedies(&results.remedies);
        }
    }
    Ok(if results.status == TestStatus::Failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Under the table: what each failed or warning test found missing, and the
/// statements that add it, ready to copy.
fn print_remedies(remedies: &[Remedy]) {
    if remedies.is_empty() {
        return;
    }
    outln!("\nremedies:");
    for r in remedies {
        outln!("\n{} — missing: {}", r.test, r.missing);
        outln!("  ({})", r.language);
        for s in &r.statements {
            for line in s.lines() {
                outln!("    {line}");
            }
        }
    }
}
