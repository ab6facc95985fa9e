//! Set-up as data: an ordered list of steps, each with its undo.
//!
//! One description serves automatic set-up ([`apply`]), the manual scripts
//! ([`Plan::script`], [`Plan::undo_script`]), rollback (the undos of the steps
//! already applied, in reverse) and migrations (a plan per version step).
//! The core runs no step itself: the platform passes the executor.
//!
//! A host may watch a plan run through a [`PlanObserver`] set for the task
//! with [`observed`]: it hears of each step before and after it runs (to
//! journal it durably), may tell a step to be skipped (already applied, when
//! replaying an interrupted operation to undo it) or the plan to stop, and
//! hears of each undo. Platforms call [`apply`] as before and need not know.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

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
    /// The observer stopped the plan here; the steps before were rolled back.
    Stopped(String),
    /// The observer stopped the plan and nothing was rolled back (its
    /// operation is now another's to finish).
    Abandoned(String),
}

/// A step as an observer sees it: its place, id, and rendered actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub index: usize,
    pub id: String,
    pub apply: String,
    pub undo: Option<String>,
}

/// What the observer wants done with a step (or, at the end, the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    Run,
    /// Do not run it, and count it as applied (it was, by an earlier run).
    Skip,
    /// Run nothing more and roll back what was applied (or skipped).
    Stop(String),
    /// Run nothing more, not even a rollback.
    Abandon(String),
}

/// Watches plans run on the current task; see the module docs.
#[async_trait::async_trait]
pub trait PlanObserver: Send + Sync {
    /// A plan is about to run, with these steps.
    async fn begin(&self, steps: &[StepView]);
    async fn before(&self, step: &StepView) -> Directive;
    /// A step ran (`failed` when its action returned an error). `Abandon`
    /// stops the plan with no rollback.
    async fn after(&self, step: &StepView, failed: bool) -> Directive;
    /// Every step ran or was skipped; `Stop` rolls them all back.
    async fn finished(&self) -> Directive;
    /// Whether to run this undo during a rollback.
    async fn before_undo(&self, step: &StepView) -> bool;
    async fn undone(&self, step: &StepView, failed: bool);
}

tokio::task_local! {
    static OBSERVER: Arc<dyn PlanObserver>;
}

/// Runs `f` with `observer` watching every plan [`apply`] runs inside it.
pub async fn observed<F: Future>(observer: Arc<dyn PlanObserver>, f: F) -> F::Output {
    OBSERVER.scope(observer, f).await
}

fn current_observer() -> Option<Arc<dyn PlanObserver>> {
    OBSERVER.try_with(Arc::clone).ok()
}

impl<E: fmt::Display> fmt::Display for PlanFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            PlanError::Injected => write!(f, "step {} failed: injected fault", self.step)?,
            PlanError::Action(e) => write!(f, "step {} failed: {e}", self.step)?,
            PlanError::Stopped(why) => write!(f, "stopped at step {}: {why}", self.step)?,
            PlanError::Abandoned(why) => {
                return write!(
                    f,
                    "stopped at step {}: {why}; nothing was rolled back",
                    self.step
                );
            }
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
/// An observer set with [`observed`] hears of every step and undo.
pub async fn apply<A: Action + Clone, E, F, Fut>(
    plan: &Plan<A>,
    fault: Option<&FaultInjection>,
    mut exec: F,
) -> Result<(), PlanFailure<E>>
where
    F: FnMut(A) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let observer = current_observer();
    let views: Vec<StepView> = match &observer {
        Some(_) => plan
            .steps
            .iter()
            .enumerate()
            .map(|(index, s)| StepView {
                index,
                id: s.id.clone(),
                apply: s.apply.render(),
                undo: s.undo.as_ref().map(Action::render),
            })
            .collect(),
        None => Vec::new(),
    };
    if let Some(o) = &observer {
        o.begin(&views).await;
    }
    let abandoned = |step: &str, why: String| PlanFailure {
        step: step.to_owned(),
        error: PlanError::Abandoned(why),
        rollback_failures: Vec::new(),
    };
    let fail_at = fault.and_then(|f| f.fail_at_step.as_deref());
    for (i, step) in plan.steps.iter().enumerate() {
        let directive = match &observer {
            Some(o) => o.before(&views[i]).await,
            None => Directive::Run,
        };
        let error = match directive {
            Directive::Skip => None,
            Directive::Abandon(why) => return Err(abandoned(&step.id, why)),
            Directive::Stop(why) => Some(PlanError::Stopped(why)),
            Directive::Run if fail_at == Some(step.id.as_str()) => Some(PlanError::Injected),
            Directive::Run => {
                tracing::debug!(step = %step.id, "applying step");
                let result = exec(step.apply.clone()).await;
                if let Some(o) = &observer {
                    if let Directive::Abandon(why) = o.after(&views[i], result.is_err()).await {
                        return Err(abandoned(&step.id, why));
                    }
                }
                result.err().map(PlanError::Action)
            }
        };
        if let Some(error) = error {
            tracing::warn!(step = %step.id, "step failed; rolling back");
            let rollback_failures =
                roll_back(plan, i, observer.as_deref(), &views, &mut exec).await;
            return Err(PlanFailure {
                step: step.id.clone(),
                error,
                rollback_failures,
            });
        }
    }
    if let Some(o) = &observer {
        match o.finished().await {
            Directive::Stop(why) => {
                let n = plan.steps.len();
                let rollback_failures =
                    roll_back(plan, n, Some(o.as_ref()), &views, &mut exec).await;
                return Err(PlanFailure {
                    step: plan.steps.last().map(|s| s.id.clone()).unwrap_or_default(),
                    error: PlanError::Stopped(why),
                    rollback_failures,
                });
            }
            Directive::Abandon(why) => return Err(abandoned("", why)),
            Directive::Run | Directive::Skip => {}
        }
    }
    Ok(())
}

