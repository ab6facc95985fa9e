//! Recurring validation, disable and enable, end to end: the real binary
//! with the synthetic platform and a one-second `--revalidate-every`.
//! Nothing here measures time: a run is waited for by reading the history,
//! and "several intervals" are counted in another integration's runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::SENTINEL;
use junction_testkit::binary::{ADMIN, Server};
use junction_testkit::stand_ins::{self, Postgres};
use junction_testkit::synthetic::{CHECK_CONNECT, CHECK_PRIVILEGES};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn payload(account: &str, checks: Value, extra: Value) -> String {
    let mut p = json!({
        "type": "Synthetic",
        "autoBootstrap": false,
        "config": {"account": account, "password": SENTINEL, "installVersion": 1, "checks": checks},
    });
    if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            p.insert(k.clone(), v.clone());
        }
    }
    p.to_string()
}

fn create(s: &Server, body: &str) -> i64 {
    let r = s.admin("POST", "/integrations", Some(body));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(s.settle(id)["status"], "enabled");
    id
}

fn history(s: &Server, id: i64) -> Vec<Value> {
    let r = s.admin("GET", &format!("/integrations/{id}/history"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains(SENTINEL), "a secret in the history");
    r.json().as_array().unwrap().clone()
}

fn runs(s: &Server, id: i64) -> Vec<Value> {
    history(s, id)
        .into_iter()
        .filter(|e| e["event"] == "validate")
        .collect()
}

/// Polls the history until `id` has had `n` recurring runs (a safety
/// deadline only: the test never asserts how long they took).
fn wait_for_runs(s: &Server, id: i64, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = runs(s, id);
        if r.len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "integration {id} had {} of {n} recurring runs:\n{}",
            r.len(),
            s.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads the platform back for `account` through `POST /integrations/validate`
/// (the synthetic report check): how many times the connection test ran for
/// it before, and the objects the platform holds for it.
fn platform(s: &Server, account: &str) -> (usize, String) {
    let body = payload(
        account,
        json!({CHECK_CONNECT: {"behavior": "report"}}),
        json!({}),
    );
    let r = s.admin("POST", "/integrations/validate", Some(&body));
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let msg = v["validationTests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == CHECK_CONNECT)
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let ran = msg
        .split("ran ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{msg}"));
    let holds = msg.split("the platform holds: ").nth(1).unwrap().to_owned();
    (ran, holds)
}

#[test]
fn a_failed_recurring_run_moves_enabled_to_recurring_validation_error_and_a_pass_moves_it_back() {
    let s = Server::start("recurring-drift", &["--revalidate-every", "1s"]);
    // The create's validation passes; then a grant is revoked and restored.
    let id = create(
        &s,
        &payload(
            "acct-drift",
            json!({CHECK_PRIVILEGES: {"runs": ["pass", "fail", "pass"]}}),
            json!({}),
        ),
    );
    let r = wait_for_runs(&s, id, 2);
    assert_eq!(r[0]["from"], "enabled", "{r:?}");
    assert_eq!(r[0]["to"], "recurringValidationError");
    assert_eq!(r[0]["validationResults"]["status"], "failed");
    let failed: Vec<&Value> = r[0]["validationResults"]["validationTests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["name"], CHECK_PRIVILEGES);
    assert!(r[0]["message"].as_str().unwrap().contains(CHECK_PRIVILEGES));
    assert_eq!(r[1]["from"], "recurringValidationError");
    assert_eq!(r[1]["to"], "enabled");
    assert_eq!(r[1]["validationResults"]["status"], "passed");
    // Later runs pass and keep it enabled.
    let r = wait_for_runs(&s, id, 3);
    assert_eq!(
        (&r[2]["from"], &r[2]["to"]),
        (&json!("enabled"), &json!("enabled"))
    );
    let v = s.admin("GET", &format!("/integrations/{id}"), None).json();
    assert_eq!(v["status"], "enabled");
    assert!(
        v.get("revalidateEvery").is_none(),
        "no interval of its own: {v}"
    );
}

#[test]
fn disable_leaves_the_platform_untouched_and_a_disabled_integration_is_not_revalidated() {
    let s = Server::start("recurring-disable", &["--revalidate-every", "1s"]);
    let d = create(&s, &payload("acct-d", json!({}), json!({})));
    let witness = create(&s, &payload("acct-w", json!({}), json!({})));
    let (_, objects) = platform(&s, "acct-d");
    assert_eq!(objects, "database, system-user, version-1");
    let r = s.admin("POST", &format!("/integrations/{d}/disable"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "disabled");
    assert!(!r.body.contains(SENTINEL));
    let (ran, objects_after) = platform(&s, "acct-d");
    assert_eq!(objects_after, objects, "disable changed the platform");
    let before = runs(&s, d).len();
    // Several intervals, counted in the witness's runs.
    let w0 = runs(&s, witness).len();
    wait_for_runs(&s, witness, w0 + 3);
    let (ran_later, objects_later) = platform(&s, "acct-d");
    assert_eq!(
        ran_later,
        ran + 1,
        "the platform saw a validation of the disabled integration (only the read-back's own run is allowed)"
    );
    assert_eq!(objects_later, objects);
    assert_eq!(
        runs(&s, d).len(),
        before,
        "a disabled integration was re-validated"
    );
    let h = history(&s, d);
    let last = h.last().unwrap();
    assert_eq!(last["event"], "disable");
    assert_eq!(
        (&last["from"], &last["to"]),
        (&json!("enabled"), &json!("disabled"))
    );
    // Refusals as for the other id operations.
    assert_eq!(
        s.admin("POST", &format!("/integrations/{d}/disable"), None)
            .status,
        409
    );
    let put = s.admin(
        "PUT",
        &format!("/integrations/{d}"),
        Some(&payload("acct-d", json!({}), json!({}))),
    );
    assert_eq!(put.status, 409, "{}", put.body);
    assert_eq!(
        s.admin("POST", "/integrations/999999/disable", None).status,
        404
    );
    assert_eq!(
        s.admin("POST", "/integrations/999999/enable", None).status,
        404
    );
    assert_eq!(
        s.admin("POST", &format!("/integrations/{witness}/enable"), None)
            .status,
        409
    );
    // The account stays taken while disabled.
    let dup = s.admin(
        "POST",
        "/integrations",
        Some(&payload("acct-d", json!({}), json!({}))),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);
    // Enable re-validates, then it is enabled and re-validated again.
    let r = s.admin("POST", &format!("/integrations/{d}/enable"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "enabled");
    let h = history(&s, d);
    let last = h.last().unwrap();
    assert_eq!(last["event"], "enable");
    assert_eq!(
        (&last["from"], &last["to"]),
        (&json!("disabled"), &json!("enabled"))
    );
    assert_eq!(last["validationResults"]["status"], "passed");
    assert_eq!(platform(&s, "acct-d").1, objects);
    wait_for_runs(&s, d, before + 1);
}

#[test]
fn an_enable_whose_validation_fails_stays_disabled_with_the_results() {
    let s = Server::start("recurring-enable", &["--revalidate-every", "1s"]);
    // Not re-validated on its own ("off"): only the create and the enables run its tests.
    let id = create(
        &s,
        &payload(
            "acct-e",
            json!({CHECK_CONNECT: {"runs": ["pass", "fail", "pass"]}}),
            json!({"revalidateEvery": "off"}),
        ),
    );
    let v = s.admin("GET", &format!("/integrations/{id}"), None).json();
    assert_eq!(v["revalidateEvery"], "off");
    // Admin only: a read key is refused (403), no key too (401).
    let out = s.cli(&[
        "keys",
        "create",
        "--role",
        "read",
        "--data-dir",
        s.data_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    for op in ["disable", "enable"] {
        let path = format!("/integrations/{id}/{op}");
        assert_eq!(s.req("POST", &path, Some(&read), None).status, 403, "{op}");
        assert_eq!(s.req("POST", &path, None, None).status, 401, "{op}");
    }
    assert_eq!(
        s.admin("GET", &format!("/integrations/{id}"), None).json()["status"],
        "enabled"
    );
    assert_eq!(
        s.admin("POST", &format!("/integrations/{id}/disable"), None)
            .status,
        200
    );
    let r = s.admin("POST", &format!("/integrations/{id}/enable"), None);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(!r.body.contains(SENTINEL));
    let e = r.json();
    assert!(
        e["message"].as_str().unwrap().contains("Still disabled"),
        "{e}"
    );
    assert_eq!(
        e["details"][0]["path"], "validationResults.validationTests[0]",
        "{e}"
    );
    assert!(
        e["details"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with(CHECK_CONNECT),
        "{e}"
    );
    let v = s.admin("GET", &format!("/integrations/{id}"), None).json();
    assert_eq!(v["status"], "disabled");
    assert_eq!(v["validationResults"]["status"], "failed");
    let h = history(&s, id);
    let last = h.last().unwrap();
    assert_eq!(
        (&last["event"], &last["from"], &last["to"]),
        (&json!("enable"), &json!("disabled"), &json!("disabled"))
    );
    assert_eq!(last["validationResults"]["status"], "failed");
    // The platform is mended: the next enable passes.
    let r = s.admin("POST", &format!("/integrations/{id}/enable"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "enabled");
    // A disabled integration is deleted as an enabled one is: its objects go.
    assert_eq!(platform(&s, "acct-e").1, "database, system-user, version-1");
    assert_eq!(
        s.admin("POST", &format!("/integrations/{id}/disable"), None)
            .status,
        200
    );
    let r = s.admin("DELETE", &format!("/integrations/{id}"), None);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(s.settle(id)["status"], "deleted");
    assert_eq!(platform(&s, "acct-e").1, "");
    // A bad interval is refused with its path; a good one is shown as set.
    let bad = s.admin(
        "POST",
        "/integrations",
        Some(&payload(
            "acct-bad",
            json!({}),
            json!({"revalidateEvery": "soon"}),
        )),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["details"][0]["path"], "revalidateEvery");
    let r = s.admin(
        "POST",
        "/integrations",
        Some(&payload(
            "acct-own",
            json!({}),
            json!({"revalidateEvery": "90m"}),
        )),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["revalidateEvery"], "90m");
}

/// Both hosts seal secrets with the same key.
const SECRET_KEY: &str = "5d1f3b7a9c2e4f60817a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e2f4b6d8fa2";

/// A PostgreSQL database of its own, dropped at the end.
struct Db {
    pg: Postgres,
    name: String,
}

impl Drop for Db {
    fn drop(&mut self) {
        self.pg.drop_database(&self.name);
    }
}

#[test]
fn with_two_hosts_on_postgresql_each_due_run_runs_on_one_host_once() {
    let Some(pg) = stand_ins::require::<Postgres>("postgres") else {
        return;
    };
    let name = pg.create_database("recurring_two_hosts").unwrap();
    let db = Db { pg, name };
    let url = db.pg.url(&db.name);
    let args = ["--store", url.as_str(), "--revalidate-every", "1s"];
    let env = [
        ("JUNCTION_ADMIN_KEY", ADMIN),
        ("JUNCTION_SECRET_KEY", SECRET_KEY),
    ];
    let a = Server::start_with_env("recurring-pg-a", &args, &env);
    let b = Server::start_with_env("recurring-pg-b", &args, &env);
    let id = create(&a, &payload("acct-two", json!({}), json!({})));
    wait_for_runs(&a, id, 6);
    // Stop the runs, then count: every run of the connection test on either
    // host's platform is the create's, a recorded run, or one a disable dropped.
    assert_eq!(
        a.admin("POST", &format!("/integrations/{id}/disable"), None)
            .status,
        200
    );
    let recorded = runs(&b, id).len();
    let (on_a, _) = platform(&a, "acct-two");
    let (on_b, _) = platform(&b, "acct-two");
    let dropped = [&a, &b]
        .iter()
        .map(|s| {
            s.logs()
                .matches("the recurring validation is dropped")
                .count()
        })
        .sum::<usize>();
    eprintln!(
        "connection test runs: host A {on_a}, host B {on_b}; {recorded} recorded, {dropped} dropped"
    );
    assert_eq!(
        on_a + on_b,
        1 + recorded + dropped,
        "runs on the platform (A {on_a}, B {on_b}) against {recorded} recorded and {dropped} dropped"
    );
    let h = history(&b, id);
    assert!(
        h.iter().all(|e| e["event"] != "takeover"),
        "a run was taken over as an operation"
    );
}
