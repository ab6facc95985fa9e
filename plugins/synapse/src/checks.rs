//! The validation tests. Names and failure messages are the response
//! contract's, character for character; descriptions and every other message
//! are ours.

use crate::client::{self, Client, Credentials};
use crate::config::{SYSTEM_SCHEMAS, SynapseConfig};
use junction_core::{Check, CheckContext, CheckOutcome};
use junction_kit::contract;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CONNECT: &str = "Initial validation: connect";
pub const DELIMITERS: &str = "Initial validation: delimiters test";
pub const ROLE_ABSENT: &str = contract::TEST_IMPERSONATION_ROLE_ABSENT;
pub const MANAGE: &str = "Validate Immuta system user can manage database";

pub const CONNECT_FAILED: &str = contract::UNABLE_TO_CONNECT;
pub const DELIMITERS_EQUAL: &str =
    "Hash delimiter and array delimiter must not have the same value.";
pub const ROLE_EXISTS: &str = contract::IMPERSONATION_ROLE_EXISTS;
pub const CANNOT_MANAGE: &str = "User does not have permission to manage database.";

/// Longer than the longest connect timeout a config may set, plus queries:
/// the connect timeout, not the runner's, decides when a connection gives up.
const CHECK_TIMEOUT: Duration =
    Duration::from_secs(crate::config::MAX_CONNECT_TIMEOUT_SECONDS + 15);

/// What automatic set-up needs of the privileged user in the database:
/// CONTROL (db_owner) to create users, roles and schemas and to grant on them.
pub const AUTOMATIC_NEEDS: &[&str] = &["CONTROL"];
/// What a manual set-up gives the system user in the database.
pub const MANUAL_NEEDS: &[&str] = &[
    "CONNECT",
    "CREATE TABLE",
    "CREATE VIEW",
    "CREATE FUNCTION",
    "CREATE PROCEDURE",
];
/// What it gives it on each of its schemas.
pub const MANUAL_SCHEMA_NEEDS: &[&str] = &[
    "ALTER",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "EXECUTE",
    "REFERENCES",
];

/// The connection test's connection, handed on to the tests that require it
/// in the same run: a TDS log-in is several round trips. A run gets fresh
/// checks (and so a fresh hand-off) from `checks()`; the connection is only
/// reused for the very configuration it was opened with (the same `Arc`).
#[derive(Default)]
struct Handoff(Mutex<Option<(Arc<SynapseConfig>, Shared)>>);

/// A connection the tests of one run take turns on.
type Shared = Arc<tokio::sync::Mutex<Client>>;

impl Handoff {
    fn put(&self, config: &Arc<SynapseConfig>, client: Client) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((
                Arc::clone(config),
                Arc::new(tokio::sync::Mutex::new(client)),
            ));
        }
    }

    async fn get(&self, config: &Arc<SynapseConfig>) -> Result<Shared, client::DbError> {
        let handed = self.0.lock().ok().and_then(|slot| {
            slot.as_ref()
                .filter(|(c, _)| Arc::ptr_eq(c, config))
                .map(|(_, client)| Arc::clone(client))
        });
        match handed {
            Some(c) => Ok(c),
            None => {
                let c = client::connect(config, &config.database, &Credentials::of(config)).await?;
                Ok(Arc::new(tokio::sync::Mutex::new(c)))
            }
        }
    }
}

/// The tests, declared as data: name, description, prerequisites, when they
/// apply, and the code that runs them (the functions below).
pub fn checks() -> Vec<Check<SynapseConfig>> {
    let handoff = Arc::new(Handoff::default());
    let (h1, h2, h3) = (Arc::clone(&handoff), Arc::clone(&handoff), handoff);
    vec![
        Check::new(
            CONNECT,
            "Connects to the database with the configured credentials (retrying Azure's transient log-in errors within the connect timeout) and runs a query.",
            move |c, ctx| connection_test(c, ctx, Arc::clone(&h1)),
        )
        .timeout(CHECK_TIMEOUT),
        Check::new(
            DELIMITERS,
            "Verifies that the hash delimiter and the array delimiter differ.",
            |c: Arc<SynapseConfig>, _ctx| async move { delimiters_test(&c) },
        )
        .requires(CONNECT),
        Check::new(
            ROLE_ABSENT,
            "Verifies that the impersonation role named in the payload does not exist yet in the database, so that the set-up can create it.",
            move |c, ctx| role_absent(c, ctx, Arc::clone(&h2)),
        )
        .requires(CONNECT)
        .applies_when(
            "Applies only to automatic set-up (autoBootstrap is true) with impersonation enabled.",
            |c: &SynapseConfig, ctx| ctx.auto_bootstrap && c.impersonation.enabled,
        )
        .timeout(CHECK_TIMEOUT),
        Check::new(
            MANAGE,
            "Asks the server which permissions the configured user holds (fn_my_permissions, HAS_PERMS_BY_NAME): CONTROL of the database for an automatic set-up; for a manual one, what the create script grants the system user.",
            move |c, ctx| manage_test(c, ctx, Arc::clone(&h3)),
        )
        .requires(CONNECT)
        .timeout(CHECK_TIMEOUT),
    ]
}

