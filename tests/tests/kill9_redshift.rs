//! `kill -9` in the middle of a Redshift automatic set-up against the
//! PostgreSQL stand-in, the host's own store on the same stand-in: the kill
//! lands after a random number of the plan's steps (read from the journal
//! as it is written; a delaying proxy in front of the stand-in stretches each
//! statement so the kill falls inside the plan). After a restart the create
//! ends in `createError`, every object on the cluster is named in the
//! integration's `leftoverObjects` and its history, and the statements of
//! `scripts/delete` remove exactly those.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::{ADMIN, Server, binary_has_platform};
use junction_testkit::stand_ins::{self, Postgres};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A fake network in front of the stand-in: every client-to-server chunk
/// waits `delay` before it is passed on.
fn delaying_proxy(upstream: String, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || {
                        std::thread::sleep(delay);
                        s_out.write_all(&buf[..n]).is_err()
                    } {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

/// The cluster's objects of one set-up, dropped at the end whatever happened.
struct Objects {
    pg: Postgres,
    database: String,
}

impl Objects {
    fn system_user(&self) -> String {
        format!("{}_system", self.database)
    }
    fn role(&self) -> String {
        format!("{}_imp", self.database)
    }
    fn database_exists(&self) -> bool {
        self.pg
            .psql(
                &self.pg.database,
                &format!(
                    "SELECT 1 FROM pg_database WHERE datname = '{}'",
                    self.database
                ),
            )
            .unwrap()
            .trim()
            == "1"
    }
    fn role_exists(&self, role: &str) -> bool {
        self.pg
            .psql(
                &self.pg.database,
                &format!("SELECT 1 FROM pg_roles WHERE rolname = '{role}'"),
            )
            .unwrap()
            .trim()
            == "1"
    }
}

impl Drop for Objects {
    fn drop(&mut self) {
        self.pg.drop_database(&self.database);
        for r in [self.role(), self.system_user()] {
            let _ = self
                .pg
                .psql(&self.pg.database, &format!("DROP ROLE IF EXISTS \"{r}\""));
        }
    }
}

fn applied_steps(pg: &Postgres, store_db: &str, id: i64) -> usize {
    pg.psql(
        store_db,
        &format!(
            "SELECT count(*) FROM journal j JOIN integrations i ON i.op_origin = j.origin
             WHERE i.id = {id} AND j.state = 'applied'"
        ),
    )
    .map(|s| s.trim().parse().unwrap_or(0))
    .unwrap_or(0)
}

#[test]
fn a_redshift_set_up_killed_half_way_names_exactly_what_it_left_and_its_cleanup_removes_it() {
    let Some(pg) = stand_ins::require::<Postgres>("postgres") else {
        return;
    };
    if !binary_has_platform("Redshift") {
        return;
    }
    let store_db = pg.create_database("k9rs_store").unwrap();
    let url = pg.url(&store_db);
    let mut s = Server::start_with_env(
        "kill9-redshift",
        &["--store", &url, "--lease-ttl", "1s"],
        &[
            ("JUNCTION_ADMIN_KEY", ADMIN),
            ("JUNCTION_SECRET_KEY", &"ab".repeat(32)),
        ],
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    for round in 0..3u32 {
        // Kill after 1 to 6 applied steps (of the plan's 10 or more).
        let k = 1 + ((seed / (round + 1)) % 6) as usize;
        // A proxy of its own: the account (host:port) is new each round.
        let proxy = delaying_proxy(
            format!("{}:{}", pg.host, pg.port),
            Duration::from_millis(60),
        );
        let o = Objects {
            pg: pg.clone(),
            database: junction_testkit::unique_name("k9rs", '_'),
        };
        let config = json!({
            "host": "127.0.0.1", "port": proxy, "initialDatabase": pg.database, "database": o.database,
            "authenticationType": "userPassword", "username": pg.user, "password": pg.password,
            "impersonation": {"enabled": true, "role": o.role()}, "tls": "disable", "connectTimeoutSeconds": 10
        });
        let body = json!({"type": "Redshift", "autoBootstrap": true, "config": config}).to_string();
        let r = s.admin("POST", "/integrations", Some(&body));
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while applied_steps(&pg, &store_db, id) < k {
            let st = s
                .admin("GET", &format!("/integrations/{id}/status"), None)
                .json();
            assert_eq!(
                st["status"],
                "creating",
                "ended before the kill: {}",
                s.logs()
            );
            assert!(Instant::now() < deadline, "the plan did not reach step {k}");
            std::thread::sleep(Duration::from_millis(5));
        }
        s.restart(); // kill -9, and a new process on the same store
        let v = s.settle(id);
        assert_eq!(v["status"], "createError", "{v}");
        let left = v["leftoverObjects"]
            .as_array()
            .unwrap_or_else(|| panic!("no leftovers named: {v}"))
            .clone();
        assert!(
            left.len() >= k,
            "{k} steps applied, {} named: {left:?}",
            left.len()
        );
        let named = |needle: &str| {
            left.iter()
                .any(|l| l["statement"].as_str().unwrap().contains(needle))
        };
        // Every object on the cluster is named; every named creation that was applied exists.
        for (exists, name) in [
            (o.database_exists(), o.database.clone()),
            (o.role_exists(&o.system_user()), o.system_user()),
            (o.role_exists(&o.role()), o.role()),
        ] {
            if exists {
                assert!(
                    named(&name),
                    "{name} is on the cluster but not named: {left:?}"
                );
            }
        }
        for l in &left {
            let stmt = l["statement"].as_str().unwrap();
            if l["state"] == "applied" && stmt.starts_with("CREATE DATABASE") {
                assert!(o.database_exists(), "{stmt}");
            }
        }
        let h = s
            .admin("GET", &format!("/integrations/{id}/history"), None)
            .json();
        let last = h.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["event"], "recovered");
        assert!(
            last["message"]
                .as_str()
                .unwrap()
                .contains("Left on the platform"),
            "{last}"
        );
        assert!(
            !h.to_string().contains(&pg.password),
            "the privileged password in the history"
        );
        // The cleanup script removes exactly those.
        let script = s.admin("POST", &format!("/integrations/{id}/scripts/delete"), None);
        assert_eq!(script.status, 200, "{}", script.body);
        let statements: Vec<String> = script.json()["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            statements.len(),
            left.iter().filter(|l| !l["undo"].is_null()).count()
        );
        for stmt in &statements {
            let in_db = o.database_exists() && pg.psql(&o.database, stmt).is_ok();
            if in_db {
                continue;
            }
            if let Err(e) = pg.psql(&pg.database, stmt) {
                // A step in doubt (started, never known applied) may have left nothing.
                let doubt = left
                    .iter()
                    .any(|l| l["undo"] == stmt.as_str() && l["state"] == "in doubt");
                assert!(doubt && e.contains("does not exist"), "{stmt}: {e}");
            }
        }
        assert!(
            !o.database_exists() && !o.role_exists(&o.system_user()) && !o.role_exists(&o.role())
        );
    }
    drop(s);
    pg.drop_database(&store_db);
}
