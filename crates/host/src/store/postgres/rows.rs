//! Rows to values, and the statements the transactions share: reading an
//! integration (optionally locking it), adding a history line, finding an
//! account's holder.

use super::pg;
use crate::auth::{ApiKey, Role};
use crate::store::ROW_COLUMNS;
use crate::store::{IntegrationRow, OpLease, StoreError};
use junction_core::Status;
use tokio_postgres::{GenericClient, Row};

fn conversion(what: &str) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: a stored {what} could not be read"))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(pg)
}

pub fn parse_status(s: &str) -> Result<Status, StoreError> {
    Status::parse(s).ok_or_else(|| conversion("status"))
}

pub fn row_to_integration(r: &Row) -> Result<IntegrationRow, StoreError> {
    let status: String = get(r, 4)?;
    let op_id: Option<String> = get(r, 10)?;
    let op = match op_id {
        Some(op_id) => Some(OpLease {
            origin: get::<Option<String>>(r, 17)?.unwrap_or_else(|| op_id.clone()),
            op_id,
            kind: get::<Option<String>>(r, 11)?.unwrap_or_default(),
            owner: get::<Option<String>>(r, 12)?.unwrap_or_default(),
            expires_ms: get::<Option<i64>>(r, 13)?.unwrap_or(0),
            key_id: get(r, 14)?,
        }),
        None => None,
    };
    let bootstrap_version: i64 = get(r, 8)?;
    Ok(IntegrationRow {
        id: get(r, 0)?,
        type_name: get(r, 1)?,
        account_key: get(r, 2)?,
        auto_bootstrap: get(r, 3)?,
        status: parse_status(&status)?,
        version: get(r, 5)?,
        config: get(r, 6)?,
        secrets: get(r, 7)?,
        bootstrap_version: u32::try_from(bootstrap_version)
            .map_err(|_| conversion("set-up version"))?,
        validation_results: get(r, 9)?,
        op,
        created_at: get(r, 15)?,
        updated_at: get(r, 16)?,
        leftovers: get(r, 18)?,
        revalidate: crate::store::recurring::Revalidate::from_column(get(r, 19)?),
        next_validation_at: get(r, 20)?,
    })
}

/// The integration, or `None`; with `lock`, its row stays locked until the
/// transaction ends.
pub async fn get_row(
    c: &impl GenericClient,
    id: i64,
    lock: bool,
) -> Result<Option<IntegrationRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM integrations WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    c.query_opt(sql.as_str(), &[&id])
        .await
        .map_err(pg)?
        .as_ref()
        .map(row_to_integration)
        .transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn add_history(
    c: &impl GenericClient,
    id: i64,
    at: i64,
    event: &str,
    from: Option<Status>,
    to: Option<Status>,
    results: Option<&str>,
    key_id: Option<&str>,
    message: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO history (integration_id, at, event, from_status, to_status, validation_results, key_id, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &at,
            &event,
            &from.map(Status::as_str),
            &to.map(Status::as_str),
            &results,
            &key_id,
            &message,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The in-use integration holding the account, other than `except`.
pub async fn account_holder(
    c: &impl GenericClient,
    type_name: &str,
    account_key: &str,
    except: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    Ok(c.query_opt(
        "SELECT id FROM integrations WHERE type = $1 AND account_key = $2 AND status <> 'deleted'
             AND id IS DISTINCT FROM $3 LIMIT 1",
        &[&type_name, &account_key, &except],
    )
    .await
    .map_err(pg)?
    .map(|r| r.get(0)))
}

/// The columns [`key_from_row`] reads.
pub const KEY_COLUMNS: &str = "id, role, name, created_at, expires_at, revoked_at";

pub fn key_from_row(r: &Row) -> Result<Option<ApiKey>, StoreError> {
    let role: String = get(r, 1)?;
    Ok(match Role::parse(&role) {
        Some(role) => Some(ApiKey {
            id: get(r, 0)?,
            role,
            name: get(r, 2)?,
            created_at: get(r, 3)?,
            expires_at: get(r, 4)?,
            revoked_at: get(r, 5)?,
        }),
        None => None,
    })
}
