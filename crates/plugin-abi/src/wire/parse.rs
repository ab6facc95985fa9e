//! `parse` and `parseDeleteCredentials` (the latter answers `null`).

use junction_core::ParsedConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseIn<'a> {
    pub config: Cow<'a, Value>,
    pub auto_bootstrap: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseOut {
    pub full: Value,
    pub public: Value,
    pub account_key: String,
}

impl From<ParsedConfig> for ParseOut {
    fn from(p: ParsedConfig) -> Self {
        let ParsedConfig {
            full,
            public,
            account_key,
        } = p;
        ParseOut {
            full,
            public,
            account_key,
        }
    }
}

impl From<ParseOut> for ParsedConfig {
    fn from(p: ParseOut) -> Self {
        let ParseOut {
            full,
            public,
            account_key,
        } = p;
        ParsedConfig {
            full,
            public,
            account_key,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteCredentialsIn<'a> {
    pub body: Cow<'a, Value>,
}
