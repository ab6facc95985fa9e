//! Several `junction` hosts on one PostgreSQL database (the `postgres`
//! stand-in; under `CI=true` a missing stand-in fails): any host answers any
//! request, creates spread over both, the database's constraint decides
//! account uniqueness, a host killed with `kill -9` mid-operation has its
//! operation taken over by the other (run once, never twice, nothing stuck),
//! and a revoked key stops working on every host.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::{ADMIN, Server};
use junction_testkit::stand_ins::{self, Postgres};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Both hosts must seal secrets with the same key.
const SECRET_KEY: &str = "7f3c1e5a9b2d4f6081a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e2f4b6d8fa1c";

fn payload(account: &str, extra: Value) -> String {
    let mut config =
        json!({"account": account, "password": "pw-multi-host-1", "installVersion": 1});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    json!({"type": "Synthetic", "autoBootstrap": false, "config": config}).to_string()
}

fn events(s: &Server, id: i64) -> Vec<Value> {
    let r = s.admin("GET", &format!("/integrations/{id}/history"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().clone()
}

fn count(h: &[Value], event: &str) -> usize {
    h.iter().filter(|e| e["event"] == event).count()
}

/// A database of its own, dropped at the end (even after a failure).
struct Db {
    pg: Postgres,
    name: String,
}

impl Db {
    fn new(tag: &str) -> Option<Db> {
        let pg = stand_ins::require::<Postgres>("postgres")?;
        let name = pg.create_database(tag).unwrap();
        Some(Db { pg, name })
    }

    fn url(&self) -> String {
        self.pg.url(&self.name)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.pg.drop_database(&self.name);
    }
}

fn host(name: &str, db: &Db, lease_ttl: &str) -> Server {
    let url = db.url();
    Server::start_with_env(
        name,
        &["--store", &url, "--lease-ttl", lease_ttl],
        &[
            ("JUNCTION_ADMIN_KEY", ADMIN),
            ("JUNCTION_SECRET_KEY", SECRET_KEY),
        ],
    )
}

fn in_progress(status: &str) -> bool {
    ["creating", "editing", "deleting", "migrating"].contains(&status)
}

#[test]
fn two_hosts_share_the_work_and_one_takes_over_when_the_other_is_killed() {
    let Some(db) = Db::new("mh") else { return };
    let mut a = host("mh-a", &db, "1s");
    let b = host("mh-b", &db, "1s");

    // Creates spread over both hosts; each is read back through the other.
    let mut ids = Vec::new();
    for i in 0..8 {
        let (on, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let r = on.admin(
            "POST",
            "/integrations",
            Some(&payload(&format!("mh-{i}"), json!({}))),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        assert_eq!(other.settle(id)["status"], "enabled");
        ids.push(id);
    }
    let listed_a = a.admin("GET", "/integrations", None).json();
    let listed_b = b.admin("GET", "/integrations", None).json();
    assert_eq!(listed_a, listed_b);
    assert_eq!(listed_a.as_array().unwrap().len(), ids.len());

    // The same account asked of both hosts at once: the database's
    // constraint admits one, whichever host it reached.
    let body = payload("mh-race", json!({}));
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.admin("POST", "/integrations", Some(&body)));
        let tb = s.spawn(|| b.admin("POST", "/integrations", Some(&body)));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409], "{} / {}", ra.body, rb.body);
    let winner = if ra.status == 202 { &ra } else { &rb };
    let loser = if ra.status == 202 { &rb } else { &ra };
    let race_id = winner.json()["id"].as_i64().unwrap();
    assert_eq!(
        loser.json()["message"],
        format!("Synthetic integration already exists on mh-race (id = {race_id}).")
    );

    // Host A starts a create and an edit that hang, and is killed mid-way.
    let slow = payload(
        "mh-slow",
        json!({"operations": {"create": {"behavior": "hang"}}}),
    );
    let r = a.admin("POST", "/integrations", Some(&slow));
    assert_eq!(r.status, 202, "{}", r.body);
    let slow_id = r.json()["id"].as_i64().unwrap();
    let edit = payload(
        "mh-0",
        json!({"label": "after", "operations": {"edit": {"behavior": "hang"}}}),
    );
    let r = a.admin("PUT", &format!("/integrations/{}", ids[0]), Some(&edit));
    assert_eq!(r.status, 202, "{}", r.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&events(&b, slow_id), "validation") == 0
        || count(&events(&b, ids[0]), "validation") < 2
    {
        assert!(
            Instant::now() < deadline,
            "the operations did not reach their platform step"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    a.kill9();

    // B takes both over once their leases expire and ends them.
    let v = b.settle(slow_id);
    assert_eq!(v["status"], "createError", "{v}");
    let v = b.settle(ids[0]);
    assert_eq!(v["status"], "editError", "{v}");
    assert_eq!(v["config"]["label"], "", "the edit was rolled back: {v}");
    for id in [slow_id, ids[0]] {
        let h = events(&b, id);
        let names: Vec<&str> = h.iter().map(|e| e["event"].as_str().unwrap()).collect();
        let tail = &names[names.len() - 3..];
        assert!(tail == ["validation", "takeover", "recovered"], "{names:?}");
        // Run once: one start, one take-over, one end; never an outcome of a second run.
        assert_eq!(count(&h, "takeover"), 1, "{names:?}");
        assert_eq!(count(&h, "outcome"), usize::from(id == ids[0]), "{names:?}");
        let takeover = h.iter().find(|e| e["event"] == "takeover").unwrap();
        assert!(
            takeover["message"].as_str().unwrap().contains("took over"),
            "{takeover}"
        );
        assert!(
            h.iter().all(|e| e["keyId"].is_string()),
            "every change names its key: {h:?}"
        );
    }
    // The create's span is in A's log (it ran there) and not in B's.
    let ran = format!("integration_id={slow_id} platform=Synthetic operation=\"create\"");
    assert!(
        a.logs().contains(&ran),
        "the span pattern is not what the host logs"
    );
    let logs = b.logs();
    assert!(
        !logs.contains(&ran),
        "host B ran the create it took over:\n{logs}"
    );

    // Nothing is stuck, and A, restarted on the same store, serves it all.
    for i in b
        .admin("GET", "/integrations", None)
        .json()
        .as_array()
        .unwrap()
    {
        assert!(!in_progress(i["status"].as_str().unwrap()), "{i}");
    }
    a.restart();
    assert_eq!(
        a.admin("GET", &format!("/integrations/{slow_id}"), None)
            .json()["status"],
        "createError"
    );
    let fixed = payload("mh-slow", json!({}));
    let r = a.admin("PUT", &format!("/integrations/{slow_id}"), Some(&fixed));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(b.settle(slow_id)["status"], "enabled");
}

#[test]
fn a_revoked_key_is_refused_by_every_host() {
    let Some(db) = Db::new("mhkeys") else { return };
    let a = host("mhk-a", &db, "30s");
    let b = host("mhk-b", &db, "30s");
    let url = db.url();
    let out = a.cli(&[
        "keys", "create", "--role", "read", "--name", "reader", "--store", &url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    for s in [&a, &b] {
        assert_eq!(s.req("GET", "/integrations", Some(&key), None).status, 200);
    }
    let list = a.cli(&["keys", "list", "--store", &url]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    let id = text
        .lines()
        .find(|l| l.ends_with("reader"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_owned();
    let out = a.cli(&["keys", "revoke", &id, "--store", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Refused everywhere once the hosts' key caches (five seconds) have expired.
    let deadline = Instant::now() + Duration::from_secs(30);
    for s in [&a, &b] {
        loop {
            let r = s.req("GET", "/integrations", Some(&key), None);
            if r.status == 401 {
                break;
            }
            assert_eq!(r.status, 200);
            assert!(Instant::now() < deadline, "the revoked key still works");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let listed =
        String::from_utf8_lossy(&a.cli(&["keys", "list", "--store", &url]).stdout).into_owned();
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("\trevoked ")),
        "{listed}"
    );
    // An expired key is refused at once.
    let out = a.cli(&[
        "keys",
        "create",
        "--role",
        "read",
        "--expires-in",
        "1ms",
        "--store",
        &url,
    ]);
    let expired = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        b.req("GET", "/integrations", Some(&expired), None).status,
        401
    );
}
