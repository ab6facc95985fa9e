//! What an operator sends: the payload `{type, autoBootstrap, config}` of
//! create, update, validate and the scripts. Reading it from a request body is
//! the API's (`body.rs`); the host takes it parsed.

use serde::Deserialize;
use serde_json::Value;

/// The path that names the request body as a whole (malformed, too large, not
/// an object, or credentials where none belong).
pub const BODY: &str = "body";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(rename = "autoBootstrap", default)]
    pub auto_bootstrap: bool,
    pub config: Value,
}
