//! # Junction platform: Snowflake
//!
//! Shaped like the Redshift plugin (read one, know the other):
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the [`Platform`] impl, wiring the parts below, and the registration |
//! | `config.rs` | the typed `config` (serde, JSON Schema, secrets) and its rules |
//! | `checks.rs` | the validation tests, with the contract's names and messages |
//! | `bootstrap.rs` | the set-up as data: plans of steps with their undo, migrations |
//! | `scripts.rs` | Snowflake SQL: quoting and statements |
//! | `client.rs` | the connector protocol: log-in, queries, abort, session close |
//! | `arrow.rs` | a small Arrow IPC stream reader for `rowsetBase64` results |
//! | `keypair.rs` | the RS256 JWT of key-pair authentication |
//!
//! The plugin speaks Snowflake's connector protocol (the one the official
//! drivers use) over HTTPS. Tests run against fakesnow (`cargo xtask
//! stand-ins up fakesnow`) and, for what fakesnow cannot do (roles, grants,
//! users, key-pair JWTs, expired tokens), against a fake server in the test
//! crate. See the README.
//!
//! Operations, in short:
//! - **create** with `autoBootstrap: true` logs in once with the privileged
//!   credentials of the payload, runs [`bootstrap::create_plan`] in the
//!   privileged role, and returns the configuration with the system user, its
//!   generated password and the system role in their place. With
//!   `autoBootstrap: false` it reads the version of the manual set-up.
//! - **edit** runs only the steps for what changed.
//! - **delete** runs the create plan backwards, with the DELETE body's
//!   privileged credentials.
//! - **migrate** brings the set-up to [`bootstrap::CURRENT_VERSION`], as the
//!   system user.
//!
//! Every failed operation rolls back what it had done (`junction_core::plan::apply`).

pub mod arrow;
pub mod bootstrap;
pub mod checks;
pub mod client;
pub mod config;
pub mod keypair;
pub mod scripts;

use bootstrap::{CURRENT_VERSION, Names};
use client::{Credentials, Session};
use config::AuthenticationType;
pub use config::{PrivilegedCredentials, SnowflakeConfig};
use junction_core::{
    Check, ConfigErrors, FaultInjection, OpContext, OpError, OpOutput, Plan, Platform, Script,
    ScriptKind, Secret, async_trait, plan,
};
use scripts::{SqlAction, ident};
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::Instrument;

/// The payload's `type`.
pub const TYPE_NAME: &str = "Snowflake";
/// The privileged role a DELETE body uses when it names none.
pub const DEFAULT_PRIVILEGED_ROLE: &str = "ACCOUNTADMIN";

/// The Snowflake platform.
#[derive(Debug, Clone, Copy)]
pub struct Snowflake {
    install_version: u32,
}

impl Default for Snowflake {
    fn default() -> Self {
        Snowflake::new()
    }
}

impl Snowflake {
    /// The platform as shipped: create installs the newest set-up version.
    pub const fn new() -> Self {
        Snowflake {
            install_version: CURRENT_VERSION,
        }
    }

    /// A platform whose create installs an older set-up version, as an older
    /// release of Junction would have: for tests of migrations.
    pub const fn installing_version(version: u32) -> Self {
        Snowflake {
            install_version: version,
        }
    }
}

junction_core::register_platform!(Snowflake::new());

/// Length of a generated password: Snowflake allows 8 to 256 characters.
const GENERATED_PASSWORD_LEN: usize = 32;

/// A password from aws-lc-rs's CSPRNG, of letters and digits, with at least
/// one upper-case letter, one lower-case letter and one digit (Snowflake's
/// default password policy).
pub fn generate_password() -> Result<Secret<String>, OpError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Bytes at or above this bound are rejected so every character is equally likely.
    let bound = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    loop {
        let mut out = String::with_capacity(GENERATED_PASSWORD_LEN);
        while out.len() < GENERATED_PASSWORD_LEN {
            let mut buf = [0u8; 64];
            aws_lc_rs::rand::fill(&mut buf)
                .map_err(|_| OpError::Failed("no random numbers for a password".into()))?;
            for b in buf.into_iter().filter(|b| *b < bound) {
                if out.len() < GENERATED_PASSWORD_LEN {
                    out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
                }
            }
        }
        let all_classes = out.chars().any(|c| c.is_ascii_uppercase())
            && out.chars().any(|c| c.is_ascii_lowercase())
            && out.chars().any(|c| c.is_ascii_digit());
        if all_classes {
            return Ok(Secret::new(out));
        }
    }
}

