//! Automatic create, edit, delete and migrate against the fake, with a fault
//! injected at every step of create and delete and at a middle step of edit
//! and migrate: each failed operation leaves the catalog as it found it.

use crate::support::{self, DB, auto_config, op, op_fault, system_user, typed};
use junction_core::Platform;
use junction_kit::Kit;
use junction_synapse::testing::bootstrap::{self, CURRENT_VERSION, Names, step};
use junction_synapse::{Synapse, SynapseConfig};

fn names<'a>(sys: &'a str, impersonation: bool) -> Names<'a> {
    Names {
        view_schema: "immuta_views",
        system_user: sys,
        impersonation_role: impersonation.then_some("immuta_imp"),
    }
}

/// What automatic set-up at the current version leaves: exactly these.
fn expected_after_create() -> Vec<String> {
    let sys = system_user();
    let mut v = vec![
        "login pool1_immuta_system admin=false".to_owned(),
        "login sqladmin admin=true".to_owned(),
        format!("pool1: user {sys} login={sys}"),
        "pool1: role immuta_imp".to_owned(),
        format!("pool1: Grant CONNECT ON DATABASE TO {sys}"),
        format!("pool1: Grant ALTER ON ROLE::immuta_imp TO {sys}"),
        "pool1: table immuta_system.audit_cursor (position) rows=[]".to_owned(),
        "pool1: table immuta_system.bootstrap_version (version) rows=[[Some(2)]]".to_owned(),
    ];
    for p in [
        "CREATE TABLE",
        "CREATE VIEW",
        "CREATE FUNCTION",
        "CREATE PROCEDURE",
    ] {
        v.push(format!("pool1: Grant {p} ON DATABASE TO {sys}"));
    }
    for s in [
        "immuta_views",
        "immuta_system",
        "immuta_functions",
        "immuta_procedures",
    ] {
        v.push(format!("pool1: schema {s} owner=dbo"));
        for p in [
            "ALTER",
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "EXECUTE",
            "REFERENCES",
        ] {
            v.push(format!("pool1: Grant {p} ON SCHEMA::{s} TO {sys}"));
        }
    }
    v.sort();
    v
}

async fn create(platform: &Kit<Synapse>, port: u16, impersonation: bool) -> SynapseConfig {
    Platform::create(
        platform,
        &op(true, 0),
        typed(&auto_config(port, impersonation)),
    )
    .await
    .expect("create succeeds")
    .config
}

#[tokio::test]
async fn create_makes_exactly_the_set_up_and_stores_the_system_user() {
    let fake = support::fake();
    let p = support::platform();
    let stored = create(&p, fake.port, true).await;
    assert_eq!(fake.snapshot(), expected_after_create());
    assert_eq!(stored.username, system_user());
    assert_eq!(
        stored.password.expose().len(),
        junction_kit::password::DEFAULT_LEN
    );
    assert!(fake.password_is(&system_user(), stored.password.expose()));
    // The stored credentials pass the manual-style checks: the system user
    // holds what the set-up granted.
    let mut c = serde_json::to_value(&stored).unwrap();
    c["password"] = stored.password.expose().clone().into();
    let r = support::validate(&p, &c, false).await;
    assert_eq!(
        r.status,
        junction_core::TestStatus::Passed,
        "{:?}",
        support::outcomes(&r)
    );
}

#[tokio::test]
async fn a_fault_at_any_create_step_rolls_everything_back() {
    let sys = system_user();
    let plan = bootstrap::create_plan(
        &names(&sys, true),
        &junction_core::Secret::new(String::new()),
        CURRENT_VERSION,
    );
    assert!(plan.steps.len() >= 14, "{} steps", plan.steps.len());
    let p = support::platform();
    for s in &plan.steps {
        let fake = support::fake();
        let before = fake.snapshot();
        let e = Platform::create(
            &p,
            &op_fault(true, 0, &s.id),
            typed(&auto_config(fake.port, true)),
        )
        .await
        .expect_err("the fault fails create");
        assert!(
            e.to_string().contains(&format!("step {} failed", s.id)),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("every step before it was rolled back"),
            "{e}"
        );
        assert_eq!(fake.snapshot(), before, "after a fault at {}", s.id);
    }
}

