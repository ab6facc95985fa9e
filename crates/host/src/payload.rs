//! What an operator sends: the payload `{type, autoBootstrap, config}` (and
//! create's and update's optional `revalidateEvery`) of
//! create, update, validate and the scripts. Reading it from a request body is
//! the API's (`body.rs`); the host takes it parsed.

use serde::Deserialize;
use serde_json::Value;

/// The path that names the request body as a whole (malformed, too large, not
/// an object, or credentials where none belong).
pub const BODY: &str = "body";

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(rename = "autoBootstrap", default)]
    pub auto_bootstrap: bool,
    pub config: Value,
    /// How often the integration is re-validated (`"6h"`, `"off"`); absent
    /// or null: the server's `--revalidate-every`. Kept as sent: the host
    /// reads it (`store::recurring::Revalidate::from_payload`) and names
    /// this path when it is bad.
    #[serde(rename = "revalidateEvery", default)]
    pub revalidate_every: Option<Value>,
}

/// The path of [`Payload::revalidate_every`].
pub const REVALIDATE_EVERY: &str = "revalidateEvery";
