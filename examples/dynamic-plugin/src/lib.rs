//! An out-of-tree platform, shipped as a shared library and loaded by
//! `junction serve --plugin-dir DIR`. It is an ordinary [`Platform`]: the only
//! line that makes it a plugin library is the [`export_platform!`] call at the
//! end (and `crate-type = ["cdylib", …]` in Cargo.toml).
//!
//! Like the testkit's synthetic platform, its checks and operations do what
//! the configuration says (pass, fail, warn, hang or panic), so the host's
//! handling of a misbehaving plugin can be shown end to end. Its "remote
//! objects" live in memory, per account, inside the library.
//!
//! [`export_platform!`]: junction_plugin_abi::export_platform

use junction_core::{
    Check, CheckOutcome, ConfigErrors, NoCredentials, OpContext, OpError, OpOutput, Platform,
    Script, ScriptKind, Secret, async_trait,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

pub const TYPE_NAME: &str = "Example Dynamic";
pub const CHECK_CONNECT: &str = "Example: connection";
pub const CHECK_PRIVILEGES: &str = "Example: privileges";
pub const CHECK_AUTOMATIC: &str = "Example: automatic set-up is possible";
/// The newest set-up version.
pub const CURRENT_VERSION: u32 = 2;

/// What a check or an operation does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Behavior {
    #[default]
    Pass,
    Fail,
    Warn,
    Hang,
    Panic,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Knob {
    #[serde(default)]
    pub behavior: Behavior,
    /// Milliseconds to wait before behaving.
    #[serde(default)]
    pub delay_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    #[serde(default)]
    pub create: Knob,
    #[serde(default)]
    pub edit: Knob,
    #[serde(default)]
    pub delete: Knob,
    #[serde(default)]
    pub migrate: Knob,
}

/// The platform's `config`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExampleConfig {
    /// Names the account; one integration per account.
    pub account: String,
    /// The service user's password.
    pub password: Secret<String>,
    /// A field that edits change.
    #[serde(default)]
    pub label: String,
    /// Behaviour of each check, by test name; unnamed checks pass.
    #[serde(default)]
    pub checks: BTreeMap<String, Knob>,
    #[serde(default)]
    pub operations: Operations,
    /// The set-up version create installs (1 leaves room for a migration).
    #[serde(default = "one")]
    pub install_version: u32,
}

fn one() -> u32 {
    1
}

/// Objects per account: the "platform" this plugin talks to.
fn objects() -> &'static Mutex<BTreeMap<String, BTreeSet<String>>> {
    static OBJECTS: OnceLock<Mutex<BTreeMap<String, BTreeSet<String>>>> = OnceLock::new();
    OBJECTS.get_or_init(Default::default)
}

/// The objects held for an account (in this copy of the library).
pub fn remote_objects(account: &str) -> BTreeSet<String> {
    objects()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(account)
        .cloned()
        .unwrap_or_default()
}

/// Delays, then does what the knob says: `Ok(true)` to warn, `Err` to fail.
async fn behave(knob: &Knob) -> Result<bool, ()> {
    if knob.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knob.delay_ms)).await;
    }
    match knob.behavior {
        Behavior::Pass => Ok(false),
        Behavior::Warn => Ok(true),
        Behavior::Fail => Err(()),
        Behavior::Hang => {
            std::future::pending::<()>().await;
            Err(())
        }
        // The point of this behaviour: show that a plugin's panic is contained.
        #[allow(clippy::panic)]
        Behavior::Panic => panic!("example plugin panic, as configured"),
    }
}

async fn run_op(knob: &Knob, what: &str) -> Result<(), OpError> {
    behave(knob)
        .await
        .map(|_| ())
        .map_err(|()| OpError::Failed(format!("{what} failed, as configured.")))
}

fn check(name: &'static str, description: &'static str) -> Check<ExampleConfig> {
    Check::new(
        name,
        description,
        move |c: Arc<ExampleConfig>, _ctx| async move {
            let knob = c.checks.get(name).cloned().unwrap_or_default();
            match behave(&knob).await {
                Ok(false) => CheckOutcome::passed(),
                Ok(true) => CheckOutcome::warning(format!("{name} warned, as configured.")),
                Err(()) => CheckOutcome::failed(format!("{name} failed, as configured.")),
            }
        },
    )
}

fn version_object(v: u32) -> String {
    format!("version-{v}")
}

/// The example platform.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExampleDynamic;

