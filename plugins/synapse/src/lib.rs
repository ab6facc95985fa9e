//! # Junction platform: Azure Synapse Analytics
//!
//! Speaks TDS through tiberius (rustls on aws-lc-rs), built on the platform
//! kit: this crate says what to do ([`junction_kit::Planned`]), the kit runs
//! it ([`junction_kit::Kit`]). The files, each with one job:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the [`Planned`] impl and the registration |
//! | `config.rs` | the typed `config` (serde, JSON Schema, secrets) and its rules |
//! | `checks.rs` | the validation tests, with the contract's names and messages |
//! | `bootstrap.rs` | the set-up as data: plans of steps with their undo, migrations, the manual scripts |
//! | `scripts.rs` | T-SQL: quoting and statements |
//! | `client.rs` | TDS: connection, TLS, timeout, transient-error retries, queries, the session |
//!
//! Operations, in short:
//! - **create** with `autoBootstrap: true` logs in once with the privileged
//!   credentials of the payload (to `master` for the login, to the database
//!   for the rest), runs [`bootstrap::create_plan`], and stores the system
//!   user and its generated password in their place. With `autoBootstrap:
//!   false` it reads the version the operator's scripts recorded.
//! - **edit** runs only the steps for what changed (impersonation), with
//!   privileged credentials in the new configuration.
//! - **delete** runs the create plan backwards with the DELETE body's
//!   privileged credentials.
//! - **migrate** brings the set-up to [`bootstrap::CURRENT_VERSION`], as the
//!   system user (version 2's table is within its grants).
//!
//! See the README for the configuration, the tests and the stand-ins.

mod bootstrap;
mod checks;
mod client;
mod config;
/// The fuzz target's body (`fuzz/`), run over its corpus by the unit tests.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod scripts;

junction_kit::test_hooks!(bootstrap, checks, client, config, scripts);

use bootstrap::{CURRENT_VERSION, Names};
use client::{Credentials, DbError, Session};
pub use config::{PrivilegedCredentials, SynapseConfig};
use junction_core::{
    Check, ConfigErrors, OpContext, OpError, Plan, Script, ScriptKind, async_trait,
};
use junction_kit::{Executor, Planned, Run, Work, fixed_field, lifecycle};
use scripts::TsqlAction;
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "Azure Synapse Analytics";

/// The Azure Synapse Analytics platform.
#[derive(Debug, Clone, Copy)]
pub struct Synapse {
    install_version: u32,
}

impl Default for Synapse {
    fn default() -> Self {
        Synapse::new()
    }
}

impl Synapse {
    /// The platform as shipped: create installs the newest set-up version.
    pub const fn new() -> Self {
        Synapse {
            install_version: CURRENT_VERSION,
        }
    }

    /// A platform whose create installs an older set-up version, as an older
    /// release of Junction would have: for tests of migrations.
    pub const fn installing_version(version: u32) -> Self {
        Synapse {
            install_version: version,
        }
    }

    /// The second clean-up stage after a failed create, run connected to
    /// `master` after the cleanup script: the system login
    /// (`POST /integrations/scripts/post-cleanup`).
    pub fn post_cleanup_script(&self, config: &SynapseConfig) -> Script {
        let mut s = vec![
            connect_note("master", "the server admin"),
            format!(
                "-- Run after the cleanup script: it removes the system login {} (the payload's username).",
                scripts::qualified_db(&config.username)
            ),
        ];
        s.extend(bootstrap::post_cleanup_script(&names(
            config,
            &config.username,
        )));
        Script::sql(s)
    }
}

junction_core::register_platform!(junction_kit::Kit(Synapse::new()));

/// Whom a plan runs as.
pub struct Login {
    config: SynapseConfig,
    creds: Credentials,
}

impl Login {
    fn new(config: &SynapseConfig, creds: Credentials) -> Self {
        Login {
            config: config.clone(),
            creds,
        }
    }
}

#[async_trait]
impl Executor<TsqlAction> for Session {
    type Error = DbError;

    async fn exec(&mut self, action: TsqlAction) -> Result<(), DbError> {
        Session::exec(self, action).await
    }

    async fn close(self) {
        Session::close(self).await;
    }
}

