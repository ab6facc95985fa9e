//! End-to-end tests: the real `junction` binary, built with the synthetic
//! platform, driven over HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::SENTINEL;
use junction_testkit::binary::{ADMIN, Server, http};
use junction_testkit::synthetic::{ACCOUNT_FIXED, CHECK_CONNECT, CHECK_PRIVILEGES};
use serde_json::{Value, json};
use std::sync::{Arc, Barrier};

fn payload(account: &str, extra: Value) -> String {
    let mut config = json!({"account": account, "password": "pw-ordinary-1", "installVersion": 1});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    json!({"type": "Synthetic", "autoBootstrap": false, "config": config}).to_string()
}

fn create(s: &Server, body: &str) -> i64 {
    let r = s.admin("POST", "/integrations", Some(body));
    assert_eq!(r.status, 202, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "creating");
    v["id"].as_i64().unwrap()
}

fn events(s: &Server, id: i64) -> Vec<Value> {
    let r = s.admin("GET", &format!("/integrations/{id}/history"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().clone()
}

fn count_events(h: &[Value], event: &str) -> usize {
    h.iter().filter(|e| e["event"] == event).count()
}

#[test]
fn create_succeeds_and_the_response_has_the_contract_shape() {
    let s = Server::start("create-ok", &[]);
    let id = create(&s, &payload("acct-ok", json!({})));
    let v = s.settle(id);
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["id"], id);
    assert_eq!(v["type"], "Synthetic");
    assert_eq!(v["autoBootstrap"], false);
    assert_eq!(v["validationResults"]["status"], "passed");
    let names: Vec<&str> = v["validationResults"]["validationTests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], CHECK_CONNECT);
    assert!(
        v["config"].get("password").is_none(),
        "secret in config: {v}"
    );
    assert_eq!(v["config"]["account"], "acct-ok");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    let st = s
        .admin("GET", &format!("/integrations/{id}/status"), None)
        .json();
    assert_eq!(st["status"], "enabled");
    let list = s.admin("GET", "/integrations", None).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0], v);
    // A second integration on the same account: the reference product's words.
    let r = s.admin(
        "POST",
        "/integrations",
        Some(&payload("acct-ok", json!({}))),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        format!("Synthetic integration already exists on acct-ok (id = {id}).")
    );
    // Unknown id.
    let r = s.admin("GET", "/integrations/5", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "No Integration found with ID 5.");
    assert_eq!(r.json()["statusCode"], 404);
    assert_eq!(r.json()["error"], "Not Found");
    let h = events(&s, id);
    assert_eq!(count_events(&h, "create"), 1);
    assert_eq!(count_events(&h, "validation"), 1);
    assert_eq!(h.last().unwrap()["to"], "enabled");
    assert_eq!(h.last().unwrap()["keyId"].as_str().unwrap().len(), 20);
}

#[test]
fn yaml_bodies_are_accepted() {
    let s = Server::start("yaml", &[]);
    let body = "type: Synthetic\nautoBootstrap: false\nconfig:\n  account: acct-yaml\n  password: pw-yaml-1\n";
    let r = s.raw(
        "POST",
        "/integrations",
        Some(&format!("Bearer {ADMIN}")),
        Some(body.as_bytes()),
        Some("application/yaml"),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let v = s.settle(r.json()["id"].as_i64().unwrap());
    assert_eq!(v["status"], "enabled");
}

#[test]
fn a_failing_test_ends_in_create_error_with_the_results_and_edit_retries() {
    let s = Server::start("create-fail", &[]);
    let body = payload(
        "acct-f",
        json!({"checks": {CHECK_PRIVILEGES: {"behavior": "fail"}}}),
    );
    let id = create(&s, &body);
    let v = s.settle(id);
    assert_eq!(v["status"], "createError", "{v}");
    assert_eq!(v["validationResults"]["status"], "failed");
    let tests = v["validationResults"]["validationTests"]
        .as_array()
        .unwrap();
    let failed: Vec<&Value> = tests.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["name"], CHECK_PRIVILEGES);
    assert_eq!(
        failed[0]["message"],
        format!("{CHECK_PRIVILEGES} failed, as configured.")
    );
    // Migrate is not allowed from createError.
    assert_eq!(
        s.admin("POST", &format!("/integrations/{id}/migrate"), None)
            .status,
        409
    );
    // PUT retries the create with the new configuration.
    let r = s.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload("acct-f", json!({"label": "fixed"}))),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["status"], "creating");
    let v = s.settle(id);
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["config"]["label"], "fixed");
}

#[test]
fn edit_succeeds_and_a_failed_edit_restores_the_old_config() {
    let s = Server::start("edit", &[]);
    let id = create(&s, &payload("acct-e", json!({"label": "one"})));
    assert_eq!(s.settle(id)["status"], "enabled");
    // The secret is left out: the stored one is kept.
    let body = json!({"type": "Synthetic", "config": {"account": "acct-e", "label": "two", "installVersion": 1}}).to_string();
    let r = s.admin("PUT", &format!("/integrations/{id}"), Some(&body));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["status"], "editing");
    let v = s.settle(id);
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["config"]["label"], "two");
    // An edit whose operation fails: editError, and the old config is back.
    let body = payload(
        "acct-e",
        json!({"label": "three", "operations": {"edit": {"behavior": "fail"}}}),
    );
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{id}"), Some(&body))
            .status,
        202
    );
    let v = s.settle(id);
    assert_eq!(v["status"], "editError", "{v}");
    assert_eq!(v["config"]["label"], "two");
    assert!(
        v["config"]["operations"]["edit"]["behavior"] == "pass",
        "{v}"
    );
    let h = events(&s, id);
    let last = h.last().unwrap();
    assert_eq!(last["from"], "editing");
    assert_eq!(last["to"], "editError");
    assert!(
        last["message"].as_str().unwrap().contains("edit failed"),
        "{last}"
    );
    // An edit whose validation fails: editError too.
    let body = payload(
        "acct-e",
        json!({"label": "four", "checks": {CHECK_CONNECT: {"behavior": "fail"}}}),
    );
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{id}"), Some(&body))
            .status,
        202
    );
    let v = s.settle(id);
    assert_eq!(v["status"], "editError");
    assert_eq!(v["config"]["label"], "two");
    assert_eq!(v["validationResults"]["status"], "failed");
    // Still usable: a good edit from editError.
    let body = payload("acct-e", json!({"label": "five"}));
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{id}"), Some(&body))
            .status,
        202
    );
    assert_eq!(s.settle(id)["config"]["label"], "five");
    // Changing the type is refused with a path.
    let r = s.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&json!({"type": "Redshift", "config": {}}).to_string()),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["path"], "type");
}

