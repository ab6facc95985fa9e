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
junction-kit.workspace = true
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
junction-kit.workspace = true
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
//! The same files as every platform crate, each with one job:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the `junction_kit::Planned` impl and the registration |
//! | `config.rs` | the typed `config` and its rules |
//! | `checks.rs` | the validation tests |
//! | `bootstrap.rs` | the set-up as data: steps with their undo |
//! | `scripts.rs` | the platform's statements, for plans and manual scripts |
//! | `client.rs` | talking to the platform |
//!
//! The lifecycle (automatic or manual create, fields fixed after create,
//! delete credentials, migrate guards, spans, rollback) is the kit's.

mod bootstrap;
mod checks;
mod client;
mod config;
mod scripts;

pub use bootstrap::CURRENT_VERSION;
pub use config::{{Camel}}Config;

use client::Session;
use junction_core::{
    BootstrapModes, Check, ConfigErrors, NoCredentials, OpContext, OpError, Script, ScriptKind,
    async_trait,
};
use junction_kit::{Kit, Planned, Run, Work};
use scripts::Statement;
use serde_json::{Value, json};

/// The payload's `type`.
pub const TYPE_NAME: &str = "{{Title}}";

/// The {{Title}} platform (wrapped in [`Kit`], a `junction_core::Platform`).
#[derive(Debug, Default, Clone, Copy)]
pub struct {{Camel}};

impl {{Camel}} {
    pub const fn new() -> Kit<{{Camel}}> {
        Kit({{Camel}})
    }
}

#[async_trait]
impl Planned for {{Camel}} {
    type Config = {{Camel}}Config;
    type Privileged = NoCredentials;
    type Action = Statement;
    type Login = {{Camel}}Config;
    type Session = Session;

    const TYPE_NAME: &'static str = TYPE_NAME;
    const DESCRIPTION: &'static str =
        "{{Title}} (scaffolded: manual set-up only until its client runs the plan).";
    const CURRENT_VERSION: u32 = CURRENT_VERSION;
    const BOOTSTRAP_MODES: BootstrapModes = BootstrapModes::ManualOnly;

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

    async fn open(&self, login: &{{Camel}}Config) -> Result<Session, String> {
        Session::open(login).await.map_err(|e| e.to_string())
    }

    fn create_automatic(&self, _config: {{Camel}}Config, _version: u32) -> Result<Work<Self>, OpError> {
        Err(OpError::Unsupported(format!("{TYPE_NAME} is set up by the operator")))
    }
    // Manual set-up: the operator ran the create script, so nothing runs on
    // the platform; the configuration is kept as given.
    async fn create_manual(&self, config: {{Camel}}Config, version: u32) -> Result<Work<Self>, OpError> {
        Ok(Work::store(config, version))
    }
    fn edit_automatic(&self, op: &OpContext, old: {{Camel}}Config, new: {{Camel}}Config) -> Result<Work<Self>, OpError> {
        self.edit_manual(op, old, new)
    }
    fn delete_automatic(&self, op: &OpContext, config: {{Camel}}Config, _privileged: Option<NoCredentials>) -> Result<Option<Run<Self>>, OpError> {
        self.delete_manual(op, config)
    }
    fn migration(&self, _op: &OpContext, _config: &{{Camel}}Config, from: u32, to: u32) -> Result<Run<Self>, OpError> {
        Err(OpError::Unsupported(format!("no migration from {from} to {to} is written yet")))
    }
    fn script(&self, kind: ScriptKind, config: &{{Camel}}Config, _previous: Option<&{{Camel}}Config>) -> Result<Script, OpError> {
        let plan = bootstrap::create_plan(config);
        match kind {
            ScriptKind::Create => Ok(Script::sql(plan.script())),
            ScriptKind::Delete | ScriptKind::Cleanup => Ok(Script::sql(plan.undo_script())),
            ScriptKind::InitialCreate | ScriptKind::PostCleanup | ScriptKind::Edit => Err(OpError::Unsupported(format!(
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
    #[serde(default = "junction_kit::config::default_connect_timeout")]
    pub connect_timeout_seconds: u64,
}

fn default_port() -> u16 {
    443
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
        junction_kit::config::check_connect_timeout(&mut errors, self.connect_timeout_seconds);
        errors.into_result()
    }
}
"#;

const CHECKS: &str = r#"//! The validation tests of {{Title}}.

use crate::client;
use crate::config::{{Camel}}Config;
use junction_core::{Check, CheckOutcome};
use junction_kit::contract;
use std::sync::Arc;
use std::time::Duration;

pub const CONNECT: &str = contract::TEST_BASIC_CONNECTION;

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
                    CheckOutcome::failed(contract::UNABLE_TO_CONNECT)
                }
            }
        },
    )]
}
"#;

