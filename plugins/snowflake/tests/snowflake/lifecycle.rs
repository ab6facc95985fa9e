//! Create, edit, migrate and delete through the typed `Platform` face against
//! `fake_snowflake` (fakesnow cannot create roles, users or grants), with
//! faults injected at a middle step of each operation: the operation fails
//! and the account's objects are exactly what they were before.

use crate::fake_snowflake::{FakeSnowflake, WAREHOUSE, q};
use crate::support::{self, op, op_fault, unique};
use junction_core::{OpError, Platform};
use junction_snowflake::testing::{Credentials, Session};
use junction_snowflake::{CURRENT_VERSION, step};
use junction_snowflake::{PrivilegedCredentials, Snowflake, SnowflakeConfig};
use serde_json::json;

const PW: &str = "admin-password";

fn privileged() -> PrivilegedCredentials {
    serde_json::from_value(json!({"username": "ADMIN", "password": PW})).unwrap()
}

fn assert_failed_at(err: &OpError, step: &str) {
    match err {
        OpError::Failed(m) => {
            assert!(
                m.contains(&format!("step {step} failed: injected fault")),
                "{m}"
            );
            assert!(m.contains("every step before it was rolled back"), "{m}");
        }
        other => panic!("expected a failure at {step}, got {other:?}"),
    }
}

fn full_config(server: &FakeSnowflake, db: &str) -> serde_json::Value {
    let mut c = support::fake_config(server, PW, db);
    c["impersonation"] = json!({"enabled": true, "role": format!("{db}_IMP")});
    c["tableGrants"] = json!({"enabled": true, "rolePrefix": "JT"});
    c
}

async fn system_session(
    c: &SnowflakeConfig,
) -> Result<Session, junction_snowflake::testing::SfError> {
    Session::open(c, Credentials::of(c)).await
}

#[tokio::test]
async fn fake_snowflake_create_makes_every_object_and_the_system_user_logs_in() {
    let server = FakeSnowflake::start(PW).await;
    // Quotes and a semicolon in the name: they must end up as a name, never as SQL.
    let db = format!("{}_Q\"; DROP USER ADMIN; --", unique("create"));
    let out = Platform::create(
        &Snowflake::new(),
        &op(true, 0),
        support::typed(&full_config(&server, &db)),
    )
    .await
    .expect("create");
    assert_eq!(out.bootstrap_version, CURRENT_VERSION);
    let stored = out.config;
    let (sys, role) = (format!("{db}_SYSTEM"), format!("{db}_SYSTEM_ROLE"));
    assert_eq!(stored.username, sys);
    assert_eq!(stored.role, role);
    let password = stored.password.clone().unwrap();
    assert_ne!(password.expose(), PW, "the privileged password is not kept");
    assert_eq!(password.expose().len(), 32);
    let snap = server.snapshot();
    let has = |line: &str| snap.iter().any(|l| l == line);
    assert!(has(&format!("database {}", q(&db))), "{snap:#?}");
    for s in [
        "IMMUTA_SYSTEM",
        "IMMUTA_PROCEDURES",
        "IMMUTA_FUNCTIONS",
        "IMMUTA_POLICIES",
    ] {
        assert!(has(&format!("schema {}.{}", q(&db), q(s))), "{snap:#?}");
        assert!(
            has(&format!(
                "grant ALL PRIVILEGES ON SCHEMA {}.{} TO ROLE {}",
                q(&db),
                q(s),
                q(&role)
            )),
            "{snap:#?}"
        );
    }
    assert!(has(&format!("role {}", q(&role))));
    assert!(has(&format!("role {}", q(&format!("{db}_IMP")))));
    assert!(has(&format!("grant ROLE {} TO USER {}", q(&role), q(&sys))));
    assert!(has(&format!(
        "grant ROLE {} TO ROLE {}",
        q(&role),
        q("ACCOUNTADMIN")
    )));
    assert!(has(&format!(
        "grant USAGE ON WAREHOUSE {} TO ROLE {}",
        q(WAREHOUSE),
        q(&role)
    )));
    assert!(has(&format!(
        "grant APPLY MASKING POLICY ON ACCOUNT TO ROLE {}",
        q(&role)
    )));
    assert!(has(&format!(
        "grant APPLY ROW ACCESS POLICY ON ACCOUNT TO ROLE {}",
        q(&role)
    )));
    assert!(has(&format!(
        "grant CREATE ROLE ON ACCOUNT TO ROLE {}",
        q(&role)
    )));
    assert!(has(&format!(
        "grant ROLE {} TO ROLE {}",
        q(&format!("{db}_IMP")),
        q(&role)
    )));
    assert!(
        !snap.iter().any(|l| l.contains("IMPORTED PRIVILEGES")),
        "audit is off"
    );
    assert!(
        snap.iter()
            .any(|l| l.starts_with(&format!("rows {}.", q(&db))) && l.ends_with("[2]")),
        "{snap:#?}"
    );
    assert!(
        server.with(|s| s.users.contains_key("ADMIN")),
        "the name did not run as SQL"
    );

    // The system user logs in with the generated password, in its role.
    let mut s = system_session(&stored).await.expect("system user logs in");
    s.query(&format!("USE ROLE {}", q(&role))).await.unwrap();
    assert_eq!(
        junction_snowflake::testing::recorded_version(&mut s, &db)
            .await
            .unwrap(),
        CURRENT_VERSION
    );
    s.close().await;

    // A manual create with those credentials finds the set-up and its version.
    let out = Platform::create(&Snowflake::new(), &op(false, 0), stored.clone())
        .await
        .expect("manual create");
    assert_eq!(out.bootstrap_version, CURRENT_VERSION);
}

