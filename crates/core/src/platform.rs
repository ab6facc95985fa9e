//! The `Platform` trait a plugin implements, and `DynPlatform`, the
//! type-erased, JSON-bounded face of it that the host (and the plugin ABI) use.

use crate::check::{Check, CheckContext, CheckDescriptor};
use crate::config::{self, ConfigErrors};
use crate::plan::FaultInjection;
use crate::runner::{self, Progress, RunOptions};
use crate::validation::ValidationResults;
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;

/// What a typed configuration must be.
pub trait PlatformConfig:
    DeserializeOwned + Serialize + schemars::JsonSchema + Debug + Clone + Send + Sync + 'static
{
}
impl<T> PlatformConfig for T where
    T: DeserializeOwned + Serialize + schemars::JsonSchema + Debug + Clone + Send + Sync + 'static
{
}

/// Which values of `autoBootstrap` a platform accepts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum BootstrapModes {
    Both,
    ManualOnly,
    AutomaticOnly,
}

impl BootstrapModes {
    pub fn allows(self, auto_bootstrap: bool) -> bool {
        match self {
            BootstrapModes::Both => true,
            BootstrapModes::ManualOnly => !auto_bootstrap,
            BootstrapModes::AutomaticOnly => auto_bootstrap,
        }
    }
}

/// Whether DELETE takes privileged credentials.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum DeleteCredentials {
    /// Required for automatically set-up integrations, refused for manual ones.
    WhenAutomatic,
    /// Never taken (Databricks).
    Never,
}

/// A manual script the operator runs by hand.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ScriptKind {
    /// Run first, in an existing database (Redshift, Synapse).
    InitialCreate,
    Create,
    /// Removes what a failed create left.
    Cleanup,
    /// The second stage of a cleanup, run after `Cleanup` where set-up had two
    /// stages (Synapse: the logins in `master`).
    PostCleanup,
    /// Brings the platform from the stored configuration to a new one.
    Edit,
    Delete,
}

impl ScriptKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ScriptKind::InitialCreate => "initial-create",
            ScriptKind::Create => "create",
            ScriptKind::Cleanup => "cleanup",
            ScriptKind::PostCleanup => "post-cleanup",
            ScriptKind::Edit => "edit",
            ScriptKind::Delete => "delete",
        }
    }
}

/// A generated script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Script {
    /// `sql`, `shell`, … for syntax highlighting and for the operator.
    pub language: String,
    pub statements: Vec<String>,
}

impl Script {
    pub fn sql(statements: Vec<String>) -> Self {
        Script {
            language: "sql".into(),
            statements,
        }
    }

    /// The script as one text, each statement on its own line(s).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.statements {
            out.push_str(s);
            out.push('\n');
        }
        out
    }
}

/// What an operation knows besides the configuration.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpContext {
    pub integration_id: Option<i64>,
    pub auto_bootstrap: bool,
    /// The set-up version the integration is at (0 before create).
    pub bootstrap_version: u32,
    /// Tests only: make a named step fail, to exercise rollback.
    pub fault: Option<FaultInjection>,
}

/// What a successful operation leaves.
#[derive(Debug, Clone)]
pub struct OpOutput<C> {
    /// The configuration to store from now on (with generated credentials, say).
    pub config: C,
    /// The set-up version now in place.
    pub bootstrap_version: u32,
}

/// Why an operation failed. Messages must name no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("invalid input: {0}")]
    Invalid(ConfigErrors),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Failed(String),
}

impl From<ConfigErrors> for OpError {
    fn from(e: ConfigErrors) -> Self {
        OpError::Invalid(e)
    }
}

/// Privileged credentials for a DELETE, for platforms that take none.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoCredentials {}

