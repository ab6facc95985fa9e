//! The validation tests. Names and failure messages are the response
//! contract's, character for character (the role prefix filled in); the
//! descriptions and every other message are ours.

use crate::client::{self, Credentials, Session, SfError};
use crate::config::SnowflakeConfig;
use crate::scripts::ident;
use junction_core::{Check, CheckContext, CheckOutcome, Fix};
use junction_kit::{Dialect, contract, remedy};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

pub const CONNECT: &str = contract::TEST_BASIC_CONNECTION;
pub const WAREHOUSE: &str = "Initial validation: default warehouse access test";
pub const ROLE_PREFIX: &str = "Initial validation: table grants role prefix is unique";
pub const PRIVILEGED_ROLE: &str = "Initial validation: validate access to privileged role";
pub const BOOTSTRAP_GRANTS: &str = "Validate automatic bootstrap user grants";
pub const DATABASE_ABSENT: &str = contract::TEST_DATABASE_ABSENT;
pub const ROLE_ABSENT: &str = contract::TEST_IMPERSONATION_ROLE_ABSENT;

pub const CONNECT_FAILED: &str = contract::UNABLE_TO_CONNECT;
pub const WAREHOUSE_FAILED: &str = "Unable to access default warehouse. If this was a manual installation, ensure that the user has been granted usage on the specified warehouse.";
pub const PRIVILEGED_ROLE_FAILED: &str = "User does not have access to the privileged role.";
pub const DATABASE_EXISTS: &str = contract::DATABASE_EXISTS;
pub const ROLE_EXISTS: &str = contract::IMPERSONATION_ROLE_EXISTS;

/// The contract's message for a role prefix in use, with the configured prefix.
pub fn role_prefix_in_use(prefix: &str) -> String {
    format!(
        "The Snowflake table grants role prefix {prefix} is used by another Immuta instance connected to the same Snowflake host. Please update the table grants role prefix for this Immuta instance and try again."
    )
}

/// Account privileges the privileged role needs for an automatic set-up.
pub const REQUIRED_ACCOUNT_PRIVILEGES: [&str; 4] = [
    "CREATE DATABASE",
    "CREATE ROLE",
    "CREATE USER",
    "MANAGE GRANTS",
];

/// The warehouse test's remedy: usage of the warehouse by the role the
/// checks (and the integration) work in.
pub fn warehouse_remedy(c: &SnowflakeConfig) -> Fix {
    remedy::sql(
        Dialect::Snowflake,
        format!(
            "USAGE on the warehouse {} for the role {}",
            c.warehouse, c.role
        ),
        [format!(
            "GRANT USAGE ON WAREHOUSE {} TO ROLE {}",
            ident(&c.warehouse),
            ident(&c.role)
        )],
    )
}

/// The privileged-role test's remedy: the role granted to the user.
pub fn privileged_role_remedy(c: &SnowflakeConfig) -> Fix {
    remedy::sql(
        Dialect::Snowflake,
        format!("the role {} granted to the user {}", c.role, c.username),
        [format!(
            "GRANT ROLE {} TO USER {}",
            ident(&c.role),
            ident(&c.username)
        )],
    )
}

/// The bootstrap grants test's remedy: each missing account privilege, one
/// statement each.
pub fn account_grants_remedy(role: &str, missing: &[&str]) -> Fix {
    remedy::sql(
        Dialect::Snowflake,
        format!("{} on the account for the role {role}", missing.join(", ")),
        missing
            .iter()
            .map(|p| format!("GRANT {p} ON ACCOUNT TO ROLE {}", ident(role))),
    )
}

/// Longer than the longest connect timeout a config may set, plus a few
/// queries: the connect timeout, not the runner's, decides when a log-in gives up.
const CHECK_TIMEOUT: Duration =
    Duration::from_secs(crate::config::MAX_CONNECT_TIMEOUT_SECONDS + 20);

fn span(name: &'static str, ctx: &CheckContext) -> tracing::Span {
    tracing::info_span!(
        "check",
        platform = crate::TYPE_NAME,
        integration_id = ?ctx.integration_id,
        test = name,
    )
}

