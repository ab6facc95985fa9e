//! # Junction platform: Amazon Redshift
//!
//! The first real platform, and the one to copy. A platform crate has the same
//! files, each with one job:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the [`Platform`] impl, wiring the parts below, and the registration |
//! | `config.rs` | the typed `config` (serde, JSON Schema, secrets) and its rules |
//! | `checks.rs` | the validation tests, with the contract's names and messages |
//! | `bootstrap.rs` | the set-up as data: plans of steps with their undo, migrations |
//! | `scripts.rs` | the platform's language (here SQL): quoting and statements |
//! | `client.rs` | talking to the platform: connection, timeout, TLS |
//!
//! Redshift speaks the PostgreSQL wire protocol; the tests run against a real
//! PostgreSQL server (`cargo xtask stand-ins up postgres`). See the README for
//! the configuration, the tests and what the set-up creates.
//!
//! Operations, in short:
//! - **create** with `autoBootstrap: true` logs in once with the privileged
//!   credentials of the payload, runs [`bootstrap::create_plan`], and returns the
//!   configuration with the system user and its generated password in their
//!   place. With `autoBootstrap: false` it checks the manual set-up and reads
//!   its version.
//! - **edit** runs only the steps for what changed.
//! - **delete** runs the create plan backwards, with the DELETE body's
//!   privileged credentials.
//! - **migrate** brings the set-up to [`bootstrap::CURRENT_VERSION`], as the
//!   system user.
//!
//! Every failed operation rolls back what it had done (`junction_core::plan::apply`).

pub mod bootstrap;
pub mod checks;
pub mod client;
pub mod config;
pub mod scripts;

use bootstrap::{CURRENT_VERSION, Names};
use client::{Credentials, Session};
pub use config::{PrivilegedCredentials, RedshiftConfig};
use junction_core::{
    Check, ConfigErrors, FaultInjection, OpContext, OpError, OpOutput, Plan, Platform, Script,
    ScriptKind, Secret, async_trait, plan,
};
use scripts::SqlAction;
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::Instrument;

/// The payload's `type`.
pub const TYPE_NAME: &str = "Redshift";

/// The Redshift platform.
#[derive(Debug, Clone, Copy)]
pub struct Redshift {
    install_version: u32,
}

impl Default for Redshift {
    fn default() -> Self {
        Redshift::new()
    }
}

impl Redshift {
    /// The platform as shipped: create installs the newest set-up version.
    pub const fn new() -> Self {
        Redshift {
            install_version: CURRENT_VERSION,
        }
    }

    /// A platform whose create installs an older set-up version, as an older
    /// release of Junction would have: for tests of migrations.
    pub const fn installing_version(version: u32) -> Self {
        Redshift {
            install_version: version,
        }
    }
}

junction_core::register_platform!(Redshift::new());

/// Length of a generated password: well within Redshift's 8 to 64.
const GENERATED_PASSWORD_LEN: usize = 32;

