//! The [`Store`] trait on PostgreSQL: reads on any pooled connection, every
//! write one transaction.

use super::rows::{
    KEY_COLUMNS, account_holder, add_history, key_from_row, parse_status, row_to_integration,
};
use super::{PostgresStore, pg, transitions};
use crate::auth::ApiKey;
use crate::store::{
    Claim, Claimed, Finish, HistoryEntry, IntegrationRow, JournalEntry, LIST_COLUMNS, ListQuery,
    NewIntegration, SealedRow, StartOp, StepState, Store, StoreError,
};
use crate::util::{now_ms, rfc3339};
use async_trait::async_trait;
use junction_core::{Peer, Status};

static LIST_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM integrations WHERE id > $1
         AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR status = $3)
         ORDER BY id LIMIT $4",
        LIST_COLUMNS.replace("NULL", "NULL::bytea")
    )
});

impl PostgresStore {
    /// After a refusal for an account taken by a write the transaction could
    /// not see: the holder, read now.
    async fn holder_now(
        &self,
        type_name: &str,
        account_key: &str,
        except: Option<i64>,
    ) -> StoreError {
        let id = match self.client().await {
            Ok(c) => account_holder(&*c, type_name, account_key, except)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        StoreError::AccountTaken {
            id: id.unwrap_or(0),
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn describe(&self) -> String {
        self.inner.described.clone()
    }

    async fn get(&self, id: i64) -> Result<Option<IntegrationRow>, StoreError> {
        let c = self.client().await?;
        super::rows::get_row(&*c, id, false).await
    }

    async fn list_page(&self, q: &ListQuery) -> Result<Vec<IntegrationRow>, StoreError> {
        let c = self.client().await?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let status = q.status.map(Status::as_str);
        let rows = c
            .query(
                LIST_SQL.as_str(),
                &[&q.after, &q.type_name, &status, &limit],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(row_to_integration).collect()
    }

    async fn peers(&self, type_name: &str) -> Result<Vec<(Peer, i64)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, status, config, version FROM integrations WHERE type = $1 AND status <> 'deleted' ORDER BY id",
                &[&type_name],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get(1).map_err(pg)?;
                let config: String = r.try_get(2).map_err(pg)?;
                Ok((
                    Peer {
                        id: r.try_get(0).map_err(pg)?,
                        status: parse_status(&status)?,
                        config: serde_json::from_str(&config).unwrap_or(serde_json::Value::Null),
                    },
                    r.try_get(3).map_err(pg)?,
                ))
            })
            .collect()
    }

    async fn insert(&self, new: NewIntegration) -> Result<IntegrationRow, StoreError> {
        let outcome = {
            let mut c = self.client().await?;
            let tx = c.transaction().await.map_err(pg)?;
            match transitions::insert(&tx, &new).await? {
                Ok(row) => {
                    tx.commit().await.map_err(pg)?;
                    self.events_committed();
                    Ok(row)
                }
                Err(refused) => Err(refused),
            }
        };
        match outcome {
            Err(StoreError::AccountTaken { id: 0 }) => Err(self
                .holder_now(&new.type_name, &new.account_key, None)
                .await),
            other => other,
        }
    }

    async fn start_operation(&self, start: StartOp) -> Result<IntegrationRow, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = transitions::start_operation(&tx, &start).await?;
        tx.commit().await.map_err(pg)?;
        self.events_committed();
        Ok(row)
    }

    async fn record_validation(
        &self,
        id: i64,
        op_id: &str,
        results: &str,
        key_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let now = now_ms();
        let changed = tx
            .execute(
                "UPDATE integrations SET validation_results = $1, updated_at = $2 WHERE id = $3 AND op_id = $4",
                &[&results, &now, &id, &op_id],
            )
            .await
            .map_err(pg)?;
        if changed != 1 {
            return Err(StoreError::LeaseLost(op_id.to_owned()));
        }
        add_history(
            &tx,
            id,
            now,
            "validation",
            None,
            None,
            Some(results),
            key_id,
            None,
        )
        .await?;
        tx.commit().await.map_err(pg)
    }

