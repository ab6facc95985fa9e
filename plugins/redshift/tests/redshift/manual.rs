//! Manual set-up: the scripts, run with psql, give the same catalog as the
//! automatic set-up, and the teardown scripts remove it.

use crate::support::{self, Cleanup, Names, op};
use junction_core::{Platform, ScriptKind};
use junction_redshift::CURRENT_VERSION;
use junction_redshift::{PrivilegedCredentials, Redshift, RedshiftConfig};
use serde_json::json;

/// The manual config: the credentials are the system user's, which the
/// scripts create.
fn manual_config(
    pg: &junction_testkit::stand_ins::Postgres,
    names: &Names,
    password: &str,
) -> RedshiftConfig {
    let mut c = support::auto_config(pg, names, true);
    c["username"] = json!(names.system_user);
    c["password"] = json!(password);
    support::typed(&c)
}

fn script(kind: ScriptKind, config: &RedshiftConfig) -> String {
    Platform::script(&Redshift::new(), kind, config, None)
        .expect("script")
        .text()
}

#[tokio::test]
async fn manual_scripts_run_with_psql_give_the_automatic_catalog() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("manual");
    let _cleanup = Cleanup::new(&pg, &names);

    // Automatic first, for the reference snapshot; then gone again.
    let stored =
        support::create_auto(&Redshift::new(), &support::auto_config(&pg, &names, true)).await;
    let automatic = support::snapshot(&pg, &names).await;
    let creds: PrivilegedCredentials =
        serde_json::from_value(json!({"username": pg.user, "password": pg.password}))
            .expect("creds");
    Platform::delete(
        &Redshift::new(),
        &op(true, CURRENT_VERSION),
        stored,
        Some(creds),
    )
    .await
    .expect("delete");
    assert!(support::snapshot(&pg, &names).await.is_empty());

    // The same with the scripts, by hand.
    let password = "Manual-Password-9";
    let config = manual_config(&pg, &names, password);
    let initial = script(ScriptKind::InitialCreate, &config);
    assert!(
        !initial.contains(password),
        "a script never holds the password"
    );
    support::psql(&pg, &pg.database, &initial, Some(password))
        .await
        .expect("initial-create script");
    support::psql(
        &pg,
        &names.database,
        &script(ScriptKind::Create, &config),
        None,
    )
    .await
    .expect("create script");
    assert_eq!(support::snapshot(&pg, &names).await, automatic);

    // Junction finds the manual set-up and its version; the system user logs in.
    let out = Platform::create(&Redshift::new(), &op(false, 0), config.clone())
        .await
        .expect("manual create");
    assert_eq!(out.bootstrap_version, CURRENT_VERSION);

    // The delete script removes everything.
    support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::Delete, &config),
        None,
    )
    .await
    .expect("delete script");
    assert!(support::snapshot(&pg, &names).await.is_empty());
}

#[tokio::test]
async fn cleanup_script_removes_a_half_done_manual_set_up() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("manual_cleanup");
    let _cleanup = Cleanup::new(&pg, &names);
    let config = manual_config(&pg, &names, "Manual-Password-9");
    // Only the first script ran.
    support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::InitialCreate, &config),
        Some("Manual-Password-9"),
    )
    .await
    .expect("initial-create script");
    assert!(!support::snapshot(&pg, &names).await.is_empty());
    support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::Cleanup, &config),
        None,
    )
    .await
    .expect("cleanup script");
    assert!(support::snapshot(&pg, &names).await.is_empty());
    // Cleanup is safe to run again, when nothing is left.
    support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::Cleanup, &config),
        None,
    )
    .await
    .expect("cleanup again");
}

#[tokio::test]
async fn initial_create_script_without_the_password_variable_fails() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("manual_nopw");
    let _cleanup = Cleanup::new(&pg, &names);
    let config = manual_config(&pg, &names, "x-Password-1");
    // Without -v junction_password the placeholder is not SQL: no user with a
    // guessable password is ever made.
    let err = support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::InitialCreate, &config),
        None,
    )
    .await
    .expect_err("fails");
    assert!(err.contains("syntax error"), "{err}");
}