/// A data platform, as its plugin author writes it.
#[async_trait]
pub trait Platform: Send + Sync + 'static {
    type Config: PlatformConfig;
    /// Privileged credentials taken by DELETE of an automatically set-up integration.
    type DeleteCredentials: DeserializeOwned + schemars::JsonSchema + Debug + Send + Sync + 'static;

    /// The payload's `type`: `Redshift`, `Native S3`, …
    fn type_name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn bootstrap_modes(&self) -> BootstrapModes {
        BootstrapModes::Both
    }
    fn delete_credentials(&self) -> DeleteCredentials {
        DeleteCredentials::WhenAutomatic
    }
    /// The newest set-up version; integrations below it can be migrated.
    fn bootstrap_version(&self) -> u32 {
        1
    }
    /// A complete, valid `config` object, for docs and the conformance suite.
    fn example_config(&self) -> Value;

    /// Rules beyond the types (cross-field rules, formats), with paths under `config`.
    fn validate_config(
        &self,
        _config: &Self::Config,
        _auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        Ok(())
    }

    /// Names the platform account: one integration per account.
    fn account_key(&self, config: &Self::Config) -> String;

    /// Rules an edit must keep (fields fixed once set up), checked when the
    /// edit is asked for, before anything runs: errors carry paths under `config`.
    fn check_edit(&self, _old: &Self::Config, _new: &Self::Config) -> Result<(), ConfigErrors> {
        Ok(())
    }

    fn checks(&self) -> Vec<Check<Self::Config>>;

    async fn create(
        &self,
        op: &OpContext,
        config: Self::Config,
    ) -> Result<OpOutput<Self::Config>, OpError>;
    async fn edit(
        &self,
        op: &OpContext,
        old: Self::Config,
        new: Self::Config,
    ) -> Result<OpOutput<Self::Config>, OpError>;
    async fn delete(
        &self,
        op: &OpContext,
        config: Self::Config,
        privileged: Option<Self::DeleteCredentials>,
    ) -> Result<(), OpError>;
    async fn migrate(
        &self,
        op: &OpContext,
        config: Self::Config,
    ) -> Result<OpOutput<Self::Config>, OpError>;

    /// A manual script; `previous` is the stored configuration for `Edit`.
    fn script(
        &self,
        kind: ScriptKind,
        config: &Self::Config,
        previous: Option<&Self::Config>,
    ) -> Result<Script, OpError>;
}

/// A platform as data, for `GET /platforms` and the plugin ABI.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformDescriptor {
    #[serde(rename = "type")]
    pub type_name: String,
    pub description: String,
    pub bootstrap_modes: BootstrapModes,
    pub delete_credentials: DeleteCredentials,
    pub bootstrap_version: u32,
    pub checks: Vec<CheckDescriptor>,
    /// JSON Schema (2020-12) of `config`; secrets are marked `writeOnly`.
    pub config_schema: Value,
    /// JSON Schema of the DELETE body's credentials.
    pub delete_credentials_schema: Value,
    /// JSON pointers of the secret fields of `config`.
    pub secret_paths: Vec<String>,
    pub example_config: Value,
}

/// A configuration checked and normalised by its platform.
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    /// With defaults filled and secrets in clear: for the store's encryption only.
    pub full: Value,
    /// With every secret removed: for responses, logs and peers.
    pub public: Value,
    pub account_key: String,
}

/// What a successful operation leaves, in JSON.
#[derive(Debug, Clone)]
pub struct DynOutput {
    /// Full configuration, secrets in clear.
    pub config: Value,
    pub bootstrap_version: u32,
}

/// The type-erased platform the host drives. Every `Platform` is one; the
/// plugin ABI's loader makes a shared library one.
#[async_trait]
pub trait DynPlatform: Send + Sync {
    fn descriptor(&self) -> PlatformDescriptor;
    fn type_name(&self) -> &str;
    fn parse(&self, config: &Value, auto_bootstrap: bool) -> Result<ParsedConfig, ConfigErrors>;
    /// Checks the DELETE body's credentials without using them.
    fn parse_delete_credentials(&self, body: &Value) -> Result<(), ConfigErrors>;
    /// Whether an edit from the stored `old` to `new` (both full configs) may
    /// start: fields fixed once set up are refused with their paths. Libraries
    /// loaded through the ABI do not answer it (their edit refuses instead).
    fn check_edit(&self, _old: &Value, _new: &Value) -> Result<(), ConfigErrors> {
        Ok(())
    }
    async fn validate(
        &self,
        config: &Value,
        ctx: CheckContext,
        options: &RunOptions,
        progress: Option<Progress<'_>>,
    ) -> Result<ValidationResults, ConfigErrors>;
    async fn create(&self, op: &OpContext, config: &Value) -> Result<DynOutput, OpError>;
    async fn edit(&self, op: &OpContext, old: &Value, new: &Value) -> Result<DynOutput, OpError>;
    async fn delete(
        &self,
        op: &OpContext,
        config: &Value,
        privileged: Option<&Value>,
    ) -> Result<(), OpError>;
    async fn migrate(&self, op: &OpContext, config: &Value) -> Result<DynOutput, OpError>;
    fn script(
        &self,
        kind: ScriptKind,
        config: &Value,
        previous: Option<&Value>,
    ) -> Result<Script, OpError>;
}

/// The JSON Schema (2020-12) of `T`, as a value.
pub fn schema_of<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::SchemaGenerator::default().into_root_schema_for::<T>())
        .unwrap_or(Value::Null)
}

fn parse_typed<P: Platform + ?Sized>(
    platform: &P,
    config: &Value,
    auto_bootstrap: bool,
) -> Result<P::Config, ConfigErrors> {
    if !platform.bootstrap_modes().allows(auto_bootstrap) {
        return Err(ConfigErrors::one(
            "autoBootstrap",
            format!(
                "{} integrations do not support autoBootstrap: {auto_bootstrap}.",
                platform.type_name()
            ),
        ));
    }
    if !config.is_object() {
        return Err(ConfigErrors::one("config", "must be an object"));
    }
    let typed: P::Config = config::from_json_at(config, "config")?;
    platform.validate_config(&typed, auto_bootstrap)?;
    Ok(typed)
}

