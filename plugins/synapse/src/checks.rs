//! The validation tests. Names and failure messages are the response
//! contract's, character for character; descriptions and every other message
//! are ours.

use crate::client::{self, Facts, Questions};
use crate::config::{SYSTEM_SCHEMAS, SynapseConfig};
use junction_core::{Check, CheckContext, CheckOutcome, Fix};
use junction_kit::sql::tsql::ident;
use junction_kit::{Dialect, contract, remedy};
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

/// What the connection test learned, handed on to the tests that require
/// it in the same run: it asks the server everything they need in the one
/// query after its log-in (a TDS log-in is four round trips; each question
/// on its own would be one more). A run gets fresh checks (and so a fresh
/// hand-off) from `checks()`; the facts are only used for the very
/// configuration they were fetched for (the same `Arc`). A test run on its
/// own connects and asks for itself.
#[derive(Default)]
struct Handoff(Mutex<Option<(Arc<SynapseConfig>, bool, Facts)>>);

/// What the tests of a run need to know, by the set-up mode.
fn questions(c: &SynapseConfig, auto_bootstrap: bool) -> Questions<'_> {
    if auto_bootstrap {
        Questions {
            principal: c.impersonation_role(),
            ..Questions::default()
        }
    } else {
        Questions {
            principal: None,
            schemas: std::iter::once(c.schema.as_str())
                .chain(SYSTEM_SCHEMAS)
                .collect(),
            schema_permissions: MANUAL_SCHEMA_NEEDS,
        }
    }
}

