//! Recurring validation, disable and enable.
//!
//! Each `enabled` or `recurringValidationError` integration is re-validated
//! every `revalidateEvery` (its own) or `--revalidate-every` (the server's
//! default, hourly), jittered by ±10% so that integrations created together
//! do not all run together. A run takes the integration's operation lease
//! (kind `validate`) in one claim, so it never overlaps an operation and,
//! with several hosts on one PostgreSQL store, exactly one host runs it; it
//! validates with the stored credentials through the same path as `POST
//! /integrations/validate` (`validation.rs`), each test stored as an event
//! as it finishes; and it ends in one transaction: a failure moves `enabled`
//! to `recurringValidationError` with the results, a pass moves it back,
//! and every run is a history line. An operation a caller starts meanwhile
//! takes the lease over, and the run's end is then refused (fenced).
//!
//! `disable` changes nothing on the platform: the status becomes `disabled`
//! (not in use, never re-validated; its account stays taken). `enable`
//! validates first, under the lease (kind `enable`): a pass is `enabled`,
//! a failure stays `disabled` with the results in the answer and the history.

use super::operations::may_start;
use super::{Caller, Host, HostError, OpKind, PlatformEntry, run_options, validate};
use crate::metrics::{Outcome, RecurringOutcome};
use crate::payload::Payload;
use crate::store::recurring::{RevalidationClaim, RevalidationEnd};
use crate::store::{IntegrationRow, StoreError};
use crate::util::{now_ms, random_bytes, random_id};
use junction_core::{Event, Status, ValidationResults};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The server's default interval (`--revalidate-every`).
pub const DEFAULT_REVALIDATE_EVERY: Duration = Duration::from_secs(3600);
/// How many integrations one round schedules or claims.
const BATCH: usize = 64;
/// The longest wait between two rounds: a per-integration interval shorter
/// than the server's default is honoured within it.
const MAX_TICK: Duration = Duration::from_secs(5);

/// `interval` spread by ±10%: `unit` in `[0, 1)` picks where.
pub fn jittered(interval: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.5
    };
    interval.mul_f64(0.9 + 0.2 * unit)
}

