//! Events, webhooks and the webhook outbox on PostgreSQL. An event takes its
//! `seq` from the one-row `event_seq` counter, whose row lock is held until
//! commit: events become visible in `seq` order, so a reader resuming after
//! N never misses a smaller one. Deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease, so two hosts never send the same
//! row at once.
//!
//! New events from other hosts are found by a modest poll of the counter
//! (once a second, and at once after this host commits one): a poll needs no
//! connection of its own kept listening and re-subscribed after a reconnect,
//! costs one primary-key read a second, and readers then read from their
//! last `seq`, so a missed wake-up delays an event, never loses it.

use super::{Inner, PostgresStore, pg};
use crate::events::store::{
    Attempt, AttemptOutcome, Delivery, DeliveryClaim, DeliveryState, DueDelivery, EventBody,
    EventStore, NewTestEvent, StoredEvent, WebhookRow, body_from_columns, state_after, test_json,
};
use crate::store::StoreError;
use crate::util::now_ms;
use async_trait::async_trait;
use junction_core::Status;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_postgres::{GenericClient, Row};

/// How often the counter is read for other hosts' events.
const POLL: Duration = Duration::from_secs(1);

/// Stores an event of integration `id` in the caller's transaction, and
/// queues it for every webhook that wants its kind; its `seq`.
pub async fn add_event(
    tx: &impl GenericClient,
    id: i64,
    operation: &str,
    body: &EventBody,
    at: i64,
) -> Result<i64, StoreError> {
    let kind = body.kind().as_str();
    let (from, to, test) = match body {
        EventBody::Status { from, to } => (from.map(Status::as_str), Some(to.as_str()), None),
        EventBody::Test(t) => (None, None, Some(test_json(t))),
    };
    let row = tx
        .query_opt(
            "WITH n AS (UPDATE event_seq SET seq = seq + 1 RETURNING seq)
             INSERT INTO events (seq, integration_id, type, operation, kind, from_status, to_status, test, at)
             SELECT n.seq, i.id, i.type, $2, $3, $4, $5, $6, $7 FROM n, integrations i WHERE i.id = $1
             RETURNING seq",
            &[&id, &operation, &kind, &from, &to, &test, &at],
        )
        .await
        .map_err(pg)?
        .ok_or(StoreError::NotFound(id))?;
    let seq: i64 = row.get(0);
    tx.execute(
        "INSERT INTO webhook_outbox (webhook_id, seq, state, attempts, next_at)
         SELECT id, $1, 'pending', 0, $2 FROM webhooks
         WHERE ($3 = 'status' AND status_events) OR ($3 = 'test' AND test_events)",
        &[&seq, &at, &kind],
    )
    .await
    .map_err(pg)?;
    Ok(seq)
}

/// The status event of a change, in the transaction that makes the change
/// (none when the status stays what it was); its `seq`.
pub async fn add_status_event(
    tx: &impl GenericClient,
    id: i64,
    operation: &str,
    from: Option<Status>,
    to: Status,
    at: i64,
) -> Result<Option<i64>, StoreError> {
    if from == Some(to) {
        return Ok(None);
    }
    add_event(tx, id, operation, &EventBody::Status { from, to }, at)
        .await
        .map(Some)
}

/// The highest `seq` committed.
pub async fn last_seq(c: &impl GenericClient) -> Result<i64, StoreError> {
    Ok(c.query_one("SELECT seq FROM event_seq", &[])
        .await
        .map_err(pg)?
        .get(0))
}

/// Reads the counter every [`POLL`], or at once when poked, until the store
/// is dropped.
pub(super) fn spawn_poller(inner: Weak<Inner>) {
    tokio::spawn(async move {
        loop {
            let Some(strong) = inner.upgrade() else {
                return;
            };
            let store = PostgresStore {
                inner: Arc::clone(&strong),
            };
            let read = match store.client().await {
                Ok(c) => last_seq(&*c).await,
                Err(e) => Err(e),
            };
            match read {
                Ok(seq) => {
                    strong.events.send_if_modified(|last| {
                        let newer = seq > *last;
                        if newer {
                            *last = seq;
                        }
                        newer
                    });
                }
                Err(e) => tracing::debug!(error = %e, "the event counter could not be read"),
            }
            drop(store);
            let poke = Arc::clone(&strong.poke);
            drop(strong);
            let _ = tokio::time::timeout(POLL, poke.notified()).await;
        }
    });
}

