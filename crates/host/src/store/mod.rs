//! The store behind a trait: integrations, their history, API keys and
//! idempotency keys. SQLite ([`sqlite::SqliteStore`]) is the embedded default
//! (one host); PostgreSQL ([`postgres::PostgresStore`]) lets several hosts
//! share one database. [`open`] picks one from `--store`.
//!
//! The store never sees a secret in clear: configurations arrive split into
//! public JSON and an encrypted blob. Both stores run the same versioned
//! migrations at start (`SCHEMA_VERSION`), and the same test suite
//! (`suite.rs`) runs against both.

pub mod postgres;
pub mod recurring;
pub mod sqlite;
#[cfg(test)]
mod suite;

use std::path::Path;
use std::sync::Arc;

/// The columns of an integration, in the order both stores read them.
pub const ROW_COLUMNS: &str = "id, type, account_key, auto_bootstrap, status, version, config, secrets, \
     bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id, \
     created_at, updated_at, op_origin, leftovers, revalidate_every_ms, next_validation_at";
/// The same without the secrets (lists).
pub const LIST_COLUMNS: &str = "id, type, account_key, auto_bootstrap, status, version, config, NULL, \
     bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id, \
     created_at, updated_at, op_origin, leftovers, revalidate_every_ms, next_validation_at";

/// The schema version both stores migrate to at start.
pub const SCHEMA_VERSION: i64 = 4;

/// Opens the store `--store` names: `postgres://…` (or `postgresql://…`), or
/// the embedded SQLite database in `data_dir` when `None`.
pub async fn open(store: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    match store {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
        }
        Some(other) if other.starts_with("sqlite:") => Ok(Arc::new(sqlite::SqliteStore::open(
            Path::new(other.trim_start_matches("sqlite:")),
        )?)),
        Some(_) => Err(StoreError::Backend(
            "--store must be a postgres://USER@HOST:PORT/DATABASE URL or sqlite:DIR".into(),
        )),
        None => Ok(Arc::new(sqlite::SqliteStore::open(data_dir)?)),
    }
}

/// [`open`] for commands that only read and write API keys (`junction
/// keys`), which may run while a host serves the same SQLite directory.
pub async fn open_shared(
    store: Option<&str>,
    data_dir: &Path,
) -> Result<Arc<dyn Store>, StoreError> {
    match store {
        None => Ok(Arc::new(sqlite::SqliteStore::open_shared(data_dir)?)),
        Some(other) if other.starts_with("sqlite:") => Ok(Arc::new(
            sqlite::SqliteStore::open_shared(Path::new(other.trim_start_matches("sqlite:")))?,
        )),
        Some(_) => open(store, data_dir).await,
    }
}

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
    /// A re-validation (recurring, or an enable's) holds the integration's lease.
    #[error("a {kind} is running on the integration")]
    LeaseHeld { kind: String },
    /// The Idempotency-Key was used before.
    #[error("idempotency key already used for integration {id}")]
    IdempotentReplay { id: i64, same_request: bool },
    #[error("store failure: {0}")]
    Backend(String),
    /// Another process serves (or rotates) the SQLite data directory.
    #[error(
        "another junction process (a server, or `junction secrets rotate`) is using the data directory {path}: stop it first; to run several hosts, give them one PostgreSQL store (--store postgres://…)"
    )]
    InUse { path: String },
    /// The database file is damaged: said once, with the path and what to do.
    #[error(
        "the store {path} is damaged ({detail}): restore it from a backup, or move it away to start with an empty store"
    )]
    Corrupt { path: String, detail: String },
}