/// What one validation run's log-in came to.
#[derive(Clone)]
enum RunLogin {
    /// Logged in already in the configured role, with the warehouse.
    InRole(Arc<Session>),
    /// The role was refused at log-in (not granted to the user); logged in
    /// in the user's default role instead.
    RoleRefused(Arc<Session>, String),
    Failed(String),
}

/// The one session of a validation run, shared by its tests: one log-in,
/// in the configured role (the drivers' `roleName` log-in parameter), and
/// then every test's queries side by side on it — the protocol's minimum
/// of round trips. What a role may see and do depends on it, so the
/// look-ups run in that role, never in the user's default role (a database
/// hidden from that one would pass the absence test and then fail at
/// `CREATE DATABASE`). Kept only for the very configuration it was opened
/// for (the same `Arc`); closed in the background when the run's checks
/// are dropped.
#[derive(Default)]
struct RunSession(tokio::sync::Mutex<Option<(Arc<SnowflakeConfig>, RunLogin)>>);

impl RunSession {
    async fn login(&self, c: &Arc<SnowflakeConfig>) -> RunLogin {
        let mut slot = self.0.lock().await;
        if let Some((opened_for, login)) = slot.as_ref()
            && Arc::ptr_eq(opened_for, c)
        {
            return login.clone();
        }
        let login = match Session::open_in(c, Credentials::of(c), Some(&c.role)).await {
            Ok(s) => RunLogin::InRole(Arc::new(s)),
            Err(SfError::Login { code, message }) if code == ROLE_NOT_GRANTED => {
                let refused = format!("{message} ({code})");
                match Session::open(c, Credentials::of(c)).await {
                    Ok(s) => RunLogin::RoleRefused(Arc::new(s), refused),
                    Err(e) => RunLogin::Failed(e.to_string()),
                }
            }
            Err(e) => RunLogin::Failed(e.to_string()),
        };
        *slot = Some((Arc::clone(c), login.clone()));
        login
    }

