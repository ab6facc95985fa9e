//! `junction integrations …`: the API of a running server, from the command line.

use super::read_payload_file;
use anyhow::{Result, bail};
use clap::Subcommand;
use junction_host::body::Format;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ClientCommand {
    List,
    Get {
        id: i64,
    },
    Status {
        id: i64,
    },
    History {
        id: i64,
    },
    /// Create from a payload file (JSON or YAML).
    Create {
        file: PathBuf,
    },
    /// Edit from a payload file.
    Edit {
        id: i64,
        file: PathBuf,
    },
    /// Delete; FILE holds privileged credentials when needed.
    Delete {
        id: i64,
        file: Option<PathBuf>,
    },
    Migrate {
        id: i64,
    },
}

pub async fn client(
    server: &str,
    key: Option<&str>,
    ca_cert: Option<&std::path::Path>,
    command: ClientCommand,
) -> Result<ExitCode> {
    use hyper::Method;
    let load = |f: &PathBuf| -> Result<(Vec<u8>, &'static str)> {
        let (bytes, format) = read_payload_file(f).map_err(anyhow::Error::msg)?;
        Ok((
            bytes,
            if format == Format::Yaml {
                "application/yaml"
            } else {
                "application/json"
            },
        ))
    };
    let (method, path, body) = match &command {
        ClientCommand::List => (Method::GET, "/integrations".to_owned(), None),
        ClientCommand::Get { id } => (Method::GET, format!("/integrations/{id}"), None),
        ClientCommand::Status { id } => (Method::GET, format!("/integrations/{id}/status"), None),
        ClientCommand::History { id } => (Method::GET, format!("/integrations/{id}/history"), None),
        ClientCommand::Create { file } => {
            (Method::POST, "/integrations".to_owned(), Some(load(file)?))
        }
        ClientCommand::Edit { id, file } => (
            Method::PUT,
            format!("/integrations/{id}"),
            Some(load(file)?),
        ),
        ClientCommand::Delete { id, file } => (
            Method::DELETE,
            format!("/integrations/{id}"),
            file.as_ref().map(load).transpose()?,
        ),
        ClientCommand::Migrate { id } => {
            (Method::POST, format!("/integrations/{id}/migrate"), None)
        }
    };
    if key.is_none() {
        bail!("an API key is required: pass --key or set JUNCTION_KEY");
    }
    let reply = junction_host::client::request(server, key, ca_cert, method, &path, body).await?;
    let text = String::from_utf8_lossy(&reply.body);
    match serde_json::from_slice::<serde_json::Value>(&reply.body) {
        Ok(v) => println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
        ),
        Err(_) => println!("{text}"),
    }
    Ok(if (200..300).contains(&reply.status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
