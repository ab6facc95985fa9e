//! The JSON shapes inside the buffers: one input per method, one output per
//! method, and [`WireError`] for a refusal. Secrets travel in clear inside
//! configurations (the plugin needs them); error messages never carry them.

use junction_core::{CheckContext, ConfigErrors, OpContext, OpError, RunOptions, ScriptKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Why a call was refused, as the plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "camelCase")]
pub enum WireError {
    /// Bad configuration, with JSON paths (parse, validate).
    Config { errors: ConfigErrors },
    /// `OpError::Invalid`.
    Invalid { errors: ConfigErrors },
    /// `OpError::Unsupported`.
    Unsupported { message: String },
    /// `OpError::Failed`.
    Failed { message: String },
    /// The host asked for something the plugin cannot read (unknown method, bad JSON).
    BadRequest { message: String },
}

impl From<OpError> for WireError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Invalid(errors) => WireError::Invalid { errors },
            OpError::Unsupported(message) => WireError::Unsupported { message },
            OpError::Failed(message) => WireError::Failed { message },
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseIn {
    pub config: Value,
    pub auto_bootstrap: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseOut {
    pub full: Value,
    pub public: Value,
    pub account_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeleteCredentialsIn {
    pub body: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ScriptIn {
    pub kind: ScriptKind,
    pub config: Value,
    pub previous: Option<Value>,
}

/// `RunOptions` in milliseconds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRunOptions {
    pub default_timeout_ms: u64,
    pub timeout_override_ms: Option<u64>,
    pub platform: String,
}

impl From<&RunOptions> for WireRunOptions {
    fn from(o: &RunOptions) -> Self {
        WireRunOptions {
            default_timeout_ms: millis(o.default_timeout),
            timeout_override_ms: o.timeout_override.map(millis),
            platform: o.platform.clone(),
        }
    }
}

impl From<WireRunOptions> for RunOptions {
    fn from(o: WireRunOptions) -> Self {
        RunOptions {
            default_timeout: Duration::from_millis(o.default_timeout_ms),
            timeout_override: o.timeout_override_ms.map(Duration::from_millis),
            platform: o.platform,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateIn {
    pub config: Value,
    pub ctx: CheckContext,
    pub options: WireRunOptions,
    /// Whether the host wants each test's result as it completes.
    pub progress: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CreateIn {
    pub op: OpContext,
    pub config: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EditIn {
    pub op: OpContext,
    pub old: Value,
    pub new: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeleteIn {
    pub op: OpContext,
    pub config: Value,
    pub privileged: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpOut {
    pub config: Value,
    pub bootstrap_version: u32,
}