fn names<'a>(config: &'a SynapseConfig, system_user: &'a str) -> Names<'a> {
    Names {
        view_schema: &config.schema,
        system_user,
        impersonation_role: config.impersonation_role(),
    }
}

fn connect_note(database: &str, as_whom: &str) -> String {
    format!(
        "-- Run connected to database {} as {as_whom} (sqlcmd -d {database}); each GO ends a batch.",
        scripts::qualified_db(database)
    )
}

const PASSWORD_NOTE: &str = "-- The system user's password is not in this script: run it with sqlcmd -v junction_password=\"...\" (or replace $(junction_password) with the password).";

#[async_trait]
impl Planned for Synapse {
    type Config = SynapseConfig;
    type Privileged = PrivilegedCredentials;
    type Action = TsqlAction;
    type Login = Login;
    type Session = Session;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str = "Azure Synapse Analytics: inside an existing database (dedicated SQL pool), a view schema and Junction's schemas, a system login and user with exactly its grants, and optional user impersonation.";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;

    fn install_version(&self) -> u32 {
        self.install_version
    }

    fn example_config(&self) -> Value {
        json!({
            "host": "myworkspace.sql.azuresynapse.net",
            "port": 1433,
            "database": "immuta_pool",
            "schema": "immuta",
            "authenticationType": "userPassword",
            "username": "sqladminuser",
            "password": "example-password",
            "impersonation": {"enabled": true, "role": "immuta_impersonation"},
            "metadataDelimiters": {"hashDelimiter": "|", "hashKeyDelimiter": ":", "arrayDelimiter": ","},
            "encrypt": "require",
            "connectTimeoutSeconds": 30
        })
    }

    fn validate_config(
        &self,
        config: &SynapseConfig,
        auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        config::validate(config, auto_bootstrap)
    }

    fn account_key(&self, config: &SynapseConfig) -> String {
        format!(
            "{}:{}/{}",
            config.host.to_ascii_lowercase(),
            config.port,
            config.database.to_lowercase()
        )
    }

    fn checks(&self) -> Vec<Check<SynapseConfig>> {
        checks::checks()
    }

    /// The database, the view schema and the delimiters (what is stored
    /// under them would be unreadable with others).
    fn fixed_fields(&self, c: &SynapseConfig) -> Vec<(&'static str, String)> {
        let d = &c.metadata_delimiters;
        vec![
            fixed_field("config.database", &c.database),
            fixed_field("config.schema", &c.schema),
            fixed_field("config.metadataDelimiters.hashDelimiter", &d.hash_delimiter),
            fixed_field(
                "config.metadataDelimiters.hashKeyDelimiter",
                &d.hash_key_delimiter,
            ),
            fixed_field(
                "config.metadataDelimiters.arrayDelimiter",
                &d.array_delimiter,
            ),
        ]
    }

    /// Connections open when the first action needs them.
    async fn open(&self, login: &Login) -> Result<Session, String> {
        Ok(Session::new(&login.config, login.creds.clone()))
    }

    fn create_automatic(&self, config: SynapseConfig, version: u32) -> Result<Work<Self>, OpError> {
        let sys = config.system_user_name();
        let password = junction_kit::password::generate(junction_kit::password::DEFAULT_LEN)?;
        let plan = bootstrap::create_plan(&names(&config, &sys), &password, version);
        let login = Login::new(&config, client::credentials_of(&config));
        let stored = SynapseConfig {
            username: sys,
            password,
            ..config
        };
        Ok(Work::run(login, plan, stored, version))
    }

    async fn create_manual(
        &self,
        config: SynapseConfig,
        _version: u32,
    ) -> Result<Work<Self>, OpError> {
        let found = async {
            let mut conn =
                client::connect(&config, &config.database, &client::credentials_of(&config))
                    .await?;
            let v = client::recorded_version(&mut conn).await;
            let _ = conn.close().await;
            v
        }
        .await;
        let database = config.database.clone();
        lifecycle::manual_setup(
            config,
            found,
            &database,
            "run the initial-create script in master and the create script in the database first",
        )
    }

