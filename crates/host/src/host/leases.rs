//! Leases and recovery. A running operation holds a lease on its integration,
//! renewed while it runs; an expired lease means its host stopped, and
//! recovery ends the operation in its error status with the previous
//! configuration.

use super::{Caller, Host, OpKind};
use crate::store::{Claim, OpLease, StoreError};
use crate::util::{now_ms, random_id};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many expired operations one recovery round takes over.
const CLAIM_BATCH: usize = 64;

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

    pub(super) fn op_ids(&self) -> Vec<String> {
        self.ops
            .lock()
            .map(|ops| ops.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Host {
    /// Operations running in this process.
    pub fn running(&self) -> usize {
        self.running.count.load(Ordering::SeqCst)
    }

    /// When a lease taken or renewed now expires.
    pub(super) fn lease_expiry(&self) -> i64 {
        now_ms() + i64::try_from(self.settings.lease_ttl.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// A new lease for an operation of `kind` started by `caller`.
    pub(super) fn lease(&self, kind: OpKind, caller: &Caller) -> OpLease {
        let op_id = random_id("op_");
        OpLease {
            origin: op_id.clone(),
            op_id,
            kind: kind.as_str().to_owned(),
            owner: self.owner.clone(),
            expires_ms: self.lease_expiry(),
            key_id: Some(caller.key.id.clone()),
        }
    }

    /// Renews the lease of a running operation until it is lost (the task is
    /// aborted when the operation ends); then `lost` fires, and the runner
    /// stops the operation: its new holder finishes it.
    pub(super) async fn renew_lease(
        self: Arc<Self>,
        id: i64,
        op_id: String,
        lost: tokio::sync::oneshot::Sender<()>,
    ) {
        let every = (self.settings.lease_ttl / 3).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(every).await;
            let renew = self.store.renew_lease(id, &op_id, self.lease_expiry());
            match crate::metrics::timed(crate::metrics::StoreOp::RenewLease, renew).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        integration_id = id,
                        "the operation's lease was lost: another host took it over"
                    );
                    let _ = lost.send(());
                    return;
                }
                Err(e) => tracing::error!(integration_id = id, error = %e, "lease renewal failed"),
            }
        }
    }

    /// Takes over every operation whose lease has expired (its host
    /// stopped) and ends it: see `recovery.rs`. Returns how many were ended.
    pub async fn recover_expired(self: &Arc<Self>) -> Result<usize, StoreError> {
        let claim = Claim {
            now_ms: now_ms(),
            owner: self.owner.clone(),
            expires_ms: self.lease_expiry(),
            op_prefix: format!("{}_", random_id("op_")),
            except: self.running.op_ids(),
            limit: CLAIM_BATCH,
        };
        let claimed = crate::metrics::timed(
            crate::metrics::StoreOp::ClaimExpired,
            self.store.claim_expired(&claim),
        )
        .await?;
        let mut n = 0;
        for c in claimed {
            if self.recover(c).await {
                n += 1;
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
