//! The background runner: a started job validates (create, edit), runs the
//! platform's operation under the operation timeout with its lease renewed,
//! and finishes in one store transaction. Every message is scrubbed of the
//! job's secrets before it is logged or stored.

use super::journal::Journal;
use super::work::{Job, Work};
use super::{Host, run_options};
use crate::metrics::{Outcome, StoreOp};
use crate::secrets::Secrets;
use crate::store::{Finish, Leftovers, SecretsUpdate};
use junction_core::{OpContext, OpError, plan};
use std::sync::Arc;
use tracing::Instrument;

impl Host {
    /// Runs `job` in the background, in its own span.
    pub(super) fn spawn(self: &Arc<Self>, job: Job) {
        let host = Arc::clone(self);
        let span = tracing::info_span!(
            "operation",
            integration_id = job.id,
            platform = %job.platform.type_name(),
            operation = job.work.kind().as_str(),
            op_id = %job.op_id,
        );
        self.running.begin(&job.op_id);
        tokio::spawn(
            async move {
                tracing::info!("operation started");
                let (id, op_id) = (job.id, job.op_id.clone());
                let (lost_tx, lost) = tokio::sync::oneshot::channel();
                let renew =
                    tokio::spawn(Arc::clone(&host).renew_lease(id, op_id.clone(), lost_tx));
                tokio::select! {
                    () = host.run_job(job) => {}
                    Ok(()) = lost => tracing::warn!("stopped: the operation's new holder finishes it"),
                }
                renew.abort();
                host.running.end(&op_id);
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
                    job.work.kind().as_str(),
                    timeout.as_secs()
                ),
            ),
        };
        let succeeded = finish.succeeded;
        match crate::metrics::timed(StoreOp::Finish, self.store.finish(finish)).await {
            Ok(row) => {
                self.peers.note(&row);
                let outcome = if succeeded {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed
                };
                crate::metrics::global().operation(
                    job.platform.type_name(),
                    job.work.kind().as_str(),
                    outcome,
                );
                tracing::info!(status = %row.status, succeeded, "operation finished");
            }
            Err(e) => tracing::error!(error = %e, "operation could not be recorded"),
        }
    }

    /// The end of a failed job: the integration keeps its previous
    /// configuration, except a retried create, which keeps its attempt.
    fn failure(&self, job: &Job, results: Option<String>, message: String) -> Finish {
        let message = job.scrub.text(&message);
        tracing::warn!(reason = %message, "operation failed");
        let kept = job.work.attempt_kept_on_failure();
        let (config, secrets) = match kept {
            // Privileged set-up credentials (autoBootstrap) are never stored.
            Some(new) if job.auto_bootstrap => (
                Some(Secrets::public_only(new, &job.paths).public),
                SecretsUpdate::Set(None),
            ),
            Some(new) => match self.secrets.seal(new, &job.paths) {
                Ok(sealed) => (Some(sealed.public), SecretsUpdate::Set(sealed.secrets)),
                Err(_) => (None, SecretsUpdate::Keep),
            },
            None => (None, SecretsUpdate::Keep),
        };
        Finish {
            id: job.id,
            op_id: job.op_id.clone(),
            succeeded: false,
            validation_results: results,
            config,
            secrets,
            account_key: None,
            auto_bootstrap: kept.is_some().then_some(job.auto_bootstrap),
            bootstrap_version: None,
            event: "outcome",
            message: Some(message),
            leftovers: Leftovers::Keep,
        }
    }

    /// Validates (create, edit); `Err` is the job's end when the tests fail.
    async fn validate_first(&self, job: &Job) -> Result<Option<String>, Finish> {
        let verb = job.work.kind().as_str();
        let Some(new) = job.work.to_validate() else {
            return Ok(None);
        };
        let type_name = job.platform.type_name();
        let ctx = match self
            .context(type_name, Some(job.id), job.auto_bootstrap)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return Err(self.failure(job, None, format!("The {verb} could not start: {e}")));
            }
        };
        let platform = Arc::clone(&job.platform);
        let config = new.clone();
        let options = run_options(self.settings.check_timeout, type_name);
        // Each test is stored as an event as it finishes (scrubbed).
        let recorder = crate::events::record::TestRecorder::start(
            Arc::clone(&self.store),
            job.id,
            verb,
            job.scrub.clone(),
        );
        let progress = recorder.progress();
        let timer = crate::metrics::TestTimer::start(type_name);
        let run = tokio::spawn(async move {
            let each = move |t: &junction_core::ValidationTest| {
                timer.finished(t);
                progress(t);
            };
            let progress: junction_core::runner::Progress<'_> = &each;
            platform
                .validate(&config, ctx, &options, Some(progress))
                .await
        })
        .await;
        recorder.finish().await;
        let results = match run {
            Ok(Ok(r)) => job.scrub.results(r),
            Ok(Err(e)) => {
                return Err(self.failure(job, None, format!("The configuration is invalid: {e}")));
            }
            Err(_) => {
                return Err(self.failure(job, None, "The validation ended abnormally.".into()));
            }
        };
        // With its remedies, which the answers put beside the results.
        let json = crate::remedies::stored(&results);
        let record = self
            .store
            .record_validation(job.id, &job.op_id, &json, job.key_id.as_deref());
        if let Err(e) = crate::metrics::timed(StoreOp::RecordValidation, record).await {
            tracing::error!(error = %e, "validation results could not be recorded");
        }
        if !results.ok() {
            let first = results
                .first_failure()
                .map(|t| t.name.clone())
                .unwrap_or_default();
            return Err(self.failure(
                job,
                Some(json),
                format!("Validation failed: \"{first}\" did not pass."),
            ));
        }
        Ok(Some(json))
    }

    async fn work(&self, job: &Job) -> Finish {
        let verb = job.work.kind().as_str();
        let results_json = match self.validate_first(job).await {
            Ok(r) => r,
            Err(finish) => return finish,
        };
        let op = OpContext {
            integration_id: Some(job.id),
            auto_bootstrap: job.auto_bootstrap,
            bootstrap_version: job.bootstrap_version,
            fault: job.fault.clone(),
        };
        let platform = Arc::clone(&job.platform);
        let work = job.work.clone();
        // Each plan step is journaled (fenced by the operation id) before and after it runs.
        let journal = Arc::new(Journal::record(
            Arc::clone(&self.store),
            job.id,
            &job.op_id,
            &job.origin,
            job.scrub.clone(),
        ));
        // On a task of its own: a panicking platform ends this job, not the
        // host. Aborted when the job is dropped (its lease was lost).
        let task = tokio::spawn(plan::observed(journal, async move {
            work.run(platform.as_ref(), &op).await
        }));
        let _abort = AbortOnDrop(task.abort_handle());
        let outcome = task.await;
        let output = match outcome {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return self.failure(job, results_json, failed_message(&job.work, &e)),
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
            account_key: job.work.new_account_key().map(str::to_owned),
            auto_bootstrap: job.work.sets_mode().then_some(job.auto_bootstrap),
            bootstrap_version: None,
            event: "outcome",
            message: Some(format!("The {verb} succeeded.")),
            leftovers: Leftovers::Clear,
        };
        match output {
            Some(out) => match self.secrets.seal(&out.config, &job.paths) {
                Ok(sealed) => {
                    finish.config = Some(sealed.public);
                    finish.secrets = SecretsUpdate::Set(sealed.secrets);
                    finish.bootstrap_version = Some(out.bootstrap_version);
                }
                Err(e) => {
                    let e = super::HostError::internal(e);
                    return self.failure(
                        job,
                        finish.validation_results,
                        format!("The result could not be stored: {e}"),
                    );
                }
            },
            // Deleted: the secrets go.
            None => finish.secrets = SecretsUpdate::Set(None),
        }
        finish
    }
}

fn failed_message(work: &Work, e: &OpError) -> String {
    let verb = work.kind().as_str();
    let rolled = match work {
        Work::Create { .. } => "",
        _ => " The integration keeps its previous configuration.",
    };
    format!("The {verb} failed: {e}.{rolled}")
}

/// Aborts a task when dropped: a job stopped half-way stops its platform call too.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
