//! The validation tests against `fake_snowflake`: what fakesnow cannot
//! express (roles, grants, SHOW ROLES, SHOW GRANTS).

use crate::fake_snowflake::{FakeSnowflake, q};
use crate::support::{self, unique};
use junction_core::{Peer, Status, TestStatus};
use junction_snowflake::testing::checks::*;
use serde_json::json;

const PW: &str = "admin-password";

#[tokio::test]
async fn fake_snowflake_everything_passes_for_a_fresh_account() {
    let server = FakeSnowflake::start(PW).await;
    let mut config = support::fake_config(&server, PW, &unique("fresh"));
    config["impersonation"] = json!({"enabled": true, "role": "JT_IMP"});
    config["tableGrants"] = json!({"enabled": true});
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
    for t in &r.validation_tests {
        assert_eq!(t.status, TestStatus::Passed, "{t:?}");
    }
    assert_eq!(
        support::result(&r, BOOTSTRAP_GRANTS).1.as_deref(),
        Some("ACCOUNTADMIN holds every account privilege.")
    );
    // One log-in for the whole run, in the configured role; its session is
    // closed in the background once the run is over.
    let logins = server.with(|s| s.logins.clone());
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].role.as_deref(), Some("ACCOUNTADMIN"));
    for _ in 0..100 {
        if server.with(|s| s.closed_sessions) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(server.with(|s| s.closed_sessions), 1);
}

#[tokio::test]
async fn fake_snowflake_privileged_role_not_granted_fails() {
    let server = FakeSnowflake::start(PW).await;
    server.add_object(format!("role {}", q("OTHER_ADMIN")), "ACCOUNTADMIN");
    let mut config = support::fake_config(&server, PW, &unique("role"));
    config["role"] = "OTHER_ADMIN".into();
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, PRIVILEGED_ROLE),
        (TestStatus::Failed, Some(PRIVILEGED_ROLE_FAILED.to_owned()))
    );
    // The grants test requires the role test.
    let (status, message) = support::result(&r, BOOTSTRAP_GRANTS);
    assert_eq!(status, TestStatus::Skipped);
    assert!(message.unwrap().contains(PRIVILEGED_ROLE));
}

#[tokio::test]
async fn fake_snowflake_bootstrap_grants_name_what_is_missing() {
    let server = FakeSnowflake::start(PW).await;
    // SETUP_ADMIN holds CREATE DATABASE itself and CREATE USER through a granted role.
    server.add_user("SETUP", "setup-pw", "SETUP_ADMIN");
    server.with(|s| {
        s.objects.insert(format!("role {}", q("USERS_ADMIN")));
        s.grants.insert(format!(
            "CREATE DATABASE ON ACCOUNT TO ROLE {}",
            q("SETUP_ADMIN")
        ));
        s.grants.insert(format!(
            "ROLE {} TO ROLE {}",
            q("USERS_ADMIN"),
            q("SETUP_ADMIN")
        ));
        s.grants.insert(format!(
            "CREATE USER ON ACCOUNT TO ROLE {}",
            q("USERS_ADMIN")
        ));
    });
    let mut config = support::fake_config(&server, "setup-pw", &unique("grants"));
    config["username"] = "SETUP".into();
    config["role"] = "SETUP_ADMIN".into();
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, PRIVILEGED_ROLE).0,
        TestStatus::Passed,
        "{r:?}"
    );
    assert_eq!(
        support::result(&r, BOOTSTRAP_GRANTS),
        (
            TestStatus::Failed,
            Some("The privileged role SETUP_ADMIN is missing these grants on the account: CREATE ROLE ON ACCOUNT, MANAGE GRANTS ON ACCOUNT. Grant them, or use a role that holds them (e.g. ACCOUNTADMIN).".to_owned())
        )
    );
    assert!(
        server
            .statements()
            .iter()
            .any(|s| s == "SHOW GRANTS TO ROLE \"USERS_ADMIN\"")
    );
    // Granting the rest makes it pass.
    server.with(|s| {
        s.grants.insert(format!(
            "CREATE ROLE, MANAGE GRANTS ON ACCOUNT TO ROLE {}",
            q("USERS_ADMIN")
        ));
    });
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, BOOTSTRAP_GRANTS),
        (TestStatus::Passed, None)
    );
    // Manual set-up: the test does not apply.
    let r = support::validate(&config, false, None, vec![]).await;
    assert_eq!(support::result(&r, BOOTSTRAP_GRANTS).0, TestStatus::Skipped);
}

