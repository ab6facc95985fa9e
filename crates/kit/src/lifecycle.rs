//! The lifecycle skeleton of a platform whose set-up is a plan.
//!
//! A platform implements [`Planned`]: its description, its checks, how to
//! open a session ([`Planned::open`], an [`Executor`] of its actions), and per
//! operation a pure function that says what to do — a [`Work`]: the plan to
//! run, as whom, and the configuration to store afterwards. [`Kit`] wraps it
//! into a `junction_core::Platform` and does the rest, the same way for every
//! platform:
//!
//! - **create**: automatic or manual by `autoBootstrap`;
//! - **edit**: fields fixed after create are refused with their path (also
//!   when the edit is asked for, through `check_edit`), then the platform's
//!   automatic or manual edit;
//! - **delete**: an automatically set-up integration needs the DELETE body's
//!   privileged credentials (unless the platform takes none); a manual one
//!   runs what the platform says (usually nothing: the operator runs the
//!   delete script);
//! - **migrate**: refused without a set-up (`0`) or when already at the newest
//!   version, else the platform's migration plan;
//! - each operation in a span carrying the platform, integration id and
//!   operation; each plan run with rollback and fault injection
//!   (`junction_core::plan::apply`), its failure saying which step failed and
//!   what could not be undone;
//! - the manual edit script refused without the stored configuration or when
//!   a fixed field changes.

use crate::contract;
use junction_core::{
    Action, BootstrapModes, Check, ConfigErrors, DeleteCredentials, FaultInjection, OpContext,
    OpError, OpOutput, Plan, Platform, PlatformConfig, Script, ScriptKind, async_trait, plan,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::{Debug, Display};
use std::sync::Arc;
use tracing::Instrument;

/// A session on the platform that runs a plan's actions, one at a time.
#[async_trait]
pub trait Executor<A>: Send + 'static {
    type Error: Display + Send + 'static;

    async fn exec(&mut self, action: A) -> Result<(), Self::Error>;

    /// Ends the session (logs out, closes connections). Best effort.
    async fn close(self)
    where
        Self: Sized,
    {
    }
}

/// A plan to run, and whom to run it as.
pub struct Run<P: Planned + ?Sized> {
    pub login: P::Login,
    pub plan: Plan<P::Action>,
}

impl<P: Planned + ?Sized> Run<P> {
    pub fn new(login: P::Login, plan: Plan<P::Action>) -> Self {
        Run { login, plan }
    }
}

/// What an operation that ends in a stored configuration does.
pub enum Work<P: Planned + ?Sized> {
    /// Nothing runs on the platform; the output is stored as it is.
    Store(OpOutput<P::Config>),
    /// The plan runs; once it has, the output is stored.
    Run(Run<P>, OpOutput<P::Config>),
}

impl<P: Planned + ?Sized> Work<P> {
    pub fn store(config: P::Config, bootstrap_version: u32) -> Self {
        Work::Store(OpOutput {
            config,
            bootstrap_version,
        })
    }

    pub fn run(
        login: P::Login,
        plan: Plan<P::Action>,
        config: P::Config,
        bootstrap_version: u32,
    ) -> Self {
        Work::Run(
            Run::new(login, plan),
            OpOutput {
                config,
                bootstrap_version,
            },
        )
    }
}

/// A field fixed once set up: its path under `config` and its value.
pub fn fixed_field(path: &'static str, value: impl ToString) -> (&'static str, String) {
    (path, value.to_string())
}