    /// With the system user in the new configuration nothing may change but
    /// what needs no statement; with another user (privileged credentials,
    /// used once) impersonation may be enabled, disabled or renamed.
    fn edit_automatic(
        &self,
        op: &OpContext,
        old: SynapseConfig,
        new: SynapseConfig,
    ) -> Result<Work<Self>, OpError> {
        let sys = old.system_user_name();
        let as_system_user = new.username.eq_ignore_ascii_case(&sys);
        let plan = bootstrap::edit_plan(&names(&old, &sys), &names(&new, &sys));
        if as_system_user && new.password != old.password {
            return Err(OpError::Invalid(ConfigErrors::one(
                "config.password",
                "must be the system user's stored password: Junction does not rotate it by edit",
            )));
        }
        if as_system_user && !plan.steps.is_empty() {
            return Err(lifecycle::needs_privileged_user(
                "enabling, disabling or renaming impersonation",
            ));
        }
        let login = Login::new(&new, client::credentials_of(&new));
        let stored = SynapseConfig {
            username: sys,
            password: old.password.clone(),
            ..new
        };
        Ok(Work::run(login, plan, stored, op.bootstrap_version))
    }

    fn delete_automatic(
        &self,
        op: &OpContext,
        config: SynapseConfig,
        privileged: Option<PrivilegedCredentials>,
    ) -> Result<Option<Run<Self>>, OpError> {
        // The kit refuses a DELETE without them before asking.
        let Some(p) = privileged else {
            return Ok(None);
        };
        let creds = p;
        let sys = config.system_user_name();
        let n = names(&config, &sys);
        let plan: Plan<TsqlAction> = lifecycle::undo_setup(
            op.bootstrap_version,
            || bootstrap::teardown_plan(&n),
            // A rollback re-creates the login with the password Junction holds for it.
            |version| bootstrap::create_plan(&n, &config.password, version),
        );
        Ok(Some(Run::new(Login::new(&config, creds), plan)))
    }

    /// Runs as the stored user: the system user, whose grants cover what
    /// each migration changes (automatic or manual set-up alike).
    fn migration(
        &self,
        _op: &OpContext,
        config: &SynapseConfig,
        from: u32,
        to: u32,
    ) -> Result<Run<Self>, OpError> {
        let plan = bootstrap::migration_plan(from, to);
        Ok(Run::new(
            Login::new(config, client::credentials_of(config)),
            plan,
        ))
    }

    /// The manual scripts. The system user is the configured `username`; its
    /// password is never written into a script (sqlcmd's `$(junction_password)`).
    fn script(
        &self,
        kind: ScriptKind,
        config: &SynapseConfig,
        previous: Option<&SynapseConfig>,
    ) -> Result<Script, OpError> {
        let n = names(config, &config.username);
        let admin = "the server admin (or a member of db_owner)";
        let mut s = match kind {
            ScriptKind::InitialCreate => {
                let mut s = vec![
                    connect_note("master", "the server admin"),
                    PASSWORD_NOTE.to_owned(),
                ];
                s.extend(bootstrap::initial_create_script(&n, self.install_version));
                s
            }
            ScriptKind::Create => {
                let mut s = vec![
                    connect_note(&config.database, admin),
                    "-- Run after the initial-create script (in master).".to_owned(),
                ];
                s.extend(bootstrap::create_script(&n, self.install_version));
                s
            }
            ScriptKind::Cleanup => {
                let mut s = vec![
                    connect_note(&config.database, admin),
                    "-- After a failed create; then run the post-cleanup script in master."
                        .to_owned(),
                ];
                s.extend(bootstrap::cleanup_script(&n));
                s
            }
            ScriptKind::PostCleanup => self.post_cleanup_script(config).statements,
            ScriptKind::Delete => {
                let mut s = vec![connect_note(&config.database, admin)];
                s.extend(bootstrap::delete_script(&n));
                s
            }
            ScriptKind::Edit => {
                let Some(old) = previous else {
                    return Err(OpError::Unsupported(
                        "the edit script needs the stored configuration".into(),
                    ));
                };
                let plan = bootstrap::edit_plan(&names(old, &old.username), &n);
                let mut s = vec![connect_note(&config.database, admin)];
                s.extend(bootstrap::edit_script(&plan));
                s
            }
        };
        s.retain(|l| !l.is_empty());
        Ok(Script::sql(s))
    }
}