impl Handoff {
    fn put(&self, config: &Arc<SynapseConfig>, auto_bootstrap: bool, facts: Facts) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((Arc::clone(config), auto_bootstrap, facts));
        }
    }

    async fn get(
        &self,
        config: &Arc<SynapseConfig>,
        auto_bootstrap: bool,
    ) -> Result<Facts, client::DbError> {
        let handed = self.0.lock().ok().and_then(|slot| {
            slot.as_ref()
                .filter(|(c, auto, _)| Arc::ptr_eq(c, config) && *auto == auto_bootstrap)
                .map(|(_, _, f)| f.clone())
        });
        match handed {
            Some(f) => Ok(f),
            None => {
                let mut conn =
                    client::connect(config, &config.database, &client::credentials_of(config))
                        .await?;
                let facts = client::facts(&mut conn, &questions(config, auto_bootstrap)).await;
                let _ = conn.close().await;
                facts
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
            "Connects to the database with the configured credentials (retrying Azure's transient log-in errors within the connect timeout) and asks, in one query, what the other tests need.",
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
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let mut conn = match client::connect(&c, &c.database, &client::credentials_of(&c)).await {
        Ok(conn) => conn,
        Err(e) => {
            // The contract's message is fixed; the cause goes to the log.
            tracing::warn!(error = %e, "connection test failed");
            return CheckOutcome::failed(CONNECT_FAILED);
        }
    };
    // The log-in proves the connection; the one query after it asks what
    // the other tests need. A server that cannot answer it (pysqlbridge has
    // no permission functions) still connects: the tests that need the
    // answers ask again and report it themselves.
    let facts = client::facts(&mut conn, &questions(&c, ctx.auto_bootstrap)).await;
    let _ = conn.close().await;
    match facts {
        Ok(facts) => handoff.put(&c, ctx.auto_bootstrap, facts),
        Err(e) => tracing::warn!(error = %e, "the query after the log-in failed"),
    }
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
    let exists = handoff
        .get(&c, ctx.auto_bootstrap)
        .await
        .map(|f| f.principal_exists);
    match exists {
        Ok(Some(false)) => CheckOutcome::passed(),
        Ok(Some(true)) => {
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
        Ok(None) => CheckOutcome::failed("The role was not looked up."),
        Err(e) => CheckOutcome::failed(format!("Unable to look the role up: {e}")),
    }
}

async fn manage_test(
    c: Arc<SynapseConfig>,
    ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    let facts = match handoff.get(&c, ctx.auto_bootstrap).await {
        Ok(f) => f,
        Err(e) => return CheckOutcome::failed(format!("Unable to read the permissions held: {e}")),
    };
    let needs = if ctx.auto_bootstrap {
        AUTOMATIC_NEEDS
    } else {
        MANUAL_NEEDS
    };
    let missing = Missing::of(needs, &facts);
    if missing.is_empty() {
        CheckOutcome::passed()
    } else {
        // The contract's message; what is missing goes to the log and, as
        // the statements that grant it, to the remedy.
        tracing::warn!(user = %c.username, missing = ?missing.describe(), "the user cannot manage the database");
        CheckOutcome::failed(CANNOT_MANAGE).with_remedy(manage_remedy(&c, &missing))
    }
}

/// What the manage test found missing: database permissions, and per
/// schema the permissions missing on it (all of them when the schema itself
/// is missing).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Missing {
    pub database: Vec<String>,
    /// `(schema, exists, permissions)` in the order asked.
    pub schemas: Vec<(String, bool, Vec<String>)>,
}

impl Missing {
    fn of(needs: &[&str], facts: &Facts) -> Self {
        let database = needs
            .iter()
            .filter(|p| !facts.database_permissions.contains(**p))
            .map(|p| (*p).to_owned())
            .collect();
        let mut schemas: Vec<(String, bool, Vec<String>)> = Vec::new();
        for (schema, perm, held) in &facts.schema_permissions {
            if *held == Some(true) {
                continue;
            }
            let exists = held.is_some();
            match schemas.iter_mut().find(|(s, _, _)| s == schema) {
                Some((_, _, perms)) => perms.push(perm.clone()),
                None => schemas.push((schema.clone(), exists, vec![perm.clone()])),
            }
        }
        Missing { database, schemas }
    }

    fn is_empty(&self) -> bool {
        self.database.is_empty() && self.schemas.is_empty()
    }

    /// One phrase per missing thing, as the log and the remedy say it.
    fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self.database.clone();
        for (schema, exists, perms) in &self.schemas {
            if !exists {
                out.push(format!("schema {schema} (missing)"));
            }
            out.extend(perms.iter().map(|p| format!("{p} on schema {schema}")));
        }
        out
    }
}

/// The T-SQL that grants exactly what is missing to the configured user, run
/// in the configured database by someone who holds CONTROL of it: CONTROL of
/// the database for an automatic set-up; for a manual one, the database
/// permissions and, per schema (created first when missing), the schema
/// permissions the create script grants.
pub fn manage_remedy(c: &SynapseConfig, missing: &Missing) -> Fix {
    let user = ident(&c.username);
    let mut statements = Vec::new();
    if !missing.database.is_empty() {
        // CONTROL is granted on the database by name, as an operator reads
        // it; the rest are database-scoped permissions granted in it.
        if missing.database.iter().any(|p| p == "CONTROL") {
            statements.push(format!(
                "GRANT CONTROL ON DATABASE::{} TO {user}",
                ident(&c.database)
            ));
        }
        let rest: Vec<&str> = missing
            .database
            .iter()
            .map(String::as_str)
            .filter(|p| *p != "CONTROL")
            .collect();
        if !rest.is_empty() {
            statements.push(format!("GRANT {} TO {user}", rest.join(", ")));
        }
    }
    for (schema, exists, perms) in &missing.schemas {
        if !exists {
            statements.push(format!("CREATE SCHEMA {}", ident(schema)));
        }
        statements.push(format!(
            "GRANT {} ON SCHEMA::{} TO {user}",
            perms.join(", "),
            ident(schema)
        ));
    }
    remedy::sql(
        Dialect::TSql,
        format!(
            "{} for the user {} in the database {}",
            missing.describe().join(", "),
            c.username,
            c.database
        ),
        statements,
    )
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
