//! The [`Store`] trait on SQLite: reads on the reader connections, every
//! write one IMMEDIATE transaction on the writer.

use super::rows::{
    KEY_COLUMNS, add_history, get_row, key_from_row, parse_status, row_to_integration,
};
use super::{SqliteStore, transitions};
use crate::auth::ApiKey;
use crate::store::{
    Claim, Claimed, Finish, HistoryEntry, IntegrationRow, ListQuery, NewIntegration, StartOp,
    Store, StoreError,
};
use crate::store::{JournalEntry, LIST_COLUMNS, SealedRow, StepState};
use crate::util::{now_ms, rfc3339};
use async_trait::async_trait;
use junction_core::{Peer, Status};
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Store for SqliteStore {
    fn single_writer(&self) -> bool {
        true
    }

    fn read_generation(&self) -> Option<u64> {
        self.inner.cache().map(super::cache::RowCache::generation)
    }

    async fn get(&self, id: i64) -> Result<Option<IntegrationRow>, StoreError> {
        let Some(cache) = self.inner.cache() else {
            return self.read_quick(move |c| get_row(c, id)).await;
        };
        if let Some(row) = cache.get(id) {
            return Ok(Some(row));
        }
        let generation = cache.generation();
        let row = self.read_quick(move |c| get_row(c, id)).await?;
        if let Some(r) = &row {
            cache.insert(generation, r);
        }
        Ok(row)
    }

    fn describe(&self) -> String {
        format!("SQLite at {}", self.path().display())
    }

    async fn list_page(&self, q: &ListQuery) -> Result<Vec<IntegrationRow>, StoreError> {
        let q = q.clone();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {LIST_COLUMNS} FROM integrations WHERE id > ?1
                 AND (?2 IS NULL OR type = ?2) AND (?3 IS NULL OR status = ?3)
                 ORDER BY id LIMIT ?4"
            ))?;
            let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(
                params![q.after, q.type_name, q.status.map(Status::as_str), limit],
                row_to_integration,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn peers(&self, type_name: &str) -> Result<Vec<(Peer, i64)>, StoreError> {
        let type_name = type_name.to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, status, config, version FROM integrations WHERE type = ?1 AND status <> 'deleted' ORDER BY id",
            )?;
            let rows = stmt.query_map([type_name], |r| {
                let status: String = r.get(1)?;
                let config: String = r.get(2)?;
                Ok((
                    Peer {
                        id: r.get(0)?,
                        status: parse_status(&status)?,
                        config: serde_json::from_str(&config).unwrap_or(serde_json::Value::Null),
                    },
                    r.get(3)?,
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn insert(&self, new: NewIntegration) -> Result<IntegrationRow, StoreError> {
        self.write(move |tx| transitions::insert(tx, &new)).await
    }

    async fn start_operation(&self, start: StartOp) -> Result<IntegrationRow, StoreError> {
        self.write(move |tx| transitions::start_operation(tx, &start))
            .await
    }

    async fn record_validation(
        &self,
        id: i64,
        op_id: &str,
        results: &str,
        key_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let (op_id, results, key_id) = (
            op_id.to_owned(),
            results.to_owned(),
            key_id.map(str::to_owned),
        );
        self.write(move |tx| {
            let now = now_ms();
            let changed = tx.execute(
                "UPDATE integrations SET validation_results = ?1, updated_at = ?2 WHERE id = ?3 AND op_id = ?4",
                params![results, now, id, op_id],
            )?;
            if changed != 1 {
                return Err(StoreError::LeaseLost(op_id));
            }
            add_history(tx, id, now, "validation", None, None, Some(&results), key_id.as_deref(), None)
        })
        .await
    }

    async fn renew_lease(&self, id: i64, op_id: &str, expires_ms: i64) -> Result<bool, StoreError> {
        let op_id = op_id.to_owned();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE integrations SET op_expires = ?1 WHERE id = ?2 AND op_id = ?3",
                params![expires_ms, id, op_id],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn finish(&self, f: Finish) -> Result<IntegrationRow, StoreError> {
        self.write(move |tx| transitions::finish(tx, &f)).await
    }

    async fn claim_expired(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError> {
        let claim = claim.clone();
        self.write(move |tx| transitions::claim_expired(tx, &claim))
            .await
    }

    async fn journal_write(
        &self,
        id: i64,
        fence: &str,
        origin: &str,
        e: &JournalEntry,
    ) -> Result<(), StoreError> {
        let (fence, origin, e) = (fence.to_owned(), origin.to_owned(), e.clone());
        self.write(move |tx| {
            let holds: Option<i64> = tx
                .query_row(
                    "SELECT id FROM integrations WHERE id = ?1 AND op_id = ?2",
                    params![id, fence],
                    |r| r.get(0),
                )
                .optional()?;
            if holds.is_none() {
                return Err(StoreError::LeaseLost(fence));
            }
            tx.execute(
                "INSERT INTO journal (origin, plan_no, step_no, integration_id, step_id, state, apply, undo, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (origin, plan_no, step_no) DO UPDATE SET state = excluded.state, at = excluded.at",
                params![origin, e.plan, e.step, id, e.step_id, e.state.as_str(), e.apply, e.undo, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    async fn journal(&self, origin: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let origin = origin.to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT plan_no, step_no, step_id, state, apply, undo FROM journal
                 WHERE origin = ?1 ORDER BY plan_no, step_no",
            )?;
            let rows = stmt.query_map([origin], |r| {
                let state: String = r.get(3)?;
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, state, r.get(4)?, r.get(5)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (plan, step, step_id, state, apply, undo) = row?;
                let state = StepState::parse(&state)
                    .ok_or_else(|| StoreError::Backend(format!("unknown journal state {state}")))?;
                out.push(JournalEntry {
                    plan,
                    step,
                    step_id,
                    state,
                    apply,
                    undo,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn history(&self, id: i64) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        self.read(move |c| {
            let exists: Option<i64> = c
                .query_row("SELECT id FROM integrations WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, event, from_status, to_status, validation_results, key_id, message
                 FROM history WHERE integration_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id], |r| {
                let results: Option<String> = r.get(5)?;
                Ok(HistoryEntry {
                    seq: r.get(0)?,
                    at: rfc3339(r.get(1)?),
                    event: r.get(2)?,
                    from: r.get(3)?,
                    to: r.get(4)?,
                    validation_results: results.and_then(|s| serde_json::from_str(&s).ok()),
                    key_id: r.get(6)?,
                    message: r.get(7)?,
                })
            })?;
            Ok(Some(rows.collect::<Result<Vec<_>, _>>()?))
        })
        .await
    }

    async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT status, COUNT(*) FROM integrations GROUP BY status")?;
            let rows = stmt.query_map([], |r| {
                let s: String = r.get(0)?;
                Ok((parse_status(&s)?, r.get(1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn insert_key(&self, key: &ApiKey, hash: &str) -> Result<(), StoreError> {
        let (key, hash) = (key.clone(), hash.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO api_keys (id, hash, role, name, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![key.id, hash, key.role.as_str(), key.name, key.created_at, key.expires_at, key.revoked_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash.to_owned();
        self.read_quick(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?1"
            ))?
            .query_row([hash], key_from_row)
            .optional()?
            .flatten())
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([], key_from_row)?;
            Ok(rows.filter_map(|r| r.ok().flatten()).collect())
        })
        .await
    }

    async fn sealed_page(&self, after: i64, limit: usize) -> Result<Vec<SealedRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, secrets, op_input FROM integrations WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, limit], |r| {
                Ok(SealedRow {
                    id: r.get(0)?,
                    secrets: r.get(1)?,
                    input: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn reseal(&self, old: &SealedRow, new: &SealedRow) -> Result<bool, StoreError> {
        let (old, new) = (old.clone(), new.clone());
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE integrations SET secrets = ?1, op_input = ?2
                 WHERE id = ?3 AND secrets IS ?4 AND op_input IS ?5",
                params![new.secrets, new.input, old.id, old.secrets, old.input],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    async fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
                params![at_ms, id],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn count_keys(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM api_keys", [], |r| r.get(0))?))
            .await
    }
}
