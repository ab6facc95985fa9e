use junction_core::config::{
    from_json_at, join_secrets, keep_omitted_secrets, split_secrets, without_secrets,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Cfg {
    host: String,
    port: u16,
    impersonation: Imp,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Imp {
    enabled: bool,
    role: String,
}

fn err(v: serde_json::Value) -> (String, String) {
    let e = from_json_at::<Cfg>(&v, "config").unwrap_err();
    (e.0[0].path.clone(), e.0[0].message.clone())
}

#[test]
fn errors_carry_the_path_of_the_bad_field() {
    let ok = json!({"host": "h", "port": 1, "impersonation": {"enabled": true, "role": "r"}});
    assert!(from_json_at::<Cfg>(&ok, "config").is_ok());
    assert_eq!(
        err(json!({"host": "h", "port": "x", "impersonation": {"enabled": true, "role": "r"}})).0,
        "config.port"
    );
    assert_eq!(
        err(json!({"host": "h", "port": 70000, "impersonation": {"enabled": true, "role": "r"}})).0,
        "config.port"
    );
    assert_eq!(
        err(json!({"host": "h", "port": 1, "impersonation": {"enabled": 1, "role": "r"}})).0,
        "config.impersonation.enabled"
    );
    assert_eq!(
        err(json!({"host": "h", "port": 1, "impersonation": {"enabled": true}})).0,
        "config.impersonation.role"
    );
    let (path, message) = err(
        json!({"host": "h", "port": 1, "bogus": 2, "impersonation": {"enabled": true, "role": "r"}}),
    );
    assert_eq!(path, "config.bogus");
    assert!(message.contains("unknown field"), "{message}");
    assert_eq!(err(json!("text")).0, "config");
}

#[test]
fn secrets_split_join_strip_and_survive_partial_updates() {
    let paths = vec!["/password".to_owned(), "/key/content".to_owned()];
    let full = json!({"user": "u", "password": "p", "key": {"name": "k", "content": "c"}});
    let (public, secrets) = split_secrets(&full, &paths);
    assert_eq!(public, json!({"user": "u", "key": {"name": "k"}}));
    assert_eq!(secrets.len(), 2);
    assert_eq!(join_secrets(&public, &secrets), full);
    assert_eq!(without_secrets(&full, &paths), public);

    let mut update = json!({"user": "v", "key": {"name": "k2"}});
    let filled = keep_omitted_secrets(&mut update, &full, &paths);
    assert_eq!(
        filled,
        paths
            .iter()
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        update,
        json!({"user": "v", "password": "p", "key": {"name": "k2", "content": "c"}})
    );

    // An update that drops the whole object drops its secret too.
    let mut update = json!({"user": "v", "password": "new"});
    keep_omitted_secrets(&mut update, &full, &paths);
    assert_eq!(update, json!({"user": "v", "password": "new"}));
}
