//! The journal of an operation's plan steps, kept in the store through the
//! core's plan observer: each step is recorded before it runs (`started`)
//! and after (`applied`, `failed`), each undo when it ends (`undone`,
//! `undo-failed`). Every write is fenced by the operation id: a host that
//! lost its lease cannot record a step, so it does not run it (the plan is
//! abandoned, nothing rolled back: the new holder finishes the operation).
//!
//! A host taking an operation over replays it with the same observer in
//! replay mode: steps the journal has as applied (or started, in doubt) are
//! skipped as applied, the plan stops at the first step that never ran, and
//! the platform's own rollback undoes exactly the skipped ones.

use crate::secrets::ScrubList;
use crate::store::{JournalEntry, StepState, Store, StoreError};
use junction_core::plan::{Directive, PlanObserver, StepView};
use std::sync::Arc;
use std::sync::Mutex;

/// Why a plan stops when its lease is lost.
const LOST: &str = "the operation's lease was lost: another host holds it now";

enum Mode {
    Record,
    /// The original run's journal.
    Replay(Vec<JournalEntry>),
}

pub struct Journal {
    store: Arc<dyn Store>,
    id: i64,
    /// The operation id that fences every write.
    fence: String,
    /// The operation's first id: the journal's key.
    origin: String,
    scrub: ScrubList,
    mode: Mode,
    /// The plan now running (from 1).
    plan: Mutex<i64>,
}

impl Journal {
    pub fn record(
        store: Arc<dyn Store>,
        id: i64,
        op_id: &str,
        origin: &str,
        scrub: ScrubList,
    ) -> Self {
        Journal::new(store, id, op_id, origin, scrub, Mode::Record)
    }

    pub fn replay(
        store: Arc<dyn Store>,
        id: i64,
        op_id: &str,
        origin: &str,
        scrub: ScrubList,
        entries: Vec<JournalEntry>,
    ) -> Self {
        Journal::new(store, id, op_id, origin, scrub, Mode::Replay(entries))
    }

    fn new(
        store: Arc<dyn Store>,
        id: i64,
        op_id: &str,
        origin: &str,
        scrub: ScrubList,
        mode: Mode,
    ) -> Self {
        Journal {
            store,
            id,
            fence: op_id.to_owned(),
            origin: origin.to_owned(),
            scrub,
            mode,
            plan: Mutex::new(0),
        }
    }

    fn plan_no(&self) -> i64 {
        self.plan.lock().map(|p| *p).unwrap_or(0)
    }

    async fn write(&self, step: &StepView, state: StepState) -> Result<(), StoreError> {
        let entry = JournalEntry {
            plan: self.plan_no(),
            step: i64::try_from(step.index).unwrap_or(i64::MAX),
            step_id: step.id.clone(),
            state,
            apply: self.scrub.text(&step.apply),
            undo: step.undo.as_deref().map(|u| self.scrub.text(u)),
        };
        let write = self
            .store
            .journal_write(self.id, &self.fence, &self.origin, &entry);
        let r = crate::metrics::timed(crate::metrics::StoreOp::JournalWrite, write).await;
        if let Err(e) = &r {
            tracing::error!(integration_id = self.id, step = %step.id, error = %e, "the journal could not be written");
        }
        r
    }

    /// The original run's record of this step of the current plan.
    fn recorded(&self, step: &StepView) -> Option<&JournalEntry> {
        let Mode::Replay(entries) = &self.mode else {
            return None;
        };
        let (plan, index) = (self.plan_no(), i64::try_from(step.index).ok()?);
        entries.iter().find(|e| e.plan == plan && e.step == index)
    }
}

#[junction_core::async_trait]
impl PlanObserver for Journal {
    async fn begin(&self, _steps: &[StepView]) {
        if let Ok(mut p) = self.plan.lock() {
            *p += 1;
        }
    }

    async fn before(&self, step: &StepView) -> Directive {
        match &self.mode {
            Mode::Record => match self.write(step, StepState::Started).await {
                Ok(()) => Directive::Run,
                Err(StoreError::LeaseLost(_)) => Directive::Abandon(LOST.into()),
                // Not recorded, so not run: the steps before are undone.
                Err(_) => Directive::Stop("its journal could not be written".into()),
            },
            Mode::Replay(_) => match self.recorded(step) {
                Some(e) if e.step_id != step.id => Directive::Stop(format!(
                    "the replayed plan differs from the journal at {}",
                    e.step_id
                )),
                Some(e)
                    if matches!(
                        e.state,
                        StepState::Applied
                            | StepState::Started
                            | StepState::UndoFailed
                            | StepState::Undone
                    ) =>
                {
                    Directive::Skip
                }
                _ => Directive::Stop("the host that ran it stopped here".into()),
            },
        }
    }

    async fn after(&self, step: &StepView, failed: bool) -> Directive {
        let state = if failed {
            StepState::Failed
        } else {
            StepState::Applied
        };
        match self.write(step, state).await {
            Err(StoreError::LeaseLost(_)) => Directive::Abandon(LOST.into()),
            _ => Directive::Run,
        }
    }

    async fn finished(&self) -> Directive {
        match &self.mode {
            Mode::Record => Directive::Run,
            // Every step had run: all of them are undone.
            Mode::Replay(_) => {
                Directive::Stop("the host that ran it stopped after its last step".into())
            }
        }
    }

    async fn before_undo(&self, step: &StepView) -> bool {
        match &self.mode {
            Mode::Record => true,
            // Only what the original run may have left (not what it undid).
            Mode::Replay(_) => self
                .recorded(step)
                .is_some_and(|e| e.state.left_on_platform()),
        }
    }

    async fn undone(&self, step: &StepView, failed: bool) {
        let state = if failed {
            StepState::UndoFailed
        } else {
            StepState::Undone
        };
        let _ = self.write(step, state).await;
    }
}
