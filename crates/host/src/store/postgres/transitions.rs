//! The transactions that change an integration's status: insert (create
//! starts), start an operation, finish one, claim expired leases. Each locks
//! what it changes; the partial unique index has the last word on accounts.

use super::events::add_status_event;
use super::rows::{account_holder, add_history, get_row};
use super::{is_unique_violation, pg};
use crate::store::{
    Claim, Claimed, Finish, IntegrationRow, NewIntegration, OpLease, StartOp, StoreError,
    takeover_message,
};
use crate::util::now_ms;
use junction_core::{Event, Status, transition};
use tokio_postgres::Transaction;

async fn prior_idempotent(
    tx: &Transaction<'_>,
    key: &str,
    hash: &str,
) -> Result<Option<StoreError>, StoreError> {
    let prior = tx
        .query_opt(
            "SELECT integration_id, request_hash FROM idempotency WHERE key = $1",
            &[&key],
        )
        .await
        .map_err(pg)?;
    Ok(prior.map(|r| StoreError::IdempotentReplay {
        id: r.get(0),
        same_request: r.get::<_, String>(1) == hash,
    }))
}

/// A new integration in `creating`, holding its create's lease. `Ok(Err(_))`
/// is a refusal after which the transaction is rolled back.
pub async fn insert(
    tx: &Transaction<'_>,
    new: &NewIntegration,
) -> Result<Result<IntegrationRow, StoreError>, StoreError> {
    if let Some((key, hash)) = &new.idempotency {
        if let Some(replay) = prior_idempotent(tx, key, hash).await? {
            return Ok(Err(replay));
        }
    }
    let now = now_ms();
    let status = transition(None, Event::StartCreate).map_err(StoreError::Transition)?;
    let inserted = tx
        .query_opt(
            "INSERT INTO integrations (type, account_key, auto_bootstrap, status, version, config, secrets,
                bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id,
                created_at, updated_at, op_origin, op_input, revalidate_every_ms)
             VALUES ($1, $2, $3, $4, 1, $5, $6, 0, $7, $8, $9, $10, $11, $12, $13, $13, $8, $14, $15)
             ON CONFLICT (type, account_key) WHERE status <> 'deleted' DO NOTHING
             RETURNING id",
            &[
                &new.type_name,
                &new.account_key,
                &new.auto_bootstrap,
                &status.as_str(),
                &new.config,
                &new.secrets,
                &new.validation_results,
                &new.lease.op_id,
                &new.lease.kind,
                &new.lease.owner,
                &new.lease.expires_ms,
                &new.lease.key_id,
                &now,
                &new.input,
                &new.revalidate.to_column(),
            ],
        )
        .await
        .map_err(pg)?;
    let Some(inserted) = inserted else {
        // The same request from another host may have just committed.
        if let Some((key, hash)) = &new.idempotency {
            if let Some(replay) = prior_idempotent(tx, key, hash).await? {
                return Ok(Err(replay));
            }
        }
        let id = account_holder(tx, &new.type_name, &new.account_key, None)
            .await?
            .unwrap_or(0);
        return Ok(Err(StoreError::AccountTaken { id }));
    };
    let id: i64 = inserted.get(0);
    if let Some((key, hash)) = &new.idempotency {
        let n = tx
            .execute(
                "INSERT INTO idempotency (key, request_hash, integration_id, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
                &[key, hash, &id, &now],
            )
            .await
            .map_err(pg)?;
        if n != 1 {
            if let Some(replay) = prior_idempotent(tx, key, hash).await? {
                return Ok(Err(replay));
            }
        }
    }
    add_history(
        tx,
        id,
        now,
        "create",
        None,
        Some(status),
        None,
        new.lease.key_id.as_deref(),
        None,
    )
    .await?;
    add_status_event(tx, id, &new.lease.kind, None, status, now).await?;
    Ok(Ok(get_row(tx, id, false)
        .await?
        .ok_or(StoreError::NotFound(id))?))
}

/// An operation starts on a stored integration.
pub async fn start_operation(
    tx: &Transaction<'_>,
    start: &StartOp,
) -> Result<IntegrationRow, StoreError> {
    let row = get_row(tx, start.id, true)
        .await?
        .ok_or(StoreError::NotFound(start.id))?;
    let to = transition(Some(row.status), start.event).map_err(StoreError::Transition)?;
    if let Some(expected) = start.expected_version {
        if expected != row.version {
            return Err(StoreError::VersionConflict {
                expected,
                found: row.version,
            });
        }
    }
    if let Some(key) = &start.new_account_key {
        if let Some(id) = account_holder(tx, &row.type_name, key, Some(row.id)).await? {
            return Err(StoreError::AccountTaken { id });
        }
    }
    let now = now_ms();
    tx.execute(
        "UPDATE integrations SET status = $1, version = version + 1, op_id = $2, op_kind = $3,
            op_owner = $4, op_expires = $5, op_key_id = $6, updated_at = $7,
            validation_results = COALESCE($8, validation_results), op_origin = $2, op_input = $9,
            revalidate_every_ms = CASE WHEN $11 THEN $12 ELSE revalidate_every_ms END
         WHERE id = $10",
        &[
            &to.as_str(),
            &start.lease.op_id,
            &start.lease.kind,
            &start.lease.owner,
            &start.lease.expires_ms,
            &start.lease.key_id,
            &now,
            &start.validation_results,
            &start.input,
            &row.id,
            &start.revalidate.is_some(),
            &start.revalidate.and_then(|r| r.to_column()),
        ],
    )
    .await
    .map_err(pg)?;
    add_history(
        tx,
        row.id,
        now,
        &start.lease.kind,
        Some(row.status),
        Some(to),
        None,
        start.lease.key_id.as_deref(),
        None,
    )
    .await?;
    add_status_event(tx, row.id, &start.lease.kind, Some(row.status), to, now).await?;
    get_row(tx, row.id, false)
        .await?
        .ok_or(StoreError::NotFound(row.id))
}

