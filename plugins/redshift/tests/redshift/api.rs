//! Through the real `junction` binary: `junction validate`, and the HTTP API's
//! create and delete. Needs the binary (built by `cargo xtask test`, or
//! `cargo build -p junction-host`), with the `redshift` feature; without it,
//! outside CI, these tests say so and return.

use crate::support::{self, Cleanup, Names, has};
use junction_redshift::step;
use junction_testkit::SENTINEL;
use junction_testkit::binary::Server;
use serde_json::{Value, json};

/// Whether the binary is there and knows Redshift; `false` (and a message)
/// means the test returns early.
fn binary_ready() -> bool {
    junction_testkit::binary::binary_has_platform("Redshift")
}

fn payload(config: &Value) -> String {
    json!({"type": "Redshift", "autoBootstrap": true, "config": config}).to_string()
}

fn cli_validate(server_less: &Server, config: &Value) -> (i32, Value) {
    let file = server_less.dir.join("payload.json");
    std::fs::write(&file, payload(config)).expect("write payload");
    let out = server_less.cli(&["validate", file.to_str().expect("path"), "--output", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v["validationTests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| {
            (
                t["status"].as_str().unwrap_or("").to_owned(),
                t["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn junction_validate_on_the_stand_in() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    if !binary_ready() {
        return;
    }
    let server = Server::start("redshift-validate", &[]);
    let names = Names::new("api_val");
    let _cleanup = Cleanup::new(&pg, &names);
    let good = support::auto_config(&pg, &names, true);

    let (code, v) = cli_validate(&server, &good);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["status"], "passed", "{v}");

    let mut closed = good.clone();
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    closed["port"] = json!(l.local_addr().expect("addr").port());
    drop(l);
    let (code, v) = cli_validate(&server, &closed);
    assert_eq!(code, 1, "{v}");
    let s = statuses(&v);
    assert_eq!(s[0], ("failed".into(), "Unable to connect to host.".into()));
    assert_eq!(s[1].0, "skipped");
    assert!(
        s[1].1.contains("Initial validation: basic connection test"),
        "{v}"
    );
    assert_eq!(s[2].0, "skipped");

    // The database and the role exist: the contract's messages.
    let admin = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    admin.block_on(async {
        let c = support::superuser(&pg, &pg.database).await;
        c.batch_execute(&format!("CREATE DATABASE \"{}\"", names.database))
            .await
            .expect("db");
        c.batch_execute(&format!("CREATE ROLE \"{}\"", names.role()))
            .await
            .expect("role");
    });
    let (code, v) = cli_validate(&server, &good);
    assert_eq!(code, 1, "{v}");
    let s = statuses(&v);
    assert_eq!(
        s[1],
        (
            "failed".into(),
            "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name.".into()
        )
    );
    assert_eq!(
        s[2],
        (
            "failed".into(),
            "Impersonation role already exists. If this role can be safely dropped please do so and try again. Alternatively, specify a different role name.".into()
        )
    );
}

fn data_dir_holds(server: &Server, needle: &str) -> bool {
    server.data_dir_holds(needle)
}

#[test]
fn create_and_delete_through_the_api() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    if !binary_ready() {
        return;
    }
    let mut names = Names::new("api_life");
    let renamed = names.extra_role("renamed");
    let mut cleanup = Cleanup::new(&pg, &names);
    // A privileged user whose password is the sentinel, to search the store for it.
    let admin_name = format!("{}_admin", names.database);
    cleanup.track_role(&admin_name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        support::superuser(&pg, &pg.database)
            .await
            .batch_execute(&format!(
                "CREATE ROLE \"{admin_name}\" SUPERUSER LOGIN PASSWORD '{SENTINEL}'"
            ))
            .await
            .expect("sentinel superuser");
    });
    let mut config = support::auto_config(&pg, &names, true);
    config["username"] = json!(admin_name);
    config["password"] = json!(SENTINEL);

    let server = Server::start("redshift-life", &[]);
    let r = server.admin("POST", "/integrations", Some(&payload(&config)));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    let v = server.settle(id);
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(v["config"]["username"], json!(names.system_user), "{v}");
    assert!(v["config"].get("password").is_none(), "{v}");
    assert!(!r.body.contains(SENTINEL) && !v.to_string().contains(SENTINEL));

    let snap = rt.block_on(support::snapshot(&pg, &names));
    for object in [
        format!("database {}", names.database),
        format!("role {} ", names.system_user),
        format!("role {} ", names.role()),
        "schema immuta_system".to_owned(),
        "schema immuta_functions".to_owned(),
        "schema immuta_procedures".to_owned(),
        "procedure immuta_procedures.grant_impersonation".to_owned(),
        "procedure immuta_procedures.revoke_impersonation".to_owned(),
        "version row 2".to_owned(),
    ] {
        assert!(has(&snap, &object), "{object} missing: {snap:#?}");
    }
    assert!(
        !data_dir_holds(&server, SENTINEL),
        "the privileged password is in the store"
    );
    assert!(
        !server.logs().contains(SENTINEL),
        "the privileged password is in the logs"
    );

    // PUT with the privileged credentials again: rename the impersonation role.
    // Validation sees the database and the role as the integration's own.
    let mut edited = config.clone();
    edited["impersonation"]["role"] = json!(renamed);
    let r = server.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(&edited)),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let v = server.settle(id);
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    let tests = statuses(&v["validationResults"]);
    assert_eq!(tests[1].0, "passed", "{v}");
    assert!(tests[1].1.contains("already manages"), "{v}");
    assert_eq!(v["config"]["username"], json!(names.system_user), "{v}");
    let snap = rt.block_on(support::snapshot(&pg, &names));
    assert!(has(&snap, &format!("role {renamed} ")), "{snap:#?}");
    assert!(!has(&snap, &format!("role {} ", names.role())), "{snap:#?}");

    // DELETE with the privileged credentials removes everything.
    let creds = json!({"username": admin_name, "password": SENTINEL}).to_string();
    let r = server.admin("DELETE", &format!("/integrations/{id}"), Some(&creds));
    assert_eq!(r.status, 202, "{}", r.body);
    let v = server.settle(id);
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert!(rt.block_on(support::snapshot(&pg, &names)).is_empty());
    assert!(
        !data_dir_holds(&server, SENTINEL),
        "the DELETE credentials are in the store"
    );
    assert!(!server.logs().contains(SENTINEL));
}

