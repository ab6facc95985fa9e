//! The reader against a fake events server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