    async fn renew_lease(&self, id: i64, op_id: &str, expires_ms: i64) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let changed = c
            .execute(
                "UPDATE integrations SET op_expires = $1 WHERE id = $2 AND op_id = $3",
                &[&expires_ms, &id, &op_id],
            )
            .await
            .map_err(pg)?;
        Ok(changed == 1)
    }

    async fn finish(&self, f: Finish) -> Result<IntegrationRow, StoreError> {
        let outcome = {
            let mut c = self.client().await?;
            let tx = c.transaction().await.map_err(pg)?;
            match transitions::finish(&tx, &f).await {
                Ok(row) => {
                    tx.commit().await.map_err(pg)?;
                    self.events_committed();
                    Ok(row)
                }
                Err(e) => Err(e),
            }
        };
        match outcome {
            Err(StoreError::AccountTaken { id: 0 }) => {
                let key = f.account_key.clone().unwrap_or_default();
                let type_name = self
                    .get(f.id)
                    .await?
                    .map(|r| r.type_name)
                    .unwrap_or_default();
                Err(self.holder_now(&type_name, &key, Some(f.id)).await)
            }
            other => other,
        }
    }

    async fn claim_expired(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let claimed = transitions::claim_expired(&tx, claim).await?;
        tx.commit().await.map_err(pg)?;
        Ok(claimed)
    }

    async fn journal_write(
        &self,
        id: i64,
        fence: &str,
        origin: &str,
        e: &JournalEntry,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        // FOR SHARE: a take-over committing meanwhile is waited for, then seen.
        let n = c
            .execute(
                "INSERT INTO journal (origin, plan_no, step_no, integration_id, step_id, state, apply, undo, at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
                 WHERE EXISTS (SELECT 1 FROM integrations WHERE id = $4 AND op_id = $10 FOR SHARE)
                 ON CONFLICT (origin, plan_no, step_no) DO UPDATE SET state = excluded.state, at = excluded.at",
                &[
                    &origin,
                    &e.plan,
                    &e.step,
                    &id,
                    &e.step_id,
                    &e.state.as_str(),
                    &e.apply,
                    &e.undo,
                    &now_ms(),
                    &fence,
                ],
            )
            .await
            .map_err(pg)?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost(fence.to_owned()))
        }
    }

    async fn journal(&self, origin: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT plan_no, step_no, step_id, state, apply, undo FROM journal
                 WHERE origin = $1 ORDER BY plan_no, step_no",
                &[&origin],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                let state: String = r.get(3);
                Ok(JournalEntry {
                    plan: r.get(0),
                    step: r.get(1),
                    step_id: r.get(2),
                    state: StepState::parse(&state).ok_or_else(|| {
                        StoreError::Backend(format!("unknown journal state {state}"))
                    })?,
                    apply: r.get(4),
                    undo: r.get(5),
                })
            })
            .collect()
    }

    async fn history(&self, id: i64) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        let c = self.client().await?;
        let exists = c
            .query_opt("SELECT id FROM integrations WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = c
            .query(
                "SELECT seq, at, event, from_status, to_status, validation_results, key_id, message
                 FROM history WHERE integration_id = $1 ORDER BY seq",
                &[&id],
            )
            .await
            .map_err(pg)?;
        let entries = rows
            .iter()
            .map(|r| {
                let results: Option<String> = r.get(5);
                HistoryEntry {
                    seq: r.get(0),
                    at: rfc3339(r.get(1)),
                    event: r.get(2),
                    from: r.get(3),
                    to: r.get(4),
                    validation_results: results.and_then(|s| serde_json::from_str(&s).ok()),
                    key_id: r.get(6),
                    message: r.get(7),
                }
            })
            .collect();
        Ok(Some(entries))
    }

    async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT status, COUNT(*) FROM integrations GROUP BY status",
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| Ok((parse_status(r.get(0))?, r.get(1))))
            .collect()
    }

    async fn insert_key(&self, key: &ApiKey, hash: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO api_keys (id, hash, role, name, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                &key.id,
                &hash,
                &key.role.as_str(),
                &key.name,
                &key.created_at,
                &key.expires_at,
                &key.revoked_at,
            ],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn find_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = $1");
        match c.query_opt(sql.as_str(), &[&hash]).await.map_err(pg)? {
            Some(r) => key_from_row(&r),
            None => Ok(None),
        }
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
        let rows = c.query(sql.as_str(), &[]).await.map_err(pg)?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(k) = key_from_row(r)? {
                keys.push(k);
            }
        }
        Ok(keys)
    }

    async fn count_keys(&self) -> Result<i64, StoreError> {
        let c = self.client().await?;
        let r = c
            .query_one("SELECT COUNT(*) FROM api_keys", &[])
            .await
            .map_err(pg)?;
        Ok(r.get(0))
    }

    async fn revoke_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
                &[&at_ms, &id],
            )
            .await
            .map_err(pg)?;
        Ok(n == 1)
    }

    async fn sealed_page(&self, after: i64, limit: usize) -> Result<Vec<SealedRow>, StoreError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                "SELECT id, secrets, op_input FROM integrations WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )
            .await
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|r| SealedRow {
                id: r.get(0),
                secrets: r.get(1),
                input: r.get(2),
            })
            .collect())
    }

    async fn reseal(&self, old: &SealedRow, new: &SealedRow) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE integrations SET secrets = $1, op_input = $2
                 WHERE id = $3 AND secrets IS NOT DISTINCT FROM $4 AND op_input IS NOT DISTINCT FROM $5",
                &[&new.secrets, &new.input, &old.id, &old.secrets, &old.input],
            )
            .await
            .map_err(pg)?;
        Ok(n == 1)
    }

    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .await
                .map_err(pg)?
                .map(|r| r.get(0)),
        )
    }

    async fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }
}
