//! Host benchmarks. Run with:
//!
//! ```text
//! cargo bench -p junction-host --features synthetic --bench api
//! ```
//!
//! Everything runs on 127.0.0.1: the release `junction` binary as a separate
//! process, and, for comparison, a bare axum server (this executable re-run as
//! `bare-server`) answering the same bytes. The load generator shares the
//! machine's cores with the server: figures are for this machine only. Prints
//! one Markdown table; nothing here asserts on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADMIN, connect, rss_kib, send};
use hyper::body::Bytes;
use junction_host::crypto::Cipher;
use junction_host::secrets::Secrets;
use junction_host::store::sqlite::SqliteStore;
use junction_host::store::{Finish, Leftovers, NewIntegration, OpLease, SecretsUpdate, Store};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;
const LOAD_SECONDS: u64 = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "bare-server") {
        let bytes_file = args.last().unwrap().clone();
        bare_server(&bytes_file);
        return;
    }
    if args.iter().any(|a| a == "--list" || a == "--test") {
        // `cargo test --benches` / nextest listing: nothing to run as a test.
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A bare axum handler returning fixed bytes.
fn bare_server(bytes_file: &str) {
    let body = Bytes::from(std::fs::read(bytes_file).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let app = axum::Router::new().route(
            "/integrations/{id}",
            axum::routing::get(move || {
                let body = body.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!(
            "bare listening on http://{}",
            listener.local_addr().unwrap()
        );
        std::io::stdout().flush().unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

struct Proc {
    child: Child,
    addr: String,
    ready: Duration,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::zombie_processes)] // killed and waited for in Proc::drop
fn spawn_and_wait(mut cmd: Command, out: &Path, prefix: &str) -> Proc {
    let f = std::fs::File::create(out).unwrap();
    let started = Instant::now();
    let child = cmd
        .stdout(f)
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.starts_with(prefix)) {
            let addr = l.trim_start_matches(prefix).trim().to_owned();
            return Proc {
                child,
                addr,
                ready: started.elapsed(),
            };
        }
        assert!(started.elapsed() < Duration::from_secs(60), "not ready");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn junction(dir: &Path) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_junction"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("JUNCTION_ADMIN_KEY", ADMIN)
        .env("RUST_LOG", "warn")
        .env_remove("JUNCTION_SECRET_KEY");
    spawn_and_wait(cmd, &dir.join("stdout"), "junction listening on http://")
}

struct Load {
    requests: usize,
    rps: f64,
    p50_us: u128,
    p99_us: u128,
}

/// `CONNECTIONS` keep-alive connections doing GET `path` for `LOAD_SECONDS`.
async fn load(addr: &str, path: &str) -> Load {
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let addr = addr.to_owned();
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut s = connect(&addr).await;
            let mut lat = Vec::with_capacity(100_000);
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, _) = send(&mut s, "GET", &path, None).await;
                assert_eq!(status, 200);
                lat.push(t.elapsed().as_micros());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Load {
        requests: all.len(),
        rps: all.len() as f64 / secs,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
}

fn synthetic_body(i: usize) -> String {
    json!({"type": "Synthetic", "autoBootstrap": false,
           "config": {"account": format!("bench-{i}"), "password": "bench-password", "label": "bench", "installVersion": 1}})
        .to_string()
}

/// Adds integrations straight into the store (the server stopped), as a create would leave them.
async fn fill(dir: &Path, from: usize, to: usize) {
    let store = SqliteStore::open(dir).unwrap();
    let secrets = Secrets::new(Cipher::load(dir).unwrap());
    let results = r#"{"status":"passed","validationTests":[{"name":"Synthetic: connection","status":"passed"},{"name":"Synthetic: privileges","status":"passed"},{"name":"Synthetic: automatic set-up is possible","status":"skipped","message":"Skipped: Applies only to automatic set-up (autoBootstrap is false)."}]}"#;
    let store = Arc::new(store);
    let secrets = Arc::new(secrets);
    let mut handles = Vec::new();
    for chunk in (from..to)
        .collect::<Vec<_>>()
        .chunks(((to - from) / 4).max(1))
    {
        let (store, secrets, chunk) = (Arc::clone(&store), Arc::clone(&secrets), chunk.to_vec());
        handles.push(tokio::spawn(async move {
            for i in chunk {
                let full = json!({"account": format!("bench-{i}"), "password": "bench-password", "label": "bench",
                    "checks": {}, "operations": {"create": {"behavior": "pass", "delayMs": 0}, "edit": {"behavior": "pass", "delayMs": 0},
                    "delete": {"behavior": "pass", "delayMs": 0}, "migrate": {"behavior": "pass", "delayMs": 0}}, "installVersion": 1});
                let sealed = secrets.seal(&full, &["/password".to_owned()]).unwrap();
                let op = format!("op_fill_{i}");
                let row = store
                    .insert(NewIntegration {
                        type_name: "Synthetic".into(),
                        account_key: format!("bench-{i}"),
                        auto_bootstrap: false,
                        config: sealed.public.clone(),
                        secrets: sealed.secrets.clone(),
                        validation_results: results.into(),
                        lease: OpLease { op_id: op.clone(), origin: op.clone(), kind: "create".into(), owner: "bench".into(), expires_ms: i64::MAX / 2, key_id: None },
                        idempotency: None,
                        input: None,
                        revalidate: Default::default(),
                    })
                    .await
                    .unwrap();
                store
                    .finish(Finish {
                        id: row.id, op_id: op, succeeded: true, validation_results: Some(results.into()), config: None,
                        secrets: SecretsUpdate::Keep, account_key: None, auto_bootstrap: None, bootstrap_version: Some(1),
                        event: "outcome", message: None, leftovers: Leftovers::Clear,
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
}

fn stop(p: &mut Proc) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(p.child.id().to_string())
        .status();
    let _ = p.child.wait();
}

async fn list_timing(addr: &str, runs: usize) -> (Duration, usize) {
    let mut s = connect(addr).await;
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (status, body) = send(&mut s, "GET", "/integrations", None).await;
        assert_eq!(status, 200);
        best = best.min(t.elapsed());
        bytes = body.len();
    }
    (best, bytes)
}

async fn run() {
    let base = std::env::temp_dir().join(format!("junction-bench-{}", std::process::id()));
    let dir = base.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows: Vec<(String, String)> = Vec::new();

    // Start to ready, empty store (best of 5 starts).
    let mut ready = Duration::MAX;
    for _ in 0..5 {
        let mut p = junction(&dir);
        ready = ready.min(p.ready);
        stop(&mut p);
    }
    rows.push((
        "start to ready (empty store, best of 5)".into(),
        format!("{:.1} ms", ready.as_secs_f64() * 1e3),
    ));

    let mut p = junction(&dir);
    tokio::time::sleep(Duration::from_millis(500)).await;
    rows.push((
        "RSS idle (empty store)".into(),
        format!("{:.1} MiB", rss_kib(p.child.id()) as f64 / 1024.0),
    ));

    // Creates per second: 2,000 POSTs over 32 connections, then until all are enabled.
    let n = 2000;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let addr = p.addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = connect(&addr).await;
            for i in (c..n).step_by(CONNECTIONS) {
                let (status, _) =
                    send(&mut s, "POST", "/integrations", Some(synthetic_body(i))).await;
                assert_eq!(status, 202);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let accepted = t.elapsed();
    let mut s = connect(&p.addr).await;
    loop {
        let (_, body) = send(&mut s, "GET", "/metrics", None).await;
        let text = String::from_utf8_lossy(&body);
        if text.contains(&format!("junction_integrations{{status=\"enabled\"}} {n}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let settled = t.elapsed();
    rows.push((
        "creates accepted (POST → 202), 2,000 over 32 connections".into(),
        format!("{:.0} /s", n as f64 / accepted.as_secs_f64()),
    ));
    rows.push((
        "creates completed (POST → enabled, synthetic platform)".into(),
        format!("{:.0} /s", n as f64 / settled.as_secs_f64()),
    ));

    // GET /integrations/{id} beside a bare axum handler with the same bytes.
    let (_, one) = send(&mut s, "GET", "/integrations/1", None).await;
    let bytes_file = base.join("one.json");
    std::fs::write(&bytes_file, &one).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("bare-server").arg(&bytes_file);
    let bare = spawn_and_wait(cmd, &base.join("bare.stdout"), "bare listening on http://");
    let j = load(&p.addr, "/integrations/1").await;
    let b = load(&bare.addr, "/integrations/1").await;
    drop(bare);
    rows.push((
        format!(
            "GET /integrations/{{id}} ({} B), junction: req/s, p50, p99",
            one.len()
        ),
        format!(
            "{:.0} req/s, p50 {} µs, p99 {} µs ({} requests)",
            j.rps, j.p50_us, j.p99_us, j.requests
        ),
    ));
    rows.push((
        "same bytes, bare axum handler: req/s, p50, p99".into(),
        format!(
            "{:.0} req/s, p50 {} µs, p99 {} µs ({} requests)",
            b.rps, b.p50_us, b.p99_us, b.requests
        ),
    ));
    stop(&mut p);

    // 10,000 and 100,000 integrations.
    for (target, label) in [(10_000usize, "10,000"), (100_000, "100,000")] {
        let have = n.max(if target == 100_000 { 10_000 } else { n });
        fill(&dir, have, target).await;
        let mut p = junction(&dir);
        rows.push((
            format!("start to ready ({label} integrations)"),
            format!("{:.1} ms", p.ready.as_secs_f64() * 1e3),
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle = rss_kib(p.child.id());
        let (best, bytes) = list_timing(&p.addr, 5).await;
        let after = rss_kib(p.child.id());
        rows.push((
            format!("GET /integrations at {label} (best of 5)"),
            format!(
                "{:.1} ms, {:.1} MB",
                best.as_secs_f64() * 1e3,
                bytes as f64 / 1e6
            ),
        ));
        rows.push((
            format!("RSS at {label}: idle / after the lists"),
            format!(
                "{:.1} MiB / {:.1} MiB",
                idle as f64 / 1024.0,
                after as f64 / 1024.0
            ),
        ));
        stop(&mut p);
    }
    let _ = std::fs::remove_dir_all(&base);

    println!("\n| measure | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
