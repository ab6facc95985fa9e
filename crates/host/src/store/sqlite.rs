//! The embedded store: one SQLite file in WAL mode. One writer connection
//! (every write is an IMMEDIATE transaction) and a few reader connections;
//! calls run on tokio's blocking pool.

use super::{
    Expired, Finish, HistoryEntry, IntegrationRow, NewIntegration, OpLease, SecretsUpdate, StartOp,
    Store, StoreError,
};
use crate::auth::{ApiKey, Role};
use crate::util::{now_ms, rfc3339};
use async_trait::async_trait;
use junction_core::{Event, Peer, Status, transition};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "junction.db";
const READERS: usize = 4;
const SCHEMA_VERSION: i64 = 1;

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

const ROW_COLUMNS: &str = "id, type, account_key, auto_bootstrap, status, version, config, secrets, \
     bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id, \
     created_at, updated_at";
const LIST_COLUMNS: &str = "id, type, account_key, auto_bootstrap, status, version, config, NULL, \
     bootstrap_version, validation_results, op_id, op_kind, op_owner, op_expires, op_key_id, \
     created_at, updated_at";

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        backend(e)
    }
}

/// The SQLite store.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            backend(format!(
                "cannot create the data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DB_FILE);
        let writer = Connection::open(&path)?;
        configure(&writer)?;
        migrate(&writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            r.busy_timeout(std::time::Duration::from_secs(10))?;
            readers.push(Mutex::new(r));
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers,
                next: AtomicUsize::new(0),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let i = inner.next.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i]
                .lock()
                .map_err(|_| backend("a reader connection is poisoned"))?;
            f(&conn)
        })
        .await
        .map_err(backend)?
    }

    /// A short point query run on the calling thread when a reader is free
    /// (a few microseconds; cheaper than a hop to the blocking pool), else on
    /// the blocking pool.
    async fn read_quick<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..self.inner.readers.len() {
            let i = (start + k) % self.inner.readers.len();
            if let Ok(conn) = self.inner.readers[i].try_lock() {
                return f(&conn);
            }
        }
        self.read(f).await
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| backend("the writer connection is poisoned"))?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
        .map_err(backend)?
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
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

fn parse_status(s: &str) -> rusqlite::Result<Status> {
    Status::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown status {s}").into(),
        )
    })
}