// ---------------------------------------------------------------------------
// Lifecycle through the API with faults injected (`X-Junction-Fault-Step`,
// honoured by a binary built with the host's `synthetic` feature): every
// faulted operation ends in its `…Error` status and leaves the cluster's
// catalog exactly as it was before it.

fn assert_failed_at(server: &Server, id: i64, step: &str) {
    server.assert_failed_at(id, step, SENTINEL)
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
fn api_stand_in_create_edit_delete_with_faults_leave_the_catalog_as_it_was() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    if !binary_ready() {
        return;
    }
    let mut names = Names::new("api_fault");
    let renamed = names.extra_role("renamed");
    let mut cleanup = Cleanup::new(&pg, &names);
    let admin_name = format!("{}_admin", names.database);
    cleanup.track_role(&admin_name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        support::superuser(&pg, &pg.database)
            .await
            .batch_execute(&format!(
                "CREATE ROLE \"{admin_name}\" SUPERUSER LOGIN PASSWORD '{SENTINEL}'"
            ))
            .await
            .expect("sentinel superuser");
    });
    let snapshot = || rt.block_on(support::snapshot(&pg, &names));
    let mut config = support::auto_config(&pg, &names, true);
    config["username"] = json!(admin_name);
    config["password"] = json!(SENTINEL);
    let server = Server::start("redshift-faults", &[]);

    // Create, failing at a middle step (after the initial database's steps
    // and one of the new database's): nothing is left behind.
    let before = snapshot();
    assert!(before.is_empty(), "{before:#?}");
    let middle = step::create_schema("immuta_functions");
    let (id, v) = run(
        &server,
        "POST",
        "/integrations",
        Some(&payload(&config)),
        Some(&middle),
        None,
    );
    assert_eq!(v["status"], "createError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, &middle);
    assert_eq!(snapshot(), before, "after a fault at {middle}");

    // The retry (PUT on a createError) without a fault goes through.
    let (_, v) = run(
        &server,
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(&config)),
        None,
        Some(id),
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(v["config"]["username"], json!(names.system_user), "{v}");
    let created = snapshot();
    assert!(has(&created, "version row 2"), "{created:#?}");
    assert!(
        has(&created, &format!("role {} ", names.role())),
        "{created:#?}"
    );

    // Edit: rename the impersonation role, failing at the middle step
    // (rename-impersonation-role, replace-grant-procedure, replace-revoke-procedure).
    let mut edited = config.clone();
    edited["impersonation"]["role"] = json!(renamed);
    let (_, v) = run(
        &server,
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(&edited)),
        Some("replace-grant-procedure"),
        Some(id),
    );
    assert_eq!(v["status"], "editError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, "replace-grant-procedure");
    assert_eq!(
        v["config"]["impersonation"]["role"],
        json!(names.role()),
        "the old configuration is back: {v}"
    );
    assert_eq!(v["config"]["username"], json!(names.system_user), "{v}");
    let r = server.admin("GET", &format!("/integrations/{id}"), None);
    assert_eq!(r.json()["config"], v["config"]);
    assert_eq!(
        snapshot(),
        created,
        "after a fault at replace-grant-procedure"
    );

    // Without the fault the rename goes through.
    let (_, v) = run(
        &server,
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(&edited)),
        None,
        Some(id),
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(v["config"]["impersonation"]["role"], json!(renamed), "{v}");
    let renamed_snap = snapshot();
    assert!(
        has(&renamed_snap, &format!("role {renamed} ")),
        "{renamed_snap:#?}"
    );
    assert!(!has(&renamed_snap, &format!("role {} ", names.role())));

    // Delete with privileged credentials, failing at a middle step of the
    // reversed create plan: the undone steps are re-done.
    let creds = json!({"username": admin_name, "password": SENTINEL}).to_string();
    let middle = format!("undo-{}", step::GRANT_IMPERSONATION_ADMIN);
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
    assert_eq!(snapshot(), renamed_snap, "after a fault at {middle}");

    // Without the fault: deleted, and nothing left.
    let (_, v) = run(
        &server,
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&creds),
        None,
        Some(id),
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert!(snapshot().is_empty());
    assert!(!data_dir_holds(&server, SENTINEL), "a secret in the store");
    assert!(!server.logs().contains(SENTINEL), "a secret in the logs");
}

