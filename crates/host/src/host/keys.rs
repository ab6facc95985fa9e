//! API keys: the callers' keys, looked up by hash and kept in memory once
//! seen, and the admin key every store starts with.

use super::{Host, HostError};
use crate::auth::{self, ApiKey, Role};
use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::RwLock;

/// Keys already found in the store, by hash. Keys are never revoked while a
/// host runs, so an entry never goes stale.
#[derive(Default)]
pub struct KeyCache(RwLock<HashMap<String, ApiKey>>);

impl Host {
    /// The caller's key, if valid.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, HostError> {
        let hash = auth::hash_key(secret);
        if let Ok(cache) = self.keys.0.read() {
            if let Some(k) = cache.get(&hash) {
                return Ok(Some(k.clone()));
            }
        }
        let found = self
            .store
            .find_key(&hash)
            .await
            .map_err(HostError::internal)?;
        if let (Some(k), Ok(mut cache)) = (&found, self.keys.0.write()) {
            cache.insert(hash, k.clone());
        }
        Ok(found)
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
