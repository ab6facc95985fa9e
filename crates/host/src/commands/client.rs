//! `junction integrations …`: the API of a running server, from the command
//! line. Answers print as tables by default, or as the API's JSON (pretty)
//! or YAML; `--wait` follows an operation's events to its end.

use super::out::{errln, outln};
use super::{Output, follow, read_payload_file, view};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use junction_host::body::Format;
use junction_host::client::{ClientError, Reply};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// List integrations: id, type, status, account, last validated, failing tests.
    List {
        /// Only integrations of this type (`Snowflake`, `Native S3`, …).
        #[arg(long = "type", value_name = "TYPE")]
        type_name: Option<String>,
        /// Only integrations in this status (`enabled`, `createError`, …).
        #[arg(long)]
        status: Option<String>,
        /// At most this many (the first page; the server allows up to 1000).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one integration.
    Get {
        /// The integration's id.
        id: i64,
    },
    /// Show an integration's status.
    Status {
        /// The integration's id.
        id: i64,
    },
    /// Show an integration's history: every status change and validation run.
    History {
        /// The integration's id.
        id: i64,
    },
    /// Create from a payload file (JSON or YAML).
    Create {
        /// The payload {type, autoBootstrap, config}, JSON or YAML.
        file: PathBuf,
        #[command(flatten)]
        wait: Wait,
    },
    /// Edit from a payload file.
    Edit {
        /// The integration's id.
        id: i64,
        /// The new payload; secrets left out are kept.
        file: PathBuf,
        #[command(flatten)]
        wait: Wait,
    },
    /// Delete; FILE holds privileged credentials when needed.
    Delete {
        /// The integration's id.
        id: i64,
        /// Privileged credentials for an automatic set-up's removal, JSON or YAML.
        file: Option<PathBuf>,
        #[command(flatten)]
        wait: Wait,
    },
    /// Migrate the platform's set-up to the newest version.
    Migrate {
        /// The integration's id.
        id: i64,
        #[command(flatten)]
        wait: Wait,
    },
    /// Switch an integration off without touching the platform (`disabled`).
    Disable {
        /// The integration's id.
        id: i64,
    },
    /// Validate a disabled integration with its stored credentials, then
    /// enable it; when a test fails it stays disabled (exit 1, the failed
    /// tests on stderr).
    Enable {
        /// The integration's id.
        id: i64,
    },
    /// Follow changes as they happen, until Ctrl-C: status changes and each
    /// test as it finishes (`--output json`: each event's JSON, a line each).
    Watch {
        /// Only this integration's changes.
        id: Option<i64>,
        /// Replay the stored events after this sequence number first (0: all
        /// of them); by default only what happens from now on.
        #[arg(long, value_name = "SEQ")]
        after: Option<i64>,
    },
}

#[derive(Args, Clone, Copy)]
pub struct Wait {
    /// Wait for the operation to end, printing each test as it finishes;
    /// exit 0 on `enabled` or `deleted`, 1 otherwise.
    #[arg(long)]
    pub wait: bool,
}

/// Where the server is and how to reach it.
#[derive(Clone)]
pub struct Conn {
    pub server: String,
    pub key: Option<String>,
    pub ca_cert: Option<PathBuf>,
}

impl Conn {
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.send(hyper::Method::GET, path, None).await
    }

    pub async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<Reply, ClientError> {
        junction_host::client::request(
            &self.server,
            self.key.as_deref(),
            self.ca_cert.as_deref(),
            method,
            path,
            body,
        )
        .await
    }
}

/// What an answer is, for its table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Integrations,
    Integration,
    Status,
    History,
}

