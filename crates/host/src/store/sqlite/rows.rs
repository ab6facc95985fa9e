//! Rows to values and the statements every transaction shares: reading an
//! integration, adding a history line, finding an account's holder.

use crate::auth::{ApiKey, Role};
use crate::store::ROW_COLUMNS;
use crate::store::{IntegrationRow, OpLease, StoreError};
use junction_core::Status;
use rusqlite::{Connection, OptionalExtension, Row, params};

pub fn parse_status(s: &str) -> rusqlite::Result<Status> {
    Status::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown status {s}").into(),
        )
    })
}

pub fn row_to_integration(r: &Row<'_>) -> rusqlite::Result<IntegrationRow> {
    let status: String = r.get(4)?;
    let op_id: Option<String> = r.get(10)?;
    let op = match op_id {
        Some(op_id) => Some(OpLease {
            origin: r
                .get::<_, Option<String>>(17)?
                .unwrap_or_else(|| op_id.clone()),
            op_id,
            kind: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
            owner: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
            expires_ms: r.get::<_, Option<i64>>(13)?.unwrap_or(0),
            key_id: r.get(14)?,
        }),
        None => None,
    };
    Ok(IntegrationRow {
        id: r.get(0)?,
        type_name: r.get(1)?,
        account_key: r.get(2)?,
        auto_bootstrap: r.get(3)?,
        status: parse_status(&status)?,
        version: r.get(5)?,
        config: r.get(6)?,
        secrets: r.get(7)?,
        bootstrap_version: r.get(8)?,
        validation_results: r.get(9)?,
        op,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        leftovers: r.get(18)?,
        revalidate: crate::store::recurring::Revalidate::from_column(r.get(19)?),
        next_validation_at: r.get(20)?,
    })
}

static GET_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {ROW_COLUMNS} FROM integrations WHERE id = ?1"));

pub fn get_row(conn: &Connection, id: i64) -> Result<Option<IntegrationRow>, StoreError> {
    Ok(conn
        .prepare_cached(&GET_SQL)?
        .query_row([id], row_to_integration)
        .optional()?)
}

#[allow(clippy::too_many_arguments)]
pub fn add_history(
    tx: &Connection,
    id: i64,
    at: i64,
    event: &str,
    from: Option<Status>,
    to: Option<Status>,
    results: Option<&str>,
    key_id: Option<&str>,
    message: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO history (integration_id, at, event, from_status, to_status, validation_results, key_id, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            at,
            event,
            from.map(Status::as_str),
            to.map(Status::as_str),
            results,
            key_id,
            message
        ],
    )?;
    Ok(())
}

pub fn account_holder(
    tx: &Connection,
    type_name: &str,
    account_key: &str,
    except: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT id FROM integrations WHERE type = ?1 AND account_key = ?2 AND status <> 'deleted'
             AND id IS NOT ?3 LIMIT 1",
            params![type_name, account_key, except],
            |r| r.get(0),
        )
        .optional()?)
}

/// The columns [`key_from_row`] reads.
pub const KEY_COLUMNS: &str = "id, role, name, created_at, expires_at, revoked_at";

pub fn key_from_row(r: &Row<'_>) -> rusqlite::Result<Option<ApiKey>> {
    let role: String = r.get(1)?;
    Ok(Role::parse(&role).map(|role| ApiKey {
        id: r.get(0).unwrap_or_default(),
        role,
        name: r.get(2).unwrap_or_default(),
        created_at: r.get(3).unwrap_or_default(),
        expires_at: r.get(4).unwrap_or_default(),
        revoked_at: r.get(5).unwrap_or_default(),
    }))
}
