//! The peer cache: each platform's list of integrations holding their
//! account (every status but `deleted`, so a disabled one too: it kept its
//! objects; public configuration only), handed to its checks. With a single-writer store the
//! host keeps the lists in memory and brings them up to date from its own
//! writes; otherwise every read goes to the store.

use crate::store::{IntegrationRow, Store, StoreError};
use junction_core::{Peer, Status};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub type PeerList = Arc<Vec<Arc<Peer>>>;

pub struct PeerCache(Option<Mutex<HashMap<String, PeerEntry>>>);

/// A platform's cached peer list.
enum PeerEntry {
    /// Being read from the store; writes noted meanwhile wait here.
    Loading { noted: Vec<NotedRow> },
    /// Up to date; `versions` has the last version applied for every id seen
    /// (also for ids since removed), so a late note never undoes a newer one.
    Ready {
        list: PeerList,
        versions: HashMap<i64, i64>,
    },
}

struct NotedRow {
    id: i64,
    version: i64,
    status: Status,
    config: String,
}

impl NotedRow {
    fn of(row: &IntegrationRow) -> Self {
        NotedRow {
            id: row.id,
            version: row.version,
            status: row.status,
            config: row.config.clone(),
        }
    }
}

fn apply_note(list: &mut PeerList, versions: &mut HashMap<i64, i64>, row: &NotedRow) {
    if versions.get(&row.id).is_some_and(|v| *v >= row.version) {
        return;
    }
    versions.insert(row.id, row.version);
    // In place when no running check holds the list; otherwise a copy of
    // pointers (the entries are shared).
    let v = Arc::make_mut(list);
    let pos = v.binary_search_by_key(&row.id, |p| p.id);
    if row.status.holds_account() {
        let peer = Arc::new(Peer {
            id: row.id,
            status: row.status,
            config: serde_json::from_str(&row.config).unwrap_or(Value::Null),
        });
        match pos {
            Ok(i) => v[i] = peer,
            Err(i) => v.insert(i, peer),
        }
    } else if let Ok(i) = pos {
        v.remove(i);
    }
}

impl PeerCache {
    /// A cache that keeps the lists when `single_writer`, else reads through.
    pub fn new(single_writer: bool) -> Self {
        PeerCache(single_writer.then(|| Mutex::new(HashMap::new())))
    }

    /// The in-use integrations of a platform, for its checks.
    pub async fn peers(&self, store: &dyn Store, type_name: &str) -> Result<PeerList, StoreError> {
        let Some(cache) = &self.0 else {
            let rows =
                crate::metrics::timed(crate::metrics::StoreOp::Peers, store.peers(type_name))
                    .await?;
            return Ok(Arc::new(
                rows.into_iter().map(|(p, _)| Arc::new(p)).collect(),
            ));
        };
        let load = match cache.lock() {
            Ok(mut c) => match c.get(type_name) {
                Some(PeerEntry::Ready { list, .. }) => return Ok(Arc::clone(list)),
                Some(PeerEntry::Loading { .. }) => false,
                None => {
                    c.insert(
                        type_name.to_owned(),
                        PeerEntry::Loading { noted: Vec::new() },
                    );
                    true
                }
            },
            Err(_) => false,
        };
        let read = crate::metrics::timed(crate::metrics::StoreOp::Peers, store.peers(type_name));
        let rows = match read.await {
            Ok(rows) => rows,
            Err(e) => {
                if load {
                    if let Ok(mut c) = cache.lock() {
                        c.remove(type_name);
                    }
                }
                return Err(e);
            }
        };
        let mut versions = HashMap::with_capacity(rows.len());
        let list: Vec<Arc<Peer>> = rows
            .into_iter()
            .map(|(p, v)| {
                versions.insert(p.id, v);
                Arc::new(p)
            })
            .collect();
        if !load {
            // Another request is loading the list: use this read as it is.
            return Ok(Arc::new(list));
        }
        let mut list = Arc::new(list);
        if let Ok(mut c) = cache.lock() {
            // Writes noted while the list was read are applied on top (by version).
            let noted = match c.remove(type_name) {
                Some(PeerEntry::Loading { noted }) => noted,
                _ => Vec::new(),
            };
            for row in &noted {
                apply_note(&mut list, &mut versions, row);
            }
            c.insert(
                type_name.to_owned(),
                PeerEntry::Ready {
                    list: Arc::clone(&list),
                    versions,
                },
            );
        }
        Ok(list)
    }

    /// Brings the cached peer list of the row's platform up to date after a write.
    pub fn note(&self, row: &IntegrationRow) {
        let Some(cache) = &self.0 else {
            return;
        };
        let Ok(mut c) = cache.lock() else { return };
        match c.get_mut(&row.type_name) {
            Some(PeerEntry::Ready { list, versions }) => {
                apply_note(list, versions, &NotedRow::of(row))
            }
            Some(PeerEntry::Loading { noted }) => noted.push(NotedRow::of(row)),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{NewIntegration, OpLease};

    fn new(account: &str) -> NewIntegration {
        NewIntegration {
            type_name: "T".into(),
            account_key: account.into(),
            auto_bootstrap: false,
            config: format!(r#"{{"account":"{account}"}}"#),
            secrets: None,
            validation_results: "{}".into(),
            lease: OpLease {
                op_id: format!("op-{account}"),
                origin: format!("op-{account}"),
                kind: "create".into(),
                owner: "t".into(),
                expires_ms: i64::MAX / 2,
                key_id: None,
            },
            idempotency: None,
            input: None,
            revalidate: Default::default(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_peer_cache_follows_writes_copy_on_write() {
        let dir = std::env::temp_dir().join(crate::util::random_id("junction-host-test-"));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
        let cache = PeerCache::new(store.single_writer());
        let peers = |t: &'static str| cache.peers(store.as_ref(), t);
        store.insert(new("a")).await.unwrap();
        store.insert(new("b")).await.unwrap();
        let first = peers("T").await.unwrap();
        assert_eq!(first.len(), 2);
        // Cached: a write that bypasses the host is not seen...
        let c = store.insert(new("c")).await.unwrap();
        assert_eq!(peers("T").await.unwrap().len(), 2);
        // ...until the host notes it; the list held by a running check stays as it was.
        cache.note(&c);
        let second = peers("T").await.unwrap();
        assert_eq!(second.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(second[2].config["account"], "c");
        assert_eq!(first.len(), 2);
        let mut gone = c.clone();
        gone.status = Status::Deleted;
        gone.version += 1;
        cache.note(&gone);
        // A late note of an older version does not bring it back.
        cache.note(&c);
        assert_eq!(peers("T").await.unwrap().len(), 2);
        assert!(peers("U").await.unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
