//! The validation tests. Names and failure messages are the response
//! contract's, character for character; descriptions and every other message
//! are ours. The contract's messages are fixed, so the cause of a failure
//! (DNS, TLS, 401, 403, an HTML page where JSON was due, the missing
//! privilege) goes to the log.

use crate::bootstrap::{self, PRINCIPAL_PRIVILEGES, Settings, property};
use crate::client::{ClientError, MetastoreAssignment, Workspace};
use crate::config::{self, DatabricksConfig};
use crate::scripts::{self, Securable};
use junction_core::{Check, CheckContext, CheckOutcome, Fix};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CONNECT: &str = "Basic connection test";
pub const METASTORE: &str = "Metastore validation";
pub const MANUAL_CATALOG: &str = "Manual catalog setup";

pub const CONNECT_FAILED: &str =
    "Could not connect to host, please confirm you are using valid connection parameters.";
pub const NO_METASTORE: &str = "No metastore is assigned to workspace.";
pub const CATALOG_LOOKUP_FAILED: &str =
    "Encountered an error looking up catalog metadata for catalog.";

/// Longer than a request may take with its retries and a token fetch: the
/// configured timeouts, not the runner's, decide when a call gives up.
const CHECK_TIMEOUT: Duration = Duration::from_secs(
    3 * (config::MAX_REQUEST_TIMEOUT_SECONDS + config::MAX_CONNECT_TIMEOUT_SECONDS),
);

/// What the connection test found, handed on to the tests that require it
/// in the same run: its client (so an OAuth token is fetched once per run),
/// the principal, and the metastore assignment, asked for beside SCIM `Me`
/// (one round trip for both). A run gets fresh checks (and so a fresh
/// hand-off) from `checks()`; it is only used for the very configuration it
/// was made for (the same `Arc`, kept alive here so its address cannot be
/// reused).
#[derive(Default)]
struct Handoff(Mutex<Option<Handed>>);

#[derive(Clone)]
struct Handed {
    config: Arc<DatabricksConfig>,
    ws: Arc<Workspace>,
    principal: String,
    metastore: Result<Option<MetastoreAssignment>, ClientError>,
}

impl Handoff {
    fn put(&self, handed: Handed) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(handed);
        }
    }

    fn handed(&self, config: &Arc<DatabricksConfig>) -> Option<Handed> {
        self.0.lock().ok().and_then(|slot| {
            slot.as_ref()
                .filter(|h| Arc::ptr_eq(&h.config, config))
                .cloned()
        })
    }

    /// The client and principal for `config`: the handed-on ones, or new ones.
    async fn get(
        &self,
        config: &Arc<DatabricksConfig>,
    ) -> Result<(Arc<Workspace>, String), ClientError> {
        match self.handed(config) {
            Some(h) => Ok((h.ws, h.principal)),
            None => {
                let ws = Arc::new(Workspace::new(config)?);
                let me = ws.me().await?;
                Ok((ws, me.user_name))
            }
        }
    }

    /// The metastore assignment: the one read beside `Me`, or read now.
    async fn metastore(
        &self,
        config: &Arc<DatabricksConfig>,
    ) -> Result<Option<MetastoreAssignment>, ClientError> {
        match self.handed(config) {
            Some(h) => h.metastore,
            None => {
                let (ws, _) = self.get(config).await?;
                ws.metastore_assignment().await
            }
        }
    }
}

