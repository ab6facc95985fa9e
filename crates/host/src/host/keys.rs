//! API keys: the callers' keys, looked up by hash and kept in memory once
//! seen, and the admin key every store starts with.

use super::{Host, HostError};
use crate::auth::{self, ApiKey, Role};
use crate::store::StoreError;
use crate::util::now_ms;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a key found in the store is trusted without reading it again:
/// the bound within which a revoked key stops working on every host.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Keys already found in the store, by their SHA-256 (as bytes: the hex
/// form is needed only to ask the store), with when they were read.
#[derive(Default)]
pub struct KeyCache(RwLock<HashMap<Digest, (Arc<ApiKey>, Instant)>>);

/// A key's SHA-256.
type Digest = [u8; 32];

/// What the key cache knows of a key, without asking the store.
pub enum Cached {
    /// Read from the store within [`KEY_CACHE_TTL`], and usable now.
    Usable(Arc<ApiKey>),
    /// Read within the TTL, and revoked or expired.
    Refused,
    /// Not read, or read too long ago: ask [`Host::authenticate`].
    Unknown,
}

impl Host {
    /// The caller's key as the key cache has it (no await: the common case
    /// of the key check).
    pub fn cached_key(&self, secret: &str) -> Cached {
        let digest = auth::key_digest(secret);
        let Ok(cache) = self.keys.0.read() else {
            return Cached::Unknown;
        };
        match cache.get(&digest) {
            Some((k, read)) if read.elapsed() < KEY_CACHE_TTL => {
                if k.usable(now_ms()) {
                    Cached::Usable(Arc::clone(k))
                } else {
                    Cached::Refused
                }
            }
            _ => Cached::Unknown,
        }
    }

    /// The caller's key, if valid.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Arc<ApiKey>>, HostError> {
        match self.cached_key(secret) {
            Cached::Usable(k) => return Ok(Some(k)),
            Cached::Refused => return Ok(None),
            Cached::Unknown => {}
        }
        let digest = auth::key_digest(secret);
        let now = now_ms();
        let found = self
            .store
            .find_key(&crate::util::hex(&digest))
            .await
            .map_err(HostError::internal)?;
        let found = found.map(Arc::new);
        if let Ok(mut cache) = self.keys.0.write() {
            match &found {
                Some(k) => {
                    cache.insert(digest, (Arc::clone(k), Instant::now()));
                }
                None => {
                    cache.remove(&digest);
                }
            }
        }
        Ok(found.filter(|k| k.usable(now)))
    }

    /// Makes sure an admin key exists: `JUNCTION_ADMIN_KEY`, else a new one,
    /// returned so the caller can show it once.
    pub async fn ensure_admin_key(
        &self,
        from_env: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(secret) = from_env {
            let k = auth::from_secret(secret, Role::Admin, "JUNCTION_ADMIN_KEY");
            if self.store.find_key(&k.hash).await?.is_none() {
                self.store.insert_key(&k.record, &k.hash).await?;
            }
            return Ok(None);
        }
        if self.store.count_keys().await? > 0 {
            return Ok(None);
        }
        let k = auth::generate(Role::Admin, "first admin key")
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        self.store.insert_key(&k.record, &k.hash).await?;
        Ok(Some(k.secret))
    }
}
