//! The configuration: the key file parsed at config time, its refusals at
//! `config.credential` that never quote the key, and the other fields' rules.

use crate::keys::{self, PROJECT};
use crate::support::{self, config, errors, paths, typed};
use junction_testkit::SENTINEL;
use serde_json::{Value, json};

const TOKEN: &str = "http://127.0.0.1:9/token";

fn with_credential(credential: Value) -> Value {
    let mut c = config(0, TOKEN, "meta");
    c["credential"] = credential;
    c
}

/// A key file with `f` applied to its fields.
fn edited_key(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut v = keys::key_file_value(0, PROJECT, &keys::email("junction", PROJECT), TOKEN);
    f(v.as_object_mut().unwrap());
    with_credential(Value::String(v.to_string()))
}

/// Every refusal is at `config.credential`, names what is wrong, and holds
/// no part of the key file.
fn assert_refused(c: &Value, says: &str) {
    let errs = errors(c);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (path, message) = &errs[0];
    assert_eq!(path, "config.credential");
    assert!(message.contains(says), "{message}");
    assert!(!message.contains(SENTINEL), "{message}");
    for line in keys::key_material(0) {
        assert!(!message.contains(&line[..16]), "{message}");
    }
}

#[test]
fn the_key_file_gives_the_project_and_the_service_account() {
    let c = typed(&config(0, TOKEN, "meta"));
    assert_eq!(c.project_id(), PROJECT);
    assert_eq!(
        c.credential.client_email(),
        keys::email("junction", PROJECT)
    );
    assert_eq!(c.credential.private_key_id(), Some("test-key-0"));
    // Not named in the payload: filled in from the key file.
    assert_eq!(
        c.service_account.as_deref(),
        Some(keys::email("junction", PROJECT).as_str())
    );
    assert_eq!(c.token_uri(), TOKEN, "the key file's token_uri");
    assert_eq!(c.endpoint(), "https://bigquery.googleapis.com");
    assert_eq!(
        c.resource_manager_endpoint(),
        "https://cloudresourcemanager.googleapis.com"
    );
    assert_eq!(c.role_name(), "projects/junction-test/roles/junction_test");
    assert_eq!(c.timeout_seconds, 5);
    assert!(junction_bigquery::testing::config::validate(&c).is_ok());
}

#[test]
fn overrides_win_over_the_key_file_and_the_defaults() {
    let mut c = config(0, TOKEN, "meta");
    c["tokenUri"] = json!("http://127.0.0.1:8/other-token/");
    c["endpoint"] = json!("http://127.0.0.1:7/");
    c["resourceManagerEndpoint"] = json!("https://crm.example.test");
    c["serviceAccount"] = json!("someone@else.iam.gserviceaccount.com");
    let t = typed(&c);
    assert_eq!(t.token_uri(), "http://127.0.0.1:8/other-token/");
    assert_eq!(t.endpoint(), "http://127.0.0.1:7");
    assert_eq!(t.resource_manager_endpoint(), "https://crm.example.test");
    // Kept as given: the non-matching test compares it with the key file.
    assert_eq!(
        t.service_account.as_deref(),
        Some("someone@else.iam.gserviceaccount.com")
    );
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
}

#[test]
fn the_default_token_uri_is_googles_when_the_key_names_none() {
    let c = edited_key(|f| {
        f.remove("token_uri");
    });
    assert_eq!(typed(&c).token_uri(), "https://oauth2.googleapis.com/token");
}

#[test]
fn a_key_file_given_as_an_object_is_taken_too() {
    let c = with_credential(keys::key_file_value(
        0,
        PROJECT,
        &keys::email("junction", PROJECT),
        TOKEN,
    ));
    assert_eq!(typed(&c).project_id(), PROJECT);
}

#[test]
fn a_key_file_that_is_not_json_is_refused_without_quoting_it() {
    assert_refused(
        &with_credential(json!(format!("{SENTINEL} not json"))),
        "is not valid JSON",
    );
    // The key itself pasted, instead of the key file.
    assert_refused(
        &with_credential(json!(keys::key(0).pem.clone())),
        "is not valid JSON",
    );
    // Cut off half way through the private key.
    let whole = keys::key_file(0, PROJECT, &keys::email("junction", PROJECT), TOKEN);
    let cut = &whole[..whole.find("PRIVATE KEY-----").unwrap() + 200];
    assert_refused(&with_credential(json!(cut)), "is not valid JSON");
    assert_refused(&with_credential(json!(["a"])), "as a string");
    assert_refused(&with_credential(json!(7)), "as a string");
    assert_refused(&with_credential(json!("[1, 2]")), "must be a JSON object");
}

#[test]
fn a_key_file_without_a_field_names_the_field() {
    for field in ["client_email", "private_key", "project_id"] {
        let c = edited_key(|f| {
            f.remove(field);
        });
        assert_refused(&c, &format!("lacks {field}"));
    }
    let c = edited_key(|f| {
        f.remove("client_email");
        f.remove("project_id");
    });
    assert_refused(&c, "lacks project_id, client_email");
    let c = edited_key(|f| {
        f.insert("client_email".into(), json!(12));
    });
    assert_refused(&c, "client_email that is not a non-empty string");
    let c = edited_key(|f| {
        f.insert("project_id".into(), json!("Has Spaces/and/slashes"));
    });
    assert_refused(&c, "not a Google Cloud project id");
}