#[tokio::test]
async fn fake_snowflake_lifecycle_with_faults_leaves_objects_as_they_were() {
    let server = FakeSnowflake::start(PW).await;
    server.add_object(format!("warehouse {}", q("OTHER_WH")), "ACCOUNTADMIN");
    let db = unique("life");
    let initial = server.snapshot();
    let v1 = Snowflake::installing_version(1);
    let config = full_config(&server, &db);

    // Create, failing at a middle step, then for real.
    let err = Platform::create(
        &v1,
        &op_fault(true, 0, step::GRANT_WAREHOUSE),
        support::typed(&config),
    )
    .await
    .unwrap_err();
    assert_failed_at(&err, step::GRANT_WAREHOUSE);
    assert_eq!(server.snapshot(), initial);
    let stored = Platform::create(&v1, &op(true, 0), support::typed(&config))
        .await
        .expect("create")
        .config;
    let created = server.snapshot();
    assert_ne!(created, initial);

    // Edit with privileged credentials: another warehouse, audit on, the
    // impersonation role renamed. Failing at a middle step, then for real.
    let mut new = support::typed(&config);
    new.warehouse = "OTHER_WH".into();
    new.audit.enabled = true;
    new.impersonation.role = format!("{db}_IMP2");
    let err = Platform::edit(
        &v1,
        &op_fault(true, 1, step::REVOKE_OLD_WAREHOUSE),
        stored.clone(),
        new.clone(),
    )
    .await
    .unwrap_err();
    assert_failed_at(&err, step::REVOKE_OLD_WAREHOUSE);
    assert_eq!(server.snapshot(), created);
    let stored = Platform::edit(&v1, &op(true, 1), stored, new)
        .await
        .expect("edit")
        .config;
    assert_eq!(
        stored.username,
        format!("{db}_SYSTEM"),
        "the system user stays stored"
    );
    let edited = server.snapshot();
    let role = format!("{db}_SYSTEM_ROLE");
    assert!(edited.contains(&format!(
        "grant USAGE ON WAREHOUSE {} TO ROLE {}",
        q("OTHER_WH"),
        q(&role)
    )));
    assert!(!edited.contains(&format!(
        "grant USAGE ON WAREHOUSE {} TO ROLE {}",
        q(WAREHOUSE),
        q(&role)
    )));
    assert!(edited.contains(&format!(
        "grant IMPORTED PRIVILEGES ON DATABASE {} TO ROLE {}",
        q("SNOWFLAKE"),
        q(&role)
    )));
    assert!(edited.contains(&format!("role {}", q(&format!("{db}_IMP2")))));

    // A password rotation as the system user itself.
    let mut rotate = stored.clone();
    rotate.password = Some("Rotated-Password-42".to_owned().into());
    let stored = Platform::edit(&v1, &op(true, 1), stored, rotate)
        .await
        .expect("rotation")
        .config;
    assert_eq!(
        stored.password.as_ref().unwrap().expose(),
        "Rotated-Password-42"
    );
    system_session(&stored)
        .await
        .expect("the new password works")
        .close()
        .await;
    let rotated = server.snapshot();

    // Migrate 1 → 2, failing at its middle step, then for real.
    let err = Platform::migrate(
        &Snowflake::new(),
        &op_fault(true, 1, step::GRANT_TABLE_GRANT_ROLES),
        stored.clone(),
    )
    .await
    .unwrap_err();
    assert_failed_at(&err, step::GRANT_TABLE_GRANT_ROLES);
    assert_eq!(server.snapshot(), rotated);
    let err = Platform::migrate(
        &Snowflake::new(),
        &op_fault(true, 1, "record-version-2"),
        stored.clone(),
    )
    .await
    .unwrap_err();
    assert_failed_at(&err, "record-version-2");
    assert_eq!(server.snapshot(), rotated);
    let out = Platform::migrate(&Snowflake::new(), &op(true, 1), stored)
        .await
        .expect("migrate");
    assert_eq!(out.bootstrap_version, 2);
    let stored = out.config;
    let migrated = server.snapshot();
    assert!(migrated.iter().any(|l| l
        == &format!(
            "table {}.{}.{}",
            q(&db),
            q("IMMUTA_SYSTEM"),
            q("TABLE_GRANT_ROLES")
        )));
    assert!(
        migrated
            .iter()
            .any(|l| l.starts_with(&format!("rows {}.", q(&db))) && l.ends_with("[2]"))
    );

    // Delete with privileged credentials, failing at a middle step, then for real.
    let err = Platform::delete(
        &Snowflake::new(),
        &op_fault(true, 2, "undo-create-system-user"),
        stored.clone(),
        Some(privileged()),
    )
    .await
    .unwrap_err();
    assert_failed_at(&err, "undo-create-system-user");
    assert_eq!(server.snapshot(), migrated);
    system_session(&stored)
        .await
        .expect("the rollback re-created the user with its password")
        .close()
        .await;
    Platform::delete(&Snowflake::new(), &op(true, 2), stored, Some(privileged()))
        .await
        .expect("delete");
    assert_eq!(server.snapshot(), initial);
}