/// An operation ends: its outcome's transition, and what it leaves.
pub async fn finish(tx: &Transaction<'_>, f: &Finish) -> Result<IntegrationRow, StoreError> {
    let row = get_row(tx, f.id, true)
        .await?
        .ok_or(StoreError::NotFound(f.id))?;
    let Some(op) = row.op.as_ref().filter(|op| op.op_id == f.op_id) else {
        return Err(StoreError::LeaseLost(f.op_id.clone()));
    };
    let to = f.status_after(row.status)?;
    if let Some(key) = &f.account_key {
        if key != &row.account_key {
            if let Some(id) = account_holder(tx, &row.type_name, key, Some(row.id)).await? {
                return Err(StoreError::AccountTaken { id });
            }
        }
    }
    let secrets = f.secrets_after(&row.secrets);
    let leftovers = f.leftovers_after(&row.leftovers);
    let bootstrap_version = f.bootstrap_version.map(i64::from);
    let now = now_ms();
    let updated = tx
        .execute(
            "UPDATE integrations SET status = $1, version = version + 1, op_id = NULL, op_kind = NULL,
                op_owner = NULL, op_expires = NULL, op_key_id = NULL, op_origin = NULL, op_input = NULL,
                updated_at = $2,
                validation_results = COALESCE($3, validation_results), config = COALESCE($4, config),
                secrets = $5, account_key = COALESCE($6, account_key),
                auto_bootstrap = COALESCE($7, auto_bootstrap),
                bootstrap_version = COALESCE($8, bootstrap_version), leftovers = $9,
                next_validation_at = NULL
             WHERE id = $10",
            &[
                &to.as_str(),
                &now,
                &f.validation_results,
                &f.config,
                &secrets,
                &f.account_key,
                &f.auto_bootstrap,
                &bootstrap_version,
                &leftovers,
                &row.id,
            ],
        )
        .await;
    match updated {
        Ok(_) => {}
        // Another host's integration took the account meanwhile: the index decides.
        Err(e) if is_unique_violation(&e) => return Err(StoreError::AccountTaken { id: 0 }),
        Err(e) => return Err(pg(e)),
    }
    add_history(
        tx,
        row.id,
        now,
        f.event,
        Some(row.status),
        Some(to),
        f.validation_results.as_deref(),
        op.key_id.as_deref(),
        f.message.as_deref(),
    )
    .await?;
    add_status_event(tx, row.id, &op.kind, Some(row.status), to, now).await?;
    get_row(tx, row.id, false)
        .await?
        .ok_or(StoreError::NotFound(row.id))
}

/// Takes over expired leases: rows another host is claiming are skipped
/// (`SKIP LOCKED`), each claimed one gets a new operation id, this host as
/// owner, and a history line.
pub async fn claim_expired(tx: &Transaction<'_>, c: &Claim) -> Result<Vec<Claimed>, StoreError> {
    let limit = i64::try_from(c.limit).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "WITH expired AS (
                SELECT id, op_id, op_origin, op_kind, op_owner, op_expires, op_key_id, status
                FROM integrations
                WHERE op_id IS NOT NULL AND op_expires < $1 AND NOT (op_id = ANY($2))
                    AND op_kind NOT IN ('validate', 'enable')
                ORDER BY id LIMIT $3
                FOR UPDATE SKIP LOCKED)
             UPDATE integrations i SET op_id = $4 || i.id::text, op_owner = $5, op_expires = $6
             FROM expired e WHERE i.id = e.id
             RETURNING e.id, e.op_id, e.op_origin, e.op_kind, e.op_owner, e.op_expires, e.op_key_id, e.status",
            &[&c.now_ms, &c.except, &limit, &c.op_prefix, &c.owner, &c.expires_ms],
        )
        .await
        .map_err(pg)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.get(0);
        let op_id: String = r.get(1);
        let previous = OpLease {
            origin: r
                .get::<_, Option<String>>(2)
                .unwrap_or_else(|| op_id.clone()),
            op_id,
            kind: r.get::<_, Option<String>>(3).unwrap_or_default(),
            owner: r.get::<_, Option<String>>(4).unwrap_or_default(),
            expires_ms: r.get::<_, Option<i64>>(5).unwrap_or(0),
            key_id: r.get(6),
        };
        let status = Status::parse(r.get(7)).ok_or_else(|| {
            StoreError::Backend("PostgreSQL: a stored status could not be read".into())
        })?;
        add_history(
            tx,
            id,
            c.now_ms,
            "takeover",
            Some(status),
            Some(status),
            None,
            previous.key_id.as_deref(),
            Some(&takeover_message(&previous, &c.owner)),
        )
        .await?;
        let row = get_row(tx, id, false)
            .await?
            .ok_or(StoreError::NotFound(id))?;
        let input: Option<Vec<u8>> = tx
            .query_one("SELECT op_input FROM integrations WHERE id = $1", &[&id])
            .await
            .map_err(pg)?
            .get(0);
        out.push(Claimed {
            row,
            previous,
            input,
        });
    }
    out.sort_by_key(|c| c.row.id);
    Ok(out)
}
