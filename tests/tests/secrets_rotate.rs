//! `junction secrets rotate` on a stopped host's data directory: the new key
//! replaces the old, every stored secret still opens (an edit that keeps the
//! stored password succeeds), and a second run has nothing left to do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::Server;
use serde_json::json;

fn payload(label: &str) -> String {
    json!({"type": "Synthetic", "autoBootstrap": false,
        "config": {"account": "rot-1", "password": "pw-rotate-secret", "label": label, "installVersion": 1}})
    .to_string()
}

#[test]
fn rotation_re_encrypts_every_secret_and_the_host_reads_them_after() {
    let mut s = Server::start("rotate", &[]);
    let r = s.admin("POST", "/integrations", Some(&payload("one")));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(s.settle(id)["status"], "enabled");
    assert!(s.terminate().success());
    let key_file = s.data_dir.join("secret.key");
    let before = std::fs::read_to_string(&key_file).unwrap();
    let dir = s.data_dir.to_str().unwrap().to_owned();
    let out = s.cli(&["secrets", "rotate", "--data-dir", &dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Re-encrypted 1 stored value"));
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(before, after);
    assert!(!s.data_dir.join("secret.key.next").exists());
    s.restart();
    // The edit leaves the password out: the host opens the stored one.
    let edit = json!({"type": "Synthetic", "autoBootstrap": false,
        "config": {"account": "rot-1", "label": "two", "installVersion": 1}})
    .to_string();
    let (_, v) = s.operate(
        "PUT",
        &format!("/integrations/{id}"),
        Some(&edit),
        None,
        Some(id),
        "pw-rotate-secret",
    );
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["config"]["label"], "two");
    assert!(s.terminate().success());
    let again = s.cli(&["secrets", "rotate", "--data-dir", &dir]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("Re-encrypted 1 stored value"));
}