pub async fn client(conn: Conn, output: Output, command: ClientCommand) -> Result<ExitCode> {
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
    let no_wait = Wait { wait: false };
    let (method, path, body, shape, wait) = match &command {
        ClientCommand::List {
            type_name,
            status,
            limit,
        } => (
            Method::GET,
            list_path(type_name.as_deref(), status.as_deref(), *limit),
            None,
            Shape::Integrations,
            no_wait,
        ),
        ClientCommand::Get { id } => (
            Method::GET,
            format!("/integrations/{id}"),
            None,
            Shape::Integration,
            no_wait,
        ),
        ClientCommand::Status { id } => (
            Method::GET,
            format!("/integrations/{id}/status"),
            None,
            Shape::Status,
            no_wait,
        ),
        ClientCommand::History { id } => (
            Method::GET,
            format!("/integrations/{id}/history"),
            None,
            Shape::History,
            no_wait,
        ),
        ClientCommand::Create { file, wait } => (
            Method::POST,
            "/integrations".to_owned(),
            Some(load(file)?),
            Shape::Integration,
            *wait,
        ),
        ClientCommand::Edit { id, file, wait } => (
            Method::PUT,
            format!("/integrations/{id}"),
            Some(load(file)?),
            Shape::Integration,
            *wait,
        ),
        ClientCommand::Delete { id, file, wait } => (
            Method::DELETE,
            format!("/integrations/{id}"),
            file.as_ref().map(load).transpose()?,
            Shape::Integration,
            *wait,
        ),
        ClientCommand::Migrate { id, wait } => (
            Method::POST,
            format!("/integrations/{id}/migrate"),
            None,
            Shape::Integration,
            *wait,
        ),
        ClientCommand::Disable { id } => (
            Method::POST,
            format!("/integrations/{id}/disable"),
            None,
            Shape::Integration,
            no_wait,
        ),
        ClientCommand::Enable { id } => (
            Method::POST,
            format!("/integrations/{id}/enable"),
            None,
            Shape::Integration,
            no_wait,
        ),
        ClientCommand::Watch { id, after } => {
            if conn.key.is_none() {
                bail!("an API key is required: pass --key or set JUNCTION_KEY");
            }
            return follow::watch(&conn, output, *id, *after).await;
        }
    };
    if conn.key.is_none() {
        bail!("an API key is required: pass --key or set JUNCTION_KEY");
    }
    let reply = conn.send(method, &path, body).await?;
    let ok = (200..300).contains(&reply.status);
    let value = serde_json::from_slice::<Value>(&reply.body).ok();
    if !ok {
        print_failure(output, &reply, value.as_ref());
        return Ok(ExitCode::from(1));
    }
    let Some(value) = value else {
        outln!("{}", String::from_utf8_lossy(&reply.body));
        return Ok(ExitCode::SUCCESS);
    };
    if !wait.wait {
        print_answer(&conn, output, shape, &value).await;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(id), Some(accepted)) = (value["id"].as_i64(), value["status"].as_str()) else {
        bail!("the server's answer names no integration: {value}");
    };
    let end = follow::wait(&conn, output, id, accepted).await?;
    // The integration as it ended, as the command prints integrations.
    let reply = conn.get(&format!("/integrations/{id}")).await?;
    match serde_json::from_slice::<Value>(&reply.body) {
        Ok(v) if reply.status == 200 => print_answer(&conn, output, Shape::Integration, &v).await,
        _ => print_failure(output, &reply, None),
    }
    Ok(if matches!(end.as_str(), "enabled" | "deleted") {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn list_path(type_name: Option<&str>, status: Option<&str>, limit: Option<usize>) -> String {
    let mut q = Vec::new();
    if let Some(t) = type_name {
        q.push(format!("type={}", junction_host::util::query_encode(t)));
    }
    if let Some(s) = status {
        q.push(format!("status={}", junction_host::util::query_encode(s)));
    }
    if let Some(l) = limit {
        q.push(format!("limit={l}"));
    }
    if q.is_empty() {
        "/integrations".to_owned()
    } else {
        format!("/integrations?{}", q.join("&"))
    }
}

/// A refusal: the API's error object as JSON or YAML on stdout, or its
/// message and the paths of the bad fields on stderr.
fn print_failure(output: Output, reply: &Reply, value: Option<&Value>) {
    match (output, value) {
        (Output::Json | Output::Yaml, Some(v)) => print_value(output, v),
        (Output::Table, Some(v)) if v["message"].is_string() => {
            errln!(
                "junction: the server answered {}: {}",
                reply.status,
                v["message"].as_str().unwrap_or_default()
            );
            for d in v["details"].as_array().into_iter().flatten() {
                let path = d["path"].as_str().unwrap_or_default();
                errln!(
                    "  {}: {}",
                    if path.is_empty() { "(body)" } else { path },
                    d["message"].as_str().unwrap_or_default()
                );
            }
        }
        _ => errln!(
            "junction: the server answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ),
    }
}

/// A value as JSON (pretty) or YAML.
pub fn print_value(output: Output, v: &Value) {
    match output {
        Output::Yaml => match serde_norway::to_string(v) {
            Ok(y) => outln!("{}", y.trim_end()),
            Err(_) => outln!("{v}"),
        },
        _ => outln!(
            "{}",
            serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
        ),
    }
}

async fn print_answer(conn: &Conn, output: Output, shape: Shape, v: &Value) {
    if output != Output::Table {
        print_value(output, v);
        return;
    }
    let colour = super::out::colour();
    let table = match shape {
        Shape::Status => view::status(v),
        Shape::History => view::history(v),
        Shape::Integration | Shape::Integrations => {
            let items: Vec<Value> = match v {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            if items.is_empty() {
                outln!("No integrations.");
                return;
            }
            let ids: Vec<i64> = items.iter().filter_map(|i| i["id"].as_i64()).collect();
            let last = last_validations(conn, &ids).await;
            view::integrations(&items, |id| last.get(&id).cloned().flatten())
        }
    };
    for line in table.lines(colour) {
        outln!("{line}");
    }
}

/// Each integration's last validation, from its history: one request each,
/// four at a time.
pub async fn last_validations(conn: &Conn, ids: &[i64]) -> HashMap<i64, Option<String>> {
    const AT_ONCE: usize = 4;
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(AT_ONCE) {
        let mut set = tokio::task::JoinSet::new();
        for &id in chunk {
            let conn = conn.clone();
            set.spawn(async move {
                let at = match conn.get(&format!("/integrations/{id}/history")).await {
                    Ok(r) if r.status == 200 => serde_json::from_slice::<Value>(&r.body)
                        .ok()
                        .and_then(|h| view::last_validation(&h)),
                    _ => None,
                };
                (id, at)
            });
        }
        while let Some(Ok((id, at))) = set.join_next().await {
            out.insert(id, at);
        }
        if super::out::stdout_closed() {
            break;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_go_in_the_query() {
        assert_eq!(list_path(None, None, None), "/integrations");
        assert_eq!(
            list_path(Some("Native S3"), Some("enabled"), Some(5)),
            "/integrations?type=Native%20S3&status=enabled&limit=5"
        );
    }
}
