//! [`RecurringStore`] on PostgreSQL: each call one transaction; a claim
//! skips rows another host is claiming (`FOR UPDATE SKIP LOCKED`), so with
//! several hosts exactly one runs each due re-validation.

use super::events::add_status_event;
use super::rows::{add_history, get_row};
use super::{PostgresStore, pg};
use crate::store::recurring::{
    DISABLED_MESSAGE, ENABLE, REVALIDATION_KINDS_SQL, RecurringStore, Revalidate,
    RevalidationClaim, RevalidationEnd, VALIDATE, revalidated_statuses_sql,
};
use crate::store::{IntegrationRow, OpLease, StoreError};
use crate::util::now_ms;
use async_trait::async_trait;
use junction_core::{Event, transition};
use tokio_postgres::Transaction;

/// The integration's row, locked until the transaction ends, or `NotFound`.
async fn locked(tx: &Transaction<'_>, id: i64) -> Result<IntegrationRow, StoreError> {
    get_row(tx, id, true).await?.ok_or(StoreError::NotFound(id))
}

async fn row_of(tx: &Transaction<'_>, id: i64) -> Result<IntegrationRow, StoreError> {
    get_row(tx, id, false)
        .await?
        .ok_or(StoreError::NotFound(id))
}

fn check_version(row: &IntegrationRow, expected: i64) -> Result<(), StoreError> {
    if row.version == expected {
        Ok(())
    } else {
        Err(StoreError::VersionConflict {
            expected,
            found: row.version,
        })
    }
}

async fn finish_in(
    tx: &Transaction<'_>,
    end: &RevalidationEnd,
) -> Result<IntegrationRow, StoreError> {
    let row = locked(tx, end.id).await?;
    let Some(op) = row.op.as_ref().filter(|op| op.op_id == end.op_id) else {
        return Err(StoreError::LeaseLost(end.op_id.clone()));
    };
    let to = transition(Some(row.status), end.event).map_err(StoreError::Transition)?;
    let now = now_ms();
    // The version guards status changes; a pass that keeps `enabled` is none.
    let bump = i64::from(to != row.status);
    tx.execute(
        "UPDATE integrations SET status = $1, version = version + $2, op_id = NULL,
            op_kind = NULL, op_owner = NULL, op_expires = NULL, op_key_id = NULL,
            op_origin = NULL, op_input = NULL, updated_at = $3, validation_results = $4,
            next_validation_at = $5
         WHERE id = $6",
        &[
            &to.as_str(),
            &bump,
            &now,
            &end.results,
            &end.next_validation_at,
            &row.id,
        ],
    )
    .await
    .map_err(pg)?;
    add_history(
        tx,
        row.id,
        now,
        &op.kind,
        Some(row.status),
        Some(to),
        Some(&end.results),
        op.key_id.as_deref(),
        Some(&end.message),
    )
    .await?;
    add_status_event(tx, row.id, &op.kind, Some(row.status), to, now).await?;
    row_of(tx, row.id).await
}

async fn disable_in(
    tx: &Transaction<'_>,
    id: i64,
    expected_version: i64,
    key_id: Option<&str>,
) -> Result<IntegrationRow, StoreError> {
    let row = locked(tx, id).await?;
    let to = transition(Some(row.status), Event::Disable).map_err(StoreError::Transition)?;
    check_version(&row, expected_version)?;
    let now = now_ms();
    // In a settled status only a re-validation can hold the lease: it is dropped.
    tx.execute(
        "UPDATE integrations SET status = $1, version = version + 1, op_id = NULL,
            op_kind = NULL, op_owner = NULL, op_expires = NULL, op_key_id = NULL,
            op_origin = NULL, op_input = NULL, updated_at = $2, next_validation_at = NULL
         WHERE id = $3",
        &[&to.as_str(), &now, &id],
    )
    .await
    .map_err(pg)?;
    let message = DISABLED_MESSAGE.replace("{id}", &id.to_string());
    add_history(
        tx,
        id,
        now,
        "disable",
        Some(row.status),
        Some(to),
        None,
        key_id,
        Some(&message),
    )
    .await?;
    add_status_event(tx, id, "disable", Some(row.status), to, now).await?;
    row_of(tx, id).await
}

