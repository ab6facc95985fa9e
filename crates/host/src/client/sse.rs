//! Server-Sent Events, as the WHATWG's `text/event-stream` defines them, read
//! from a streaming response: a [`Parser`] of the bytes as they arrive, and an
//! [`EventSource`] that follows a stream and, when it is told to, reconnects
//! with `Last-Event-ID` so that no stored event is missed.

use super::{ClientError, Streaming, stream};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The last `id:` seen on the stream, this event's or an earlier one's.
    pub id: Option<String>,
    /// `event:`, or `message` when the event named none.
    pub event: String,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

/// The event-stream grammar, fed bytes in whatever pieces the network gives.
#[derive(Debug, Default)]
pub struct Parser {
    /// The bytes of a line not yet ended.
    line: Vec<u8>,
    /// The previous byte was a CR: a LF right after it ends no second line.
    after_cr: bool,
    data: String,
    event: String,
    /// The `id:` of the event being read; it counts once the event ends.
    id_buffer: Option<String>,
    last_id: Option<String>,
    retry: Option<Duration>,
}

impl Parser {
    /// Feeds bytes; the events they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(e) = self.line_ended(&String::from_utf8_lossy(&line)) {
                        out.push(e);
                    }
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(b);
                }
            }
        }
        out
    }

    /// The id to resume from (`Last-Event-ID`): that of the last event ended.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The connection broke: a line or an event cut off by it is dropped.
    fn broke(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.data.clear();
        self.event.clear();
        self.id_buffer.clone_from(&self.last_id);
    }

    /// The reconnection delay the server asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    fn line_ended(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // a comment: the keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => value.clone_into(&mut self.event),
            // An id with a NUL is ignored, as the standard says.
            "id" if !value.contains('\0') => self.id_buffer = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok().map(Duration::from_millis);
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        // As the standard has it: the id counts at the end of an event, even one without data.
        self.last_id.clone_from(&self.id_buffer);
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        Some(SseEvent {
            id: self.last_id.clone(),
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SseError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server answered, but not with a stream (no such endpoint, a bad key…).
    #[error("the server answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the server did not answer with text/event-stream (content type {0:?})")]
    NotAStream(Option<String>),
    #[error("the event stream broke {failures} times in a row; the last time: {last}")]
    GaveUp { failures: u32, last: String },
}

/// What an [`EventSource`] does when its stream ends or breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// The end of the stream is the end (`?follow=false`).
    Never,
    /// Reconnect with `Last-Event-ID`, giving up after this many failed
    /// attempts in a row (an event received resets the count).
    Resume { max_failures: u32 },
}

/// Where a stream is and how to follow it.
pub struct EventSource {
    server: String,
    key: Option<String>,
    ca_cert: Option<PathBuf>,
    path: String,
    reconnect: Reconnect,
    /// No byte for this long (the server sends a comment every 15 s) and the
    /// connection is taken for dead.
    idle: Duration,
    /// Before a reconnection, unless the server said otherwise with `retry:`.
    delay: Duration,
    open: Option<Streaming>,
    parser: Parser,
    ready: VecDeque<SseEvent>,
    failures: u32,
    /// Connections opened, for tests of resumption.
    connections: u32,
}

impl EventSource {
    /// `path` is the request's path and query; `after` the id to resume
    /// after (sent as `Last-Event-ID`), if any.
    pub fn new(
        server: &str,
        key: Option<&str>,
        ca_cert: Option<&std::path::Path>,
        path: &str,
        after: Option<String>,
        reconnect: Reconnect,
    ) -> Self {
        EventSource {
            server: server.to_owned(),
            key: key.map(str::to_owned),
            ca_cert: ca_cert.map(std::path::Path::to_path_buf),
            path: path.to_owned(),
            reconnect,
            idle: Duration::from_secs(45),
            delay: Duration::from_secs(1),
            open: None,
            parser: Parser {
                id_buffer: after.clone(),
                last_id: after,
                ..Parser::default()
            },
            ready: VecDeque::new(),
            failures: 0,
            connections: 0,
        }
    }

    /// The same, with other idle and reconnection delays (tests).
    pub fn with_timing(mut self, idle: Duration, delay: Duration) -> Self {
        self.idle = idle;
        self.delay = delay;
        self
    }

    /// The id of the last event received (or the one it started after).
    pub fn last_event_id(&self) -> Option<&str> {
        self.parser.last_event_id()
    }

    /// How many connections it opened.
    pub fn connections(&self) -> u32 {
        self.connections
    }

    /// The next event; `None` when the stream ended and is not resumed.
    pub async fn next(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                self.failures = 0;
                return Ok(Some(e));
            }
            let broke = match self.open.as_mut() {
                None => match self.connect().await {
                    Ok(s) => {
                        self.open = Some(s);
                        continue;
                    }
                    Err(e @ (SseError::Status { .. } | SseError::NotAStream(_))) => return Err(e),
                    Err(e) => e.to_string(),
                },
                Some(s) => match tokio::time::timeout(self.idle, s.chunk()).await {
                    Ok(Ok(Some(bytes))) => {
                        let events = self.parser.feed(&bytes);
                        self.ready.extend(events);
                        continue;
                    }
                    Ok(Ok(None)) => "the server ended the stream".to_owned(),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("nothing arrived for {} s", self.idle.as_secs()),
                },
            };
            self.open = None;
            self.parser.broke();
            match self.reconnect {
                Reconnect::Never => return Ok(None),
                Reconnect::Resume { max_failures } => {
                    self.failures += 1;
                    if self.failures > max_failures {
                        return Err(SseError::GaveUp {
                            failures: self.failures,
                            last: broke,
                        });
                    }
                    tracing::debug!(reason = %broke, "event stream broke; resuming");
                    tokio::time::sleep(self.parser.retry().unwrap_or(self.delay)).await;
                }
            }
        }
    }

    async fn connect(&mut self) -> Result<Streaming, SseError> {
        self.connections += 1;
        let last = self.parser.last_event_id().map(str::to_owned);
        let mut headers = vec![("accept", "text/event-stream")];
        if let Some(id) = last.as_deref() {
            headers.push(("last-event-id", id));
        }
        let s = stream(
            &self.server,
            self.key.as_deref(),
            self.ca_cert.as_deref(),
            &self.path,
            &headers,
        )
        .await?;
        if s.status != 200 {
            let status = s.status;
            let body = s.rest().await.unwrap_or_default();
            return Err(SseError::Status {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let is_stream = s
            .content_type
            .as_deref()
            .is_some_and(|t| t.trim_start().starts_with("text/event-stream"));
        if !is_stream {
            return Err(SseError::NotAStream(s.content_type));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests;
