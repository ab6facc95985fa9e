//! The host: platforms, the store, the cipher, and the lifecycle runner that
//! starts operations in one transaction, runs them in the background under a
//! lease, and finishes them in one transaction. Expired leases are recovered.

use crate::auth::{self, ApiKey, Role};
use crate::body::Payload;
use crate::crypto::Cipher;
use crate::error::ApiError;
use crate::store::{
    Finish, IntegrationRow, NewIntegration, OpLease, SecretsUpdate, StartOp, Store, StoreError,
};
use crate::util::{now_ms, random_id, scrub, secret_strings};
use axum::http::StatusCode;
use junction_core::config::{join_secrets, keep_omitted_secrets, split_secrets};
use junction_core::runner::RunOptions;
use junction_core::{
    CheckContext, DeleteCredentials, DynPlatform, Event, OpContext, OpError, Peer,
    PlatformDescriptor, Registry, Script, ScriptKind, Status, TestStatus, TransitionError,
    ValidationResults, ValidationTest,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tracing::Instrument;

/// Tunables of the runner.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long an operation's lease lasts without renewal.
    pub lease_ttl: Duration,
    /// An operation running longer fails.
    pub operation_timeout: Duration,
    /// Default per-check timeout.
    pub check_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lease_ttl: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(600),
            check_timeout: junction_core::runner::DEFAULT_TIMEOUT,
        }
    }
}

/// A platform and what the host keeps about it.
pub struct PlatformEntry {
    pub platform: Arc<dyn DynPlatform>,
    pub descriptor: PlatformDescriptor,
}

/// Who called.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
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
}

impl OpKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Edit => "edit",
            OpKind::Delete => "delete",
            OpKind::Migrate => "migrate",
        }
    }
}

pub struct Host {
    pub store: Arc<dyn Store>,
    pub platforms: HashMap<String, PlatformEntry>,
    pub registry: Registry,
    cipher: Cipher,
    pub owner: String,
    pub settings: Settings,
    /// Shared-library plugins found in `--plugin-dir`, loaded or refused.
    pub plugin_loads: Vec<crate::PluginLoad>,
    running: AtomicUsize,
    /// Operations this process is running: recovery never takes them over,
    /// even when a starved renewal let their lease lapse.
    running_ops: std::sync::Mutex<std::collections::HashSet<String>>,
    keys: RwLock<HashMap<String, ApiKey>>,
    /// Peer lists by type, kept up to date from this host's own writes (only
    /// with a single-writer store); `None` reads them from the store each time.
    peer_cache: Option<std::sync::Mutex<HashMap<String, PeerEntry>>>,
}

