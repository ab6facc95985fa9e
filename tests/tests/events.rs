//! Events and webhooks through the real binary (the synthetic platform):
//! an SSE client sees every test of a create finish in the order they
//! finished, then the final status, and a client that reconnects with
//! `Last-Event-ID` misses nothing; a webhook receiver (a fake, here) checks
//! every signature, and an event left undelivered when the server is killed
//! (`kill -9`) arrives exactly once after a restart. No wall clock is
//! asserted on: the tests' order comes from the checks' delays, and waits
//! are "until", with generous deadlines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hmac::{Hmac, Mac};
use junction_testkit::SENTINEL;
use junction_testkit::binary::{ADMIN, Server};
use junction_testkit::synthetic::{CHECK_AUTOMATIC, CHECK_CONNECT, CHECK_PRIVILEGES};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One SSE frame.
#[derive(Debug, Clone)]
struct Frame {
    id: i64,
    event: String,
    data: Value,
}

/// A Server-Sent Events client over HTTP/1.1 (the body is chunked).
struct Sse {
    reader: BufReader<TcpStream>,
    /// Body bytes read but not yet split into frames.
    pending: String,
}

impl Sse {
    fn open(addr: &str, query: &str, last_event_id: Option<i64>) -> Sse {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "GET /events{query} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\nAccept: text/event-stream\r\n"
        );
        if let Some(id) = last_event_id {
            head.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        head.push_str("\r\n");
        (&stream).write_all(head.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 200 "), "{status}");
        let mut chunked = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let l = line.trim().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if l.starts_with("content-type:") {
                assert!(l.contains("text/event-stream"), "{l}");
            }
            if l == "transfer-encoding: chunked" {
                chunked = true;
            }
        }
        assert!(chunked, "a stream of unknown length is chunked");
        Sse {
            reader,
            pending: String::new(),
        }
    }

    /// The next chunk of the body, or `None` at its end.
    fn chunk(&mut self) -> Option<String> {
        let mut size = String::new();
        if self.reader.read_line(&mut size).unwrap() == 0 {
            return None;
        }
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return None;
        }
        let mut buf = vec![0; n + 2];
        self.reader.read_exact(&mut buf).unwrap();
        buf.truncate(n);
        Some(String::from_utf8(buf).unwrap())
    }

    /// The next event (keep-alive comments skipped), or `None` when the stream ends.
    fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(i) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..i + 2).collect();
                let mut f = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        f.0 = Some(v.parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        f.1 = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        f.2 = Some(serde_json::from_str(v).unwrap());
                    } else {
                        assert!(line.starts_with(':') || line.is_empty(), "{line:?}");
                    }
                }
                if let (Some(id), Some(event), Some(data)) = f {
                    return Some(Frame { id, event, data });
                }
                continue;
            }
            let c = self.chunk()?;
            assert!(!c.contains(SENTINEL), "a secret in an event: {c}");
            self.pending.push_str(&c);
        }
    }

    /// Events until (and with) the first for which `last` holds.
    fn until(&mut self, last: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let f = self.next().expect("the stream ended early");
            let done = last(&f);
            out.push(f);
            if done {
                return out;
            }
        }
    }

    /// Every event of a `follow=false` stream.
    fn all(mut self) -> Vec<Frame> {
        std::iter::from_fn(|| self.next()).collect()
    }
}

fn create_body(account: &str) -> String {
    // The connection test first; then, at once, the privileges test (slow)
    // and the automatic set-up test (quick): they finish in the other order
    // than they are declared.
    json!({"type": "Synthetic", "autoBootstrap": true, "config": {
    "account": account, "password": SENTINEL,
    "checks": {
        CHECK_PRIVILEGES: {"delayMs": 1500},
        CHECK_AUTOMATIC: {"delayMs": 100}
    }}})
    .to_string()
}

/// `(kind, test name or status)` of an integration's events.
fn summary(frames: &[Frame], id: i64) -> Vec<(String, String)> {
    frames
        .iter()
        .filter(|f| f.data["integrationId"] == id)
        .map(|f| {
            let what = match f.event.as_str() {
                "test" => f.data["test"]["name"].as_str().unwrap().to_owned(),
                _ => f.data["status"].as_str().unwrap().to_owned(),
            };
            (f.event.clone(), what)
        })
        .collect()
}