/// Undoes the first `n` steps in reverse order; the undos that failed.
async fn roll_back<A: Action + Clone, E, F, Fut>(
    plan: &Plan<A>,
    n: usize,
    observer: Option<&dyn PlanObserver>,
    views: &[StepView],
    exec: &mut F,
) -> Vec<(String, E)>
where
    F: FnMut(A) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut failures = Vec::new();
    for (i, done) in plan.steps[..n].iter().enumerate().rev() {
        let Some(undo) = &done.undo else { continue };
        if let Some(o) = observer {
            if !o.before_undo(&views[i]).await {
                continue;
            }
        }
        let result = exec(undo.clone()).await;
        if let Some(o) = observer {
            o.undone(&views[i], result.is_err()).await;
        }
        if let Err(e) = result {
            failures.push((done.id.clone(), e));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Clone)]
    struct S(&'static str);
    impl Action for S {
        fn render(&self) -> String {
            self.0.to_owned()
        }
    }

    /// Skips the steps named, stops at `stop`, refuses the undo of `keep`,
    /// and logs what it hears.
    struct Watch {
        skip: Vec<&'static str>,
        stop: Option<&'static str>,
        keep: Option<&'static str>,
        log: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl PlanObserver for Watch {
        async fn begin(&self, steps: &[StepView]) {
            self.log
                .lock()
                .unwrap()
                .push(format!("begin {}", steps.len()));
        }
        async fn before(&self, step: &StepView) -> Directive {
            self.log.lock().unwrap().push(format!("before {}", step.id));
            if self.skip.contains(&step.id.as_str()) {
                Directive::Skip
            } else if self.stop == Some(step.id.as_str()) {
                Directive::Stop("told to".into())
            } else {
                Directive::Run
            }
        }
        async fn after(&self, step: &StepView, failed: bool) -> Directive {
            self.log
                .lock()
                .unwrap()
                .push(format!("after {} {failed}", step.id));
            Directive::Run
        }
        async fn finished(&self) -> Directive {
            self.log.lock().unwrap().push("finished".into());
            Directive::Stop("the end".into())
        }
        async fn before_undo(&self, step: &StepView) -> bool {
            self.keep != Some(step.id.as_str())
        }
        async fn undone(&self, step: &StepView, failed: bool) {
            self.log
                .lock()
                .unwrap()
                .push(format!("undone {} {failed}", step.id));
        }
    }

    fn plan() -> Plan<S> {
        Plan::new()
            .step("a", S("add a"), Some(S("drop a")))
            .step("b", S("add b"), Some(S("drop b")))
            .step("c", S("add c"), Some(S("drop c")))
    }

    async fn run(w: Arc<Watch>) -> (Result<(), PlanFailure<String>>, Vec<String>) {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&ran);
        let result = observed(w as Arc<dyn PlanObserver>, async move {
            apply(&plan(), None, |s: S| {
                r.lock().unwrap().push(s.0.to_owned());
                async { Ok::<(), String>(()) }
            })
            .await
        })
        .await;
        let ran = ran.lock().unwrap().clone();
        (result, ran)
    }

    #[tokio::test]
    async fn an_observer_skips_applied_steps_stops_and_chooses_the_undos() {
        let w = Arc::new(Watch {
            skip: vec!["a", "b"],
            stop: Some("c"),
            keep: Some("a"),
            log: Mutex::new(Vec::new()),
        });
        let (result, ran) = run(Arc::clone(&w)).await;
        let f = result.unwrap_err();
        assert_eq!(f.step, "c");
        assert!(matches!(f.error, PlanError::Stopped(_)));
        // Nothing applied; b (skipped, so counted as applied) undone; a kept.
        assert_eq!(ran, ["drop b"]);
        assert_eq!(
            *w.log.lock().unwrap(),
            [
                "begin 3",
                "before a",
                "before b",
                "before c",
                "undone b false"
            ]
        );
    }

    #[tokio::test]
    async fn an_observer_may_roll_everything_back_at_the_end() {
        let w = Arc::new(Watch {
            skip: vec![],
            stop: None,
            keep: None,
            log: Mutex::new(Vec::new()),
        });
        let (result, ran) = run(Arc::clone(&w)).await;
        assert!(matches!(result.unwrap_err().error, PlanError::Stopped(_)));
        assert_eq!(
            ran,
            ["add a", "add b", "add c", "drop c", "drop b", "drop a"]
        );
        assert_eq!(
            w.log.lock().unwrap()[1..3],
            ["before a".to_owned(), "after a false".to_owned()]
        );
    }

    #[tokio::test]
    async fn without_an_observer_apply_is_unchanged() {
        let ran = Mutex::new(Vec::new());
        apply(&plan(), None, |s: S| {
            ran.lock().unwrap().push(s.0);
            async { Ok::<(), String>(()) }
        })
        .await
        .unwrap();
        assert_eq!(*ran.lock().unwrap(), ["add a", "add b", "add c"]);
    }
}