async fn begin_enable_in(
    tx: &Transaction<'_>,
    id: i64,
    expected_version: i64,
    lease: &OpLease,
) -> Result<IntegrationRow, StoreError> {
    let row = locked(tx, id).await?;
    transition(Some(row.status), Event::Enable).map_err(StoreError::Transition)?;
    check_version(&row, expected_version)?;
    if let Some(op) = &row.op {
        return Err(StoreError::LeaseHeld {
            kind: op.kind.clone(),
        });
    }
    tx.execute(
        "UPDATE integrations SET op_id = $1, op_kind = $2, op_owner = $3, op_expires = $4,
            op_key_id = $5, op_origin = $1, op_input = NULL
         WHERE id = $6 AND op_id IS NULL",
        &[
            &lease.op_id,
            &ENABLE,
            &lease.owner,
            &lease.expires_ms,
            &lease.key_id,
            &id,
        ],
    )
    .await
    .map_err(pg)?;
    row_of(tx, id).await
}

#[async_trait]
impl RecurringStore for PostgresStore {
    async fn unscheduled(
        &self,
        default_on: bool,
        limit: usize,
    ) -> Result<Vec<(i64, Revalidate)>, StoreError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                &format!(
                    "SELECT id, revalidate_every_ms FROM integrations
                     WHERE status IN {} AND next_validation_at IS NULL
                     AND (revalidate_every_ms > 0 OR (revalidate_every_ms IS NULL AND $1))
                     ORDER BY id LIMIT $2",
                    revalidated_statuses_sql()
                ),
                &[&default_on, &limit],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(pg)?,
                    Revalidate::from_column(r.try_get(1).map_err(pg)?),
                ))
            })
            .collect()
    }

    async fn schedule(&self, runs: &[(i64, i64)]) -> Result<(), StoreError> {
        if runs.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = runs.iter().map(|(id, _)| *id).collect();
        let ats: Vec<i64> = runs.iter().map(|(_, at)| *at).collect();
        let c = self.client().await?;
        c.execute(
            &format!(
                "UPDATE integrations i SET next_validation_at = s.at
                 FROM unnest($1::bigint[], $2::bigint[]) AS s(id, at)
                 WHERE i.id = s.id AND i.next_validation_at IS NULL AND i.status IN {}",
                revalidated_statuses_sql()
            ),
            &[&ids, &ats],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn claim_revalidations(
        &self,
        claim: &RevalidationClaim,
    ) -> Result<Vec<IntegrationRow>, StoreError> {
        let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let rows = tx
            .query(
                &format!(
                    "WITH due AS (
                        SELECT id FROM integrations
                        WHERE status IN {} AND op_id IS NULL
                        AND next_validation_at IS NOT NULL AND next_validation_at <= $1
                        AND (revalidate_every_ms > 0 OR (revalidate_every_ms IS NULL AND $2))
                        ORDER BY next_validation_at, id LIMIT $3
                        FOR UPDATE SKIP LOCKED)
                     UPDATE integrations i SET op_id = $4 || i.id::text, op_kind = $5,
                        op_owner = $6, op_expires = $7, op_key_id = NULL,
                        op_origin = $4 || i.id::text, op_input = NULL
                     FROM due WHERE i.id = due.id
                     RETURNING i.id",
                    revalidated_statuses_sql()
                ),
                &[
                    &claim.now_ms,
                    &claim.default_on,
                    &limit,
                    &claim.op_prefix,
                    &VALIDATE,
                    &claim.owner,
                    &claim.expires_ms,
                ],
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(row_of(&tx, r.try_get(0).map_err(pg)?).await?);
        }
        tx.commit().await.map_err(pg)?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn finish_revalidation(
        &self,
        end: &RevalidationEnd,
    ) -> Result<IntegrationRow, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = finish_in(&tx, end).await?;
        tx.commit().await.map_err(pg)?;
        self.events_committed();
        Ok(row)
    }

    async fn release_expired_revalidations(
        &self,
        now_ms: i64,
        except: &[String],
    ) -> Result<usize, StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(
                &format!(
                    "UPDATE integrations SET op_id = NULL, op_kind = NULL, op_owner = NULL,
                        op_expires = NULL, op_key_id = NULL, op_origin = NULL, op_input = NULL
                     WHERE op_id IS NOT NULL AND op_kind IN {REVALIDATION_KINDS_SQL}
                     AND op_expires < $1 AND NOT (op_id = ANY($2))"
                ),
                &[&now_ms, &except],
            )
            .await
            .map_err(pg)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    async fn begin_enable(
        &self,
        id: i64,
        expected_version: i64,
        lease: &OpLease,
    ) -> Result<IntegrationRow, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = begin_enable_in(&tx, id, expected_version, lease).await?;
        tx.commit().await.map_err(pg)?;
        Ok(row)
    }

    async fn disable(
        &self,
        id: i64,
        expected_version: i64,
        key_id: Option<&str>,
    ) -> Result<IntegrationRow, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = disable_in(&tx, id, expected_version, key_id).await?;
        tx.commit().await.map_err(pg)?;
        self.events_committed();
        Ok(row)
    }
}