#[test]
fn an_sse_client_sees_each_test_finish_in_order_then_the_status_and_resumes_with_last_event_id() {
    let server = Server::start("events-sse", &[]);
    let mut first = Sse::open(&server.addr, "", None);
    let r = server.admin("POST", "/integrations", Some(&create_body("ev-sse")));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();

    // The first client goes away after the first test's event, mid-create.
    let seen = first.until(|f| f.event == "test");
    drop(first);
    let resume = seen.last().unwrap().id;
    let mut second = Sse::open(&server.addr, "", Some(resume));
    let rest = second.until(|f| f.event == "status" && f.data["status"] == "enabled");
    let all: Vec<Frame> = seen.iter().chain(rest.iter()).cloned().collect();

    let s = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        summary(&all, id),
        [
            s("status", "creating"),
            s("test", CHECK_CONNECT),
            s("test", CHECK_AUTOMATIC),
            s("test", CHECK_PRIVILEGES),
            s("status", "enabled"),
        ],
        "every test in the order it finished, then the status: {all:?}"
    );
    // Nothing missed or repeated across the reconnect: seq rises by one.
    let seqs: Vec<i64> = all.iter().map(|f| f.id).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    for f in &all {
        assert_eq!(f.data["seq"], f.id);
        assert_eq!(f.data["kind"], f.event.as_str());
        assert_eq!(f.data["type"], "Synthetic");
        assert_eq!(f.data["operation"], "create");
        assert!(f.data["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(all[0].data["from"], Value::Null);
    assert_eq!(all[4].data["from"], "creating");
    assert_eq!(
        all[1].data["test"],
        json!({"name": CHECK_CONNECT, "status": "passed", "message": null})
    );

    // No status change without its event: the history's changes are the
    // status events, in order.
    let h = server
        .admin("GET", &format!("/integrations/{id}/history"), None)
        .json();
    let changes: Vec<(Value, Value)> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to"].is_string() && e["from"] != e["to"])
        .map(|e| {
            (
                e.get("from").cloned().unwrap_or(Value::Null),
                e["to"].clone(),
            )
        })
        .collect();
    let status_events: Vec<(Value, Value)> = all
        .iter()
        .filter(|f| f.event == "status")
        .map(|f| (f.data["from"].clone(), f.data["status"].clone()))
        .collect();
    assert_eq!(changes, status_events, "{h}");

    // The stored events, finite: the same, from the start or after a seq,
    // for this integration only.
    let other = server.admin(
        "POST",
        "/integrations",
        Some(&json!({"type": "Synthetic", "autoBootstrap": false, "config": {"account": "ev-other", "password": SENTINEL}}).to_string()),
    );
    assert_eq!(other.status, 202, "{}", other.body);
    let other_id = other.json()["id"].as_i64().unwrap();
    server.settle(other_id);
    let stored = Sse::open(
        &server.addr,
        &format!("?integration={id}&follow=false"),
        None,
    )
    .all();
    assert_eq!(stored.iter().map(|f| f.id).collect::<Vec<_>>(), seqs);
    let after = Sse::open(
        &server.addr,
        &format!("?integration={id}&follow=false&after={}", seqs[2]),
        None,
    )
    .all();
    assert_eq!(after.iter().map(|f| f.id).collect::<Vec<_>>(), seqs[3..]);
    let everything = Sse::open(&server.addr, "?follow=false", None).all();
    assert!(summary(&everything, other_id).contains(&s("status", "enabled")));

    // Bad parameters name themselves.
    let bad = server.admin("GET", "/events?after=x", None);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["details"][0]["path"], "after");
    let bad = server.raw("GET", "/events", None, None, None);
    assert_eq!(bad.status, 401);
}

/// What the fake receiver got: each request's event id, body, whether its
/// signature verified, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    event_id: i64,
    body: Value,
    signature_ok: bool,
    signature: String,
    raw: Vec<u8>,
    answered: u16,
}