/// Logs in with `creds`, takes `role` and the configured warehouse, and runs
/// a plan; on failure the plan has rolled back and the error says which step
/// failed and what could not be undone.
async fn run_plan(
    config: &SnowflakeConfig,
    creds: Credentials,
    role: &str,
    plan: &Plan<SqlAction>,
    fault: Option<&FaultInjection>,
    what: &str,
) -> Result<(), OpError> {
    let mut session = Session::open(config, creds)
        .await
        .map_err(|e| OpError::Failed(format!("{what} failed: could not log in: {e}")))?;
    for statement in [
        format!("USE ROLE {}", ident(role)),
        format!("USE WAREHOUSE {}", ident(&config.warehouse)),
    ] {
        if let Err(e) = session.query(&statement).await {
            session.close().await;
            return Err(OpError::Failed(format!("{what} failed: {statement}: {e}")));
        }
    }
    let session = Arc::new(tokio::sync::Mutex::new(session));
    let result = plan::apply(plan, fault, |action| {
        let session = Arc::clone(&session);
        async move { session.lock().await.exec(action).await }
    })
    .await
    .map_err(|failure| OpError::Failed(format!("{what} failed: {failure}")));
    if let Ok(session) = Arc::try_unwrap(session) {
        session.into_inner().close().await;
    }
    result
}

fn span(op: &OpContext, operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "operation",
        platform = TYPE_NAME,
        integration_id = ?op.integration_id,
        operation,
    )
}

/// The system user and role of an integration: derived from the database for
/// an automatic set-up, the configured ones for a manual one.
fn system_names(config: &SnowflakeConfig, auto_bootstrap: bool) -> (String, String) {
    if auto_bootstrap {
        (config.system_user_name(), config.system_role_name())
    } else {
        (config.username.clone(), config.role.clone())
    }
}

/// The configuration to store after an automatic set-up: the system user with
/// its password and role, and no privileged credential.
fn as_system(config: SnowflakeConfig, password: Secret<String>) -> SnowflakeConfig {
    SnowflakeConfig {
        username: config.system_user_name(),
        role: config.system_role_name(),
        authentication_type: AuthenticationType::UserPassword,
        password: Some(password),
        private_key: None,
        private_key_password: None,
        ..config
    }
}

impl Snowflake {
    async fn create_automatic(
        &self,
        op: &OpContext,
        config: SnowflakeConfig,
    ) -> Result<OpOutput<SnowflakeConfig>, OpError> {
        let (user, role) = system_names(&config, true);
        let password = generate_password()?;
        let names = Names::of(&config, &user, &role, Some(&config.role));
        let plan = bootstrap::create_plan(&names, &password, self.install_version);
        // The privileged credentials are used here, once, and not kept.
        run_plan(
            &config,
            Credentials::of(&config),
            &config.role,
            &plan,
            op.fault.as_ref(),
            "automatic set-up",
        )
        .await?;
        Ok(OpOutput {
            config: as_system(config, password),
            bootstrap_version: self.install_version,
        })
    }

    async fn create_manual(
        &self,
        config: SnowflakeConfig,
    ) -> Result<OpOutput<SnowflakeConfig>, OpError> {
        let found = async {
            let mut s = Session::open(&config, Credentials::of(&config)).await?;
            let r = async {
                s.query(&format!("USE ROLE {}", ident(&config.role)))
                    .await?;
                s.query(&format!("USE WAREHOUSE {}", ident(&config.warehouse)))
                    .await?;
                client::recorded_version(&mut s, &config.database).await
            }
            .await;
            s.close().await;
            r
        }
        .await;
        match found {
            Ok(version) => Ok(OpOutput {
                config,
                bootstrap_version: version,
            }),
            Err(e) => Err(OpError::Failed(format!(
                "the manual set-up was not found in database \"{}\" ({e}); run the create script first",
                config.database
            ))),
        }
    }
}

