//! The store behind a trait: integrations, their history, API keys and
//! idempotency keys. SQLite ([`sqlite::SqliteStore`]) is the embedded default;
//! a PostgreSQL store for several hosts sharing one database implements the
//! same trait (not written yet).
//!
//! The store never sees a secret in clear: configurations arrive split into
//! public JSON and an encrypted blob.

pub mod sqlite;

use crate::auth::ApiKey;
use async_trait::async_trait;
use junction_core::{Event, Peer, Status, TransitionError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no integration with id {0}")]
    NotFound(i64),
    #[error("{0}")]
    Transition(TransitionError),
    /// Another in-use integration holds the same platform account.
    #[error("the platform account is taken by integration {id}")]
    AccountTaken { id: i64 },
    /// The integration changed since it was read.
    #[error(
        "the integration was changed concurrently (version {expected} expected, {found} found)"
    )]
    VersionConflict { expected: i64, found: i64 },
    /// The operation is no longer the integration's running one (lease taken over).
    #[error("the operation {0} no longer holds the integration's lease")]
    LeaseLost(String),
    /// The Idempotency-Key was used before.
    #[error("idempotency key already used for integration {id}")]
    IdempotentReplay { id: i64, same_request: bool },
    #[error("store failure: {0}")]
    Backend(String),
}

/// An operation running on an integration, and who runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpLease {
    pub op_id: String,
    /// `create`, `edit`, `delete` or `migrate`.
    pub kind: String,
    pub owner: String,
    pub expires_ms: i64,
    pub key_id: Option<String>,
}

/// One integration as stored.
#[derive(Debug, Clone)]
pub struct IntegrationRow {
    pub id: i64,
    pub type_name: String,
    pub account_key: String,
    pub auto_bootstrap: bool,
    pub status: Status,
    pub version: i64,
    /// Public configuration, JSON text, no secret.
    pub config: String,
    /// The encrypted secrets map (`None` in lists, or when there is none).
    pub secrets: Option<Vec<u8>>,
    pub bootstrap_version: u32,
    /// `validationResults`, JSON text.
    pub validation_results: String,
    pub op: Option<OpLease>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new integration, stored in `creating` with its operation's lease.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub type_name: String,
    pub account_key: String,
    pub auto_bootstrap: bool,
    pub config: String,
    pub secrets: Option<Vec<u8>>,
    pub validation_results: String,
    pub lease: OpLease,
    /// (key, hash of the request) from an `Idempotency-Key` header.
    pub idempotency: Option<(String, String)>,
}

/// Starts an operation on an existing integration.
#[derive(Debug, Clone)]
pub struct StartOp {
    pub id: i64,
    /// The version the caller read; `None` skips the check.
    pub expected_version: Option<i64>,
    pub event: Event,
    pub lease: OpLease,
    /// For an edit that moves the integration to another platform account: checked now.
    pub new_account_key: Option<String>,
    /// Stored at once (a create retried from `createError` shows its pending results).
    pub validation_results: Option<String>,
}

/// How the secrets column changes when an operation finishes.
#[derive(Debug, Clone)]
pub enum SecretsUpdate {
    Keep,
    Set(Option<Vec<u8>>),
}

/// The end of an operation.
#[derive(Debug, Clone)]
pub struct Finish {
    pub id: i64,
    pub op_id: String,
    pub succeeded: bool,
    pub validation_results: Option<String>,
    pub config: Option<String>,
    pub secrets: SecretsUpdate,
    pub account_key: Option<String>,
    pub auto_bootstrap: Option<bool>,
    pub bootstrap_version: Option<u32>,
    /// `outcome` normally, `recovered` when another host (or a restart) ends it.
    pub event: &'static str,
    pub message: Option<String>,
}

/// One line of an integration's history.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: String,
    /// `create`, `edit`, `delete`, `migrate` (an operation started), `validation`
    /// (a validation run), `outcome` (an operation ended), `recovered` (ended by
    /// recovery after its host stopped).
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_results: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An operation whose lease has expired.
#[derive(Debug, Clone)]
pub struct Expired {
    pub id: i64,
    pub status: Status,
    pub lease: OpLease,
}

/// What the host needs from a store. Every status change is one transaction
/// guarded by the integration's version.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether this host is the only writer of the integrations (an embedded
    /// store): the host may then keep derived data, like the peer lists, in memory.
    fn single_writer(&self) -> bool {
        false
    }
    async fn get(&self, id: i64) -> Result<Option<IntegrationRow>, StoreError>;
    /// Every integration, by id, without secrets.
    async fn list(&self) -> Result<Vec<IntegrationRow>, StoreError>;
    /// The in-use integrations of a platform, public configuration only, each
    /// with its version.
    async fn peers(&self, type_name: &str) -> Result<Vec<(Peer, i64)>, StoreError>;
    async fn insert(&self, new: NewIntegration) -> Result<IntegrationRow, StoreError>;
    async fn start_operation(&self, start: StartOp) -> Result<IntegrationRow, StoreError>;
    async fn record_validation(
        &self,
        id: i64,
        op_id: &str,
        results: &str,
        key_id: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn renew_lease(&self, id: i64, op_id: &str, expires_ms: i64) -> Result<bool, StoreError>;
    async fn finish(&self, finish: Finish) -> Result<IntegrationRow, StoreError>;
    async fn expired_operations(&self, now_ms: i64) -> Result<Vec<Expired>, StoreError>;
    /// `None` when the integration does not exist.
    async fn history(&self, id: i64) -> Result<Option<Vec<HistoryEntry>>, StoreError>;
    async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, StoreError>;

    async fn insert_key(&self, key: &ApiKey, hash: &str) -> Result<(), StoreError>;
    async fn find_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    async fn count_keys(&self) -> Result<i64, StoreError>;

    /// Small values the host keeps about itself (the encryption key's check value).
    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}
