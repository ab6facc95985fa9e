//! The check runner: every check whose prerequisites passed runs concurrently,
//! each under its own timeout; a panic or a timeout is a failed test, never a
//! crashed run. Results come back in declaration order and, as each one
//! completes, through an optional progress callback.

use crate::check::{Applicability, Check, CheckContext, CheckOutcome};
use crate::validation::{Remedy, TestStatus, ValidationResults, ValidationTest};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::Instrument;

/// The default per-check timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Timeout of a check that declares none.
    pub default_timeout: Duration,
    /// When set, every check gets this timeout, whatever it declares.
    pub timeout_override: Option<Duration>,
    /// The platform's type name, for tracing spans.
    pub platform: String,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            default_timeout: DEFAULT_TIMEOUT,
            timeout_override: None,
            platform: String::new(),
        }
    }
}

/// Called with each test's result as soon as it is known.
pub type Progress<'a> = &'a (dyn Fn(&ValidationTest) + Send + Sync);

enum Slot {
    Pending,
    Running,
    /// A speculative check's outcome, waiting on its prerequisites.
    Held(CheckOutcome),
    Done(ValidationTest, Option<Remedy>),
}

/// Runs `checks` against `config`. Must be called inside a tokio runtime.
pub async fn run_checks<C: Send + Sync + 'static>(
    checks: &[Check<C>],
    config: Arc<C>,
    ctx: &CheckContext,
    options: &RunOptions,
    progress: Option<Progress<'_>>,
) -> ValidationResults {
    let mut slots: Vec<Slot> = checks.iter().map(|_| Slot::Pending).collect();
    let mut running: JoinSet<(usize, CheckOutcome)> = JoinSet::new();
    let mut task_index: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut aborts: HashMap<usize, tokio::task::AbortHandle> = HashMap::new();
    // Who waits on whom, resolved once, so a completion re-examines only its dependants.
    let by_name: HashMap<&str, usize> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); checks.len()];
    for (i, c) in checks.iter().enumerate() {
        for req in &c.requires {
            if let Some(&j) = by_name.get(req.as_str()) {
                dependants[j].push(i);
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..checks.len()).collect();

    loop {
        // Settle or start every queued check whose prerequisites are known.
        while let Some(i) = queue.pop_front() {
            let check = &checks[i];
            // A speculative check already started waits only on its prerequisites.
            if matches!(slots[i], Slot::Running | Slot::Held(_)) {
                match prerequisites(check, &slots, &by_name) {
                    Prereqs::Unknown => {}
                    Prereqs::Failed(skip) => {
                        if let Some(handle) = aborts.remove(&i) {
                            handle.abort();
                        }
                        finish(&mut slots, i, check, skip, progress);
                        queue.extend(&dependants[i]);
                    }
                    Prereqs::Passed => {
                        if let Slot::Held(outcome) = std::mem::replace(&mut slots[i], Slot::Running)
                        {
                            finish(&mut slots, i, check, outcome, progress);
                            queue.extend(&dependants[i]);
                        }
                    }
                }
                continue;
            }
            if !matches!(slots[i], Slot::Pending) {
                continue;
            }
            match decide(check, &slots, &by_name, &config, ctx) {
                Decision::Wait => {}
                Decision::Settle(outcome) => {
                    finish(&mut slots, i, check, outcome, progress);
                    queue.extend(&dependants[i]);
                }
                Decision::Start => {
                    let timeout = options
                        .timeout_override
                        .or(check.timeout)
                        .unwrap_or(options.default_timeout);
                    let span = tracing::info_span!(
                        "check",
                        platform = %options.platform,
                        integration_id = ?ctx.integration_id,
                        test = %check.name,
                    );
                    let fut = (check.run)(Arc::clone(&config), ctx.clone());
                    let handle = running.spawn(
                        async move {
                            let outcome = match tokio::time::timeout(timeout, fut).await {
                                Ok(outcome) => outcome,
                                Err(_) => CheckOutcome::failed(format!(
                                    "The test did not finish within its timeout of {}.",
                                    human_duration(timeout)
                                )),
                            };
                            (i, outcome)
                        }
                        .instrument(span),
                    );
                    task_index.insert(handle.id(), i);
                    aborts.insert(i, handle);
                    slots[i] = Slot::Running;
                }
            }
        }

        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (i, outcome) = match joined {
            Ok((_, (i, outcome))) => (i, outcome),
            Err(err) => {
                let Some(&i) = task_index.get(&err.id()) else {
                    continue;
                };
                // A speculative check stopped because a prerequisite failed.
                if matches!(slots[i], Slot::Done(..)) {
                    continue;
                }
                // The payload of a panic may quote anything: it is not shown.
                let (message, what) = if err.is_panic() {
                    (
                        "The test failed unexpectedly: it panicked. See the host's log for the platform and test.",
                        "panic",
                    )
                } else {
                    ("The test was cancelled before it finished.", "cancelled")
                };
                tracing::error!(test = %checks[i].name, platform = %options.platform, "check task ended abnormally: {what}");
                (i, CheckOutcome::failed(message))
            }
        };
        aborts.remove(&i);
        // Settled already: a speculative check skipped when a prerequisite failed.
        if matches!(slots[i], Slot::Done(..)) {
            continue;
        }
        if checks[i].speculative {
            match prerequisites(&checks[i], &slots, &by_name) {
                Prereqs::Unknown => {
                    slots[i] = Slot::Held(outcome);
                    continue;
                }
                Prereqs::Failed(skip) => {
                    finish(&mut slots, i, &checks[i], skip, progress);
                    queue.extend(&dependants[i]);
                    continue;
                }
                Prereqs::Passed => {}
            }
        }
        finish(&mut slots, i, &checks[i], outcome, progress);
        queue.extend(&dependants[i]);
    }

    // Whatever is still pending waits on a cycle of prerequisites.
    for i in 0..checks.len() {
        if matches!(slots[i], Slot::Pending | Slot::Held(_) | Slot::Running) {
            let outcome = CheckOutcome::skipped(
                "Skipped: its prerequisites form a cycle, so it can never run.",
            );
            finish(&mut slots, i, &checks[i], outcome, progress);
        }
    }
    let mut tests = Vec::with_capacity(slots.len());
    let mut remedies = Vec::new();
    for slot in slots {
        if let Slot::Done(t, remedy) = slot {
            tests.push(t);
            remedies.extend(remedy);
        }
    }
    ValidationResults::new(tests).with_remedies(remedies)
}

enum Decision {
    Wait,
    Start,
    Settle(CheckOutcome),
}

fn decide<C>(
    check: &Check<C>,
    slots: &[Slot],
    by_name: &HashMap<&str, usize>,
    config: &C,
    ctx: &CheckContext,
) -> Decision {
    if let Applicability::When { predicate, reason } = &check.applies {
        if !predicate(config, ctx) {
            return Decision::Settle(CheckOutcome::skipped(format!("Skipped: {reason}")));
        }
    }
    match prerequisites(check, slots, by_name) {
        Prereqs::Failed(skip) => Decision::Settle(skip),
        Prereqs::Passed => Decision::Start,
        // A speculative check starts with its prerequisites.
        Prereqs::Unknown if check.speculative => Decision::Start,
        // A prerequisite that can never settle (a cycle) would wait forever; the
        // caller settles such checks once nothing is left running.
        Prereqs::Unknown => Decision::Wait,
    }
}

/// Where a check's prerequisites stand.
enum Prereqs {
    Passed,
    /// One did not pass (or is not declared): the check's outcome is this skip.
    Failed(CheckOutcome),
    Unknown,
}

fn prerequisites<C>(check: &Check<C>, slots: &[Slot], by_name: &HashMap<&str, usize>) -> Prereqs {
    let mut waiting = false;
    for req in &check.requires {
        let Some(&j) = by_name.get(req.as_str()) else {
            return Prereqs::Failed(CheckOutcome::skipped(format!(
                "Skipped: it requires \"{req}\", which this platform does not declare."
            )));
        };
        match &slots[j] {
            Slot::Done(t, _) if t.status.satisfies_prerequisite() => {}
            Slot::Done(t, _) => {
                return Prereqs::Failed(CheckOutcome::skipped(format!(
                    "Skipped because \"{req}\" did not pass ({}).",
                    t.status
                )));
            }
            Slot::Pending | Slot::Running | Slot::Held(_) => waiting = true,
        }
    }
    if waiting {
        Prereqs::Unknown
    } else {
        Prereqs::Passed
    }
}

fn finish<C>(
    slots: &mut [Slot],
    i: usize,
    check: &Check<C>,
    outcome: CheckOutcome,
    progress: Option<Progress<'_>>,
) {
    // A remedy belongs to what did not pass: one on a passed or skipped test
    // would tell the operator to change what needs no change.
    let remedy = match outcome.status {
        TestStatus::Failed | TestStatus::Warning => outcome
            .remedy
            .map(|fix| Remedy::new(check.name.clone(), fix)),
        TestStatus::Passed | TestStatus::Skipped => None,
    };
    let test = ValidationTest {
        name: check.name.clone(),
        status: outcome.status,
        message: outcome.message,
    };
    if let Some(progress) = progress {
        progress(&test);
    }
    slots[i] = Slot::Done(test, remedy);
}

fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}
