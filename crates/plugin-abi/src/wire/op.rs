//! `create`, `edit`, `delete` and `migrate`: the operation's context, each
//! request, and the answer (`delete` answers `null`).

use junction_core::{DynOutput, FaultInjection, OpContext};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// `OpContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOpContext {
    pub integration_id: Option<i64>,
    pub auto_bootstrap: bool,
    pub bootstrap_version: u32,
    /// Tests only; `null` otherwise.
    pub fault: Option<WireFault>,
}

impl From<&OpContext> for WireOpContext {
    fn from(op: &OpContext) -> Self {
        let OpContext {
            integration_id,
            auto_bootstrap,
            bootstrap_version,
            fault,
        } = op;
        WireOpContext {
            integration_id: *integration_id,
            auto_bootstrap: *auto_bootstrap,
            bootstrap_version: *bootstrap_version,
            fault: fault.clone().map(Into::into),
        }
    }
}

impl From<WireOpContext> for OpContext {
    fn from(op: WireOpContext) -> Self {
        let WireOpContext {
            integration_id,
            auto_bootstrap,
            bootstrap_version,
            fault,
        } = op;
        OpContext {
            integration_id,
            auto_bootstrap,
            bootstrap_version,
            fault: fault.map(Into::into),
        }
    }
}

/// `FaultInjection`. Its one name is snake_case: ABI 1.0 shipped it so, and
/// libraries built against 1.0 read exactly this (PLUGINS.md, "The JSON").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFault {
    #[serde(rename = "fail_at_step")]
    pub fail_at_step: Option<String>,
}

impl From<FaultInjection> for WireFault {
    fn from(f: FaultInjection) -> Self {
        let FaultInjection { fail_at_step } = f;
        WireFault { fail_at_step }
    }
}

impl From<WireFault> for FaultInjection {
    fn from(f: WireFault) -> Self {
        let WireFault { fail_at_step } = f;
        FaultInjection { fail_at_step }
    }
}

/// The request of `create` and of `migrate`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIn<'a> {
    pub op: WireOpContext,
    pub config: Cow<'a, Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditIn<'a> {
    pub op: WireOpContext,
    pub old: Cow<'a, Value>,
    pub new: Cow<'a, Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteIn<'a> {
    pub op: WireOpContext,
    pub config: Cow<'a, Value>,
    /// The DELETE body's privileged credentials, when given.
    pub privileged: Option<Cow<'a, Value>>,
}

/// The answer of `create`, `edit` and `migrate`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpOut {
    pub config: Value,
    pub bootstrap_version: u32,
}

impl From<DynOutput> for OpOut {
    fn from(o: DynOutput) -> Self {
        let DynOutput {
            config,
            bootstrap_version,
        } = o;
        OpOut {
            config,
            bootstrap_version,
        }
    }
}

impl From<OpOut> for DynOutput {
    fn from(o: OpOut) -> Self {
        let OpOut {
            config,
            bootstrap_version,
        } = o;
        DynOutput {
            config,
            bootstrap_version,
        }
    }
}