/// The tests, declared as data.
pub fn checks() -> Vec<Check<DatabricksConfig>> {
    let handoff = Arc::new(Handoff::default());
    let (h1, h2, h3) = (Arc::clone(&handoff), Arc::clone(&handoff), handoff);
    vec![
        Check::new(
            CONNECT,
            "Authenticates to the workspace with the configured credentials and reads the principal (SCIM Me).",
            move |c, _ctx| connection_test(c, Arc::clone(&h1)),
        )
        .timeout(CHECK_TIMEOUT),
        Check::new(
            METASTORE,
            "Verifies that a Unity Catalog metastore is assigned to the workspace.",
            move |c, _ctx| metastore_test(c, Arc::clone(&h2)),
        )
        .requires(CONNECT)
        .timeout(CHECK_TIMEOUT),
        Check::new(
            MANUAL_CATALOG,
            "Verifies that the catalog and the objects Junction uses in it exist, and that the principal holds USE CATALOG, MANAGE, USE SCHEMA, MODIFY and SELECT on it.",
            move |c, ctx| manual_catalog_test(c, ctx, Arc::clone(&h3)),
        )
        .requires(CONNECT)
        .only_manual_bootstrap()
        .timeout(CHECK_TIMEOUT),
    ]
}

async fn connection_test(c: Arc<DatabricksConfig>, handoff: Arc<Handoff>) -> CheckOutcome {
    let result = async {
        let ws = Arc::new(Workspace::new(&c)?);
        // The metastore test's question goes out with this one; its answer
        // (or error) is that test's, not this one's.
        let (me, metastore) = tokio::join!(ws.me(), ws.metastore_assignment());
        Ok::<_, ClientError>((ws, me?.user_name, metastore))
    }
    .await;
    match result {
        Ok((ws, principal, metastore)) => {
            tracing::info!(principal = %principal, "connected");
            handoff.put(Handed {
                config: Arc::clone(&c),
                ws,
                principal,
                metastore,
            });
            CheckOutcome::passed()
        }
        Err(e) => {
            tracing::warn!(error = %e, "connection test failed");
            CheckOutcome::failed(CONNECT_FAILED)
        }
    }
}

async fn metastore_test(c: Arc<DatabricksConfig>, handoff: Arc<Handoff>) -> CheckOutcome {
    match handoff.metastore(&c).await {
        Ok(Some(m)) => {
            tracing::info!(metastore_id = %m.metastore_id, "metastore assigned");
            CheckOutcome::passed()
        }
        Ok(None) => CheckOutcome::failed(NO_METASTORE),
        Err(e) => {
            tracing::warn!(error = %e, "metastore validation failed");
            CheckOutcome::failed(format!(
                "Could not read the workspace's metastore assignment: {e}"
            ))
        }
    }
}

/// What is wrong with a manual set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An object is missing or unreadable: for the log (the manual script
    /// makes it; a remedy would be the whole script).
    SetUp(String),
    /// The objects are there; the principal lacks these privileges
    /// (the REST API's names) on the catalog.
    Privileges {
        principal: String,
        catalog: String,
        missing: Vec<&'static str>,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::SetUp(text) => f.write_str(text),
            Problem::Privileges {
                principal,
                catalog,
                missing,
            } => write!(
                f,
                "the principal {principal} lacks {} on catalog {catalog}",
                missing.join(", ")
            ),
        }
    }
}

/// The remedy of missing privileges: the one Databricks SQL `GRANT` that
/// gives the principal exactly them on the catalog, run in a SQL warehouse
/// by the catalog's owner or a metastore admin.
pub fn privileges_remedy(principal: &str, catalog: &str, missing: &[&str]) -> Fix {
    let privileges: Vec<String> = missing.iter().map(|p| scripts::privilege_sql(p)).collect();
    Fix {
        missing: format!(
            "{} on the catalog {catalog} for the principal {principal}",
            privileges.join(", ")
        ),
        language: "sql".into(),
        statements: vec![format!(
            "GRANT {} ON CATALOG {} TO {};",
            privileges.join(", "),
            scripts::ident(catalog),
            scripts::ident(principal)
        )],
    }
}

