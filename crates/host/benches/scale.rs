//! Scale benchmarks (issue 14): creates per second with one host and with
//! two on one PostgreSQL (same run), take-over time after `kill -9` against
//! the lease TTL, a page of 100 at 100,000 integrations (p50, p99), and the
//! server's RSS while it streams the whole list of 100,000. Run with:
//!
//! ```text
//! cargo xtask stand-ins up postgres
//! cargo bench -p junction-host --no-default-features --features synthetic --bench scale
//! ```
//!
//! Everything runs on 127.0.0.1 (the release `junction` binary as separate
//! processes, the PostgreSQL stand-in); the load generator shares the
//! machine's cores. Prints Markdown tables; nothing here asserts on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADMIN, connect, rss_kib, send};
use junction_host::crypto::Cipher;
use junction_host::secrets::Secrets;
use junction_host::store::sqlite::SqliteStore;
use junction_host::store::{Finish, Leftovers, NewIntegration, OpLease, SecretsUpdate, Store};
use junction_testkit::stand_ins::{self, Postgres};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "1f3c1e5a9b2d4f6081a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e2f4b6d8fa1c";

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / nextest listing: nothing to run as a test
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match stand_ins::require::<Postgres>("postgres") {
            Some(pg) => {
                creates(&pg).await;
                takeover(&pg).await;
            }
            None => println!("(the PostgreSQL figures need `cargo xtask stand-ins up postgres`)"),
        }
        pages_and_stream().await;
    });
}

