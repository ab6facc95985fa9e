//! The database's schema and its migration.

use super::backend;
use crate::store::StoreError;
use rusqlite::Connection;

pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS integrations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    type               TEXT    NOT NULL,
    account_key        TEXT    NOT NULL,
    auto_bootstrap     INTEGER NOT NULL,
    status             TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    config             TEXT    NOT NULL,
    secrets            BLOB,
    bootstrap_version  INTEGER NOT NULL DEFAULT 0,
    validation_results TEXT    NOT NULL,
    op_id              TEXT,
    op_kind            TEXT,
    op_owner           TEXT,
    op_expires         INTEGER,
    op_key_id          TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS integrations_account_in_use
    ON integrations(type, account_key) WHERE status <> 'deleted';
CREATE INDEX IF NOT EXISTS integrations_op_expires
    ON integrations(op_expires) WHERE op_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id     INTEGER NOT NULL REFERENCES integrations(id),
    at                 INTEGER NOT NULL,
    event              TEXT    NOT NULL,
    from_status        TEXT,
    to_status          TEXT,
    validation_results TEXT,
    key_id             TEXT,
    message            TEXT
);
CREATE INDEX IF NOT EXISTS history_integration ON history(integration_id, seq);
CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key            TEXT PRIMARY KEY,
    request_hash   TEXT NOT NULL,
    integration_id INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
"#;

pub const ROW_COLUMNS: &str = "id, type, account_key, auto_bootstrap, status, version, config, secrets, \
     bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id, \
     created_at, updated_at";
pub const LIST_COLUMNS: &str = "id, type, account_key, auto_bootstrap, status, version, config, NULL, \
     bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id, \
     created_at, updated_at";

pub fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(backend(format!(
            "the database has schema version {version}, newer than this binary's {SCHEMA_VERSION}: upgrade junction"
        )));
    }
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}
