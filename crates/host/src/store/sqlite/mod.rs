//! The embedded store: one SQLite file in WAL mode. One writer connection
//! (every write is an IMMEDIATE transaction) and a few reader connections;
//! calls run on tokio's blocking pool. A serving store holds the data
//! directory's lock, so it is the only writer and may cache rows
//! (`cache.rs`).

mod cache;
mod events;
mod recurring;
mod rows;
mod schema;
mod store;
#[cfg(test)]
mod tests;
mod transitions;

use crate::store::StoreError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "junction.db";
/// The lock file's name: held by the one process that serves (or rotates)
/// the data directory.
pub const LOCK_FILE: &str = "junction.lock";
const READERS: usize = 4;

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        backend(e)
    }
}

/// The texts SQLite gives a damaged or foreign file.
fn is_corrupt_text(detail: &str) -> bool {
    detail.contains("malformed") || detail.contains("not a database")
}

fn corrupt_or_backend(path: &Path, e: rusqlite::Error) -> StoreError {
    let damaged = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    );
    if damaged {
        StoreError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    } else {
        backend(e)
    }
}

/// Creates the database file 0600 before SQLite does (SQLite gives its WAL
/// and shared-memory files the database file's mode), and takes group and
/// world access away from one an older version created.
fn make_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// The data directory's lock, held while the store is open (the kernel
/// lets it go if the process dies).
struct DirLock(#[allow(dead_code, reason = "held for its lock")] std::fs::File);

impl DirLock {
    fn take(data_dir: &Path) -> Result<DirLock, StoreError> {
        let path = data_dir.join(LOCK_FILE);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(&path)
            .map_err(|e| backend(format!("cannot create {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
                path: data_dir.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(backend(format!("cannot lock {}: {e}", path.display())))
            }
        }
    }
}

/// How the store was opened.
enum Access {
    /// The only writer: holds the directory's lock, and keeps rows in memory.
    Exclusive {
        _lock: DirLock,
        cache: cache::RowCache,
    },
    /// Beside a serving process (`junction keys`): reads and writes keys
    /// only, so the server's cache of rows stays true.
    Shared,
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
    access: Access,
    /// The highest event `seq` committed (see `EventStore::event_watch`).
    events: tokio::sync::watch::Sender<i64>,
}

impl Inner {
    fn cache(&self) -> Option<&cache::RowCache> {
        match &self.access {
            Access::Exclusive { cache, .. } => Some(cache),
            Access::Shared => None,
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating) the database in `data_dir` as its only
    /// writer, taking the directory's lock: [`StoreError::InUse`] while
    /// another process holds it. A new data directory is made owner-only
    /// (0700) and the database file 0600: it holds configurations and key
    /// hashes.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, true)
    }

    /// Opens the database beside a process that may be serving it, for
    /// commands that touch API keys only (`junction keys`).
    pub fn open_shared(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, false)
    }

    fn open_with(data_dir: &Path, exclusive: bool) -> Result<Self, StoreError> {
        crate::util::create_private_dir(data_dir).map_err(|e| {
            backend(format!(
                "cannot create the data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let access = if exclusive {
            Access::Exclusive {
                _lock: DirLock::take(data_dir)?,
                cache: cache::RowCache::default(),
            }
        } else {
            Access::Shared
        };
        let path = data_dir.join(DB_FILE);
        make_private_file(&path)
            .map_err(|e| backend(format!("cannot create {}: {e}", path.display())))?;
        let damaged = |e: rusqlite::Error| corrupt_or_backend(&path, e);
        let mut writer = Connection::open(&path).map_err(damaged)?;
        configure(&writer).map_err(damaged)?;
        schema::migrate(&mut writer).map_err(|e| match e {
            StoreError::Backend(detail) if is_corrupt_text(&detail) => StoreError::Corrupt {
                path: path.display().to_string(),
                detail,
            },
            other => other,
        })?;
        let last_seq = events::last_seq(&writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(damaged)?;
            r.busy_timeout(std::time::Duration::from_secs(10))?;
            readers.push(Mutex::new(r));
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers,
                next: AtomicUsize::new(0),
                access,
                events: tokio::sync::watch::Sender::new(last_seq),
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
            if let Some(cache) = inner.cache() {
                cache.invalidate();
            }
            // Wakes the event readers when this write stored events.
            let seq = events::last_seq(&conn)?;
            inner.events.send_if_modified(|last| {
                let newer = seq > *last;
                if newer {
                    *last = seq;
                }
                newer
            });
            Ok(out)
        })
        .await
        .map_err(backend)?
    }
}