/// A platform's cached peer list.
enum PeerEntry {
    /// Being read from the store; writes noted meanwhile wait here.
    Loading { noted: Vec<NotedRow> },
    /// Up to date; `versions` has the last version applied for every id seen
    /// (also for ids since removed), so a late note never undoes a newer one.
    Ready {
        list: Arc<Vec<Arc<Peer>>>,
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

fn apply_note(list: &mut Arc<Vec<Arc<Peer>>>, versions: &mut HashMap<i64, i64>, row: &NotedRow) {
    if versions.get(&row.id).is_some_and(|v| *v >= row.version) {
        return;
    }
    versions.insert(row.id, row.version);
    // In place when no running check holds the list; otherwise a copy of
    // pointers (the entries are shared).
    let v = Arc::make_mut(list);
    let pos = v.binary_search_by_key(&row.id, |p| p.id);
    if row.status.in_use() {
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

/// A background job.
struct Job {
    id: i64,
    op_id: String,
    kind: OpKind,
    platform: Arc<dyn DynPlatform>,
    paths: Vec<String>,
    auto_bootstrap: bool,
    bootstrap_version: u32,
    old_full: Option<Value>,
    new_full: Option<Value>,
    new_account_key: Option<String>,
    privileged: Option<Value>,
    key_id: Option<String>,
    /// Tests only: where the operation is made to fail.
    fault: Option<junction_core::FaultInjection>,
    scrub: Vec<String>,
    /// Store the attempted config when a create fails (a retry from createError).
    store_attempt: bool,
}

fn store_err(id: i64, verb: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(id) => ApiError::not_found_integration(id),
        StoreError::Transition(TransitionError::NotFound) => ApiError::not_found_integration(id),
        StoreError::Transition(t) => {
            ApiError::conflict(format!("Cannot {verb} integration {id}: {t}."))
        }
        StoreError::VersionConflict { .. } => ApiError::conflict(format!(
            "Cannot {verb} integration {id}: it was changed by another request at the same time; read it again and retry."
        )),
        StoreError::AccountTaken { id: other } => ApiError::conflict(format!(
            "Integration {other} already uses this platform account."
        )),
        other => ApiError::internal(other),
    }
}

/// Results for a run that has not happened yet: each declared test, skipped.
pub fn pending_results(d: &PlatformDescriptor) -> ValidationResults {
    ValidationResults::new(
        d.checks
            .iter()
            .map(|c| ValidationTest {
                name: c.name.clone(),
                status: TestStatus::Skipped,
                message: Some("Not run yet: the tests run in the background.".into()),
            })
            .collect(),
    )
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Host {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Registry,
        cipher: Cipher,
        settings: Settings,
    ) -> Self {
        let store_is_single_writer = store.single_writer();
        let platforms = registry
            .iter()
            .map(|p| {
                let descriptor = p.descriptor();
                (
                    descriptor.type_name.clone(),
                    PlatformEntry {
                        platform: Arc::clone(p),
                        descriptor,
                    },
                )
            })
            .collect();
        Host {
            store,
            platforms,
            registry,
            cipher,
            owner: random_id("host_"),
            settings,
            plugin_loads: Vec::new(),
            running: AtomicUsize::new(0),
            running_ops: std::sync::Mutex::new(std::collections::HashSet::new()),
            keys: RwLock::new(HashMap::new()),
            peer_cache: store_is_single_writer.then(|| std::sync::Mutex::new(HashMap::new())),
        }
    }

    /// The other in-use integrations of a platform, for its checks.
    async fn peers(&self, type_name: &str) -> Result<Arc<Vec<Arc<Peer>>>, StoreError> {
        let Some(cache) = &self.peer_cache else {
            let rows = self.store.peers(type_name).await?;
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
        let rows = match self.store.peers(type_name).await {
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
    fn note(&self, row: &IntegrationRow) {
        let Some(cache) = &self.peer_cache else {
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

    /// Operations running in this process.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    pub fn platform(&self, type_name: &str) -> Result<&PlatformEntry, ApiError> {
        self.platforms.get(type_name).ok_or_else(|| {
            let mut names: Vec<&str> = self.platforms.keys().map(String::as_str).collect();
            names.sort_unstable();
            ApiError::field(
                "type",
                format!(
                    "unknown integration type \"{type_name}\"; this host supports: {}",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            )
        })
    }

    /// The caller's key, if valid.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, ApiError> {
        let hash = auth::hash_key(secret);
        if let Ok(cache) = self.keys.read() {
            if let Some(k) = cache.get(&hash) {
                return Ok(Some(k.clone()));
            }
        }
        let found = self
            .store
            .find_key(&hash)
            .await
            .map_err(ApiError::internal)?;
        if let (Some(k), Ok(mut cache)) = (&found, self.keys.write()) {
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

    /// Checks that the secret key is the one the store was written with (an
    /// encrypted check value is kept on first start).
    pub async fn verify_secret_key(&self) -> Result<(), crate::serve::ServeError> {
        const CHECK: &[u8] = b"junction-secret-key-check";
        match self.store.get_meta("secret_key_check").await? {
            Some(blob) => match self.cipher.open(&blob) {
                Ok(plain) if plain == CHECK => Ok(()),
                _ => Err(crate::serve::ServeError::WrongKey),
            },
            None => {
                let blob = self.cipher.seal(CHECK)?;
                self.store.set_meta("secret_key_check", &blob).await?;
                Ok(())
            }
        }
    }

    fn full_config(&self, row: &IntegrationRow) -> Result<Value, ApiError> {
        let public: Value = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
        let secrets = self
            .cipher
            .open_secrets(row.secrets.as_deref())
            .map_err(ApiError::internal)?;
        Ok(join_secrets(&public, &secrets))
    }

    fn seal(&self, full: &Value, paths: &[String]) -> Result<(String, Option<Vec<u8>>), ApiError> {
        let (public, secrets) = split_secrets(full, paths);
        let sealed = self
            .cipher
            .seal_secrets(&secrets)
            .map_err(ApiError::internal)?;
        Ok((to_json(&public), sealed))
    }

    async fn get_row(&self, id: i64) -> Result<IntegrationRow, ApiError> {
        self.store
            .get(id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found_integration(id))
    }

    fn lease(&self, kind: OpKind, caller: &Caller) -> OpLease {
        OpLease {
            op_id: random_id("op_"),
            kind: kind.as_str().to_owned(),
            owner: self.owner.clone(),
            expires_ms: now_ms()
                + i64::try_from(self.settings.lease_ttl.as_millis()).unwrap_or(i64::MAX / 2),
            key_id: Some(caller.key.id.clone()),
        }
    }

    async fn context(
        &self,
        type_name: &str,
        id: Option<i64>,
        auto: bool,
    ) -> Result<CheckContext, ApiError> {
        let peers = self.peers(type_name).await.map_err(ApiError::internal)?;
        Ok(CheckContext {
            integration_id: id,
            auto_bootstrap: auto,
            peers,
        })
    }

    fn run_options(&self, platform: &str) -> RunOptions {
        RunOptions {
            default_timeout: self.settings.check_timeout,
            timeout_override: None,
            platform: platform.to_owned(),
        }
    }

    /// POST /integrations.
    pub async fn create(
        self: &Arc<Self>,
        payload: Payload,
        caller: &Caller,
        idempotency: Option<(String, String)>,
    ) -> Result<IntegrationRow, ApiError> {
        let entry = self.platform(&payload.type_name)?;
        let paths = entry.descriptor.secret_paths.clone();
        let scrub_list = secret_strings(&payload.config, &paths);
        let parsed = entry
            .platform
            .parse(&payload.config, payload.auto_bootstrap)
            .map_err(|e| ApiError::invalid(e).scrubbed(&scrub_list))?;
        // Privileged set-up credentials (autoBootstrap) are used once, never stored.
        let (public, sealed) = if payload.auto_bootstrap {
            (to_json(&parsed.public), None)
        } else {
            self.seal(&parsed.full, &paths)?
        };
        let lease = self.lease(OpKind::Create, caller);
        let new = NewIntegration {
            type_name: payload.type_name.clone(),
            account_key: parsed.account_key.clone(),
            auto_bootstrap: payload.auto_bootstrap,
            config: public,
            secrets: sealed,
            validation_results: to_json(&pending_results(&entry.descriptor)),
            lease: lease.clone(),
            idempotency,
        };
        let row = match self.store.insert(new).await {
            Ok(row) => row,
            Err(StoreError::AccountTaken { id }) => {
                return Err(ApiError::conflict(format!(
                    "{} integration already exists on {} (id = {id}).",
                    payload.type_name, parsed.account_key
                ))
                .scrubbed(&scrub_list));
            }
            Err(StoreError::IdempotentReplay {
                id,
                same_request: true,
            }) => {
                return self.get_row(id).await;
            }
            Err(StoreError::IdempotentReplay {
                id,
                same_request: false,
            }) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("The Idempotency-Key was already used, with a different payload, for integration {id}."),
                )
                .with_details(vec![junction_core::FieldError::new(
                    "Idempotency-Key",
                    "already used with a different payload",
                )]));
            }
            Err(e) => return Err(ApiError::internal(e)),
        };
        self.note(&row);
        self.spawn(Job {
            id: row.id,
            op_id: lease.op_id,
            kind: OpKind::Create,
            platform: Arc::clone(&entry.platform),
            paths,
            auto_bootstrap: payload.auto_bootstrap,
            bootstrap_version: 0,
            old_full: None,
            new_full: Some(parsed.full),
            new_account_key: None,
            privileged: None,
            key_id: lease.key_id,
            fault: caller.fault.clone(),
            scrub: scrub_list,
            store_attempt: false,
        });
        Ok(row)
    }

    /// PUT /integrations/{id}: edit, or retry a failed create.
    pub async fn edit(
        self: &Arc<Self>,
        id: i64,
        payload: Payload,
        caller: &Caller,
    ) -> Result<IntegrationRow, ApiError> {
        let row = self.get_row(id).await?;
        if payload.type_name != row.type_name {
            return Err(ApiError::field(
                "type",
                format!(
                    "cannot change the type of integration {id} from \"{}\"",
                    row.type_name
                ),
            ));
        }
        let entry = self.platform(&row.type_name)?;
        let paths = entry.descriptor.secret_paths.clone();
        // Refuse early (and cheaply) what the transition would refuse anyway.
        let event = Event::StartEdit;
        if let Err(t) = junction_core::transition(Some(row.status), event) {
            return Err(store_err(id, "edit", StoreError::Transition(t)));
        }
        let old_full = self.full_config(&row)?;
        let mut new_config = payload.config.clone();
        keep_omitted_secrets(&mut new_config, &old_full, &paths);
        let mut scrub_list = secret_strings(&new_config, &paths);
        scrub_list.extend(secret_strings(&old_full, &paths));
        let parsed = entry
            .platform
            .parse(&new_config, payload.auto_bootstrap)
            .map_err(|e| ApiError::invalid(e).scrubbed(&scrub_list))?;
        let retry_create = row.status == Status::CreateError;
        let kind = if retry_create {
            OpKind::Create
        } else {
            OpKind::Edit
        };
        let lease = self.lease(kind, caller);
        let new_account_key =
            (parsed.account_key != row.account_key).then(|| parsed.account_key.clone());
        let started = self
            .store
            .start_operation(StartOp {
                id,
                expected_version: Some(row.version),
                event,
                lease: lease.clone(),
                new_account_key: new_account_key.clone(),
                validation_results: Some(to_json(&pending_results(&entry.descriptor))),
            })
            .await;
        let started = match started {
            Err(StoreError::AccountTaken { id: other }) => {
                return Err(ApiError::conflict(format!(
                    "{} integration already exists on {} (id = {other}).",
                    row.type_name, parsed.account_key
                ))
                .scrubbed(&scrub_list));
            }
            other => other.map_err(|e| store_err(id, "edit", e))?,
        };
        self.note(&started);
        self.spawn(Job {
            id,
            op_id: lease.op_id,
            kind,
            platform: Arc::clone(&entry.platform),
            paths,
            auto_bootstrap: payload.auto_bootstrap,
            bootstrap_version: row.bootstrap_version,
            old_full: Some(old_full),
            new_full: Some(parsed.full),
            new_account_key: Some(parsed.account_key),
            privileged: None,
            key_id: lease.key_id,
            fault: caller.fault.clone(),
            scrub: scrub_list,
            store_attempt: retry_create,
        });
        Ok(started)
    }

    /// DELETE /integrations/{id}, with privileged credentials when the
    /// platform's rules ask for them.
    pub async fn delete(
        self: &Arc<Self>,
        id: i64,
        body: Option<Value>,
        caller: &Caller,
    ) -> Result<IntegrationRow, ApiError> {
        let row = self.get_row(id).await?;
        let entry = self.platform(&row.type_name)?;
        if let Err(t) = junction_core::transition(Some(row.status), Event::StartDelete) {
            return Err(store_err(id, "delete", StoreError::Transition(t)));
        }
        let body = body.filter(|b| !b.is_null());
        let mut scrub_list = Vec::new();
        if let Some(b) = &body {
            crate::util::collect_strings(b, &mut scrub_list);
        }
        match (
            entry.descriptor.delete_credentials,
            row.auto_bootstrap,
            &body,
        ) {
            (DeleteCredentials::Never, _, Some(_)) => {
                return Err(ApiError::field(
                    crate::error::BODY,
                    format!(
                        "Credentials are not required to disable a {} integration. If you need to update your integration credentials, use PUT to update the integration before disabling.",
                        row.type_name
                    ),
                ));
            }
            (DeleteCredentials::WhenAutomatic, true, None) => {
                return Err(ApiError::field(
                    crate::error::BODY,
                    "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload.",
                ));
            }
            (DeleteCredentials::WhenAutomatic, false, Some(_)) => {
                return Err(ApiError::field(
                    crate::error::BODY,
                    "Credentials are not required for disable unless the integration was configured automatically. If you need to update your integration credentials, use PUT to update the integration before disabling.",
                ));
            }
            _ => {}
        }
        if let Some(b) = &body {
            entry
                .platform
                .parse_delete_credentials(b)
                .map_err(|e| ApiError::invalid(e).scrubbed(&scrub_list))?;
        }
        let old_full = self.full_config(&row)?;
        scrub_list.extend(secret_strings(&old_full, &entry.descriptor.secret_paths));
        let lease = self.lease(OpKind::Delete, caller);
        let started = self
            .store
            .start_operation(StartOp {
                id,
                expected_version: Some(row.version),
                event: Event::StartDelete,
                lease: lease.clone(),
                new_account_key: None,
                validation_results: None,
            })
            .await
            .map_err(|e| store_err(id, "delete", e))?;
        self.note(&started);
        self.spawn(Job {
            id,
            op_id: lease.op_id,
            kind: OpKind::Delete,
            platform: Arc::clone(&entry.platform),
            paths: entry.descriptor.secret_paths.clone(),
            auto_bootstrap: row.auto_bootstrap,
            bootstrap_version: row.bootstrap_version,
            old_full: Some(old_full),
            new_full: None,
            new_account_key: None,
            privileged: body,
            key_id: lease.key_id,
            fault: caller.fault.clone(),
            scrub: scrub_list,
            store_attempt: false,
        });
        Ok(started)
    }

    /// POST /integrations/{id}/migrate.
    pub async fn migrate(
        self: &Arc<Self>,
        id: i64,
        caller: &Caller,
    ) -> Result<IntegrationRow, ApiError> {
        let row = self.get_row(id).await?;
        let entry = self.platform(&row.type_name)?;
        if let Err(t) = junction_core::transition(Some(row.status), Event::StartMigrate) {
            return Err(store_err(id, "migrate", StoreError::Transition(t)));
        }
        let newest = entry.descriptor.bootstrap_version;
        if row.bootstrap_version >= newest {
            return Err(ApiError::conflict(format!(
                "Integration {id} is already at set-up version {}, the newest {} provides.",
                row.bootstrap_version, row.type_name
            )));
        }
        let old_full = self.full_config(&row)?;
        let lease = self.lease(OpKind::Migrate, caller);
        let started = self
            .store
            .start_operation(StartOp {
                id,
                expected_version: Some(row.version),
                event: Event::StartMigrate,
                lease: lease.clone(),
                new_account_key: None,
                validation_results: None,
            })
            .await
            .map_err(|e| store_err(id, "migrate", e))?;
        self.note(&started);
        let scrub_list = secret_strings(&old_full, &entry.descriptor.secret_paths);
        self.spawn(Job {
            id,
            op_id: lease.op_id,
            kind: OpKind::Migrate,
            platform: Arc::clone(&entry.platform),
            paths: entry.descriptor.secret_paths.clone(),
            auto_bootstrap: row.auto_bootstrap,
            bootstrap_version: row.bootstrap_version,
            old_full: Some(old_full),
            new_full: None,
            new_account_key: None,
            privileged: None,
            key_id: lease.key_id,
            fault: caller.fault.clone(),
            scrub: scrub_list,
            store_attempt: false,
        });
        Ok(started)
    }

    /// POST /integrations/validate: the tests create would run; nothing stored.
    pub async fn validate(&self, payload: Payload) -> Result<ValidationResults, ApiError> {
        let entry = self.platform(&payload.type_name)?;
        let scrub_list = secret_strings(&payload.config, &entry.descriptor.secret_paths);
        let ctx = self
            .context(&payload.type_name, None, payload.auto_bootstrap)
            .await?;
        let results = entry
            .platform
            .validate(
                &payload.config,
                ctx,
                &self.run_options(&payload.type_name),
                None,
            )
            .await
            .map_err(|e| ApiError::invalid(e).scrubbed(&scrub_list))?;
        Ok(scrub_results(results, &scrub_list))
    }

    /// The manual-script endpoints. `id` names the stored integration (edit, delete).
    pub async fn script(
        &self,
        kind: ScriptKind,
        id: Option<i64>,
        payload: Option<Payload>,
    ) -> Result<Script, ApiError> {
        let (entry, config, previous, mut scrub_list) = match (id, payload) {
            (Some(id), payload) => {
                let row = self.get_row(id).await?;
                let entry = self.platform(&row.type_name)?;
                let stored = self.full_config(&row)?;
                let mut scrub_list = secret_strings(&stored, &entry.descriptor.secret_paths);
                match payload {
                    Some(p) => {
                        if p.type_name != row.type_name {
                            return Err(ApiError::field(
                                "type",
                                format!("integration {id} is a {} integration", row.type_name),
                            ));
                        }
                        let mut new_config = p.config;
                        keep_omitted_secrets(
                            &mut new_config,
                            &stored,
                            &entry.descriptor.secret_paths,
                        );
                        scrub_list
                            .extend(secret_strings(&new_config, &entry.descriptor.secret_paths));
                        let parsed = entry
                            .platform
                            .parse(&new_config, p.auto_bootstrap)
                            .map_err(|e| ApiError::invalid(e).scrubbed(&scrub_list))?;
                        (entry, parsed.full, Some(stored), scrub_list)
                    }
                    None => (entry, stored, None, scrub_list),
                }
            }
            (None, Some(p)) => {
                let entry = self.platform(&p.type_name)?;
                let scrub_list = secret_strings(&p.config, &entry.descriptor.secret_paths);
                let parsed = entry
                    .platform
                    .parse(&p.config, p.auto_bootstrap)
                    .map_err(|e| ApiError::invalid(e).scrubbed(&scrub_list))?;
                (entry, parsed.full, None, scrub_list)
            }
            (None, None) => {
                return Err(crate::body::payload(None)
                    .err()
                    .unwrap_or_else(|| ApiError::field(crate::error::BODY, "required")));
            }
        };
        scrub_list.extend(secret_strings(&config, &entry.descriptor.secret_paths));
        let script = entry
            .platform
            .script(kind, &config, previous.as_ref())
            .map_err(|e| match e {
                OpError::Invalid(errors) => ApiError::invalid(errors),
                OpError::Unsupported(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
                OpError::Failed(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            })
            .map_err(|e| e.scrubbed(&scrub_list))?;
        Ok(Script {
            language: script.language,
            statements: script
                .statements
                .iter()
                .map(|s| scrub(s, &scrub_list))
                .collect(),
        })
    }

    fn spawn(self: &Arc<Self>, job: Job) {
        let host = Arc::clone(self);
        let span = tracing::info_span!(
            "operation",
            integration_id = job.id,
            platform = %job.platform.type_name(),
            operation = job.kind.as_str(),
            op_id = %job.op_id,
        );
        self.running.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut ops) = self.running_ops.lock() {
            ops.insert(job.op_id.clone());
        }
        tokio::spawn(
            async move {
                tracing::info!("operation started");
                let (id, op_id) = (job.id, job.op_id.clone());
                let renew = tokio::spawn(renew_lease(Arc::clone(&host), id, op_id.clone()));
                host.run_job(job).await;
                renew.abort();
                if let Ok(mut ops) = host.running_ops.lock() {
                    ops.remove(&op_id);
                }
                host.running.fetch_sub(1, Ordering::SeqCst);
            }
            .instrument(span),
        );
    }

    async fn run_job(&self, job: Job) {
        let timeout = self.settings.operation_timeout;
        let finish = match tokio::time::timeout(timeout, self.work(&job)).await {
            Ok(f) => f,
            Err(_) => self.failure(
                &job,
                None,
                format!(
                    "The {} did not finish within {} s and was abandoned.",
                    job.kind.as_str(),
                    timeout.as_secs()
                ),
            ),
        };
        let succeeded = finish.succeeded;
        match self.store.finish(finish).await {
            Ok(row) => {
                self.note(&row);
                tracing::info!(status = %row.status, succeeded, "operation finished");
            }
            Err(e) => tracing::error!(error = %e, "operation could not be recorded"),
        }
    }

    fn failure(&self, job: &Job, results: Option<String>, message: String) -> Finish {
        let message = scrub(&message, &job.scrub);
        tracing::warn!(message = %message, "operation failed");
        let (config, secrets) = match (&job.new_full, job.store_attempt) {
            (Some(new), true) => match self.seal(new, &job.paths) {
                Ok((public, sealed)) if !job.auto_bootstrap => {
                    (Some(public), SecretsUpdate::Set(sealed))
                }
                Ok((public, _)) => (Some(public), SecretsUpdate::Set(None)),
                Err(_) => (None, SecretsUpdate::Keep),
            },
            _ => (None, SecretsUpdate::Keep),
        };
        Finish {
            id: job.id,
            op_id: job.op_id.clone(),
            succeeded: false,
            validation_results: results,
            config,
            secrets,
            account_key: None,
            auto_bootstrap: job.store_attempt.then_some(job.auto_bootstrap),
            bootstrap_version: None,
            event: "outcome",
            message: Some(message),
        }
    }

    async fn work(&self, job: &Job) -> Finish {
        let verb = job.kind.as_str();
        let mut results_json = None;
        // Create and edit validate first.
        if let (OpKind::Create | OpKind::Edit, Some(new)) = (job.kind, &job.new_full) {
            let ctx = match self
                .context(job.platform.type_name(), Some(job.id), job.auto_bootstrap)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    return self.failure(
                        job,
                        None,
                        format!("The {verb} could not start: {}", e.message),
                    );
                }
            };
            let platform = Arc::clone(&job.platform);
            let config = new.clone();
            let options = self.run_options(job.platform.type_name());
            let run =
                tokio::spawn(async move { platform.validate(&config, ctx, &options, None).await })
                    .await;
            let results = match run {
                Ok(Ok(r)) => scrub_results(r, &job.scrub),
                Ok(Err(e)) => {
                    return self.failure(job, None, format!("The configuration is invalid: {e}"));
                }
                Err(_) => {
                    return self.failure(job, None, "The validation ended abnormally.".into());
                }
            };
            let json = to_json(&results);
            if let Err(e) = self
                .store
                .record_validation(job.id, &job.op_id, &json, job.key_id.as_deref())
                .await
            {
                tracing::error!(error = %e, "validation results could not be recorded");
            }
            results_json = Some(json);
            if !results.ok() {
                let first = results
                    .first_failure()
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                return self.failure(
                    job,
                    results_json,
                    format!("Validation failed: \"{first}\" did not pass."),
                );
            }
        }
        let op = OpContext {
            integration_id: Some(job.id),
            auto_bootstrap: job.auto_bootstrap,
            bootstrap_version: job.bootstrap_version,
            fault: job.fault.clone(),
        };
        let platform = Arc::clone(&job.platform);
        let (old, new, privileged) = (
            job.old_full.clone(),
            job.new_full.clone(),
            job.privileged.clone(),
        );
        let kind = job.kind;
        let outcome = tokio::spawn(async move {
            match kind {
                OpKind::Create => match &new {
                    Some(n) => platform.create(&op, n).await.map(Some),
                    None => Err(OpError::Failed("nothing to create".into())),
                },
                OpKind::Edit => match (&old, &new) {
                    (Some(o), Some(n)) => platform.edit(&op, o, n).await.map(Some),
                    _ => Err(OpError::Failed("nothing to edit".into())),
                },
                OpKind::Delete => match &old {
                    Some(o) => platform
                        .delete(&op, o, privileged.as_ref())
                        .await
                        .map(|()| None),
                    None => Err(OpError::Failed("nothing to delete".into())),
                },
                OpKind::Migrate => match &old {
                    Some(o) => platform.migrate(&op, o).await.map(Some),
                    None => Err(OpError::Failed("nothing to migrate".into())),
                },
            }
        })
        .await;
        let output = match outcome {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                let rolled = match job.kind {
                    OpKind::Create => "",
                    _ => " The integration keeps its previous configuration.",
                };
                return self.failure(
                    job,
                    results_json,
                    format!("The {verb} failed: {e}.{rolled}"),
                );
            }
            Err(join) => {
                let what = if join.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                return self.failure(
                    job,
                    results_json,
                    format!("The platform's {verb} {what}; see the host's log."),
                );
            }
        };
        let mut finish = Finish {
            id: job.id,
            op_id: job.op_id.clone(),
            succeeded: true,
            validation_results: results_json,
            config: None,
            secrets: SecretsUpdate::Keep,
            account_key: job.new_account_key.clone(),
            auto_bootstrap: matches!(job.kind, OpKind::Create | OpKind::Edit)
                .then_some(job.auto_bootstrap),
            bootstrap_version: None,
            event: "outcome",
            message: Some(format!("The {verb} succeeded.")),
        };
        match output {
            Some(out) => match self.seal(&out.config, &job.paths) {
                Ok((public, sealed)) => {
                    finish.config = Some(public);
                    finish.secrets = SecretsUpdate::Set(sealed);
                    finish.bootstrap_version = Some(out.bootstrap_version);
                }
                Err(e) => {
                    return self.failure(
                        job,
                        finish.validation_results,
                        format!("The result could not be stored: {}", e.message),
                    );
                }
            },
            // Deleted: the secrets go.
            None => finish.secrets = SecretsUpdate::Set(None),
        }
        finish
    }

    /// Ends every operation whose lease has expired: the host that ran it
    /// stopped. Nothing can be known of the platform's side, so the
    /// integration goes to the operation's error status with its previous
    /// configuration, and the history says so.
    pub async fn recover_expired(&self) -> Result<usize, StoreError> {
        let expired = self.store.expired_operations(now_ms()).await?;
        let mut n = 0;
        for e in expired {
            let ours = self
                .running_ops
                .lock()
                .map(|ops| ops.contains(&e.lease.op_id))
                .unwrap_or(false);
            if ours {
                // Still running here: renew instead of rolling back.
                let until = now_ms()
                    + i64::try_from(self.settings.lease_ttl.as_millis()).unwrap_or(i64::MAX / 2);
                let _ = self.store.renew_lease(e.id, &e.lease.op_id, until).await;
                continue;
            }
            let message = format!(
                "The host running this {} (lease holder {}) stopped before it finished; the lease expired at {}. \
                 The operation was rolled back: the integration keeps its previous configuration. \
                 Objects the operation may have created on the platform are not known: check them, \
                 or use the cleanup or edit script.",
                e.lease.kind,
                e.lease.owner,
                crate::util::rfc3339(e.lease.expires_ms)
            );
            let finish = Finish {
                id: e.id,
                op_id: e.lease.op_id.clone(),
                succeeded: false,
                validation_results: None,
                config: None,
                secrets: SecretsUpdate::Keep,
                account_key: None,
                auto_bootstrap: None,
                bootstrap_version: None,
                event: "recovered",
                message: Some(message),
            };
            match self.store.finish(finish).await {
                Ok(row) => {
                    self.note(&row);
                    n += 1;
                    tracing::warn!(integration_id = e.id, from = %e.status, to = %row.status, operation = %e.lease.kind, "recovered an interrupted operation");
                }
                Err(StoreError::LeaseLost(_)) => {}
                Err(err) => tracing::error!(integration_id = e.id, error = %err, "recovery failed"),
            }
        }
        Ok(n)
    }

    /// Recovers expired leases now and then, until the process ends.
    pub fn spawn_reaper(self: &Arc<Self>) {
        let host = Arc::clone(self);
        let every = (self.settings.lease_ttl / 2).max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = host.recover_expired().await {
                    tracing::error!(error = %e, "lease recovery failed");
                }
            }
        });
    }
}

async fn renew_lease(host: Arc<Host>, id: i64, op_id: String) {
    let every = (host.settings.lease_ttl / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        let until =
            now_ms() + i64::try_from(host.settings.lease_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        match host.store.renew_lease(id, &op_id, until).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(integration_id = id, "the operation's lease was lost");
                return;
            }
            Err(e) => tracing::error!(integration_id = id, error = %e, "lease renewal failed"),
        }
    }
}

