//! The transactions that change an integration's status: insert (create
//! starts), start an operation, finish one. Each checks the transition, the
//! version or lease, and the platform account, and adds its history line.

use super::events::add_status_event;
use super::rows::{account_holder, add_history, get_row};
use crate::store::{Claim, Claimed, Finish, IntegrationRow, NewIntegration, StartOp, StoreError};
use crate::util::now_ms;
use junction_core::{Event, transition};
use rusqlite::{Connection, OptionalExtension, params};

/// A new integration in `creating`, holding its create's lease.
pub fn insert(tx: &Connection, new: &NewIntegration) -> Result<IntegrationRow, StoreError> {
    if let Some((key, hash)) = &new.idempotency {
        let prior: Option<(i64, String)> = tx
            .query_row(
                "SELECT integration_id, request_hash FROM idempotency WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, prior_hash)) = prior {
            return Err(StoreError::IdempotentReplay {
                id,
                same_request: &prior_hash == hash,
            });
        }
    }
    if let Some(id) = account_holder(tx, &new.type_name, &new.account_key, None)? {
        return Err(StoreError::AccountTaken { id });
    }
    let now = now_ms();
    let status = transition(None, Event::StartCreate).map_err(StoreError::Transition)?;
    tx.execute(
        "INSERT INTO integrations (type, account_key, auto_bootstrap, status, version, config, secrets,
            bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id,
            created_at, updated_at, op_origin, op_input, revalidate_every_ms)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?8, ?14, ?15)",
        params![
            new.type_name,
            new.account_key,
            new.auto_bootstrap,
            status.as_str(),
            new.config,
            new.secrets,
            new.validation_results,
            new.lease.op_id,
            new.lease.kind,
            new.lease.owner,
            new.lease.expires_ms,
            new.lease.key_id,
            now,
            new.input,
            new.revalidate.to_column()
        ],
    )?;
    let id = tx.last_insert_rowid();
    if let Some((key, hash)) = &new.idempotency {
        tx.execute(
            "INSERT INTO idempotency (key, request_hash, integration_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![key, hash, id, now],
        )?;
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
    )?;
    add_status_event(tx, id, &new.lease.kind, None, status, now)?;
    get_row(tx, id)?.ok_or(StoreError::NotFound(id))
}

/// An operation starts on a stored integration.
pub fn start_operation(tx: &Connection, start: &StartOp) -> Result<IntegrationRow, StoreError> {
    let row = get_row(tx, start.id)?.ok_or(StoreError::NotFound(start.id))?;
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
        if let Some(id) = account_holder(tx, &row.type_name, key, Some(row.id))? {
            return Err(StoreError::AccountTaken { id });
        }
    }
    let now = now_ms();
    let changed = tx.execute(
        "UPDATE integrations SET status = ?1, version = version + 1, op_id = ?2, op_kind = ?3,
            op_owner = ?4, op_expires = ?5, op_key_id = ?6, updated_at = ?7,
            validation_results = COALESCE(?8, validation_results), op_origin = ?2, op_input = ?11,
            revalidate_every_ms = CASE WHEN ?12 THEN ?13 ELSE revalidate_every_ms END
         WHERE id = ?9 AND version = ?10",
        params![
            to.as_str(),
            start.lease.op_id,
            start.lease.kind,
            start.lease.owner,
            start.lease.expires_ms,
            start.lease.key_id,
            now,
            start.validation_results,
            row.id,
            row.version,
            start.input,
            start.revalidate.is_some(),
            start.revalidate.and_then(|r| r.to_column())
        ],
    )?;
    if changed != 1 {
        return Err(StoreError::VersionConflict {
            expected: row.version,
            found: row.version + 1,
        });
    }
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
    )?;
    add_status_event(tx, row.id, &start.lease.kind, Some(row.status), to, now)?;
    get_row(tx, row.id)?.ok_or(StoreError::NotFound(row.id))
}

/// An operation ends: its outcome's transition, and what it leaves.
pub fn finish(tx: &Connection, f: &Finish) -> Result<IntegrationRow, StoreError> {
    let row = get_row(tx, f.id)?.ok_or(StoreError::NotFound(f.id))?;
    let op = row.op.as_ref().filter(|op| op.op_id == f.op_id);
    let Some(op) = op else {
        return Err(StoreError::LeaseLost(f.op_id.clone()));
    };
    let to = f.status_after(row.status)?;
    if let Some(key) = &f.account_key {
        if key != &row.account_key {
            if let Some(id) = account_holder(tx, &row.type_name, key, Some(row.id))? {
                return Err(StoreError::AccountTaken { id });
            }
        }
    }
    let secrets = f.secrets_after(&row.secrets);
    let leftovers = f.leftovers_after(&row.leftovers);
    let now = now_ms();
    tx.execute(
        "UPDATE integrations SET status = ?1, version = version + 1, op_id = NULL, op_kind = NULL,
            op_owner = NULL, op_expires = NULL, op_key_id = NULL, op_origin = NULL, op_input = NULL,
            updated_at = ?2,
            validation_results = COALESCE(?3, validation_results), config = COALESCE(?4, config),
            secrets = ?5, account_key = COALESCE(?6, account_key),
            auto_bootstrap = COALESCE(?7, auto_bootstrap),
            bootstrap_version = COALESCE(?8, bootstrap_version), leftovers = ?10,
            next_validation_at = NULL
         WHERE id = ?9",
        params![
            to.as_str(),
            now,
            f.validation_results,
            f.config,
            secrets,
            f.account_key,
            f.auto_bootstrap,
            f.bootstrap_version,
            row.id,
            leftovers
        ],
    )?;
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
    )?;
    add_status_event(tx, row.id, &op.kind, Some(row.status), to, now)?;
    get_row(tx, row.id)?.ok_or(StoreError::NotFound(row.id))
}

/// Takes over the expired leases (the single writer makes this atomic): each
/// gets a new operation id, this host as owner, and a history line.
pub fn claim_expired(tx: &Connection, c: &Claim) -> Result<Vec<Claimed>, StoreError> {
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT id, op_id FROM integrations WHERE op_id IS NOT NULL AND op_expires < ?1
                 AND op_kind NOT IN {} ORDER BY id",
            crate::store::recurring::REVALIDATION_KINDS_SQL
        ))?;
        let rows = stmt.query_map([c.now_ms], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut ids = Vec::new();
        for r in rows {
            let (id, op) = r?;
            if !c.except.contains(&op) {
                ids.push(id);
            }
            if ids.len() >= c.limit {
                break;
            }
        }
        ids
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(before) = get_row(tx, id)? else {
            continue;
        };
        let Some(previous) = before.op.clone() else {
            continue;
        };
        let op_id = format!("{}{id}", c.op_prefix);
        tx.execute(
            "UPDATE integrations SET op_id = ?1, op_owner = ?2, op_expires = ?3 WHERE id = ?4 AND op_id = ?5",
            params![op_id, c.owner, c.expires_ms, id, previous.op_id],
        )?;
        add_history(
            tx,
            id,
            c.now_ms,
            "takeover",
            Some(before.status),
            Some(before.status),
            None,
            previous.key_id.as_deref(),
            Some(&crate::store::takeover_message(&previous, &c.owner)),
        )?;
        let row = get_row(tx, id)?.ok_or(StoreError::NotFound(id))?;
        let input = tx.query_row(
            "SELECT op_input FROM integrations WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        out.push(Claimed {
            row,
            previous,
            input,
        });
    }
    Ok(out)
}
