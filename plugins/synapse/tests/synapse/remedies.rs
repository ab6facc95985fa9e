//! Remedies against `fake_synapse`, whose catalog decides what a user holds
//! (grants, db_owner, CONTROL): each test takes one permission away, sees the
//! manage test fail with the contract's message and a remedy, sends the
//! remedy's statements as they are to the same server as its admin (over
//! TDS with tiberius, the way an operator pastes them into a client), and
//! sees the test pass.

use crate::fake_synapse::{ADMIN, FakeSynapse};
use crate::support::{self, ADMIN_PW, DB, auto_config, outcomes, system_user, typed, validate};
use junction_core::{Platform, Remedy, ScriptKind, TestStatus, ValidationResults};
use junction_synapse::testing::checks::{CANNOT_MANAGE, MANAGE};

fn manage(r: &ValidationResults) -> (TestStatus, Option<String>) {
    let t = r
        .validation_tests
        .iter()
        .find(|t| t.name == MANAGE)
        .unwrap_or_else(|| panic!("no manage test: {:?}", outcomes(r)));
    (t.status, t.message.clone())
}

/// The one remedy, the manage test's.
fn only_remedy(r: &ValidationResults) -> &Remedy {
    assert_eq!(r.remedies.len(), 1, "{:#?}", r.remedies);
    let remedy = &r.remedies[0];
    assert_eq!(remedy.test, MANAGE);
    assert_eq!(remedy.language, "sql");
    remedy
}

/// Sends each statement as the admin in the database; every one must succeed.
async fn as_admin(fake: &FakeSynapse, statements: &[String]) {
    let mut c = support::tiberius_client(
        fake.port,
        ADMIN,
        ADMIN_PW,
        DB,
        tiberius::EncryptionLevel::Required,
    )
    .await
    .unwrap();
    for sql in statements {
        c.simple_query(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_results()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn automatic_without_control_then_granted_by_the_remedy() {
    let fake = support::fake();
    fake.admin_batch("master", "CREATE LOGIN [weak] WITH PASSWORD = N'Weak-pw-1'")
        .unwrap();
    fake.admin_batch(DB, "CREATE USER [weak] FROM LOGIN [weak]")
        .unwrap();
    let mut c = auto_config(fake.port, false);
    c["username"] = "weak".into();
    c["password"] = "Weak-pw-1".into();
    let p = support::platform();
    let r = validate(&p, &c, true).await;
    assert_eq!(
        manage(&r),
        (TestStatus::Failed, Some(CANNOT_MANAGE.to_owned()))
    );
    let remedy = only_remedy(&r);
    assert_eq!(
        remedy.missing,
        format!("CONTROL for the user weak in the database {DB}")
    );
    assert_eq!(
        remedy.statements,
        [format!("GRANT CONTROL ON DATABASE::[{DB}] TO [weak];")]
    );
    assert!(!format!("{:?}", r.remedies).contains("Weak-pw-1"));

    as_admin(&fake, &remedy.statements).await;
    let r = validate(&p, &c, true).await;
    assert_eq!(manage(&r), (TestStatus::Passed, None), "{:?}", outcomes(&r));
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}

const SYS_PW: &str = "Remedy-sys-pw-1";

#[tokio::test]
async fn manual_one_schema_permission_revoked_then_granted_by_the_remedy() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let fake = support::fake();
    let p = support::platform();
    // The manual scripts, run as an operator runs them (see manual.rs).
    let mut c = auto_config(fake.port, true);
    c["username"] = system_user().into();
    c["password"] = SYS_PW.into();
    let config = typed(&c);
    for (kind, database) in [
        (ScriptKind::InitialCreate, "master"),
        (ScriptKind::Create, DB),
    ] {
        let text = Platform::script(&p, kind, &config, None)
            .expect("script")
            .text();
        let out = support::tsql(
            fake.port,
            ADMIN,
            ADMIN_PW,
            Some(database),
            &text.replace("$(junction_password)", SYS_PW),
        );
        assert!(!out.contains("Msg "), "{text}\n---\n{out}");
    }
    let r = validate(&p, &c, false).await;
    assert_eq!(manage(&r), (TestStatus::Passed, None), "{:?}", outcomes(&r));
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);

    // The admin takes one permission on one schema away.
    let sys = system_user();
    fake.admin_batch(
        DB,
        &format!("REVOKE SELECT ON SCHEMA::[immuta_views] FROM [{sys}]"),
    )
    .unwrap();
    let r = validate(&p, &c, false).await;
    assert_eq!(
        manage(&r),
        (TestStatus::Failed, Some(CANNOT_MANAGE.to_owned()))
    );
    let remedy = only_remedy(&r);
    assert_eq!(
        remedy.missing,
        format!("SELECT on schema immuta_views for the user {sys} in the database {DB}")
    );
    assert_eq!(
        remedy.statements,
        [format!(
            "GRANT SELECT ON SCHEMA::[immuta_views] TO [{sys}];"
        )]
    );
    assert!(!format!("{:?}", r.remedies).contains(SYS_PW));

    as_admin(&fake, &remedy.statements).await;
    let r = validate(&p, &c, false).await;
    assert_eq!(manage(&r), (TestStatus::Passed, None), "{:?}", outcomes(&r));
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}
