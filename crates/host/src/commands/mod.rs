//! The binary's commands other than `serve` and `keys`, one per file, and what they share.

pub mod client;
pub mod follow;
pub mod out;
pub mod plugins;
pub mod secrets;
pub mod table;
pub mod validate;
pub mod view;

use clap::ValueEnum;
use junction_host::body::Format;
use out::errln;

/// How a command prints its answer.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// Aligned columns for a person (colour only on a terminal).
    Table,
    /// The API's JSON, pretty-printed.
    Json,
    /// The same as YAML.
    Yaml,
}

pub fn read_payload_file(file: &std::path::Path) -> Result<(Vec<u8>, Format), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let starts_like_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let format = if ext == "yaml" || ext == "yml" || (ext != "json" && !starts_like_json) {
        Format::Yaml
    } else {
        Format::Json
    };
    Ok((bytes, format))
}

pub fn print_error(e: &junction_host::error::ApiError) {
    errln!("junction: {}", e.message);
    for d in &e.details {
        errln!(
            "  {}: {}",
            if d.path.is_empty() { "(body)" } else { &d.path },
            d.message
        );
    }
}
