//! # Junction platform: Google BigQuery
//!
//! Same files as every platform crate, each with one job:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the kit's [`Planned`] impl, wiring the parts below, and the registration |
//! | `config.rs` | the typed `config` (serde, JSON Schema) and its rules |
//! | `credential.rs` | the service-account key file, parsed when the config is read |
//! | `jwt.rs` | the service account's signed JWT (RS256 with aws-lc-rs) |
//! | `checks.rs` | the twelve validation tests, with the contract's names and messages |
//! | `bootstrap.rs` | the set-up as data: the metadata dataset and its table as plan steps with undo |
//! | `scripts.rs` | `gcloud` and `bq` command lines: the operator's IAM set-up and Junction's steps |
//! | `client.rs` | talking to Google: the token exchange, BigQuery REST v2, Resource Manager |
//!
//! BigQuery integrations are set up by the operator (`autoBootstrap: false`
//! only): the operator's script makes the custom role and the service
//! account and binds them. Junction then, with the service account's key:
//! - **create** makes the metadata dataset in `location`, its table, and
//!   records the set-up version ([`bootstrap::create_plan`]);
//! - **edit** moves the metadata dataset when its id changes
//!   ([`bootstrap::edit_plan`]); the project and the location are fixed;
//! - **delete** removes the metadata dataset with its contents, and only if
//!   it carries Junction's label ([`bootstrap::delete_plan`]);
//! - **migrate**: there is one set-up version, so there is nothing to migrate.
//!
//! Every failed operation rolls back what it had done (the kit runs the plan).

mod bootstrap;
mod checks;
mod client;
mod config;
mod credential;
mod jwt;
mod scripts;

junction_kit::test_hooks!(bootstrap, checks, client, config, credential, jwt, scripts);

use bootstrap::{BqAction, CURRENT_VERSION};
use client::Google;
pub use config::BigQueryConfig;
use junction_core::{
    BootstrapModes, Check, ConfigErrors, NoCredentials, OpContext, OpError, Script, ScriptKind,
    async_trait,
};
use junction_kit::{Executor, Kit, Planned, Run, Work, fixed_field, lifecycle};
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "Google BigQuery";

/// The Google BigQuery platform (wrap it in [`Kit`] to get a `Platform`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BigQuery;

impl BigQuery {
    pub const fn new() -> Self {
        BigQuery
    }

    /// The platform as the host drives it.
    pub const fn platform() -> Kit<BigQuery> {
        Kit(BigQuery)
    }
}

junction_core::register_platform!(junction_kit::Kit(BigQuery::new()));

/// A session: the service account's client.
pub struct Session(Google);

#[async_trait]
impl Executor<BqAction> for Session {
    type Error = String;

    async fn exec(&mut self, action: BqAction) -> Result<(), String> {
        bootstrap::exec(&self.0, &action).await
    }
}

/// Shown first in every script.
const SCRIPT_NOTE: &str = "# Lines starting with \"# bq\" are what Junction runs itself with the integration's service account; they are shown for review, or to do by hand what a failed operation left.";

fn commented(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().map(|l| format!("# {l}")).collect()
}

#[async_trait]
impl Planned for BigQuery {
    type Config = BigQueryConfig;
    type Privileged = NoCredentials;
    type Action = BqAction;
    type Login = BigQueryConfig;
    type Session = Session;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str = "Google BigQuery with a service account: checks its custom role's permissions and makes Junction's metadata dataset.";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;
    const BOOTSTRAP_MODES: BootstrapModes = BootstrapModes::ManualOnly;

    fn example_config(&self) -> Value {
        json!({
            "role": "junction",
            "dataset": "junction",
            "datasetSuffix": "_secureView",
            "location": "us-east1",
            "credential": example::key_file(),
            "timeoutSeconds": 10
        })
    }

    fn validate_config(
        &self,
        config: &BigQueryConfig,
        _auto_bootstrap: bool,
    ) -> Result<(), ConfigErrors> {
        config::validate(config)
    }

    /// One integration per metadata dataset: several may share a project,
    /// each with its own service account (a test checks that).
    fn account_key(&self, config: &BigQueryConfig) -> String {
        format!("{}/{}", config.project_id(), config.dataset)
    }

