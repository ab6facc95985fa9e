//! What events and webhooks need from a store: the types both stores read
//! and write, and [`EventStore`], which every [`crate::store::Store`] is.
//!
//! Status events are not written through this trait: each store writes one
//! inside the transaction that changes the status (its `transitions.rs`),
//! so no change is ever without its event. An event that makes a webhook
//! delivery is queued in the outbox in the same statement's transaction.

use crate::store::StoreError;
use async_trait::async_trait;
use junction_core::{Status, ValidationTest};

/// The kinds of event, as `event:` on the wire and `kind` in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Status,
    Test,
}

impl EventKind {
    pub const ALL: [EventKind; 2] = [EventKind::Status, EventKind::Test];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Status => "status",
            EventKind::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What an event says, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    /// `from` is `None` on create.
    Status { from: Option<Status>, to: Status },
    /// One validation test, as it finished (scrubbed of the run's secrets).
    Test(ValidationTest),
}

impl EventBody {
    pub const fn kind(&self) -> EventKind {
        match self {
            EventBody::Status { .. } => EventKind::Status,
            EventBody::Test(_) => EventKind::Test,
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Store-wide, increasing, in commit order.
    pub seq: i64,
    pub integration_id: i64,
    pub type_name: String,
    /// create, edit, delete, migrate, validate (recurring), disable, enable.
    pub operation: String,
    pub body: EventBody,
    pub at_ms: i64,
}

/// A test result to store as an event (its integration's type is the row's).
#[derive(Debug, Clone)]
pub struct NewTestEvent {
    pub integration_id: i64,
    pub operation: String,
    pub test: ValidationTest,
}

/// A registered webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// `wh_…`.
    pub id: String,
    pub url: String,
    pub status_events: bool,
    pub test_events: bool,
    /// The signing secret, sealed by the host's key ring.
    pub secret: Vec<u8>,
    pub created_at: i64,
}

impl WebhookRow {
    pub fn wants(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::Status => self.status_events,
            EventKind::Test => self.test_events,
        }
    }
}

/// Where one (webhook, event) delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet: due at its `next_at`.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed; no more are made.
    GaveUp,
}

impl DeliveryState {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GaveUp => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::GaveUp,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One attempt to deliver an event to a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub seq: i64,
    /// From 1.
    pub attempt: i64,
    pub at_ms: i64,
    pub outcome: AttemptOutcome,
    /// When the next attempt is due (`None`: delivered, or given up).
    pub next_at_ms: Option<i64>,
}

/// What an attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered with this HTTP status.
    Http(u16),
    /// No answer: the connection or the request failed (our words, no secret).
    Error(String),
}

impl AttemptOutcome {
    pub fn delivered(&self) -> bool {
        matches!(self, AttemptOutcome::Http(s) if (200..300).contains(s))
    }
}

/// One outbox row with its attempts, for `GET /webhooks/{id}/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub seq: i64,
    pub state: DeliveryState,
    pub next_at_ms: Option<i64>,
    pub attempts: Vec<Attempt>,
}

/// What claiming due deliveries needs.
#[derive(Debug, Clone)]
pub struct DeliveryClaim {
    pub now_ms: i64,
    /// The claiming host.
    pub owner: String,
    /// When the claim lapses (another host may then take the row).
    pub lease_until_ms: i64,
    pub limit: usize,
}

/// A delivery this host now holds the lease of.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub webhook: WebhookRow,
    pub event: StoredEvent,
    /// The number this attempt will have (from 1).
    pub attempt: i64,
}

/// What the store needs to know about events and webhooks. Every store is one.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// The highest `seq` committed, as far as this host knows: changes after
    /// each commit that stored events (and, on a shared store, after another
    /// host's, found by a poll). A reader waits on it, then reads from its
    /// last `seq` with [`EventStore::events_after`].
    fn event_watch(&self) -> tokio::sync::watch::Receiver<i64>;
    /// Stores a test result as an event (and queues its deliveries); its `seq`.
    async fn add_test_event(&self, event: &NewTestEvent) -> Result<i64, StoreError>;
    /// Events with `seq > after`, in `seq` order, at most `limit`; only one
    /// integration's when `integration` is set.
    async fn events_after(
        &self,
        after: i64,
        integration: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    async fn insert_webhook(&self, webhook: &WebhookRow) -> Result<(), StoreError>;
    async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError>;
    async fn webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError>;
    /// Deletes a webhook and its outbox; `false` when there is none.
    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;
    /// Replaces a webhook's sealed secret with `new` if it is still `old`
    /// (`junction secrets rotate`); whether it did.
    async fn reseal_webhook(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError>;
    /// A webhook's latest deliveries (newest event first), with their attempts.
    async fn deliveries(&self, webhook_id: &str, limit: usize)
    -> Result<Vec<Delivery>, StoreError>;
    /// Takes the lease of due pending deliveries, oldest due first; two hosts
    /// claiming at once never get the same one.
    async fn claim_deliveries(&self, claim: &DeliveryClaim)
    -> Result<Vec<DueDelivery>, StoreError>;
    /// Records an attempt of a delivery held by `owner` and releases its
    /// lease: delivered, due again at `attempt.next_at_ms`, or given up when
    /// that is `None` and it failed. `false` when `owner` no longer held it.
    async fn record_attempt(
        &self,
        webhook_id: &str,
        owner: &str,
        attempt: &Attempt,
    ) -> Result<bool, StoreError>;
}

/// The state an attempt leaves its delivery in.
pub fn state_after(attempt: &Attempt) -> DeliveryState {
    if attempt.outcome.delivered() {
        DeliveryState::Delivered
    } else if attempt.next_at_ms.is_some() {
        DeliveryState::Pending
    } else {
        DeliveryState::GaveUp
    }
}

/// A stored test's JSON text (the `test` column).
pub fn test_json(t: &ValidationTest) -> String {
    crate::secrets::to_json(t)
}

/// The body of an event from its stored columns.
pub fn body_from_columns(
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    test: Option<&str>,
) -> Result<EventBody, StoreError> {
    let bad = |what: &str| StoreError::Backend(format!("a stored event has {what}"));
    match EventKind::parse(kind) {
        Some(EventKind::Status) => {
            let from = match from {
                Some(f) => Some(Status::parse(f).ok_or_else(|| bad("an unknown status"))?),
                None => None,
            };
            let to = to
                .and_then(Status::parse)
                .ok_or_else(|| bad("an unknown status"))?;
            Ok(EventBody::Status { from, to })
        }
        Some(EventKind::Test) => {
            let test = test
                .and_then(|t| serde_json::from_str(t).ok())
                .ok_or_else(|| bad("an unreadable test"))?;
            Ok(EventBody::Test(test))
        }
        None => Err(bad("an unknown kind")),
    }
}