#[test]
fn an_edit_of_a_field_fixed_once_set_up_is_a_400_with_its_path() {
    let s = Server::start("fixed-field", &[]);
    let id = create(&s, &payload("acct-f", json!({"label": "one"})));
    assert_eq!(s.settle(id)["status"], "enabled");
    let before = events(&s, id).len();
    // The synthetic platform's account is fixed once set up: refused at once,
    // with the path, and nothing starts.
    let body = payload("acct-f-moved", json!({"label": "two"}));
    let r = s.admin("PUT", &format!("/integrations/{id}"), Some(&body));
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(v["statusCode"], 400);
    assert_eq!(v["details"][0]["path"], "config.account");
    assert_eq!(v["details"][0]["message"], ACCOUNT_FIXED);
    assert!(!r.body.contains("pw-ordinary-1"), "{}", r.body);
    let v = s.settle(id);
    assert_eq!(v["status"], "enabled");
    assert_eq!(v["config"]["account"], "acct-f");
    assert_eq!(v["config"]["label"], "one");
    assert_eq!(events(&s, id).len(), before, "no operation started");
    // A failed create was never set up: its retry may move the account.
    let failed = create(
        &s,
        &payload(
            "acct-g",
            json!({"checks": {CHECK_CONNECT: {"behavior": "fail"}}}),
        ),
    );
    assert_eq!(s.settle(failed)["status"], "createError");
    let body = payload("acct-g-moved", json!({}));
    let r = s.admin("PUT", &format!("/integrations/{failed}"), Some(&body));
    assert_eq!(r.status, 202, "{}", r.body);
    let v = s.settle(failed);
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["config"]["account"], "acct-g-moved");
}

#[test]
fn migrate_succeeds_and_its_failure_rolls_back() {
    let s = Server::start("migrate", &[]);
    let ok = create(&s, &payload("acct-m1", json!({})));
    let bad = create(
        &s,
        &payload(
            "acct-m2",
            json!({"operations": {"migrate": {"behavior": "fail"}}}),
        ),
    );
    assert_eq!(s.settle(ok)["status"], "enabled");
    assert_eq!(s.settle(bad)["status"], "enabled");
    let r = s.admin("POST", &format!("/integrations/{ok}/migrate"), None);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["status"], "migrating");
    assert_eq!(s.settle(ok)["status"], "enabled");
    // Already at the newest version now.
    let r = s.admin("POST", &format!("/integrations/{ok}/migrate"), None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("already at set-up version 2")
    );
    // The failing one: migrateError, still at its version, still usable.
    assert_eq!(
        s.admin("POST", &format!("/integrations/{bad}/migrate"), None)
            .status,
        202
    );
    let v = s.settle(bad);
    assert_eq!(v["status"], "migrateError", "{v}");
    let h = events(&s, bad);
    assert!(
        h.last().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("migrate failed")
    );
    // Retry is possible (same version), and so is an edit.
    let fixed = payload("acct-m2", json!({"label": "x"}));
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{bad}"), Some(&fixed))
            .status,
        202
    );
    assert_eq!(s.settle(bad)["status"], "enabled");
    assert_eq!(
        s.admin("POST", &format!("/integrations/{bad}/migrate"), None)
            .status,
        202
    );
    assert_eq!(s.settle(bad)["status"], "enabled");
}

/// Test builds honour `X-Junction-Fault-Step`: the named step of the
/// platform's plan fails, the plan rolls back, and the integration lands in
/// the operation's error status with the old configuration.
#[test]
fn a_fault_injected_through_the_api_fails_the_named_step_and_rolls_back() {
    let s = Server::start("fault", &[]);
    let fault = [("X-Junction-Fault-Step", "system-user")];
    let r = s.admin_with(
        "POST",
        "/integrations",
        Some(&payload("acct-f1", json!({"label": "one"}))),
        &fault,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    let v = s.settle(id);
    assert_eq!(v["status"], "createError", "{v}");
    let h = events(&s, id);
    let last = h.last().unwrap()["message"].as_str().unwrap().to_owned();
    assert!(
        last.contains("step system-user failed: injected fault"),
        "{last}"
    );
    assert!(
        last.contains("every step before it was rolled back"),
        "{last}"
    );

    // Without the header the retry goes through; then a faulted edit rolls back.
    let r = s.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload("acct-f1", json!({"label": "one"}))),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(s.settle(id)["status"], "enabled");
    let fault = [("X-Junction-Fault-Step", "remove-old-label")];
    let r = s.admin_with(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload("acct-f1", json!({"label": "two"}))),
        &fault,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let v = s.settle(id);
    assert_eq!(v["status"], "editError", "{v}");
    assert_eq!(
        v["config"]["label"], "one",
        "the old configuration is back: {v}"
    );
}