fn row_to_integration(r: &Row<'_>) -> rusqlite::Result<IntegrationRow> {
    let status: String = r.get(4)?;
    let op_id: Option<String> = r.get(10)?;
    let op = match op_id {
        Some(op_id) => Some(OpLease {
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
    })
}

static GET_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {ROW_COLUMNS} FROM integrations WHERE id = ?1"));

fn get_row(conn: &Connection, id: i64) -> Result<Option<IntegrationRow>, StoreError> {
    Ok(conn
        .prepare_cached(&GET_SQL)?
        .query_row([id], row_to_integration)
        .optional()?)
}

#[allow(clippy::too_many_arguments)]
fn add_history(
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

fn account_holder(
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

#[async_trait]
impl Store for SqliteStore {
    fn single_writer(&self) -> bool {
        true
    }

    async fn get(&self, id: i64) -> Result<Option<IntegrationRow>, StoreError> {
        self.read_quick(move |c| get_row(c, id)).await
    }

    async fn list(&self) -> Result<Vec<IntegrationRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {LIST_COLUMNS} FROM integrations ORDER BY id"
            ))?;
            let rows = stmt.query_map([], row_to_integration)?;
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
        self.write(move |tx| {
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
                    created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
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
                    now
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
            get_row(tx, id)?.ok_or(StoreError::NotFound(id))
        })
        .await
    }

    async fn start_operation(&self, start: StartOp) -> Result<IntegrationRow, StoreError> {
        self.write(move |tx| {
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
                    validation_results = COALESCE(?8, validation_results)
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
                    row.version
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
            get_row(tx, row.id)?.ok_or(StoreError::NotFound(row.id))
        })
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
        self.write(move |tx| {
            let row = get_row(tx, f.id)?.ok_or(StoreError::NotFound(f.id))?;
            let op = row.op.as_ref().filter(|op| op.op_id == f.op_id);
            let Some(op) = op else {
                return Err(StoreError::LeaseLost(f.op_id));
            };
            let event = if f.succeeded { Event::Succeeded } else { Event::Failed };
            let to = transition(Some(row.status), event).map_err(StoreError::Transition)?;
            if let Some(key) = &f.account_key {
                if key != &row.account_key {
                    if let Some(id) = account_holder(tx, &row.type_name, key, Some(row.id))? {
                        return Err(StoreError::AccountTaken { id });
                    }
                }
            }
            let secrets = match &f.secrets {
                SecretsUpdate::Keep => row.secrets.clone(),
                SecretsUpdate::Set(s) => s.clone(),
            };
            let now = now_ms();
            tx.execute(
                "UPDATE integrations SET status = ?1, version = version + 1, op_id = NULL, op_kind = NULL,
                    op_owner = NULL, op_expires = NULL, op_key_id = NULL, updated_at = ?2,
                    validation_results = COALESCE(?3, validation_results), config = COALESCE(?4, config),
                    secrets = ?5, account_key = COALESCE(?6, account_key),
                    auto_bootstrap = COALESCE(?7, auto_bootstrap),
                    bootstrap_version = COALESCE(?8, bootstrap_version)
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
                    row.id
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
            get_row(tx, row.id)?.ok_or(StoreError::NotFound(row.id))
        })
        .await
    }

    async fn expired_operations(&self, now: i64) -> Result<Vec<Expired>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM integrations WHERE op_id IS NOT NULL AND op_expires < ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([now], row_to_integration)?;
            let mut out = Vec::new();
            for r in rows {
                let r = r?;
                if let Some(lease) = r.op {
                    out.push(Expired {
                        id: r.id,
                        status: r.status,
                        lease,
                    });
                }
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
                "INSERT OR IGNORE INTO api_keys (id, hash, role, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.id, hash, key.role.as_str(), key.name, key.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash.to_owned();
        self.read_quick(move |c| {
            Ok(
                c.prepare_cached(
                    "SELECT id, role, name, created_at FROM api_keys WHERE hash = ?1",
                )?
                .query_row([hash], key_from_row)
                .optional()?
                .flatten(),
            )
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, role, name, created_at FROM api_keys ORDER BY created_at",
            )?;
            let rows = stmt.query_map([], key_from_row)?;
            Ok(rows.filter_map(|r| r.ok().flatten()).collect())
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

    async fn count_keys(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM api_keys", [], |r| r.get(0))?))
            .await
    }
}

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<Option<ApiKey>> {
    let role: String = r.get(1)?;
    Ok(Role::parse(&role).map(|role| ApiKey {
        id: r.get(0).unwrap_or_default(),
        role,
        name: r.get(2).unwrap_or_default(),
        created_at: r.get(3).unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(op: &str, expires_ms: i64) -> OpLease {
        OpLease {
            op_id: op.into(),
            kind: "create".into(),
            owner: "test".into(),
            expires_ms,
            key_id: Some("key_test".into()),
        }
    }

    fn new(account: &str, op: &str) -> NewIntegration {
        NewIntegration {
            type_name: "T".into(),
            account_key: account.into(),
            auto_bootstrap: false,
            config: "{}".into(),
            secrets: Some(vec![1, 2, 3]),
            validation_results: r#"{"status":"skipped","validationTests":[]}"#.into(),
            lease: lease(op, i64::MAX / 2),
            idempotency: None,
        }
    }

    fn finish(id: i64, op: &str, ok: bool) -> Finish {
        Finish {
            id,
            op_id: op.into(),
            succeeded: ok,
            validation_results: None,
            config: None,
            secrets: SecretsUpdate::Keep,
            account_key: None,
            auto_bootstrap: None,
            bootstrap_version: Some(1),
            event: "outcome",
            message: None,
        }
    }

    fn store() -> (SqliteStore, PathBuf) {
        let dir = std::env::temp_dir().join(crate::util::random_id("junction-store-test-"));
        (SqliteStore::open(&dir).unwrap(), dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn versions_leases_and_accounts() {
        let (s, dir) = store();
        let row = s.insert(new("acct", "op1")).await.unwrap();
        assert_eq!(row.status, Status::Creating);
        assert!(
            matches!(s.insert(new("acct", "op2")).await, Err(StoreError::AccountTaken { id }) if id == row.id)
        );
        // Only the running operation may finish it.
        assert!(matches!(
            s.finish(finish(row.id, "other", true)).await,
            Err(StoreError::LeaseLost(_))
        ));
        let done = s.finish(finish(row.id, "op1", true)).await.unwrap();
        assert_eq!(done.status, Status::Enabled);
        assert!(done.op.is_none());
        assert_eq!(done.secrets, Some(vec![1, 2, 3]));
        // A stale version is refused; the current one starts the edit.
        let start = |v: i64, op: &str| StartOp {
            id: row.id,
            expected_version: Some(v),
            event: Event::StartEdit,
            lease: OpLease {
                kind: "edit".into(),
                ..lease(op, 0)
            },
            new_account_key: None,
            validation_results: None,
        };
        assert!(matches!(
            s.start_operation(start(done.version - 1, "e0")).await,
            Err(StoreError::VersionConflict { .. })
        ));
        let editing = s.start_operation(start(done.version, "e1")).await.unwrap();
        assert_eq!(editing.status, Status::Editing);
        assert!(matches!(
            s.start_operation(start(editing.version, "e2")).await,
            Err(StoreError::Transition(
                junction_core::TransitionError::InProgress(Status::Editing)
            ))
        ));
        // Its lease (expiry 0) has expired.
        let expired = s.expired_operations(crate::util::now_ms()).await.unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].lease.op_id, "e1");
        assert!(s.renew_lease(row.id, "e1", i64::MAX / 2).await.unwrap());
        assert!(
            s.expired_operations(crate::util::now_ms())
                .await
                .unwrap()
                .is_empty()
        );
        let failed = s.finish(finish(row.id, "e1", false)).await.unwrap();
        assert_eq!(failed.status, Status::EditError);
        let h = s.history(row.id).await.unwrap().unwrap();
        let events: Vec<&str> = h.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["create", "outcome", "edit", "outcome"]);
        assert_eq!(h[2].key_id.as_deref(), Some("key_test"));
        assert!(s.history(999).await.unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_and_idempotency() {
        let (s, dir) = store();
        let k = crate::auth::generate(Role::Read, "r").unwrap();
        s.insert_key(&k.record, &k.hash).await.unwrap();
        assert_eq!(s.find_key(&k.hash).await.unwrap().unwrap().role, Role::Read);
        assert!(s.find_key("nope").await.unwrap().is_none());
        assert_eq!(s.count_keys().await.unwrap(), 1);
        let mut a = new("a", "o1");
        a.idempotency = Some(("k".into(), "h1".into()));
        let row = s.insert(a.clone()).await.unwrap();
        assert!(
            matches!(s.insert(a.clone()).await, Err(StoreError::IdempotentReplay { id, same_request: true }) if id == row.id)
        );
        a.idempotency = Some(("k".into(), "h2".into()));
        assert!(matches!(
            s.insert(a).await,
            Err(StoreError::IdempotentReplay {
                same_request: false,
                ..
            })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