    fn checks(&self) -> Vec<Check<BigQueryConfig>> {
        checks::checks()
    }

    /// A key of another project is another integration; a dataset cannot
    /// move between locations.
    fn fixed_fields(&self, config: &BigQueryConfig) -> Vec<(&'static str, String)> {
        vec![
            fixed_field("config.credential", config.project_id()),
            fixed_field("config.location", &config.location),
        ]
    }

    async fn open(&self, login: &BigQueryConfig) -> Result<Session, String> {
        Google::new(login)
            .map(Session)
            .map_err(|e| format!("the BigQuery client could not be set up: {e}"))
    }

    async fn create_manual(
        &self,
        config: BigQueryConfig,
        version: u32,
    ) -> Result<Work<Self>, OpError> {
        let plan = bootstrap::create_plan(&config, version);
        Ok(Work::run(config.clone(), plan, config, version))
    }

    /// With the new configuration's key (an edit may rotate it).
    fn edit_manual(
        &self,
        op: &OpContext,
        old: BigQueryConfig,
        new: BigQueryConfig,
    ) -> Result<Work<Self>, OpError> {
        // After a create that never finished (it rolled back, leaving
        // nothing) the edit is a retried create with the new configuration.
        Ok(lifecycle::edit_own(
            self,
            op,
            new.clone(),
            new,
            bootstrap::create_plan,
            |new| bootstrap::edit_plan(&old, new, op.bootstrap_version),
        ))
    }

    /// Junction removes its own dataset; the operator then runs the delete
    /// script's IAM part.
    fn delete_manual(
        &self,
        op: &OpContext,
        config: BigQueryConfig,
    ) -> Result<Option<Run<Self>>, OpError> {
        Ok(lifecycle::delete_own(op, config.clone(), || {
            bootstrap::delete_plan(&config)
        }))
    }

    /// `gcloud` and `bq` commands, never with key material in them.
    fn script(
        &self,
        kind: ScriptKind,
        config: &BigQueryConfig,
        previous: Option<&BigQueryConfig>,
    ) -> Result<Script, OpError> {
        let mut statements = vec![SCRIPT_NOTE.to_owned()];
        match kind {
            ScriptKind::InitialCreate => {
                return Err(lifecycle::no_script::<Self>(kind, "use the create script"));
            }
            ScriptKind::PostCleanup => {
                return Err(lifecycle::no_script::<Self>(
                    kind,
                    "the cleanup script is the whole of it",
                ));
            }
            ScriptKind::Create => {
                statements.extend(scripts::iam_setup(config));
                statements.push("# Junction then makes its metadata dataset (create):".into());
                statements.extend(commented(
                    bootstrap::create_plan(config, self.install_version()).script(),
                ));
            }
            ScriptKind::Cleanup => {
                statements.push(
                    "# What a failed create may have left (its rollback normally removes it):"
                        .into(),
                );
                statements
                    .extend(bootstrap::create_plan(config, self.install_version()).undo_script());
            }
            ScriptKind::Edit => {
                let old = previous.ok_or_else(|| {
                    OpError::Unsupported("the edit script needs the stored configuration".into())
                })?;
                statements.extend(scripts::iam_edit(old, config));
                let plan = bootstrap::edit_plan(old, config, CURRENT_VERSION);
                if !plan.steps.is_empty() {
                    statements.push("# Junction then moves its metadata dataset (edit):".into());
                    statements.extend(commented(plan.script()));
                }
            }
            ScriptKind::Delete => {
                statements.push("# Junction removes its metadata dataset (delete):".into());
                statements.extend(commented(bootstrap::delete_plan(config).script()));
                statements.extend(scripts::iam_teardown(config));
            }
        }
        Ok(Script {
            language: "shell".into(),
            statements,
        })
    }
}

/// The example configuration's key file: a real, parseable key file whose
/// key is published here on purpose (so it is no secret, and labelled so in
/// the file). Generating a key instead would cost 50–130 ms of RSA prime
/// search at every start of the host, which reads every descriptor then.
mod example {
    pub fn key_file() -> String {
        include_str!("example-key-file.json").to_owned()
    }
}
