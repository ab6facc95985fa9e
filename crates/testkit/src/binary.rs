//! Drives the real `junction` binary, for the end-to-end tests and the
//! plugins' API tests: start it on a loopback port with its own data
//! directory, and talk to it over plain HTTP/1.1.
//!
//! The binary is `JUNCTION_BIN` when set, else `junction` in the target
//! directory that holds the test executable (`target/debug/junction`). The
//! end-to-end tests need it built with the host's `synthetic` feature
//! (`cargo xtask test` does that); a plugin's API tests ask
//! [`binary_has_platform`] first. Nothing here depends on the host: the
//! binary is driven from outside, as an operator would.

// Test support: a failure here is the calling test's failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The admin key every test server starts with (`JUNCTION_ADMIN_KEY`).
pub const ADMIN: &str = "jct_e2e_admin_key_0123456789abcdef";

/// The header that makes an operation of a test build fail at a named step.
pub const FAULT_HEADER: &str = "X-Junction-Fault-Step";

/// Where the binary under test is: `JUNCTION_BIN`, else `target/<profile>/junction`.
fn bin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("JUNCTION_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable sits in target/<profile>/deps");
    dir.join(format!("junction{}", std::env::consts::EXE_SUFFIX))
}

/// The `junction` binary under test.
pub fn junction_bin() -> PathBuf {
    let bin = bin_path();
    assert!(
        bin.exists(),
        "the junction binary is missing at {}: build it with `cargo build -p junction-host --features synthetic` \
         (or run `cargo xtask test`), or point JUNCTION_BIN at it",
        bin.display()
    );
    bin
}

/// Whether the binary is built and links the platform `type_name`. Outside CI
/// `false` (with a message) means the caller returns early; under `CI=true` a
/// missing binary or platform fails the test.
pub fn binary_has_platform(type_name: &str) -> bool {
    let bin = bin_path();
    let ready = bin.exists()
        && std::process::Command::new(&bin)
            .args(["plugins", "--output", "json"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains(&format!("\"{type_name}\""))
            });
    if !ready {
        let msg = format!(
            "the junction binary at {} is missing or lacks {type_name}: build it with `cargo build -p junction-host --features synthetic`",
            bin.display()
        );
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!in_ci, "{msg}");
        eprintln!("SKIPPING: {msg}");
    }
    ready
}

/// A fresh, empty directory under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "junction-e2e-{name}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    /// The status line and headers, as received.
    pub head: String,
}

impl Resp {
    /// A header's value (the first, case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// A running server.
pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub dir: PathBuf,
    pub data_dir: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    run: usize,
}

impl Server {
    /// Starts a server with a fresh data directory.
    pub fn start(name: &str, args: &[&str]) -> Server {
        Server::start_with_env(name, args, &[("JUNCTION_ADMIN_KEY", ADMIN)])
    }