#[test]
fn delete_follows_the_credential_rules() {
    let s = Server::start("delete", &[]);
    let manual = create(&s, &payload("acct-d1", json!({})));
    let auto_body = json!({"type": "Synthetic", "autoBootstrap": true,
        "config": {"account": "acct-d2", "password": "privileged-pw"}})
    .to_string();
    let auto = create(&s, &auto_body);
    assert_eq!(s.settle(manual)["status"], "enabled");
    let v = s.settle(auto);
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["autoBootstrap"], true);
    // Manual: credentials are refused.
    let r = s.admin(
        "DELETE",
        &format!("/integrations/{manual}"),
        Some(r#"{"password":"x-privileged"}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["details"][0]["message"],
        "Credentials are not required for disable unless the integration was configured automatically. If you need to update your integration credentials, use PUT to update the integration before disabling."
    );
    // Automatic: credentials are required.
    let r = s.admin("DELETE", &format!("/integrations/{auto}"), None);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["details"][0]["message"],
        "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload."
    );
    // Bad credentials: a path.
    let r = s.admin(
        "DELETE",
        &format!("/integrations/{auto}"),
        Some(r#"{"passwd":"x"}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["path"], "passwd");
    // Now properly.
    let r = s.admin("DELETE", &format!("/integrations/{manual}"), None);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["status"], "deleting");
    assert_eq!(s.settle(manual)["status"], "deleted");
    let r = s.admin(
        "DELETE",
        &format!("/integrations/{auto}"),
        Some(r#"{"password":"privileged-again"}"#),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(s.settle(auto)["status"], "deleted");
    // Deleted stays readable; nothing can be started on it.
    assert_eq!(
        s.admin("DELETE", &format!("/integrations/{manual}"), None)
            .status,
        409
    );
    assert_eq!(
        s.admin(
            "PUT",
            &format!("/integrations/{manual}"),
            Some(&payload("acct-d1", json!({})))
        )
        .status,
        409
    );
    assert_eq!(
        s.admin("POST", &format!("/integrations/{manual}/migrate"), None)
            .status,
        409
    );
    // The account is free again.
    let again = create(&s, &payload("acct-d1", json!({})));
    assert_eq!(s.settle(again)["status"], "enabled");
    // A failing delete: deleteError, config kept.
    let body = payload(
        "acct-d3",
        json!({"operations": {"delete": {"behavior": "fail"}}}),
    );
    let failing = create(&s, &body);
    assert_eq!(s.settle(failing)["status"], "enabled");
    assert_eq!(
        s.admin("DELETE", &format!("/integrations/{failing}"), None)
            .status,
        202
    );
    let v = s.settle(failing);
    assert_eq!(v["status"], "deleteError");
    assert_eq!(v["config"]["account"], "acct-d3");
}

#[test]
fn fifty_concurrent_puts_exactly_one_is_accepted() {
    let s = Server::start("concurrent", &[]);
    let id = create(
        &s,
        &payload("acct-c", json!({"operations": {"edit": {"delayMs": 300}}})),
    );
    assert_eq!(s.settle(id)["status"], "enabled");
    let barrier = Arc::new(Barrier::new(50));
    let addr = s.addr.clone();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let addr = addr.clone();
            std::thread::spawn(move || {
                let body = payload(
                    "acct-c",
                    json!({"label": format!("l{i}"), "operations": {"edit": {"delayMs": 300}}}),
                );
                barrier.wait();
                http(
                    &addr,
                    "PUT",
                    &format!("/integrations/{id}"),
                    Some(&format!("Bearer {ADMIN}")),
                    Some(body.as_bytes()),
                    None,
                    &[],
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let accepted = results.iter().filter(|r| r.status == 202).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        accepted,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(conflicts, 49);
    for r in results.iter().filter(|r| r.status == 409) {
        let m = r.json()["message"].as_str().unwrap().to_owned();
        assert!(
            m.contains("editing") || m.contains("changed by another request"),
            "{m}"
        );
    }
    assert_eq!(s.settle(id)["status"], "enabled");
    let h = events(&s, id);
    assert_eq!(count_events(&h, "edit"), 1, "{h:?}");
}

#[test]
fn kill_9_during_slow_operations_then_restart_recovers() {
    let mut s = Server::start("kill9", &["--lease-ttl", "1s"]);
    let edited = create(&s, &payload("acct-k1", json!({"label": "before"})));
    assert_eq!(s.settle(edited)["status"], "enabled");
    let body = payload(
        "acct-k1",
        json!({"label": "after", "operations": {"edit": {"delayMs": 60000}}}),
    );
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{edited}"), Some(&body))
            .status,
        202
    );
    let slow = create(
        &s,
        &payload(
            "acct-k2",
            json!({"operations": {"create": {"delayMs": 60000}}}),
        ),
    );
    // Wait until the create's tests ran (it is now in its slow set-up).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count_events(&events(&s, slow), "validation") == 0 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        s.admin("GET", &format!("/integrations/{slow}"), None)
            .json()["status"],
        "creating"
    );
    s.kill9();
    s.restart();
    let v = s.settle(slow);
    assert_eq!(v["status"], "createError", "{v}");
    let h = events(&s, slow);
    let last = h.last().unwrap();
    assert_eq!(last["event"], "recovered");
    assert_eq!(last["from"], "creating");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("stopped before it finished"),
        "{last}"
    );
    let v = s.settle(edited);
    assert_eq!(v["status"], "editError", "{v}");
    assert_eq!(v["config"]["label"], "before");
    assert_eq!(events(&s, edited).last().unwrap()["event"], "recovered");
    // Nothing stays in progress.
    for i in s
        .admin("GET", "/integrations", None)
        .json()
        .as_array()
        .unwrap()
    {
        assert!(
            !["creating", "editing", "deleting", "migrating"]
                .contains(&i["status"].as_str().unwrap())
        );
    }
    // And both are usable again.
    let fixed = payload("acct-k2", json!({}));
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{slow}"), Some(&fixed))
            .status,
        202
    );
    assert_eq!(s.settle(slow)["status"], "enabled");
}

#[test]
fn sigterm_stops_gracefully_and_json_logs_carry_the_operation_span() {
    let mut s = Server::start("sigterm", &["--log-format", "json"]);
    let id = create(&s, &payload("acct-t", json!({})));
    s.settle(id);
    let status = s.terminate();
    assert!(status.success(), "{status}");
    let logs = s.logs();
    let mut with_span = 0;
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["span"]["name"] == "operation" {
            assert_eq!(v["span"]["integration_id"], id);
            assert_eq!(v["span"]["platform"], "Synthetic");
            assert_eq!(v["span"]["operation"], "create");
            with_span += 1;
        }
    }
    assert!(with_span >= 2, "{logs}");
    assert!(logs.contains("shutdown signal received"));
}

