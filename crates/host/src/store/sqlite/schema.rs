//! The database's schema and its versioned migrations (`user_version` holds
//! the version reached; each migration runs in its own transaction).

use super::backend;
use crate::store::{SCHEMA_VERSION, StoreError};
use rusqlite::Connection;

/// Version 1: the first schema (written with `IF NOT EXISTS`, as it was
/// before versions were counted).
pub(super) const V1: &str = r#"
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

/// Version 2: key expiry and revocation, the operation's origin (its first
/// id, kept across take-overs) and sealed input for a replay, objects left on
/// the platform, the journal of plan steps, and list indexes.
const V2: &str = r#"
ALTER TABLE integrations ADD COLUMN op_origin TEXT;
ALTER TABLE integrations ADD COLUMN op_input BLOB;
ALTER TABLE integrations ADD COLUMN leftovers TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
CREATE TABLE journal (
    origin         TEXT    NOT NULL,
    plan_no        INTEGER NOT NULL,
    step_no        INTEGER NOT NULL,
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    step_id        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    apply          TEXT    NOT NULL,
    undo           TEXT,
    error          TEXT,
    at             INTEGER NOT NULL,
    PRIMARY KEY (origin, plan_no, step_no)
);
CREATE INDEX integrations_type_id ON integrations(type, id);
CREATE INDEX integrations_status_id ON integrations(status, id);
"#;

/// Version 3: events (each status change and test result, `seq` store-wide
/// increasing), webhooks (secrets sealed), the webhook outbox (one row per
/// webhook and event, claimed with a lease) and its delivery attempts.
const V3_EVENTS: &str = r#"
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL,
    type           TEXT    NOT NULL,
    operation      TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    from_status    TEXT,
    to_status      TEXT,
    test           TEXT,
    at             INTEGER NOT NULL
);
CREATE INDEX events_integration ON events(integration_id, seq);
CREATE TABLE webhooks (
    id            TEXT    PRIMARY KEY,
    url           TEXT    NOT NULL,
    status_events INTEGER NOT NULL,
    test_events   INTEGER NOT NULL,
    secret        BLOB    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE webhook_outbox (
    webhook_id    TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    next_at       INTEGER,
    lease_owner   TEXT,
    lease_expires INTEGER,
    PRIMARY KEY (webhook_id, seq)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at) WHERE state = 'pending';
CREATE TABLE webhook_attempts (
    webhook_id  TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT,
    next_at     INTEGER,
    PRIMARY KEY (webhook_id, seq, attempt)
);
"#;

/// Version 4: recurring validation. An integration's own interval
/// (`revalidateEvery`, milliseconds; NULL: the server's default, 0: never)
/// and when its next run is due (NULL: not scheduled yet, or not
/// re-validated; the host schedules it with its jitter).
const V4_RECURRING: &str = r#"
ALTER TABLE integrations ADD COLUMN revalidate_every_ms INTEGER;
ALTER TABLE integrations ADD COLUMN next_validation_at INTEGER;
CREATE INDEX integrations_next_validation
    ON integrations(next_validation_at) WHERE next_validation_at IS NOT NULL;
"#;

const MIGRATIONS: [&str; 4] = [V1, V2, V3_EVENTS, V4_RECURRING];

/// Brings the database to [`SCHEMA_VERSION`], one migration per transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(backend(format!(
            "the database has schema version {version}, newer than this binary's {SCHEMA_VERSION}: upgrade junction"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let target = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if target <= version {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
    }
    Ok(())
}
