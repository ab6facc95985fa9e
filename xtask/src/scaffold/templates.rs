//! The files `new-plugin` writes. `{{snake}}`, `{{kebab}}`, `{{Camel}}` and
//! `{{Title}}` are replaced by the plugin's names.

/// A platform crate under `plugins/`, shaped like every other one.
pub const STATIC: &[(&str, &str)] = &[
    ("Cargo.toml", STATIC_MANIFEST),
    ("README.md", README),
    ("src/lib.rs", LIB),
    ("src/config.rs", CONFIG),
    ("src/checks.rs", CHECKS),
    ("src/bootstrap.rs", BOOTSTRAP),
    ("src/scripts.rs", SCRIPTS),
    ("src/client.rs", CLIENT),
    ("tests/{{snake}}.rs", TESTS),
];

/// A stand-alone shared-library plugin: the same sources, exported through the ABI.
pub const DYNAMIC: &[(&str, &str)] = &[
    ("Cargo.toml", DYNAMIC_MANIFEST),
    ("README.md", README),
    ("src/lib.rs", DYNAMIC_LIB),
    ("src/config.rs", CONFIG),
    ("src/checks.rs", CHECKS),
    ("src/bootstrap.rs", BOOTSTRAP),
    ("src/scripts.rs", SCRIPTS),
    ("src/client.rs", CLIENT),
    ("tests/{{snake}}.rs", TESTS),
];

const STATIC_MANIFEST: &str = r#"[package]
name = "junction-{{kebab}}"
description = "Junction platform: {{Title}}."
version.workspace = true
edition.workspace = true
license.workspace = true
rust-version.workspace = true
publish.workspace = true

[dependencies]
junction-core.workspace = true
schemars.workspace = true
serde.workspace = true
serde_json.workspace = true
thiserror.workspace = true
tokio = { workspace = true, features = ["net", "time"] }
tracing.workspace = true

[dev-dependencies]
junction-testkit.workspace = true
tokio = { workspace = true, features = ["rt", "macros", "net", "time"] }

[lints]
workspace = true
"#;

const DYNAMIC_MANIFEST: &str = r#"[package]
name = "junction-{{kebab}}-plugin"
description = "Junction platform {{Title}}, as a shared-library plugin."
version.workspace = true
edition.workspace = true
license.workspace = true
rust-version.workspace = true
publish.workspace = true

[lib]
name = "junction_{{snake}}"
crate-type = ["cdylib", "rlib"]

[dependencies]
junction-core.workspace = true
junction-plugin-abi.workspace = true
schemars.workspace = true
serde.workspace = true
serde_json.workspace = true
thiserror.workspace = true
tokio = { workspace = true, features = ["net", "time"] }
tracing.workspace = true

[dev-dependencies]
junction-testkit.workspace = true
tokio = { workspace = true, features = ["rt", "macros", "net", "time"] }

[lints]
workspace = true
"#;

const README: &str = r#"# {{Title}}

A Junction platform, type name `{{Title}}`, made by `cargo xtask new-plugin`.