#[tokio::test]
async fn fake_snowflake_impersonation_role_test_both_ways() {
    let server = FakeSnowflake::start(PW).await;
    let mut config = support::fake_config(&server, PW, &unique("imp"));
    config["impersonation"] = json!({"enabled": true, "role": "TAKEN_IMP"});
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(support::result(&r, ROLE_ABSENT), (TestStatus::Passed, None));
    server.add_object(format!("role {}", q("TAKEN_IMP")), "ACCOUNTADMIN");
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, ROLE_ABSENT),
        (TestStatus::Failed, Some(ROLE_EXISTS.to_owned()))
    );
    // On an edit, the integration's own role passes.
    let own = Peer {
        id: 7,
        status: Status::Enabled,
        config: config.clone(),
    };
    let r = support::validate(&config, true, Some(7), vec![own]).await;
    assert_eq!(support::result(&r, ROLE_ABSENT).0, TestStatus::Passed);
    // Disabled impersonation: the test does not apply.
    config["impersonation"]["enabled"] = false.into();
    let r = support::validate(&config, true, None, vec![]).await;
    let (status, message) = support::result(&r, ROLE_ABSENT);
    assert_eq!(status, TestStatus::Skipped);
    assert!(message.unwrap().contains("impersonation enabled"));
}

#[tokio::test]
async fn fake_snowflake_role_prefix_in_use_names_the_configured_prefix() {
    let server = FakeSnowflake::start(PW).await;
    let mut config = support::fake_config(&server, PW, &unique("prefix"));
    config["tableGrants"] = json!({"enabled": true, "rolePrefix": "ACME"});
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(support::result(&r, ROLE_PREFIX), (TestStatus::Passed, None));
    // Another instance's table-grant role.
    server.add_object(format!("role {}", q("ACME_1234_SELECT")), "ACCOUNTADMIN");
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, ROLE_PREFIX),
        (
            TestStatus::Failed,
            Some("The Snowflake table grants role prefix ACME is used by another Immuta instance connected to the same Snowflake host. Please update the table grants role prefix for this Immuta instance and try again.".to_owned())
        )
    );
    // A role that only starts with the prefix's letters is no clash.
    config["tableGrants"]["rolePrefix"] = "ACM".into();
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(support::result(&r, ROLE_PREFIX).0, TestStatus::Passed);
    // Table grants off: the test does not apply.
    config["tableGrants"]["enabled"] = false.into();
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(support::result(&r, ROLE_PREFIX).0, TestStatus::Skipped);
}

#[tokio::test]
async fn fake_snowflake_wrong_password_fails_the_connection_test_only() {
    let server = FakeSnowflake::start(PW).await;
    let config = support::fake_config(&server, "wrong-password", &unique("badpw"));
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, CONNECT),
        (TestStatus::Failed, Some(CONNECT_FAILED.to_owned()))
    );
    assert!(
        r.validation_tests
            .iter()
            .filter(|t| t.name != CONNECT)
            .all(|t| t.status == TestStatus::Skipped),
        "{r:?}"
    );
}

/// A user whose default role sees nothing, and whose privileged role owns a
/// database: checks that ran in the default role would not see it.
fn bootstrapper(server: &FakeSnowflake, database: &str) -> serde_json::Value {
    server.add_user("BOOT", "boot-pw", "BOOT_DEFAULT");
    server.add_object(format!("role {}", q("BOOTSTRAPPER")), "ACCOUNTADMIN");
    server.with(|s| {
        s.grants
            .insert(format!("ROLE {} TO USER {}", q("BOOTSTRAPPER"), q("BOOT")));
        s.grants.insert(format!(
            "USAGE ON WAREHOUSE {} TO ROLE {}",
            q(crate::fake_snowflake::WAREHOUSE),
            q("BOOTSTRAPPER")
        ));
        for p in [
            "CREATE DATABASE",
            "CREATE ROLE",
            "CREATE USER",
            "MANAGE GRANTS",
        ] {
            s.grants
                .insert(format!("{p} ON ACCOUNT TO ROLE {}", q("BOOTSTRAPPER")));
        }
    });
    server.add_object(format!("database {}", q(database)), "BOOTSTRAPPER");
    let mut config = support::config(
        &server.endpoint,
        "BOOT",
        "boot-pw",
        crate::fake_snowflake::WAREHOUSE,
        database,
    );
    config["role"] = "BOOTSTRAPPER".into();
    config
}

#[tokio::test]
async fn fake_snowflake_a_database_hidden_from_the_default_role_is_found() {
    let server = FakeSnowflake::start(PW).await;
    let db = unique("hidden");
    let config = bootstrapper(&server, &db);
    // The user's default role cannot see it: SHOW DATABASES there is empty.
    let r = support::validate(&config, true, None, vec![]).await;
    assert_eq!(
        support::result(&r, DATABASE_ABSENT),
        (TestStatus::Failed, Some(DATABASE_EXISTS.to_owned())),
        "{r:?}"
    );
    // The grants test reads the privileged role's grants: all held.
    assert_eq!(support::result(&r, BOOTSTRAP_GRANTS).0, TestStatus::Passed);
    // Every lookup ran in the privileged role, never in the default one:
    // the run's one session logged in in it.
    let logins = server.with(|s| s.logins.clone());
    assert!(
        logins
            .iter()
            .all(|l| l.role.as_deref() == Some("BOOTSTRAPPER")),
        "{logins:?}"
    );
}