/// A uniform number in `[0, 1)` from the operating system's generator.
fn random_unit() -> f64 {
    let bytes = random_bytes::<8>().unwrap_or_else(|_| now_ms().to_le_bytes());
    // 53 bits: every value exactly representable.
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// How long the background loop waits between rounds.
fn tick(server_default: Option<Duration>) -> Duration {
    server_default.map_or(MAX_TICK, |d| {
        (d / 4).clamp(Duration::from_millis(100), MAX_TICK)
    })
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// What an enable came to.
#[derive(Debug)]
pub enum EnableOutcome {
    /// The validation passed: the integration is `enabled`.
    Enabled(IntegrationRow),
    /// The validation failed: still `disabled`, with these results stored.
    StillDisabled {
        row: IntegrationRow,
        message: String,
    },
}

/// What a re-validation's run came to.
enum Run {
    Validated(ValidationResults),
    /// It could not run (its platform is not installed, its stored
    /// configuration no longer parses): a failure, said in words.
    Refused(String),
    /// An operation took the lease over: nothing is recorded.
    Lost,
}

impl Host {
    /// POST /integrations/{id}/disable: no platform call.
    pub async fn disable(
        self: &Arc<Self>,
        id: i64,
        caller: &Caller,
    ) -> Result<IntegrationRow, HostError> {
        let row = self.integration(id).await?;
        may_start(&row, Event::Disable, "disable")?;
        let row = self
            .store
            .disable(id, row.version, Some(&caller.key.id))
            .await
            .map_err(|e| HostError::from_store(id, "disable", e))?;
        self.peers.note(&row);
        crate::metrics::global().operation(&row.type_name, "disable", Outcome::Succeeded);
        tracing::info!(integration_id = id, platform = %row.type_name, "disabled");
        Ok(row)
    }

    /// POST /integrations/{id}/enable: validates with the stored
    /// credentials first, then enables, or leaves it disabled.
    pub async fn enable(
        self: &Arc<Self>,
        id: i64,
        caller: &Caller,
    ) -> Result<EnableOutcome, HostError> {
        let row = self.integration(id).await?;
        may_start(&row, Event::Enable, "enable")?;
        let lease = self.lease(OpKind::Enable, caller);
        let row = self
            .store
            .begin_enable(id, row.version, &lease)
            .await
            .map_err(|e| HostError::from_store(id, "enable", e))?;
        let span = tracing::info_span!(
            "enable",
            integration_id = id,
            platform = %row.type_name,
            operation = "enable",
            op_id = %lease.op_id,
        );
        let (event, results, message) = match self
            .run_leased(&row, &lease.op_id)
            .instrument(span)
            .await
        {
            Run::Validated(r) if r.ok() => (
                Event::Enable,
                crate::remedies::stored(&r),
                "Enabled: the validation with the stored credentials passed.".to_owned(),
            ),
            Run::Validated(r) => {
                let message = format!(
                    "Still disabled: the validation with the stored credentials failed ({}).",
                    failed_test(&r)
                );
                (Event::EnableFailed, crate::remedies::stored(&r), message)
            }
            Run::Refused(m) => {
                let message = format!("Still disabled: the validation could not run: {m}");
                (Event::EnableFailed, row.validation_results.clone(), message)
            }
            Run::Lost => {
                return Err(HostError::Conflict(format!(
                    "Cannot enable integration {id}: an operation started on it while it was being validated."
                )));
            }
        };
        let end = RevalidationEnd {
            id,
            op_id: lease.op_id.clone(),
            event,
            results,
            message: message.clone(),
            next_validation_at: None,
        };
        let row = self
            .store
            .finish_revalidation(&end)
            .await
            .map_err(|e| match e {
                // A delete took the lease after the validation ended.
                StoreError::LeaseLost(_) => HostError::Conflict(format!(
                    "Cannot enable integration {id}: an operation started on it while it was being validated."
                )),
                e => HostError::from_store(id, "enable", e),
            })?;
        self.peers.note(&row);
        let outcome = if event == Event::Enable {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        crate::metrics::global().operation(&row.type_name, "enable", outcome);
        Ok(match event {
            Event::Enable => EnableOutcome::Enabled(row),
            _ => EnableOutcome::StillDisabled { row, message },
        })
    }

    /// Re-validates now in the background, then every round, until the process ends.
    pub fn spawn_revalidator(self: &Arc<Self>) {
        let host = Arc::clone(self);
        let every = tick(self.settings.revalidate_every);
        tokio::spawn(async move {
            loop {
                if let Err(e) = host.revalidate_due(now_ms()).await {
                    tracing::error!(error = %e, "recurring validation failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// One round at `now` (ms since the epoch; tests pass their own): frees
    /// the leases of runs whose host stopped, schedules what has no next
    /// run, then runs every due one (at once) and waits for them. Returns
    /// how many runs ended.
    pub async fn revalidate_due(self: &Arc<Self>, now: i64) -> Result<usize, StoreError> {
        let default = self.settings.revalidate_every;
        self.store
            // Leases expire by the clock, whatever instant the round is for.
            .release_expired_revalidations(now_ms(), &self.revalidating.op_ids())
            .await?;
        let fresh = self.store.unscheduled(default.is_some(), BATCH).await?;
        let runs: Vec<(i64, i64)> = fresh
            .into_iter()
            .filter_map(|(id, own)| {
                let every = own.interval(default)?;
                Some((id, now + ms(jittered(every, random_unit()))))
            })
            .collect();
        self.store.schedule(&runs).await?;
        let claimed = self
            .store
            .claim_revalidations(&RevalidationClaim {
                now_ms: now,
                default_on: default.is_some(),
                owner: self.owner.clone(),
                expires_ms: self.lease_expiry(),
                op_prefix: format!("{}_", random_id("op_")),
                limit: BATCH,
            })
            .await?;
        let mut tasks = tokio::task::JoinSet::new();
        for row in claimed {
            let host = Arc::clone(self);
            tasks.spawn(async move { host.revalidate(row, now).await });
        }
        let mut ended = 0;
        while let Some(done) = tasks.join_next().await {
            if matches!(done, Ok(true)) {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// One recurring run of a claimed integration; `true` when it was recorded.
    async fn revalidate(self: Arc<Self>, row: IntegrationRow, now: i64) -> bool {
        let Some(op_id) = row.op.as_ref().map(|op| op.op_id.clone()) else {
            return false;
        };
        let span = tracing::info_span!(
            "revalidation",
            integration_id = row.id,
            platform = %row.type_name,
            operation = "validate",
            op_id = %op_id,
        );
        async move {
            let run = self.run_leased(&row, &op_id).await;
            let outcome = match &run {
                Run::Validated(r) if r.ok() => RecurringOutcome::Passed,
                Run::Validated(_) => RecurringOutcome::Failed,
                Run::Refused(_) | Run::Lost => RecurringOutcome::Error,
            };
            let (event, results, message) = match run {
                Run::Validated(r) if r.ok() => {
                    let message = if row.status == Status::Enabled {
                        "Recurring validation passed.".to_owned()
                    } else {
                        "Recurring validation passed: the integration is enabled again.".to_owned()
                    };
                    (Event::RevalidationPassed, crate::remedies::stored(&r), message)
                }
                Run::Validated(r) => {
                    let message = format!("Recurring validation failed ({}).", failed_test(&r));
                    (Event::RevalidationFailed, crate::remedies::stored(&r), message)
                }
                // The results stored stand: this run has none of its own.
                Run::Refused(m) => (
                    Event::RevalidationFailed,
                    row.validation_results.clone(),
                    format!("Recurring validation could not run: {m}"),
                ),
                Run::Lost => {
                    tracing::info!("an operation took the lease over: the recurring validation is dropped");
                    return false;
                }
            };
            let next = row
                .revalidate
                .interval(self.settings.revalidate_every)
                .map(|every| now + ms(jittered(every, random_unit())));
            let end = RevalidationEnd {
                id: row.id,
                op_id: op_id.clone(),
                event,
                results,
                message,
                next_validation_at: next,
            };
            let finish = self.store.finish_revalidation(&end);
            match crate::metrics::timed(crate::metrics::StoreOp::FinishRevalidation, finish).await {
                Ok(done) => {
                    self.peers.note(&done);
                    crate::metrics::global().recurring(&row.type_name, outcome);
                    tracing::info!(status = %done.status, passed = event == Event::RevalidationPassed, "recurring validation recorded");
                    true
                }
                Err(StoreError::LeaseLost(_)) => {
                    tracing::info!("an operation took the lease over: the recurring validation is dropped");
                    false
                }
                Err(e) => {
                    tracing::error!(error = %e, "the recurring validation could not be recorded");
                    false
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Validates `row`'s stored configuration while holding its lease
    /// `op_id`, renewed until the run ends; stops when the lease is lost.
    async fn run_leased(self: &Arc<Self>, row: &IntegrationRow, op_id: &str) -> Run {
        self.revalidating.begin(op_id);
        let (lost_tx, lost) = tokio::sync::oneshot::channel();
        let renew = tokio::spawn(Arc::clone(self).renew_lease(row.id, op_id.to_owned(), lost_tx));
        let run = tokio::select! {
            r = self.validate_stored(row, op_id) => r,
            Ok(()) = lost => Run::Lost,
        };
        renew.abort();
        self.revalidating.end(op_id);
        run
    }

    /// The tests of the stored integration, with its stored credentials,
    /// through [`validate`], each stored as an event as it finishes.
    async fn validate_stored(&self, row: &IntegrationRow, op_id: &str) -> Run {
        let entry: &PlatformEntry = match self.platforms.get(&row.type_name) {
            Ok(e) => e,
            Err(e) => return Run::Refused(e.to_string()),
        };
        let config = match self.full_config(row) {
            Ok(c) => c,
            Err(e) => return Run::Refused(e.to_string()),
        };
        // Set up already: its own credentials are checked, as a manual
        // integration's are (privileged set-up credentials are never stored).
        let payload = Payload {
            type_name: row.type_name.clone(),
            auto_bootstrap: false,
            config,
            revalidate_every: None,
        };
        let ctx = match self.context(&row.type_name, Some(row.id), false).await {
            Ok(c) => c,
            Err(e) => return Run::Refused(e.to_string()),
        };
        let options = run_options(self.settings.check_timeout, &row.type_name);
        // The tests' events name the run's operation: `validate` or `enable`.
        let operation = row
            .op
            .as_ref()
            .filter(|op| op.op_id == op_id)
            .map_or(crate::store::recurring::VALIDATE, |op| op.kind.as_str());
        let recorder = crate::events::record::TestRecorder::start(
            Arc::clone(&self.store),
            row.id,
            operation,
            crate::secrets::ScrubList::of(&payload.config, entry.secret_paths()),
        );
        let progress = recorder.progress();
        let outcome = validate(entry, &payload, ctx, &options, Some(&progress)).await;
        // Its sender keeps the recorder's queue open: finish waits for it to close.
        drop(progress);
        recorder.finish().await;
        match outcome {
            Ok(r) => Run::Validated(r),
            Err(e) => Run::Refused(e.to_string()),
        }
    }
}

/// The first failed test, for a message.
fn failed_test(r: &ValidationResults) -> String {
    r.first_failure().map_or_else(
        || "a test did not pass".to_owned(),
        |t| format!("\"{}\" did not pass", t.name),
    )
}

#[cfg(test)]
#[path = "recurring_tests.rs"]
mod tests;
