//! Integration rows kept in memory for reads by id (`GET /integrations/{id}`,
//! its status, and every operation's first read).
//!
//! Sound because of two invariants:
//! - this process is the database's only writer of integration rows: the
//!   serving store holds the data directory's lock ([`super::DirLock`]), and
//!   `junction secrets rotate`, the only other writer of rows, takes it too;
//! - every write of this process goes through `SqliteStore::write`, which
//!   calls [`RowCache::invalidate`] after its commit.
//!
//! A reader that raced a write must not put back what it read before the
//! commit: it inserts only if the generation it saw before its database read
//! is still current (the writer bumps it after committing).

use crate::store::IntegrationRow;
use std::collections::HashMap;
use std::sync::RwLock;

/// At most this many rows are kept (about 1 KiB each).
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(super) struct RowCache {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    rows: HashMap<i64, IntegrationRow>,
}

impl RowCache {
    /// The generation to hand back to [`RowCache::insert`] after a database read.
    pub(super) fn generation(&self) -> u64 {
        self.state.read().map_or(u64::MAX, |s| s.generation)
    }

    pub(super) fn get(&self, id: i64) -> Option<IntegrationRow> {
        self.state.read().ok()?.rows.get(&id).cloned()
    }

    /// Keeps `row`, read from the database at `generation`, unless a write
    /// committed since.
    pub(super) fn insert(&self, generation: u64, row: &IntegrationRow) {
        let Ok(mut s) = self.state.write() else {
            return;
        };
        if s.generation != generation {
            return;
        }
        if s.rows.len() >= CAPACITY && !s.rows.contains_key(&row.id) {
            // Any one out: the hot rows come back at their next read.
            if let Some(&victim) = s.rows.keys().next() {
                s.rows.remove(&victim);
            }
        }
        s.rows.insert(row.id, row.clone());
    }

    /// Forgets every row; called after each committed write.
    pub(super) fn invalidate(&self) {
        // A poisoned lock cannot be cleared; `get` then returns nothing either.
        if let Ok(mut s) = self.state.write() {
            s.generation = s.generation.wrapping_add(1);
            s.rows.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, status: &str) -> IntegrationRow {
        IntegrationRow {
            id,
            type_name: "Synthetic".into(),
            account_key: format!("a{id}"),
            auto_bootstrap: false,
            status: junction_core::Status::parse(status).unwrap(),
            version: 1,
            config: "{}".into(),
            secrets: None,
            bootstrap_version: 0,
            validation_results: "{}".into(),
            op: None,
            created_at: 0,
            updated_at: 0,
            leftovers: None,
            revalidate: Default::default(),
            next_validation_at: None,
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let c = RowCache::default();
        let g = c.generation();
        c.invalidate(); // a write committed while the reader was in the database
        c.insert(g, &row(1, "creating"));
        assert!(c.get(1).is_none());
        let g = c.generation();
        c.insert(g, &row(1, "enabled"));
        assert_eq!(c.get(1).unwrap().status, junction_core::Status::Enabled);
        c.invalidate();
        assert!(c.get(1).is_none());
    }

    #[test]
    fn stays_within_capacity() {
        let c = RowCache::default();
        let g = c.generation();
        for id in 0..(CAPACITY as i64 + 10) {
            c.insert(g, &row(id, "enabled"));
        }
        assert_eq!(c.state.read().unwrap().rows.len(), CAPACITY);
        assert!(c.get(CAPACITY as i64 + 9).is_some());
    }
}