/// Results with every secret string scrubbed from the messages.
pub fn scrub_results(mut r: ValidationResults, secrets: &[String]) -> ValidationResults {
    for t in &mut r.validation_tests {
        if let Some(m) = &t.message {
            t.message = Some(scrub(m, secrets));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

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
                kind: "create".into(),
                owner: "t".into(),
                expires_ms: i64::MAX / 2,
                key_id: None,
            },
            idempotency: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_peer_cache_follows_writes_copy_on_write() {
        let dir = std::env::temp_dir().join(random_id("junction-host-test-"));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
        let host = Host::new(
            Arc::clone(&store),
            Registry::new(),
            Cipher::from_key(&[1; 32]),
            Settings::default(),
        );
        store.insert(new("a")).await.unwrap();
        store.insert(new("b")).await.unwrap();
        let first = host.peers("T").await.unwrap();
        assert_eq!(first.len(), 2);
        // Cached: a write that bypasses the host is not seen...
        let c = store.insert(new("c")).await.unwrap();
        assert_eq!(host.peers("T").await.unwrap().len(), 2);
        // ...until the host notes it; the list held by a running check stays as it was.
        host.note(&c);
        let second = host.peers("T").await.unwrap();
        assert_eq!(second.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(second[2].config["account"], "c");
        assert_eq!(first.len(), 2);
        let mut gone = c.clone();
        gone.status = Status::Deleted;
        gone.version += 1;
        host.note(&gone);
        // A late note of an older version does not bring it back.
        host.note(&c);
        assert_eq!(host.peers("T").await.unwrap().len(), 2);
        assert!(host.peers("U").await.unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
