//! The validation tests. Names and failure messages are the response
//! contract's, character for character; descriptions and every other message
//! are ours.

use crate::client;
use crate::config::RedshiftConfig;
use junction_core::{Check, CheckContext, CheckOutcome};
use junction_kit::contract;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::Client;

// All three tests and their messages are ones the SQL platforms share.
const CONNECT: &str = contract::TEST_BASIC_CONNECTION;
const DATABASE_ABSENT: &str = contract::TEST_DATABASE_ABSENT;
const ROLE_ABSENT: &str = contract::TEST_IMPERSONATION_ROLE_ABSENT;

const CONNECT_FAILED: &str = contract::UNABLE_TO_CONNECT;
const DATABASE_EXISTS: &str = contract::DATABASE_EXISTS;
const ROLE_EXISTS: &str = contract::IMPERSONATION_ROLE_EXISTS;

/// Longer than the longest connect timeout a config may set, plus a query: the
/// connect timeout, not the runner's, decides when a connection gives up.
const CHECK_TIMEOUT: Duration =
    Duration::from_secs(crate::config::MAX_CONNECT_TIMEOUT_SECONDS + 15);

/// The database the configured credentials log in to: the initial one for an
/// automatic set-up (the managed one does not exist yet), the managed one for a
/// manual set-up (the operator created it, and the system user may use it).
fn login_database(c: &RedshiftConfig, ctx: &CheckContext) -> String {
    if ctx.auto_bootstrap {
        c.initial_database.clone()
    } else {
        c.database.clone()
    }
}

/// The connection test's connection, handed on to the tests that require it
/// in the same run: a log-in is several round trips, most of a test's time
/// over a long network path. A run gets fresh checks (and so a fresh hand-off)
/// from `checks()`; the connection is only reused for the very configuration
/// it was opened with (the same `Arc`, kept alive here so its address cannot
/// be reused by another).
#[derive(Default)]
struct Handoff(Mutex<Option<(Arc<RedshiftConfig>, Arc<Client>)>>);

impl Handoff {
    fn put(&self, config: &Arc<RedshiftConfig>, client: Arc<Client>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((Arc::clone(config), client));
        }
    }

    /// A connection to the initial database for `config`: the handed-on one, or a new one.
    async fn initial(&self, config: &Arc<RedshiftConfig>) -> Result<Arc<Client>, client::DbError> {
        let handed = self.0.lock().ok().and_then(|slot| {
            slot.as_ref()
                .filter(|(c, client)| Arc::ptr_eq(c, config) && !client.is_closed())
                .map(|(_, client)| Arc::clone(client))
        });
        match handed {
            Some(client) => Ok(client),
            None => {
                let conn = client::connect(
                    config,
                    &config.initial_database,
                    &client::credentials_of(config),
                )
                .await?;
                Ok(Arc::new(conn))
            }
        }
    }
}

/// The tests, declared as data: name, description, prerequisites, when they
/// apply, and the code that runs them (the functions below).
pub fn checks() -> Vec<Check<RedshiftConfig>> {
    let handoff = Arc::new(Handoff::default());
    let (h1, h2, h3) = (Arc::clone(&handoff), Arc::clone(&handoff), handoff);
    vec![
        Check::new(
            CONNECT,
            "Connects and logs in to the cluster with the configured credentials.",
            move |c, ctx| connection_test(c, ctx, Arc::clone(&h1)),
        )
        .timeout(CHECK_TIMEOUT),
        Check::new(
            DATABASE_ABSENT,
            "Verifies that the database named in the payload does not exist yet, \
             so that the set-up can create it.",
            move |c, ctx| database_absent(c, ctx, Arc::clone(&h2)),
        )
        .requires(CONNECT)
        .only_auto_bootstrap()
        .timeout(CHECK_TIMEOUT),
        Check::new(
            ROLE_ABSENT,
            "Verifies that the impersonation role named in the payload does not exist yet, \
             so that the set-up can create it.",
            move |c, ctx| role_absent(c, ctx, Arc::clone(&h3)),
        )
        .requires(CONNECT)
        .applies_when(
            "Applies only to automatic set-up (autoBootstrap is true) with impersonation enabled.",
            |c: &RedshiftConfig, ctx| ctx.auto_bootstrap && c.impersonation.enabled,
        )
        .timeout(CHECK_TIMEOUT),
    ]
}

async fn connection_test(
    c: Arc<RedshiftConfig>,
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let db = login_database(&c, &ctx);
    let conn = match client::connect(&c, &db, &client::credentials_of(&c)).await {
        Ok(conn) => conn,
        Err(e) => {
            // The contract's message is fixed; the cause goes to the log.
            tracing::warn!(error = %e, "connection test failed");
            return CheckOutcome::failed(CONNECT_FAILED);
        }
    };
    // The log-in itself proves the connection (the server said ReadyForQuery):
    // no query of its own, so validation costs the log-in and one flight.
    if ctx.auto_bootstrap {
        // Logged in to the initial database: what the other two tests use.
        handoff.put(&c, Arc::new(conn));
    }
    CheckOutcome::passed()
}

async fn database_absent(
    c: Arc<RedshiftConfig>,
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let exists = match handoff.initial(&c).await {
        Ok(conn) => client::database_exists(&conn, &c.database).await,
        Err(e) => Err(e),
    };
    match exists {
        Ok(false) => CheckOutcome::passed(),
        Ok(true) => {
            let own = ctx
                .own_stored_config()
                .and_then(|s| s.get("database"))
                .and_then(|d| d.as_str());
            if own == Some(c.database.as_str()) {
                CheckOutcome::passed_with(format!(
                    "The database \"{}\" is the one this integration already manages.",
                    c.database
                ))
            } else {
                CheckOutcome::failed(DATABASE_EXISTS)
            }
        }
        Err(e) => CheckOutcome::failed(format!("Unable to look the database up: {e}")),
    }
}

async fn role_absent(
    c: Arc<RedshiftConfig>,
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let role = &c.impersonation.role;
    let exists = match handoff.initial(&c).await {
        Ok(conn) => client::role_exists(&conn, role).await,
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
            if own == Some(role.as_str()) {
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
