//! The testkit's conformance suite, the descriptor, and the config rules with paths.

use junction_core::{DynPlatform, Platform, ScriptKind};
use junction_snowflake::Snowflake;
use junction_testkit::SENTINEL;
use serde_json::json;

#[test]
fn conforms() {
    junction_testkit::conformance::assert_conforms(&Snowflake::new());
}

#[test]
fn descriptor_declares_the_contract_tests_and_the_secrets() {
    let d = DynPlatform::descriptor(&Snowflake::new());
    assert_eq!(d.type_name, "Snowflake");
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Initial validation: basic connection test",
            "Initial validation: default warehouse access test",
            "Initial validation: table grants role prefix is unique",
            "Initial validation: validate access to privileged role",
            "Validate automatic bootstrap user grants",
            "Validate automatic: database does not exist",
            "Validate automatic: impersonation role does not exist",
        ]
    );
    for p in ["/password", "/privateKey/content", "/privateKeyPassword"] {
        assert!(
            d.secret_paths.contains(&p.to_owned()),
            "{:?}",
            d.secret_paths
        );
    }
}

#[test]
fn account_key_is_the_host() {
    let p = Snowflake::new();
    let parsed = p.parse(&p.example_config(), true).unwrap();
    assert_eq!(parsed.account_key, "example-account.snowflakecomputing.com");
}

fn errors(config: serde_json::Value) -> Vec<(String, String)> {
    match Snowflake::new().parse(&config, true) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|f| (f.path, f.message)).collect(),
    }
}

#[test]
fn bad_values_are_refused_with_their_paths() {
    let mut c = Snowflake::new().example_config();
    c["port"] = 0.into();
    c["endpoint"] = "http://example.com:80".into();
    c["tableGrants"]["rolePrefix"] = "BAD PREFIX".into();
    let e = errors(c);
    let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"config.port"), "{e:?}");
    assert!(paths.contains(&"config.endpoint"), "{e:?}");
    assert!(paths.contains(&"config.tableGrants.rolePrefix"), "{e:?}");

    let mut c = Snowflake::new().example_config();
    c["bogus"] = 1.into();
    assert_eq!(errors(c)[0].0, "config.bogus");

    let mut c = Snowflake::new().example_config();
    c.as_object_mut().unwrap().remove("password");
    assert_eq!(errors(c)[0].0, "config.password");
}

#[test]
fn encrypted_keys_need_private_key_password() {
    let mut c = Snowflake::new().example_config();
    c.as_object_mut().unwrap().remove("password");
    c["authenticationType"] = "keyPair".into();
    c["privateKey"] = json!({"keyName": "k", "content": format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\n{SENTINEL}\n-----END ENCRYPTED PRIVATE KEY-----\n")});
    let e = errors(c.clone());
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "config.privateKeyPassword");
    assert!(e[0].1.contains("is required"));
    assert!(!format!("{e:?}").contains(SENTINEL));
    c["privateKeyPassword"] = SENTINEL.into();
    assert!(errors(c.clone()).is_empty());
    // A PKCS#1 key is refused with its path and how to convert it.
    c["privateKey"]["content"] =
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----".into();
    let e = errors(c);
    assert_eq!(e[0].0, "config.privateKey.content");
    assert!(e[0].1.contains("openssl pkcs8 -topk8"));
}

#[test]
fn scripts_render_the_plans_with_quoted_names_and_no_password() {
    let p = Snowflake::new();
    let mut c = p.example_config();
    c["database"] = "MY\"DB".into();
    c["username"] = "MY_SYSTEM".into();
    c["role"] = "MY_ROLE".into();
    c["password"] = SENTINEL.into();
    let create = DynPlatform::script(&p, ScriptKind::Create, &c, None)
        .unwrap()
        .text();
    assert!(create.contains("CREATE DATABASE \"MY\"\"DB\";"), "{create}");
    assert!(
        create.contains("CREATE USER \"MY_SYSTEM\" PASSWORD = <SYSTEM_USER_PASSWORD>"),
        "{create}"
    );
    assert!(
        create.contains("GRANT ROLE \"MY_ROLE\" TO USER \"MY_SYSTEM\";"),
        "{create}"
    );
    assert!(
        create.contains(
            "INSERT INTO \"MY\"\"DB\".\"IMMUTA_SYSTEM\".\"BOOTSTRAP_VERSION\" (VERSION) VALUES (2);"
        ),
        "{create}"
    );
    assert!(!create.contains(SENTINEL));
    let delete = DynPlatform::script(&p, ScriptKind::Delete, &c, None)
        .unwrap()
        .text();
    assert!(delete.contains("DROP DATABASE \"MY\"\"DB\";"), "{delete}");
    assert!(delete.contains("DROP USER \"MY_SYSTEM\";"), "{delete}");
    let cleanup = DynPlatform::script(&p, ScriptKind::Cleanup, &c, None)
        .unwrap()
        .text();
    assert!(
        cleanup.contains("DROP DATABASE IF EXISTS \"MY\"\"DB\";"),
        "{cleanup}"
    );
    let mut new = c.clone();
    new["impersonation"]["role"] = "NEW_IMP".into();
    new["audit"]["enabled"] = true.into();
    let edit = DynPlatform::script(&p, ScriptKind::Edit, &new, Some(&c))
        .unwrap()
        .text();
    assert!(
        edit.contains("ALTER ROLE \"IMMUTA_IMPERSONATION\" RENAME TO \"NEW_IMP\";"),
        "{edit}"
    );
    assert!(
        edit.contains("GRANT IMPORTED PRIVILEGES ON DATABASE \"SNOWFLAKE\" TO ROLE \"MY_ROLE\";"),
        "{edit}"
    );
    assert!(DynPlatform::script(&p, ScriptKind::InitialCreate, &c, None).is_err());
}
