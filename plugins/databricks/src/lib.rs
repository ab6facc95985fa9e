//! # Junction platform: Databricks Unity Catalog
//!
//! Speaks the Unity Catalog REST API 2.1 and the SQL Statement Execution API
//! 2.0 over HTTPS, on the platform kit (`junction_kit`: the lifecycle
//! skeleton and the JSON-over-HTTPS client with cached tokens). Same files as
//! every platform, each with one job:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the [`Planned`] impl and the registration |
//! | `config.rs` | the typed `config` (serde, JSON Schema, secrets) and its rules |
//! | `checks.rs` | the validation tests, with the contract's names and messages |
//! | `bootstrap.rs` | the set-up as data: plans of steps with their undo, migrations |
//! | `scripts.rs` | the actions of a plan, and the Databricks SQL of each |
//! | `client.rs` | the REST calls, statements on the warehouse, OAuth M2M tokens |
//!
//! Operations, in short (Databricks takes no privileged credentials on
//! DELETE: the configured principal does everything):
//! - **create** with `autoBootstrap: true` creates the catalog, its schemas,
//!   tables and grants ([`bootstrap`]'s table); with `false` it reads the
//!   version the operator's create script recorded.
//! - **edit** applies what changed (audit table, recorded settings).
//! - **delete** revokes the grants, then drops the catalog with all it holds.
//! - **migrate** brings the set-up to [`CURRENT_VERSION`].
//!
//! Every failed operation rolls back what it had done.

mod bootstrap;
mod checks;
mod client;
mod config;
mod scripts;

pub use bootstrap::{CURRENT_VERSION, step};
pub use config::{AuthenticationType, DatabricksConfig};

/// For the plugin's own tests: the pieces they drive directly.
#[doc(hidden)]
pub mod testing {
    pub use crate::bootstrap::{
        ALL_USERS, AUDIT_EVENTS, POLICIES_SCHEMA, PRINCIPAL_PRIVILEGES, SYSTEM_SCHEMA, Settings,
        USER_ATTRIBUTES, create_plan, property,
    };
    pub use crate::checks::{
        CATALOG_LOOKUP_FAILED, CONNECT, CONNECT_FAILED, MANUAL_CATALOG, METASTORE, NO_METASTORE,
    };
    pub use crate::client::{ClientCredentials, ClientError, MARK, ME, Session, Workspace};
    pub use crate::scripts::Action;
}

use bootstrap::Settings;
use client::{Login, Session, Workspace};
use junction_core::{
    Check, ConfigErrors, DeleteCredentials, NoCredentials, OpContext, OpError, Script, ScriptKind,
    async_trait,
};
use junction_kit::{Kit, Planned, Run, Work, fixed_field, lifecycle};
use scripts::Action;
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "Databricks";

/// The Databricks Unity Catalog platform.
#[derive(Debug, Clone, Copy)]
pub struct Databricks {
    install_version: u32,
}

impl Databricks {
    /// The platform as shipped: create installs the newest set-up version.
    pub const fn new() -> Kit<Databricks> {
        Kit(Databricks {
            install_version: CURRENT_VERSION,
        })
    }

    /// A platform whose create installs an older set-up version, as an older
    /// release of Junction would have: for tests of migrations.
    pub const fn installing_version(version: u32) -> Kit<Databricks> {
        Kit(Databricks {
            install_version: version,
        })
    }
}

junction_core::register_platform!(Databricks::new());

fn login(config: &DatabricksConfig) -> Login {
    Login {
        config: config.clone(),
    }
}

/// Whom a manual create script grants to: a service principal is named by
/// its application id; a token's user is not known without asking.
fn script_principal(config: &DatabricksConfig) -> &str {
    match (&config.authentication_type, &config.o_auth_client_config) {
        (AuthenticationType::OAuthM2M, Some(o)) => &o.client_id,
        _ => scripts::PRINCIPAL_PLACEHOLDER,
    }
}

