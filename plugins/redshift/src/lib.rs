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
//! The lifecycle around these (automatic or manual, fields fixed after
//! create, delete credentials, migrate guards, spans, rollback) is the kit's:
//! this crate implements `junction_kit::Planned`.

mod bootstrap;
mod checks;
mod client;
mod config;
mod scripts;

pub use bootstrap::{CURRENT_VERSION, step};

/// For this crate's integration tests only (the plans' step ids, a direct
/// connection); not part of the platform's surface.
#[doc(hidden)]
pub mod testing {
    pub use crate::bootstrap::{Names, create_plan};
    pub use crate::client::{Credentials, connect, credentials_of};
}
pub use config::{PrivilegedCredentials, RedshiftConfig, TlsMode};

use bootstrap::Names;
use client::{Credentials, Login, Session};
use junction_core::{
    Check, ConfigErrors, OpContext, OpError, Plan, Script, ScriptKind, async_trait,
};
use junction_kit::{Kit, Planned, Run, Work, fixed_field, lifecycle, password};
use scripts::SqlAction;
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "Redshift";

/// The Redshift platform (wrapped in [`Kit`], a `junction_core::Platform`).
#[derive(Debug, Clone, Copy)]
pub struct Redshift {
    install_version: u32,
}

impl Redshift {
    /// The platform as shipped: create installs the newest set-up version.
    pub const fn new() -> Kit<Redshift> {
        Kit(Redshift {
            install_version: CURRENT_VERSION,
        })
    }

    /// A platform whose create installs an older set-up version, as an older
    /// release of Junction would have: for tests of migrations.
    pub const fn installing_version(version: u32) -> Kit<Redshift> {
        Kit(Redshift {
            install_version: version,
        })
    }
}

junction_core::register_platform!(Redshift::new());

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

#[async_trait]
impl Planned for Redshift {
    type Config = RedshiftConfig;
    type Privileged = PrivilegedCredentials;
    type Action = SqlAction;
    type Login = Login;
    type Session = Session;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str = "Amazon Redshift: a managed database with Junction's schemas, a system user and optional user impersonation.";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;

