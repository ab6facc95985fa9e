//! Remedies against `fake_snowflake`, whose access model (owner roles, role
//! grants, privileges) decides what a role sees and may do: each test takes
//! one privilege away, sees the test fail with the contract's message and a
//! remedy, runs the remedy's statements as they are (as the account's admin,
//! the way an operator pastes them), and sees the test pass.

use crate::fake_snowflake::{ADMIN, FakeSnowflake, WAREHOUSE, q};
use crate::support::{self, unique};
use junction_core::{Remedy, TestStatus, ValidationResults};
use junction_snowflake::testing::checks::WAREHOUSE as WAREHOUSE_TEST;
use junction_snowflake::testing::checks::*;
use junction_snowflake::testing::{Credentials, Session};
use junction_testkit::SENTINEL;

const PW: &str = "admin-password";

/// Runs SQL as the account's admin (default role ACCOUNTADMIN), as an
/// operator would; every statement must succeed.
async fn as_admin(server: &FakeSnowflake, statements: &[String]) {
    let admin = support::typed(&support::fake_config(server, PW, "UNUSED"));
    let s = Session::open(&admin, Credentials::of(&admin))
        .await
        .unwrap();
    for sql in statements {
        s.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    s.close().await;
}

/// The one remedy, named by `test`.
fn only_remedy<'a>(r: &'a ValidationResults, test: &str) -> &'a Remedy {
    assert_eq!(r.remedies.len(), 1, "{:#?}", r.remedies);
    let remedy = &r.remedies[0];
    assert_eq!(remedy.test, test);
    assert_eq!(remedy.language, "sql");
    remedy
}

#[tokio::test]
async fn fake_snowflake_warehouse_usage_revoked_then_granted_by_the_remedy() {
    let server = FakeSnowflake::start(PW).await;
    // A user whose role may use the warehouse (add_user grants it)…
    server.add_user("WH_USER", SENTINEL, "WH_ROLE");
    let mut config = support::config(
        &server.endpoint,
        "WH_USER",
        SENTINEL,
        WAREHOUSE,
        &unique("wh"),
    );
    config["role"] = "WH_ROLE".into();
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, WAREHOUSE_TEST).0,
        TestStatus::Passed,
        "{r:?}"
    );
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);

    // …until the admin takes that one privilege away.
    as_admin(
        &server,
        &[format!(
            "REVOKE USAGE ON WAREHOUSE {} FROM ROLE {}",
            q(WAREHOUSE),
            q("WH_ROLE")
        )],
    )
    .await;
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, WAREHOUSE_TEST),
        (TestStatus::Failed, Some(WAREHOUSE_FAILED.to_owned()))
    );
    let remedy = only_remedy(&r, WAREHOUSE_TEST);
    assert_eq!(
        remedy.missing,
        "USAGE on the warehouse COMPUTE_WH for the role WH_ROLE"
    );
    assert_eq!(
        remedy.statements,
        ["GRANT USAGE ON WAREHOUSE \"COMPUTE_WH\" TO ROLE \"WH_ROLE\";"]
    );
    assert!(!format!("{:?}", r.remedies).contains(SENTINEL));

    as_admin(&server, &remedy.statements).await;
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, WAREHOUSE_TEST),
        (TestStatus::Passed, None)
    );
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}

#[tokio::test]
async fn fake_snowflake_privileged_role_not_granted_then_granted_by_the_remedy() {
    let server = FakeSnowflake::start(PW).await;
    let db = unique("prole");
    server.add_object(format!("role {}", q("JT_ADMIN_ROLE")), "ACCOUNTADMIN");
    let mut config = support::fake_config(&server, PW, &db);
    config["role"] = "JT_ADMIN_ROLE".into();
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, PRIVILEGED_ROLE),
        (TestStatus::Failed, Some(PRIVILEGED_ROLE_FAILED.to_owned()))
    );
    // The role is not usable, so the warehouse was looked up in the user's
    // default role, which sees it: only the role test has a remedy.
    let remedy = only_remedy(&r, PRIVILEGED_ROLE);
    assert_eq!(
        remedy.missing,
        format!("the role JT_ADMIN_ROLE granted to the user {ADMIN}")
    );
    assert_eq!(
        remedy.statements,
        [format!("GRANT ROLE \"JT_ADMIN_ROLE\" TO USER \"{ADMIN}\";")]
    );

    as_admin(&server, &remedy.statements).await;
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(
        support::result(&r, PRIVILEGED_ROLE),
        (TestStatus::Passed, None)
    );
    // Now the checks run in that role, which may not use the warehouse: the
    // next remedy, run the same way, makes that pass too.
    let remedy = only_remedy(&r, WAREHOUSE_TEST);
    as_admin(&server, &remedy.statements).await;
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}

#[tokio::test]
async fn fake_snowflake_missing_account_grants_then_granted_by_the_remedy() {
    let server = FakeSnowflake::start(PW).await;
    server.add_user("SETUP", SENTINEL, "SETUP_ADMIN");
    // Everything an automatic set-up needs, then one privilege taken away.
    let all = REQUIRED_ACCOUNT_PRIVILEGES
        .iter()
        .map(|p| format!("GRANT {p} ON ACCOUNT TO ROLE {}", q("SETUP_ADMIN")))
        .collect::<Vec<_>>();
    as_admin(&server, &all).await;
    let mut config = support::config(
        &server.endpoint,
        "SETUP",
        SENTINEL,
        WAREHOUSE,
        &unique("grants"),
    );
    config["role"] = "SETUP_ADMIN".into();
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, BOOTSTRAP_GRANTS),
        (TestStatus::Passed, None),
        "{r:?}"
    );
    as_admin(
        &server,
        &[format!(
            "REVOKE MANAGE GRANTS ON ACCOUNT FROM ROLE {}",
            q("SETUP_ADMIN")
        )],
    )
    .await;
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, BOOTSTRAP_GRANTS),
        (
            TestStatus::Failed,
            Some("The privileged role SETUP_ADMIN is missing these grants on the account: MANAGE GRANTS ON ACCOUNT. Grant them, or use a role that holds them (e.g. ACCOUNTADMIN).".to_owned())
        )
    );
    let remedy = only_remedy(&r, BOOTSTRAP_GRANTS);
    assert_eq!(
        remedy.statements,
        ["GRANT MANAGE GRANTS ON ACCOUNT TO ROLE \"SETUP_ADMIN\";"]
    );
    assert!(!format!("{:?}", r.remedies).contains(SENTINEL));

    as_admin(&server, &remedy.statements).await;
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, BOOTSTRAP_GRANTS),
        (TestStatus::Passed, None)
    );
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}

/// Two privileges missing: one statement each, in the contract's order.
#[test]
fn account_grants_remedy_names_each_missing_privilege() {
    let f = account_grants_remedy("R", &["CREATE ROLE", "MANAGE GRANTS"]);
    assert_eq!(
        f.missing,
        "CREATE ROLE, MANAGE GRANTS on the account for the role R"
    );
    assert_eq!(
        f.statements,
        [
            "GRANT CREATE ROLE ON ACCOUNT TO ROLE \"R\";",
            "GRANT MANAGE GRANTS ON ACCOUNT TO ROLE \"R\";"
        ]
    );
}