#[test]
fn the_sentinel_secret_never_leaves_the_host() {
    let mut s = Server::start("sentinel", &[]);
    let mut seen = String::new();
    let mut keep = |r: junction_testkit::binary::Resp| {
        seen.push_str(&r.body);
        r
    };
    let cfg = |account: &str| json!({"type": "Synthetic", "config": {"account": account, "password": SENTINEL, "installVersion": 1}});
    let b = cfg("acct-s1").to_string();
    let r = keep(s.admin("POST", "/integrations", Some(&b)));
    let id = r.json()["id"].as_i64().unwrap();
    keep(s.admin("POST", "/integrations", Some(&b))); // 409
    let auto = json!({"type": "Synthetic", "autoBootstrap": true, "config": {"account": "acct-s2", "password": SENTINEL}}).to_string();
    let auto_id = keep(s.admin("POST", "/integrations", Some(&auto))).json()["id"]
        .as_i64()
        .unwrap();
    let failing =
        json!({"type": "Synthetic", "config": {"account": "acct-s3", "password": SENTINEL,
        "checks": {CHECK_CONNECT: {"behavior": "fail"}}}})
        .to_string();
    let fail_id = keep(s.admin("POST", "/integrations", Some(&failing))).json()["id"]
        .as_i64()
        .unwrap();
    for i in [id, auto_id, fail_id] {
        s.settle(i);
    }
    keep(s.admin(
        "POST",
        "/integrations/validate",
        Some(&cfg("acct-s9").to_string()),
    ));
    keep(s.admin(
        "POST",
        "/integrations/scripts/create",
        Some(&cfg("acct-s9").to_string()),
    ));
    keep(s.admin(
        "POST",
        "/integrations/scripts/cleanup",
        Some(&cfg("acct-s9").to_string()),
    ));
    keep(s.admin(
        "POST",
        &format!("/integrations/{id}/scripts/edit"),
        Some(&cfg("acct-s1").to_string()),
    ));
    keep(s.admin("POST", &format!("/integrations/{id}/scripts/delete"), None));
    // Bad input carrying the sentinel.
    for bad in [
        json!({"type": "Synthetic", "config": {"account": 5, "password": SENTINEL}}),
        json!({"type": "Synthetic", "config": {"account": "a", "password": [SENTINEL]}}),
        json!({"type": "Synthetic", "config": {"account": "", "password": SENTINEL}}),
        json!({"type": "Synthetic", "config": {"account": "a", "password": SENTINEL, "installVersion": 9}}),
        json!({"type": "Synthetic", "config": {"account": "a", "password": SENTINEL, "checks": {"x": {"behavior": SENTINEL}}}}),
    ] {
        let r = keep(s.admin("POST", "/integrations", Some(&bad.to_string())));
        assert_eq!(r.status, 400, "{}", r.body);
        keep(s.admin("POST", "/integrations/validate", Some(&bad.to_string())));
    }
    // Edits: with the secret, without it (kept), failing.
    keep(s.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&cfg("acct-s1").to_string()),
    ));
    s.settle(id);
    let no_secret = json!({"type": "Synthetic", "config": {"account": "acct-s1", "label": "n", "installVersion": 1}}).to_string();
    keep(s.admin("PUT", &format!("/integrations/{id}"), Some(&no_secret)));
    assert_eq!(s.settle(id)["status"], "enabled");
    keep(s.admin("POST", &format!("/integrations/{id}/migrate"), None));
    s.settle(id);
    // Delete with a sentinel privileged credential (used once, never stored).
    keep(s.admin(
        "DELETE",
        &format!("/integrations/{auto_id}"),
        Some(&json!({"password": SENTINEL}).to_string()),
    ));
    s.settle(auto_id);
    keep(s.admin(
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&json!({"password": SENTINEL}).to_string()),
    ));
    for i in [id, auto_id, fail_id] {
        keep(s.admin("GET", &format!("/integrations/{i}"), None));
        keep(s.admin("GET", &format!("/integrations/{i}/history"), None));
        keep(s.admin("GET", &format!("/integrations/{i}/status"), None));
    }
    keep(s.admin("GET", "/integrations", None));
    keep(s.admin("GET", "/platforms", None));
    keep(s.admin("GET", "/metrics", None));
    keep(s.admin("GET", "/openapi.json", None));
    assert!(!seen.is_empty());
    assert!(!seen.contains(SENTINEL), "a response shows the sentinel");
    // Restart (the database is read back, the secrets decrypted) and look again.
    s.restart();
    let r = s.admin("GET", "/integrations", None);
    assert!(!r.body.contains(SENTINEL));
    let _ = s.terminate();
    let logs = s.logs();
    assert!(
        logs.contains("operation finished"),
        "debug logs were captured"
    );
    assert!(!logs.contains(SENTINEL), "a log line shows the sentinel");
    let mut files = 0;
    for entry in std::fs::read_dir(&s.data_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        assert!(
            !bytes
                .windows(SENTINEL.len())
                .any(|w| w == SENTINEL.as_bytes()),
            "the sentinel is in the raw bytes of the data directory"
        );
    }
    assert!(files >= 2);
}

/// Every endpoint, as (method, path, body).
fn endpoints(id: i64) -> Vec<(&'static str, String, Option<String>)> {
    let p = payload("acct-auth-x", json!({}));
    vec![
        ("GET", "/integrations".into(), None),
        ("POST", "/integrations".into(), Some(p.clone())),
        ("GET", format!("/integrations/{id}"), None),
        (
            "PUT",
            format!("/integrations/{id}"),
            Some(payload("acct-auth", json!({"label": "z"}))),
        ),
        ("DELETE", format!("/integrations/{id}"), None),
        ("GET", format!("/integrations/{id}/status"), None),
        ("GET", format!("/integrations/{id}/history"), None),
        ("POST", format!("/integrations/{id}/migrate"), None),
        ("POST", "/integrations/validate".into(), Some(p.clone())),
        (
            "POST",
            "/integrations/scripts/create".into(),
            Some(p.clone()),
        ),
        (
            "POST",
            "/integrations/scripts/initial-create".into(),
            Some(p.clone()),
        ),
        (
            "POST",
            "/integrations/scripts/cleanup".into(),
            Some(p.clone()),
        ),
        (
            "POST",
            "/integrations/scripts/post-cleanup".into(),
            Some(p.clone()),
        ),
        (
            "POST",
            format!("/integrations/{id}/scripts/edit"),
            Some(p.clone()),
        ),
        ("POST", format!("/integrations/{id}/scripts/delete"), None),
        ("GET", "/platforms".into(), None),
        ("GET", "/plugins".into(), None),
        ("GET", "/metrics".into(), None),
        ("GET", "/openapi.json".into(), None),
    ]
}