struct Proc {
    child: Child,
    addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("junction-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn junction(dir: &Path, extra: &[&str]) -> Proc {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join("stdout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .args(extra)
        .env("JUNCTION_ADMIN_KEY", ADMIN)
        .env("JUNCTION_SECRET_KEY", SECRET_KEY)
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(l) = text
            .lines()
            .find(|l| l.starts_with("junction listening on http://"))
        {
            let addr = l
                .trim_start_matches("junction listening on http://")
                .trim()
                .to_owned();
            return Proc { child, addr };
        }
        if let Some(s) = child.try_wait().unwrap() {
            panic!(
                "junction exited ({s}): {}",
                std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
            );
        }
        assert!(started.elapsed() < Duration::from_secs(60), "not ready");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn payload(account: &str, extra: serde_json::Value) -> String {
    let mut config = json!({"account": account, "password": "bench-password", "installVersion": 1});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    json!({"type": "Synthetic", "autoBootstrap": false, "config": config}).to_string()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// N creates from 16 connections spread over the hosts, until every one is enabled.
async fn creates(pg: &Postgres) {
    const N: usize = 600;
    println!(
        "\n| hosts on one PostgreSQL | creates | until all enabled | creates/s |\n|---|---|---|---|"
    );
    for hosts in [1usize, 2] {
        let db = pg.create_database("bench_creates").unwrap();
        let url = pg.url(&db);
        let dir = temp(&format!("creates-{hosts}"));
        let procs: Vec<Proc> = (0..hosts)
            .map(|h| junction(&dir.join(format!("h{h}")), &["--store", &url]))
            .collect();
        let addrs: Vec<String> = procs.iter().map(|p| p.addr.clone()).collect();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..16 {
            let addr = addrs[c % hosts].clone();
            tasks.push(tokio::spawn(async move {
                let mut s = connect(&addr).await;
                for i in (c..N).step_by(16) {
                    let (st, b) = send(
                        &mut s,
                        "POST",
                        "/integrations",
                        Some(payload(&format!("c-{i}"), json!({}))),
                    )
                    .await;
                    assert_eq!(st, 202, "{}", String::from_utf8_lossy(&b));
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut s = connect(&addrs[0]).await;
        loop {
            let (_, b) = send(
                &mut s,
                "GET",
                "/integrations?status=enabled&limit=1000",
                None,
            )
            .await;
            let n = serde_json::from_slice::<serde_json::Value>(&b)
                .unwrap()
                .as_array()
                .unwrap()
                .len();
            if n == N {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let secs = start.elapsed().as_secs_f64();
        println!("| {hosts} | {N} | {:.2} s | {:.0} |", secs, N as f64 / secs);
        drop(procs);
        pg.drop_database(&db);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Host A is killed during a create that hangs; how long until host B has ended it.
async fn takeover(pg: &Postgres) {
    println!("\n| lease TTL | rounds | take-over after kill -9, median | max |\n|---|---|---|---|");
    for ttl in ["1s", "3s"] {
        let db = pg.create_database("bench_takeover").unwrap();
        let url = pg.url(&db);
        let dir = temp(&format!("takeover-{ttl}"));
        let b = junction(&dir.join("b"), &["--store", &url, "--lease-ttl", ttl]);
        let mut sb = connect(&b.addr).await;
        let mut times = Vec::new();
        for round in 0..5 {
            let a = junction(
                &dir.join(format!("a{round}")),
                &["--store", &url, "--lease-ttl", ttl],
            );
            let mut sa = connect(&a.addr).await;
            let body = payload(
                &format!("t-{round}"),
                json!({"operations": {"create": {"behavior": "hang"}}}),
            );
            let (_, r) = send(&mut sa, "POST", "/integrations", Some(body)).await;
            let id = serde_json::from_slice::<serde_json::Value>(&r).unwrap()["id"]
                .as_i64()
                .unwrap();
            loop {
                let (_, h) =
                    send(&mut sb, "GET", &format!("/integrations/{id}/history"), None).await;
                if String::from_utf8_lossy(&h).contains("\"validation\"") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            // The lease was just renewed at most a third of a TTL ago.
            let killed = Instant::now();
            drop(a);
            loop {
                let (_, v) =
                    send(&mut sb, "GET", &format!("/integrations/{id}/status"), None).await;
                if String::from_utf8_lossy(&v).contains("createError") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            times.push(killed.elapsed().as_secs_f64());
        }
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "| {ttl} | {} | {:.2} s | {:.2} s |",
            sorted.len(),
            pct(&sorted, 0.5),
            sorted[sorted.len() - 1]
        );
        drop(b);
        pg.drop_database(&db);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// 100,000 integrations put straight into an SQLite store, as creates leave them.
async fn fill(data: &Path, n: usize) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(data).unwrap());
    let secrets = Arc::new(Secrets::new(Cipher::from_key(
        &junction_host::util::unhex(SECRET_KEY)
            .unwrap()
            .try_into()
            .unwrap(),
    )));
    junction_host::host::check_secret_key(store.as_ref(), &secrets)
        .await
        .unwrap();
    let results = r#"{"status":"passed","validationTests":[{"name":"Synthetic: connection","status":"passed"},{"name":"Synthetic: privileges","status":"passed"}]}"#;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (store, secrets) = (Arc::clone(&store), Arc::clone(&secrets));
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(4) {
                let full = json!({"account": format!("p-{i}"), "password": "bench-password", "label": "bench", "installVersion": 1});
                let sealed = secrets.seal(&full, &["/password".to_owned()]).unwrap();
                let op = format!("op_fill_{i}");
                let row = store
                    .insert(NewIntegration {
                        type_name: "Synthetic".into(),
                        account_key: format!("p-{i}"),
                        auto_bootstrap: false,
                        config: sealed.public,
                        secrets: sealed.secrets,
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
                        id: row.id, op_id: op, succeeded: true, validation_results: None, config: None,
                        secrets: SecretsUpdate::Keep, account_key: None, auto_bootstrap: None, bootstrap_version: Some(1),
                        event: "outcome", message: None, leftovers: Leftovers::Clear,
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn pages_and_stream() {
    const N: usize = 100_000;
    let dir = temp("pages");
    let filled = Instant::now();
    fill(&dir.join("data"), N).await;
    println!(
        "\n(filled {N} integrations into SQLite in {:.1} s)",
        filled.elapsed().as_secs_f64()
    );
    let p = junction(&dir, &[]);
    let mut s = connect(&p.addr).await;
    // Pages of 100 at keyset positions spread over the whole list.
    println!("\n| request at {N} integrations | requests | p50 | p99 |\n|---|---|---|---|");
    for (label, filter) in [
        ("page of 100", ""),
        ("page of 100, status=enabled", "&status=enabled"),
    ] {
        let mut lat = Vec::new();
        for i in 0..2000u64 {
            let after = (i * 7919) % (N as u64 - 100);
            let t = Instant::now();
            let (st, b) = send(
                &mut s,
                "GET",
                &format!("/integrations?limit=100&after={after}{filter}"),
                None,
            )
            .await;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(st, 200);
            assert!(b.len() > 10_000);
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "| {label} | {} | {:.2} ms | {:.2} ms |",
            lat.len(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    // The whole list, streamed, with the server's RSS sampled meanwhile.
    let pid = p.child.id();
    let before = rss_kib(pid);
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until {
            peak = peak.max(rss_kib(pid));
            if std::path::Path::new(&format!("/proc/{pid}")).exists() && peak > 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            if STOP.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
        }
        peak
    });
    let t = Instant::now();
    let (st, body) = send(&mut s, "GET", "/integrations", None).await;
    let took = t.elapsed().as_secs_f64();
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    assert_eq!(st, 200);
    let n = serde_json::from_slice::<serde_json::Value>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(n, N);
    println!(
        "\n| whole list streamed | bytes | time | server RSS before | peak while streaming |\n|---|---|---|---|---|\n| {n} integrations | {:.1} MB | {:.0} ms | {:.1} MiB | {:.1} MiB |",
        body.len() as f64 / 1e6,
        took * 1000.0,
        before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    drop(p);
    let _ = std::fs::remove_dir_all(dir);
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