/// A platform whose set-up is a plan of actions (see the module docs).
#[async_trait]
pub trait Planned: Send + Sync + 'static {
    type Config: PlatformConfig;
    /// The DELETE body of an automatically set-up integration
    /// (`junction_core::NoCredentials` for platforms that take none).
    type Privileged: DeserializeOwned + schemars::JsonSchema + Debug + Send + Sync + 'static;
    type Action: Action + Clone + Send + Sync + 'static;
    /// Whom a plan runs as: connection parameters and credentials.
    type Login: Send + Sync + 'static;
    type Session: Executor<Self::Action>;

    /// The payload's `type`.
    const TYPE_NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// The newest set-up version; integrations below it can be migrated.
    const CURRENT_VERSION: u32;
    const BOOTSTRAP_MODES: BootstrapModes = BootstrapModes::Both;
    const DELETE_CREDENTIALS: DeleteCredentials = DeleteCredentials::WhenAutomatic;

    /// The version create installs: the newest, or an older one in tests of
    /// migrations (as an older release of Junction would have).
    fn install_version(&self) -> u32 {
        Self::CURRENT_VERSION
    }

    /// A complete, valid `config` object, for docs and the conformance suite.
    fn example_config(&self) -> Value;

    /// Rules beyond the types, with paths under `config`.
    fn validate_config(
        &self,
        _config: &Self::Config,
        _auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        Ok(())
    }

    /// Names the platform account: one integration per account.
    fn account_key(&self, config: &Self::Config) -> String;

    fn checks(&self) -> Vec<Check<Self::Config>>;

    /// Fields that cannot change once set up ([`fixed_field`]).
    fn fixed_fields(&self, _config: &Self::Config) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Opens a session as `login`. The error names no secret.
    async fn open(&self, login: &Self::Login) -> Result<Self::Session, String>;

    /// Automatic create: the plan, run with the payload's privileged
    /// credentials (used once, never stored), and the configuration to store.
    /// The three `*_automatic` operations have a default only for platforms
    /// set up by the operator (`BOOTSTRAP_MODES = ManualOnly`), which never
    /// reach them (the core refuses `autoBootstrap: true` when it parses the
    /// payload); a platform with automatic set-up implements all three.
    fn create_automatic(
        &self,
        _config: Self::Config,
        _version: u32,
    ) -> Result<Work<Self>, OpError> {
        Err(manual_only::<Self>())
    }

    /// Manual create: check what the operator's script left (read its
    /// version), or run what the platform does itself.
    async fn create_manual(
        &self,
        config: Self::Config,
        version: u32,
    ) -> Result<Work<Self>, OpError>;

    /// Edit of an automatically set-up integration: only what changed.
    fn edit_automatic(
        &self,
        _op: &OpContext,
        _old: Self::Config,
        _new: Self::Config,
    ) -> Result<Work<Self>, OpError> {
        Err(manual_only::<Self>())
    }

    /// Edit of a manually set-up one: by default nothing runs (the operator
    /// runs the edit script) and the new configuration is stored.
    fn edit_manual(
        &self,
        op: &OpContext,
        _old: Self::Config,
        new: Self::Config,
    ) -> Result<Work<Self>, OpError> {
        Ok(Work::store(new, op.bootstrap_version))
    }

    /// Delete of an automatically set-up integration; `privileged` is always
    /// there for [`DeleteCredentials::WhenAutomatic`] platforms. At
    /// `op.bootstrap_version == 0` a create never finished.
    fn delete_automatic(
        &self,
        _op: &OpContext,
        _config: Self::Config,
        _privileged: Option<Self::Privileged>,
    ) -> Result<Option<Run<Self>>, OpError> {
        Err(manual_only::<Self>())
    }

    /// Delete of a manually set-up one: by default nothing runs (the operator
    /// runs the delete script).
    fn delete_manual(
        &self,
        _op: &OpContext,
        _config: Self::Config,
    ) -> Result<Option<Run<Self>>, OpError> {
        tracing::info!("manual set-up: the operator runs the delete script");
        Ok(None)
    }

    /// The plan from version `from` to `to` (`0 < from < to`), and whom it
    /// runs as. By default there is none: a platform with a single set-up
    /// version never gets here (the kit refuses first), one with several
    /// must say how to move between them.
    fn migration(
        &self,
        _op: &OpContext,
        _config: &Self::Config,
        from: u32,
        to: u32,
    ) -> Result<Run<Self>, OpError> {
        Err(OpError::Unsupported(format!(
            "the {} set-up has no migration from version {from} to {to}",
            Self::TYPE_NAME
        )))
    }

    /// A manual script. For [`ScriptKind::Edit`], `previous` is there and no
    /// fixed field changed (the kit checked).
    fn script(
        &self,
        kind: ScriptKind,
        config: &Self::Config,
        previous: Option<&Self::Config>,
    ) -> Result<Script, OpError>;
}

/// A [`Planned`] platform as a `junction_core::Platform`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kit<P>(pub P);

impl<P> std::ops::Deref for Kit<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

fn span<P: Planned + ?Sized>(op: &OpContext, operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "operation",
        platform = P::TYPE_NAME,
        integration_id = ?op.integration_id,
        operation,
    )
}

/// Fixed fields that differ between `old` and `new`, as errors at their paths.
fn fixed_changes<P: Planned + ?Sized>(
    p: &P,
    old: &P::Config,
    new: &P::Config,
) -> Result<(), ConfigErrors> {
    let before = p.fixed_fields(old);
    let after = p.fixed_fields(new);
    let mut errors = ConfigErrors::default();
    for ((path, a), (_, b)) in before.iter().zip(after.iter()) {
        if a != b {
            errors.push(*path, contract::FIXED_AFTER_CREATE);
        }
    }
    errors.into_result()
}