#[async_trait]
impl Platform for ExampleDynamic {
    type Config = ExampleConfig;
    type DeleteCredentials = NoCredentials;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }
    fn description(&self) -> &'static str {
        "An example platform loaded from a shared library; its checks and operations do what its configuration says."
    }
    fn bootstrap_version(&self) -> u32 {
        CURRENT_VERSION
    }
    fn example_config(&self) -> Value {
        json!({"account": "example-1", "password": "example-password", "label": "first"})
    }
    fn validate_config(&self, config: &ExampleConfig, _auto: bool) -> Result<(), ConfigErrors> {
        let mut errors = ConfigErrors::default();
        if config.account.trim().is_empty() {
            errors.push("config.account", "must not be empty");
        }
        if config.install_version == 0 || config.install_version > CURRENT_VERSION {
            errors.push(
                "config.installVersion",
                format!("must be between 1 and {CURRENT_VERSION}"),
            );
        }
        errors.into_result()
    }
    fn account_key(&self, config: &ExampleConfig) -> String {
        config.account.clone()
    }
    fn checks(&self) -> Vec<Check<ExampleConfig>> {
        vec![
            check(CHECK_CONNECT, "Connects to the example platform."),
            check(CHECK_PRIVILEGES, "Reads the service user's privileges.").requires(CHECK_CONNECT),
            check(CHECK_AUTOMATIC, "Sees that automatic set-up is possible.")
                .requires(CHECK_CONNECT)
                .only_auto_bootstrap(),
        ]
    }

    async fn create(
        &self,
        op: &OpContext,
        mut config: ExampleConfig,
    ) -> Result<OpOutput<ExampleConfig>, OpError> {
        tracing::info!(account = %config.account, "creating the example integration");
        if !remote_objects(&config.account).is_empty() {
            return Err(OpError::Failed(format!(
                "account {} is already set up",
                config.account
            )));
        }
        // Nothing is changed before the knob decides, so a failure leaves nothing behind.
        run_op(&config.operations.create, "create").await?;
        let set: BTreeSet<String> = [
            "database".to_owned(),
            "service-user".to_owned(),
            version_object(config.install_version),
        ]
        .into();
        objects()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(config.account.clone(), set);
        if op.auto_bootstrap {
            // The privileged password is used once; a generated one is kept instead.
            config.password = Secret::new(format!("generated-for-{}", config.account));
        }
        let bootstrap_version = config.install_version;
        Ok(OpOutput {
            config,
            bootstrap_version,
        })
    }

    async fn edit(
        &self,
        op: &OpContext,
        old: ExampleConfig,
        new: ExampleConfig,
    ) -> Result<OpOutput<ExampleConfig>, OpError> {
        if old.account != new.account {
            return Err(OpError::Invalid(ConfigErrors::one(
                "config.account",
                "cannot change after create",
            )));
        }
        run_op(&new.operations.edit, "edit").await?;
        let mut map = objects().lock().unwrap_or_else(PoisonError::into_inner);
        let set = map.entry(new.account.clone()).or_default();
        set.remove(&format!("label:{}", old.label));
        set.insert(format!("label:{}", new.label));
        Ok(OpOutput {
            config: new,
            bootstrap_version: op.bootstrap_version,
        })
    }

    async fn delete(
        &self,
        _op: &OpContext,
        config: ExampleConfig,
        _privileged: Option<NoCredentials>,
    ) -> Result<(), OpError> {
        tracing::info!(account = %config.account, "deleting the example integration");
        run_op(&config.operations.delete, "delete").await?;
        objects()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&config.account);
        Ok(())
    }

    async fn migrate(
        &self,
        op: &OpContext,
        config: ExampleConfig,
    ) -> Result<OpOutput<ExampleConfig>, OpError> {
        if op.bootstrap_version >= CURRENT_VERSION {
            return Err(OpError::Unsupported(format!(
                "already at set-up version {CURRENT_VERSION}"
            )));
        }
        run_op(&config.operations.migrate, "migrate").await?;
        let mut map = objects().lock().unwrap_or_else(PoisonError::into_inner);
        let set = map.entry(config.account.clone()).or_default();
        set.remove(&version_object(op.bootstrap_version));
        set.insert(version_object(CURRENT_VERSION));
        Ok(OpOutput {
            config,
            bootstrap_version: CURRENT_VERSION,
        })
    }

    fn script(
        &self,
        kind: ScriptKind,
        config: &ExampleConfig,
        previous: Option<&ExampleConfig>,
    ) -> Result<Script, OpError> {
        let a = &config.account;
        let statements = match kind {
            ScriptKind::InitialCreate | ScriptKind::PostCleanup => {
                return Err(OpError::Unsupported(format!(
                    "the example platform has no {} script",
                    kind.as_str()
                )));
            }
            ScriptKind::Create => vec![
                format!("CREATE DATABASE ON {a};"),
                format!("CREATE USER service-user ON {a};"),
                format!("MARK {} ON {a};", version_object(config.install_version)),
            ],
            ScriptKind::Cleanup | ScriptKind::Delete => vec![
                format!("DROP USER service-user ON {a};"),
                format!("DROP DATABASE ON {a};"),
            ],
            ScriptKind::Edit => match previous {
                Some(old) => vec![format!(
                    "RELABEL {a} FROM '{}' TO '{}';",
                    old.label, config.label
                )],
                None => {
                    return Err(OpError::Unsupported(
                        "edit needs the stored configuration".into(),
                    ));
                }
            },
        };
        Ok(Script {
            language: "example".into(),
            statements,
        })
    }
}

junction_plugin_abi::export_platform!(ExampleDynamic);