#[test]
fn a_key_that_does_not_parse_is_refused_without_quoting_it() {
    let garbage = format!("-----BEGIN PRIVATE KEY-----\n{SENTINEL}\n-----END PRIVATE KEY-----\n");
    let c = edited_key(|f| {
        f.insert("private_key".into(), json!(garbage));
    });
    assert_refused(&c, "not an RSA private key in PKCS#8 PEM form");
    // Valid base64, not a key.
    let c = edited_key(|f| {
        f.insert(
            "private_key".into(),
            json!("-----BEGIN PRIVATE KEY-----\nU0VOVElORUwtNWYyYzllLWRvLW5vdC1sZWFr\n-----END PRIVATE KEY-----\n"),
        );
    });
    assert_refused(&c, "not an RSA private key");
    // A key with a line damaged.
    let mut lines: Vec<String> = keys::key(0).pem.lines().map(str::to_owned).collect();
    lines[5] = lines[5].chars().rev().collect();
    let damaged = lines.join("\n");
    let c = edited_key(|f| {
        f.insert("private_key".into(), json!(damaged));
    });
    assert_refused(&c, "not an RSA private key");
    // No PEM armour at all.
    let c = edited_key(|f| {
        f.insert("private_key".into(), json!(SENTINEL));
    });
    assert_refused(&c, "not an RSA private key");
}

#[test]
fn a_key_file_of_another_kind_is_refused() {
    let c = edited_key(|f| {
        f.insert("type".into(), json!("authorized_user"));
    });
    assert_refused(&c, "is not a service-account key file");
}

#[test]
fn the_key_is_in_no_debug_and_serialises_redacted() {
    let mut c = config(0, TOKEN, "meta");
    // A key file carrying the sentinel (a field Google's files do not have).
    let mut file = keys::key_file_value(0, PROJECT, &keys::email("junction", PROJECT), TOKEN);
    file["junction_sentinel"] = json!(SENTINEL);
    c["credential"] = json!(file.to_string());
    let t = typed(&c);
    let debug = format!("{t:?}");
    let public = serde_json::to_string(&t).unwrap();
    for out in [&debug, &public] {
        assert!(!out.contains(SENTINEL), "{out}");
        for line in keys::key_material(0) {
            assert!(!out.contains(&line), "{out}");
        }
    }
    assert!(public.contains("\"credential\":\"[redacted]\""), "{public}");
    // The store's path: the file as given, which parses back to the same key.
    let full = junction_core::secret::with_secrets_exposed(|| serde_json::to_value(&t)).unwrap();
    assert_eq!(full["credential"], c["credential"]);
    let again = typed(&full);
    assert_eq!(again.project_id(), PROJECT);
}

#[test]
fn the_dataset_suffix_must_start_with_an_underscore() {
    for bad in ["secureView", "", "-x", "_a-b", "_a b"] {
        let mut c = config(0, TOKEN, "meta");
        c["datasetSuffix"] = json!(bad);
        assert_eq!(paths(&c), ["config.datasetSuffix"], "{bad:?}");
    }
    let mut c = config(0, TOKEN, "meta");
    c["datasetSuffix"] = json!("_");
    assert!(paths(&c).is_empty());
    let mut c = config(0, TOKEN, &"d".repeat(1020));
    c["datasetSuffix"] = json!("_secure");
    assert_eq!(paths(&c), ["config.datasetSuffix"]);
}

#[test]
fn every_other_bad_field_is_named_by_its_path() {
    let mut c = config(0, TOKEN, "bad-dataset");
    c["role"] = json!("x");
    c["location"] = json!("us east");
    c["endpoint"] = json!("ftp://x");
    c["resourceManagerEndpoint"] = json!("http://crm.example.test");
    c["tokenUri"] = json!("https://u:p@example.test/token");
    c["timeoutSeconds"] = json!(0);
    c["serviceAccount"] = json!("a b");
    assert_eq!(
        paths(&c),
        [
            "config.role",
            "config.dataset",
            "config.location",
            "config.serviceAccount",
            "config.endpoint",
            "config.resourceManagerEndpoint",
            "config.tokenUri",
            "config.timeoutSeconds",
        ]
    );
    let mut c = config(0, TOKEN, "meta");
    c["unexpected"] = json!(1);
    assert_eq!(paths(&c), ["config.unexpected"]);
    let mut c = config(0, TOKEN, "meta");
    c.as_object_mut().unwrap().remove("location");
    assert_eq!(paths(&c), ["config.location"]);
}

#[test]
fn the_key_files_token_uri_is_checked_when_it_is_used() {
    // Plain HTTP to a remote host would carry the JWT and the token in clear.
    let c = edited_key(|f| {
        f.insert(
            "token_uri".into(),
            json!("http://oauth2.example.test/token"),
        );
    });
    let errs = errors(&c);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "config.credential");
    assert!(errs[0].1.starts_with("has a token_uri that"), "{errs:?}");
    // Not when an override replaces it.
    let mut c = c;
    c["tokenUri"] = json!("https://oauth2.example.test/token");
    assert!(errors(&c).is_empty());
}

#[test]
fn loopback_http_is_taken_for_stand_ins() {
    for url in [
        "http://127.0.0.1:1234",
        "http://localhost:1/x",
        "http://[::1]:80",
        "https://bigquery-example.p.googleapis.com",
    ] {
        let mut c = config(0, TOKEN, "meta");
        c["endpoint"] = json!(url);
        assert!(support::errors(&c).is_empty(), "{url}");
    }
}