const BOOTSTRAP: &str = r#"//! The set-up as data: one plan serves the manual scripts and, once the client
//! can run statements, automatic set-up and rollback.

use crate::config::{{Camel}}Config;
use crate::scripts::{Statement, ident, statement};
use junction_core::Plan;

/// The newest set-up version.
pub const CURRENT_VERSION: u32 = 1;

pub fn create_plan(_config: &{{Camel}}Config) -> Plan<Statement> {
    let schema = ident("junction_system");
    Plan::new().step(
        "create-schema",
        statement(format!("CREATE SCHEMA {schema}")),
        Some(statement(format!("DROP SCHEMA {schema}"))),
    )
}
"#;

const SCRIPTS: &str = r#"//! The platform's statements: SQL with PostgreSQL's quoting (pick the
//! dialect the platform speaks in `junction_kit::sql`).

pub use junction_kit::sql::postgres::ident;

/// One step's statements.
pub type Statement = junction_kit::SqlAction;

pub fn statement(text: impl Into<String>) -> Statement {
    junction_kit::sql::postgres::action((), vec![text.into()])
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
    #[error("running statements is not written yet (client.rs)")]
    NotWritten,
}

/// A session on the platform, for plans. Scaffolded: it refuses to run
/// statements until the platform's protocol is written here.
pub struct Session;

impl Session {
    pub async fn open(config: &crate::config::{{Camel}}Config) -> Result<Session, ClientError> {
        let timeout = Duration::from_secs(config.connect_timeout_seconds);
        connect(&config.host, config.port, timeout).await?;
        Ok(Session)
    }
}

#[junction_core::async_trait]
impl junction_kit::Executor<crate::scripts::Statement> for Session {
    type Error = ClientError;

    async fn exec(&mut self, _action: crate::scripts::Statement) -> Result<(), ClientError> {
        Err(ClientError::NotWritten)
    }
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
    conformance::assert_conforms(&{{Camel}}::new());
}

#[test]
fn bad_fields_are_named_by_path() {
    let err = {{Camel}}::new().parse(&json!({"host": "h", "port": 0, "username": "u", "password": "p"}), false).unwrap_err();
    assert_eq!(err.0[0].path, "config.port");
    let err = {{Camel}}::new().parse(&json!({"host": "h", "username": "u", "password": "p", "extra": 1}), false).unwrap_err();
    assert_eq!(err.0[0].path, "config.extra");
    let err = {{Camel}}::new().parse(&json!({"host": "h", "username": "u", "password": "p"}), true).unwrap_err();
    assert_eq!(err.0[0].path, "autoBootstrap");
}

async fn connection_test(port: u16) -> (TestStatus, Option<String>) {
    let config = json!({"host": "127.0.0.1", "port": port, "username": "u", "password": SENTINEL, "connectTimeoutSeconds": 2});
    let r = {{Camel}}::new().validate(&config, CheckContext::default(), &RunOptions::default(), None).await.unwrap();
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
junction_core::register_platform!({{Camel}}::new());
";

/// Appended to the dynamic crate's `lib.rs`.
pub const DYNAMIC_EXPORT: &str = "
// The same `Platform` as a linked-in crate, exported through the plugin ABI.
junction_plugin_abi::export_platform!({{Camel}}::new());
";
