//! The JSON inside the buffers: one request per method, one answer per method,
//! and [`WireError`] for a refusal. These types are the ABI's own, apart from
//! core's: each converts to and from its core type explicitly (`From` both
//! ways, destructuring every field), so a change in core fails to compile here
//! instead of changing what crosses. `tests/abi/golden.rs` pins every message
//! against literal JSON.
//!
//! The rules of ABI 1.x's JSON (PLUGINS.md, "The JSON"):
//! - Names are camelCase, except three that ABI 1.0 shipped in snake_case and
//!   that stay as they are for all of 1.x: `ctx.integration_id`,
//!   `ctx.auto_bootstrap` and `op.fault.fail_at_step`.
//! - No field is renamed or removed within a major. A field added by a later
//!   minor is optional (`Option`, or `#[serde(default)]`), and every reader
//!   ignores fields it does not know: either side may be the older one.
//! - Requests borrow the host's JSON values (`Cow`), so nothing is copied to
//!   write them; what is read is owned.
//!
//! Secrets travel in clear inside configurations (the plugin needs them);
//! error messages never carry them.

mod descriptor;
mod error;
mod op;
mod parse;
mod script;
mod validate;

pub use descriptor::{
    WireBootstrapModes, WireCheckDescriptor, WireDeleteCredentials, WireDescriptor,
};
pub use error::{WireError, WireFieldError, WireFieldErrors};
pub use op::{CreateIn, DeleteIn, EditIn, OpOut, WireFault, WireOpContext};
pub use parse::{DeleteCredentialsIn, ParseIn, ParseOut};
pub use script::{ScriptIn, WireScript, WireScriptKind};
pub use validate::{
    ValidateIn, WireCheckContext, WirePeer, WireRemedy, WireRunOptions, WireStatus, WireTestStatus,
    WireValidationResults, WireValidationTest,
};