    pub fn start_with_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = temp_dir(name);
        let mut s = Server {
            child: None,
            addr: String::new(),
            data_dir: dir.join("data"),
            dir,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            run: 0,
        };
        s.launch();
        s
    }

    fn stdout_path(&self, run: usize) -> PathBuf {
        self.dir.join(format!("stdout.{run}"))
    }

    fn stderr_path(&self, run: usize) -> PathBuf {
        self.dir.join(format!("stderr.{run}"))
    }

    fn launch(&mut self) {
        self.run += 1;
        let out = std::fs::File::create(self.stdout_path(self.run)).unwrap();
        let err = std::fs::File::create(self.stderr_path(self.run)).unwrap();
        let mut cmd = Command::new(junction_bin());
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.args)
            .env_remove("JUNCTION_SECRET_KEY")
            .env_remove("JUNCTION_ADMIN_KEY")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawn junction"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(self.stdout_path(self.run)).unwrap_or_default();
            if let Some(line) = text
                .lines()
                .find(|l| l.starts_with("junction listening on http"))
            {
                self.addr = line
                    .trim_start_matches("junction listening on ")
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim()
                    .to_owned();
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "junction exited ({status}) before it was ready:\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "junction was not ready within 30 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server printed so far, all runs.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for run in 1..=self.run {
            s.push_str(&std::fs::read_to_string(self.stdout_path(run)).unwrap_or_default());
            s.push_str(&std::fs::read_to_string(self.stderr_path(run)).unwrap_or_default());
        }
        s
    }

    /// What this run printed on stdout.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.stdout_path(self.run)).unwrap_or_default()
    }

    /// SIGKILL, like `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "junction did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the same server again on the same data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    pub fn req(&self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Resp {
        self.raw(
            method,
            path,
            key.map(|k| format!("Bearer {k}")).as_deref(),
            body.map(str::as_bytes),
            None,
        )
    }

    /// With the admin key.
    pub fn admin(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        self.req(method, path, Some(ADMIN), body)
    }

    /// Starts an operation as admin — with `fault`, made to fail at that step
    /// of the platform's plan ([`FAULT_HEADER`]) — checks it was accepted (202)
    /// and that `secret` is in no response, and waits for its outcome. `id`
    /// names the integration, or `None` for a create (the id comes back).
    pub fn operate(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        fault: Option<&str>,
        id: Option<i64>,
        secret: &str,
    ) -> (i64, Value) {
        let headers: Vec<(&str, &str)> = fault.map(|s| (FAULT_HEADER, s)).into_iter().collect();
        let r = self.admin_with(method, path, body, &headers);
        assert_eq!(r.status, 202, "{method} {path}: {}", r.body);
        assert!(!r.body.contains(secret), "a secret in a response");
        let id = id.unwrap_or_else(|| r.json()["id"].as_i64().expect("id"));
        let v = self.settle(id);
        assert!(!v.to_string().contains(secret), "a secret in a response");
        (id, v)
    }

    /// Whether any file under the data directory holds `needle` as bytes.
    pub fn data_dir_holds(&self, needle: &str) -> bool {
        fn walk(dir: &Path, needle: &[u8]) -> bool {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return false;
            };
            entries.flatten().any(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, needle)
                } else {
                    std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
                }
            })
        }
        walk(&self.data_dir, needle.as_bytes())
    }

    /// The message of the integration's last history entry; `secret` must not
    /// be anywhere in the history.
    pub fn last_message(&self, id: i64, secret: &str) -> String {
        let r = self.admin("GET", &format!("/integrations/{id}/history"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains(secret), "a secret in the history");
        r.json()
            .as_array()
            .and_then(|a| a.last())
            .and_then(|e| e["message"].as_str())
            .unwrap_or_default()
            .to_owned()
    }

    /// The last operation failed at the injected `step` and rolled back.
    pub fn assert_failed_at(&self, id: i64, step: &str, secret: &str) {
        let m = self.last_message(id, secret);
        assert!(
            m.contains(&format!("step {step} failed: injected fault")),
            "{m}"
        );
        assert!(m.contains("every step before it was rolled back"), "{m}");
    }

    /// An admin request with extra headers.
    pub fn admin_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        http(
            &self.addr,
            method,
            path,
            Some(&format!("Bearer {ADMIN}")),
            body.map(str::as_bytes),
            Some("application/json"),
            headers,
        )
    }

    /// A request with full control of the Authorization header and content type.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<&[u8]>,
        content_type: Option<&str>,
    ) -> Resp {
        http(
            &self.addr,
            method,
            path,
            authorization,
            body,
            content_type,
            &[],
        )
    }

    /// Polls until the integration's status is no longer in progress.
    pub fn settle(&self, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.admin("GET", &format!("/integrations/{id}"), None);
            assert_eq!(r.status, 200, "{}", r.body);
            let v = r.json();
            let s = v["status"].as_str().unwrap().to_owned();
            if !["creating", "editing", "deleting", "migrating"].contains(&s.as_str()) {
                return v;
            }
            assert!(Instant::now() < deadline, "integration {id} stayed {s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the binary with other arguments (CLI commands).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(junction_bin())
            .args(args)
            .env_remove("JUNCTION_KEY")
            .output()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One HTTP/1.1 request over a new connection (`Connection: close`).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&[u8]>,
    content_type: Option<&str>,
    extra_headers: &[(&str, &str)],
) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(a) = authorization {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            content_type.unwrap_or("application/json"),
            b.len()
        ));
    }
    for (k, v) in extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading everything: write on another thread.
    let writer = body.map(|b| {
        let mut w = stream.try_clone().unwrap();
        let b = b.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&b);
        })
    });
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    if let Some(w) = writer {
        let _ = w.join();
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("bad response: {text:?}"));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Resp {
        status,
        body,
        head: head.to_owned(),
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