#[test]
fn the_401_403_matrix_over_every_endpoint() {
    let s = Server::start("auth", &[]);
    // A read key, made with the CLI against the same data directory.
    let out = s.cli(&[
        "keys",
        "create",
        "--role",
        "read",
        "--name",
        "e2e",
        "--data-dir",
        s.data_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(read.starts_with("jct_"));
    let id = create(&s, &payload("acct-auth", json!({})));
    s.settle(id);
    // /healthz is open.
    assert_eq!(s.req("GET", "/healthz", None, None).status, 200);
    for (method, path, body) in endpoints(id) {
        let b = body.as_deref();
        let none = s.req(method, &path, None, b);
        assert_eq!(
            none.status, 401,
            "{method} {path} without a key: {}",
            none.body
        );
        assert_eq!(none.json()["statusCode"], 401);
        let wrong = s.req(method, &path, Some("jct_not_a_key"), b);
        assert_eq!(wrong.status, 401, "{method} {path} with a wrong key");
        let basic = s.raw(method, &path, Some("Basic abc"), b.map(str::as_bytes), None);
        assert_eq!(basic.status, 401, "{method} {path} with Basic");
        let r = s.req(method, &path, Some(&read), b);
        if method == "GET" {
            assert!(
                r.status == 200,
                "{method} {path} with a read key: {} {}",
                r.status,
                r.body
            );
        } else {
            assert_eq!(r.status, 403, "{method} {path} with a read key: {}", r.body);
            assert!(r.json()["message"].as_str().unwrap().contains("admin"));
        }
        // The bare key works as well as Bearer.
        let bare = s.raw("GET", "/integrations", Some(&read), None, None);
        assert_eq!(bare.status, 200);
    }
    // Admin: never 401/403 (the body may still be refused for other reasons).
    for (method, path, body) in endpoints(id) {
        let r = s.admin(method, &path, body.as_deref());
        assert!(
            r.status != 401 && r.status != 403 && r.status < 500,
            "{method} {path} as admin: {} {}",
            r.status,
            r.body
        );
    }
}

#[test]
fn first_start_without_a_key_prints_a_one_time_admin_key() {
    let s = Server::start_with_env("first-key", &[], &[]);
    let out = s.stdout();
    let key = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("jct_"))
        .unwrap_or_else(|| panic!("no key printed: {out}"))
        .to_owned();
    assert_eq!(s.req("GET", "/integrations", Some(&key), None).status, 200);
    assert_eq!(
        s.raw("GET", "/integrations", Some(&key), None, None).status,
        200
    );
    // The key file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.data_dir.join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn idempotency_key_returns_the_same_integration() {
    let s = Server::start("idem", &[]);
    let body = payload("acct-i", json!({}));
    let auth = format!("Bearer {ADMIN}");
    let a = http(
        &s.addr,
        "POST",
        "/integrations",
        Some(&auth),
        Some(body.as_bytes()),
        None,
        &[("Idempotency-Key", "k-1")],
    );
    let b = http(
        &s.addr,
        "POST",
        "/integrations",
        Some(&auth),
        Some(body.as_bytes()),
        None,
        &[("Idempotency-Key", "k-1")],
    );
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(b.status, 202, "{}", b.body);
    assert_eq!(a.json()["id"], b.json()["id"]);
    let other = payload("acct-i2", json!({}));
    let c = http(
        &s.addr,
        "POST",
        "/integrations",
        Some(&auth),
        Some(other.as_bytes()),
        None,
        &[("Idempotency-Key", "k-1")],
    );
    assert_eq!(c.status, 422, "{}", c.body);
    assert_eq!(
        s.admin("GET", "/integrations", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Malformed payloads; each must get a 4xx with a path, never a 5xx.
fn corpus() -> Vec<(Vec<u8>, &'static str)> {
    let j = |v: Value| (v.to_string().into_bytes(), "application/json");
    let t = |s: &str| (s.as_bytes().to_vec(), "application/json");
    let y = |s: &str| (s.as_bytes().to_vec(), "application/yaml");
    let cfg = |extra: Value| {
        let mut c = json!({"account": "acct-z", "password": "pw-zzzz"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        json!({"type": "Synthetic", "config": c})
    };
    let mut v = vec![
        // Not JSON at all.
        t("{"), t("}"), t("["), t("{\"type\":}"), t("{\"type\": \"Synthetic\",}"), t("{'type': 'Synthetic'}"),
        t("NaN"), t("{\"a\" 1}"), t("// comment\n{}"), t("\u{feff}{}"), t("{\"type\": \"\\ud800\"}"),
        t("{\"type\": \"Synthetic\", \"config\": {\"account\": \"a\", \"password\": \"p\"}} trailing"),
        (b"\xff\xfe\x00{".to_vec(), "application/json"), (vec![0u8; 16], "application/json"),
        (format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(), "application/json"),
        (format!("{}1{}", "{\"a\":".repeat(300), "}".repeat(300)).into_bytes(), "application/json"),
        t("1e999999"), t("\"just a string\""),
        // Not an object.
        t("null"), t("true"), t("1"), t("[]"), t("[{\"type\": \"Synthetic\"}]"), t("{}"),
        // type
        j(json!({"config": {}})), j(json!({"type": null, "config": {}})), j(json!({"type": 1, "config": {}})),
        j(json!({"type": true, "config": {}})), j(json!({"type": [], "config": {}})), j(json!({"type": {}, "config": {}})),
        j(json!({"type": "", "config": {}})), j(json!({"type": "synthetic", "config": {}})), j(json!({"type": "Snowflake", "config": {}})),
        j(json!({"type": "Synthetic "})),
        // config
        j(json!({"type": "Synthetic"})), j(json!({"type": "Synthetic", "config": null})), j(json!({"type": "Synthetic", "config": "x"})),
        j(json!({"type": "Synthetic", "config": 1})), j(json!({"type": "Synthetic", "config": []})), j(json!({"type": "Synthetic", "config": true})),
        j(json!({"type": "Synthetic", "config": {}})),
        // autoBootstrap and unknown top-level fields
        j(json!({"type": "Synthetic", "autoBootstrap": "yes", "config": {}})), j(json!({"type": "Synthetic", "autoBootstrap": 1, "config": {}})),
        j(json!({"type": "Synthetic", "autoBootstrap": null, "config": {}})), j(json!({"type": "Synthetic", "autoBootstrap": {}, "config": {}})),
        j(json!({"type": "Synthetic", "config": {}, "extra": 1})), j(json!({"Type": "Synthetic", "config": {}})),
        j(json!({"type": "Synthetic", "auto_bootstrap": true, "config": {}})),
        // Fields of the platform's config.
        j(cfg(json!({"account": null}))), j(cfg(json!({"account": 5}))), j(cfg(json!({"account": []}))), j(cfg(json!({"account": ""}))),
        j(cfg(json!({"account": "   "}))), j(cfg(json!({"password": null}))), j(cfg(json!({"password": 5}))), j(cfg(json!({"password": {}}))),
        j(cfg(json!({"label": 5}))), j(cfg(json!({"label": []}))), j(cfg(json!({"checks": []}))), j(cfg(json!({"checks": "x"}))),
        j(cfg(json!({"checks": {"x": 1}}))), j(cfg(json!({"checks": {"x": {"behavior": "explode"}}}))),
        j(cfg(json!({"checks": {"x": {"behavior": 1}}}))), j(cfg(json!({"checks": {"x": {"delayMs": -1}}}))),
        j(cfg(json!({"checks": {"x": {"delayMs": "10"}}}))), j(cfg(json!({"checks": {"x": {"delayMs": 1.5}}}))),
        j(cfg(json!({"checks": {"x": {"delayMs": 1e30}}}))), j(cfg(json!({"checks": {"x": {"other": 1}}}))),
        j(cfg(json!({"operations": [1]}))), j(cfg(json!({"operations": {"teleport": {}}}))),
        j(cfg(json!({"operations": {"create": {"behavior": "nope"}}}))), j(cfg(json!({"operations": {"edit": 7}}))),
        j(cfg(json!({"installVersion": 0}))), j(cfg(json!({"installVersion": 3}))), j(cfg(json!({"installVersion": -1}))),
        j(cfg(json!({"installVersion": "1"}))), j(cfg(json!({"installVersion": 1.5}))), j(cfg(json!({"installVersion": null}))),
        j(cfg(json!({"unknownField": 1}))), j(cfg(json!({"Account": "a"}))),
        j(json!({"type": "Synthetic", "config": {"password": "pw-zzzz"}})), j(json!({"type": "Synthetic", "config": {"account": "a", "password": null}})),
        // YAML
        y("type: [unclosed"), y("type: Synthetic\nconfig: {account: a, password: p"), y("\ttype: Synthetic"), y("- a\n- b"),
        y("just a scalar"), y("type: Synthetic\nconfig:\n  account: 5\n  password: pw-zzzz\n"),
        y("type: Synthetic\nconfig: {account: a, password: pw-zzzz, bogus: 1}\n"),
        y("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"),
        y("? [complex, key]\n: value\n"), y("type: Synthetic\ntype: Synthetic\nconfig: {}\n"), y("type: !!binary aGVsbG8=\nconfig: {}\n"),
        y("type: Synthetic\nautoBootstrap: maybe\nconfig: {}\n"), y("{type: Synthetic, config: null}"),
        // Oversized and wrong media type.
        (format!("{{\"type\":\"Synthetic\",\"config\":{{\"account\":\"a\",\"password\":\"p\",\"label\":\"{}\"}}}}", "x".repeat(300_000)).into_bytes(), "application/json"),
        (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--".to_vec(), "multipart/form-data; boundary=x"),
    ];
    // Every config field with a wrong type, generated.
    for field in [
        "account",
        "password",
        "label",
        "checks",
        "operations",
        "installVersion",
    ] {
        for bad in [json!(true), json!([1, 2]), json!({"deep": {"er": 1}})] {
            if (field == "checks" || field == "operations") && bad.is_object() {
                continue;
            }
            v.push(j(cfg(json!({ field: bad }))));
        }
    }
    v
}

#[test]
fn malformed_payloads_get_a_4xx_with_a_path_and_never_a_5xx() {
    let s = Server::start("corpus", &[]);
    let id = create(&s, &payload("acct-z", json!({})));
    s.settle(id);
    let corpus = corpus();
    let auth = format!("Bearer {ADMIN}");
    let mut cases = 0;
    let mut failures = Vec::new();
    for (i, (body, ct)) in corpus.iter().enumerate() {
        for (method, path) in [
            ("POST", "/integrations".to_owned()),
            ("POST", "/integrations/validate".to_owned()),
            ("PUT", format!("/integrations/{id}")),
        ] {
            let r = s.raw(method, &path, Some(&auth), Some(body), Some(ct));
            cases += 1;
            let ok = (400..500).contains(&r.status)
                && serde_json::from_str::<Value>(&r.body)
                    .ok()
                    .is_some_and(|v| {
                        v["details"].as_array().is_some_and(|d| {
                            !d.is_empty()
                                && d.iter()
                                    .all(|e| e["path"].as_str().is_some_and(|p| !p.is_empty()))
                        }) && v["statusCode"] == r.status
                    });
            if !ok {
                failures.push(format!(
                    "#{i} {method} {path} {}: {} {}",
                    String::from_utf8_lossy(&body[..body.len().min(80)]),
                    r.status,
                    &r.body[..r.body.len().min(300)]
                ));
            }
        }
    }
    // Bad ids and bad DELETE bodies.
    for path in [
        "/integrations/abc",
        "/integrations/-1",
        "/integrations/0",
        "/integrations/99999999999999999999999",
    ] {
        let r = s.admin("GET", path, None);
        cases += 1;
        if r.status != 400 || r.json()["details"][0]["path"] != "id" {
            failures.push(format!("GET {path}: {} {}", r.status, r.body));
        }
    }
    for body in ["{", "[1,", "{\"password\": 5}"] {
        let r = s.admin("DELETE", &format!("/integrations/{id}"), Some(body));
        cases += 1;
        if r.status != 400 || r.json()["details"][0]["path"].as_str().is_none() {
            failures.push(format!("DELETE {body}: {} {}", r.status, r.body));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases >= 100, "only {cases} cases");
    // The host is alive, the integration untouched, and no 5xx was ever sent.
    assert_eq!(s.settle(id)["status"], "enabled");
    let metrics = s.admin("GET", "/metrics", None).body;
    assert!(
        metrics.contains("junction_http_responses_total{class=\"5xx\"} 0"),
        "{metrics}"
    );
    assert!(!s.logs().contains("panicked"));
}

#[test]
fn cli_validate_plugins_and_client_commands() {
    let s = Server::start("cli", &[]);
    let dir = junction_testkit::binary::temp_dir("cli-files");
    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "type: Synthetic\nconfig:\n  account: acct-cli\n  password: pw-cli-1\n",
    )
    .unwrap();
    let failing = dir.join("failing.json");
    std::fs::write(
        &failing,
        payload(
            "acct-cli",
            json!({"checks": {CHECK_CONNECT: {"behavior": "fail"}}}),
        ),
    )
    .unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"type": "Synthetic", "config": {"account": 5}}"#).unwrap();
    let out = s.cli(&["validate", good.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(CHECK_CONNECT) && stdout.contains("overall: passed"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("passed"),
        "progress lines on stderr"
    );
    let out = s.cli(&["validate", failing.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "failed");
    let out = s.cli(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.account"));
    let out = s.cli(&["plugins", "--output", "json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|x| x["type"] == "Synthetic"),
        "{v}"
    );
    let server = format!("http://{}", s.addr);
    let client = |args: &[&str]| {
        let mut all = vec![
            "integrations",
            "--server",
            server.as_str(),
            "--key",
            ADMIN,
            "--output",
            "json",
        ];
        all.extend_from_slice(args);
        s.cli(&all)
    };
    let out = client(&["create", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_i64().unwrap();
    s.settle(id);
    let out = client(&["get", &id.to_string()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "enabled");
    let out = client(&["list"]);
    assert!(out.status.success());
    let out = client(&["get", "999"]);
    assert_eq!(out.status.code(), Some(1));
    let out = client(&["delete", &id.to_string()]);
    assert!(out.status.success());
    assert_eq!(s.settle(id)["status"], "deleted");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn platforms_and_openapi_describe_the_api() {
    let s = Server::start("docs", &[]);
    let p = s.admin("GET", "/platforms", None).json();
    let syn = p
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "Synthetic")
        .expect("Synthetic listed");
    assert_eq!(syn["checks"][1]["requires"][0], CHECK_CONNECT);
    assert!(syn["configSchema"].is_object());
    let o = s.admin("GET", "/openapi.json", None).json();
    assert_eq!(o["openapi"], "3.1.0");
    for path in [
        "/integrations",
        "/integrations/{id}",
        "/integrations/{id}/status",
        "/integrations/{id}/history",
        "/integrations/{id}/migrate",
        "/integrations/validate",
        "/integrations/scripts/create",
        "/integrations/scripts/cleanup",
        "/integrations/{id}/scripts/edit",
        "/integrations/{id}/scripts/delete",
        "/platforms",
        "/healthz",
    ] {
        assert!(
            o["paths"].get(path).is_some(),
            "{path} missing from openapi"
        );
    }
    let r = s.admin("GET", "/nope", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["statusCode"], 404);
    let r = s.admin("PATCH", "/integrations", None);
    assert_eq!(r.status, 405);
}

#[test]
fn secret_key_from_the_environment_and_a_wrong_key_is_refused() {
    let key_a = "11".repeat(32);
    let key_b = "22".repeat(32);
    let mut s = Server::start_with_env(
        "envkey",
        &[],
        &[
            ("JUNCTION_ADMIN_KEY", ADMIN),
            ("JUNCTION_SECRET_KEY", &key_a),
        ],
    );
    let id = create(&s, &payload("acct-env", json!({})));
    assert_eq!(s.settle(id)["status"], "enabled");
    assert!(
        !s.data_dir.join("secret.key").exists(),
        "no key file when the key comes from the environment"
    );
    let _ = s.terminate();
    // Another key: the server refuses to start, saying why.
    let out = std::process::Command::new(junction_testkit::binary::junction_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&s.data_dir)
        .env("JUNCTION_SECRET_KEY", &key_b)
        .env("JUNCTION_ADMIN_KEY", ADMIN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secret key does not match"), "{err}");
    assert!(!err.contains(&key_b) && !err.contains(&key_a));
    // A malformed key is refused too.
    let out = std::process::Command::new(junction_testkit::binary::junction_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&s.data_dir)
        .env("JUNCTION_SECRET_KEY", "not-hex")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 hex digits"));
    // The right key again: the edit (which decrypts the stored secret) works.
    s.restart();
    let body = json!({"type": "Synthetic", "config": {"account": "acct-env", "label": "k", "installVersion": 1}}).to_string();
    assert_eq!(
        s.admin("PUT", &format!("/integrations/{id}"), Some(&body))
            .status,
        202
    );
    assert_eq!(s.settle(id)["status"], "enabled");
}

#[test]
fn a_bad_plugin_library_is_refused_and_the_host_still_serves() {
    let plugins = junction_testkit::binary::temp_dir("plugin-dir");
    std::fs::write(
        plugins.join(format!("libbogus.{}", std::env::consts::DLL_EXTENSION)),
        b"not a library",
    )
    .unwrap();
    std::fs::write(plugins.join("README.txt"), b"ignored").unwrap();
    let s = Server::start("plugins", &["--plugin-dir", plugins.to_str().unwrap()]);
    let loads = s.admin("GET", "/plugins", None).json();
    let loads = loads.as_array().unwrap();
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert!(
        loads[0]["path"].as_str().unwrap().ends_with("libbogus.so")
            || cfg!(not(target_os = "linux"))
    );
    assert!(
        loads[0]["refused"]
            .as_str()
            .unwrap()
            .contains("not loadable as a shared library"),
        "{loads:?}"
    );
    let id = create(&s, &payload("acct-pl", json!({})));
    assert_eq!(s.settle(id)["status"], "enabled");
    let out = s.cli(&["plugins", "--plugin-dir", plugins.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("REFUSED") && text.contains("Synthetic"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(plugins);
}

/// The example out-of-tree plugin, built as a shared library by this same test
/// build (a dev-dependency of this crate), loaded with `--plugin-dir` and
/// driven through the real binary: validation, the whole lifecycle, a check
/// that panics, an operation that panics and one that hangs. A library built
/// for another ABI major is refused with its reason, and the host keeps serving.
#[test]
fn a_shared_library_plugin_through_the_binary() {
    use junction_example_dynamic::{CHECK_CONNECT, CHECK_PRIVILEGES, TYPE_NAME};
    let deps = junction_testkit::binary::junction_bin()
        .parent()
        .unwrap()
        .join("deps");
    let lib = |name: &str| format!("lib{name}.{}", std::env::consts::DLL_EXTENSION);
    let dir = junction_testkit::binary::temp_dir("dyn-plugins");
    for name in [
        "junction_example_dynamic",
        "junction_plugin_abi_fixture_wrong_major",
    ] {
        std::fs::copy(deps.join(lib(name)), dir.join(lib(name)))
            .unwrap_or_else(|e| panic!("{} was not built: {e}", lib(name)));
    }
    let s = Server::start(
        "dynamic",
        &[
            "--plugin-dir",
            dir.to_str().unwrap(),
            "--operation-timeout",
            "3s",
            "--check-timeout",
            "2s",
        ],
    );
    let loads = s.admin("GET", "/plugins", None).json();
    let loads = loads.as_array().unwrap();
    assert_eq!(loads.len(), 2, "{loads:?}");
    let loaded = loads
        .iter()
        .find(|l| l["type"] == TYPE_NAME)
        .expect("the example loaded");
    assert!(loaded.get("refused").is_none(), "{loaded}");
    let refused = loads
        .iter()
        .find(|l| l["refused"].is_string())
        .expect("the fixture refused");
    let reason = refused["refused"].as_str().unwrap();
    assert!(
        reason.contains("999") && reason.contains("major"),
        "{reason}"
    );

    let body = |account: &str, extra: Value| {
        let mut config = json!({"account": account, "password": SENTINEL, "label": "one"});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        json!({"type": TYPE_NAME, "autoBootstrap": false, "config": config}).to_string()
    };

    // Validation through the ABI, nothing stored.
    let r = s.admin(
        "POST",
        "/integrations/validate",
        Some(&body("dyn-v", json!({}))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "passed", "{}", r.body);

    // The whole lifecycle.
    let id = create(&s, &body("dyn-1", json!({})));
    assert_eq!(s.settle(id)["status"], "enabled");
    let r = s.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&body("dyn-1", json!({"label": "two"}))),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let v = s.settle(id);
    assert_eq!(
        (v["status"].as_str(), v["config"]["label"].as_str()),
        (Some("enabled"), Some("two")),
        "{v}"
    );
    assert_eq!(
        s.admin("POST", &format!("/integrations/{id}/migrate"), None)
            .status,
        202
    );
    assert_eq!(s.settle(id)["status"], "enabled");
    assert_eq!(
        s.admin("DELETE", &format!("/integrations/{id}"), None)
            .status,
        202
    );
    assert_eq!(s.settle(id)["status"], "deleted");

    // A check that panics is a failed test; the one that requires it is skipped.
    let id = create(
        &s,
        &body(
            "dyn-2",
            json!({"checks": {CHECK_CONNECT: {"behavior": "panic"}}}),
        ),
    );
    let v = s.settle(id);
    assert_eq!(v["status"], "createError", "{v}");
    let tests = v["validationResults"]["validationTests"]
        .as_array()
        .unwrap();
    let by_name = |n: &str| tests.iter().find(|t| t["name"] == n).unwrap().clone();
    assert_eq!(by_name(CHECK_CONNECT)["status"], "failed");
    assert!(
        by_name(CHECK_CONNECT)["message"]
            .as_str()
            .unwrap()
            .contains("panicked")
    );
    assert_eq!(by_name(CHECK_PRIVILEGES)["status"], "skipped");

    // An operation that panics, and one that hangs past the operation timeout.
    for (account, behavior) in [("dyn-3", "panic"), ("dyn-4", "hang")] {
        let id = create(
            &s,
            &body(
                account,
                json!({"operations": {"create": {"behavior": behavior}}}),
            ),
        );
        let v = s.settle(id);
        assert_eq!(v["status"], "createError", "{behavior}: {v}");
    }

    // Still serving, and the secret never left the host.
    assert_eq!(s.req("GET", "/healthz", None, None).status, 200);
    let all = s.admin("GET", "/integrations", None);
    assert_eq!(all.status, 200);
    assert!(!all.body.contains(SENTINEL));
    assert!(!s.logs().contains(SENTINEL));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn post_cleanup_answers_and_a_platform_without_one_says_so() {
    let s = Server::start("post-cleanup", &[]);
    let r = s.admin(
        "POST",
        "/integrations/scripts/post-cleanup",
        Some(&payload("acct-pc", json!({}))),
    );
    // Unsupported, as for every script a platform does not have.
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body
            .contains("the synthetic platform has no post-cleanup script"),
        "{}",
        r.body
    );
    let doc = s.admin("GET", "/openapi.json", None);
    assert!(doc.body.contains("/integrations/scripts/post-cleanup"));
}
