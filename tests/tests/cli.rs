//! The command line against the real binary, read from its stdout: tables
//! by default, `--output json|yaml`, `--wait` following an operation's events
//! and exiting by its outcome, `watch`, a closed stdout, and `/metrics` after
//! creates made through the binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::{ADMIN, Server, junction_bin, temp_dir};
use junction_testkit::synthetic::{CHECK_AUTOMATIC, CHECK_CONNECT, CHECK_PRIVILEGES};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn payload(account: &str, extra: Value) -> String {
    let mut config = json!({"account": account, "password": "pw-cli-1", "installVersion": 1});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    json!({"type": "Synthetic", "autoBootstrap": false, "config": config}).to_string()
}

/// A payload whose privileges test fails.
fn failing(account: &str) -> String {
    payload(
        account,
        json!({"checks": {CHECK_PRIVILEGES: {"behavior": "fail", "delayMs": 50}}}),
    )
}

struct Cli<'a> {
    s: &'a Server,
    server: String,
    dir: PathBuf,
}

impl<'a> Cli<'a> {
    fn new(s: &'a Server) -> Self {
        Cli {
            s,
            server: format!("http://{}", s.addr),
            dir: temp_dir("cli-files"),
        }
    }

    fn file(&self, name: &str, body: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_owned()
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["integrations", "--server", &self.server, "--key", ADMIN];
        all.extend_from_slice(args);
        self.s.cli(&all)
    }