/// What is wrong with a manual set-up. Everything it may need is asked for
/// at once (one round trip), then judged.
async fn manual_catalog_problem(
    c: &Arc<DatabricksConfig>,
    handoff: &Handoff,
) -> Result<Option<Problem>, ClientError> {
    use bootstrap::{AUDIT_EVENTS, POLICIES_SCHEMA, SYSTEM_SCHEMA, USER_ATTRIBUTES};
    let (ws, principal) = handoff.get(c).await?;
    let catalog = c.catalog.as_str();
    let attributes_table = format!("{catalog}.{SYSTEM_SCHEMA}.{USER_ATTRIBUTES}");
    let audit_table = format!("{catalog}.{SYSTEM_SCHEMA}.{AUDIT_EVENTS}");
    let (info, system, policies, attributes, audit, held) = tokio::join!(
        ws.catalog(catalog),
        ws.schema(catalog, SYSTEM_SCHEMA),
        ws.schema(catalog, POLICIES_SCHEMA),
        ws.table(&attributes_table),
        ws.table(&audit_table),
        ws.effective_privileges(Securable::Catalog, catalog, &principal),
    );
    let Some(info) = info? else {
        return Ok(Some(Problem::SetUp(format!(
            "the catalog {catalog} does not exist"
        ))));
    };
    let Some(system) = system? else {
        return Ok(Some(Problem::SetUp(format!(
            "the schema {catalog}.{SYSTEM_SCHEMA} does not exist"
        ))));
    };
    let recorded = system.properties.get(property::VERSION);
    let version = match recorded.and_then(|v| v.parse::<u32>().ok()) {
        Some(v) if (1..=bootstrap::CURRENT_VERSION).contains(&v) => v,
        _ => {
            return Ok(Some(Problem::SetUp(format!(
                "the schema {catalog}.{SYSTEM_SCHEMA} records no set-up version Junction knows ({}: {recorded:?})",
                property::VERSION,
            ))));
        }
    };
    let (policies, attributes, audit) =
        (policies?.is_some(), attributes?.is_some(), audit?.is_some());
    for (schema, name) in bootstrap::expected_objects(&Settings::from(&**c), version) {
        let found = match (schema, name) {
            (SYSTEM_SCHEMA, "") => true,
            (POLICIES_SCHEMA, "") => policies,
            (SYSTEM_SCHEMA, USER_ATTRIBUTES) => attributes,
            (SYSTEM_SCHEMA, AUDIT_EVENTS) => audit,
            _ => false,
        };
        if !found {
            let what = if name.is_empty() {
                format!("the schema {catalog}.{schema}")
            } else {
                format!("the table {catalog}.{schema}.{name}")
            };
            return Ok(Some(Problem::SetUp(format!(
                "{what} does not exist (set-up version {version})"
            ))));
        }
    }
    // An owner holds every privilege on what it owns.
    if info.owner.as_deref() == Some(principal.as_str()) {
        return Ok(None);
    }
    let held = held?;
    let all = held.contains("ALL_PRIVILEGES");
    // ALL PRIVILEGES does not include MANAGE.
    let missing: Vec<&str> = PRINCIPAL_PRIVILEGES
        .iter()
        .copied()
        .filter(|p| !(held.contains(*p) || (all && *p != "MANAGE")))
        .collect();
    if missing.is_empty() {
        Ok(None)
    } else {
        Ok(Some(Problem::Privileges {
            principal,
            catalog: catalog.to_owned(),
            missing,
        }))
    }
}

async fn manual_catalog_test(
    c: Arc<DatabricksConfig>,
    _ctx: CheckContext,
    handoff: Arc<Handoff>,
) -> CheckOutcome {
    match manual_catalog_problem(&c, &handoff).await {
        Ok(None) => CheckOutcome::passed(),
        Ok(Some(problem)) => {
            tracing::warn!(catalog = %c.catalog, problem = %problem, "manual catalog set-up incomplete");
            let failed = CheckOutcome::failed(CATALOG_LOOKUP_FAILED);
            match &problem {
                Problem::Privileges {
                    principal,
                    catalog,
                    missing,
                } => failed.with_remedy(privileges_remedy(principal, catalog, missing)),
                Problem::SetUp(_) => failed,
            }
        }
        Err(e) => {
            tracing::warn!(catalog = %c.catalog, error = %e, "catalog metadata lookup failed");
            CheckOutcome::failed(CATALOG_LOOKUP_FAILED)
        }
    }
}
