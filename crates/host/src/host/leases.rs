//! Leases and recovery. A running operation holds a lease on its integration,
//! renewed while it runs; an expired lease means its host stopped, and
//! recovery ends the operation in its error status with the previous
//! configuration.

use super::{Caller, Host, OpKind};
use crate::store::{Finish, OpLease, SecretsUpdate, StoreError};
use crate::util::{now_ms, random_id, rfc3339};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The operations this process is running.
#[derive(Default)]
pub struct Running {
    count: AtomicUsize,
    /// Recovery never takes these over, even when a starved renewal let
    /// their lease lapse.
    ops: Mutex<HashSet<String>>,
}

impl Running {
    pub fn begin(&self, op_id: &str) {
        self.count.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut ops) = self.ops.lock() {
            ops.insert(op_id.to_owned());
        }
    }

    pub fn end(&self, op_id: &str) {
        if let Ok(mut ops) = self.ops.lock() {
            ops.remove(op_id);
        }
        self.count.fetch_sub(1, Ordering::SeqCst);
    }

    fn holds(&self, op_id: &str) -> bool {
        self.ops
            .lock()
            .map(|ops| ops.contains(op_id))
            .unwrap_or(false)
    }
}

impl Host {
    /// Operations running in this process.
    pub fn running(&self) -> usize {
        self.running.count.load(Ordering::SeqCst)
    }

    /// When a lease taken or renewed now expires.
    fn lease_expiry(&self) -> i64 {
        now_ms() + i64::try_from(self.settings.lease_ttl.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// A new lease for an operation of `kind` started by `caller`.
    pub(super) fn lease(&self, kind: OpKind, caller: &Caller) -> OpLease {
        OpLease {
            op_id: random_id("op_"),
            kind: kind.as_str().to_owned(),
            owner: self.owner.clone(),
            expires_ms: self.lease_expiry(),
            key_id: Some(caller.key.id.clone()),
        }
    }

    /// Renews the lease of a running operation until it is lost (the task is
    /// aborted when the operation ends).
    pub(super) async fn renew_lease(self: Arc<Self>, id: i64, op_id: String) {
        let every = (self.settings.lease_ttl / 3).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(every).await;
            match self
                .store
                .renew_lease(id, &op_id, self.lease_expiry())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(integration_id = id, "the operation's lease was lost");
                    return;
                }
                Err(e) => tracing::error!(integration_id = id, error = %e, "lease renewal failed"),
            }
        }
    }

    /// Ends every operation whose lease has expired: the host that ran it
    /// stopped. Nothing can be known of the platform's side, so the
    /// integration goes to the operation's error status with its previous
    /// configuration, and the history says so.
    pub async fn recover_expired(&self) -> Result<usize, StoreError> {
        let expired = self.store.expired_operations(now_ms()).await?;
        let mut n = 0;
        for e in expired {
            if self.running.holds(&e.lease.op_id) {
                // Still running here: renew instead of rolling back.
                let _ = self
                    .store
                    .renew_lease(e.id, &e.lease.op_id, self.lease_expiry())
                    .await;
                continue;
            }
            let message = format!(
                "The host running this {} (lease holder {}) stopped before it finished; the lease expired at {}. \
                 The operation was rolled back: the integration keeps its previous configuration. \
                 Objects the operation may have created on the platform are not known: check them, \
                 or use the cleanup or edit script.",
                e.lease.kind,
                e.lease.owner,
                rfc3339(e.lease.expires_ms)
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
                    self.peers.note(&row);
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
