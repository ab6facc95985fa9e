//! The status page (`/ui`) in a real browser: the real `junction` binary with
//! synthetic integrations in several statuses, and headless Chromium (Debian's
//! `chromium`) driven by Playwright (`playwright-core` from npm, in `tests/ui`)
//! through `tests/ui/status-page.mjs`, which asserts what the page shows.
//! Screenshots go to `target/ui-screenshots/`.
//!
//! `cargo xtask test` installs Chromium and runs `npm ci` in `tests/ui`; under
//! `CI=true` a missing browser, Node.js or `node_modules` fails this test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::SENTINEL;
use junction_testkit::binary::{ADMIN, Server, temp_dir};
use junction_testkit::synthetic::CHECK_PRIVILEGES;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What the browser test needs, found on this machine.
struct Browser {
    chromium: PathBuf,
    script_dir: PathBuf,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The browser, Node.js and the script's `node_modules`; outside CI `None`
/// (the test returns early, saying why), under `CI=true` a failure.
fn browser() -> Option<Browser> {
    let chromium = std::env::var_os("JUNCTION_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!(
            "Chromium at {} (apt-get install chromium)",
            chromium.display()
        ));
    }
    if !node_ok {
        missing.push("Node.js (`node` on the PATH)".to_owned());
    }
    if !script_dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push(format!(
            "playwright-core in {}/node_modules (npm ci there)",
            script_dir.display()
        ));
    }
    if missing.is_empty() {
        return Some(Browser {
            chromium,
            script_dir,
        });
    }
    let msg = format!(
        "the browser test needs {}; `cargo xtask test` installs them",
        missing.join(", ")
    );
    assert!(!in_ci(), "{msg}");
    eprintln!("SKIPPING: {msg}");
    None
}

/// `target/ui-screenshots`, beside the test executable's `target/<profile>`.
fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test executable sits in target/<profile>/deps");
    let dir = target.join("ui-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn create(s: &Server, account: &str, extra: Value) -> i64 {
    let mut config = json!({"account": account, "password": SENTINEL});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let body = json!({"type": "Synthetic", "autoBootstrap": false, "config": config}).to_string();
    let r = s.admin("POST", "/integrations", Some(&body));
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

/// Waits until the integration's tests have run (its operation may go on).
fn validated(s: &Server, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = s.admin("GET", &format!("/integrations/{id}"), None).json();
        if v["validationResults"]["status"] != "skipped" {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "integration {id} was never validated"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_status_page_shows_integrations_and_follows_a_create_live() {
    let Some(browser) = browser() else { return };
    let s = Server::start("ui", &[]);

    let enabled = create(&s, "acct-enabled", json!({}));
    let failed = create(
        &s,
        "acct-failed",
        json!({"checks": {CHECK_PRIVILEGES: {"behavior": "fail"}}}),
    );
    let warned = create(
        &s,
        "acct-warned",
        json!({"checks": {"Synthetic: connection": {"behavior": "warn"}}}),
    );
    let op_failed = create(
        &s,
        "acct-op-failed",
        json!({"operations": {"create": {"behavior": "fail"}}}),
    );
    // Its create never ends while the test runs: it stays `creating`.
    let hanging = create(
        &s,
        "acct-hanging",
        json!({"operations": {"create": {"behavior": "hang"}}}),
    );
    let deleted = create(&s, "acct-deleted", json!({}));
    for id in [enabled, failed, warned, op_failed, deleted] {
        s.settle(id);
    }
    validated(&s, hanging);
    let r = s.admin("DELETE", &format!("/integrations/{deleted}"), None);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(s.settle(deleted)["status"], "deleted");

    let failed_message = format!("{CHECK_PRIVILEGES} failed, as configured.");
    let expect = json!([
        {"id": enabled, "account": "acct-enabled", "status": "enabled", "failing": []},
        {"id": failed, "account": "acct-failed", "status": "createError", "failing": [CHECK_PRIVILEGES]},
        {"id": warned, "account": "acct-warned", "status": "enabled", "failing": ["Synthetic: connection (warning)"]},
        {"id": op_failed, "account": "acct-op-failed", "status": "createError", "failing": []},
        {"id": hanging, "account": "acct-hanging", "status": "creating", "failing": []},
        {"id": deleted, "account": "acct-deleted", "status": "deleted", "failing": []},
    ]);
    // What the page will show, as the API says it: the expectations hold.
    for e in expect.as_array().unwrap() {
        let v = s
            .admin("GET", &format!("/integrations/{}", e["id"]), None)
            .json();
        assert_eq!(v["status"], e["status"], "{v}");
        assert!(!v.to_string().contains(SENTINEL));
    }

    let shots = screenshots_dir();
    let profile = temp_dir("ui-chromium-profile");
    let out = Command::new("node")
        .arg(browser.script_dir.join("status-page.mjs"))
        .current_dir(&browser.script_dir)
        .env("JUNCTION_URL", format!("http://{}", s.addr))
        .env("JUNCTION_KEY", ADMIN)
        .env("SENTINEL", SENTINEL)
        .env("EXPECT", expect.to_string())
        .env("FAILED_ID", failed.to_string())
        .env("FAILED_TEST", CHECK_PRIVILEGES)
        .env("FAILED_MESSAGE", &failed_message)
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &browser.chromium)
        .env("PROFILE", &profile)
        .output()
        .expect("node starts");
    let _ = std::fs::remove_dir_all(&profile);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all assertions held"), "{stdout}\n{stderr}");
    for name in [
        "02-list",
        "04-failed-integration",
        "05-fixes",
        "08-live-enabled",
        "09-phone-list",
    ] {
        let png = shots.join(format!("{name}.png"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG"), "{} is no PNG", png.display());
    }
    // The secret reached no log line either, whatever the page asked for.
    assert!(
        !s.logs().contains(SENTINEL),
        "the sentinel in the server's log"
    );
}