#[tokio::test]
async fn manual_create_without_the_scripts_says_what_to_run() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("manual_missing");
    let mut config = manual_config(&pg, &names, "pw");
    // Credentials that log in, to a database without the set-up.
    config.username = pg.user.clone();
    config.password = pg.password.clone().into();
    config.database = "template1".into();
    let err = Platform::create(&Redshift::new(), &op(false, 0), config)
        .await
        .expect_err("no set-up");
    let msg = err.to_string();
    assert!(msg.contains("initial-create and create scripts"), "{msg}");
    assert!(!msg.contains(&pg.password), "{msg}");
}

#[test]
fn edit_script_holds_only_what_changed() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let mut names = Names::new("manual_edit");
    let renamed = names.extra_role("renamed");
    let old = manual_config(&pg, &names, "pw-1");
    let mut new = old.clone();
    new.impersonation.role = renamed.clone();
    let s = Platform::script(&Redshift::new(), ScriptKind::Edit, &new, Some(&old))
        .expect("edit script")
        .statements;
    let sql: Vec<&String> = s.iter().filter(|l| !l.starts_with("--")).collect();
    assert_eq!(sql.len(), 3, "{s:#?}");
    assert!(sql[0].starts_with("ALTER ROLE"), "{s:#?}");
    assert!(
        !s.iter().any(|l| l.contains("junction_password")),
        "no rotation: {s:#?}"
    );
    let unchanged = Platform::script(&Redshift::new(), ScriptKind::Edit, &old, Some(&old))
        .expect("edit script")
        .statements;
    assert!(
        unchanged.iter().all(|l| l.starts_with("--")),
        "{unchanged:#?}"
    );
}

#[tokio::test]
async fn edit_script_run_with_psql_renames_impersonation_and_rotates_the_password() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let mut names = Names::new("manual_edit_run");
    let renamed = names.extra_role("renamed");
    let _cleanup = Cleanup::new(&pg, &names);
    let old = manual_config(&pg, &names, "Manual-Password-1");
    support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::InitialCreate, &old),
        Some("Manual-Password-1"),
    )
    .await
    .expect("initial-create script");
    support::psql(
        &pg,
        &names.database,
        &script(ScriptKind::Create, &old),
        None,
    )
    .await
    .expect("create script");

    let mut new = old.clone();
    new.impersonation.role = renamed.clone();
    new.password = "Manual-Password-2".to_owned().into();
    let edit = Platform::script(&Redshift::new(), ScriptKind::Edit, &new, Some(&old))
        .expect("edit script")
        .text();
    assert!(!edit.contains("Manual-Password-2"), "{edit}");
    support::psql(&pg, &names.database, &edit, Some("Manual-Password-2"))
        .await
        .expect("edit script");

    let snap = support::snapshot(&pg, &names).await;
    assert!(
        support::has(&snap, &format!("role {renamed} ")),
        "{snap:#?}"
    );
    assert!(
        !support::has(&snap, &format!("role {} ", names.role())),
        "{snap:#?}"
    );
    let grant = snap
        .iter()
        .find(|l| l.starts_with("procedure immuta_procedures.grant_impersonation"))
        .expect("procedure");
    assert!(grant.contains(&format!("'{renamed}'")), "{grant}");
    assert!(
        support::connect(
            &pg,
            &names.database,
            &names.system_user,
            "Manual-Password-2"
        )
        .await
        .is_ok()
    );
    // Junction's own edit of a manual set-up runs nothing and keeps the new config.
    let out = Platform::edit(&Redshift::new(), &op(false, CURRENT_VERSION), old, new)
        .await
        .expect("manual edit");
    assert_eq!(out.config.impersonation.role, renamed);
    support::psql(
        &pg,
        &pg.database,
        &script(ScriptKind::Delete, &out.config),
        None,
    )
    .await
    .expect("delete script");
    assert!(support::snapshot(&pg, &names).await.is_empty());
}
