//! A fault injected at a step of create, edit, migrate and delete: the
//! operation fails, and the cluster's catalog is exactly what it was before.

use crate::support::{self, Cleanup, Names, op, op_fault};
use junction_core::{OpError, Platform};
use junction_redshift::testing as bootstrap;
use junction_redshift::{CURRENT_VERSION, step};
use junction_redshift::{PrivilegedCredentials, Redshift};
use serde_json::json;

fn privileged(pg: &junction_testkit::stand_ins::Postgres) -> PrivilegedCredentials {
    serde_json::from_value(json!({"username": pg.user, "password": pg.password}))
        .expect("credentials parse")
}

fn create_step_ids(names: &Names, impersonation: bool, version: u32) -> Vec<String> {
    let plan = bootstrap::create_plan(
        &bootstrap::Names {
            database: &names.database,
            system_user: &names.system_user,
            impersonation_role: impersonation.then_some(names.role()),
        },
        &String::new().into(),
        version,
    );
    plan.steps.into_iter().map(|s| s.id).collect()
}

fn assert_failed_at(err: &OpError, step: &str) {
    match err {
        OpError::Failed(m) => {
            assert!(m.contains(step) && m.contains("injected fault"), "{m}");
            assert!(m.contains("every step before it was rolled back"), "{m}");
        }
        other => panic!("expected a failure at {step}, got {other:?}"),
    }
}

#[tokio::test]
async fn create_fault_at_every_step_leaves_nothing_behind() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("fault_create");
    let _cleanup = Cleanup::new(&pg, &names);
    let before = support::snapshot(&pg, &names).await;
    assert!(before.is_empty());
    let config = support::typed(&support::auto_config(&pg, &names, true));
    let steps = create_step_ids(&names, true, CURRENT_VERSION);
    assert!(steps.len() >= 10, "{steps:?}");
    for s in &steps {
        let err = Platform::create(&Redshift::new(), &op_fault(true, 0, s), config.clone())
            .await
            .expect_err("the fault fails create");
        assert_failed_at(&err, s);
        assert_eq!(
            support::snapshot(&pg, &names).await,
            before,
            "after a fault at {s}"
        );
    }
}

#[tokio::test]
async fn edit_fault_at_a_middle_step_rolls_back() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let mut names = Names::new("fault_edit");
    let renamed = names.extra_role("renamed");
    let _cleanup = Cleanup::new(&pg, &names);
    let stored =
        support::create_auto(&Redshift::new(), &support::auto_config(&pg, &names, true)).await;
    let before = support::snapshot(&pg, &names).await;
    let mut new = support::typed(&support::auto_config(&pg, &names, true));
    new.impersonation.role = renamed;
    // rename-impersonation-role, replace-grant-procedure, replace-revoke-procedure
    for s in ["replace-grant-procedure", "replace-revoke-procedure"] {
        let err = Platform::edit(
            &Redshift::new(),
            &op_fault(true, CURRENT_VERSION, s),
            stored.clone(),
            new.clone(),
        )
        .await
        .expect_err("the fault fails edit");
        assert_failed_at(&err, s);
        assert_eq!(
            support::snapshot(&pg, &names).await,
            before,
            "after a fault at {s}"
        );
    }
    // A rotation that fails leaves the old password working.
    let mut rotate = stored.clone();
    rotate.password = "Another-Password-2".to_owned().into();
    let err = Platform::edit(
        &Redshift::new(),
        &op_fault(true, CURRENT_VERSION, step::ROTATE_PASSWORD),
        stored.clone(),
        rotate,
    )
    .await
    .expect_err("the fault fails edit");
    assert_failed_at(&err, step::ROTATE_PASSWORD);
    assert!(
        support::connect(
            &pg,
            &names.database,
            &names.system_user,
            stored.password.expose()
        )
        .await
        .is_ok()
    );
    Platform::delete(
        &Redshift::new(),
        &op(true, CURRENT_VERSION),
        stored,
        Some(privileged(&pg)),
    )
    .await
    .expect("delete");
}

#[tokio::test]
async fn migrate_fault_at_a_middle_step_rolls_back() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("fault_migrate");
    let _cleanup = Cleanup::new(&pg, &names);
    let stored = support::create_auto(
        &Redshift::installing_version(1),
        &support::auto_config(&pg, &names, true),
    )
    .await;
    let before = support::snapshot(&pg, &names).await;
    // replace-grant-procedure, replace-revoke-procedure, record-version-2
    for s in ["replace-revoke-procedure", "record-version-2"] {
        let err = Platform::migrate(&Redshift::new(), &op_fault(true, 1, s), stored.clone())
            .await
            .expect_err("the fault fails migrate");
        assert_failed_at(&err, s);
        assert_eq!(
            support::snapshot(&pg, &names).await,
            before,
            "after a fault at {s}"
        );
    }
    // And the migration still works afterwards.
    let out = Platform::migrate(&Redshift::new(), &op(true, 1), stored)
        .await
        .expect("migrate");
    Platform::delete(
        &Redshift::new(),
        &op(true, 2),
        out.config,
        Some(privileged(&pg)),
    )
    .await
    .expect("delete");
}

#[tokio::test]
async fn delete_fault_at_every_step_rolls_back() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("fault_delete");
    let _cleanup = Cleanup::new(&pg, &names);
    let stored =
        support::create_auto(&Redshift::new(), &support::auto_config(&pg, &names, true)).await;
    let before = support::snapshot(&pg, &names).await;
    let steps: Vec<String> = create_step_ids(&names, true, CURRENT_VERSION)
        .into_iter()
        .rev()
        .map(|s| format!("undo-{s}"))
        .collect();
    for s in &steps {
        let err = Platform::delete(
            &Redshift::new(),
            &op_fault(true, CURRENT_VERSION, s),
            stored.clone(),
            Some(privileged(&pg)),
        )
        .await
        .expect_err("the fault fails delete");
        assert_failed_at(&err, s);
        assert_eq!(
            support::snapshot(&pg, &names).await,
            before,
            "after a fault at {s}"
        );
    }
    // The last step drops the database: by then the system user had been
    // dropped and re-created by the rollback, with the password Junction holds.
    assert!(
        support::connect(
            &pg,
            &names.database,
            &names.system_user,
            stored.password.expose()
        )
        .await
        .is_ok()
    );
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
async fn a_real_failure_rolls_back_too() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    // The impersonation role exists already (validation would have said so):
    // create fails at that step and undoes the database and the system user.
    let names = Names::new("fault_real");
    let _cleanup = Cleanup::new(&pg, &names);
    let admin = support::superuser(&pg, &pg.database).await;
    admin
        .batch_execute(&format!("CREATE ROLE \"{}\"", names.role()))
        .await
        .expect("role");
    let before = support::snapshot(&pg, &names).await;
    let err = Platform::create(
        &Redshift::new(),
        &op(true, 0),
        support::typed(&support::auto_config(&pg, &names, true)),
    )
    .await
    .expect_err("role exists");
    let msg = err.to_string();
    assert!(
        msg.contains(step::CREATE_IMPERSONATION_ROLE) && msg.contains("already exists"),
        "{msg}"
    );
    assert_eq!(support::snapshot(&pg, &names).await, before);
}
