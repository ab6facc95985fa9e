//! `kill -9` at random moments of create, edit, delete and migrate (the
//! synthetic platform, with random delays so a kill lands before, inside or
//! after the platform's work), then a restart: every integration ends in a
//! final status, and its history is complete: every operation started has
//! exactly one end (`outcome` or `recovered`), in order, each naming its key.
//! The seed is printed; `JUNCTION_KILL9_SEED` replays a run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::Server;
use serde_json::{Value, json};
use std::time::Duration;

/// A small deterministic generator (no dependency): xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn payload(account: &str, label: &str, delay: u64, version: u32) -> String {
    let knob = json!({"delayMs": delay});
    json!({"type": "Synthetic", "autoBootstrap": false, "config": {
        "account": account, "password": "pw-kill9-1", "label": label, "installVersion": version,
        "operations": {"create": knob, "edit": knob, "delete": knob, "migrate": knob}}})
    .to_string()
}

fn in_progress(s: &str) -> bool {
    ["creating", "editing", "deleting", "migrating"].contains(&s)
}

/// Every start has exactly one end, and no end comes without a start.
fn assert_complete(id: i64, h: &[Value]) {
    let mut open: Option<&str> = None;
    for e in h {
        let ev = e["event"].as_str().unwrap();
        assert!(
            e["keyId"].is_string(),
            "integration {id}: an entry without its key: {e}"
        );
        match ev {
            "create" | "edit" | "delete" | "migrate" => {
                assert!(
                    open.is_none(),
                    "integration {id}: {ev} while {open:?} runs: {h:?}"
                );
                open = Some(ev);
            }
            "outcome" | "recovered" => {
                assert!(
                    open.take().is_some(),
                    "integration {id}: an end without a start: {h:?}"
                );
            }
            "validation" | "takeover" => assert!(
                open.is_some(),
                "integration {id}: {ev} outside an operation"
            ),
            other => panic!("integration {id}: unknown event {other}"),
        }
    }
    assert!(
        open.is_none(),
        "integration {id}: an operation never ended: {h:?}"
    );
}

#[test]
fn kill_9_at_random_moments_leaves_every_integration_final_and_its_history_complete() {
    let seed = std::env::var("JUNCTION_KILL9_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("JUNCTION_KILL9_SEED={seed}");
    let mut rng = Rng(seed);
    let mut s = Server::start("kill9-rounds", &["--lease-ttl", "400ms"]);
    let mut ids: Vec<i64> = Vec::new();
    for round in 0..12 {
        // A few operations in flight at once, each with a random delay.
        for k in 0..3 {
            // The first is sure to be cut off: at least one recovery happens.
            let delay = if round == 0 && k == 0 {
                60_000
            } else {
                rng.below(400)
            };
            let existing = ids.iter().copied().filter(|id| {
                let v = s.admin("GET", &format!("/integrations/{id}"), None).json();
                !in_progress(v["status"].as_str().unwrap()) && v["status"] != "deleted"
            });
            let existing: Vec<i64> = existing.collect();
            let choice = if existing.is_empty() { 0 } else { rng.below(4) };
            let r = match choice {
                0 => {
                    let body = payload(&format!("k9-{round}-{k}"), "a", delay, 1);
                    let r = s.admin("POST", "/integrations", Some(&body));
                    if r.status == 202 {
                        ids.push(r.json()["id"].as_i64().unwrap());
                    }
                    r
                }
                c => {
                    let id = existing[rng.below(existing.len() as u64) as usize];
                    let v = s.admin("GET", &format!("/integrations/{id}"), None).json();
                    let account = v["config"]["account"].as_str().unwrap().to_owned();
                    match c {
                        1 => s.admin(
                            "PUT",
                            &format!("/integrations/{id}"),
                            Some(&payload(&account, &format!("l{round}"), delay, 1)),
                        ),
                        2 => s.admin("DELETE", &format!("/integrations/{id}"), None),
                        _ => s.admin("POST", &format!("/integrations/{id}/migrate"), None),
                    }
                }
            };
            assert!([202, 409].contains(&r.status), "{}", r.body);
        }
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        s.restart(); // kill -9, then start on the same data directory
        for id in &ids {
            let v = s.settle(*id);
            assert!(!in_progress(v["status"].as_str().unwrap()), "{v}");
        }
    }
    assert!(!ids.is_empty());
    for id in &ids {
        let h = s
            .admin("GET", &format!("/integrations/{id}/history"), None)
            .json();
        assert_complete(*id, h.as_array().unwrap());
    }
    for i in s
        .admin("GET", "/integrations", None)
        .json()
        .as_array()
        .unwrap()
    {
        assert!(!in_progress(i["status"].as_str().unwrap()), "{i}");
    }
}
