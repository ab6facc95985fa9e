//! Events, webhooks and the webhook outbox on SQLite. An event is written in
//! the caller's transaction with its outbox rows; the single writer makes
//! `seq` (AUTOINCREMENT) commit in order and every claim atomic.

use super::SqliteStore;
use crate::events::store::{
    Attempt, AttemptOutcome, Delivery, DeliveryClaim, DeliveryState, DueDelivery, EventBody,
    EventStore, NewTestEvent, StoredEvent, WebhookRow, body_from_columns, state_after, test_json,
};
use crate::store::StoreError;
use crate::util::now_ms;
use async_trait::async_trait;
use junction_core::Status;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Stores an event of integration `id` in the caller's transaction, and
/// queues it for every webhook that wants its kind; its `seq`.
pub fn add_event(
    tx: &Connection,
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
    let n = tx.execute(
        "INSERT INTO events (integration_id, type, operation, kind, from_status, to_status, test, at)
         SELECT id, type, ?2, ?3, ?4, ?5, ?6, ?7 FROM integrations WHERE id = ?1",
        params![id, operation, kind, from, to, test, at],
    )?;
    if n != 1 {
        return Err(StoreError::NotFound(id));
    }
    let seq = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO webhook_outbox (webhook_id, seq, state, attempts, next_at)
         SELECT id, ?1, 'pending', 0, ?2 FROM webhooks
         WHERE (?3 = 'status' AND status_events <> 0) OR (?3 = 'test' AND test_events <> 0)",
        params![seq, at, kind],
    )?;
    Ok(seq)
}

/// The status event of a change, in the transaction that makes the change
/// (none when the status stays what it was); its `seq`.
pub fn add_status_event(
    tx: &Connection,
    id: i64,
    operation: &str,
    from: Option<Status>,
    to: Status,
    at: i64,
) -> Result<Option<i64>, StoreError> {
    if from == Some(to) {
        return Ok(None);
    }
    add_event(tx, id, operation, &EventBody::Status { from, to }, at).map(Some)
}

/// The highest `seq` stored (0 for none).
pub fn last_seq(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
}

const EVENT_COLUMNS: &str =
    "seq, integration_id, type, operation, kind, from_status, to_status, test, at";

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<(StoredEvent, String)> {
    let kind: String = r.get(4)?;
    let from: Option<String> = r.get(5)?;
    let to: Option<String> = r.get(6)?;
    let test: Option<String> = r.get(7)?;
    let body =
        body_from_columns(&kind, from.as_deref(), to.as_deref(), test.as_deref()).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                e.to_string().into(),
            )
        })?;
    Ok((
        StoredEvent {
            seq: r.get(0)?,
            integration_id: r.get(1)?,
            type_name: r.get(2)?,
            operation: r.get(3)?,
            body,
            at_ms: r.get(8)?,
        },
        kind,
    ))
}

const WEBHOOK_COLUMNS: &str = "id, url, status_events, test_events, secret, created_at";