/// An operation running on an integration, and who runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpLease {
    /// The fencing token: only the holder of this id may renew, journal or finish.
    pub op_id: String,
    /// The operation's first id, kept when another host takes it over (its journal's key).
    pub origin: String,
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
    /// Objects a recovered operation left on the platform (JSON array), shown
    /// in the integration's response until a later operation succeeds.
    pub leftovers: Option<String>,
    /// Its own `revalidateEvery`.
    pub revalidate: recurring::Revalidate,
    /// When its next recurring validation is due (ms since the epoch).
    pub next_validation_at: Option<i64>,
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
    /// The operation's input, sealed, when a host taking it over may replay
    /// it to undo its steps (never for privileged credentials).
    pub input: Option<Vec<u8>>,
    /// Its own `revalidateEvery`.
    pub revalidate: recurring::Revalidate,
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
    /// As [`NewIntegration::input`].
    pub input: Option<Vec<u8>>,
    /// A new `revalidateEvery` (an edit's payload); `None` keeps it.
    pub revalidate: Option<recurring::Revalidate>,
}

/// How the objects left on the platform change when an operation finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftovers {
    /// A failure that rolled back: what an earlier recovery named still stands.
    Keep,
    /// A success: the integration's objects are what it says.
    Clear,
    /// A recovery that could not undo everything: these remain (JSON array).
    Set(String),
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
    pub leftovers: Leftovers,
}

/// What a finish makes of a row, the same in every store.
impl Finish {
    /// The status the operation's outcome moves `from` to.
    pub fn status_after(&self, from: Status) -> Result<Status, StoreError> {
        let event = if self.succeeded {
            Event::Succeeded
        } else {
            Event::Failed
        };
        junction_core::transition(Some(from), event).map_err(StoreError::Transition)
    }

    /// The sealed secrets to store, given the ones stored now.
    pub fn secrets_after(&self, stored: &Option<Vec<u8>>) -> Option<Vec<u8>> {
        match &self.secrets {
            SecretsUpdate::Keep => stored.clone(),
            SecretsUpdate::Set(s) => s.clone(),
        }
    }

    /// The leftover objects to store, given the ones named now.
    pub fn leftovers_after(&self, stored: &Option<String>) -> Option<String> {
        match &self.leftovers {
            Leftovers::Keep => stored.clone(),
            Leftovers::Clear => None,
            Leftovers::Set(l) => Some(l.clone()),
        }
    }
}

/// One line of an integration's history.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: String,
    /// `create`, `edit`, `delete`, `migrate` (an operation started), `validation`
    /// (a validation run), `outcome` (an operation ended), `recovered` (ended by
    /// recovery after its host stopped), `validate` (a recurring validation),
    /// `disable`, `enable` (an enable's validation and its outcome).
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

/// Where a plan step stands in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Recorded before it ran; whether it was applied is not known.
    Started,
    Applied,
    /// Its action returned an error: not applied.
    Failed,
    Undone,
    UndoFailed,
}

impl StepState {
    pub const fn as_str(self) -> &'static str {
        match self {
            StepState::Started => "started",
            StepState::Applied => "applied",
            StepState::Failed => "failed",
            StepState::Undone => "undone",
            StepState::UndoFailed => "undo-failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StepState::Started,
            StepState::Applied,
            StepState::Failed,
            StepState::Undone,
            StepState::UndoFailed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the step's object may be on the platform.
    pub fn left_on_platform(self) -> bool {
        matches!(
            self,
            StepState::Started | StepState::Applied | StepState::UndoFailed
        )
    }
}

/// One plan step of an operation, as journaled: recorded before and after it
/// runs, and when it is undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Which plan of the operation (from 1) and which step of it (from 0).
    pub plan: i64,
    pub step: i64,
    pub step_id: String,
    pub state: StepState,
    /// The step's action and undo as the platform renders them (scrubbed).
    pub apply: String,
    pub undo: Option<String>,
}

/// An integration's sealed values, for re-encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    pub id: i64,
    pub secrets: Option<Vec<u8>>,
    /// A running operation's sealed input.
    pub input: Option<Vec<u8>>,
}

/// Which integrations a list returns: keyset pagination by id, filtered.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only ids above this one.
    pub after: i64,
    pub limit: usize,
    pub type_name: Option<String>,
    pub status: Option<Status>,
}

