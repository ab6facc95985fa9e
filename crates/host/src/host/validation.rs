//! Validation: a payload's tests run through the core's check runner, with
//! every message scrubbed of the payload's secrets. The server's
//! `POST /integrations/validate` and the CLI's `junction validate` both run
//! [`validate`].

use super::{Host, HostError, PlatformEntry};
use crate::payload::Payload;
use crate::secrets::ScrubList;
use junction_core::runner::{Progress, RunOptions};
use junction_core::{
    CheckContext, PlatformDescriptor, TestStatus, ValidationResults, ValidationTest,
};
use std::time::Duration;

/// Runs the tests create would run on `payload`, on `entry`'s platform; each
/// finished test goes to `progress` (scrubbed) as it ends.
pub async fn validate(
    entry: &PlatformEntry,
    payload: &Payload,
    ctx: CheckContext,
    options: &RunOptions,
    progress: Option<Progress<'_>>,
) -> Result<ValidationResults, HostError> {
    let scrub = ScrubList::of(&payload.config, entry.secret_paths());
    // Each test's result and time go to the metrics too.
    let timer = crate::metrics::TestTimer::start(&payload.type_name);
    let each = |t: &ValidationTest| {
        timer.finished(t);
        if let Some(p) = progress {
            p(&scrub.test(t));
        }
    };
    let results = entry
        .platform
        .validate(&payload.config, ctx, options, Some(&each))
        .await
        .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
    Ok(scrub.results(results))
}

/// How checks run: `check_timeout` unless a check names its own.
pub fn run_options(check_timeout: Duration, platform: &str) -> RunOptions {
    RunOptions {
        default_timeout: check_timeout,
        timeout_override: None,
        platform: platform.to_owned(),
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

impl Host {
    /// What the checks of an integration (stored or not) get to see.
    pub(super) async fn context(
        &self,
        type_name: &str,
        id: Option<i64>,
        auto: bool,
    ) -> Result<CheckContext, HostError> {
        let peers = self
            .peers
            .peers(self.store.as_ref(), type_name)
            .await
            .map_err(HostError::internal)?;
        Ok(CheckContext {
            integration_id: id,
            auto_bootstrap: auto,
            peers,
        })
    }

    /// POST /integrations/validate: the tests create would run; nothing stored.
    pub async fn validate(&self, payload: Payload) -> Result<ValidationResults, HostError> {
        let entry = self.platforms.get(&payload.type_name)?;
        let ctx = self
            .context(&payload.type_name, None, payload.auto_bootstrap)
            .await?;
        let options = run_options(self.settings.check_timeout, &payload.type_name);
        validate(entry, &payload, ctx, &options, None).await
    }
}
