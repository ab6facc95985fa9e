//! [`RecurringStore`] on SQLite: each call one IMMEDIATE transaction on the
//! single writer, which makes every claim atomic.

use super::SqliteStore;
use super::events::add_status_event;
use super::rows::{add_history, get_row};
use crate::store::recurring::{
    DISABLED_MESSAGE, ENABLE, REVALIDATION_KINDS_SQL, RecurringStore, Revalidate,
    RevalidationClaim, RevalidationEnd, VALIDATE, revalidated_statuses_sql,
};
use crate::store::{IntegrationRow, OpLease, StoreError};
use crate::util::now_ms;
use async_trait::async_trait;
use junction_core::{Event, transition};
use rusqlite::{Connection, params};

/// The integration's row, or `NotFound`.
fn row_of(tx: &Connection, id: i64) -> Result<IntegrationRow, StoreError> {
    get_row(tx, id)?.ok_or(StoreError::NotFound(id))
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

#[async_trait]
impl RecurringStore for SqliteStore {
    async fn unscheduled(
        &self,
        default_on: bool,
        limit: usize,
    ) -> Result<Vec<(i64, Revalidate)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT id, revalidate_every_ms FROM integrations
                 WHERE status IN {} AND next_validation_at IS NULL
                 AND (revalidate_every_ms > 0 OR (revalidate_every_ms IS NULL AND ?1))
                 ORDER BY id LIMIT ?2",
                revalidated_statuses_sql()
            ))?;
            let rows = stmt.query_map(params![default_on, limit], |r| {
                Ok((r.get(0)?, Revalidate::from_column(r.get(1)?)))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn schedule(&self, runs: &[(i64, i64)]) -> Result<(), StoreError> {
        if runs.is_empty() {
            return Ok(());
        }
        let runs = runs.to_vec();
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE integrations SET next_validation_at = ?2
                 WHERE id = ?1 AND next_validation_at IS NULL AND status IN {}",
                revalidated_statuses_sql()
            ))?;
            for (id, at) in runs {
                stmt.execute(params![id, at])?;
            }
            Ok(())
        })
        .await
    }

    async fn claim_revalidations(
        &self,
        c: &RevalidationClaim,
    ) -> Result<Vec<IntegrationRow>, StoreError> {
        let c = c.clone();
        let limit = i64::try_from(c.limit).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let ids: Vec<i64> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT id FROM integrations
                     WHERE status IN {} AND op_id IS NULL
                     AND next_validation_at IS NOT NULL AND next_validation_at <= ?1
                     AND (revalidate_every_ms > 0 OR (revalidate_every_ms IS NULL AND ?2))
                     ORDER BY next_validation_at, id LIMIT ?3",
                    revalidated_statuses_sql()
                ))?;
                let rows =
                    stmt.query_map(params![c.now_ms, c.default_on, limit], |r| r.get(0))?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let op_id = format!("{}{id}", c.op_prefix);
                tx.execute(
                    "UPDATE integrations SET op_id = ?1, op_kind = ?2, op_owner = ?3, op_expires = ?4,
                        op_key_id = NULL, op_origin = ?1, op_input = NULL
                     WHERE id = ?5 AND op_id IS NULL",
                    params![op_id, VALIDATE, c.owner, c.expires_ms, id],
                )?;
                out.push(row_of(tx, id)?);
            }
            Ok(out)
        })
        .await
    }

    async fn finish_revalidation(
        &self,
        end: &RevalidationEnd,
    ) -> Result<IntegrationRow, StoreError> {
        let end = end.clone();
        self.write(move |tx| {
            let row = row_of(tx, end.id)?;
            let Some(op) = row.op.as_ref().filter(|op| op.op_id == end.op_id) else {
                return Err(StoreError::LeaseLost(end.op_id.clone()));
            };
            let to = transition(Some(row.status), end.event).map_err(StoreError::Transition)?;
            let now = now_ms();
            // The version guards status changes; a pass that keeps `enabled` is none.
            let bump = i64::from(to != row.status);
            tx.execute(
                "UPDATE integrations SET status = ?1, version = version + ?2, op_id = NULL,
                    op_kind = NULL, op_owner = NULL, op_expires = NULL, op_key_id = NULL,
                    op_origin = NULL, op_input = NULL, updated_at = ?3, validation_results = ?4,
                    next_validation_at = ?5
                 WHERE id = ?6",
                params![
                    to.as_str(),
                    bump,
                    now,
                    end.results,
                    end.next_validation_at,
                    row.id
                ],
            )?;
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
            )?;
            add_status_event(tx, row.id, &op.kind, Some(row.status), to, now)?;
            row_of(tx, row.id)
        })
        .await
    }

    async fn release_expired_revalidations(
        &self,
        now_ms: i64,
        except: &[String],
    ) -> Result<usize, StoreError> {
        let except = except.to_vec();
        self.write(move |tx| {
            let expired: Vec<(i64, String)> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT id, op_id FROM integrations
                     WHERE op_id IS NOT NULL AND op_kind IN {REVALIDATION_KINDS_SQL} AND op_expires < ?1"
                ))?;
                let rows = stmt.query_map([now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            let mut n = 0;
            for (id, op_id) in expired.into_iter().filter(|(_, op)| !except.contains(op)) {
                n += tx.execute(
                    "UPDATE integrations SET op_id = NULL, op_kind = NULL, op_owner = NULL,
                        op_expires = NULL, op_key_id = NULL, op_origin = NULL, op_input = NULL
                     WHERE id = ?1 AND op_id = ?2",
                    params![id, op_id],
                )?;
            }
            Ok(n)
        })
        .await
    }

    async fn begin_enable(
        &self,
        id: i64,
        expected_version: i64,
        lease: &OpLease,
    ) -> Result<IntegrationRow, StoreError> {
        let lease = lease.clone();
        self.write(move |tx| {
            let row = row_of(tx, id)?;
            transition(Some(row.status), Event::Enable).map_err(StoreError::Transition)?;
            check_version(&row, expected_version)?;
            if let Some(op) = &row.op {
                return Err(StoreError::LeaseHeld {
                    kind: op.kind.clone(),
                });
            }
            tx.execute(
                "UPDATE integrations SET op_id = ?1, op_kind = ?2, op_owner = ?3, op_expires = ?4,
                    op_key_id = ?5, op_origin = ?1, op_input = NULL
                 WHERE id = ?6 AND op_id IS NULL",
                params![
                    lease.op_id,
                    ENABLE,
                    lease.owner,
                    lease.expires_ms,
                    lease.key_id,
                    id
                ],
            )?;
            row_of(tx, id)
        })
        .await
    }

    async fn disable(
        &self,
        id: i64,
        expected_version: i64,
        key_id: Option<&str>,
    ) -> Result<IntegrationRow, StoreError> {
        let key_id = key_id.map(str::to_owned);
        self.write(move |tx| {
            let row = row_of(tx, id)?;
            let to =
                transition(Some(row.status), Event::Disable).map_err(StoreError::Transition)?;
            check_version(&row, expected_version)?;
            let now = now_ms();
            // In a settled status only a re-validation can hold the lease: it is dropped.
            tx.execute(
                "UPDATE integrations SET status = ?1, version = version + 1, op_id = NULL,
                    op_kind = NULL, op_owner = NULL, op_expires = NULL, op_key_id = NULL,
                    op_origin = NULL, op_input = NULL, updated_at = ?2, next_validation_at = NULL
                 WHERE id = ?3",
                params![to.as_str(), now, id],
            )?;
            let message = DISABLED_MESSAGE.replace("{id}", &id.to_string());
            add_history(
                tx,
                id,
                now,
                "disable",
                Some(row.status),
                Some(to),
                None,
                key_id.as_deref(),
                Some(&message),
            )?;
            add_status_event(tx, id, "disable", Some(row.status), to, now)?;
            row_of(tx, id)
        })
        .await
    }
}
