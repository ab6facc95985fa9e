//! The host: the installed platforms, the store, the secrets, and the
//! lifecycle runner that starts operations in one transaction, runs them in
//! the background under a lease, and finishes them in one transaction.
//!
//! One job per file: the platform table (`platforms`), the peer cache
//! (`peers`), API keys (`keys`), the secret-key check (`secret_key`),
//! validation (`validation`), scripts (`scripts`), the operation starters
//! (`operations`), the work they hand over (`work`), the background runner
//! (`runner`), and leases with recovery (`leases`). Errors are [`HostError`],
//! which knows nothing of HTTP.

mod error;
mod journal;
mod keys;
mod leases;
mod operations;
mod peers;
mod platforms;
mod recovery;
mod recurring;
mod runner;
mod scripts;
mod secret_key;
#[cfg(test)]
mod tests;
mod validation;
mod work;

pub use error::{HostError, INTERNAL_MESSAGE};
pub use keys::{Cached, KEY_CACHE_TTL};
pub use platforms::{PlatformEntry, Platforms};
pub use recurring::{DEFAULT_REVALIDATE_EVERY, EnableOutcome, jittered};
pub use scripts::ScriptFor;
pub use secret_key::{SecretKeyError, check_secret_key, reseal_key_check};
pub use validation::{pending_results, run_options, validate};

use crate::auth::ApiKey;
use crate::crypto::Cipher;
use crate::registry::PluginLoad;
use crate::secrets::Secrets;
use crate::store::{HistoryEntry, IntegrationRow, ListQuery, Store};
use crate::util::random_id;
use junction_core::{PlatformDescriptor, Registry, Status};
use std::sync::Arc;
use std::time::Duration;

/// Tunables of the runner.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long an operation's lease lasts without renewal.
    pub lease_ttl: Duration,
    /// An operation running longer fails.
    pub operation_timeout: Duration,
    /// Default per-check timeout.
    pub check_timeout: Duration,
    /// How often an integration without its own `revalidateEvery` is
    /// re-validated (`None`: never), `--revalidate-every`.
    pub revalidate_every: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lease_ttl: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(600),
            check_timeout: junction_core::runner::DEFAULT_TIMEOUT,
            revalidate_every: Some(DEFAULT_REVALIDATE_EVERY),
        }
    }
}

/// Who called.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Shared with the key cache: no copy per request.
    pub key: Arc<ApiKey>,
    /// Tests only (feature `fault-injection`): the set-up step the caller's
    /// operation is made to fail at, from the `X-Junction-Fault-Step` header.
    pub fault: Option<junction_core::FaultInjection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Create,
    Edit,
    Delete,
    Migrate,
    /// A recurring validation (holds the lease, no status of its own).
    Validate,
    /// An enable's validation (likewise).
    Enable,
}

impl OpKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Edit => "edit",
            OpKind::Delete => "delete",
            OpKind::Migrate => "migrate",
            OpKind::Validate => crate::store::recurring::VALIDATE,
            OpKind::Enable => crate::store::recurring::ENABLE,
        }
    }
}

pub struct Host {
    store: Arc<dyn Store>,
    platforms: Platforms,
    secrets: Secrets,
    /// This process, as the holder of the leases it takes.
    owner: String,
    settings: Settings,
    /// Shared-library plugins found in `--plugin-dir`, loaded or refused.
    plugin_loads: Vec<PluginLoad>,
    running: leases::Running,
    /// The re-validations this process runs (recurring and enables).
    revalidating: leases::Running,
    keys: keys::KeyCache,
    peers: peers::PeerCache,
}

impl Host {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Registry,
        cipher: Cipher,
        settings: Settings,
    ) -> Self {
        Host {
            peers: peers::PeerCache::new(store.single_writer()),
            store,
            platforms: Platforms::new(&registry),
            secrets: Secrets::new(cipher),
            owner: random_id("host_"),
            settings,
            plugin_loads: Vec::new(),
            running: leases::Running::default(),
            revalidating: leases::Running::default(),
            keys: keys::KeyCache::default(),
        }
    }

    /// The same host, reporting what became of the `--plugin-dir` libraries.
    pub fn with_plugin_loads(mut self, loads: Vec<PluginLoad>) -> Self {
        self.plugin_loads = loads;
        self
    }

    /// The installed platforms' descriptors, by type name.
    pub fn descriptors(&self) -> Vec<&PlatformDescriptor> {
        self.platforms.descriptors()
    }

    /// The installed platforms' type names, sorted.
    pub fn platform_names(&self) -> Vec<&str> {
        self.platforms.names()
    }

    pub fn plugin_loads(&self) -> &[PluginLoad] {
        &self.plugin_loads
    }

    /// One integration as stored (public configuration, sealed secrets).
    pub async fn integration(&self, id: i64) -> Result<IntegrationRow, HostError> {
        self.store
            .get(id)
            .await
            .map_err(HostError::internal)?
            .ok_or(HostError::NotFound(id))
    }

    /// A page of integrations, by id, without secrets.
    pub async fn integrations(&self, query: &ListQuery) -> Result<Vec<IntegrationRow>, HostError> {
        crate::metrics::timed(
            crate::metrics::StoreOp::ListPage,
            self.store.list_page(query),
        )
        .await
        .map_err(HostError::internal)
    }

    /// The store, for the events module (streams, webhooks, their worker).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The secrets, for the events module (webhook signing secrets).
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// This process, as the holder of the leases it takes.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Where the store is (for logs).
    pub fn store_description(&self) -> String {
        self.store.describe()
    }

    pub async fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, HostError> {
        crate::metrics::timed(crate::metrics::StoreOp::History, self.store.history(id))
            .await
            .map_err(HostError::internal)?
            .ok_or(HostError::NotFound(id))
    }

    /// How many integrations are in each status (statuses with none are absent).
    pub async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, HostError> {
        crate::metrics::timed(
            crate::metrics::StoreOp::CountByStatus,
            self.store.count_by_status(),
        )
        .await
        .map_err(HostError::internal)
    }

    /// The configuration of a stored integration, secrets in clear.
    fn full_config(&self, row: &IntegrationRow) -> Result<serde_json::Value, HostError> {
        self.secrets
            .open(&row.config, row.secrets.as_deref())
            .map_err(HostError::internal)
    }
}
