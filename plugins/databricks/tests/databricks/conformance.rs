//! The testkit's conformance suite, registration, the descriptor, and the
//! manual scripts (SQL, no credential in them).

use crate::support;
use junction_core::{DeleteCredentials, DynPlatform, OpError, Platform, Registry, ScriptKind};
use junction_databricks::Databricks;
use junction_testkit::SENTINEL;
use serde_json::json;

#[test]
fn conforms_to_the_testkit_suite() {
    junction_testkit::conformance::assert_conforms(&Databricks::new());
}

#[test]
fn registers_itself_when_linked() {
    let registry = Registry::linked().expect("registry");
    assert!(registry.get("Databricks").is_some(), "{registry:?}");
}

#[test]
fn descriptor_declares_the_secrets_the_contract_tests_and_no_delete_credentials() {
    let d = DynPlatform::descriptor(&Databricks::new());
    assert_eq!(d.type_name, "Databricks");
    assert_eq!(
        d.secret_paths,
        ["/oAuthClientConfig/clientSecret", "/token"]
    );
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Basic connection test",
            "Metastore validation",
            "Manual catalog setup"
        ]
    );
    assert_eq!(d.checks[2].requires, ["Basic connection test"]);
    assert_eq!(d.delete_credentials, DeleteCredentials::Never);
    assert_eq!(d.bootstrap_version, 2);
}

fn script_config(token: bool) -> serde_json::Value {
    let mut c = json!({
        "workspaceUrl": "dbc-1.cloud.databricks.com",
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationType": "oAuthM2M",
        "oAuthClientConfig": {"clientId": "app-id", "clientSecret": SENTINEL},
        "catalog": "junction",
        "groupPattern": {"deny": "exempt"},
        "audit": {"enabled": true}
    });
    if token {
        c["authenticationType"] = json!("token");
        c["token"] = json!(SENTINEL);
    }
    c
}

#[test]
fn scripts_are_sql_without_credentials() {
    let platform = Databricks::new();
    for token in [false, true] {
        let config = support::typed(&script_config(token));
        let mut old = config.clone();
        old.audit.enabled = false;
        for kind in [
            ScriptKind::Create,
            ScriptKind::Cleanup,
            ScriptKind::Edit,
            ScriptKind::Delete,
        ] {
            let script = Platform::script(&platform, kind, &config, Some(&old))
                .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(script.language, "sql");
            let text = script.text();
            assert!(!text.contains(SENTINEL), "{kind:?} shows a secret:\n{text}");
            assert!(
                text.starts_with(
                    "-- Run in a SQL warehouse of workspace dbc-1.cloud.databricks.com"
                ),
                "{text}"
            );
        }
    }
    let config = support::typed(&script_config(false));
    let create = Platform::script(&platform, ScriptKind::Create, &config, None)
        .unwrap()
        .text();
    assert!(
        create.contains("CREATE CATALOG `junction` COMMENT"),
        "{create}"
    );
    assert!(
        create.contains("CREATE TABLE `junction`.`junction_system`.`audit_events`"),
        "{create}"
    );
    assert!(
        create.contains("GRANT USE CATALOG, MANAGE, USE SCHEMA, MODIFY, SELECT, CREATE SCHEMA, CREATE TABLE ON CATALOG `junction` TO `app-id`;"),
        "{create}"
    );
    // A token's user is not known: the script says so and will not run as it is.
    let token = support::typed(&script_config(true));
    let create = Platform::script(&platform, ScriptKind::Create, &token, None)
        .unwrap()
        .text();
    assert!(create.contains("TO `<junction principal>`;"), "{create}");
    let mut old = config.clone();
    old.audit.enabled = false;
    let edit = Platform::script(&platform, ScriptKind::Edit, &config, Some(&old))
        .unwrap()
        .text();
    assert!(
        edit.contains("CREATE TABLE `junction`.`junction_system`.`audit_events`"),
        "{edit}"
    );
    assert!(edit.contains("ALTER SCHEMA `junction`.`junction_system` SET DBPROPERTIES ('junction.audit.enabled' = 'true');"), "{edit}");
    let delete = Platform::script(&platform, ScriptKind::Delete, &config, None)
        .unwrap()
        .text();
    assert!(
        delete
            .trim_end()
            .ends_with("DROP CATALOG IF EXISTS `junction` CASCADE;"),
        "{delete}"
    );
    for kind in [ScriptKind::InitialCreate, ScriptKind::PostCleanup] {
        assert!(matches!(
            Platform::script(&platform, kind, &config, None),
            Err(OpError::Unsupported(_))
        ));
    }
}
