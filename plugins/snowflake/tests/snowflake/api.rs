//! Through the real `junction` binary's HTTP API against `fake_snowflake`
//! (started here on 127.0.0.1, reached through the config's `endpoint`):
//! create, edit, migrate and delete, each first with a fault injected at a
//! middle step of its plan (`X-Junction-Fault-Step`, honoured by a binary
//! built with the host's `synthetic` feature) — the operation ends in its
//! `…Error` status and the fake account's objects are exactly what they were
//! — and then without, which succeeds.
//!
//! Needs the binary (`cargo build -p junction-host --features synthetic`, or
//! `cargo xtask test`) with the `snowflake` feature; without it, outside CI,
//! these tests say so and return.

use crate::fake_snowflake::{self, FakeSnowflake, WAREHOUSE, q};
use crate::support::{self, unique};
use junction_snowflake::step;
use junction_testkit::SENTINEL;
use junction_testkit::binary::Server;
use serde_json::{Value, json};

/// Whether the binary is there and knows Snowflake; `false` (and a message)
/// means the test returns early.
fn binary_ready() -> bool {
    junction_testkit::binary::binary_has_platform("Snowflake")
}

/// A runtime whose worker serves the fake while the test thread makes
/// blocking HTTP calls to the binary.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The fake account's admin logs in with the sentinel: it must never come back.
fn start_fake(rt: &tokio::runtime::Runtime) -> FakeSnowflake {
    rt.block_on(FakeSnowflake::start(SENTINEL))
}

/// Automatic set-up as the fake's admin, with impersonation and table grants.
fn auto_config(server: &FakeSnowflake, db: &str) -> Value {
    let mut c = support::fake_config(server, SENTINEL, db);
    c["impersonation"] = json!({"enabled": true, "role": format!("{db}_IMP")});
    // A prefix no name of these tests starts with (they start with `JT_`).
    c["tableGrants"] = json!({"enabled": true, "rolePrefix": "TGR"});
    c
}

fn payload(auto: bool, config: &Value) -> String {
    json!({"type": "Snowflake", "autoBootstrap": auto, "config": config}).to_string()
}

fn assert_failed_at(server: &Server, id: i64, step: &str) {
    server.assert_failed_at(id, step, SENTINEL)
}

fn data_dir_holds(server: &Server, needle: &str) -> bool {
    server.data_dir_holds(needle)
}

/// Sends an operation, checks it was accepted (202), and waits for the outcome.
fn run(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&str>,
    fault: Option<&str>,
    id: Option<i64>,
) -> (i64, Value) {
    server.operate(method, path, body, fault, id, SENTINEL)
}