#[tokio::test]
async fn a_real_failure_half_way_rolls_back_too() {
    let fake = support::fake();
    // Someone else's schema of the same name: CREATE SCHEMA fails with 2714.
    fake.admin_batch(DB, "CREATE SCHEMA [immuta_functions]")
        .unwrap();
    let before = fake.snapshot();
    let e = Platform::create(
        &support::platform(),
        &op(true, 0),
        typed(&auto_config(fake.port, false)),
    )
    .await
    .expect_err("the existing schema fails create");
    let text = e.to_string();
    assert!(
        text.contains("step create-schema-immuta_functions failed: Msg 2714"),
        "{text}"
    );
    assert_eq!(fake.snapshot(), before);
}

fn privileged() -> junction_synapse::PrivilegedCredentials {
    serde_json::from_value(serde_json::json!({
        "username": crate::fake_synapse::ADMIN,
        "password": support::ADMIN_PW
    }))
    .unwrap()
}

#[tokio::test]
async fn a_fault_at_any_delete_step_restores_the_set_up_and_delete_removes_it() {
    let p = support::platform();
    let sys = system_user();
    let plan = bootstrap::create_plan(
        &names(&sys, true),
        &junction_core::Secret::new(String::new()),
        CURRENT_VERSION,
    )
    .reversed();
    let fake = support::fake();
    let initial = fake.snapshot();
    let stored = create(&p, fake.port, true).await;
    let after_create = fake.snapshot();
    for s in &plan.steps {
        let e = Platform::delete(
            &p,
            &op_fault(true, CURRENT_VERSION, &s.id),
            stored.clone(),
            Some(privileged()),
        )
        .await
        .expect_err("the fault fails delete");
        assert!(
            e.to_string().contains(&format!("step {} failed", s.id)),
            "{e}"
        );
        assert_eq!(fake.snapshot(), after_create, "after a fault at {}", s.id);
        // The login was re-created with the password Junction holds.
        assert!(
            fake.password_is(&sys, stored.password.expose()),
            "after a fault at {}",
            s.id
        );
    }
    Platform::delete(&p, &op(true, CURRENT_VERSION), stored, Some(privileged()))
        .await
        .expect("delete succeeds");
    assert_eq!(fake.snapshot(), initial);
}

#[tokio::test]
async fn delete_without_privileged_credentials_is_refused() {
    let fake = support::fake();
    let p = support::platform();
    let stored = create(&p, fake.port, false).await;
    let e = Platform::delete(&p, &op(true, CURRENT_VERSION), stored, None)
        .await
        .expect_err("refused");
    assert!(
        e.to_string()
            .contains(junction_kit::contract::DELETE_NEEDS_CREDENTIALS),
        "{e}"
    );
}

#[tokio::test]
async fn delete_after_a_create_that_never_finished_cleans_up_what_is_left() {
    let fake = support::fake();
    let p = support::platform();
    let initial = fake.snapshot();
    let sys = system_user();
    // A create that stopped after the schemas (its rollback also failed, say).
    fake.admin_batch(
        "master",
        &format!("CREATE LOGIN [{sys}] WITH PASSWORD = N'Left-over-1'"),
    )
    .unwrap();
    fake.admin_batch(DB, &format!("CREATE USER [{sys}] FROM LOGIN [{sys}]"))
        .unwrap();
    fake.admin_batch(DB, "CREATE SCHEMA [immuta_views]")
        .unwrap();
    fake.admin_batch(DB, "CREATE SCHEMA [immuta_system]")
        .unwrap();
    let mut config = typed(&auto_config(fake.port, true));
    config.username = sys.clone();
    Platform::delete(&p, &op(true, 0), config, Some(privileged()))
        .await
        .expect("cleanup succeeds");
    assert_eq!(fake.snapshot(), initial);
}