#[async_trait]
impl Planned for Databricks {
    type Config = DatabricksConfig;
    type Privileged = NoCredentials;
    type Action = Action;
    type Login = Login;
    type Session = Session;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str = "Databricks Unity Catalog: a managed catalog with Junction's schemas, tables and grants, over the Unity Catalog and SQL Statement Execution REST APIs.";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;
    const DELETE_CREDENTIALS: DeleteCredentials = DeleteCredentials::Never;

    fn install_version(&self) -> u32 {
        self.install_version
    }

    fn example_config(&self) -> Value {
        json!({
            "workspaceUrl": "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
            "httpPath": "/sql/1.0/warehouses/0123456789abcdef",
            "authenticationType": "oAuthM2M",
            "oAuthClientConfig": {
                "useCertificate": false,
                "clientId": "6f0c1a52-0000-4000-8000-000000000000",
                "clientSecret": "example-client-secret",
                "scope": "all-apis"
            },
            "catalog": "junction",
            "groupPattern": {"deny": "junction_exempt"},
            "audit": {"enabled": true},
            "connectTimeoutSeconds": 5,
            "requestTimeoutSeconds": 30,
            "statementTimeoutSeconds": 300
        })
    }

    fn validate_config(
        &self,
        config: &DatabricksConfig,
        auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        config::validate(config, auto_bootstrap)
    }

    /// One integration per workspace.
    fn account_key(&self, config: &DatabricksConfig) -> String {
        config.workspace_host()
    }

    fn checks(&self) -> Vec<Check<DatabricksConfig>> {
        checks::checks()
    }

    fn fixed_fields(&self, config: &DatabricksConfig) -> Vec<(&'static str, String)> {
        vec![
            fixed_field("config.workspaceUrl", config.workspace_host()),
            fixed_field("config.catalog", &config.catalog),
        ]
    }

    async fn open(&self, login: &Login) -> Result<Session, String> {
        Workspace::new(&login.config)
            .map(Session)
            .map_err(|e| e.to_string())
    }

    fn create_automatic(
        &self,
        config: DatabricksConfig,
        version: u32,
    ) -> Result<Work<Self>, OpError> {
        let plan = bootstrap::create_plan(&Settings::from(&config), version);
        Ok(Work::run(
            login(&config),
            plan,
            config.without_unused_credentials(),
            version,
        ))
    }

    async fn create_manual(
        &self,
        config: DatabricksConfig,
        _version: u32,
    ) -> Result<Work<Self>, OpError> {
        let found = async {
            let ws = Workspace::new(&config)?;
            ws.schema(&config.catalog, bootstrap::SYSTEM_SCHEMA).await
        }
        .await;
        let recorded = match found {
            Ok(Some(schema)) => schema.properties.get(bootstrap::property::VERSION).cloned(),
            Ok(None) => None,
            Err(e) => {
                return Err(OpError::Failed(format!(
                    "the manual set-up of catalog {} could not be read: {e}",
                    config.catalog
                )));
            }
        };
        match recorded.and_then(|v| v.parse::<u32>().ok()) {
            Some(v) if (1..=CURRENT_VERSION).contains(&v) => {
                Ok(Work::store(config.without_unused_credentials(), v))
            }
            _ => Err(OpError::Failed(format!(
                "the manual set-up was not found: schema {}.{} records no set-up version ({}); run the create script first",
                config.catalog,
                bootstrap::SYSTEM_SCHEMA,
                bootstrap::property::VERSION
            ))),
        }
    }

    /// Runs as the new configuration's principal: an edit may bring new
    /// credentials because the old ones were revoked.
    fn edit_automatic(
        &self,
        op: &OpContext,
        old: DatabricksConfig,
        new: DatabricksConfig,
    ) -> Result<Work<Self>, OpError> {
        let plan = bootstrap::edit_plan(&Settings::from(&old), &Settings::from(&new));
        Ok(Work::run(
            login(&new),
            plan,
            new.without_unused_credentials(),
            op.bootstrap_version,
        ))
    }