impl<P: Planned> Kit<P> {
    /// Runs a plan in one session; on failure the plan has rolled back and
    /// the error says which step failed and what could not be undone. An
    /// empty plan opens no session.
    pub async fn run_plan(
        &self,
        run: Run<P>,
        fault: Option<&FaultInjection>,
        what: &str,
    ) -> Result<(), OpError> {
        if run.plan.steps.is_empty() {
            return Ok(());
        }
        let session = self
            .0
            .open(&run.login)
            .await
            .map_err(|e| OpError::Failed(format!("{what} failed: {e}")))?;
        let session = Arc::new(tokio::sync::Mutex::new(session));
        let result = plan::apply(&run.plan, fault, |action| {
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

    async fn finish(
        &self,
        work: Work<P>,
        fault: Option<&FaultInjection>,
        what: &str,
    ) -> Result<OpOutput<P::Config>, OpError> {
        match work {
            Work::Store(out) => Ok(out),
            Work::Run(run, out) => {
                self.run_plan(run, fault, what).await?;
                Ok(out)
            }
        }
    }
}

#[async_trait]
impl<P: Planned> Platform for Kit<P> {
    type Config = P::Config;
    type DeleteCredentials = P::Privileged;

    fn type_name(&self) -> &'static str {
        P::TYPE_NAME
    }

    fn description(&self) -> &'static str {
        P::DESCRIPTION
    }

    fn bootstrap_modes(&self) -> BootstrapModes {
        P::BOOTSTRAP_MODES
    }

    fn delete_credentials(&self) -> DeleteCredentials {
        P::DELETE_CREDENTIALS
    }

    fn bootstrap_version(&self) -> u32 {
        P::CURRENT_VERSION
    }

    fn example_config(&self) -> Value {
        self.0.example_config()
    }

    fn validate_config(
        &self,
        config: &P::Config,
        auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        self.0.validate_config(config, auto_bootstrap)
    }

    fn account_key(&self, config: &P::Config) -> String {
        self.0.account_key(config)
    }

    fn check_edit(&self, old: &P::Config, new: &P::Config) -> Result<(), ConfigErrors> {
        fixed_changes(&self.0, old, new)
    }

    fn checks(&self) -> Vec<Check<P::Config>> {
        self.0.checks()
    }

    async fn create(
        &self,
        op: &OpContext,
        config: P::Config,
    ) -> Result<OpOutput<P::Config>, OpError> {
        let version = self.0.install_version();
        let work = async {
            if op.auto_bootstrap {
                let work = self.0.create_automatic(config, version)?;
                // The privileged credentials are used here, once, and not kept.
                self.finish(work, op.fault.as_ref(), "automatic set-up")
                    .await
            } else {
                let work = self.0.create_manual(config, version).await?;
                self.finish(work, op.fault.as_ref(), "create").await
            }
        };
        work.instrument(span::<P>(op, "create")).await
    }

    async fn edit(
        &self,
        op: &OpContext,
        old: P::Config,
        new: P::Config,
    ) -> Result<OpOutput<P::Config>, OpError> {
        let work = async {
            fixed_changes(&self.0, &old, &new)?;
            let work = if op.auto_bootstrap {
                self.0.edit_automatic(op, old, new)?
            } else {
                self.0.edit_manual(op, old, new)?
            };
            self.finish(work, op.fault.as_ref(), "edit").await
        };
        work.instrument(span::<P>(op, "edit")).await
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: P::Config,
        privileged: Option<P::Privileged>,
    ) -> Result<(), OpError> {
        let work = async {
            let run = if op.auto_bootstrap {
                if privileged.is_none() && P::DELETE_CREDENTIALS == DeleteCredentials::WhenAutomatic
                {
                    return Err(OpError::Invalid(ConfigErrors::one(
                        "username",
                        contract::DELETE_NEEDS_CREDENTIALS,
                    )));
                }
                self.0.delete_automatic(op, config, privileged)?
            } else {
                self.0.delete_manual(op, config)?
            };
            match run {
                Some(run) => self.run_plan(run, op.fault.as_ref(), "delete").await,
                None => Ok(()),
            }
        };
        work.instrument(span::<P>(op, "delete")).await
    }

    async fn migrate(
        &self,
        op: &OpContext,
        config: P::Config,
    ) -> Result<OpOutput<P::Config>, OpError> {
        let work = async {
            let from = op.bootstrap_version;
            let to = P::CURRENT_VERSION;
            if from == 0 {
                return Err(OpError::Failed(
                    "the integration has no set-up to migrate".into(),
                ));
            }
            if from >= to {
                return Err(OpError::Unsupported(format!(
                    "the set-up is at version {from}, the newest is {to}: nothing to migrate"
                )));
            }
            let run = self.0.migration(op, &config, from, to)?;
            self.run_plan(run, op.fault.as_ref(), "migration").await?;
            Ok(OpOutput {
                config,
                bootstrap_version: to,
            })
        };
        work.instrument(span::<P>(op, "migrate")).await
    }

    fn script(
        &self,
        kind: ScriptKind,
        config: &P::Config,
        previous: Option<&P::Config>,
    ) -> Result<Script, OpError> {
        if kind == ScriptKind::Edit {
            let Some(old) = previous else {
                return Err(OpError::Unsupported(
                    "the edit script needs the stored configuration".into(),
                ));
            };
            fixed_changes(&self.0, old, config)?;
        }
        self.0.script(kind, config, previous)
    }
}

/// The manual create's work: the version the operator's scripts recorded in
/// `database`, or why it could not be read and what to run first.
pub fn manual_setup<P: Planned, E: Display>(
    config: P::Config,
    found: Result<u32, E>,
    database: &str,
    run_first: &str,
) -> Result<Work<P>, OpError> {
    match found {
        Ok(version) => Ok(Work::store(config, version)),
        Err(e) => Err(OpError::Failed(format!(
            "the manual set-up was not found in database \"{database}\" ({e}); {run_first}"
        ))),
    }
}

/// The plan that deletes an automatic set-up: at `version` 0 (a create that
/// never finished) the teardown of whatever may be left, else the create
/// plan run backwards, so that a delete failing half-way rolls back by
/// re-creating what it had removed.
pub fn undo_setup<A: Action>(
    version: u32,
    leftovers: impl FnOnce() -> Plan<A>,
    created: impl FnOnce(u32) -> Plan<A>,
) -> Plan<A> {
    if version == 0 {
        leftovers()
    } else {
        created(version).reversed()
    }
}

/// The edit of what Junction made itself in a manual set-up, run as
/// `login`: after a create that never finished (version 0: it rolled back,
/// leaving nothing) a retried create of `new` at the version create
/// installs; else the edit plan, the set-up version unchanged.
pub fn edit_own<P: Planned>(
    platform: &P,
    op: &OpContext,
    login: P::Login,
    new: P::Config,
    create: impl FnOnce(&P::Config, u32) -> Plan<P::Action>,
    edit: impl FnOnce(&P::Config) -> Plan<P::Action>,
) -> Work<P> {
    let (plan, version) = if op.bootstrap_version == 0 {
        let version = platform.install_version();
        (create(&new, version), version)
    } else {
        (edit(&new), op.bootstrap_version)
    };
    Work::run(login, plan, new, version)
}

/// The delete of what Junction made itself in a manual set-up (S3's
/// location, BigQuery's dataset): nothing when the create never finished (it
/// rolled back, so what stands there now is someone else's), else `plan`.
pub fn delete_own<P: Planned>(
    op: &OpContext,
    login: P::Login,
    plan: impl FnOnce() -> Plan<P::Action>,
) -> Option<Run<P>> {
    if op.bootstrap_version == 0 {
        tracing::info!("no set-up recorded: nothing to remove");
        return None;
    }
    Some(Run::new(login, plan()))
}

/// An edit that names the system user but asks for what only a privileged
/// user may do (`what`: "enabling, disabling or renaming impersonation").
pub fn needs_privileged_user(what: &str) -> OpError {
    OpError::Invalid(ConfigErrors::one(
        "config.username",
        format!("{what} needs a privileged user: give its username and password, as on create"),
    ))
}

/// The answer of a platform set up by the operator to an automatic operation.
fn manual_only<P: Planned + ?Sized>() -> OpError {
    OpError::Unsupported(format!(
        "{} integrations are set up by the operator (autoBootstrap: false): there is no automatic set-up",
        P::TYPE_NAME
    ))
}

/// A manual script the platform does not have: `{type} integrations have no
/// {kind} script: {instead}`.
pub fn no_script<P: Planned + ?Sized>(kind: ScriptKind, instead: &str) -> OpError {
    OpError::Unsupported(format!(
        "{} integrations have no {} script: {instead}",
        P::TYPE_NAME,
        kind.as_str()
    ))
}