    /// `f` on the run's session, in the configured role when it is usable.
    async fn any_role<F, Fut>(&self, c: Arc<SnowflakeConfig>, what: &str, f: F) -> CheckOutcome
    where
        F: FnOnce(Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = (Arc<Session>, CheckOutcome)>,
    {
        match self.login(&c).await {
            RunLogin::InRole(s) | RunLogin::RoleRefused(s, _) => f(s).await.1,
            RunLogin::Failed(e) => CheckOutcome::failed(format!("Unable to {what}: {e}")),
        }
    }

    /// `f` on the run's session in the configured role.
    async fn in_role<F, Fut>(&self, c: Arc<SnowflakeConfig>, what: &str, f: F) -> CheckOutcome
    where
        F: FnOnce(Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = (Arc<Session>, CheckOutcome)>,
    {
        match self.login(&c).await {
            RunLogin::InRole(s) => f(s).await.1,
            RunLogin::RoleRefused(_, e) => CheckOutcome::failed(format!(
                "Unable to {what}: the role {} cannot be used: {e}",
                c.role
            )),
            RunLogin::Failed(e) => CheckOutcome::failed(format!("Unable to {what}: {e}")),
        }
    }
}

impl Drop for RunSession {
    fn drop(&mut self) {
        let Some((_, login)) = self.0.get_mut().take() else {
            return;
        };
        let session = match login {
            RunLogin::InRole(s) | RunLogin::RoleRefused(s, _) => s,
            RunLogin::Failed(_) => return,
        };
        // Logging out is not part of the validation's time.
        if let (Ok(session), Ok(runtime)) = (
            Arc::try_unwrap(session),
            tokio::runtime::Handle::try_current(),
        ) {
            runtime.spawn(session.close());
        }
    }
}

/// Snowflake's answer to a log-in asking for a role the user was not granted.
const ROLE_NOT_GRANTED: &str = "390189";

/// Privileges on the account held by `role`, directly or through the roles
/// granted to it (followed up to a small depth).
pub async fn account_privileges(
    s: &Session,
    role: &str,
) -> Result<std::collections::BTreeSet<String>, SfError> {
    let mut held = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![(role.to_owned(), 0usize)];
    while let Some((r, depth)) = todo.pop() {
        if !seen.insert(r.clone()) || depth > 8 {
            continue;
        }
        let grants = s
            .query(&format!("SHOW GRANTS TO ROLE {}", ident(&r)))
            .await?;
        let (Some(p), Some(on), Some(name)) = (
            grants.column("privilege"),
            grants.column("granted_on"),
            grants.column("name"),
        ) else {
            return Err(SfError::Protocol(
                "SHOW GRANTS answered without privilege, granted_on and name columns".into(),
            ));
        };
        for row in &grants.rows {
            let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            let (privilege, granted_on, object) = (get(p), get(on), get(name));
            if granted_on.eq_ignore_ascii_case("ACCOUNT") {
                held.insert(privilege.to_ascii_uppercase());
            } else if granted_on.eq_ignore_ascii_case("ROLE")
                && privilege.eq_ignore_ascii_case("USAGE")
            {
                todo.push((object, depth + 1));
            }
        }
    }
    Ok(held)
}

pub fn checks() -> Vec<Check<SnowflakeConfig>> {
    let run = Arc::new(RunSession::default());
    vec![
        Check::new(
            CONNECT,
            "Logs in to the account with the configured credentials, in the configured role.",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx| { let run = Arc::clone(&run);
                async move {
                    match run.login(&c).await {
                        // The log-in itself proves the connection.
                        RunLogin::InRole(_) | RunLogin::RoleRefused(..) => CheckOutcome::passed(),
                        RunLogin::Failed(e) => {
                            // The contract's message is fixed; the cause goes to the log.
                            tracing::warn!(error = %e, "connection test failed");
                            CheckOutcome::failed(CONNECT_FAILED)
                        }
                    }
                }
                .instrument(span(CONNECT, &ctx))
            }},
        )
        .timeout(CHECK_TIMEOUT),
        Check::new(
            WAREHOUSE,
            "Verifies that the default warehouse exists and that the configured user (in the configured role) may use it.",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx| { let run = Arc::clone(&run);
                async move {
                    run.any_role(Arc::clone(&c), "look the warehouse up", |s| async move {
                        // The run's session is in the configured role when it is
                        // usable (that role's grants are the ones that matter),
                        // else in the user's default role.
                        let outcome = match client::warehouse_usable(&s, &c.warehouse).await {
                            Ok(true) => CheckOutcome::passed(),
                            // Not visible to the role: it holds no privilege on it.
                            Ok(false) => CheckOutcome::failed(WAREHOUSE_FAILED)
                                .with_remedy(warehouse_remedy(&c)),
                            // Refused by Snowflake (`USE WAREHOUSE`): the same grant.
                            Err(e @ SfError::Statement { .. }) => {
                                tracing::warn!(error = %e, "warehouse test failed");
                                CheckOutcome::failed(WAREHOUSE_FAILED)
                                    .with_remedy(warehouse_remedy(&c))
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "warehouse test failed");
                                CheckOutcome::failed(WAREHOUSE_FAILED)
                            }
                        };
                        (s, outcome)
                    })
                    .await
                }
                .instrument(span(WAREHOUSE, &ctx))
            }},
        )
        .requires(CONNECT)
        // Read-only, on the run's one session: sent with the others.
        .speculative()
        .timeout(CHECK_TIMEOUT),
        Check::new(
            ROLE_PREFIX,
            "Verifies that no role on the account already uses the table grants role prefix (another instance's roles).",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx: CheckContext| { let run = Arc::clone(&run);
                let span = span(ROLE_PREFIX, &ctx);
                async move {
                    let prefix = c.table_grants.role_prefix.clone();
                    let clash = ctx.other_peers().find(|p| {
                        let cfg = &p.config;
                        let host = cfg.get("host").and_then(|h| h.as_str()).unwrap_or("");
                        let tg = cfg.get("tableGrants");
                        host.eq_ignore_ascii_case(&c.host)
                            && tg.and_then(|t| t.get("enabled")).and_then(|e| e.as_bool()) == Some(true)
                            && tg.and_then(|t| t.get("rolePrefix")).and_then(|e| e.as_str()) == Some(prefix.as_str())
                    });
                    if clash.is_some() {
                        return CheckOutcome::failed(role_prefix_in_use(&prefix));
                    }
                    let own_prefix = ctx.own_stored_config()
                        .and_then(|s| s.get("tableGrants"))
                        .filter(|t| t.get("enabled").and_then(|e| e.as_bool()) == Some(true))
                        .and_then(|t| t.get("rolePrefix"))
                        .and_then(|p| p.as_str())
                        .map(str::to_owned);
                    let ctx_prefix = prefix.clone();
                    run.in_role(Arc::clone(&c), "list the roles", |s| async move {
                        let pattern = format!("{ctx_prefix}_%");
                        let outcome = match client::roles_like(&s, &pattern).await {
                            Ok(roles) => {
                                let lead = format!("{ctx_prefix}_");
                                // The roles this configuration itself names are
                                // not table-grant roles, whatever they are called.
                                let own = [
                                    c.role.as_str(),
                                    &c.system_role_name(),
                                    c.impersonation.role.as_str(),
                                ]
                                .map(str::to_owned);
                                let taken: Vec<&String> = roles
                                    .iter()
                                    .filter(|r| r.to_ascii_uppercase().starts_with(&lead.to_ascii_uppercase()))
                                    .filter(|r| !own.contains(r))
                                    .collect();
                                if taken.is_empty() {
                                    CheckOutcome::passed()
                                } else if own_prefix.as_deref() == Some(ctx_prefix.as_str()) {
                                    CheckOutcome::passed_with(format!(
                                        "The roles with prefix {ctx_prefix} are this integration's own."
                                    ))
                                } else {
                                    CheckOutcome::failed(role_prefix_in_use(&ctx_prefix))
                                }
                            }
                            Err(e) => CheckOutcome::failed(format!("Unable to list the roles: {e}")),
                        };
                        (s, outcome)
                    })
                    .await
                }
                .instrument(span)
            }},
        )
        .requires(CONNECT)
        // Read-only, on the run's one session: sent with the others.
        .speculative()
        .requires(PRIVILEGED_ROLE)
        .applies_when(
            "Applies only when table grants are enabled.",
            |c: &SnowflakeConfig, _| c.table_grants.enabled,
        )
        .timeout(CHECK_TIMEOUT),
        Check::new(
            PRIVILEGED_ROLE,
            "Verifies that the configured role exists and has been granted to the configured user (a log-in in it succeeds).",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx| { let run = Arc::clone(&run);
                async move {
                    match run.login(&c).await {
                        RunLogin::InRole(_) => CheckOutcome::passed(),
                        RunLogin::RoleRefused(_, e) => {
                            tracing::warn!(error = %e, "the log-in in the privileged role was refused");
                            CheckOutcome::failed(PRIVILEGED_ROLE_FAILED)
                                .with_remedy(privileged_role_remedy(&c))
                        }
                        RunLogin::Failed(_) => CheckOutcome::failed(PRIVILEGED_ROLE_FAILED),
                    }
                }
                .instrument(span(PRIVILEGED_ROLE, &ctx))
            }},
        )
        .requires(CONNECT)
        // Read-only, on the run's one session: sent with the others.
        .speculative()
        .timeout(CHECK_TIMEOUT),
        Check::new(
            BOOTSTRAP_GRANTS,
            "Verifies that the privileged role holds the account privileges the automatic set-up uses: CREATE DATABASE, CREATE ROLE, CREATE USER and MANAGE GRANTS.",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx| { let run = Arc::clone(&run);
                async move {
                    if c.role.eq_ignore_ascii_case("ACCOUNTADMIN") {
                        return CheckOutcome::passed_with(
                            "ACCOUNTADMIN holds every account privilege.",
                        );
                    }
                    run.in_role(Arc::clone(&c), "read the grants of the privileged role", |s| async move {
                        let outcome = match account_privileges(&s, &c.role).await {
                            Ok(held) => {
                                let missing: Vec<&str> = REQUIRED_ACCOUNT_PRIVILEGES
                                    .iter()
                                    .copied()
                                    .filter(|p| !held.contains(*p))
                                    .collect();
                                if missing.is_empty() {
                                    CheckOutcome::passed()
                                } else {
                                    CheckOutcome::failed(format!(
                                        "The privileged role {} is missing these grants on the account: {}. Grant them, or use a role that holds them (e.g. ACCOUNTADMIN).",
                                        c.role,
                                        missing
                                            .iter()
                                            .map(|p| format!("{p} ON ACCOUNT"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ))
                                    .with_remedy(account_grants_remedy(&c.role, &missing))
                                }
                            }
                            Err(e) => CheckOutcome::failed(format!(
                                "Unable to read the grants of the privileged role {}: {e}",
                                c.role
                            )),
                        };
                        (s, outcome)
                    })
                    .await
                }
                .instrument(span(BOOTSTRAP_GRANTS, &ctx))
            }},
        )
        .requires(CONNECT)
        // Read-only, on the run's one session: sent with the others.
        .speculative()
        .requires(PRIVILEGED_ROLE)
        .only_auto_bootstrap()
        .timeout(CHECK_TIMEOUT),
        Check::new(
            DATABASE_ABSENT,
            "Verifies that the database named in the payload does not exist yet, so that the set-up can create it.",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx: CheckContext| { let run = Arc::clone(&run);
                let span = span(DATABASE_ABSENT, &ctx);
                async move {
                    let own = ctx.own_stored_config()
                        .and_then(|s| s.get("database"))
                        .and_then(|d| d.as_str())
                        .map(str::to_owned);
                    run.in_role(Arc::clone(&c), "look the database up", |s| async move {
                        let outcome = match client::database_exists(&s, &c.database).await {
                            Ok(false) => CheckOutcome::passed(),
                            Ok(true) if own.as_deref() == Some(c.database.as_str()) => {
                                CheckOutcome::passed_with(format!(
                                    "The database \"{}\" is the one this integration already manages.",
                                    c.database
                                ))
                            }
                            Ok(true) => CheckOutcome::failed(DATABASE_EXISTS),
                            Err(e) => CheckOutcome::failed(format!("Unable to look the database up: {e}")),
                        };
                        (s, outcome)
                    })
                    .await
                }
                .instrument(span)
            }},
        )
        .requires(CONNECT)
        // Read-only, on the run's one session: sent with the others.
        .speculative()
        .requires(PRIVILEGED_ROLE)
        .only_auto_bootstrap()
        .timeout(CHECK_TIMEOUT),
        Check::new(
            ROLE_ABSENT,
            "Verifies that the impersonation role named in the payload does not exist yet, so that the set-up can create it.",
            { let run = Arc::clone(&run); move |c: Arc<SnowflakeConfig>, ctx: CheckContext| { let run = Arc::clone(&run);
                let span = span(ROLE_ABSENT, &ctx);
                async move {
                    let role = c.impersonation.role.clone();
                    let own = ctx.own_stored_config().and_then(|s| {
                        let imp = s.get("impersonation")?;
                        let enabled = imp.get("enabled")?.as_bool()?;
                        enabled.then(|| imp.get("role")?.as_str().map(str::to_owned))?
                    });
                    run.in_role(Arc::clone(&c), "look the role up", |s| async move {
                        let outcome = match client::role_exists(&s, &role).await {
                            Ok(false) => CheckOutcome::passed(),
                            Ok(true) if own.as_deref() == Some(role.as_str()) => {
                                CheckOutcome::passed_with(format!(
                                    "The role \"{role}\" is the one this integration already manages."
                                ))
                            }
                            Ok(true) => CheckOutcome::failed(ROLE_EXISTS),
                            Err(e) => CheckOutcome::failed(format!("Unable to look the role up: {e}")),
                        };
                        (s, outcome)
                    })
                    .await
                }
                .instrument(span)
            }},
        )
        .requires(CONNECT)
        // Read-only, on the run's one session: sent with the others.
        .speculative()
        .requires(PRIVILEGED_ROLE)
        .applies_when(
            "Applies only to automatic set-up (autoBootstrap is true) with impersonation enabled.",
            |c: &SnowflakeConfig, ctx| ctx.auto_bootstrap && c.impersonation.enabled,
        )
        .timeout(CHECK_TIMEOUT),
    ]
}