    /// Runs it and hands back (exit code, stdout), stderr shown on failure.
    fn ok(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Drop for Cli<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn create(s: &Server, body: &str) -> i64 {
    let r = s.admin("POST", "/integrations", Some(body));
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

/// The cell of `row` under the header `column` (columns start where their
/// header does).
fn cell<'l>(header: &str, row: &'l str, column: &str) -> &'l str {
    let start = header
        .find(column)
        .unwrap_or_else(|| panic!("{column} not in {header}"));
    let rest = row.get(start..).unwrap_or("");
    let next = header[start + column.len()..]
        .find(|c: char| c != ' ')
        .map(|i| start + column.len() + i - start);
    match next {
        Some(len) => rest.get(..len).unwrap_or(rest).trim_end(),
        None => rest.trim_end(),
    }
}

#[test]
fn integrations_print_as_an_aligned_table_and_as_json_or_yaml() {
    let s = Server::start("cli-table", &[]);
    let cli = Cli::new(&s);
    let good = create(&s, &payload("acct-good", json!({})));
    let bad = create(&s, &failing("acct-bad"));
    assert_eq!(s.settle(good)["status"], "enabled");
    assert_eq!(s.settle(bad)["status"], "createError");

    let out = cli.ok(&["list"], 0);
    assert!(!out.contains('\x1b'), "colour on a pipe: {out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let header = lines[0];
    assert!(
        header.starts_with("ID")
            && header
                .split("   ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                == [
                    "ID",
                    "TYPE",
                    "STATUS",
                    "ACCOUNT",
                    "LAST VALIDATED",
                    "FAILING TESTS"
                ],
        "{header}"
    );
    let by_id = |id: i64| {
        *lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
            .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
    };
    let (g, b) = (by_id(good), by_id(bad));
    assert_eq!(cell(header, g, "TYPE"), "Synthetic");
    assert_eq!(cell(header, g, "STATUS"), "enabled");
    assert_eq!(cell(header, g, "ACCOUNT"), "acct-good");
    assert_eq!(cell(header, g, "FAILING TESTS"), "-");
    assert_eq!(cell(header, b, "STATUS"), "createError");
    assert_eq!(cell(header, b, "ACCOUNT"), "acct-bad");
    assert_eq!(cell(header, b, "FAILING TESTS"), CHECK_PRIVILEGES);
    // The last validation's time, from the history: `2026-11-28 10:30:00Z`.
    for row in [g, b] {
        let at = cell(header, row, "LAST VALIDATED");
        assert!(
            at.len() == 20 && at.as_bytes()[10] == b' ' && at.ends_with('Z'),
            "{at:?} in {row}"
        );
    }

    // Filters reach the server.
    let out = cli.ok(&["list", "--status", "createError"], 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with(&bad.to_string()));

    // JSON is the API's answer as it is.
    let out = cli.ok(&["list", "-o", "json"], 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, s.admin("GET", "/integrations", None).json());
    let out = cli.ok(&["--output", "json", "get", &good.to_string()], 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        s.admin("GET", &format!("/integrations/{good}"), None)
            .json()
    );
    assert!(out.contains("\n  \"id\""), "pretty-printed: {out}");

    // YAML, the same answer.
    let out = cli.ok(&["get", &bad.to_string(), "-o", "yaml"], 0);
    assert!(out.lines().any(|l| l == format!("id: {bad}")), "{out}");
    assert!(out.lines().any(|l| l == "status: createError"), "{out}");
    assert!(
        out.contains(&format!("name: '{CHECK_PRIVILEGES}'"))
            || out.contains(&format!("name: {CHECK_PRIVILEGES}")),
        "{out}"
    );

    // Status and history as tables.
    let out = cli.ok(&["status", &good.to_string()], 0);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["ID   STATUS", &format!("{good:<2}   enabled")]
    );
    let out = cli.ok(&["history", &bad.to_string()], 0);
    let header = out.lines().next().unwrap();
    assert!(header.starts_with("SEQ   AT"), "{out}");
    let last = out.lines().last().unwrap();
    assert_eq!(cell(header, last, "TO"), "createError", "{out}");
    assert_eq!(cell(header, last, "EVENT"), "outcome", "{out}");

    // A refusal: the API's message on stderr, exit 1; its object with -o json.
    let out = cli.run(&["get", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No Integration found with ID 999."),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli.ok(&["get", "999", "-o", "json"], 1);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["statusCode"],
        404
    );
    let file = cli.file(
        "bad.json",
        r#"{"type": "Synthetic", "config": {"account": 5}}"#,
    );
    let out = cli.run(&["create", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.account"));
}

/// The test lines of a `--wait` run's stdout, in the order printed.
fn test_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn wait_prints_each_test_as_it_finishes_and_exits_by_the_outcome() {
    let s = Server::start("cli-wait", &[]);
    let cli = Cli::new(&s);

    // A passing create: exit 0. The automatic set-up test is settled (skipped)
    // at once, before the connection finishes, so the order of completion is
    // not the order of declaration: the lines come from the events.
    let good = cli.file("good.json", &payload("acct-w", json!({})));
    let out = cli.ok(&["create", &good, "--wait"], 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with(": creating"), "{out}");
    let id: i64 = lines[0]
        .trim_start_matches("integration ")
        .trim_end_matches(": creating")
        .parse()
        .unwrap();
    let tests = test_lines(&out);
    assert_eq!(tests.len(), 3, "{out}");
    assert!(
        tests[0].starts_with(&format!("skipped  {CHECK_AUTOMATIC}: Skipped")),
        "{out}"
    );
    assert_eq!(tests[1], format!("passed   {CHECK_CONNECT}"), "{out}");
    assert_eq!(tests[2], format!("passed   {CHECK_PRIVILEGES}"), "{out}");
    assert!(
        out.contains(&format!("integration {id}: enabled\n")),
        "{out}"
    );
    // Then the integration as it ended, as a table.
    let table: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("ID ")).collect();
    assert_eq!(table.len(), 2, "{out}");
    assert!(
        table[1].starts_with(&id.to_string()) && table[1].contains("enabled"),
        "{out}"
    );
    assert_eq!(
        s.admin("GET", &format!("/integrations/{id}"), None).json()["status"],
        "enabled"
    );

    // A failing create: exit 1, the failed test with its message.
    let bad = cli.file("bad.json", &failing("acct-wf"));
    let out = cli.ok(&["create", &bad, "--wait"], 1);
    let tests = test_lines(&out);
    assert_eq!(tests.len(), 3, "{out}");
    assert_eq!(
        tests[2],
        format!("failed   {CHECK_PRIVILEGES}: {CHECK_PRIVILEGES} failed, as configured."),
        "{out}"
    );
    assert!(out.contains(": createError\n"), "{out}");

    // An edit of the first: only this operation's tests, not the create's.
    let edit = cli.file("edit.json", &payload("acct-w", json!({"label": "two"})));
    let out = cli.ok(&["edit", &id.to_string(), &edit, "--wait"], 0);
    assert!(
        out.starts_with(&format!("integration {id}: editing\n")),
        "{out}"
    );
    assert_eq!(test_lines(&out).len(), 3, "{out}");
    assert!(
        out.contains(&format!("integration {id}: enabled\n")),
        "{out}"
    );

    // An edit whose operation fails: editError, exit 1.
    let edit = cli.file(
        "edit-fail.json",
        &payload(
            "acct-w",
            json!({"label": "three", "operations": {"edit": {"behavior": "fail"}}}),
        ),
    );
    let out = cli.ok(&["edit", &id.to_string(), &edit, "--wait"], 1);
    assert!(
        out.contains(&format!("integration {id}: editError\n")),
        "{out}"
    );

    // Migrate (no tests) and delete: exit 0; JSON keeps stdout for the answer.
    let out = cli.ok(&["migrate", &id.to_string(), "--wait"], 0);
    assert!(test_lines(&out).is_empty(), "{out}");
    assert!(
        out.contains(&format!("integration {id}: enabled\n")),
        "{out}"
    );
    let out = cli.run(&["delete", &id.to_string(), "--wait", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "deleted");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains(&format!("integration {id}: deleting")),
        "{progress}"
    );
    assert!(
        progress.contains(&format!("integration {id}: deleted")),
        "{progress}"
    );
}

fn read_lines(from: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running `watch`, its stdout read line by line.
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    /// Started, and past its look at where the stored events end (it says
    /// so on stderr), so that whatever happens next is shown.
    fn start(s: &Server, args: &[&str]) -> Watch {
        let server = format!("http://{}", s.addr);
        let mut child = Command::new(junction_bin())
            .args(["integrations", "--server", &server, "--key", ADMIN, "watch"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = read_lines(child.stdout.take().unwrap());
        let errors = read_lines(child.stderr.take().unwrap());
        let said = errors
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("watch said nothing on stderr");
        assert!(said.contains("watching events after"), "{said}");
        Watch { child, lines }
    }

    /// Lines until one satisfies `done` (that one included).
    fn until(&self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut got = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("watch printed no more after {got:#?}"));
            let end = done(&line);
            got.push(line);
            if end {
                return got;
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_streams_each_change_as_a_line_or_as_json() {
    let s = Server::start("cli-watch", &[]);
    let before = create(&s, &payload("acct-before", json!({})));
    s.settle(before);
    let json_watch = Watch::start(&s, &["-o", "json"]);
    let table_watch = Watch::start(&s, &[]);
    assert!(table_watch.until(|l| l.starts_with("AT "))[0].contains("OPERATION"));
    // From now on: nothing of the integration made before they started.
    let id = create(&s, &failing("acct-watch"));
    s.settle(id);

    let events: Vec<Value> = json_watch
        .until(|l| l.contains("\"createError\""))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.iter().all(|e| e["integrationId"] == id),
        "{events:#?}"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["status", "test", "test", "test", "status"],
        "{events:#?}"
    );
    assert_eq!(events[0]["status"], "creating");
    assert_eq!(events[3]["test"]["name"], CHECK_PRIVILEGES);
    assert_eq!(events[3]["test"]["status"], "failed");
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let lines = table_watch.until(|l| l.contains("createError"));
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(
        lines[0].contains(&format!("{id}  "))
            && lines[0].contains("create")
            && lines[0].ends_with("creating"),
        "{lines:#?}"
    );
    assert!(
        lines[3].ends_with(&format!(
            "failed   {CHECK_PRIVILEGES}: {CHECK_PRIVILEGES} failed, as configured."
        )),
        "{lines:#?}"
    );
    assert!(lines[4].ends_with("creating -> createError"), "{lines:#?}");

    // One integration's changes, replayed from the start.
    let one = Watch::start(&s, &[&before.to_string(), "--after", "0", "-o", "json"]);
    let replay: Vec<Value> = one
        .until(|l| l.contains("\"enabled\""))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        replay.iter().all(|e| e["integrationId"] == before),
        "{replay:#?}"
    );
    assert_eq!(replay[0]["status"], "creating");
}

/// Runs the binary with its stdout a pipe whose reader is already gone.
fn with_stdout_closed(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(junction_bin())
        .args(args)
        .env_remove("JUNCTION_KEY")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [
        &["plugins"][..],
        &["plugins", "-o", "json"],
        &["plugins", "-o", "yaml"],
        &["--help"],
    ] {
        let out = with_stdout_closed(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
    let s = Server::start("cli-epipe", &[]);
    for i in 0..3 {
        create(&s, &payload(&format!("acct-pipe-{i}"), json!({})));
    }
    let server = format!("http://{}", s.addr);
    for output in ["table", "json", "yaml"] {
        let out = with_stdout_closed(&[
            "integrations",
            "--server",
            &server,
            "--key",
            ADMIN,
            "-o",
            output,
            "list",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        // The exit status is the answer's, not the pipe's.
        assert_eq!(out.status.code(), Some(0), "{output}: {err}");
    }
    // An endless command stops when its reader goes away.
    let out = with_stdout_closed(&[
        "integrations",
        "--server",
        &server,
        "--key",
        ADMIN,
        "watch",
        "--after",
        "0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The samples of a text exposition, after checking every line is a
/// comment or `name{labels} value` and every name follows the convention.
fn exposition(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("# ") {
            assert!(
                c.starts_with("HELP junction_") || c.starts_with("TYPE junction_"),
                "{line}"
            );
            if let Some(t) = c.strip_prefix("TYPE ") {
                let (name, kind) = t.split_once(' ').unwrap();
                match kind {
                    "counter" => assert!(name.ends_with("_total"), "{line}"),
                    "histogram" => assert!(name.ends_with("_seconds"), "{line}"),
                    "gauge" => assert!(!name.ends_with("_total"), "{line}"),
                    _ => panic!("unknown type: {line}"),
                }
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.starts_with("junction_")
                && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{line}"
        );
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{line}"));
            // name="value" pairs, the values quoted.
            let mut rest = inner;
            while !rest.is_empty() {
                let (label, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                assert!(
                    label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{line}"
                );
                let mut end = None;
                let mut escaped = false;
                for (i, c) in after.char_indices() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                let end = end.unwrap_or_else(|| panic!("unclosed label: {line}"));
                rest = after[end + 1..]
                    .strip_prefix(',')
                    .unwrap_or(&after[end + 1..]);
            }
        }
        samples.insert(series.to_owned(), value);
    }
    samples
}

#[test]
fn metrics_after_creates_through_the_binary() {
    let s = Server::start("cli-metrics", &[]);
    let cli = Cli::new(&s);
    let good = cli.file("good.json", &payload("acct-m1", json!({})));
    let bad = cli.file("bad.json", &failing("acct-m2"));
    cli.ok(&["create", &good, "--wait"], 0);
    cli.ok(&["create", &bad, "--wait"], 1);
    let r = s.admin("GET", "/metrics", None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let m = exposition(&r.body);
    let v = |k: &str| {
        *m.get(k)
            .unwrap_or_else(|| panic!("{k} missing from\n{}", r.body))
    };
    let op = |outcome: &str| {
        format!(
            "junction_operations_total{{platform=\"Synthetic\",operation=\"create\",outcome=\"{outcome}\"}}"
        )
    };
    assert_eq!(v(&op("succeeded")), 1.0);
    assert_eq!(v(&op("failed")), 1.0);
    let test = |name: &str, status: &str| {
        format!(
            "junction_validation_tests_total{{platform=\"Synthetic\",test=\"{name}\",status=\"{status}\"}}"
        )
    };
    assert_eq!(v(&test(CHECK_CONNECT, "passed")), 2.0);
    assert_eq!(v(&test(CHECK_PRIVILEGES, "passed")), 1.0);
    assert_eq!(v(&test(CHECK_PRIVILEGES, "failed")), 1.0);
    assert_eq!(v(&test(CHECK_AUTOMATIC, "skipped")), 2.0);
    let duration = |name: &str, part: &str| {
        format!(
            "junction_validation_test_duration_seconds_{part}{{platform=\"Synthetic\",test=\"{name}\"}}"
        )
    };
    assert_eq!(v(&duration(CHECK_PRIVILEGES, "count")), 2.0);
    // The failing run's privileges test sleeps 50 ms before it fails.
    assert!(v(&duration(CHECK_PRIVILEGES, "sum")) >= 0.05);
    assert_eq!(
        v(&format!(
            "junction_validation_test_duration_seconds_bucket{{platform=\"Synthetic\",test=\"{CHECK_PRIVILEGES}\",le=\"+Inf\"}}"
        )),
        2.0
    );
    let store = |op: &str| {
        v(&format!(
            "junction_store_operation_duration_seconds_count{{operation=\"{op}\"}}"
        ))
    };
    assert_eq!(store("insert"), 2.0);
    assert_eq!(store("finish"), 2.0);
    assert_eq!(store("record_validation"), 2.0);
    assert_eq!(v("junction_integrations{status=\"enabled\"}"), 1.0);
    assert_eq!(v("junction_integrations{status=\"createError\"}"), 1.0);
    assert_eq!(v("junction_operations_running"), 0.0);
    assert!(v("junction_http_requests_total") >= 4.0);
    assert_eq!(
        v("junction_webhook_deliveries_total{outcome=\"delivered\"}"),
        0.0
    );
}

#[test]
fn disable_and_enable_print_the_integration() {
    let s = Server::start("cli-disable", &[]);
    let cli = Cli::new(&s);
    let id = create(&s, &payload("acct-d", json!({})));
    assert_eq!(s.settle(id)["status"], "enabled");
    let out = cli.ok(&["disable", &id.to_string()], 0);
    let row = out.lines().nth(1).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        cell(out.lines().next().unwrap(), row, "STATUS"),
        "disabled",
        "{out}"
    );
    // Disabled twice: refused, the server's reason on stderr.
    let again = cli.run(&["disable", &id.to_string()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("409"));
    let out = cli.ok(&["enable", &id.to_string(), "-o", "json"], 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["status"],
        "enabled"
    );
    // Both counted as operations.
    let m = exposition(&s.admin("GET", "/metrics", None).body);
    for op in ["disable", "enable"] {
        let k = format!(
            "junction_operations_total{{platform=\"Synthetic\",operation=\"{op}\",outcome=\"succeeded\"}}"
        );
        assert_eq!(m.get(&k), Some(&1.0), "{k}");
    }
}

/// Runs `args` in a pseudo-terminal (util-linux `script`), with `env`;
/// `None` when `script` is missing (a failure under `CI=true`).
fn in_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let mut line = quote(junction_bin().to_str().unwrap());
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) => {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !in_ci,
                "util-linux `script` is needed for the terminal test: {e}"
            );
            eprintln!("SKIPPING: no `script` to make a pseudo-terminal: {e}");
            None
        }
    }
}

#[test]
fn on_a_terminal_tests_are_marked_and_statuses_coloured() {
    let s = Server::start("cli-tty", &[]);
    let cli = Cli::new(&s);
    let bad = cli.file("bad.json", &failing("acct-tty"));
    let args = [
        "integrations",
        "--server",
        &cli.server,
        "--key",
        ADMIN,
        "create",
        &bad,
        "--wait",
    ];
    let Some(out) = in_a_terminal(&args, &[]) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // The exit status passes through the terminal: 1, a failed create.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("\x1b[32m✓\x1b[0m {CHECK_CONNECT}")),
        "{text:?}"
    );
    assert!(
        text.contains(&format!(
            "\x1b[31m✗\x1b[0m {CHECK_PRIVILEGES}: {CHECK_PRIVILEGES} failed, as configured."
        )),
        "{text:?}"
    );
    // The table's status in red.
    assert!(text.contains("\x1b[31mcreateError\x1b[0m"), "{text:?}");
    // NO_COLOR: the marks stay, the colour goes.
    let list = [
        "integrations",
        "--server",
        &cli.server,
        "--key",
        ADMIN,
        "list",
    ];
    let out = in_a_terminal(&list, &[("NO_COLOR", "1")]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("createError") && !text.contains('\x1b'),
        "{text:?}"
    );
    let out = in_a_terminal(&list, &[]).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[31mcreateError\x1b[0m"));
}
