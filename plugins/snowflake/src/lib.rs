//! # Junction platform: Snowflake
//!
//! Shaped like every platform crate (read one, know the others):
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
//! The lifecycle around these (automatic or manual, fields fixed after
//! create, delete credentials, migrate guards, spans, rollback) is the kit's:
//! this crate implements `junction_kit::Planned`.

mod arrow;
mod bootstrap;
mod checks;
mod client;
mod config;
/// The fuzz target's body (`fuzz/`), run over its corpus by the unit tests.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod keypair;
mod scripts;

pub use bootstrap::{CURRENT_VERSION, step};
pub use config::{PrivilegedCredentials, SnowflakeConfig};

/// For this crate's integration tests only (sessions on a server, the checks'
/// names, catalog look-ups); not part of the platform's surface.
#[doc(hidden)]
pub mod testing {
    pub mod checks {
        pub use crate::checks::*;
    }
    pub use crate::client::{Credentials, Session, SfError, database_exists, recorded_version};
}

use bootstrap::Names;
use client::{Credentials, Session};
use config::AuthenticationType;
use junction_core::{
    Check, ConfigErrors, OpContext, OpError, Plan, Script, ScriptKind, Secret, async_trait,
};
use junction_kit::{Kit, Planned, Run, Work, fixed_field, lifecycle, password};
use scripts::{SqlAction, ident};
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "Snowflake";
/// The privileged role a DELETE body uses when it names none.
pub const DEFAULT_PRIVILEGED_ROLE: &str = "ACCOUNTADMIN";

/// The Snowflake platform (wrapped in [`Kit`], a `junction_core::Platform`).
#[derive(Debug, Clone, Copy)]
pub struct Snowflake {
    install_version: u32,
}

impl Snowflake {
    /// The platform as shipped: create installs the newest set-up version.
    pub const fn new() -> Kit<Snowflake> {
        Kit(Snowflake {
            install_version: CURRENT_VERSION,
        })
    }

    /// A platform whose create installs an older set-up version, as an older
    /// release of Junction would have: for tests of migrations.
    pub const fn installing_version(version: u32) -> Kit<Snowflake> {
        Kit(Snowflake {
            install_version: version,
        })
    }
}

junction_core::register_platform!(Snowflake::new());

/// Whom a plan runs as: the account, one set of credentials and the role the
/// session takes (with the configured warehouse).
pub struct Login {
    config: SnowflakeConfig,
    creds: Credentials,
    role: String,
}

impl Login {
    fn new(config: &SnowflakeConfig, creds: Credentials, role: &str) -> Self {
        Login {
            config: config.clone(),
            creds,
            role: role.to_owned(),
        }
    }
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

#[async_trait]
impl Planned for Snowflake {
    type Config = SnowflakeConfig;
    type Privileged = PrivilegedCredentials;
    type Action = SqlAction;
    type Login = Login;
    type Session = Session;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str = "Snowflake: a managed database with Junction's schemas, a system user and role, policy grants, optional user impersonation, table grants and audit.";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;