async fn connection_test(
    c: Arc<SynapseConfig>,
    _ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let mut conn = match client::connect(&c, &c.database, &Credentials::of(&c)).await {
        Ok(conn) => conn,
        Err(e) => {
            // The contract's message is fixed; the cause goes to the log.
            tracing::warn!(error = %e, "connection test failed");
            return CheckOutcome::failed(CONNECT_FAILED);
        }
    };
    if let Err(e) = client::ping(&mut conn).await {
        tracing::warn!(error = %e, "query after connecting failed");
        return CheckOutcome::failed(CONNECT_FAILED);
    }
    handoff.put(&c, conn);
    CheckOutcome::passed()
}

/// Static: the two delimiters that would make a flattened value ambiguous.
pub fn delimiters_test(c: &SynapseConfig) -> CheckOutcome {
    let d = &c.metadata_delimiters;
    if d.hash_delimiter == d.array_delimiter {
        CheckOutcome::failed(DELIMITERS_EQUAL)
    } else {
        CheckOutcome::passed()
    }
}

async fn role_absent(
    c: Arc<SynapseConfig>,
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let role = &c.impersonation.role;
    let exists = match handoff.get(&c).await {
        Ok(conn) => client::principal_exists(&mut *conn.lock().await, role).await,
        Err(e) => Err(e),
    };
    match exists {
        Ok(false) => CheckOutcome::passed(),
        Ok(true) => {
            let own = ctx.own_stored_config().and_then(|s| {
                let imp = s.get("impersonation")?;
                let enabled = imp.get("enabled")?.as_bool()?;
                enabled.then(|| imp.get("role")?.as_str())?
            });
            if own.is_some_and(|r| r.eq_ignore_ascii_case(role)) {
                CheckOutcome::passed_with(format!(
                    "The role \"{role}\" is the one this integration already manages."
                ))
            } else {
                CheckOutcome::failed(ROLE_EXISTS)
            }
        }
        Err(e) => CheckOutcome::failed(format!("Unable to look the role up: {e}")),
    }
}

async fn manage_test(
    c: Arc<SynapseConfig>,
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let conn = match handoff.get(&c).await {
        Ok(conn) => conn,
        Err(e) => {
            return CheckOutcome::failed(format!("Unable to connect to ask for permissions: {e}"));
        }
    };
    let mut conn = conn.lock().await;
    let held = match client::database_permissions(&mut conn).await {
        Ok(h) => h,
        Err(e) => return CheckOutcome::failed(format!("Unable to read the permissions held: {e}")),
    };
    let needs = if ctx.auto_bootstrap {
        AUTOMATIC_NEEDS
    } else {
        MANUAL_NEEDS
    };
    let mut missing: Vec<String> = needs
        .iter()
        .filter(|p| !held.contains(**p))
        .map(|p| (*p).to_owned())
        .collect();
    if !ctx.auto_bootstrap {
        let schemas = std::iter::once(c.schema.as_str()).chain(SYSTEM_SCHEMAS);
        for schema in schemas {
            for perm in MANUAL_SCHEMA_NEEDS {
                match client::schema_permission(&mut conn, schema, perm).await {
                    Ok(Some(true)) => {}
                    Ok(Some(false)) => missing.push(format!("{perm} on schema {schema}")),
                    Ok(None) => missing.push(format!("schema {schema} (missing)")),
                    Err(e) => {
                        return CheckOutcome::failed(format!(
                            "Unable to read the permissions held: {e}"
                        ));
                    }
                }
            }
        }
        missing.dedup();
    }
    if missing.is_empty() {
        CheckOutcome::passed()
    } else {
        // The contract's message; what is missing goes to the log.
        tracing::warn!(user = %c.username, missing = ?missing, "the user cannot manage the database");
        CheckOutcome::failed(CANNOT_MANAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages_are_the_contracts() {
        assert_eq!(CONNECT_FAILED, "Unable to connect to host.");
        assert_eq!(
            ROLE_ABSENT,
            "Validate automatic: impersonation role does not exist"
        );
        let names: Vec<String> = checks().iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, [CONNECT, DELIMITERS, ROLE_ABSENT, MANAGE]);
    }
}