/// The binary installs only the newest set-up version, so an integration to
/// migrate is one whose set-up an older release made: set up version 1 here
/// (through the plugin, as an older Junction would have), then register it
/// through the API as a manual set-up, which reads its version (1) from the
/// cluster. No store is edited.
#[test]
fn api_stand_in_migrate_with_a_fault_leaves_the_catalog_as_it_was() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    if !binary_ready() {
        return;
    }
    let names = Names::new("api_migr");
    let _cleanup = Cleanup::new(&pg, &names);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let snapshot = || rt.block_on(support::snapshot(&pg, &names));
    let auto = support::auto_config(&pg, &names, true);
    let stored = rt.block_on(async {
        let stored =
            support::create_auto(&junction_redshift::Redshift::installing_version(1), &auto).await;
        // The system user's password becomes the sentinel, to look for it.
        support::superuser(&pg, &pg.database)
            .await
            .batch_execute(&format!(
                "ALTER USER \"{}\" PASSWORD '{SENTINEL}'",
                names.system_user
            ))
            .await
            .expect("password");
        stored
    });
    let v1 = snapshot();
    assert!(has(&v1, "version row 1"), "{v1:#?}");

    let server = Server::start("redshift-migrate", &[]);
    let mut manual = auto.clone();
    manual["username"] = json!(names.system_user);
    manual["password"] = json!(SENTINEL);
    let body = json!({"type": "Redshift", "autoBootstrap": false, "config": manual}).to_string();
    let (id, v) = run(&server, "POST", "/integrations", Some(&body), None, None);
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(snapshot(), v1, "a manual create touches nothing");

    // Migrate 1 → 2 (replace-grant-procedure, replace-revoke-procedure,
    // record-version-2), failing at the middle step.
    let migrate = format!("/integrations/{id}/migrate");
    let (_, v) = run(
        &server,
        "POST",
        &migrate,
        None,
        Some("replace-revoke-procedure"),
        Some(id),
    );
    assert_eq!(v["status"], "migrateError", "{v}\n{}", server.logs());
    assert_failed_at(&server, id, "replace-revoke-procedure");
    assert_eq!(snapshot(), v1, "after a fault at replace-revoke-procedure");

    // Without the fault the migration goes through; then there is nothing left to migrate.
    let (_, v) = run(&server, "POST", &migrate, None, None, Some(id));
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    let v2 = snapshot();
    assert!(has(&v2, "version row 2"), "{v2:#?}");
    assert!(!has(&v2, "version row 1"), "{v2:#?}");
    let r = server.admin("POST", &migrate, None);
    assert_eq!(r.status, 409, "{}", r.body);

    // A manual delete touches nothing; the set-up goes with the plugin.
    let (_, v) = run(
        &server,
        "DELETE",
        &format!("/integrations/{id}"),
        None,
        None,
        Some(id),
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert_eq!(snapshot(), v2);
    assert!(!data_dir_holds(&server, SENTINEL), "a secret in the store");
    assert!(!server.logs().contains(SENTINEL), "a secret in the logs");
    rt.block_on(async {
        let privileged: junction_redshift::PrivilegedCredentials =
            serde_json::from_value(json!({"username": pg.user, "password": pg.password}))
                .expect("credentials");
        junction_core::Platform::delete(
            &junction_redshift::Redshift::new(),
            &support::op(true, 2),
            stored,
            Some(privileged),
        )
        .await
        .expect("delete");
    });
    assert!(snapshot().is_empty());
}