#[test]
fn api_fake_snowflake_create_edit_delete_with_faults_leave_the_account_as_it_was() {
    if !binary_ready() {
        return;
    }
    let rt = runtime();
    let fake = start_fake(&rt);
    fake.add_object(format!("warehouse {}", q("OTHER_WH")), "ACCOUNTADMIN");
    let db = unique("api");
    let config = auto_config(&fake, &db);
    let server = Server::start("snowflake-faults", &[]);
    let initial = fake.snapshot();

    // Create, failing at a middle step: nothing is left behind.
    let (id, v) = run(
        &server,
        "POST",
        "/integrations",
        Some(&payload(true, &config)),
        Some(step::GRANT_WAREHOUSE),
        None,
    );
    assert_eq!(v["status"], "createError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, step::GRANT_WAREHOUSE);
    assert_eq!(fake.snapshot(), initial);

    // The retry (PUT on a createError) without a fault goes through.
    let (_, v) = run(
        &server,
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(true, &config)),
        None,
        Some(id),
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    let (sys, role) = (format!("{db}_SYSTEM"), format!("{db}_SYSTEM_ROLE"));
    assert_eq!(v["config"]["username"], json!(sys), "{v}");
    assert_eq!(v["config"]["role"], json!(role), "{v}");
    assert!(v["config"].get("password").is_none(), "{v}");
    let created = fake.snapshot();
    assert_ne!(created, initial);
    assert!(
        created.contains(&format!("role {}", q(&role))),
        "{created:#?}"
    );
    assert!(
        created
            .iter()
            .any(|l| l.starts_with(&format!("rows {}.", q(&db))) && l.ends_with("[2]")),
        "{created:#?}"
    );

    // Edit with privileged credentials: another warehouse, audit on, the
    // impersonation role renamed; failing at a middle step.
    let mut edited = config.clone();
    edited["warehouse"] = json!("OTHER_WH");
    edited["audit"] = json!({"enabled": true});
    edited["impersonation"]["role"] = json!(format!("{db}_IMP2"));
    let (_, v) = run(
        &server,
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(true, &edited)),
        Some(step::REVOKE_OLD_WAREHOUSE),
        Some(id),
    );
    assert_eq!(v["status"], "editError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, step::REVOKE_OLD_WAREHOUSE);
    let old = &v["config"];
    assert_eq!(
        old["warehouse"],
        json!(WAREHOUSE),
        "the old config is back: {v}"
    );
    assert_eq!(
        old["impersonation"]["role"],
        json!(format!("{db}_IMP")),
        "{v}"
    );
    assert_eq!(old["username"], json!(sys), "{v}");
    assert_eq!(old["role"], json!(role), "{v}");
    let r = server.admin("GET", &format!("/integrations/{id}"), None);
    assert_eq!(r.json()["config"], v["config"]);
    assert_eq!(fake.snapshot(), created);

    // Without the fault the edit goes through; the system user stays stored.
    let (_, v) = run(
        &server,
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(true, &edited)),
        None,
        Some(id),
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(v["config"]["warehouse"], json!("OTHER_WH"), "{v}");
    assert_eq!(v["config"]["username"], json!(sys), "{v}");
    let after_edit = fake.snapshot();
    assert!(after_edit.contains(&format!(
        "grant USAGE ON WAREHOUSE {} TO ROLE {}",
        q("OTHER_WH"),
        q(&role)
    )));
    assert!(after_edit.contains(&format!("role {}", q(&format!("{db}_IMP2")))));
    assert!(!after_edit.contains(&format!("role {}", q(&format!("{db}_IMP")))));

    // Delete with privileged credentials, failing at a middle step of the
    // reversed create plan: the undone steps are re-done.
    let creds = json!({"username": fake_snowflake::ADMIN, "password": SENTINEL}).to_string();
    let middle = format!("undo-{}", step::CREATE_SYSTEM_USER);
    let (_, v) = run(
        &server,
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&creds),
        Some(&middle),
        Some(id),
    );
    assert_eq!(v["status"], "deleteError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, &middle);
    assert_eq!(fake.snapshot(), after_edit);

    // Without the fault: deleted, and the account is as it was at the start.
    let (_, v) = run(
        &server,
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&creds),
        None,
        Some(id),
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert_eq!(fake.snapshot(), initial);
    assert!(!server.logs().contains(SENTINEL), "a secret in the logs");
    assert!(!data_dir_holds(&server, SENTINEL), "a secret in the store");
}

/// The binary installs only the newest set-up version, so an integration to
/// migrate is one whose set-up an older release made: set up version 1 on the
/// fake (through the plugin, as an older Junction would have), then register
/// it through the API as a manual set-up, which reads its version (1) from the
/// account. No store is edited.
#[test]
fn api_fake_snowflake_migrate_with_a_fault_leaves_the_account_as_it_was() {
    if !binary_ready() {
        return;
    }
    let rt = runtime();
    let fake = start_fake(&rt);
    let db = unique("apimig");
    let config = auto_config(&fake, &db);
    let stored = rt.block_on(support::create_auto(
        &junction_snowflake::Snowflake::installing_version(1),
        &config,
    ));
    // The system user's password becomes the sentinel, to look for it.
    let (sys, role) = (stored.username.clone(), stored.role.clone());
    fake.with(|s| {
        s.users.get_mut(&sys).expect("system user").0 = SENTINEL.to_owned();
    });
    let v1 = fake.snapshot();
    assert!(
        v1.iter()
            .any(|l| l.starts_with(&format!("rows {}.", q(&db))) && l.ends_with("[1]")),
        "{v1:#?}"
    );

    let server = Server::start("snowflake-migrate", &[]);
    let mut manual = config.clone();
    manual["username"] = json!(sys);
    manual["role"] = json!(role);
    let (id, v) = run(
        &server,
        "POST",
        "/integrations",
        Some(&payload(false, &manual)),
        None,
        None,
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(fake.snapshot(), v1, "a manual create touches nothing");

    // Migrate 1 → 2 (create-table-grant-roles, grant-table-grant-roles,
    // record-version-2), failing at the middle step.
    let migrate = format!("/integrations/{id}/migrate");
    let (_, v) = run(
        &server,
        "POST",
        &migrate,
        None,
        Some(step::GRANT_TABLE_GRANT_ROLES),
        Some(id),
    );
    assert_eq!(v["status"], "migrateError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, step::GRANT_TABLE_GRANT_ROLES);
    assert_eq!(fake.snapshot(), v1);

    // Without the fault the migration goes through; then nothing is left to migrate.
    let (_, v) = run(&server, "POST", &migrate, None, None, Some(id));
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    let v2 = fake.snapshot();
    assert!(v2.contains(&format!(
        "table {}.{}.{}",
        q(&db),
        q("IMMUTA_SYSTEM"),
        q("TABLE_GRANT_ROLES")
    )));
    assert!(
        v2.iter()
            .any(|l| l.starts_with(&format!("rows {}.", q(&db))) && l.ends_with("[2]")),
        "{v2:#?}"
    );
    let r = server.admin("POST", &migrate, None);
    assert_eq!(r.status, 409, "{}", r.body);

    // A manual delete touches nothing.
    let (_, v) = run(
        &server,
        "DELETE",
        &format!("/integrations/{id}"),
        None,
        None,
        Some(id),
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert_eq!(fake.snapshot(), v2);
    assert!(!server.logs().contains(SENTINEL), "a secret in the logs");
    assert!(!data_dir_holds(&server, SENTINEL), "a secret in the store");
}

/// Remedies through the binary: beside `validationResults` (never inside
/// `validationTests`) in the validate answer, the integration (GET, list),
/// its history, and under `junction validate`'s table; the sentinel password
/// in none of them.
#[test]
fn api_fake_snowflake_remedies_beside_validation_results() {
    use junction_snowflake::testing::checks::{PRIVILEGED_ROLE, PRIVILEGED_ROLE_FAILED};
    if !binary_ready() {
        return;
    }
    let rt = runtime();
    let fake = start_fake(&rt);
    // A role that exists but was never granted to the configured user.
    fake.add_object(format!("role {}", q("JT_API_ROLE")), "ACCOUNTADMIN");
    let mut config = support::fake_config(&fake, SENTINEL, &unique("api_remedy"));
    config["role"] = "JT_API_ROLE".into();
    let body = payload(false, &config);
    let statement = format!(
        "GRANT ROLE \"JT_API_ROLE\" TO USER \"{}\";",
        fake_snowflake::ADMIN
    );
    let server = Server::start("snowflake-remedies", &[]);

    let r = server.admin("POST", "/integrations/validate", Some(&body));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains(SENTINEL));
    let v = r.json();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["remedies"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["remedies"][0]["test"], PRIVILEGED_ROLE);
    assert_eq!(v["remedies"][0]["language"], "sql");
    assert_eq!(v["remedies"][0]["statements"], json!([statement]));
    let role_test = v["validationTests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == PRIVILEGED_ROLE)
        .unwrap();
    assert_eq!(role_test["message"], PRIVILEGED_ROLE_FAILED);
    assert_eq!(
        role_test.as_object().unwrap().len(),
        3,
        "a test keeps the contract's shape: {role_test}"
    );

    let (id, v) = run(&server, "POST", "/integrations", Some(&body), None, None);
    assert_eq!(v["status"], "createError", "{v}");
    assert_eq!(v["remedies"][0]["statements"], json!([statement]));
    let mut results_keys: Vec<&String> =
        v["validationResults"].as_object().unwrap().keys().collect();
    results_keys.sort();
    assert_eq!(results_keys, ["status", "validationTests"]);
    let list = server.admin("GET", "/integrations", None).json();
    assert_eq!(list[0], v);

    let h = server.admin("GET", &format!("/integrations/{id}/history"), None);
    assert!(!h.body.contains(SENTINEL));
    let h = h.json();
    let validation = h
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "validation")
        .unwrap();
    assert_eq!(validation["remedies"][0]["test"], PRIVILEGED_ROLE);
    assert!(validation["validationResults"].get("remedies").is_none());

    let file = server.dir.join("payload.json");
    std::fs::write(&file, &body).unwrap();
    let out = server.cli(&["validate", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let (table, remedies) = stdout.split_once("\nremedies:\n").expect(&stdout);
    assert!(table.contains(PRIVILEGED_ROLE_FAILED), "{stdout}");
    assert!(remedies.contains(&format!("    {statement}")), "{stdout}");
    assert!(!stdout.contains(SENTINEL));
    assert!(!server.logs().contains(SENTINEL));
}
