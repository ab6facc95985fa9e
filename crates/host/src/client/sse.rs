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
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    fn ev(id: &str, event: &str, data: &str) -> SseEvent {
        SseEvent {
            id: Some(id.to_owned()),
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    #[test]
    fn events_split_anywhere_come_out_whole_and_in_order() {
        let text = "id: 1\nevent: status\ndata: {\"seq\":1}\n\n: keep-alive\n\nid: 2\r\nevent: test\r\ndata: {\"seq\":2,\r\ndata: \"é\":true}\r\n\r\n";
        let whole = Parser::default().feed(text.as_bytes());
        let want = vec![
            ev("1", "status", "{\"seq\":1}"),
            ev("2", "test", "{\"seq\":2,\n\"é\":true}"),
        ];
        assert_eq!(whole, want);
        // Every split point, the CR LF pairs and the two-byte é included.
        for cut in 0..text.len() {
            let mut p = Parser::default();
            let mut got = p.feed(&text.as_bytes()[..cut]);
            got.extend(p.feed(&text.as_bytes()[cut..]));
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(p.last_event_id(), Some("2"));
        }
    }

    #[test]
    fn the_grammar_s_corners() {
        let mut p = Parser::default();
        // No data: nothing dispatched, but the id is remembered.
        assert!(p.feed(b"id: 7\nevent: status\n\n").is_empty());
        assert_eq!(p.last_event_id(), Some("7"));
        // A lone CR ends a line; no space after the colon; unnamed is `message`;
        // a field without a colon; an unknown field; retry in milliseconds.
        let got = p.feed(b"data:x\rdata\rfoo: bar\rretry: 250\r\r");
        assert_eq!(got, vec![ev("7", "message", "x\n")]);
        assert_eq!(p.retry(), Some(Duration::from_millis(250)));
        // An id with a NUL is ignored.
        p.feed(b"id: a\0b\ndata: y\n\n");
        assert_eq!(p.last_event_id(), Some("7"));
    }

    /// A fake `GET /events` server: each connection gets the next script,
    /// `None` for "hold the connection open and send nothing"; it reports each
    /// request's head.
    async fn fake_events_server(
        scripts: Vec<Option<&'static str>>,
    ) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for script in scripts {
                let (mut conn, _) = listener.accept().await.unwrap();
                let head = read_head(&mut conn).await;
                tx.send(head).unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n")
                        .await
                        .unwrap();
                    match script {
                        Some(body) => {
                            // In small pieces, as a network might.
                            for piece in body.as_bytes().chunks(7) {
                                conn.write_all(piece).await.unwrap();
                                conn.flush().await.unwrap();
                                tokio::task::yield_now().await;
                            }
                        }
                        None => {
                            let mut sink = [0u8; 64];
                            let _ = conn.read(&mut sink).await;
                        }
                    }
                    drop(tx);
                });
            }
        });
        (format!("http://{addr}"), rx)
    }

    async fn read_head(conn: &mut TcpStream) -> String {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if conn.read(&mut b).await.unwrap() == 0 {
                break;
            }
            head.push(b[0]);
        }
        String::from_utf8_lossy(&head).to_lowercase()
    }

    #[tokio::test]
    async fn a_finite_stream_ends_and_a_followed_one_resumes_after_the_last_id() {
        let (server, mut heads) = fake_events_server(vec![
            Some("id: 1\nevent: status\ndata: one\n\n: keep-alive\n\nid: 2\nevent: test\ndata: two\n\nid: 3\nevent: te"),
            Some("id: 3\nevent: test\ndata: three\n\n"),
        ])
        .await;
        let mut src = EventSource::new(
            &server,
            Some("k"),
            None,
            "/events?integration=5&after=0",
            None,
            Reconnect::Resume { max_failures: 3 },
        )
        .with_timing(Duration::from_secs(30), Duration::from_millis(1));
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(src.next().await.unwrap().unwrap());
        }
        assert_eq!(
            got,
            vec![
                ev("1", "status", "one"),
                ev("2", "test", "two"),
                ev("3", "test", "three")
            ]
        );
        let first = heads.recv().await.unwrap();
        assert!(
            first.starts_with("get /events?integration=5&after=0 http/1.1"),
            "{first}"
        );
        assert!(first.contains("authorization: bearer k"), "{first}");
        assert!(!first.contains("last-event-id"), "{first}");
        // The cut-off third event (its id line whole) was not dispatched; the
        // resumption asked after 2.
        let second = heads.recv().await.unwrap();
        assert!(second.contains("last-event-id: 2\r\n"), "{second}");
        assert_eq!(src.connections(), 2);
    }

    #[tokio::test]
    async fn a_silent_connection_is_dropped_and_resumed() {
        let (server, mut heads) =
            fake_events_server(vec![None, Some("id: 9\nevent: status\ndata: x\n\n")]).await;
        let mut src = EventSource::new(
            &server,
            None,
            None,
            "/events",
            Some("8".into()),
            Reconnect::Resume { max_failures: 3 },
        )
        .with_timing(Duration::from_millis(100), Duration::from_millis(1));
        assert_eq!(src.next().await.unwrap().unwrap(), ev("9", "status", "x"));
        assert!(heads.recv().await.unwrap().contains("last-event-id: 8\r\n"));
        assert!(heads.recv().await.unwrap().contains("last-event-id: 8\r\n"));
        assert_eq!(src.connections(), 2);
    }

    #[tokio::test]
    async fn never_reconnecting_ends_with_the_stream_and_gives_up_counts_failures() {
        let (server, _heads) = fake_events_server(vec![Some("id: 1\ndata: a\n\n")]).await;
        let mut src = EventSource::new(
            &server,
            None,
            None,
            "/events?follow=false",
            None,
            Reconnect::Never,
        );
        assert_eq!(src.next().await.unwrap().unwrap().data, "a");
        assert_eq!(src.next().await.unwrap(), None);

        // Nothing listens here any more: each attempt fails to connect.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let mut src = EventSource::new(
            &dead,
            None,
            None,
            "/events",
            None,
            Reconnect::Resume { max_failures: 2 },
        )
        .with_timing(Duration::from_secs(30), Duration::from_millis(1));
        match src.next().await {
            Err(SseError::GaveUp { failures: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(src.connections(), 3);
    }

    #[tokio::test]
    async fn a_refusal_is_an_error_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            read_head(&mut conn).await;
            let body = "{\"message\":\"No such endpoint\"}";
            conn.write_all(format!("HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes()).await.unwrap();
        });
        let mut src = EventSource::new(
            &format!("http://{addr}"),
            None,
            None,
            "/events",
            None,
            Reconnect::Resume { max_failures: 5 },
        );
        match src.next().await {
            Err(SseError::Status { status: 404, body }) => {
                assert!(body.contains("No such endpoint"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(src.connections(), 1);
    }
}
