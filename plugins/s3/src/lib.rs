//! # Junction platform: Amazon S3 (`Native S3`)
//!
//! Same files as every platform crate, each with one job:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the [`Platform`] impl, wiring the parts below, and the registration |
//! | `config.rs` | the typed `config` (serde, JSON Schema, the secret key) and its rules |
//! | `checks.rs` | the seven validation tests, with the contract's names and messages |
//! | `bootstrap.rs` | the set-up as data: the Access Grants location as plan steps with undo |
//! | `client.rs` | talking to AWS: credentials, STS, S3 and S3 Control clients, AWS errors |
//!
//! S3 integrations are set up by the operator (`autoBootstrap: false` only):
//! the operator creates the Access Grants instance and the location's IAM role.
//! Junction then, with the integration's own credentials:
//! - **create** registers `awsLocationPath` as an Access Grants location with
//!   `awsLocationRole` ([`bootstrap::create_plan`]);
//! - **edit** updates the location's role, or moves it to a new path
//!   ([`bootstrap::edit_plan`]); account and region cannot change;
//! - **delete** removes the location ([`bootstrap::delete_plan`]);
//! - **migrate**: there is one set-up version, so there is nothing to migrate.
//!
//! Every failed operation rolls back what it had done (`junction_core::plan::apply`).

pub mod bootstrap;
pub mod checks;
pub mod client;
pub mod config;

use bootstrap::{CURRENT_VERSION, LocationAction};
pub use config::{AuthenticationType, S3Config};
use junction_core::{
    BootstrapModes, Check, ConfigErrors, NoCredentials, OpContext, OpError, OpOutput, Plan,
    Platform, Script, ScriptKind, async_trait, plan,
};
use serde_json::{Value, json};
use tracing::Instrument;

/// The payload's `type`.
pub const TYPE_NAME: &str = "Native S3";

/// The Amazon S3 platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3;

impl S3 {
    pub const fn new() -> Self {
        S3
    }
}

junction_core::register_platform!(S3::new());

fn span(op: &OpContext, operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "operation",
        platform = TYPE_NAME,
        integration_id = ?op.integration_id,
        operation,
    )
}

/// Runs a plan with the configuration's credentials; on failure the plan has
/// rolled back and the error says which step failed and what could not be undone.
async fn run_plan(
    config: &S3Config,
    plan: &Plan<LocationAction>,
    op: &OpContext,
    what: &str,
) -> Result<(), OpError> {
    if plan.steps.is_empty() {
        return Ok(());
    }
    let clients = client::connect(config).await.map_err(|e| {
        OpError::Failed(format!(
            "{what} failed: the AWS credentials could not be set up: {e}"
        ))
    })?;
    plan::apply(plan, op.fault.as_ref(), |action| {
        let clients = clients.clone();
        async move { bootstrap::exec(&clients, action).await }
    })
    .await
    .map_err(|failure| OpError::Failed(format!("{what} failed: {failure}")))
}

/// Account and region name the Access Grants instance; moving between
/// instances is a new integration.
fn same_instance(old: &S3Config, new: &S3Config) -> Result<(), OpError> {
    let mut errors = ConfigErrors::default();
    if old.aws_account_id != new.aws_account_id {
        errors.push(
            "config.awsAccountId",
            "cannot change after create: delete the integration and create a new one",
        );
    }
    if old.aws_region != new.aws_region {
        errors.push(
            "config.awsRegion",
            "cannot change after create: delete the integration and create a new one",
        );
    }
    errors.into_result().map_err(OpError::Invalid)
}

const SCRIPT_NOTE: &str = "# Junction runs these calls itself, with the integration's credentials; they are shown for review, or to do by hand what a failed operation left.";