fn webhook_from_row(r: &Row<'_>) -> rusqlite::Result<WebhookRow> {
    Ok(WebhookRow {
        id: r.get(0)?,
        url: r.get(1)?,
        status_events: r.get(2)?,
        test_events: r.get(3)?,
        secret: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn attempt_from_row(r: &Row<'_>) -> rusqlite::Result<Attempt> {
    let status: Option<i64> = r.get(3)?;
    let error: Option<String> = r.get(4)?;
    let outcome = match status.and_then(|s| u16::try_from(s).ok()) {
        Some(s) => AttemptOutcome::Http(s),
        None => AttemptOutcome::Error(error.unwrap_or_default()),
    };
    Ok(Attempt {
        seq: r.get(0)?,
        attempt: r.get(1)?,
        at_ms: r.get(2)?,
        outcome,
        next_at_ms: r.get(5)?,
    })
}

#[async_trait]
impl EventStore for SqliteStore {
    fn event_watch(&self) -> tokio::sync::watch::Receiver<i64> {
        self.inner.events.subscribe()
    }

    async fn add_test_event(&self, e: &NewTestEvent) -> Result<i64, StoreError> {
        let e = e.clone();
        self.write(move |tx| {
            add_event(
                tx,
                e.integration_id,
                &e.operation,
                &EventBody::Test(e.test.clone()),
                now_ms(),
            )
        })
        .await
    }

    async fn events_after(
        &self,
        after: i64,
        integration: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1
                 AND (?2 IS NULL OR integration_id = ?2) ORDER BY seq LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![after, integration, limit], event_from_row)?;
            Ok(rows
                .map(|r| r.map(|(e, _)| e))
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn insert_webhook(&self, w: &WebhookRow) -> Result<(), StoreError> {
        let w = w.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO webhooks (id, url, status_events, test_events, secret, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    w.id,
                    w.url,
                    w.status_events,
                    w.test_events,
                    w.secret,
                    w.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([], webhook_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1"
            ))?
            .query_row([id], webhook_from_row)
            .optional()?)
        })
        .await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            tx.execute("DELETE FROM webhook_attempts WHERE webhook_id = ?1", [&id])?;
            tx.execute("DELETE FROM webhook_outbox WHERE webhook_id = ?1", [&id])?;
            Ok(tx.execute("DELETE FROM webhooks WHERE id = ?1", [&id])? == 1)
        })
        .await
    }

    async fn reseal_webhook(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let (id, old, new) = (id.to_owned(), old.to_vec(), new.to_vec());
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE webhooks SET secret = ?1 WHERE id = ?2 AND secret = ?3",
                params![new, id, old],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn deliveries(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (id, limit) = (
            webhook_id.to_owned(),
            i64::try_from(limit).unwrap_or(i64::MAX),
        );
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, state, next_at FROM webhook_outbox WHERE webhook_id = ?1
                 ORDER BY seq DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![id, limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, state, next_at_ms) = row?;
                let state = DeliveryState::parse(&state).ok_or_else(|| {
                    StoreError::Backend(format!("unknown delivery state {state}"))
                })?;
                let mut a = c.prepare_cached(
                    "SELECT seq, attempt, at, http_status, error, next_at FROM webhook_attempts
                     WHERE webhook_id = ?1 AND seq = ?2 ORDER BY attempt",
                )?;
                let attempts = a
                    .query_map(params![id, seq], attempt_from_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(Delivery {
                    seq,
                    state,
                    next_at_ms,
                    attempts,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let claim = claim.clone();
        self.write(move |tx| {
            let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
            let due: Vec<(String, i64, i64)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT webhook_id, seq, attempts FROM webhook_outbox
                     WHERE state = 'pending' AND next_at <= ?1
                       AND (lease_expires IS NULL OR lease_expires < ?1)
                     ORDER BY next_at, seq LIMIT ?2",
                )?;
                stmt.query_map(params![claim.now_ms, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?
            };
            let mut out = Vec::with_capacity(due.len());
            for (webhook_id, seq, attempts) in due {
                tx.execute(
                    "UPDATE webhook_outbox SET lease_owner = ?1, lease_expires = ?2
                     WHERE webhook_id = ?3 AND seq = ?4",
                    params![claim.owner, claim.lease_until_ms, webhook_id, seq],
                )?;
                let webhook = tx
                    .prepare_cached(&format!(
                        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1"
                    ))?
                    .query_row([&webhook_id], webhook_from_row)?;
                let (event, _) = tx
                    .prepare_cached(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1"
                    ))?
                    .query_row([seq], event_from_row)?;
                out.push(DueDelivery {
                    webhook,
                    event,
                    attempt: attempts + 1,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn record_attempt(
        &self,
        webhook_id: &str,
        owner: &str,
        a: &Attempt,
    ) -> Result<bool, StoreError> {
        let (id, owner, a) = (webhook_id.to_owned(), owner.to_owned(), a.clone());
        self.write(move |tx| {
            let state = state_after(&a);
            let next_at = match state {
                DeliveryState::Pending => a.next_at_ms,
                _ => None,
            };
            let n = tx.execute(
                "UPDATE webhook_outbox SET state = ?1, attempts = ?2, next_at = ?3,
                    lease_owner = NULL, lease_expires = NULL
                 WHERE webhook_id = ?4 AND seq = ?5 AND lease_owner = ?6",
                params![state.as_str(), a.attempt, next_at, id, a.seq, owner],
            )?;
            if n != 1 {
                return Ok(false);
            }
            let (status, error) = match &a.outcome {
                AttemptOutcome::Http(s) => (Some(i64::from(*s)), None),
                AttemptOutcome::Error(e) => (None, Some(e.clone())),
            };
            tx.execute(
                "INSERT INTO webhook_attempts (webhook_id, seq, attempt, at, http_status, error, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, a.seq, a.attempt, a.at_ms, status, error, next_at],
            )?;
            Ok(true)
        })
        .await
    }
}