const EVENT_COLUMNS: &str =
    "seq, integration_id, type, operation, kind, from_status, to_status, test, at";

fn event_from_row(r: &Row) -> Result<StoredEvent, StoreError> {
    let g = |e: tokio_postgres::Error| pg(e);
    let kind: String = r.try_get(4).map_err(g)?;
    let from: Option<String> = r.try_get(5).map_err(g)?;
    let to: Option<String> = r.try_get(6).map_err(g)?;
    let test: Option<String> = r.try_get(7).map_err(g)?;
    Ok(StoredEvent {
        seq: r.try_get(0).map_err(g)?,
        integration_id: r.try_get(1).map_err(g)?,
        type_name: r.try_get(2).map_err(g)?,
        operation: r.try_get(3).map_err(g)?,
        body: body_from_columns(&kind, from.as_deref(), to.as_deref(), test.as_deref())?,
        at_ms: r.try_get(8).map_err(g)?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, url, status_events, test_events, secret, created_at";

fn webhook_from_row(r: &Row) -> Result<WebhookRow, StoreError> {
    Ok(WebhookRow {
        id: r.try_get(0).map_err(pg)?,
        url: r.try_get(1).map_err(pg)?,
        status_events: r.try_get(2).map_err(pg)?,
        test_events: r.try_get(3).map_err(pg)?,
        secret: r.try_get(4).map_err(pg)?,
        created_at: r.try_get(5).map_err(pg)?,
    })
}

fn attempt_from_row(r: &Row) -> Result<Attempt, StoreError> {
    let status: Option<i64> = r.try_get(3).map_err(pg)?;
    let error: Option<String> = r.try_get(4).map_err(pg)?;
    let outcome = match status.and_then(|s| u16::try_from(s).ok()) {
        Some(s) => AttemptOutcome::Http(s),
        None => AttemptOutcome::Error(error.unwrap_or_default()),
    };
    Ok(Attempt {
        seq: r.try_get(0).map_err(pg)?,
        attempt: r.try_get(1).map_err(pg)?,
        at_ms: r.try_get(2).map_err(pg)?,
        outcome,
        next_at_ms: r.try_get(5).map_err(pg)?,
    })
}

impl PostgresStore {
    /// After a commit that stored events: the poller reads the counter now.
    pub(super) fn events_committed(&self) {
        self.inner.poke.notify_one();
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    fn event_watch(&self) -> tokio::sync::watch::Receiver<i64> {
        self.inner.events.subscribe()
    }

    async fn add_test_event(&self, e: &NewTestEvent) -> Result<i64, StoreError> {
        let seq = {
            let mut c = self.client().await?;
            let tx = c.transaction().await.map_err(pg)?;
            let body = EventBody::Test(e.test.clone());
            let seq = add_event(&tx, e.integration_id, &e.operation, &body, now_ms()).await?;
            tx.commit().await.map_err(pg)?;
            seq
        };
        self.events_committed();
        Ok(seq)
    }

    async fn events_after(
        &self,
        after: i64,
        integration: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1
                     AND ($2::bigint IS NULL OR integration_id = $2) ORDER BY seq LIMIT $3"
                ),
                &[&after, &integration, &limit],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn insert_webhook(&self, w: &WebhookRow) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO webhooks (id, url, status_events, test_events, secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &w.id,
                &w.url,
                &w.status_events,
                &w.test_events,
                &w.secret,
                &w.created_at,
            ],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id"),
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute("DELETE FROM webhook_attempts WHERE webhook_id = $1", &[&id])
            .await
            .map_err(pg)?;
        tx.execute("DELETE FROM webhook_outbox WHERE webhook_id = $1", &[&id])
            .await
            .map_err(pg)?;
        let n = tx
            .execute("DELETE FROM webhooks WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(n == 1)
    }

    async fn reseal_webhook(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE webhooks SET secret = $1 WHERE id = $2 AND secret = $3",
                &[&new, &id, &old],
            )
            .await
            .map_err(pg)?;
        Ok(n == 1)
    }

    async fn deliveries(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                "SELECT seq, state, next_at FROM webhook_outbox WHERE webhook_id = $1
                 ORDER BY seq DESC LIMIT $2",
                &[&webhook_id, &limit],
            )
            .await
            .map_err(pg)?;
        let attempts = c
            .query(
                "SELECT a.seq, a.attempt, a.at, a.http_status, a.error, a.next_at
                 FROM webhook_attempts a
                 WHERE a.webhook_id = $1 AND a.seq >= COALESCE(
                     (SELECT MIN(seq) FROM (SELECT seq FROM webhook_outbox WHERE webhook_id = $1
                      ORDER BY seq DESC LIMIT $2) newest), 0)
                 ORDER BY a.seq, a.attempt",
                &[&webhook_id, &limit],
            )
            .await
            .map_err(pg)?;
        let attempts: Vec<Attempt> = attempts
            .iter()
            .map(attempt_from_row)
            .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get(0).map_err(pg)?;
                let state: String = r.try_get(1).map_err(pg)?;
                let state = DeliveryState::parse(&state).ok_or_else(|| {
                    StoreError::Backend(format!("unknown delivery state {state}"))
                })?;
                Ok(Delivery {
                    seq,
                    state,
                    next_at_ms: r.try_get(2).map_err(pg)?,
                    attempts: attempts.iter().filter(|a| a.seq == seq).cloned().collect(),
                })
            })
            .collect()
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
        let due = tx
            .query(
                "WITH due AS (
                    SELECT webhook_id, seq FROM webhook_outbox
                    WHERE state = 'pending' AND next_at <= $1
                      AND (lease_expires IS NULL OR lease_expires < $1)
                    ORDER BY next_at, seq LIMIT $2
                    FOR UPDATE SKIP LOCKED)
                 UPDATE webhook_outbox o SET lease_owner = $3, lease_expires = $4
                 FROM due WHERE o.webhook_id = due.webhook_id AND o.seq = due.seq
                 RETURNING o.webhook_id, o.seq, o.attempts",
                &[&claim.now_ms, &limit, &claim.owner, &claim.lease_until_ms],
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::with_capacity(due.len());
        for r in due {
            let webhook_id: String = r.get(0);
            let seq: i64 = r.get(1);
            let attempts: i64 = r.get(2);
            let webhook = tx
                .query_one(
                    &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"),
                    &[&webhook_id],
                )
                .await
                .map_err(pg)?;
            let event = tx
                .query_one(
                    &format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = $1"),
                    &[&seq],
                )
                .await
                .map_err(pg)?;
            out.push(DueDelivery {
                webhook: webhook_from_row(&webhook)?,
                event: event_from_row(&event)?,
                attempt: attempts + 1,
            });
        }
        tx.commit().await.map_err(pg)?;
        out.sort_by_key(|d| d.event.seq);
        Ok(out)
    }

    async fn record_attempt(
        &self,
        webhook_id: &str,
        owner: &str,
        a: &Attempt,
    ) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let state = state_after(a);
        let next_at = match state {
            DeliveryState::Pending => a.next_at_ms,
            _ => None,
        };
        let n = tx
            .execute(
                "UPDATE webhook_outbox SET state = $1, attempts = $2, next_at = $3,
                    lease_owner = NULL, lease_expires = NULL
                 WHERE webhook_id = $4 AND seq = $5 AND lease_owner = $6",
                &[
                    &state.as_str(),
                    &a.attempt,
                    &next_at,
                    &webhook_id,
                    &a.seq,
                    &owner,
                ],
            )
            .await
            .map_err(pg)?;
        if n != 1 {
            return Ok(false);
        }
        let (status, error) = match &a.outcome {
            AttemptOutcome::Http(s) => (Some(i64::from(*s)), None),
            AttemptOutcome::Error(e) => (None, Some(e.clone())),
        };
        tx.execute(
            "INSERT INTO webhook_attempts (webhook_id, seq, attempt, at, http_status, error, next_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&webhook_id, &a.seq, &a.attempt, &a.at_ms, &status, &error, &next_at],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(true)
    }
}
