//! Set-up as data: an ordered list of steps, each with its undo.
//!
//! One description serves automatic set-up ([`apply`]), the manual scripts
//! ([`Plan::script`], [`Plan::undo_script`]), rollback (the undos of the steps
//! already applied, in reverse) and migrations (a plan per version step).
//! The core runs no step itself: the platform passes the executor.

use std::fmt;
use std::future::Future;

/// An action a platform knows how to run and to show as text (a SQL statement,
/// a REST call).
pub trait Action: Send + Sync {
    /// The action as a line of the manual script.
    fn render(&self) -> String;
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub struct Step<A> {
    /// Short, stable, for logs and fault injection: `create-database`.
    pub id: String,
    pub apply: A,
    /// How to take the step back; `None` when nothing needs undoing.
    pub undo: Option<A>,
}

impl<A> Step<A> {
    pub fn new(id: impl Into<String>, apply: A, undo: Option<A>) -> Self {
        Step {
            id: id.into(),
            apply,
            undo,
        }
    }
}

/// An ordered list of steps.
#[derive(Debug, Clone)]
pub struct Plan<A> {
    pub steps: Vec<Step<A>>,
}

impl<A> Default for Plan<A> {
    fn default() -> Self {
        Plan { steps: Vec::new() }
    }
}

impl<A: Action> Plan<A> {
    pub fn new() -> Self {
        Plan::default()
    }

    pub fn step(mut self, id: impl Into<String>, apply: A, undo: Option<A>) -> Self {
        self.steps.push(Step::new(id, apply, undo));
        self
    }

    pub fn push(&mut self, id: impl Into<String>, apply: A, undo: Option<A>) {
        self.steps.push(Step::new(id, apply, undo));
    }

    pub fn extend(&mut self, other: Plan<A>) {
        self.steps.extend(other.steps);
    }

    /// The plan run backwards: each step's undo becomes its action and the
    /// other way round, in reverse order; steps without an undo drop out. A
    /// teardown is the set-up reversed, so a teardown that fails half-way is
    /// rolled back by the set-up's own steps.
    pub fn reversed(self) -> Plan<A> {
        let steps = self
            .steps
            .into_iter()
            .rev()
            .filter_map(|s| {
                let undo = s.undo?;
                Some(Step::new(format!("undo-{}", s.id), undo, Some(s.apply)))
            })
            .collect();
        Plan { steps }
    }

    /// The steps, for an operator to run by hand.
    pub fn script(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.apply.render()).collect()
    }

    /// What takes the whole plan back, in reverse order.
    pub fn undo_script(&self) -> Vec<String> {
        self.steps
            .iter()
            .rev()
            .filter_map(|s| s.undo.as_ref().map(Action::render))
            .collect()
    }
}

/// Makes a chosen step fail, for tests of rollback.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultInjection {
    /// Fail when reaching the step with this id (before running it).
    pub fail_at_step: Option<String>,
}

impl FaultInjection {
    pub fn at(step: impl Into<String>) -> Self {
        FaultInjection {
            fail_at_step: Some(step.into()),
        }
    }
}

/// Why a plan stopped, and how its rollback went.
#[derive(Debug)]
pub struct PlanFailure<E> {
    /// The step that failed.
    pub step: String,
    pub error: PlanError<E>,
    /// Undo steps that failed in turn, with their errors: left for the operator.
    pub rollback_failures: Vec<(String, E)>,
}

#[derive(Debug)]
pub enum PlanError<E> {
    Injected,
    Action(E),
}

impl<E: fmt::Display> fmt::Display for PlanFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            PlanError::Injected => write!(f, "step {} failed: injected fault", self.step)?,
            PlanError::Action(e) => write!(f, "step {} failed: {e}", self.step)?,
        }
        if self.rollback_failures.is_empty() {
            write!(f, "; every step before it was rolled back")
        } else {
            write!(f, "; rollback left ")?;
            for (i, (step, e)) in self.rollback_failures.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{step} ({e})")?;
            }
            write!(f, " to undo by hand")
        }
    }
}

/// Runs the steps in order with `exec` (given each action by value, so its
/// future may hold it). When one fails, the undos of the steps
/// already applied run in reverse order; the failure says what could not be undone.
pub async fn apply<A: Clone, E, F, Fut>(
    plan: &Plan<A>,
    fault: Option<&FaultInjection>,
    mut exec: F,
) -> Result<(), PlanFailure<E>>
where
    F: FnMut(A) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let fail_at = fault.and_then(|f| f.fail_at_step.as_deref());
    for (i, step) in plan.steps.iter().enumerate() {
        let error = if fail_at == Some(step.id.as_str()) {
            Some(PlanError::Injected)
        } else {
            tracing::debug!(step = %step.id, "applying step");
            exec(step.apply.clone()).await.err().map(PlanError::Action)
        };
        if let Some(error) = error {
            tracing::warn!(step = %step.id, "step failed; rolling back");
            let mut rollback_failures = Vec::new();
            for done in plan.steps[..i].iter().rev() {
                if let Some(undo) = &done.undo {
                    if let Err(e) = exec(undo.clone()).await {
                        rollback_failures.push((done.id.clone(), e));
                    }
                }
            }
            return Err(PlanFailure {
                step: step.id.clone(),
                error,
                rollback_failures,
            });
        }
    }
    Ok(())
}