/// `fake_webhook_receiver`: an HTTP/1.1 endpoint that verifies
/// `Junction-Signature` (HMAC-SHA256 of "<t>.<body>") and answers 500 until
/// told to accept.
struct Receiver {
    port: u16,
    accept: Arc<AtomicBool>,
    secret: Arc<Mutex<String>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Receiver {
            port,
            accept: Arc::new(AtomicBool::new(false)),
            secret: Arc::new(Mutex::new(String::new())),
            got: Arc::new(Mutex::new(Vec::new())),
        };
        let (accept, secret, got) = (r.accept.clone(), r.secret.clone(), r.got.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (accept, secret, got) = (accept.clone(), secret.clone(), got.clone());
                std::thread::spawn(move || serve(stream, &accept, &secret, &got));
            }
        });
        r
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    accept: &AtomicBool,
    secret: &Mutex<String>,
    got: &Mutex<Vec<Received>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').unwrap();
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
        let len: usize = headers["content-length"].parse().unwrap();
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        assert!(request_line.starts_with("POST /hook "), "{request_line}");
        assert_eq!(headers["content-type"], "application/json");
        let signature_ok = verify(
            &secret.lock().unwrap(),
            &headers["junction-signature"],
            &body,
        );
        let answered = if accept.load(Ordering::SeqCst) {
            200
        } else {
            500
        };
        got.lock().unwrap().push(Received {
            event_id: headers["junction-event-id"].parse().unwrap(),
            body: serde_json::from_slice(&body).unwrap(),
            signature_ok,
            signature: headers["junction-signature"].clone(),
            raw: body.clone(),
            answered,
        });
        let reason = if answered == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        let resp = format!("HTTP/1.1 {answered} {reason}\r\ncontent-length: 0\r\n\r\n");
        if (&stream).write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Stripe's scheme: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => return false,
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if t.parse::<i64>().is_err() {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex == v1
}

