//! `script`: a manual script of one kind.

use junction_core::{Script, ScriptKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptIn<'a> {
    pub kind: WireScriptKind,
    pub config: Cow<'a, Value>,
    /// The stored configuration, for `edit`; `null` otherwise.
    pub previous: Option<Cow<'a, Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireScriptKind {
    InitialCreate,
    Create,
    Cleanup,
    /// Added in 1.0's lifetime: a library that does not know it refuses the
    /// request as bad input, which is the answer "no such script".
    PostCleanup,
    Edit,
    Delete,
}

impl From<ScriptKind> for WireScriptKind {
    fn from(k: ScriptKind) -> Self {
        match k {
            ScriptKind::InitialCreate => WireScriptKind::InitialCreate,
            ScriptKind::Create => WireScriptKind::Create,
            ScriptKind::Cleanup => WireScriptKind::Cleanup,
            ScriptKind::PostCleanup => WireScriptKind::PostCleanup,
            ScriptKind::Edit => WireScriptKind::Edit,
            ScriptKind::Delete => WireScriptKind::Delete,
        }
    }
}

impl From<WireScriptKind> for ScriptKind {
    fn from(k: WireScriptKind) -> Self {
        match k {
            WireScriptKind::InitialCreate => ScriptKind::InitialCreate,
            WireScriptKind::Create => ScriptKind::Create,
            WireScriptKind::Cleanup => ScriptKind::Cleanup,
            WireScriptKind::PostCleanup => ScriptKind::PostCleanup,
            WireScriptKind::Edit => ScriptKind::Edit,
            WireScriptKind::Delete => ScriptKind::Delete,
        }
    }
}

/// The answer to `script`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireScript {
    pub language: String,
    pub statements: Vec<String>,
}

impl From<Script> for WireScript {
    fn from(s: Script) -> Self {
        let Script {
            language,
            statements,
        } = s;
        WireScript {
            language,
            statements,
        }
    }
}

impl From<WireScript> for Script {
    fn from(s: WireScript) -> Self {
        let WireScript {
            language,
            statements,
        } = s;
        Script {
            language,
            statements,
        }
    }
}
