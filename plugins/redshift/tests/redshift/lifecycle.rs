//! Create, edit, migrate and delete against the stand-in, through the typed
//! `Platform` face.

use crate::support::{self, Cleanup, Names, has, op};
use junction_core::{OpError, Platform};
use junction_redshift::CURRENT_VERSION;
use junction_redshift::{PrivilegedCredentials, Redshift};
use serde_json::json;

fn privileged(pg: &junction_testkit::stand_ins::Postgres) -> PrivilegedCredentials {
    serde_json::from_value(json!({"username": pg.user, "password": pg.password}))
        .expect("credentials parse")
}

#[tokio::test]
async fn create_makes_every_object_and_the_system_user_can_log_in() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    // Quotes, a semicolon and a dollar-quote tag in the names: they must end up
    // as names, never as SQL.
    let names = Names::with_database(format!(
        "{}_q\"'; select 1; -- $body$",
        support::unique("create")
    ));
    let _cleanup = Cleanup::new(&pg, &names);
    let config = support::auto_config(&pg, &names, true);
    let out = Platform::create(&Redshift::new(), &op(true, 0), support::typed(&config))
        .await
        .expect("create succeeds");
    assert_eq!(out.bootstrap_version, CURRENT_VERSION);
    let stored = out.config;
    assert_eq!(stored.username, names.system_user);
    assert_ne!(
        stored.password.expose(),
        &pg.password,
        "the privileged password is not kept"
    );
    assert!(!format!("{stored:?}").contains(stored.password.expose().as_str()));

    let snap = support::snapshot(&pg, &names).await;
    let db = &names.database;
    let sys = &names.system_user;
    let role = names.role();
    assert!(
        has(&snap, &format!("database {db} owner={}", pg.user)),
        "{snap:#?}"
    );
    assert!(
        has(
            &snap,
            &format!(
                "role {sys} super/inherit/createrole/createdb/login=[false, true, false, false, true]"
            )
        ),
        "{snap:#?}"
    );
    assert!(has(&snap, &format!("role {role} ")), "{snap:#?}");
    assert!(
        has(&snap, &format!("member {sys} of {role} admin=true")),
        "{snap:#?}"
    );
    for schema in ["immuta_system", "immuta_functions", "immuta_procedures"] {
        assert!(
            has(&snap, &format!("schema {schema} owner={sys}")),
            "{snap:#?}"
        );
    }
    assert!(
        has(
            &snap,
            &format!("relation immuta_system.bootstrap_version kind=r owner={sys}")
        ),
        "{snap:#?}"
    );
    assert!(
        has(
            &snap,
            &format!("procedure immuta_procedures.grant_impersonation owner={sys} secdef=true")
        ),
        "{snap:#?}"
    );
    assert!(
        has(
            &snap,
            &format!("procedure immuta_procedures.revoke_impersonation owner={sys} secdef=true")
        ),
        "{snap:#?}"
    );
    assert!(
        has(&snap, &format!("version row {CURRENT_VERSION}")),
        "{snap:#?}"
    );
    // The owner's and the system user's CONNECT, CREATE, TEMPORARY.
    let db_line = snap
        .iter()
        .find(|l| l.starts_with("database "))
        .expect("db line");
    assert_eq!(db_line.matches("=CTc/").count(), 2, "{db_line}");

    // The system user logs in with the generated password and uses its procedures.
    let client = support::connect(&pg, db, sys, stored.password.expose())
        .await
        .expect("the system user logs in");
    let v: i32 = client
        .query_one("SELECT version FROM immuta_system.bootstrap_version", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(v as u32, CURRENT_VERSION);
    let user = format!("{}_enduser", names.database);
    let mut cleanup = Cleanup::new(&pg, &names);
    cleanup.track_role(&user);
    let admin = support::superuser(&pg, &pg.database).await;
    admin
        .batch_execute(&format!("CREATE ROLE \"{}\"", user.replace('"', "\"\"")))
        .await
        .expect("end user");
    client
        .execute("CALL immuta_procedures.grant_impersonation($1)", &[&user])
        .await
        .expect("grant impersonation");
    let member = |admin: tokio_postgres::Client, user: String, role: String| async move {
        let row = admin
            .query_one(
                "SELECT pg_catalog.pg_has_role($1, $2, 'MEMBER')",
                &[&user, &role],
            )
            .await
            .expect("membership");
        (admin, row.get::<_, bool>(0))
    };
    let (admin, granted) = member(admin, user.clone(), role.to_owned()).await;
    assert!(granted);
    client
        .execute("CALL immuta_procedures.revoke_impersonation($1)", &[&user])
        .await
        .expect("revoke impersonation");
    let (admin, granted) = member(admin, user.clone(), role.to_owned()).await;
    assert!(!granted);
    // Version 2's procedure says plainly when the user does not exist.
    let err = client
        .execute(
            "CALL immuta_procedures.grant_impersonation($1)",
            &[&"nobody_here_x"],
        )
        .await
        .expect_err("no such user");
    assert!(
        format!("{:?}", err.as_db_error()).contains("no user named"),
        "{err:?}"
    );
    // Nobody else may call the SECURITY DEFINER procedures: no PUBLIC entry.
    for l in snap.iter().filter(|l| l.starts_with("procedure ")) {
        // An empty ACL would mean the default, which lets PUBLIC execute.
        assert!(
            !l.contains("acl= ") && !l.contains("acl={=X") && !l.contains(",=X/"),
            "{l}"
        );
    }
    admin
        .batch_execute(&format!("DROP ROLE \"{}\"", user.replace('"', "\"\"")))
        .await
        .expect("drop end user");
    drop(client);

    // Delete removes everything the set-up made.
    Platform::delete(
        &Redshift::new(),
        &op(true, CURRENT_VERSION),
        stored,
        Some(privileged(&pg)),
    )
    .await
    .expect("delete succeeds");
    assert_eq!(support::snapshot(&pg, &names).await, Vec::<String>::new());
}

