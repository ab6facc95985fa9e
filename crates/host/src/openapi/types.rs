//! The answers' shapes that the handlers write without a type of their own
//! (an integration is written as text, for speed; a history entry is
//! reshaped as JSON), as types for the document. Each derives `Deserialize`
//! with `deny_unknown_fields` so a test reads the handlers' real output into
//! it: a field added on one side only fails that test, and schemathesis's
//! response checks fail on the rest.

use junction_core::{Remedy, Status, ValidationResults};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An integration, as the contract shows it (`api::render`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Integration {
    #[schemars(range(min = 1))]
    pub id: i64,
    pub status: Status,
    pub validation_results: ValidationResults,
    /// The platform's type name.
    #[serde(rename = "type")]
    pub type_name: String,
    pub auto_bootstrap: bool,
    /// The configuration with every secret left out.
    pub config: Map<String, Value>,
    /// Beside `validationResults`, never inside it: only when a failed or
    /// warning test left one.
    #[serde(default)]
    pub remedies: Option<Vec<Remedy>>,
    /// Only after a recovery that could not undo everything: each object an
    /// interrupted operation left on the platform; `scripts/delete` removes
    /// exactly them.
    #[serde(default)]
    pub leftover_objects: Option<Vec<Leftover>>,
    /// Only when it has an interval of its own: how often it is
    /// re-validated (`6h`, `90s`, `off`); else the server's default.
    #[serde(default)]
    pub revalidate_every: Option<String>,
}

/// One object an interrupted operation left on the platform.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leftover {
    pub step: String,
    pub state: LeftoverState,
    pub statement: String,
    pub undo: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum LeftoverState {
    #[serde(rename = "applied")]
    Applied,
    /// Started, and whether it was applied is not known.
    #[serde(rename = "in doubt")]
    InDoubt,
}

/// One entry of `GET /integrations/{id}/history` (`remedies::history`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryEntry {
    pub seq: i64,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub at: String,
    pub event: HistoryEvent,
    #[serde(default)]
    pub from: Option<Status>,
    #[serde(default)]
    pub to: Option<Status>,
    #[serde(default)]
    pub validation_results: Option<ValidationResults>,
    #[serde(default)]
    pub remedies: Option<Vec<Remedy>>,
    /// The API key that asked for it.
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// What a history entry records.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HistoryEvent {
    /// An operation started.
    Create,
    Edit,
    Delete,
    Migrate,
    Disable,
    Enable,
    /// A validation run.
    Validation,
    /// An operation ended.
    Outcome,
    /// Another host took the operation over (its lease had expired).
    Takeover,
    /// Ended by recovery after its host stopped.
    Recovered,
}

/// `POST /integrations/validate`'s answer (`remedies::validate_answer`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationAnswer {
    pub status: junction_core::TestStatus,
    #[serde(rename = "validationTests")]
    pub validation_tests: Vec<junction_core::ValidationTest>,
    /// The remedies of the failed and warning tests; empty when none.
    pub remedies: Vec<Remedy>,
}

/// `GET /integrations/{id}/status`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusAnswer {
    pub id: i64,
    pub status: Status,
}

/// A generated script (`scripts/…`); secrets appear as `[redacted]`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptAnswer {
    /// `sql`, `shell`, …
    pub language: String,
    pub statements: Vec<String>,
    /// The statements as one text, each on its own line(s).
    pub script: String,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub status: HealthStatus,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HealthStatus {
    Ok,
}

/// Any JSON document (`GET /openapi.json`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct AnyObject(pub Map<String, Value>);

/// One event of `GET /events`, and a webhook's body (`events::to_json`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    /// Store-wide, increasing.
    pub seq: i64,
    pub kind: EventKind,
    pub integration_id: i64,
    /// The platform's type name.
    #[serde(rename = "type")]
    pub type_name: String,
    pub operation: EventOperation,
    /// Status events: the status before (`null` on create).
    #[serde(default)]
    pub from: Option<Status>,
    /// Status events: the status now.
    #[serde(default)]
    pub status: Option<Status>,
    /// Test events: the test as it finished.
    #[serde(default)]
    pub test: Option<EventTest>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub at: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    Status,
    Test,
}

/// What the event belongs to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EventOperation {
    Create,
    Edit,
    Delete,
    Migrate,
    /// A recurring validation.
    Validate,
    Disable,
    Enable,
}

/// A validation test in a `test` event; `message` is `null` when it said nothing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTest {
    pub name: String,
    pub status: junction_core::TestStatus,
    pub message: Option<String>,
}