fn to_full_json<C: Serialize>(config: &C) -> Result<Value, OpError> {
    crate::secret::with_secrets_exposed(|| serde_json::to_value(config)).map_err(|e| {
        OpError::Failed(format!(
            "the configuration could not be written as JSON: {e}"
        ))
    })
}

fn parse_stored<P: Platform + ?Sized>(platform: &P, config: &Value) -> Result<P::Config, OpError> {
    config::from_json_at(config, "config").map_err(|e| {
        let _ = platform;
        OpError::Invalid(e)
    })
}

fn dyn_output<C: Serialize>(out: OpOutput<C>) -> Result<DynOutput, OpError> {
    Ok(DynOutput {
        config: to_full_json(&out.config)?,
        bootstrap_version: out.bootstrap_version,
    })
}

#[async_trait]
impl<P: Platform> DynPlatform for P {
    fn descriptor(&self) -> PlatformDescriptor {
        let config_schema = schema_of::<P::Config>();
        PlatformDescriptor {
            type_name: self.type_name().to_owned(),
            description: self.description().to_owned(),
            bootstrap_modes: self.bootstrap_modes(),
            delete_credentials: self.delete_credentials(),
            bootstrap_version: self.bootstrap_version(),
            checks: self.checks().iter().map(Check::descriptor).collect(),
            secret_paths: config::secret_paths(&config_schema),
            config_schema,
            delete_credentials_schema: schema_of::<P::DeleteCredentials>(),
            example_config: self.example_config(),
        }
    }

    fn type_name(&self) -> &str {
        Platform::type_name(self)
    }

    fn parse(&self, config: &Value, auto_bootstrap: bool) -> Result<ParsedConfig, ConfigErrors> {
        let typed = parse_typed(self, config, auto_bootstrap)?;
        let full = to_full_json(&typed).map_err(|e| ConfigErrors::one("config", e.to_string()))?;
        let paths = config::secret_paths(&schema_of::<P::Config>());
        Ok(ParsedConfig {
            public: config::without_secrets(&full, &paths),
            full,
            account_key: self.account_key(&typed),
        })
    }

    fn parse_delete_credentials(&self, body: &Value) -> Result<(), ConfigErrors> {
        config::from_json_at::<P::DeleteCredentials>(body, "").map(|_| ())
    }

    fn check_edit(&self, old: &Value, new: &Value) -> Result<(), ConfigErrors> {
        let old: P::Config = config::from_json_at(old, "config")?;
        let new: P::Config = config::from_json_at(new, "config")?;
        Platform::check_edit(self, &old, &new)
    }

    async fn validate(
        &self,
        config: &Value,
        ctx: CheckContext,
        options: &RunOptions,
        progress: Option<Progress<'_>>,
    ) -> Result<ValidationResults, ConfigErrors> {
        let typed = parse_typed(self, config, ctx.auto_bootstrap)?;
        let mut options = options.clone();
        if options.platform.is_empty() {
            options.platform = Platform::type_name(self).to_owned();
        }
        Ok(runner::run_checks(&self.checks(), Arc::new(typed), &ctx, &options, progress).await)
    }

    async fn create(&self, op: &OpContext, config: &Value) -> Result<DynOutput, OpError> {
        let typed = parse_stored(self, config)?;
        dyn_output(Platform::create(self, op, typed).await?)
    }

    async fn edit(&self, op: &OpContext, old: &Value, new: &Value) -> Result<DynOutput, OpError> {
        let old = parse_stored(self, old)?;
        let new = parse_stored(self, new)?;
        dyn_output(Platform::edit(self, op, old, new).await?)
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: &Value,
        privileged: Option<&Value>,
    ) -> Result<(), OpError> {
        let typed = parse_stored(self, config)?;
        let privileged = match privileged {
            Some(body) => Some(config::from_json_at::<P::DeleteCredentials>(body, "")?),
            None => None,
        };
        Platform::delete(self, op, typed, privileged).await
    }

    async fn migrate(&self, op: &OpContext, config: &Value) -> Result<DynOutput, OpError> {
        let typed = parse_stored(self, config)?;
        dyn_output(Platform::migrate(self, op, typed).await?)
    }

    fn script(
        &self,
        kind: ScriptKind,
        config: &Value,
        previous: Option<&Value>,
    ) -> Result<Script, OpError> {
        let typed = parse_stored(self, config)?;
        let previous = match previous {
            Some(p) => Some(parse_stored(self, p)?),
            None => None,
        };
        Platform::script(self, kind, &typed, previous.as_ref())
    }
}
