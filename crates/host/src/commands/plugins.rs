//! `junction plugins`: the platforms this binary supports, and the libraries of `--plugin-dir`.

use super::Output;
use super::client::print_value;
use super::out::outln;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub fn plugins(output: Output, plugin_dir: Option<PathBuf>) -> Result<ExitCode> {
    let (registry, loads) =
        junction_host::registry_with_plugins(plugin_dir.as_deref(), Duration::from_secs(600))?;
    let descriptors: Vec<_> = registry.iter().map(|p| p.descriptor()).collect();
    match output {
        Output::Json | Output::Yaml => {
            let v = if plugin_dir.is_some() {
                serde_json::json!({"platforms": descriptors, "libraries": loads})
            } else {
                serde_json::to_value(&descriptors)?
            };
            print_value(output, &v);
        }
        Output::Table => {
            if descriptors.is_empty() {
                outln!("No platform is compiled into this binary.");
            }
            for d in &descriptors {
                outln!(
                    "{}  (set-up version {}, modes {:?}, delete credentials {:?})\n  {}",
                    d.type_name,
                    d.bootstrap_version,
                    d.bootstrap_modes,
                    d.delete_credentials,
                    d.description
                );
                for c in &d.checks {
                    let req = if c.requires.is_empty() {
                        String::new()
                    } else {
                        format!(" [requires: {}]", c.requires.join(", "))
                    };
                    outln!("    - {}{}", c.name, req);
                }
            }
            for l in &loads {
                match (&l.r#type, &l.refused) {
                    (Some(t), _) => outln!("library {}: loaded ({t})", l.path),
                    (None, Some(why)) => outln!("library {}: REFUSED: {why}", l.path),
                    (None, None) => {}
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