#[tokio::test]
async fn edit_enables_renames_and_disables_impersonation_and_a_middle_fault_rolls_back() {
    let fake = support::fake();
    let p = support::platform();
    let stored = create(&p, fake.port, false).await;
    let without = fake.snapshot();
    // New config with privileged credentials and impersonation on.
    let with_priv = |imp: serde_json::Value| {
        let mut c = auto_config(fake.port, false);
        c["impersonation"] = imp;
        typed(&c)
    };
    let enabled = with_priv(serde_json::json!({"enabled": true, "role": "immuta_imp"}));
    let e = Platform::edit(
        &p,
        &op_fault(true, CURRENT_VERSION, step::GRANT_IMPERSONATION_ADMIN),
        stored.clone(),
        enabled.clone(),
    )
    .await
    .expect_err("the fault fails edit");
    assert!(
        e.to_string()
            .contains("step grant-impersonation-admin failed"),
        "{e}"
    );
    assert_eq!(fake.snapshot(), without);
    let out = Platform::edit(&p, &op(true, CURRENT_VERSION), stored.clone(), enabled)
        .await
        .expect("edit succeeds");
    assert_eq!(
        out.config.username,
        system_user(),
        "the system user stays stored"
    );
    assert_eq!(out.config.password, stored.password);
    let snap = fake.snapshot();
    assert!(
        snap.contains(&"pool1: role immuta_imp".to_owned()),
        "{snap:?}"
    );
    // Rename.
    let renamed = with_priv(serde_json::json!({"enabled": true, "role": "immuta_imp2"}));
    let out = Platform::edit(&p, &op(true, CURRENT_VERSION), out.config, renamed)
        .await
        .expect("rename");
    assert!(
        fake.snapshot()
            .contains(&"pool1: role immuta_imp2".to_owned())
    );
    // Disable: back to the set-up without impersonation.
    let disabled = with_priv(serde_json::json!({"enabled": false, "role": "immuta_imp2"}));
    Platform::edit(&p, &op(true, CURRENT_VERSION), out.config, disabled)
        .await
        .expect("disable");
    assert_eq!(fake.snapshot(), without);
}

#[tokio::test]
async fn edit_as_the_system_user_cannot_change_impersonation_and_fixed_fields_are_refused() {
    let fake = support::fake();
    let p = support::platform();
    let stored = create(&p, fake.port, false).await;
    let mut new = stored.clone();
    new.impersonation.enabled = true;
    let e = Platform::edit(&p, &op(true, CURRENT_VERSION), stored.clone(), new)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("config.username"), "{e}");
    let mut new = stored.clone();
    new.metadata_delimiters.array_delimiter = ";".into();
    let e = Platform::check_edit(&p, &stored, &new).expect_err("fixed");
    assert_eq!(e.0[0].path, "config.metadataDelimiters.arrayDelimiter");
    let e = Platform::edit(&p, &op(true, CURRENT_VERSION), stored.clone(), new)
        .await
        .expect_err("fixed");
    assert!(
        e.to_string()
            .contains("config.metadataDelimiters.arrayDelimiter"),
        "{e}"
    );
}

#[tokio::test]
async fn migrate_from_v1_to_v2_as_the_system_user_and_a_middle_fault_rolls_back() {
    let old = Kit(Synapse::installing_version(1));
    let fake = support::fake();
    let stored = Platform::create(&old, &op(true, 0), typed(&auto_config(fake.port, true)))
        .await
        .expect("v1 create")
        .config;
    let v1 = fake.snapshot();
    assert!(
        v1.iter()
            .any(|l| l.contains("bootstrap_version (version) rows=[[Some(1)]]")),
        "{v1:?}"
    );
    let p = support::platform();
    let e = Platform::migrate(&p, &op_fault(true, 1, "record-version-2"), stored.clone())
        .await
        .expect_err("the fault fails the migration");
    assert!(
        e.to_string().contains("step record-version-2 failed"),
        "{e}"
    );
    assert_eq!(fake.snapshot(), v1);
    let out = Platform::migrate(&p, &op(true, 1), stored)
        .await
        .expect("migrates");
    assert_eq!(out.bootstrap_version, 2);
    // The same as a set-up made at version 2.
    assert_eq!(fake.snapshot(), expected_after_create());
    // It ran as the system user, not the admin.
    let sys = system_user();
    assert!(
        fake.statements()
            .iter()
            .any(|(who, s)| *who == sys && s.contains("audit_cursor"))
    );
}
