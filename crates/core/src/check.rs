//! Validation tests declared as data.

use crate::validation::{Fix, TestStatus};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Another integration of the same type, as a check may see it: no secrets.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Peer {
    pub id: i64,
    pub status: crate::Status,
    /// The peer's configuration with every secret removed.
    pub config: serde_json::Value,
}

/// What a check knows besides the configuration.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct CheckContext {
    /// The integration being validated, when it exists already (an edit).
    pub integration_id: Option<i64>,
    /// Whether the payload asks for automatic set-up.
    pub auto_bootstrap: bool,
    /// The in-use integrations of the same platform (the one being edited
    /// among them), read-only. Shared entries: a host hands one list to many
    /// runs and copies only pointers when it changes.
    pub peers: Arc<Vec<Arc<Peer>>>,
}

impl CheckContext {
    /// Peers other than the integration being validated.
    pub fn other_peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers
            .iter()
            .map(|p| &**p)
            .filter(move |p| Some(p.id) != self.integration_id)
    }

    /// The stored (public) configuration of the integration being edited, if any:
    /// what a check compares against to tell its own objects from a clash.
    pub fn own_stored_config(&self) -> Option<&serde_json::Value> {
        let id = self.integration_id?;
        self.peers.iter().find(|p| p.id == id).map(|p| &p.config)
    }
}

/// A check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub status: TestStatus,
    pub message: Option<String>,
    /// What would make a failed or warning test pass (a grant, a policy);
    /// the runner keeps it only for those two statuses.
    pub remedy: Option<Fix>,
}

impl CheckOutcome {
    fn of(status: TestStatus, message: Option<String>) -> Self {
        CheckOutcome {
            status,
            message,
            remedy: None,
        }
    }
    pub fn passed() -> Self {
        CheckOutcome::of(TestStatus::Passed, None)
    }
    pub fn passed_with(message: impl Into<String>) -> Self {
        CheckOutcome::of(TestStatus::Passed, Some(message.into()))
    }
    pub fn failed(message: impl Into<String>) -> Self {
        CheckOutcome::of(TestStatus::Failed, Some(message.into()))
    }
    pub fn warning(message: impl Into<String>) -> Self {
        CheckOutcome::of(TestStatus::Warning, Some(message.into()))
    }
    pub fn skipped(message: impl Into<String>) -> Self {
        CheckOutcome::of(TestStatus::Skipped, Some(message.into()))
    }

    /// The outcome with the statements that add what the test found missing
    /// (`junction_kit::remedy` builds them in a platform's language):
    /// `CheckOutcome::failed(MESSAGE).with_remedy(fix)`.
    pub fn with_remedy(mut self, fix: Fix) -> Self {
        self.remedy = Some(fix);
        self
    }
}

type RunFn<C> = dyn Fn(Arc<C>, CheckContext) -> BoxFuture<'static, CheckOutcome> + Send + Sync;
type AppliesFn<C> = dyn Fn(&C, &CheckContext) -> bool + Send + Sync;

/// When a check runs: always, or when a predicate holds (with the reason shown otherwise).
pub enum Applicability<C> {
    Always,
    When {
        predicate: Box<AppliesFn<C>>,
        /// Shown as the skipped test's message, e.g. "Applies only when autoBootstrap is true."
        reason: String,
    },
}

/// One named validation test of a platform.
pub struct Check<C> {
    pub name: String,
    pub description: String,
    /// Names of checks that must pass (or warn) before this one runs.
    pub requires: Vec<String>,
    pub applies: Applicability<C>,
    /// Overrides the run's default timeout for this check.
    pub timeout: Option<Duration>,
    /// May start before its prerequisites have passed (it reads only), so it
    /// shares their round trips; its result counts only once they pass, and
    /// it is skipped (and stopped) when one of them does not.
    pub speculative: bool,
    pub run: Arc<RunFn<C>>,
}

impl<C: Send + Sync + 'static> Check<C> {
    /// A check that always applies, requires nothing and uses the run's timeout.
    pub fn new<F, Fut>(name: impl Into<String>, description: impl Into<String>, run: F) -> Self
    where
        F: Fn(Arc<C>, CheckContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CheckOutcome> + Send + 'static,
    {
        Check {
            name: name.into(),
            description: description.into(),
            requires: Vec::new(),
            applies: Applicability::Always,
            timeout: None,
            speculative: false,
            run: Arc::new(move |c, ctx| Box::pin(run(c, ctx))),
        }
    }

    pub fn requires(mut self, name: impl Into<String>) -> Self {
        self.requires.push(name.into());
        self
    }

    pub fn applies_when(
        mut self,
        reason: impl Into<String>,
        predicate: impl Fn(&C, &CheckContext) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.applies = Applicability::When {
            predicate: Box::new(predicate),
            reason: reason.into(),
        };
        self
    }

    /// Applies only with `autoBootstrap: true`.
    pub fn only_auto_bootstrap(self) -> Self {
        self.applies_when(
            "Applies only to automatic set-up (autoBootstrap is false).",
            |_, ctx| ctx.auto_bootstrap,
        )
    }

    /// Applies only with `autoBootstrap: false`.
    pub fn only_manual_bootstrap(self) -> Self {
        self.applies_when(
            "Applies only to manual set-up (autoBootstrap is true).",
            |_, ctx| !ctx.auto_bootstrap,
        )
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Starts with its prerequisites instead of after them (see
    /// [`Check::speculative`]): for read-only tests whose prerequisites only
    /// decide whether their answer means anything.
    pub fn speculative(mut self) -> Self {
        self.speculative = true;
        self
    }

    /// The check as data, for `GET /platforms` and the plugin ABI.
    pub fn descriptor(&self) -> CheckDescriptor {
        CheckDescriptor {
            name: self.name.clone(),
            description: self.description.clone(),
            requires: self.requires.clone(),
            applies_only: match &self.applies {
                Applicability::Always => None,
                Applicability::When { reason, .. } => Some(reason.clone()),
            },
            timeout_seconds: self.timeout.map(|t| t.as_secs_f64()),
        }
    }
}

/// A check without its code.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckDescriptor {
    pub name: String,
    pub description: String,
    pub requires: Vec<String>,
    /// The reason shown when the check does not apply; `None` when it always does.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub applies_only: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeout_seconds: Option<f64>,
}
