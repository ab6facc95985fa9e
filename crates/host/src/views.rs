//! The rendered answers of `GET /integrations/{id}`, kept while the store's
//! read generation stands (`Store::read_generation`: it moves on at every
//! committed write). A hit costs a map read and a reference count: no row
//! copy, no rendering. Stores without a generation (PostgreSQL, where other
//! hosts write too) keep nothing here.
//!
//! An entry is tagged with the generation read *before* its row was read, so
//! a write that committed in between makes the entry stale at once instead of
//! serving the older row.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::RwLock;

/// At most this many answers are kept (each is about 1 KiB).
const CAPACITY: usize = 4096;

#[derive(Default)]
pub struct Views(RwLock<HashMap<i64, (u64, Bytes)>>);

impl Views {
    /// The answer for `id`, if it was rendered at `generation`.
    pub fn get(&self, id: i64, generation: u64) -> Option<Bytes> {
        let map = self.0.read().ok()?;
        let (at, body) = map.get(&id)?;
        (*at == generation).then(|| body.clone())
    }

    /// Keeps `body`, rendered from a row read after `generation` was.
    pub fn insert(&self, id: i64, generation: u64, body: Bytes) {
        let Ok(mut map) = self.0.write() else {
            return;
        };
        if map.len() >= CAPACITY && !map.contains_key(&id) {
            // Stale entries first; else any one (the hot ones come back).
            map.retain(|_, (at, _)| *at == generation);
            if map.len() >= CAPACITY
                && let Some(&victim) = map.keys().next()
            {
                map.remove(&victim);
            }
        }
        map.insert(id, (generation, body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_holds_only_for_its_generation() {
        let v = Views::default();
        v.insert(1, 7, Bytes::from_static(b"{}"));
        assert_eq!(v.get(1, 7).as_deref(), Some(&b"{}"[..]));
        assert!(v.get(1, 8).is_none(), "a write committed since");
        assert!(v.get(2, 7).is_none());
    }

    #[test]
    fn stays_within_capacity() {
        let v = Views::default();
        for id in 0..(CAPACITY as i64 + 5) {
            v.insert(id, 1, Bytes::from_static(b"{}"));
        }
        assert_eq!(v.0.read().unwrap().len(), CAPACITY);
        // A new generation sweeps the stale ones out first.
        v.insert(-1, 2, Bytes::from_static(b"{}"));
        assert_eq!(v.0.read().unwrap().len(), 1);
    }
}