#[async_trait]
impl Platform for S3 {
    type Config = S3Config;
    type DeleteCredentials = NoCredentials;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn description(&self) -> &'static str {
        "Amazon S3 with S3 Access Grants: registers the integration's base path as an Access Grants location."
    }

    fn bootstrap_modes(&self) -> BootstrapModes {
        BootstrapModes::ManualOnly
    }

    fn bootstrap_version(&self) -> u32 {
        CURRENT_VERSION
    }

    fn example_config(&self) -> Value {
        json!({
            "name": "Production data lake",
            "awsAccountId": "123456789012",
            "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/access-grants-location",
            "awsLocationPath": "s3://example-data-lake/research",
            "authenticationType": "accessKey",
            "awsAccessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "awsSecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "timeoutSeconds": 10
        })
    }

    fn validate_config(
        &self,
        config: &S3Config,
        _auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        config::validate(config)
    }

    /// One integration per account, region and base path.
    fn account_key(&self, config: &S3Config) -> String {
        format!(
            "{}/{}/{}",
            config.aws_account_id, config.aws_region, config.aws_location_path
        )
    }

    fn checks(&self) -> Vec<Check<S3Config>> {
        checks::checks()
    }

    async fn create(
        &self,
        op: &OpContext,
        config: S3Config,
    ) -> Result<OpOutput<S3Config>, OpError> {
        let work = async {
            run_plan(&config, &bootstrap::create_plan(&config), op, "create").await?;
            Ok(OpOutput {
                config,
                bootstrap_version: CURRENT_VERSION,
            })
        };
        work.instrument(span(op, "create")).await
    }

    /// With the new configuration's credentials (an edit may rotate them).
    async fn edit(
        &self,
        op: &OpContext,
        old: S3Config,
        new: S3Config,
    ) -> Result<OpOutput<S3Config>, OpError> {
        let work = async {
            same_instance(&old, &new)?;
            if op.bootstrap_version == 0 {
                // A create that never finished left nothing (it rolled back):
                // the edit is a retried create with the new configuration.
                run_plan(&new, &bootstrap::create_plan(&new), op, "edit").await?;
            } else {
                run_plan(&new, &bootstrap::edit_plan(&old, &new), op, "edit").await?;
            }
            Ok(OpOutput {
                config: new,
                bootstrap_version: CURRENT_VERSION,
            })
        };
        work.instrument(span(op, "edit")).await
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: S3Config,
        _privileged: Option<NoCredentials>,
    ) -> Result<(), OpError> {
        let work = async {
            if op.bootstrap_version == 0 {
                // A create that never finished rolled its location back; a
                // location at this path now would be someone else's.
                tracing::info!("no set-up recorded: nothing to remove");
                return Ok(());
            }
            run_plan(&config, &bootstrap::delete_plan(&config), op, "delete").await
        };
        work.instrument(span(op, "delete")).await
    }

    async fn migrate(
        &self,
        op: &OpContext,
        _config: S3Config,
    ) -> Result<OpOutput<S3Config>, OpError> {
        let _enter = span(op, "migrate").entered();
        Err(OpError::Unsupported(format!(
            "the S3 set-up has a single version ({CURRENT_VERSION}): nothing to migrate"
        )))
    }

    /// AWS CLI commands, never with credentials in them.
    fn script(
        &self,
        kind: ScriptKind,
        config: &S3Config,
        previous: Option<&S3Config>,
    ) -> Result<Script, OpError> {
        let mut statements = vec![SCRIPT_NOTE.to_owned()];
        match kind {
            ScriptKind::InitialCreate => {
                return Err(OpError::Unsupported(
                    "S3 integrations have no initial-create script: create the Access Grants instance and the location's IAM role, then use the create script".into(),
                ));
            }
            ScriptKind::Create => {
                statements.push(format!(
                    "# Prerequisites: an Access Grants instance in {} / {} (aws s3control create-access-grants-instance --account-id {} --region {}) and the IAM role {} trusted by access-grants.s3.amazonaws.com.",
                    config.aws_account_id,
                    config.aws_region,
                    bootstrap::shell_quote(&config.aws_account_id),
                    bootstrap::shell_quote(&config.aws_region),
                    config.aws_location_role
                ));
                statements.extend(bootstrap::create_plan(config).script());
            }
            ScriptKind::Cleanup => statements.extend(bootstrap::create_plan(config).undo_script()),
            ScriptKind::Delete => statements.extend(bootstrap::delete_plan(config).script()),
            ScriptKind::Edit => {
                let Some(old) = previous else {
                    return Err(OpError::Unsupported(
                        "the edit script needs the stored configuration".into(),
                    ));
                };
                same_instance(old, config)?;
                statements.extend(bootstrap::edit_plan(old, config).script());
            }
        }
        Ok(Script {
            language: "shell".into(),
            statements,
        })
    }
}
