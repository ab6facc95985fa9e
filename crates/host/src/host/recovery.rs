//! Recovery of an operation taken over after its host stopped (its lease
//! expired and this host claimed it under a new operation id, so the old
//! host can no longer renew, journal or finish it), from its journal:
//!
//! - no step had started: nothing changed on the platform;
//! - steps ran and the operation's input was kept (manual set-ups, edits,
//!   migrations: the host holds the credentials their undo needs): it is
//!   replayed with the journal, the platform's rollback undoing exactly the
//!   steps applied;
//! - otherwise (an automatic create or delete, whose privileged credentials
//!   were never stored), or for what an undo could not remove: the objects
//!   left are named in the history and the integration's response, and
//!   `scripts/delete` removes exactly them.
//!
//! Either way the operation ends in its error status with the previous
//! configuration.

use super::Host;
use super::journal::Journal;
use super::work::Work;
use crate::secrets::{ScrubList, to_json};
use crate::store::{Claimed, Finish, JournalEntry, Leftovers, OpLease, SecretsUpdate, StoreError};
use crate::util::rfc3339;
use junction_core::{OpContext, plan};
use serde_json::json;
use std::sync::Arc;

impl Host {
    /// Ends a claimed operation; `true` when it was ended here.
    pub(super) async fn recover(self: &Arc<Self>, c: Claimed) -> bool {
        let Some(lease) = c.row.op.clone() else {
            return false;
        };
        let previous = &c.previous;
        let head = format!(
            "The host running this {} (lease holder {}) stopped before it finished; the lease expired at {}, \
             and host {} took it over.",
            previous.kind,
            previous.owner,
            rfc3339(previous.expires_ms),
            self.owner
        );
        let observed = !self
            .plugin_loads
            .iter()
            .any(|l| l.r#type.as_deref() == Some(c.row.type_name.as_str()));
        let journal = match self.store.journal(&lease.origin).await {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(integration_id = c.row.id, error = %e, "the journal could not be read; recovery waits");
                return false;
            }
        };
        let (message, leftovers) = if !observed {
            (
                format!(
                    "{head} The operation was rolled back: the integration keeps its previous configuration. \
                 Its platform is a shared-library plugin, whose plan steps are not journaled: objects it may have \
                 created on the platform are not known; check them, or use the cleanup or edit script."
                ),
                Leftovers::Keep,
            )
        } else if journal.is_empty() {
            (
                format!(
                    "{head} No step of its plan had started: nothing was changed on the platform, and the integration \
                 keeps its previous configuration."
                ),
                Leftovers::Keep,
            )
        } else {
            let (replayed, journal) = self.replay(&c, &lease, journal).await;
            account(&head, replayed, &journal)
        };
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
            leftovers,
        };
        let finished = self.store.finish(finish);
        match crate::metrics::timed(crate::metrics::StoreOp::Finish, finished).await {
            Ok(row) => {
                self.peers.note(&row);
                crate::metrics::global().operation(
                    &row.type_name,
                    &previous.kind,
                    crate::metrics::Outcome::Recovered,
                );
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

    /// Replays the operation to undo its applied steps, when its input was
    /// kept; the outcome (`None`: not replayable) and the journal after.
    async fn replay(
        self: &Arc<Self>,
        c: &Claimed,
        lease: &OpLease,
        journal: Vec<JournalEntry>,
    ) -> (Option<Result<(), String>>, Vec<JournalEntry>) {
        let row = &c.row;
        let work = c
            .input
            .as_deref()
            .and_then(|blob| self.secrets.open_value(blob).ok())
            .and_then(|v| Work::from_input(&v));
        let (Some(work), Ok(entry)) = (work, self.platforms.get(&row.type_name)) else {
            return (None, journal);
        };
        let paths = entry.secret_paths();
        let mut scrub = ScrubList::default();
        for v in [work.to_validate(), work.attempt_kept_on_failure()]
            .into_iter()
            .flatten()
        {
            scrub.add(v, paths);
        }
        if let Ok(stored) = self.full_config(row) {
            scrub.add(&stored, paths);
        }
        let observer = Arc::new(Journal::replay(
            Arc::clone(&self.store),
            row.id,
            &lease.op_id,
            &lease.origin,
            scrub.clone(),
            journal.clone(),
        ));
        let op = OpContext {
            integration_id: Some(row.id),
            auto_bootstrap: row.auto_bootstrap,
            bootstrap_version: row.bootstrap_version,
            fault: None,
        };
        let platform = Arc::clone(&entry.platform);
        let (lost_tx, lost) = tokio::sync::oneshot::channel();
        let renew =
            tokio::spawn(Arc::clone(self).renew_lease(row.id, lease.op_id.clone(), lost_tx));
        let run = tokio::spawn(plan::observed(observer, async move {
            work.run(platform.as_ref(), &op).await.map(|_| ())
        }));
        let abort = run.abort_handle();
        let outcome = tokio::select! {
            r = tokio::time::timeout(self.settings.operation_timeout, run) => match r {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(e))) => Err(scrub.text(&e.to_string())),
                Ok(Err(_)) => Err("the platform's undo ended abnormally".into()),
                Err(_) => Err("the platform's undo did not finish in time".into()),
            },
            Ok(()) = lost => Err("this host lost the lease meanwhile".into()),
        };
        abort.abort();
        renew.abort();
        let after = self.store.journal(&lease.origin).await.unwrap_or(journal);
        (Some(outcome), after)
    }
}

/// The recovery's history message and leftovers, from the journal.
fn account(
    head: &str,
    replayed: Option<Result<(), String>>,
    journal: &[JournalEntry],
) -> (String, Leftovers) {
    let undone: Vec<&str> = journal
        .iter()
        .filter(|e| e.state == crate::store::StepState::Undone)
        .map(|e| e.step_id.as_str())
        .collect();
    let left: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.state.left_on_platform())
        .collect();
    let mut m = head.to_owned();
    match &replayed {
        Some(_) if !undone.is_empty() => {
            m.push_str(&format!(" It undid on the platform the steps applied: {}.", undone.join(", ")))
        }
        Some(_) => {}
        None => m.push_str(
            " The operation used privileged credentials that are never stored, so its steps could not be undone here.",
        ),
    }
    if let Some(Err(why)) = &replayed {
        if !left.is_empty() {
            m.push_str(&format!(" Undoing the rest failed: {why}."));
        }
    }
    if left.is_empty() {
        m.push_str(" Nothing it created is left on the platform; the integration keeps its previous configuration.");
        return (m, Leftovers::Keep);
    }
    let named: Vec<String> = left
        .iter()
        .map(|e| {
            let state = match e.state {
                crate::store::StepState::Started => "started, may or may not have been applied",
                crate::store::StepState::UndoFailed => "applied; its undo failed",
                _ => "applied",
            };
            format!("{} ({state}: {})", e.step_id, e.apply)
        })
        .collect();
    m.push_str(&format!(
        " Left on the platform: {}. The integration keeps its previous configuration; its response lists these \
         objects and scripts/delete removes exactly them.",
        named.join("; ")
    ));
    let list: Vec<serde_json::Value> = left
        .iter()
        .map(|e| {
            json!({
                "step": e.step_id,
                "state": if e.state == crate::store::StepState::Started { "in doubt" } else { "applied" },
                "statement": e.apply,
                "undo": e.undo,
            })
        })
        .collect();
    (m, Leftovers::Set(to_json(&list)))
}
