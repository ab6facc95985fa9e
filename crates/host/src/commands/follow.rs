//! Following the server's events (`GET /events`, Server-Sent Events): `--wait`
//! follows one operation to its end, `watch` follows everything (or one
//! integration) until stopped.

use super::Output;
use super::client::{Conn, print_value};
use super::out::{self, errln, outln};
use super::view;
use anyhow::{Result, bail};
use junction_host::client::sse::{EventSource, Reconnect, SseError, SseEvent};
use serde::Deserialize;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// One event's JSON (`data:`), as the server sends it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    Status(StatusChange),
    Test(TestFinished),
    /// A kind this client does not know: shown by `watch --output json`, else passed over.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub seq: i64,
    pub integration_id: i64,
    #[serde(rename = "type", default)]
    pub type_name: String,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub from: Option<String>,
    pub status: String,
    #[serde(default)]
    pub at: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TestFinished {
    pub seq: i64,
    pub integration_id: i64,
    #[serde(rename = "type", default)]
    pub type_name: String,
    #[serde(default)]
    pub operation: String,
    pub test: TestResult,
    #[serde(default)]
    pub at: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TestResult {
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
}

fn parse(e: &SseEvent) -> Event {
    serde_json::from_str(&e.data).unwrap_or(Event::Other)
}

/// An operation's end: a status no operation is running in. A status this
/// client does not know counts as an end, so that it never waits forever.
fn ended(status: &str) -> bool {
    junction_core::Status::parse(status).is_none_or(|s| !s.in_progress())
}

/// Where progress goes: stdout beside a table, stderr when stdout carries
/// JSON or YAML for a program.
struct Progress {
    to_stdout: bool,
    terminal: bool,
    colour: bool,
}

impl Progress {
    fn new(output: Output) -> Self {
        use std::io::IsTerminal;
        let to_stdout = output == Output::Table;
        let terminal = if to_stdout {
            out::stdout_is_terminal()
        } else {
            std::io::stderr().is_terminal()
        };
        Progress {
            to_stdout,
            terminal,
            colour: to_stdout && out::colour(),
        }
    }

    fn say(&self, line: &str) {
        if self.to_stdout {
            outln!("{line}");
        } else {
            errln!("{line}");
        }
    }

    fn test(&self, t: &TestResult) {
        self.say(&format!(
            "  {}",
            view::test_line(
                &t.name,
                &t.status,
                t.message.as_deref(),
                self.terminal,
                self.colour
            )
        ));
    }
}

fn source(conn: &Conn, path: &str, after: Option<i64>, reconnect: Reconnect) -> EventSource {
    EventSource::new(
        &conn.server,
        conn.key.as_deref(),
        conn.ca_cert.as_deref(),
        path,
        after.map(|a| a.to_string()),
        reconnect,
    )
}

/// The stored events a query selects (`follow=false`), in order; `None`
/// when the server has no event stream (an older server).
async fn stored(conn: &Conn, query: &str) -> Result<Option<Vec<SseEvent>>> {
    let sep = if query.is_empty() { "" } else { "&" };
    let mut src = source(
        conn,
        &format!("/events?{query}{sep}after=0&follow=false"),
        None,
        Reconnect::Never,
    );
    let mut all = Vec::new();
    loop {
        match src.next().await {
            Ok(Some(e)) => all.push(e),
            Ok(None) => return Ok(Some(all)),
            Err(SseError::Status { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

fn seq_of(e: &SseEvent) -> Option<i64> {
    e.id.as_deref().and_then(|id| id.parse().ok())
}

/// Follows the operation just accepted on integration `id` (its answer said
/// `accepted`, the status it runs in) to its end, printing each test as it
/// finishes; the status it ended in.
pub async fn wait(conn: &Conn, output: Output, id: i64, accepted: &str) -> Result<String> {
    let progress = Progress::new(output);
    progress.say(&format!("integration {id}: {accepted}"));
    let query = format!("integration={id}");
    let Some(events) = stored(conn, &query).await? else {
        return poll(conn, &progress, id).await;
    };
    // This operation began at the last change into the status it was
    // accepted in; what came before belongs to earlier operations.
    let start = events
        .iter()
        .rposition(|e| matches!(parse(e), Event::Status(s) if s.status == accepted));
    let (after, mut seeking) = match start {
        Some(i) => (seq_of(&events[i]).unwrap_or(0), false),
        None => (events.iter().rev().find_map(seq_of).unwrap_or(0), true),
    };
    let mut live = source(
        conn,
        &format!("/events?{query}"),
        Some(after),
        Reconnect::Resume { max_failures: 30 },
    );
    loop {
        let Some(e) = live.next().await? else {
            bail!("the event stream ended before the operation did");
        };
        match parse(&e) {
            Event::Test(t) if !seeking => progress.test(&t.test),
            Event::Status(s) if seeking => seeking = s.status != accepted,
            Event::Status(s) => {
                progress.say(&format!("integration {id}: {}", s.status));
                if ended(&s.status) {
                    return Ok(s.status);
                }
            }
            Event::Test(_) | Event::Other => {}
        }
    }
}

/// Without an event stream: the integration read until it ends, and its
/// tests printed then.
async fn poll(conn: &Conn, progress: &Progress, id: i64) -> Result<String> {
    loop {
        let r = conn.get(&format!("/integrations/{id}")).await?;
        if r.status != 200 {
            bail!(
                "the server answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        let v: Value = serde_json::from_slice(&r.body)?;
        let status = v["status"].as_str().unwrap_or_default().to_owned();
        if ended(&status) {
            for t in v["validationResults"]["validationTests"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Ok(t) = serde_json::from_value::<TestResult>(t.clone()) {
                    progress.test(&t);
                }
            }
            progress.say(&format!("integration {id}: {status}"));
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `junction integrations watch [ID]`: changes as they happen, until
/// stopped (or stdout is closed).
pub async fn watch(
    conn: &Conn,
    output: Output,
    id: Option<i64>,
    after: Option<i64>,
) -> Result<ExitCode> {
    let query = id.map(|i| format!("integration={i}")).unwrap_or_default();
    let after = match after {
        Some(a) => a,
        // From now: after the last event stored.
        None => match stored(conn, &query).await? {
            Some(events) => events.iter().rev().find_map(seq_of).unwrap_or(0),
            None => bail!("this server has no event stream (GET /events)"),
        },
    };
    let path = if query.is_empty() {
        "/events".to_owned()
    } else {
        format!("/events?{query}")
    };
    let mut src = source(
        conn,
        &path,
        Some(after),
        Reconnect::Resume { max_failures: 120 },
    );
    let terminal = out::stdout_is_terminal();
    let colour = out::colour();
    errln!("junction: watching events after {after} (Ctrl-C stops)");
    if output == Output::Table {
        outln!("{}", watch_line("AT", "ID", "TYPE", "OPERATION", "CHANGE"));
    }
    while !out::stdout_closed() {
        let Some(e) = src.next().await? else { break };
        match output {
            Output::Json => outln!("{}", e.data),
            Output::Yaml => {
                outln!("---");
                print_value(
                    Output::Yaml,
                    &serde_json::from_str(&e.data).unwrap_or(Value::String(e.data.clone())),
                );
            }
            Output::Table => {
                if let Some(line) = watch_row(&parse(&e), terminal, colour) {
                    outln!("{line}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn watch_line(at: &str, id: &str, type_name: &str, operation: &str, change: &str) -> String {
    format!("{at:<20}   {id:<6}   {type_name:<12}   {operation:<9}   {change}")
}

fn watch_row(e: &Event, terminal: bool, colour: bool) -> Option<String> {
    let arrow = if terminal { "→" } else { "->" };
    match e {
        Event::Status(s) => {
            let to = view::status_colour(&s.status)
                .map_or(s.status.clone(), |c| c.paint(&s.status, colour));
            let change = match &s.from {
                Some(from) => format!("{from} {arrow} {to}"),
                None => to,
            };
            Some(watch_line(
                &view::short_time(&s.at),
                &s.integration_id.to_string(),
                &s.type_name,
                &s.operation,
                &change,
            ))
        }
        Event::Test(t) => Some(watch_line(
            &view::short_time(&t.at),
            &t.integration_id.to_string(),
            &t.type_name,
            &t.operation,
            &view::test_line(
                &t.test.name,
                &t.test.status,
                t.test.message.as_deref(),
                terminal,
                colour,
            ),
        )),
        Event::Other => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_agreed_event_json_parses() {
        let status = r#"{"seq":3,"kind":"status","integrationId":5,"type":"Synthetic","operation":"create","from":null,"status":"creating","at":"2026-12-01T11:00:00.000Z"}"#;
        let test = r#"{"seq":4,"kind":"test","integrationId":5,"type":"Synthetic","operation":"create","test":{"name":"Synthetic: connection","status":"failed","message":"no"},"at":"2026-12-01T11:00:01.000Z"}"#;
        let ev = |data: &str| SseEvent {
            id: None,
            event: String::new(),
            data: data.to_owned(),
        };
        let Event::Status(s) = parse(&ev(status)) else {
            panic!("not a status")
        };
        assert_eq!(
            (
                s.seq,
                s.integration_id,
                s.from.as_deref(),
                s.status.as_str()
            ),
            (3, 5, None, "creating")
        );
        let Event::Test(t) = parse(&ev(test)) else {
            panic!("not a test")
        };
        assert_eq!(t.test.name, "Synthetic: connection");
        assert_eq!(t.test.message.as_deref(), Some("no"));
        assert_eq!(parse(&ev(r#"{"seq":9,"kind":"webhook"}"#)), Event::Other);
        assert_eq!(parse(&ev("not json")), Event::Other);
        assert_eq!(
            watch_row(&parse(&ev(test)), false, false).unwrap(),
            "2026-12-01 11:00:01Z   5        Synthetic      create      failed   Synthetic: connection: no"
        );
    }

    /// A fake server of the API before `GET /events` existed: 404 there,
    /// and integration 7 `creating` on the first read, `enabled` after.
    async fn fake_server_without_events() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>)
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reads = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&reads);
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut b).await.unwrap() == 1 {
                    head.push(b[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let (status, body) = if head.starts_with("GET /events") {
                    (
                        "404 Not Found",
                        r#"{"statusCode":404,"message":"No such endpoint"}"#.to_owned(),
                    )
                } else if head.starts_with("GET /integrations/7 ") {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    let status = if n == 0 { "creating" } else { "enabled" };
                    (
                        "200 OK",
                        json!({"id": 7, "status": status, "type": "Synthetic", "config": {},
                        "validationResults": {"status": "passed", "validationTests": [
                            {"name": "A", "status": "passed", "message": null}]}})
                        .to_string(),
                    )
                } else {
                    ("500 Internal Server Error", "{}".to_owned())
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        (format!("http://{addr}"), reads)
    }

    #[tokio::test]
    async fn without_an_event_stream_wait_polls_the_integration() {
        let (server, reads) = fake_server_without_events().await;
        let conn = Conn {
            server,
            key: Some("k".into()),
            ca_cert: None,
        };
        let end = wait(&conn, Output::Json, 7, "creating").await.unwrap();
        assert_eq!(end, "enabled");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn which_statuses_end_an_operation() {
        for s in [
            "enabled",
            "deleted",
            "createError",
            "migrateError",
            "somethingNew",
        ] {
            assert!(ended(s), "{s}");
        }
        for s in ["creating", "editing", "deleting", "migrating"] {
            assert!(!ended(s), "{s}");
        }
    }
}