/// A password from the operating system's CSPRNG, of letters and digits, with
/// at least one upper-case letter, one lower-case letter and one digit (as
/// Redshift requires).
pub fn generate_password() -> Result<Secret<String>, OpError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Bytes at or above this bound are rejected so every character is equally likely.
    let bound = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    loop {
        let mut out = String::with_capacity(GENERATED_PASSWORD_LEN);
        while out.len() < GENERATED_PASSWORD_LEN {
            let mut buf = [0u8; 64];
            getrandom::fill(&mut buf)
                .map_err(|e| OpError::Failed(format!("no random numbers for a password: {e}")))?;
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

/// Runs a plan with one set of credentials; on failure the plan has rolled
/// back and the error says which step failed and what could not be undone.
async fn run_plan(
    config: &RedshiftConfig,
    creds: Credentials,
    plan: &Plan<SqlAction>,
    fault: Option<&FaultInjection>,
    what: &str,
) -> Result<(), OpError> {
    let session = Arc::new(tokio::sync::Mutex::new(Session::new(config, creds)));
    plan::apply(plan, fault, |action| {
        let session = Arc::clone(&session);
        async move { session.lock().await.exec(action).await }
    })
    .await
    .map_err(|failure| OpError::Failed(format!("{what} failed: {failure}")))
}

fn span(op: &OpContext, operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "operation",
        platform = TYPE_NAME,
        integration_id = ?op.integration_id,
        operation,
    )
}

/// The system user: derived from the database for an automatic set-up, the
/// configured user for a manual one.
fn system_user(config: &RedshiftConfig, auto_bootstrap: bool) -> String {
    if auto_bootstrap {
        config.system_user_name()
    } else {
        config.username.clone()
    }
}

fn names<'a>(config: &'a RedshiftConfig, system_user: &'a str) -> Names<'a> {
    Names {
        database: &config.database,
        system_user,
        impersonation_role: config.impersonation_role(),
    }
}

impl Redshift {
    async fn create_automatic(
        &self,
        op: &OpContext,
        mut config: RedshiftConfig,
    ) -> Result<OpOutput<RedshiftConfig>, OpError> {
        let sys = config.system_user_name();
        let password = generate_password()?;
        let plan = bootstrap::create_plan(&names(&config, &sys), &password, self.install_version);
        // The privileged credentials are used here, once, and not kept.
        run_plan(
            &config,
            Credentials::of(&config),
            &plan,
            op.fault.as_ref(),
            "automatic set-up",
        )
        .await?;
        config.username = sys;
        config.password = password;
        Ok(OpOutput {
            config,
            bootstrap_version: self.install_version,
        })
    }

    async fn create_manual(
        &self,
        config: RedshiftConfig,
    ) -> Result<OpOutput<RedshiftConfig>, OpError> {
        let found = async {
            let conn =
                client::connect(&config, &config.database, &Credentials::of(&config)).await?;
            client::recorded_version(&conn).await
        }
        .await;
        match found {
            Ok(version) => Ok(OpOutput {
                config,
                bootstrap_version: version,
            }),
            Err(e) => Err(OpError::Failed(format!(
                "the manual set-up was not found in database \"{}\" ({e}); run the initial-create and create scripts first",
                config.database
            ))),
        }
    }
}

#[async_trait]
impl Platform for Redshift {
    type Config = RedshiftConfig;
    type DeleteCredentials = PrivilegedCredentials;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn description(&self) -> &'static str {
        "Amazon Redshift: a managed database with Junction's schemas, a system user and optional user impersonation."
    }

    fn bootstrap_version(&self) -> u32 {
        CURRENT_VERSION
    }

    fn example_config(&self) -> Value {
        json!({
            "host": "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com",
            "port": 5439,
            "initialDatabase": "dev",
            "database": "immuta",
            "authenticationType": "userPassword",
            "username": "awsuser",
            "password": "example-password",
            "impersonation": {"enabled": true, "role": "immuta_impersonation"},
            "tls": "require",
            "connectTimeoutSeconds": 5
        })
    }

    fn validate_config(
        &self,
        config: &RedshiftConfig,
        auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        config::validate(config, auto_bootstrap)
    }

    fn account_key(&self, config: &RedshiftConfig) -> String {
        format!("{}:{}", config.host.to_ascii_lowercase(), config.port)
    }

    fn checks(&self) -> Vec<Check<RedshiftConfig>> {
        checks::checks()
    }

    async fn create(
        &self,
        op: &OpContext,
        config: RedshiftConfig,
    ) -> Result<OpOutput<RedshiftConfig>, OpError> {
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
    /// system user may change its password (a rotation, done as the system user
    /// itself); one that names another user gives privileged credentials, used
    /// once, for changes to impersonation (roles need a privileged user). With
    /// `autoBootstrap: false` the operator runs the edit script; nothing runs here.
    async fn edit(
        &self,
        op: &OpContext,
        old: RedshiftConfig,
        new: RedshiftConfig,
    ) -> Result<OpOutput<RedshiftConfig>, OpError> {
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
            let sys = old.system_user_name();
            let as_system_user = new.username == sys;
            let (creds, passwords) = if as_system_user {
                let creds = Credentials {
                    username: sys.clone(),
                    password: old.password.clone(),
                };
                (creds, Some((&old.password, &new.password)))
            } else {
                (Credentials::of(&new), None)
            };
            let plan = bootstrap::edit_plan(
                &names(&old, &sys),
                &names(&new, &sys),
                passwords,
                op.bootstrap_version,
            );
            if as_system_user && bootstrap::needs_privilege(&plan) {
                return Err(OpError::Invalid(ConfigErrors::one(
                    "config.username",
                    "enabling, disabling or renaming impersonation needs a privileged user: give its username and password, as on create",
                )));
            }
            if !plan.steps.is_empty() {
                run_plan(&new, creds, &plan, op.fault.as_ref(), "edit").await?;
            }
            let password = if as_system_user {
                new.password.clone()
            } else {
                old.password.clone()
            };
            Ok(OpOutput {
                config: RedshiftConfig {
                    username: sys,
                    password,
                    ..new
                },
                bootstrap_version: op.bootstrap_version,
            })
        };
        work.instrument(span(op, "edit")).await
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: RedshiftConfig,
        privileged: Option<PrivilegedCredentials>,
    ) -> Result<(), OpError> {
        let work = async {
            if !op.auto_bootstrap {
                // The operator runs the delete script; Junction touches nothing.
                return Ok(());
            }
            let Some(privileged) = privileged else {
                return Err(OpError::Invalid(ConfigErrors::one(
                    "username",
                    "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload.",
                )));
            };
            let creds = Credentials {
                username: privileged.username,
                password: privileged.password,
            };
            let sys = config.system_user_name();
            let plan = if op.bootstrap_version == 0 {
                // A create that never finished: drop whatever may be left.
                let mut plan = Plan::new();
                for (i, statement) in bootstrap::teardown_script(&names(&config, &sys), true)
                    .into_iter()
                    .enumerate()
                {
                    let statement = statement.trim_end_matches(';').to_owned();
                    plan.push(format!("cleanup-{i}"), SqlAction::initial(statement), None);
                }
                plan
            } else {
                // Undoing the create plan; a rollback re-creates the system user
                // with the password Junction holds for it.
                bootstrap::create_plan(
                    &names(&config, &sys),
                    &config.password,
                    op.bootstrap_version,
                )
                .reversed()
            };
            run_plan(&config, creds, &plan, op.fault.as_ref(), "delete").await
        };
        work.instrument(span(op, "delete")).await
    }

    async fn migrate(
        &self,
        op: &OpContext,
        config: RedshiftConfig,
    ) -> Result<OpOutput<RedshiftConfig>, OpError> {
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
            let sys = system_user(&config, op.auto_bootstrap);
            let plan = bootstrap::migration_plan(&names(&config, &sys), from, CURRENT_VERSION);
            // The system user owns everything the migration touches.
            run_plan(
                &config,
                Credentials::of(&config),
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

    /// The manual scripts. The system user is the configured `username`; its
    /// password is never written into a script: see
    /// [`scripts::PASSWORD_PLACEHOLDER`].
    fn script(
        &self,
        kind: ScriptKind,
        config: &RedshiftConfig,
        previous: Option<&RedshiftConfig>,
    ) -> Result<Script, OpError> {
        let n = names(config, &config.username);
        let password_note = format!(
            "-- The system user's password is not in this script: run it with psql -v junction_password='...' (or replace {} with the quoted password).",
            scripts::PASSWORD_PLACEHOLDER
        );
        let connect_note = |db: &str| {
            format!(
                "-- Run connected to database {} as a superuser.",
                scripts::ident(db)
            )
        };
        let mut statements = match kind {
            ScriptKind::InitialCreate => {
                let mut s = vec![connect_note(&config.initial_database), password_note];
                s.extend(bootstrap::initial_create_script(&n, self.install_version));
                s
            }
            ScriptKind::Create => {
                let mut s = vec![connect_note(&config.database)];
                s.extend(bootstrap::create_script(&n, self.install_version));
                s
            }
            ScriptKind::Delete | ScriptKind::Cleanup => {
                let mut s = vec![connect_note(&config.initial_database)];
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
                    &names(old, &old.username),
                    &n,
                    Some((&old.password, &config.password)),
                    self.install_version,
                );
                let mut s = vec![connect_note(&config.database)];
                if plan.steps.iter().any(|st| st.apply.password.is_some()) {
                    s.push(password_note);
                }
                s.extend(plan.script());
                s
            }
        };
        statements.retain(|s| !s.is_empty());
        Ok(Script::sql(statements))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_redshift_rules_and_differ() {
        let a = generate_password().expect("password");
        let b = generate_password().expect("password");
        for p in [&a, &b] {
            let p = p.expose();
            assert_eq!(p.len(), GENERATED_PASSWORD_LEN);
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
        }
        assert_ne!(a, b);
    }
}
