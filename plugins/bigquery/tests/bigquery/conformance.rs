//! The testkit's conformance suite, registration, the descriptor, and the
//! key file kept out of every output but the stored configuration.

use crate::keys::{self, PROJECT};
use crate::support::config;
use junction_bigquery::BigQuery;
use junction_core::{BootstrapModes, DynPlatform, Registry, ScriptKind};
use junction_testkit::SENTINEL;
use serde_json::json;

/// The suite replaces each secret with the sentinel *string*; a key file is
/// parsed when the config is read, so the sentinel alone is refused (at
/// `config.credential`, as it must be). Those two findings are the only ones
/// allowed; the secret checks they stand for run below with a key file that
/// carries the sentinel.
#[test]
fn conforms_to_the_testkit_suite() {
    let findings = junction_testkit::conformance::check_typed(&BigQuery::platform());
    let expected = "the example config with sentinel secrets does not parse: config.credential: is not valid JSON (line 1, column 1): give the whole content of the service-account key file";
    let other: Vec<&String> = findings.iter().filter(|f| *f != expected).collect();
    assert!(other.is_empty(), "{findings:#?}");
    assert_eq!(findings.len(), 2, "{findings:#?}");
}

/// A real key file with the sentinel in it (in a field of its own, and as the
/// key's id), as the suite would check a plain secret.
fn sentinel_config() -> serde_json::Value {
    let mut file = keys::key_file_value(
        0,
        PROJECT,
        &keys::email("junction", PROJECT),
        "https://oauth2.googleapis.com/token",
    );
    file["private_key_id"] = json!(SENTINEL);
    file["junction_sentinel"] = json!(SENTINEL);
    let mut c = config(0, "https://oauth2.googleapis.com/token", "meta");
    c["credential"] = json!(file.to_string());
    c
}

#[test]
fn the_key_file_is_kept_for_the_store_and_nowhere_else() {
    let p = BigQuery::platform();
    let d = DynPlatform::descriptor(&p);
    assert_eq!(d.secret_paths, ["/credential"]);
    let c = sentinel_config();
    let parsed = DynPlatform::parse(&p, &c, false).unwrap();
    assert_eq!(parsed.full["credential"], c["credential"], "kept verbatim");
    let public = parsed.public.to_string();
    assert!(!public.contains(SENTINEL), "{public}");
    assert!(parsed.public.get("credential").is_none());
    for line in keys::key_material(0) {
        assert!(!public.contains(&line));
    }
    // What peers and responses see instead: the project and the account.
    assert_eq!(
        parsed.public["serviceAccount"],
        keys::email("junction", PROJECT).as_str()
    );
    assert_eq!(parsed.account_key, "junction-test/meta");
    let typed: junction_bigquery::BigQueryConfig =
        junction_core::config::from_json_at(&c, "config").unwrap();
    assert!(!format!("{typed:?}").contains(SENTINEL));
    assert!(!serde_json::to_string(&typed).unwrap().contains(SENTINEL));
}

#[test]
fn no_script_holds_key_material() {
    let p = BigQuery::platform();
    let c = sentinel_config();
    let mut moved = c.clone();
    moved["dataset"] = json!("meta2");
    moved["role"] = json!("junction_v2");
    for kind in [
        ScriptKind::Create,
        ScriptKind::Cleanup,
        ScriptKind::Edit,
        ScriptKind::Delete,
    ] {
        let script = DynPlatform::script(&p, kind, &moved, Some(&c)).unwrap();
        let text = script.text();
        assert!(!text.contains(SENTINEL), "{kind:?}: {text}");
        assert!(!text.contains("PRIVATE KEY"), "{kind:?}: {text}");
        for line in keys::key_material(0) {
            assert!(!text.contains(&line), "{kind:?}");
        }
        assert_eq!(script.language, "shell");
    }
}

#[test]
fn registers_itself_when_linked() {
    let registry = Registry::linked().expect("registry");
    assert!(registry.get("Google BigQuery").is_some(), "{registry:?}");
}

#[test]
fn descriptor_declares_the_contract_tests_in_order() {
    let d = DynPlatform::descriptor(&BigQuery::platform());
    assert_eq!(d.type_name, "Google BigQuery");
    assert_eq!(d.bootstrap_modes, BootstrapModes::ManualOnly);
    assert_eq!(d.bootstrap_version, 1);
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 12);
    assert_eq!(
        names[0],
        "Basic validation: connection can be made to BigQuery"
    );
    assert_eq!(names[6], "Initialize validation: [dataset - exists]");
    for c in &d.checks[4..] {
        assert_eq!(
            c.requires,
            ["Basic validation: connection can be made to BigQuery"]
        );
    }
    for c in &d.checks[1..4] {
        assert!(c.requires.is_empty(), "{c:?}");
    }
}

#[test]
fn auto_bootstrap_is_refused_with_its_path() {
    let c = config(0, "https://oauth2.googleapis.com/token", "meta");
    let e = DynPlatform::parse(&BigQuery::platform(), &c, true).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].path, "autoBootstrap");
    assert_eq!(
        e.0[0].message,
        "Google BigQuery integrations do not support autoBootstrap: true."
    );
}

#[test]
fn the_example_parses_and_its_key_says_it_is_published() {
    let p = BigQuery::platform();
    let d = DynPlatform::descriptor(&p);
    let parsed = DynPlatform::parse(&p, &d.example_config, false).unwrap();
    assert_eq!(parsed.account_key, "example-project/junction");
    let file: serde_json::Value =
        serde_json::from_str(d.example_config["credential"].as_str().unwrap()).unwrap();
    assert!(
        file["_comment"]
            .as_str()
            .unwrap()
            .starts_with("EXAMPLE ONLY")
    );
    assert_eq!(
        file["private_key_id"],
        "junction-example-key-published-not-secret"
    );
}
