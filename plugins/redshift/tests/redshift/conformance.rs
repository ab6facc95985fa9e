//! The testkit's conformance suite, registration, and secrets kept out of
//! every output.

use crate::support::{self, Cleanup, Names, op, op_fault};
use junction_core::{CheckContext, DynPlatform, Platform, Registry, RunOptions, ScriptKind};
use junction_redshift::Redshift;
use junction_testkit::SENTINEL;
use serde_json::json;

#[test]
fn conforms_to_the_testkit_suite() {
    junction_testkit::conformance::assert_conforms(&Redshift::new());
}

#[test]
fn registers_itself_when_linked() {
    let registry = Registry::linked().expect("registry");
    assert!(registry.get("Redshift").is_some(), "{registry:?}");
}

#[test]
fn descriptor_declares_the_password_secret_and_the_contract_tests() {
    let d = DynPlatform::descriptor(&Redshift::new());
    assert_eq!(d.secret_paths, vec!["/password".to_owned()]);
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Initial validation: basic connection test",
            "Validate automatic: database does not exist",
            "Validate automatic: impersonation role does not exist",
        ]
    );
    assert_eq!(d.bootstrap_version, 2);
    let creds = d.delete_credentials_schema.to_string();
    assert!(
        creds.contains("username") && creds.contains("password"),
        "{creds}"
    );
}

#[test]
fn scripts_and_debug_never_show_the_password() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("secret_script");
    let mut c = support::auto_config(&pg, &names, true);
    c["password"] = json!(SENTINEL);
    let config = support::typed(&c);
    assert!(!format!("{config:?}").contains(SENTINEL));
    assert!(
        !serde_json::to_string(&config)
            .expect("json")
            .contains(SENTINEL)
    );
    let mut old = config.clone();
    old.password = "old-password".to_owned().into();
    for kind in [
        ScriptKind::InitialCreate,
        ScriptKind::Create,
        ScriptKind::Delete,
        ScriptKind::Cleanup,
        ScriptKind::Edit,
    ] {
        let s = Platform::script(&Redshift::new(), kind, &config, Some(&old)).expect("script");
        assert!(!s.text().contains(SENTINEL), "{kind:?}");
    }
    let creds: junction_redshift::PrivilegedCredentials =
        serde_json::from_value(json!({"username": "u", "password": SENTINEL})).expect("creds");
    assert!(!format!("{creds:?}").contains(SENTINEL));
}

/// A superuser whose password is the sentinel, so that every output of
/// validate and create can be searched for the privileged password.
#[tokio::test]
async fn privileged_password_is_in_no_output_or_error() {
    let Some(pg) = support::stand_in() else {
        return;
    };
    let names = Names::new("secret_ops");
    let mut cleanup = Cleanup::new(&pg, &names);
    let admin_name = format!("{}_admin", names.database);
    cleanup.track_role(&admin_name);
    let admin = support::superuser(&pg, &pg.database).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{admin_name}\" SUPERUSER LOGIN PASSWORD '{SENTINEL}'"
        ))
        .await
        .expect("sentinel superuser");
    let mut c = support::auto_config(&pg, &names, true);
    c["username"] = json!(admin_name);
    c["password"] = json!(SENTINEL);

    let ctx = CheckContext {
        auto_bootstrap: true,
        ..CheckContext::default()
    };
    let r = DynPlatform::validate(&Redshift::new(), &c, ctx, &RunOptions::default(), None)
        .await
        .expect("valid");
    assert!(r.ok(), "{r:?}");
    assert!(!serde_json::to_string(&r).expect("json").contains(SENTINEL));

    // A failing create: the error and its Debug.
    let err = DynPlatform::create(&Redshift::new(), &op_fault(true, 0, "record-version"), &c)
        .await
        .expect_err("fault");
    assert!(!err.to_string().contains(SENTINEL) && !format!("{err:?}").contains(SENTINEL));
    // A wrong privileged password in the DELETE body.
    let out = DynPlatform::create(&Redshift::new(), &op(true, 0), &c)
        .await
        .expect("create");
    let text = out.config.to_string();
    assert!(
        !text.contains(SENTINEL),
        "the stored config holds no privileged password"
    );
    assert_eq!(out.config["username"], json!(names.system_user));
    let wrong = json!({"username": admin_name, "password": format!("{SENTINEL}-wrong")});
    let err = DynPlatform::delete(&Redshift::new(), &op(true, 2), &out.config, Some(&wrong))
        .await
        .expect_err("wrong password");
    assert!(!err.to_string().contains(SENTINEL), "{err}");
    let right = json!({"username": admin_name, "password": SENTINEL});
    DynPlatform::delete(&Redshift::new(), &op(true, 2), &out.config, Some(&right))
        .await
        .expect("delete");
    drop(admin);
}