#[tokio::test]
async fn create_without_impersonation_makes_no_role_and_no_procedures() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("noimp");
    let _cleanup = Cleanup::new(&pg, &names);
    let stored =
        support::create_auto(&Redshift::new(), &support::auto_config(&pg, &names, false)).await;
    let snap = support::snapshot(&pg, &names).await;
    assert!(!has(&snap, &format!("role {} ", names.role())), "{snap:#?}");
    assert!(!has(&snap, "procedure "), "{snap:#?}");
    assert!(has(&snap, "schema immuta_functions"), "{snap:#?}");
    Platform::delete(
        &Redshift::new(),
        &op(true, CURRENT_VERSION),
        stored,
        Some(privileged(&pg)),
    )
    .await
    .expect("delete");
    assert!(support::snapshot(&pg, &names).await.is_empty());
}

#[tokio::test]
async fn delete_of_an_automatic_set_up_needs_privileged_credentials() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("nocreds");
    let config = support::typed(&support::auto_config(&pg, &names, false));
    let err = Platform::delete(&Redshift::new(), &op(true, CURRENT_VERSION), config, None)
        .await
        .expect_err("refused");
    assert!(matches!(err, OpError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("require privileged credentials"));
}

#[tokio::test]
async fn edit_rotates_the_system_password_as_the_system_user() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("rotate");
    let _cleanup = Cleanup::new(&pg, &names);
    let stored =
        support::create_auto(&Redshift::new(), &support::auto_config(&pg, &names, false)).await;
    let before = support::snapshot(&pg, &names).await;
    let mut new = stored.clone();
    new.password = "Rotated-Password-1".to_owned().into();
    let out = Platform::edit(
        &Redshift::new(),
        &op(true, CURRENT_VERSION),
        stored.clone(),
        new,
    )
    .await
    .expect("rotation");
    assert_eq!(out.config.password.expose(), "Rotated-Password-1");
    assert!(
        support::connect(
            &pg,
            &names.database,
            &names.system_user,
            "Rotated-Password-1"
        )
        .await
        .is_ok()
    );
    assert!(
        support::connect(
            &pg,
            &names.database,
            &names.system_user,
            stored.password.expose()
        )
        .await
        .is_err()
    );
    assert_eq!(
        support::snapshot(&pg, &names).await,
        before,
        "only the password changed"
    );

    // Changing impersonation as the system user is refused before anything runs.
    let mut imp = out.config.clone();
    imp.impersonation.enabled = true;
    let err = Platform::edit(
        &Redshift::new(),
        &op(true, CURRENT_VERSION),
        out.config.clone(),
        imp,
    )
    .await
    .expect_err("needs privilege");
    assert!(
        matches!(err, OpError::Invalid(ref e) if e.0[0].path == "config.username"),
        "{err:?}"
    );
    assert_eq!(support::snapshot(&pg, &names).await, before);
}

