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
//! | `scripts.rs` | the platform's language: S3 Control calls as actions, rendered as AWS CLI commands |
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
//! The lifecycle around these (fixed fields, spans, rollback) is the kit's:
//! this crate implements `junction_kit::Planned`.

mod bootstrap;
mod checks;
mod client;
mod config;
mod scripts;

pub use bootstrap::{CURRENT_VERSION, step};
pub use config::{AuthenticationType, S3Config};

/// For this crate's integration tests only; not part of the platform's surface.
#[doc(hidden)]
pub mod testing {
    pub mod checks {
        pub use crate::checks::*;
    }
    pub mod config {
        pub use crate::config::{is_role_arn, split_path};
    }
    pub mod client {
        pub use crate::client::{AwsError, connect, connect_via};
    }
    pub use crate::client::connect;
}

use client::Clients;
use junction_core::{
    BootstrapModes, Check, ConfigErrors, NoCredentials, OpContext, OpError, Script, ScriptKind,
    async_trait,
};
use junction_kit::{Kit, Planned, Run, Work, fixed_field, lifecycle};
use scripts::LocationAction;
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "Native S3";

/// The Amazon S3 platform (wrapped in [`Kit`], a `junction_core::Platform`).
#[derive(Debug, Clone, Copy, Default)]
pub struct S3;

impl S3 {
    pub const fn new() -> Kit<S3> {
        Kit(S3)
    }
}

junction_core::register_platform!(S3::new());

const SCRIPT_NOTE: &str = "# Junction runs these calls itself, with the integration's credentials; they are shown for review, or to do by hand what a failed operation left.";

#[async_trait]
impl Planned for S3 {
    type Config = S3Config;
    type Privileged = NoCredentials;
    type Action = LocationAction;
    /// Plans run with the configuration's own credentials.
    type Login = S3Config;
    type Session = Clients;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str = "Amazon S3 with S3 Access Grants: registers the integration's base path as an Access Grants location.";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;
    const BOOTSTRAP_MODES: BootstrapModes = BootstrapModes::ManualOnly;

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

    /// Account and region name the Access Grants instance; moving between
    /// instances is a new integration.
    fn fixed_fields(&self, config: &S3Config) -> Vec<(&'static str, String)> {
        vec![
            fixed_field("config.awsAccountId", &config.aws_account_id),
            fixed_field("config.awsRegion", &config.aws_region),
        ]
    }

    async fn open(&self, login: &S3Config) -> Result<Clients, String> {
        client::connect(login)
            .await
            .map_err(|e| format!("the AWS credentials could not be set up: {e}"))
    }

    /// Registers the location, with the integration's credentials.
    async fn create_manual(&self, config: S3Config, _version: u32) -> Result<Work<Self>, OpError> {
        let plan = bootstrap::create_plan(&config);
        Ok(Work::run(config.clone(), plan, config, CURRENT_VERSION))
    }

    /// With the new configuration's credentials (an edit may rotate them).
    /// After a create that never finished (it rolled back, leaving nothing)
    /// the edit is a retried create with the new configuration.
    fn edit_manual(
        &self,
        op: &OpContext,
        old: S3Config,
        new: S3Config,
    ) -> Result<Work<Self>, OpError> {
        Ok(lifecycle::edit_own(
            self,
            op,
            new.clone(),
            new,
            |new, _| bootstrap::create_plan(new),
            |new| bootstrap::edit_plan(&old, new),
        ))
    }

    /// A create that never finished rolled its location back; a location at
    /// this path now would be someone else's.
    fn delete_manual(
        &self,
        op: &OpContext,
        config: S3Config,
    ) -> Result<Option<Run<Self>>, OpError> {
        Ok(lifecycle::delete_own(op, config.clone(), || {
            bootstrap::delete_plan(&config)
        }))
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
                return Err(lifecycle::no_script::<Self>(
                    kind,
                    "create the Access Grants instance and the location's IAM role, then use the create script",
                ));
            }
            ScriptKind::Create => {
                statements.push(format!(
                    "# Prerequisites: an Access Grants instance in {} / {} (aws s3control create-access-grants-instance --account-id {} --region {}) and the IAM role {} trusted by access-grants.s3.amazonaws.com.",
                    config.aws_account_id,
                    config.aws_region,
                    scripts::shell_quote(&config.aws_account_id),
                    scripts::shell_quote(&config.aws_region),
                    config.aws_location_role
                ));
                statements.extend(bootstrap::create_plan(config).script());
            }
            ScriptKind::PostCleanup => {
                return Err(lifecycle::no_script::<Self>(
                    kind,
                    "the cleanup script removes the location",
                ));
            }
            ScriptKind::Cleanup => statements.extend(bootstrap::create_plan(config).undo_script()),
            ScriptKind::Delete => statements.extend(bootstrap::delete_plan(config).script()),
            ScriptKind::Edit => {
                let Some(old) = previous else {
                    return Err(OpError::Unsupported(
                        "the edit script needs the stored configuration".into(),
                    ));
                };
                statements.extend(bootstrap::edit_plan(old, config).script());
            }
        }
        Ok(Script {
            language: "shell".into(),
            statements,
        })
    }
}
