//! Through the real `junction` binary (with the `synapse` feature; built by
//! `cargo xtask test`, or `cargo build -p junction-host --features
//! synthetic`) against the fake: create → enabled, the delimiters PUT refused
//! with its path, the post-cleanup script, delete → deleted, faults through
//! `X-Junction-Fault-Step`, and the sentinel password nowhere.

use crate::fake_synapse::{ADMIN, FakeSynapse};
use crate::support::{self, DB, auto_config, system_user};
use junction_synapse::TYPE_NAME;
use junction_synapse::testing::bootstrap::step;
use junction_testkit::SENTINEL;
use junction_testkit::binary::Server;
use serde_json::{Value, json};

fn binary_ready() -> bool {
    junction_testkit::binary::binary_has_platform(TYPE_NAME)
}

fn payload(config: &Value) -> String {
    json!({"type": TYPE_NAME, "autoBootstrap": true, "config": config}).to_string()
}

/// A fake whose admin password is the sentinel, and a config naming it.
fn sentinel_fake() -> (FakeSynapse, Value) {
    let fake = FakeSynapse::start(SENTINEL, &[DB], Some(support::server_tls()));
    let mut config = auto_config(fake.port, true);
    config["password"] = json!(SENTINEL);
    (fake, config)
}

fn privileged() -> String {
    json!({"username": ADMIN, "password": SENTINEL}).to_string()
}

#[test]
fn create_put_scripts_and_delete_through_the_api() {
    if !binary_ready() {
        return;
    }
    let (fake, config) = sentinel_fake();
    let initial = fake.snapshot();
    let server = Server::start("synapse-life", &[]);
    let r = server.admin("POST", "/integrations", Some(&payload(&config)));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    let v = server.settle(id);
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert_eq!(v["config"]["username"], json!(system_user()), "{v}");
    assert!(v["config"].get("password").is_none(), "{v}");
    assert!(!r.body.contains(SENTINEL) && !v.to_string().contains(SENTINEL));
    assert!(
        fake.snapshot()
            .contains(&"pool1: schema immuta_views owner=dbo".to_owned())
    );

    // A changed delimiter is refused at once, with its path.
    let mut moved = config.clone();
    moved["metadataDelimiters"] = json!({"hashDelimiter": "#"});
    let r = server.admin(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(&moved)),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("config.metadataDelimiters.hashDelimiter"),
        "{}",
        r.body
    );

    // The second cleanup stage answers, without any password. Scripts take
    // a manual payload: its username is the system user the scripts manage.
    let mut manual = config.clone();
    manual["username"] = json!(system_user());
    let body = json!({"type": TYPE_NAME, "autoBootstrap": false, "config": manual}).to_string();
    let r = server.admin("POST", "/integrations/scripts/post-cleanup", Some(&body));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("DROP LOGIN [pool1_immuta_system]"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(SENTINEL));

    let r = server.admin(
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&privileged()),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let v = server.settle(id);
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert_eq!(fake.snapshot(), initial);
    assert!(!server.data_dir_holds(SENTINEL), "a password in the store");
    assert!(!server.logs().contains(SENTINEL), "a password in the logs");
}

#[test]
fn faults_through_the_api_leave_the_catalog_as_it_was() {
    if !binary_ready() {
        return;
    }
    let (fake, config) = sentinel_fake();
    let before = fake.snapshot();
    let server = Server::start("synapse-faults", &[]);
    let middle = step::create_schema("immuta_functions");
    let (id, v) = server.operate(
        "POST",
        "/integrations",
        Some(&payload(&config)),
        Some(&middle),
        None,
        SENTINEL,
    );
    assert_eq!(v["status"], "createError", "{v}\n{}", server.logs());
    server.assert_failed_at(id, &middle, SENTINEL);
    assert_eq!(fake.snapshot(), before);
    // The retry goes through; a faulted delete keeps everything.
    let (_, v) = server.operate(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(&config)),
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    let created = fake.snapshot();
    let undo = format!("undo-{}", step::create_schema("immuta_system"));
    let (_, v) = server.operate(
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&privileged()),
        Some(&undo),
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "deleteError", "{v}\n{}", server.logs());
    server.assert_failed_at(id, &undo, SENTINEL);
    assert_eq!(fake.snapshot(), created);
    let (_, v) = server.operate(
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&privileged()),
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert_eq!(fake.snapshot(), before);
    assert!(!server.data_dir_holds(SENTINEL));
}