/// What taking over expired leases needs.
#[derive(Debug, Clone)]
pub struct Claim {
    pub now_ms: i64,
    /// The host that takes the operations over.
    pub owner: String,
    /// When the new leases expire.
    pub expires_ms: i64,
    /// Each claimed operation's new id (the fencing token) is this prefix and
    /// the integration's id.
    pub op_prefix: String,
    /// Operations this host runs itself (a starved renewal): never claimed.
    pub except: Vec<String>,
    pub limit: usize,
}

/// An operation whose lease had expired, now held by the claiming host under
/// a new operation id: the previous holder can neither renew nor finish it.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The integration as claimed (its `op` is the new lease).
    pub row: IntegrationRow,
    /// The lease that expired.
    pub previous: OpLease,
    /// The operation's sealed input, when it may be replayed.
    pub input: Option<Vec<u8>>,
}

/// What the host needs from a store. Every status change is one transaction
/// guarded by the integration's version, and writes its status event
/// (`events/store.rs`) in that transaction.
#[async_trait]
pub trait Store:
    crate::events::store::EventStore + recurring::RecurringStore + Send + Sync + 'static
{
    /// Whether this host is the only writer of the integrations (an embedded
    /// store): the host may then keep derived data, like the peer lists, in memory.
    fn single_writer(&self) -> bool {
        false
    }
    /// A number that moves on at every committed write, for caches of what
    /// is read (the rendered `GET /integrations/{id}`): `None` when writes
    /// can come from elsewhere (other hosts), so nothing may be kept.
    fn read_generation(&self) -> Option<u64> {
        None
    }
    /// Where the store is, for logs and errors (no password).
    fn describe(&self) -> String;
    async fn get(&self, id: i64) -> Result<Option<IntegrationRow>, StoreError>;
    /// A page of integrations by id (`id > after`), without secrets.
    async fn list_page(&self, query: &ListQuery) -> Result<Vec<IntegrationRow>, StoreError>;
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
    /// Takes over operations whose lease expired before `claim.now_ms`, at
    /// most `claim.limit`; two hosts claiming at once never get the same one.
    async fn claim_expired(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError>;
    /// Records a plan step of the operation `origin`, only while `fence` is
    /// the integration's running operation (else `LeaseLost`).
    async fn journal_write(
        &self,
        id: i64,
        fence: &str,
        origin: &str,
        entry: &JournalEntry,
    ) -> Result<(), StoreError>;
    /// The journal of the operation `origin`, in plan and step order.
    async fn journal(&self, origin: &str) -> Result<Vec<JournalEntry>, StoreError>;
    /// `None` when the integration does not exist.
    async fn history(&self, id: i64) -> Result<Option<Vec<HistoryEntry>>, StoreError>;
    async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, StoreError>;

    async fn insert_key(&self, key: &ApiKey, hash: &str) -> Result<(), StoreError>;
    async fn find_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    async fn count_keys(&self) -> Result<i64, StoreError>;
    /// Marks a key revoked; `false` when no key has this id.
    async fn revoke_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError>;

    /// The sealed values of integrations by id (`id > after`).
    async fn sealed_page(&self, after: i64, limit: usize) -> Result<Vec<SealedRow>, StoreError>;
    /// Replaces a row's sealed values with `new`'s if they are still `old`'s;
    /// whether it did.
    async fn reseal(&self, old: &SealedRow, new: &SealedRow) -> Result<bool, StoreError>;

    /// Small values the host keeps about itself (the encryption key's check value).
    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}

/// The history line of a take-over.
pub fn takeover_message(previous: &OpLease, owner: &str) -> String {
    format!(
        "Host {owner} took over the {} (operation {}) from host {}, whose lease expired at {}.",
        previous.kind,
        previous.origin,
        previous.owner,
        crate::util::rfc3339(previous.expires_ms)
    )
}