What it does as generated: parses and checks its configuration (errors carry
the field's path), runs one real test (`Initial validation: basic connection
test`: a TCP connection to `host:port` within `connectTimeoutSeconds`), and
renders its set-up plan as a manual script. Automatic set-up is refused
(`BootstrapModes::ManualOnly`) until `client.rs` can run the plan's steps.

To make it real, in this order:
1. `config.rs`: the platform's fields; secrets as `Secret<String>`.
2. `client.rs`: the platform's protocol.
3. `checks.rs`: the contract's test names and messages, character for character.
4. `bootstrap.rs` and `scripts.rs`: the set-up as a plan of steps with undos;
   then allow automatic set-up in `lib.rs`.
5. `tests/`: against the most real stand-in that runs on 127.0.0.1.
"#;

const LIB: &str = r#"//! # Junction platform: {{Title}}
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the [`Platform`] impl and the registration |
//! | `config.rs` | the typed `config` and its rules |
//! | `checks.rs` | the validation tests |
//! | `bootstrap.rs` | the set-up as data: steps with their undo |
//! | `scripts.rs` | the platform's statements, for plans and manual scripts |
//! | `client.rs` | talking to the platform |

pub mod bootstrap;
pub mod checks;
pub mod client;
pub mod config;
pub mod scripts;

pub use config::{{Camel}}Config;
use junction_core::{
    BootstrapModes, Check, ConfigErrors, NoCredentials, OpContext, OpError, OpOutput, Platform, Script,
    ScriptKind, async_trait,
};
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "{{Title}}";

/// The {{Title}} platform.
#[derive(Debug, Default, Clone, Copy)]
pub struct {{Camel}};

#[async_trait]
impl Platform for {{Camel}} {
    type Config = {{Camel}}Config;
    type DeleteCredentials = NoCredentials;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }
    fn description(&self) -> &'static str {
        "{{Title}} (scaffolded: manual set-up only until its client runs the plan)."
    }
    fn bootstrap_modes(&self) -> BootstrapModes {
        BootstrapModes::ManualOnly
    }
    fn bootstrap_version(&self) -> u32 {
        bootstrap::CURRENT_VERSION
    }
    fn example_config(&self) -> Value {
        json!({"host": "{{kebab}}.example.com", "port": 443, "username": "junction", "password": "example-password"})
    }
    fn validate_config(&self, config: &{{Camel}}Config, _auto_bootstrap: bool) -> Result<(), ConfigErrors> {
        config.validate()
    }
    fn account_key(&self, config: &{{Camel}}Config) -> String {
        format!("{}:{}", config.host, config.port)
    }
    fn checks(&self) -> Vec<Check<{{Camel}}Config>> {
        checks::all()
    }

    // Manual set-up: the operator ran the create script, so there is nothing
    // to do on the platform; the configuration is kept as given.
    async fn create(&self, _op: &OpContext, config: {{Camel}}Config) -> Result<OpOutput<{{Camel}}Config>, OpError> {
        Ok(OpOutput { config, bootstrap_version: bootstrap::CURRENT_VERSION })
    }
    async fn edit(&self, op: &OpContext, _old: {{Camel}}Config, new: {{Camel}}Config) -> Result<OpOutput<{{Camel}}Config>, OpError> {
        Ok(OpOutput { config: new, bootstrap_version: op.bootstrap_version })
    }
    async fn delete(&self, _op: &OpContext, _config: {{Camel}}Config, _privileged: Option<NoCredentials>) -> Result<(), OpError> {
        Ok(())
    }
    async fn migrate(&self, op: &OpContext, _config: {{Camel}}Config) -> Result<OpOutput<{{Camel}}Config>, OpError> {
        Err(OpError::Unsupported(format!(
            "{TYPE_NAME} has one set-up version; the integration is at version {}",
            op.bootstrap_version
        )))
    }
    fn script(&self, kind: ScriptKind, config: &{{Camel}}Config, _previous: Option<&{{Camel}}Config>) -> Result<Script, OpError> {
        let plan = bootstrap::create_plan(config);
        match kind {
            ScriptKind::Create => Ok(Script::sql(plan.script())),
            ScriptKind::Delete | ScriptKind::Cleanup => Ok(Script::sql(plan.undo_script())),
            ScriptKind::InitialCreate | ScriptKind::Edit => Err(OpError::Unsupported(format!(
                "{TYPE_NAME} has no {} script",
                kind.as_str()
            ))),
        }
    }
}
"#;

const CONFIG: &str = r#"//! The `config` object of a {{Title}} integration.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct {{Camel}}Config {
    /// The platform's host name.
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub username: String,
    pub password: Secret<String>,
    /// How long to wait for a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
}

fn default_port() -> u16 {
    443
}

fn default_connect_timeout() -> u64 {
    5
}

impl {{Camel}}Config {
    /// Rules beyond the types, each error with its path.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = ConfigErrors::default();
        if self.host.trim().is_empty() {
            errors.push("config.host", "must not be empty");
        }
        if self.port == 0 {
            errors.push("config.port", "must be between 1 and 65535");
        }
        if self.username.trim().is_empty() {
            errors.push("config.username", "must not be empty");
        }
        if !(1..=300).contains(&self.connect_timeout_seconds) {
            errors.push("config.connectTimeoutSeconds", "must be between 1 and 300");
        }
        errors.into_result()
    }
}
"#;

const CHECKS: &str = r#"//! The validation tests of {{Title}}.

use crate::client;
use crate::config::{{Camel}}Config;
use junction_core::{Check, CheckOutcome};
use std::sync::Arc;
use std::time::Duration;

pub const CONNECT: &str = "Initial validation: basic connection test";

pub fn all() -> Vec<Check<{{Camel}}Config>> {
    vec![Check::new(
        CONNECT,
        "Opens a connection to the platform's host and port.",
        |c: Arc<{{Camel}}Config>, _ctx| async move {
            let timeout = Duration::from_secs(c.connect_timeout_seconds);
            match client::connect(&c.host, c.port, timeout).await {
                Ok(_) => CheckOutcome::passed(),
                Err(e) => {
                    tracing::info!(error = %e, "connection test failed");
                    CheckOutcome::failed("Unable to connect to host.")
                }
            }
        },
    )]
}
"#;

const BOOTSTRAP: &str = r#"//! The set-up as data: one plan serves the manual scripts and, once the client
//! can run statements, automatic set-up and rollback.

use crate::config::{{Camel}}Config;
use crate::scripts::Statement;
use junction_core::Plan;

/// The newest set-up version.
pub const CURRENT_VERSION: u32 = 1;

pub fn create_plan(_config: &{{Camel}}Config) -> Plan<Statement> {
    Plan::new().step(
        "create-schema",
        Statement::new("CREATE SCHEMA junction_system"),
        Some(Statement::new("DROP SCHEMA junction_system")),
    )
}
"#;

const SCRIPTS: &str = r#"//! The platform's statements.

use junction_core::Action;

/// One statement of the platform's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement(pub String);

impl Statement {
    pub fn new(text: impl Into<String>) -> Self {
        Statement(text.into())
    }
}

impl Action for Statement {
    fn render(&self) -> String {
        format!("{};", self.0)
    }
}

/// An identifier in double quotes, with quotes inside doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
"#;

const CLIENT: &str = r#"//! Talking to {{Title}}.

use std::time::Duration;
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not connect to {host}:{port}: {source}")]
    Connect { host: String, port: u16, source: std::io::Error },
    #[error("no connection to {host}:{port} within {seconds} s")]
    Timeout { host: String, port: u16, seconds: u64 },
}

/// A TCP connection to the platform, within `timeout`.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, ClientError> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(ClientError::Connect { host: host.into(), port, source }),
        Err(_) => Err(ClientError::Timeout { host: host.into(), port, seconds: timeout.as_secs() }),
    }
}
"#;

const TESTS: &str = r#"//! {{Title}}'s tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus};
use junction_testkit::{SENTINEL, conformance};
use junction_{{snake}}::{{Camel}};
use serde_json::json;

#[test]
fn conforms() {
    conformance::assert_conforms(&{{Camel}});
}

#[test]
fn bad_fields_are_named_by_path() {
    let err = {{Camel}}.parse(&json!({"host": "h", "port": 0, "username": "u", "password": "p"}), false).unwrap_err();
    assert_eq!(err.0[0].path, "config.port");
    let err = {{Camel}}.parse(&json!({"host": "h", "username": "u", "password": "p", "extra": 1}), false).unwrap_err();
    assert_eq!(err.0[0].path, "config.extra");
    let err = {{Camel}}.parse(&json!({"host": "h", "username": "u", "password": "p"}), true).unwrap_err();
    assert_eq!(err.0[0].path, "autoBootstrap");
}

async fn connection_test(port: u16) -> (TestStatus, Option<String>) {
    let config = json!({"host": "127.0.0.1", "port": port, "username": "u", "password": SENTINEL, "connectTimeoutSeconds": 2});
    let r = {{Camel}}.validate(&config, CheckContext::default(), &RunOptions::default(), None).await.unwrap();
    assert!(!serde_json::to_string(&r).unwrap().contains(SENTINEL));
    let t = &r.validation_tests[0];
    (t.status, t.message.clone())
}

#[tokio::test]
async fn the_connection_test_passes_against_a_listening_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_eq!(connection_test(port).await.0, TestStatus::Passed);
}

#[tokio::test]
async fn the_connection_test_fails_on_a_closed_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    assert_eq!(connection_test(port).await, (TestStatus::Failed, Some("Unable to connect to host.".into())));
}
"#;

/// The dynamic crate's `lib.rs`: the static one plus the export.
const DYNAMIC_LIB: &str = LIB;

/// Appended to the static crate's `lib.rs`.
pub const STATIC_REGISTER: &str = "
// Linked into the host by its `{{snake}}` feature, this registers the platform.
junction_core::register_platform!({{Camel}});
";

/// Appended to the dynamic crate's `lib.rs`.
pub const DYNAMIC_EXPORT: &str = "
// The same `Platform` as a linked-in crate, exported through the plugin ABI.
junction_plugin_abi::export_platform!({{Camel}});
";
