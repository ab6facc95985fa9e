//! The store suite on SQLite (a fresh database in a temp dir per test), and
//! what only the embedded store has: its files' modes, its migrations, and
//! what a damaged file says.

use super::SqliteStore;
use crate::store::{SCHEMA_VERSION, Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

pub struct Fixture {
    store: Arc<dyn Store>,
    dir: PathBuf,
}

impl Fixture {
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    pub async fn cleanup(self) {
        drop(self.store);
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(crate::util::random_id("junction-store-test-"))
}

pub async fn fixture() -> Option<Fixture> {
    let dir = temp_dir();
    Some(Fixture {
        store: Arc::new(SqliteStore::open(&dir).unwrap()),
        dir,
    })
}

crate::store_suite!(fixture);

#[cfg(unix)]
#[test]
fn a_new_data_directory_is_0700_and_its_database_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir().join("nested");
    let store = SqliteStore::open(&dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(store.path()), 0o600);
    for extra in ["junction.db-wal", "junction.db-shm"] {
        let p = dir.join(extra);
        if p.exists() {
            assert_eq!(mode(&p) & 0o077, 0, "{extra}");
        }
    }
    drop(store);
    // A file an older version left world-readable is tightened.
    std::fs::set_permissions(
        dir.join(super::DB_FILE),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    assert_eq!(mode(store.path()), 0o600);
    drop(store);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn a_damaged_database_says_so_once_with_its_path_and_what_to_do() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(super::DB_FILE);
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let Err(e) = SqliteStore::open(&dir) else {
        panic!("a damaged file opened")
    };
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("restore it from a backup"), "{text}");
    assert_eq!(text.matches("not a database").count(), 1, "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn migrations_bring_a_version_1_database_to_the_current_version() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(super::DB_FILE);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(super::schema::V1).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute(
            "INSERT INTO api_keys (id, hash, role, name, created_at) VALUES ('key_old', 'h', 'read', 'old', 1)",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&dir).unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = rt.block_on(store.list_keys()).unwrap();
    assert_eq!(keys[0].id, "key_old");
    assert_eq!(keys[0].revoked_at, None);
    drop(store);
    // Opening again changes nothing.
    drop(SqliteStore::open(&dir).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_data_directory_has_one_writer_at_a_time() {
    let dir = temp_dir();
    let first = SqliteStore::open(&dir).unwrap();
    let Err(e) = SqliteStore::open(&dir) else {
        panic!("a second writer opened the directory")
    };
    assert!(matches!(e, StoreError::InUse { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains(&dir.display().to_string()), "{text}");
    assert!(text.contains("stop it first"), "{text}");
    // `junction keys` beside a server.
    let keys = SqliteStore::open_shared(&dir).unwrap();
    drop(keys);
    drop(first);
    drop(SqliteStore::open(&dir).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}
