//! Through the real `junction` binary (built with the host's `bigquery`
//! feature, and `fault-injection` for the fault test, as `cargo xtask test`
//! builds it): create → enabled, `autoBootstrap: true` → 400 naming the
//! field, a dataset move by PUT, delete → deleted; a fault injected during
//! create → createError with nothing left. The binary talks to this test's
//! fake Google endpoints and, through them, to bqemulator.

use crate::fake_google::FakeGoogle;
use crate::keys::{self, PROJECT};
use crate::lifecycle::snapshot;
use crate::support::{ALL_HELD, config_for, emulator, emulator_turn, fake, unique};
use junction_testkit::SENTINEL;
use junction_testkit::binary::{Server, binary_has_platform};
use junction_testkit::stand_ins::Http;
use serde_json::{Value, json};

fn payload(auto_bootstrap: bool, config: &Value) -> String {
    json!({"type": "Google BigQuery", "autoBootstrap": auto_bootstrap, "config": config})
        .to_string()
}

/// A config whose key file carries the sentinel.
fn sentinel_config(f: &FakeGoogle, dataset: &str) -> Value {
    let mut c = config_for(f, 0, dataset);
    let mut file = keys::key_file_value(
        0,
        PROJECT,
        &keys::email("junction", PROJECT),
        &f.token_uri(),
    );
    file["private_key_id"] = json!(SENTINEL);
    c["credential"] = json!(file.to_string());
    c
}

/// The emulator, the binary and a runtime for the fake; `None` (the test
/// returns early) outside CI when one is missing.
fn ready() -> Option<(Http, tokio::runtime::Runtime)> {
    let emu = emulator()?;
    if !binary_has_platform("Google BigQuery") {
        return None;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    Some((emu, rt))
}

/// Nothing secret in the server's logs or store.
fn assert_nothing_leaked(server: &Server, f: &FakeGoogle) {
    let logs = server.logs();
    let mut secrets = vec![SENTINEL.to_owned()];
    secrets.extend(keys::key_material(0));
    secrets.extend(f.issued_tokens());
    secrets.extend(f.exchanges().into_iter().map(|e| e.jwt));
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "a secret in the logs ({}…)",
            &s[..8]
        );
        assert!(
            !server.data_dir_holds(s),
            "a secret in the store's bytes ({}…)",
            &s[..8]
        );
    }
}

#[test]
fn create_edit_and_delete_through_the_api() {
    let Some((emu, rt)) = ready() else { return };
    let _turn = rt.block_on(emulator_turn());
    let f = rt.block_on(fake(Some(&emu), 0, &ALL_HELD));
    let prefix = unique("api");
    let config = sentinel_config(&f, &prefix);
    let server = Server::start("bigquery-life", &[]);

    // autoBootstrap: true is refused, naming the field.
    let r = server.admin("POST", "/integrations", Some(&payload(true, &config)));
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(v["details"][0]["path"], "autoBootstrap", "{v}");
    assert!(!r.body.contains(SENTINEL));

    // A key file that does not parse: 400 at config.credential, not quoted.
    let mut broken = config.clone();
    broken["credential"] = json!(format!("{{\"private_key\": \"{SENTINEL}\""));
    let r = server.admin("POST", "/integrations", Some(&payload(false, &broken)));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.json()["details"][0]["path"],
        "config.credential",
        "{}",
        r.body
    );
    assert!(!r.body.contains(SENTINEL), "{}", r.body);

    // Create: validated, then the dataset made.
    let (id, v) = server.operate(
        "POST",
        "/integrations",
        Some(&payload(false, &config)),
        None,
        None,
        SENTINEL,
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    assert!(v["config"].get("credential").is_none(), "{v}");
    assert_eq!(
        v["config"]["serviceAccount"],
        keys::email("junction", PROJECT).as_str()
    );
    let snap = rt.block_on(snapshot(&emu, &prefix));
    assert_eq!(snap.keys().collect::<Vec<_>>(), [&prefix], "{snap:#?}");
    assert_eq!(snap[&prefix]["dataset"]["labels"]["managed-by"], "junction");

    // PUT without the credential (kept from the store): the dataset moves.
    let moved = format!("{prefix}_moved");
    let mut edited = config.clone();
    edited.as_object_mut().unwrap().remove("credential");
    edited["dataset"] = json!(moved);
    let (_, v) = server.operate(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&payload(false, &edited)),
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "enabled", "{v}\n{}", server.logs());
    let snap = rt.block_on(snapshot(&emu, &prefix));
    assert_eq!(snap.keys().collect::<Vec<_>>(), [&moved], "{snap:#?}");

    // Delete: the dataset goes.
    let (_, v) = server.operate(
        "DELETE",
        &format!("/integrations/{id}"),
        None,
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert!(rt.block_on(snapshot(&emu, &prefix)).is_empty());
    assert!(f.issued() >= 1);
    assert_nothing_leaked(&server, &f);
}

#[test]
fn a_fault_during_create_leaves_create_error_and_nothing_in_bigquery() {
    let Some((emu, rt)) = ready() else { return };
    // Fault injection comes with the test build that links the synthetic platform.
    if !binary_has_platform("Synthetic") {
        return;
    }
    let _turn = rt.block_on(emulator_turn());
    let f = rt.block_on(fake(Some(&emu), 0, &ALL_HELD));
    let prefix = unique("apifault");
    let config = sentinel_config(&f, &prefix);
    let server = Server::start("bigquery-fault", &[]);
    let (id, v) = server.operate(
        "POST",
        "/integrations",
        Some(&payload(false, &config)),
        Some("create-setup-table"),
        None,
        SENTINEL,
    );
    assert_eq!(v["status"], "createError", "{v}\n{}", server.logs());
    server.assert_failed_at(id, "create-setup-table", SENTINEL);
    assert!(rt.block_on(snapshot(&emu, &prefix)).is_empty());
    // Deleting it: nothing of Junction's is there to remove.
    let (_, v) = server.operate(
        "DELETE",
        &format!("/integrations/{id}"),
        None,
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "deleted", "{v}\n{}", server.logs());
    assert_nothing_leaked(&server, &f);
}