#[async_trait]
impl Platform for Snowflake {
    type Config = SnowflakeConfig;
    type DeleteCredentials = PrivilegedCredentials;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn description(&self) -> &'static str {
        "Snowflake: a managed database with Junction's schemas, a system user and role, policy grants, optional user impersonation, table grants and audit."
    }

    fn bootstrap_version(&self) -> u32 {
        CURRENT_VERSION
    }

    fn example_config(&self) -> Value {
        json!({
            "host": "example-account.snowflakecomputing.com",
            "port": 443,
            "warehouse": "COMPUTE_WH",
            "database": "IMMUTA",
            "role": "ACCOUNTADMIN",
            "authenticationType": "userPassword",
            "username": "ADMIN",
            "password": "example-password",
            "impersonation": {"enabled": true, "role": "IMMUTA_IMPERSONATION"},
            "tableGrants": {"enabled": true, "rolePrefix": "IMMUTA"},
            "audit": {"enabled": false},
            "connectTimeoutSeconds": 5
        })
    }

    fn validate_config(
        &self,
        config: &SnowflakeConfig,
        auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        config::validate(config, auto_bootstrap)
    }

    /// The host name: one integration per Snowflake account host (the host
    /// turns a second one into the reference product's 409).
    fn account_key(&self, config: &SnowflakeConfig) -> String {
        config.host.to_ascii_lowercase()
    }

    fn checks(&self) -> Vec<Check<SnowflakeConfig>> {
        checks::checks()
    }

    async fn create(
        &self,
        op: &OpContext,
        config: SnowflakeConfig,
    ) -> Result<OpOutput<SnowflakeConfig>, OpError> {
        let work = async {
            if op.auto_bootstrap {
                self.create_automatic(op, config).await
            } else {
                self.create_manual(config).await
            }
        };
        work.instrument(span(op, "create")).await
    }

    /// Applies only what changed. With `autoBootstrap: true` the stored
    /// configuration holds the system user. A new configuration that names the
    /// system user may change its password (a rotation, done as the system
    /// user itself); one that names another user gives privileged credentials
    /// and role, used once, for changes to roles and grants. With
    /// `autoBootstrap: false` the operator runs the edit script; nothing runs here.
    async fn edit(
        &self,
        op: &OpContext,
        old: SnowflakeConfig,
        new: SnowflakeConfig,
    ) -> Result<OpOutput<SnowflakeConfig>, OpError> {
        let work = async {
            if old.database != new.database {
                return Err(OpError::Invalid(ConfigErrors::one(
                    "config.database",
                    "cannot change after create: delete the integration and create a new one",
                )));
            }
            if !op.auto_bootstrap {
                return Ok(OpOutput {
                    config: new,
                    bootstrap_version: op.bootstrap_version,
                });
            }
            let (user, role) = system_names(&old, true);
            let as_system_user = new.username == user;
            let old_password = old.password.clone().unwrap_or_default();
            let new_password = new.password.clone().unwrap_or_default();
            if as_system_user && new.authentication_type != AuthenticationType::UserPassword {
                return Err(OpError::Invalid(ConfigErrors::one(
                    "config.authenticationType",
                    "the system user logs in with its password",
                )));
            }
            let (creds, session_role, passwords) = if as_system_user {
                (
                    Credentials::password(&user, old_password.clone()),
                    role.clone(),
                    Some((&old_password, &new_password)),
                )
            } else {
                (Credentials::of(&new), new.role.clone(), None)
            };
            let plan = bootstrap::edit_plan(
                &Names::of(&old, &user, &role, None),
                &Names::of(&new, &user, &role, None),
                passwords,
            );
            if as_system_user && bootstrap::needs_privilege(&plan) {
                return Err(OpError::Invalid(ConfigErrors::one(
                    "config.username",
                    "changing the warehouse, impersonation, table grants or audit needs a privileged user and role: give them, as on create",
                )));
            }
            if !plan.steps.is_empty() {
                run_plan(&new, creds, &session_role, &plan, op.fault.as_ref(), "edit").await?;
            }
            let password = if as_system_user {
                new_password
            } else {
                old_password
            };
            Ok(OpOutput {
                config: as_system(new, password),
                bootstrap_version: op.bootstrap_version,
            })
        };
        work.instrument(span(op, "edit")).await
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: SnowflakeConfig,
        privileged: Option<PrivilegedCredentials>,
    ) -> Result<(), OpError> {
        let work = async {
            if !op.auto_bootstrap {
                // The operator runs the delete script; Junction touches nothing.
                return Ok(());
            }
            let Some(p) = privileged else {
                return Err(OpError::Invalid(ConfigErrors::one(
                    "username",
                    "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload.",
                )));
            };
            let mut errors = ConfigErrors::default();
            config::credentials(
                &mut errors,
                "",
                p.authentication_type,
                p.password.as_ref(),
                p.private_key.as_ref(),
                p.private_key_password.as_ref(),
            );
            errors.into_result()?;
            let creds = Credentials::from_parts(
                &p.username,
                p.authentication_type,
                p.password.as_ref(),
                p.private_key.as_ref(),
                p.private_key_password.as_ref(),
            );
            let privileged_role = p
                .role
                .clone()
                .unwrap_or_else(|| DEFAULT_PRIVILEGED_ROLE.to_owned());
            let (user, role) = system_names(&config, true);
            let names = Names::of(&config, &user, &role, Some(&privileged_role));
            let plan = if op.bootstrap_version == 0 {
                // A create that never finished: drop whatever may be left.
                let mut plan = Plan::new();
                for (i, statement) in bootstrap::teardown_script(&names, true)
                    .into_iter()
                    .enumerate()
                {
                    let statement = statement.trim_end_matches(';').to_owned();
                    plan.push(format!("cleanup-{i}"), SqlAction::one(statement), None);
                }
                plan
            } else {
                // Undoing the create plan; a rollback re-creates the system user
                // with the password Junction holds for it.
                bootstrap::create_plan(
                    &names,
                    &config.password.clone().unwrap_or_default(),
                    op.bootstrap_version,
                )
                .reversed()
            };
            run_plan(
                &config,
                creds,
                &privileged_role,
                &plan,
                op.fault.as_ref(),
                "delete",
            )
            .await
        };
        work.instrument(span(op, "delete")).await
    }

    async fn migrate(
        &self,
        op: &OpContext,
        config: SnowflakeConfig,
    ) -> Result<OpOutput<SnowflakeConfig>, OpError> {
        let work = async {
            let from = op.bootstrap_version;
            if from == 0 {
                return Err(OpError::Failed(
                    "the integration has no set-up to migrate".into(),
                ));
            }
            if from >= CURRENT_VERSION {
                return Err(OpError::Unsupported(format!(
                    "the set-up is at version {from}, the newest is {CURRENT_VERSION}: nothing to migrate"
                )));
            }
            let (_, role) = system_names(&config, op.auto_bootstrap);
            let plan = bootstrap::migration_plan(&config.database, &role, from, CURRENT_VERSION);
            // The system role may create tables in the managed schemas.
            run_plan(
                &config,
                Credentials::of(&config),
                &config.role,
                &plan,
                op.fault.as_ref(),
                "migration",
            )
            .await?;
            Ok(OpOutput {
                config,
                bootstrap_version: CURRENT_VERSION,
            })
        };
        work.instrument(span(op, "migrate")).await
    }

    /// The manual scripts. The system user and role are the configured
    /// `username` and `role`; the user's password is never written into a
    /// script: see [`scripts::PASSWORD_PLACEHOLDER`].
    fn script(
        &self,
        kind: ScriptKind,
        config: &SnowflakeConfig,
        previous: Option<&SnowflakeConfig>,
    ) -> Result<Script, OpError> {
        let n = Names::of(config, &config.username, &config.role, None);
        let password_note = format!(
            "-- The system user's password is not in this script: replace {} with the quoted password before running it.",
            scripts::PASSWORD_PLACEHOLDER
        );
        let role_note = "-- Run as a user with a role that may create databases, roles and users and manage grants (e.g. ACCOUNTADMIN).".to_owned();
        let mut statements = match kind {
            ScriptKind::Create => {
                let mut s = vec![role_note, password_note];
                s.extend(
                    bootstrap::create_plan(&n, &Secret::new(String::new()), self.install_version)
                        .script(),
                );
                s
            }
            ScriptKind::Delete | ScriptKind::Cleanup => {
                let mut s = vec![role_note];
                s.extend(bootstrap::teardown_script(&n, kind == ScriptKind::Cleanup));
                s
            }
            ScriptKind::Edit => {
                let Some(old) = previous else {
                    return Err(OpError::Unsupported(
                        "the edit script needs the stored configuration".into(),
                    ));
                };
                if old.database != config.database {
                    return Err(OpError::Invalid(ConfigErrors::one(
                        "config.database",
                        "cannot change after create: delete the integration and create a new one",
                    )));
                }
                let plan = bootstrap::edit_plan(
                    &Names::of(old, &old.username, &old.role, None),
                    &n,
                    match (&old.password, &config.password) {
                        (Some(a), Some(b)) => Some((a, b)),
                        _ => None,
                    },
                );
                let mut s = vec![role_note];
                if plan.steps.iter().any(|st| st.apply.password.is_some()) {
                    s.push(password_note);
                }
                s.extend(plan.script());
                s
            }
            ScriptKind::InitialCreate => {
                return Err(OpError::Unsupported(
                    "Snowflake integrations have no initial-create script: run the create script"
                        .into(),
                ));
            }
        };
        statements.retain(|s| !s.is_empty());
        Ok(Script::sql(statements))
    }
}