#[tokio::test]
async fn edit_enables_renames_and_disables_impersonation_with_privileged_credentials() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let mut names = Names::new("imp_edit");
    let renamed = names.extra_role("renamed");
    let _cleanup = Cleanup::new(&pg, &names);
    let redshift = Redshift::new();
    let stored = support::create_auto(&redshift, &support::auto_config(&pg, &names, false)).await;
    let privileged_config = support::typed(&support::auto_config(&pg, &names, true));

    // Enable.
    let out = Platform::edit(
        &redshift,
        &op(true, CURRENT_VERSION),
        stored.clone(),
        privileged_config.clone(),
    )
    .await
    .expect("enable");
    assert_eq!(
        out.config.username, names.system_user,
        "the system user stays the stored user"
    );
    assert_eq!(
        out.config.password, stored.password,
        "the system password is unchanged"
    );
    let snap = support::snapshot(&pg, &names).await;
    assert!(has(&snap, &format!("role {} ", names.role())), "{snap:#?}");
    assert!(
        has(&snap, "procedure immuta_procedures.grant_impersonation"),
        "{snap:#?}"
    );

    // Rename.
    let mut rename = privileged_config.clone();
    rename.impersonation.role = renamed.clone();
    let out = Platform::edit(&redshift, &op(true, CURRENT_VERSION), out.config, rename)
        .await
        .expect("rename");
    let snap = support::snapshot(&pg, &names).await;
    assert!(!has(&snap, &format!("role {} ", names.role())), "{snap:#?}");
    assert!(has(&snap, &format!("role {renamed} ")), "{snap:#?}");
    let grant = snap
        .iter()
        .find(|l| l.starts_with("procedure immuta_procedures.grant_impersonation"))
        .expect("procedure");
    assert!(grant.contains(&format!("'{renamed}'")), "{grant}");

    // Disable.
    let mut disable = privileged_config.clone();
    disable.impersonation.enabled = false;
    disable.impersonation.role = renamed.clone();
    let out = Platform::edit(&redshift, &op(true, CURRENT_VERSION), out.config, disable)
        .await
        .expect("disable");
    let snap = support::snapshot(&pg, &names).await;
    assert!(!has(&snap, &format!("role {renamed} ")), "{snap:#?}");
    assert!(!has(&snap, "procedure "), "{snap:#?}");
    Platform::delete(
        &redshift,
        &op(true, CURRENT_VERSION),
        out.config,
        Some(privileged(&pg)),
    )
    .await
    .expect("delete");
    assert!(support::snapshot(&pg, &names).await.is_empty());
}

#[tokio::test]
async fn migrate_from_version_1_replaces_the_procedures() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("migrate");
    let _cleanup = Cleanup::new(&pg, &names);
    let stored = support::create_auto(
        &Redshift::installing_version(1),
        &support::auto_config(&pg, &names, true),
    )
    .await;
    let v1 = support::snapshot(&pg, &names).await;
    assert!(has(&v1, "version row 1"), "{v1:#?}");
    assert!(!v1.iter().any(|l| l.contains("no user named")), "{v1:#?}");

    let out = Platform::migrate(&Redshift::new(), &op(true, 1), stored)
        .await
        .expect("migrate");
    assert_eq!(out.bootstrap_version, 2);
    let v2 = support::snapshot(&pg, &names).await;
    assert!(has(&v2, "version row 2"), "{v2:#?}");
    let grant = v2
        .iter()
        .find(|l| l.starts_with("procedure immuta_procedures.grant_impersonation"))
        .expect("procedure");
    assert!(grant.contains("no user named"), "{grant}");
    assert!(
        grant.contains(&format!("owner={}", names.system_user)),
        "{grant}"
    );

    // Nothing left to migrate.
    let err = Platform::migrate(&Redshift::new(), &op(true, 2), out.config.clone())
        .await
        .expect_err("already current");
    assert!(matches!(err, OpError::Unsupported(_)), "{err:?}");

    Platform::delete(
        &Redshift::new(),
        &op(true, 2),
        out.config,
        Some(privileged(&pg)),
    )
    .await
    .expect("delete");
    assert!(support::snapshot(&pg, &names).await.is_empty());
}

#[tokio::test]
async fn delete_after_a_failed_create_cleans_up_whatever_is_left() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("cleanup");
    let _cleanup = Cleanup::new(&pg, &names);
    // What a create that died half-way (without its rollback) could leave.
    let admin = support::superuser(&pg, &pg.database).await;
    admin
        .batch_execute(&format!("CREATE USER \"{}\"", names.system_user))
        .await
        .expect("leftover user");
    admin
        .batch_execute(&format!("CREATE DATABASE \"{}\"", names.database))
        .await
        .expect("leftover db");
    let config = support::typed(&support::auto_config(&pg, &names, true));
    Platform::delete(
        &Redshift::new(),
        &op(true, 0),
        config,
        Some(privileged(&pg)),
    )
    .await
    .expect("cleanup");
    assert!(support::snapshot(&pg, &names).await.is_empty());
}