fn deliveries(server: &Server, hook: &str) -> Vec<Value> {
    let r = server.admin("GET", &format!("/webhooks/{hook}/deliveries"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().clone()
}

/// Polls until `f` holds of the webhook's deliveries.
fn wait_deliveries(
    server: &Server,
    hook: &str,
    what: &str,
    f: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let d = deliveries(server, hook);
        if f(&d) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "never {what}: {d:?}\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_webhook_gets_signed_events_and_one_left_undelivered_by_kill_9_arrives_once() {
    let receiver = Receiver::start();
    let mut server = Server::start("events-webhook", &[]);

    // Bad fields are named; plain http only to loopback.
    let bad = server.admin(
        "POST",
        "/webhooks",
        Some(r#"{"url":"http://example.com/hook","events":["nope"]}"#),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let paths: Vec<String> = bad.json()["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["url", "events[0]"]);

    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let r = server.admin(
        "POST",
        "/webhooks",
        Some(&json!({"url": url, "events": ["status"]}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    let hook = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    *receiver.secret.lock().unwrap() = secret.clone();
    // Shown once, stored sealed.
    let one = server.admin("GET", &format!("/webhooks/{hook}"), None);
    assert_eq!(one.status, 200);
    assert!(one.json().get("secret").is_none(), "{}", one.body);
    assert!(
        !server
            .admin("GET", "/webhooks", None)
            .body
            .contains(&secret)
    );
    assert!(
        !server.data_dir_holds(&secret),
        "the signing secret is in the data directory in clear"
    );
    assert!(
        !server.logs().contains(&secret),
        "the signing secret is in the log"
    );

    // A create's two status events; the receiver refuses them at first.
    let (id, v) = server.operate(
        "POST",
        "/integrations",
        Some(&json!({"type": "Synthetic", "autoBootstrap": false, "config": {"account": "ev-hook", "password": SENTINEL}}).to_string()),
        None,
        None,
        SENTINEL,
    );
    assert_eq!(v["status"], "enabled");
    let refused = wait_deliveries(&server, &hook, "refused twice", |d| {
        d.len() == 2
            && d.iter()
                .all(|x| x["state"] == "pending" && !x["attempts"].as_array().unwrap().is_empty())
    });
    for d in &refused {
        let a = &d["attempts"][0];
        assert_eq!(a["attempt"], 1);
        assert_eq!(a["httpStatus"], 500);
        assert!(a["nextAttemptAt"].is_string(), "{d}");
    }

    // Killed with both undelivered; the receiver comes back; a restart delivers each once.
    server.kill9();
    receiver.accept.store(true, Ordering::SeqCst);
    server.restart();
    let done = wait_deliveries(&server, &hook, "delivered", |d| {
        d.len() == 2 && d.iter().all(|x| x["state"] == "delivered")
    });
    for d in &done {
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.last().unwrap()["httpStatus"], 200, "{d}");
        assert!(
            attempts[..attempts.len() - 1]
                .iter()
                .all(|a| a["httpStatus"] == 500),
            "{d}"
        );
        assert_eq!(d["nextAttemptAt"], Value::Null);
    }

    let got = receiver.got();
    assert!(
        got.iter().all(|g| g.signature_ok),
        "a signature did not verify: {got:?}"
    );
    // The check can fail: another secret, or a changed body, does not verify.
    let g = &got[0];
    assert!(!verify("whsec_not_the_secret", &g.signature, &g.raw));
    let mut changed = g.raw.clone();
    changed.push(b' ');
    assert!(!verify(&secret, &g.signature, &changed));
    let text = format!("{got:?}");
    assert!(!text.contains(SENTINEL), "a secret in a webhook body");
    let mut accepted: Vec<&Received> = got.iter().filter(|g| g.answered == 200).collect();
    accepted.sort_by_key(|g| g.event_id);
    assert_eq!(
        accepted.len(),
        2,
        "each event accepted exactly once: {got:?}"
    );
    assert_ne!(accepted[0].event_id, accepted[1].event_id);
    let statuses: Vec<&str> = accepted
        .iter()
        .map(|g| g.body["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["creating", "enabled"]);
    for g in &accepted {
        assert_eq!(g.body["seq"], g.event_id);
        assert_eq!(g.body["kind"], "status");
        assert_eq!(g.body["integrationId"], id);
    }
    // Deleted: gone, with its outbox.
    let del = server.admin("DELETE", &format!("/webhooks/{hook}"), None);
    assert_eq!(del.status, 204, "{}", del.body);
    assert_eq!(
        server
            .admin("GET", &format!("/webhooks/{hook}"), None)
            .status,
        404
    );
    assert_eq!(
        server
            .admin("GET", &format!("/webhooks/{hook}/deliveries"), None)
            .status,
        404
    );
}

/// Two hosts on one PostgreSQL store: a stream on one sees the events of a
/// create the other runs (found by its poll of the event counter), and a
/// webhook gets each event exactly once though both hosts' workers claim.
#[test]
fn with_two_hosts_on_postgresql_a_stream_sees_the_other_hosts_events_and_each_is_delivered_once() {
    use junction_testkit::stand_ins::{self, Postgres};
    const SECRET_KEY: &str = "5a7c9e1b3d5f70829a4c6e8f0b2d4f6a8c0e2f4b6d8fa1c3e5079b2d4f6a8c0e";
    let Some(pg) = stand_ins::require::<Postgres>("postgres") else {
        return;
    };
    let database = pg.create_database("events").unwrap();
    struct DropDatabase(Postgres, String);
    impl Drop for DropDatabase {
        fn drop(&mut self) {
            self.0.drop_database(&self.1);
        }
    }
    let url = pg.url(&database);
    let _db = DropDatabase(pg, database);
    let host = |name: &str| {
        Server::start_with_env(
            name,
            &["--store", &url],
            &[
                ("JUNCTION_ADMIN_KEY", ADMIN),
                ("JUNCTION_SECRET_KEY", SECRET_KEY),
            ],
        )
    };
    let a = host("events-pg-a");
    let b = host("events-pg-b");
    let receiver = Receiver::start();
    receiver.accept.store(true, Ordering::SeqCst);
    let hook = format!("http://127.0.0.1:{}/hook", receiver.port);
    let r = a.admin("POST", "/webhooks", Some(&json!({"url": hook}).to_string()));
    assert_eq!(r.status, 201, "{}", r.body);
    *receiver.secret.lock().unwrap() = r.json()["secret"].as_str().unwrap().to_owned();
    let hook_id = r.json()["id"].as_str().unwrap().to_owned();

    let mut on_a = Sse::open(&a.addr, "", None);
    let r = b.admin("POST", "/integrations", Some(&create_body("ev-pg")));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    let seen = on_a.until(|f| f.event == "status" && f.data["status"] == "enabled");
    let s = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        summary(&seen, id),
        [
            s("status", "creating"),
            s("test", CHECK_CONNECT),
            s("test", CHECK_AUTOMATIC),
            s("test", CHECK_PRIVILEGES),
            s("status", "enabled"),
        ]
    );

    let done = wait_deliveries(&a, &hook_id, "delivered", |d| {
        d.len() == 5 && d.iter().all(|x| x["state"] == "delivered")
    });
    assert!(
        done.iter()
            .all(|d| d["attempts"].as_array().unwrap().len() == 1),
        "{done:?}"
    );
    let got = receiver.got();
    assert!(
        got.iter().all(|g| g.signature_ok && g.answered == 200),
        "{got:?}"
    );
    let mut ids: Vec<i64> = got.iter().map(|g| g.event_id).collect();
    ids.sort_unstable();
    let seqs: Vec<i64> = seen.iter().map(|f| f.id).collect();
    assert_eq!(ids, seqs, "each event delivered once");
}
