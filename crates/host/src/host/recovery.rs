//! Recovery of an operation taken over after its host stopped (its lease
//! expired and this host claimed it under a new operation id, so the old
//! host can no longer renew, journal or finish it). The operation ends in
//! its error status with the previous configuration.

use super::Host;
use crate::store::{Claimed, Finish, Leftovers, SecretsUpdate, StoreError};
use crate::util::rfc3339;

impl Host {
    /// Ends a claimed operation; `true` when it was ended here.
    pub(super) async fn recover(&self, c: Claimed) -> bool {
        let Some(lease) = c.row.op.clone() else {
            return false;
        };
        let previous = &c.previous;
        let message = format!(
            "The host running this {} (lease holder {}) stopped before it finished; the lease expired at {}. \
             Host {} took it over and rolled it back: the integration keeps its previous configuration. \
             Objects the operation may have created on the platform are not known: check them, \
             or use the cleanup or edit script.",
            previous.kind,
            previous.owner,
            rfc3339(previous.expires_ms),
            self.owner
        );
        let finish = Finish {
            id: c.row.id,
            op_id: lease.op_id.clone(),
            succeeded: false,
            validation_results: None,
            config: None,
            secrets: SecretsUpdate::Keep,
            account_key: None,
            auto_bootstrap: None,
            bootstrap_version: None,
            event: "recovered",
            message: Some(message),
            leftovers: Leftovers::Keep,
        };
        match self.store.finish(finish).await {
            Ok(row) => {
                self.peers.note(&row);
                tracing::warn!(integration_id = row.id, from = %c.row.status, to = %row.status, operation = %previous.kind, "recovered an interrupted operation");
                true
            }
            Err(StoreError::LeaseLost(_)) => false,
            Err(err) => {
                tracing::error!(integration_id = c.row.id, error = %err, "recovery failed");
                false
            }
        }
    }
}