    fn install_version(&self) -> u32 {
        self.install_version
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

    fn fixed_fields(&self, config: &SnowflakeConfig) -> Vec<(&'static str, String)> {
        vec![fixed_field("config.database", &config.database)]
    }

    /// Logs in, then takes the login's role and the configured warehouse.
    async fn open(&self, login: &Login) -> Result<Session, String> {
        let session = Session::open(&login.config, login.creds.clone())
            .await
            .map_err(|e| format!("could not log in: {e}"))?;
        for statement in [
            format!("USE ROLE {}", ident(&login.role)),
            format!("USE WAREHOUSE {}", ident(&login.config.warehouse)),
        ] {
            if let Err(e) = session.query(&statement).await {
                session.close().await;
                return Err(format!("{statement}: {e}"));
            }
        }
        Ok(session)
    }

    /// Runs [`bootstrap::create_plan`] in the payload's privileged role and
    /// stores the system user, its generated password and the system role.
    fn create_automatic(
        &self,
        config: SnowflakeConfig,
        version: u32,
    ) -> Result<Work<Self>, OpError> {
        let (user, role) = system_names(&config, true);
        let password = password::generate(password::DEFAULT_LEN)?;
        let names = Names::of(&config, &user, &role, Some(&config.role));
        let plan = bootstrap::create_plan(&names, &password, version);
        let login = Login::new(&config, Credentials::of(&config), &config.role);
        Ok(Work::run(login, plan, as_system(config, password), version))
    }

    /// Reads the version the operator's script recorded.
    async fn create_manual(
        &self,
        config: SnowflakeConfig,
        _version: u32,
    ) -> Result<Work<Self>, OpError> {
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
        let database = config.database.clone();
        lifecycle::manual_setup(config, found, &database, "run the create script first")
    }

    /// Applies only what changed. The stored configuration holds the system
    /// user. A new configuration that names the system user may change its
    /// password (a rotation, done as the system user itself); one that names
    /// another user gives privileged credentials and role, used once, for
    /// changes to roles and grants.
    fn edit_automatic(
        &self,
        op: &OpContext,
        old: SnowflakeConfig,
        new: SnowflakeConfig,
    ) -> Result<Work<Self>, OpError> {
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
        let password = if as_system_user {
            new_password.clone()
        } else {
            old_password.clone()
        };
        let login = Login::new(&new, creds, &session_role);
        Ok(Work::run(
            login,
            plan,
            as_system(new, password),
            op.bootstrap_version,
        ))
    }

    /// Runs the create plan backwards with the DELETE body's credentials, in
    /// its role (default `ACCOUNTADMIN`); a create that never finished
    /// (version 0) drops whatever may be left.
    fn delete_automatic(
        &self,
        op: &OpContext,
        config: SnowflakeConfig,
        privileged: Option<PrivilegedCredentials>,
    ) -> Result<Option<Run<Self>>, OpError> {
        let Some(p) = privileged else {
            return Ok(None);
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
        let password = config.password.clone().unwrap_or_default();
        let plan = lifecycle::undo_setup(
            op.bootstrap_version,
            || {
                let mut plan = Plan::new();
                for (i, statement) in bootstrap::teardown_script(&names, true)
                    .into_iter()
                    .enumerate()
                {
                    let statement = statement.trim_end_matches(';').to_owned();
                    plan.push(format!("cleanup-{i}"), scripts::one(statement), None);
                }
                plan
            },
            // A rollback re-creates the system user with the password Junction holds for it.
            |version| bootstrap::create_plan(&names, &password, version),
        );
        let login = Login::new(&config, creds, &privileged_role);
        Ok(Some(Run::new(login, plan)))
    }

    /// In the system role, which may create tables in the managed schemas.
    fn migration(
        &self,
        op: &OpContext,
        config: &SnowflakeConfig,
        from: u32,
        to: u32,
    ) -> Result<Run<Self>, OpError> {
        let (_, role) = system_names(config, op.auto_bootstrap);
        let plan = bootstrap::migration_plan(&config.database, &role, from, to);
        let login = Login::new(config, Credentials::of(config), &config.role);
        Ok(Run::new(login, plan))
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
        let mut statements = match (kind, previous) {
            (ScriptKind::Create, _) => {
                let mut s = vec![role_note, password_note];
                s.extend(
                    bootstrap::create_plan(&n, &Secret::new(String::new()), self.install_version)
                        .script(),
                );
                s
            }
            (ScriptKind::Delete | ScriptKind::Cleanup, _) => {
                let mut s = vec![role_note];
                s.extend(bootstrap::teardown_script(&n, kind == ScriptKind::Cleanup));
                s
            }
            (ScriptKind::Edit, Some(old)) => {
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
            (ScriptKind::Edit, None) => {
                return Err(OpError::Unsupported(
                    "the edit script needs the stored configuration".into(),
                ));
            }
            (ScriptKind::PostCleanup, _) => {
                return Err(lifecycle::no_script::<Self>(
                    kind,
                    "the cleanup script removes everything",
                ));
            }
            (ScriptKind::InitialCreate, _) => {
                return Err(lifecycle::no_script::<Self>(kind, "run the create script"));
            }
        };
        statements.retain(|s| !s.is_empty());
        Ok(Script::sql(statements))
    }
}