#[tokio::test]
async fn fake_snowflake_create_failing_at_a_real_error_drops_the_database() {
    let server = FakeSnowflake::start(PW).await;
    let db = unique("realfail");
    let before = server.snapshot();
    // As on fakesnow: CREATE ROLE fails (here: insufficient privileges).
    server.with(|s| s.fail_on = Some("CREATE ROLE".into()));
    let err = Platform::create(
        &Snowflake::new(),
        &op(true, 0),
        support::typed(&full_config(&server, &db)),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("step create-system-role failed") && msg.contains("Insufficient privileges"),
        "{msg}"
    );
    assert!(
        msg.contains("every step before it was rolled back"),
        "{msg}"
    );
    assert_eq!(server.snapshot(), before);
    let statements = server.statements();
    assert_eq!(
        statements.last().map(String::as_str),
        Some(format!("DROP DATABASE {}", q(&db)).as_str())
    );
}

#[tokio::test]
async fn fake_snowflake_delete_needs_privileged_credentials_and_cleans_up_a_failed_create() {
    let server = FakeSnowflake::start(PW).await;
    let db = unique("del");
    let config = support::typed(&full_config(&server, &db));
    let err = Platform::delete(&Snowflake::new(), &op(true, 1), config.clone(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload."));
    // A create that stopped with objects left: cleanup drops whatever exists.
    server.with(|s| {
        for o in [
            format!("database {}", q(&db)),
            format!("role {}", q(&format!("{db}_SYSTEM_ROLE"))),
        ] {
            s.objects.insert(o.clone());
            s.owners.insert(o, "ACCOUNTADMIN".into());
        }
    });
    Platform::delete(
        &Snowflake::new(),
        &op(true, 0),
        config.clone(),
        Some(privileged()),
    )
    .await
    .expect("cleanup");
    let snap = server.snapshot();
    assert!(!snap.iter().any(|l| l.contains(&db)), "{snap:#?}");
    // Manual set-up: Junction touches nothing.
    let n = server.statements().len();
    Platform::delete(&Snowflake::new(), &op(false, 1), config, None)
        .await
        .expect("manual delete");
    assert_eq!(server.statements().len(), n);
}

/// Runs a manual script as the admin, the way an operator would paste it.
async fn run_script(server: &FakeSnowflake, script: &junction_core::Script, password: &str) {
    let admin = support::typed(&support::fake_config(server, PW, "UNUSED"));
    let s = Session::open(&admin, Credentials::of(&admin))
        .await
        .unwrap();
    s.query("USE ROLE \"ACCOUNTADMIN\"").await.unwrap();
    for line in script.text().lines() {
        if line.starts_with("--") || line.trim().is_empty() {
            continue;
        }
        let sql = line
            .trim_end_matches(';')
            .replace("<SYSTEM_USER_PASSWORD>", &format!("'{password}'"));
        s.query(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    s.close().await;
}

#[tokio::test]
async fn fake_snowflake_manual_scripts_set_up_and_tear_down() {
    use junction_core::{DynPlatform, ScriptKind};
    let server = FakeSnowflake::start(PW).await;
    let initial = server.snapshot();
    let db = unique("manual");
    let mut config = full_config(&server, &db);
    config["username"] = format!("{db}_SVC").into();
    config["role"] = format!("{db}_SVC_ROLE").into();
    config["password"] = "Manual-Password-1".into();
    let p = Snowflake::new();
    let create = DynPlatform::script(&p, ScriptKind::Create, &config, None).unwrap();
    assert!(!create.text().contains("Manual-Password-1"));
    run_script(&server, &create, "Manual-Password-1").await;
    // Junction finds the manual set-up with the system user's credentials.
    let out = Platform::create(&p, &op(false, 0), support::typed(&config))
        .await
        .expect("manual create");
    assert_eq!(out.bootstrap_version, CURRENT_VERSION);
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(r.status, junction_core::TestStatus::Passed, "{r:?}");
    // The edit script renames the impersonation role.
    let mut new = config.clone();
    new["impersonation"]["role"] = format!("{db}_IMP_NEW").into();
    let edit = DynPlatform::script(&p, ScriptKind::Edit, &new, Some(&config)).unwrap();
    run_script(&server, &edit, "").await;
    assert!(
        server
            .snapshot()
            .contains(&format!("role {}", q(&format!("{db}_IMP_NEW"))))
    );
    // The delete script leaves the account as it was.
    let delete = DynPlatform::script(&p, ScriptKind::Delete, &new, None).unwrap();
    run_script(&server, &delete, "").await;
    assert_eq!(server.snapshot(), initial);
}