    fn edit_manual(
        &self,
        op: &OpContext,
        _old: DatabricksConfig,
        new: DatabricksConfig,
    ) -> Result<Work<Self>, OpError> {
        Ok(Work::store(
            new.without_unused_credentials(),
            op.bootstrap_version,
        ))
    }

    fn delete_automatic(
        &self,
        op: &OpContext,
        config: DatabricksConfig,
        _privileged: Option<NoCredentials>,
    ) -> Result<Option<Run<Self>>, OpError> {
        let plan = if op.bootstrap_version == 0 {
            // A create that never finished rolled back what it had done. The
            // host keeps no credentials of a create that failed (they were the
            // set-up's, used once), and Databricks takes none on DELETE: then
            // there is nothing to run as, and the failed create's history says
            // what its rollback could not undo (the cleanup script removes it).
            if config.credentials().is_none() {
                tracing::info!(
                    catalog = %config.catalog,
                    "no stored credentials after a failed create: nothing to clean up here"
                );
                return Ok(None);
            }
            // Whatever is left is removed if it is Junction's.
            bootstrap::cleanup_plan(&config.catalog)
        } else {
            bootstrap::delete_plan(&Settings::from(&config), op.bootstrap_version)
        };
        Ok(Some(Run::new(login(&config), plan)))
    }

    fn migration(
        &self,
        _op: &OpContext,
        config: &DatabricksConfig,
        from: u32,
        to: u32,
    ) -> Result<Run<Self>, OpError> {
        Ok(Run::new(
            login(config),
            bootstrap::migration_plan(&config.catalog, from, to),
        ))
    }

    /// The SQL an operator runs in a SQL warehouse of the workspace. No
    /// credential is ever written into a script.
    fn script(
        &self,
        kind: ScriptKind,
        config: &DatabricksConfig,
        previous: Option<&DatabricksConfig>,
    ) -> Result<Script, OpError> {
        let settings = Settings::from(config);
        let run_in = format!(
            "-- Run in a SQL warehouse of workspace {} (Databricks SQL).",
            config.workspace_host()
        );
        let statements = match (kind, previous) {
            (ScriptKind::InitialCreate, _) => {
                return Err(lifecycle::no_script::<Self>(kind, "run the create script"));
            }
            (ScriptKind::PostCleanup, _) => {
                return Err(lifecycle::no_script::<Self>(
                    kind,
                    "the cleanup script removes everything",
                ));
            }
            (ScriptKind::Create, _) => {
                let principal = script_principal(config);
                let mut s = vec![
                    run_in,
                    "-- Run as a metastore admin, or as a user with CREATE CATALOG on the metastore.".to_owned(),
                ];
                if principal == scripts::PRINCIPAL_PLACEHOLDER {
                    s.push(format!(
                        "-- Replace {} with the user name of the token's owner before running the last statement.",
                        scripts::PRINCIPAL_PLACEHOLDER
                    ));
                }
                s.extend(bootstrap::create_script(
                    &settings,
                    self.install_version,
                    principal,
                ));
                s
            }
            (ScriptKind::Cleanup, _) => {
                let mut s = vec![
                    run_in,
                    "-- Removes what a create that failed left: the catalog and all it holds."
                        .to_owned(),
                ];
                s.extend(junction_core::Plan::script(&bootstrap::cleanup_plan(
                    &config.catalog,
                )));
                s
            }
            (ScriptKind::Delete, _) => {
                let mut s = vec![
                    run_in,
                    "-- Removes Junction's grants, then the catalog and all it holds.".to_owned(),
                ];
                s.extend(junction_core::Plan::script(&bootstrap::delete_plan(
                    &settings,
                    self.install_version,
                )));
                s
            }
            (ScriptKind::Edit, Some(old)) => {
                let mut s = vec![run_in];
                s.extend(junction_core::Plan::script(&bootstrap::edit_plan(
                    &Settings::from(old),
                    &settings,
                )));
                s
            }
            (ScriptKind::Edit, None) => {
                return Err(OpError::Unsupported(
                    "the edit script needs the stored configuration".into(),
                ));
            }
        };
        Ok(Script::sql(statements))
    }
}