    fn install_version(&self) -> u32 {
        self.install_version
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

    fn fixed_fields(&self, config: &RedshiftConfig) -> Vec<(&'static str, String)> {
        vec![fixed_field("config.database", &config.database)]
    }

    /// Connections open lazily, per database, at the first action.
    async fn open(&self, login: &Login) -> Result<Session, String> {
        Ok(Session::new(&login.config, login.creds.clone()))
    }

    /// Runs [`bootstrap::create_plan`] as the payload's privileged user and
    /// stores the system user with its generated password in their place.
    fn create_automatic(
        &self,
        mut config: RedshiftConfig,
        version: u32,
    ) -> Result<Work<Self>, OpError> {
        let sys = config.system_user_name();
        let password = password::generate(password::DEFAULT_LEN)?;
        let plan = bootstrap::create_plan(&names(&config, &sys), &password, version);
        let login = Login::new(&config, client::credentials_of(&config));
        config.username = sys;
        config.password = password;
        Ok(Work::run(login, plan, config, version))
    }

    /// Reads the version the operator's scripts recorded.
    async fn create_manual(
        &self,
        config: RedshiftConfig,
        _version: u32,
    ) -> Result<Work<Self>, OpError> {
        let found = async {
            let conn = client::connect(&config, &config.database, &client::credentials_of(&config))
                .await?;
            client::recorded_version(&conn).await
        }
        .await;
        let database = config.database.clone();
        lifecycle::manual_setup(
            config,
            found,
            &database,
            "run the initial-create and create scripts first",
        )
    }

    /// Applies only what changed. The stored configuration holds the system
    /// user. A new configuration that names the system user may change its
    /// password (a rotation, done as the system user itself); one that names
    /// another user gives privileged credentials, used once, for changes to
    /// impersonation (roles need a privileged user).
    fn edit_automatic(
        &self,
        op: &OpContext,
        old: RedshiftConfig,
        new: RedshiftConfig,
    ) -> Result<Work<Self>, OpError> {
        let sys = old.system_user_name();
        let as_system_user = new.username == sys;
        let (creds, passwords) = if as_system_user {
            let creds = Credentials {
                username: sys.clone(),
                password: old.password.clone(),
            };
            (creds, Some((&old.password, &new.password)))
        } else {
            (client::credentials_of(&new), None)
        };
        let plan = bootstrap::edit_plan(
            &names(&old, &sys),
            &names(&new, &sys),
            passwords,
            op.bootstrap_version,
        );
        if as_system_user && bootstrap::needs_privilege(&plan) {
            return Err(lifecycle::needs_privileged_user(
                "enabling, disabling or renaming impersonation",
            ));
        }
        let password = if as_system_user {
            new.password.clone()
        } else {
            old.password.clone()
        };
        let login = Login::new(&new, creds);
        let store = RedshiftConfig {
            username: sys,
            password,
            ..new
        };
        Ok(Work::run(login, plan, store, op.bootstrap_version))
    }

    /// Runs the create plan backwards with the DELETE body's credentials; a
    /// create that never finished (version 0) drops whatever may be left.
    fn delete_automatic(
        &self,
        op: &OpContext,
        config: RedshiftConfig,
        privileged: Option<PrivilegedCredentials>,
    ) -> Result<Option<Run<Self>>, OpError> {
        let Some(privileged) = privileged else {
            return Ok(None);
        };
        let creds = privileged;
        let sys = config.system_user_name();
        let n = names(&config, &sys);
        let plan = lifecycle::undo_setup(
            op.bootstrap_version,
            || {
                let mut plan = Plan::new();
                for (i, statement) in bootstrap::teardown_script(&n, true).into_iter().enumerate() {
                    let statement = statement.trim_end_matches(';').to_owned();
                    plan.push(format!("cleanup-{i}"), scripts::initial(statement), None);
                }
                plan
            },
            // A rollback re-creates the system user with the password Junction holds for it.
            |version| bootstrap::create_plan(&n, &config.password, version),
        );
        Ok(Some(Run::new(Login::new(&config, creds), plan)))
    }

    /// As the system user, which owns everything the migration touches.
    fn migration(
        &self,
        op: &OpContext,
        config: &RedshiftConfig,
        from: u32,
        to: u32,
    ) -> Result<Run<Self>, OpError> {
        let sys = system_user(config, op.auto_bootstrap);
        let plan = bootstrap::migration_plan(&names(config, &sys), from, to);
        Ok(Run::new(
            Login::new(config, client::credentials_of(config)),
            plan,
        ))
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
        let mut statements = match (kind, previous) {
            (ScriptKind::InitialCreate, _) => {
                let mut s = vec![connect_note(&config.initial_database), password_note];
                s.extend(bootstrap::initial_create_script(&n, self.install_version));
                s
            }
            (ScriptKind::Create, _) => {
                let mut s = vec![connect_note(&config.database)];
                s.extend(bootstrap::create_script(&n, self.install_version));
                s
            }
            (ScriptKind::Delete | ScriptKind::Cleanup, _) => {
                let mut s = vec![connect_note(&config.initial_database)];
                s.extend(bootstrap::teardown_script(&n, kind == ScriptKind::Cleanup));
                s
            }
            (ScriptKind::Edit, Some(old)) => {
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
                s.extend(junction_core::Plan::script(&plan));
                s
            }
            (ScriptKind::PostCleanup, _) => {
                return Err(lifecycle::no_script::<Self>(
                    kind,
                    "the cleanup script removes everything",
                ));
            }
            (ScriptKind::Edit, None) => {
                return Err(OpError::Unsupported(
                    "the edit script needs the stored configuration".into(),
                ));
            }
        };
        statements.retain(|s| !s.is_empty());
        Ok(Script::sql(statements))
    }
}
