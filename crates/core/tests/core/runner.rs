//! The runner, on tokio's paused clock: virtual time, no wall-clock limits.

use junction_core::runner::{RunOptions, run_checks};
use junction_core::{Check, CheckContext, CheckOutcome, TestStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

type Cfg = ();

fn sleeper(name: &str, ms: u64, outcome: CheckOutcome) -> Check<Cfg> {
    Check::new(name.to_owned(), "sleeps, then answers", move |_, _| {
        let outcome = outcome.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            outcome
        }
    })
}

async fn run(checks: &[Check<Cfg>]) -> junction_core::ValidationResults {
    run_checks(
        checks,
        Arc::new(()),
        &CheckContext::default(),
        &RunOptions::default(),
        None,
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn independent_checks_run_concurrently() {
    let checks: Vec<_> = (0..5)
        .map(|i| sleeper(&format!("c{i}"), 200, CheckOutcome::passed()))
        .collect();
    let start = Instant::now();
    let results = run(&checks).await;
    assert_eq!(start.elapsed(), Duration::from_millis(200));
    assert_eq!(results.status, TestStatus::Passed);
    assert_eq!(results.validation_tests.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_check_whose_prerequisite_failed_is_skipped_naming_it() {
    let checks = vec![
        sleeper("A", 10, CheckOutcome::failed("A broke")),
        sleeper("B", 10, CheckOutcome::passed()).requires("A"),
        sleeper("C", 10, CheckOutcome::passed()).requires("B"),
    ];
    let r = run(&checks).await;
    assert_eq!(r.validation_tests[0].status, TestStatus::Failed);
    assert_eq!(r.validation_tests[1].status, TestStatus::Skipped);
    assert!(
        r.validation_tests[1]
            .message
            .as_deref()
            .unwrap()
            .contains("\"A\""),
        "{:?}",
        r.validation_tests[1]
    );
    assert_eq!(r.validation_tests[2].status, TestStatus::Skipped);
    assert!(
        r.validation_tests[2]
            .message
            .as_deref()
            .unwrap()
            .contains("\"B\"")
    );
    assert_eq!(r.status, TestStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn prerequisites_run_first_then_dependants() {
    let checks = vec![
        sleeper("A", 100, CheckOutcome::passed()),
        sleeper("B", 100, CheckOutcome::passed()).requires("A"),
        sleeper("C", 50, CheckOutcome::warning("meh")),
        sleeper("D", 100, CheckOutcome::passed()).requires("C"),
    ];
    let start = Instant::now();
    let r = run(&checks).await;
    // A then B (200 ms) beside C then D (150 ms); a warning satisfies D.
    assert_eq!(start.elapsed(), Duration::from_millis(200));
    let statuses: Vec<_> = r.validation_tests.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            TestStatus::Passed,
            TestStatus::Passed,
            TestStatus::Warning,
            TestStatus::Passed
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_check_fails_at_its_timeout_while_others_finish() {
    let hang = Check::new("hang", "never answers", |_, _| {
        std::future::pending::<CheckOutcome>()
    });
    let checks = vec![hang, sleeper("quick", 300, CheckOutcome::passed())];
    let options = RunOptions {
        default_timeout: Duration::from_secs(2),
        ..RunOptions::default()
    };
    let start = Instant::now();
    let r = run_checks(
        &checks,
        Arc::new(()),
        &CheckContext::default(),
        &options,
        None,
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(r.validation_tests[0].status, TestStatus::Failed);
    assert!(
        r.validation_tests[0]
            .message
            .as_deref()
            .unwrap()
            .contains("timeout of 2 s")
    );
    assert_eq!(r.validation_tests[1].status, TestStatus::Passed);
}

#[tokio::test(start_paused = true)]
async fn default_timeout_is_ten_seconds_and_overridable_per_check_and_per_run() {
    let hang = || {
        Check::new("hang", "never answers", |_, _| {
            std::future::pending::<CheckOutcome>()
        })
    };
    let start = Instant::now();
    run(&[hang()]).await;
    assert_eq!(start.elapsed(), Duration::from_secs(10));

    let start = Instant::now();
    run(&[hang().timeout(Duration::from_millis(1500))]).await;
    assert_eq!(start.elapsed(), Duration::from_millis(1500));

    let options = RunOptions {
        timeout_override: Some(Duration::from_millis(700)),
        ..RunOptions::default()
    };
    let start = Instant::now();
    let r = run_checks(
        &[hang().timeout(Duration::from_secs(5))],
        Arc::new(()),
        &CheckContext::default(),
        &options,
        None,
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(700));
    assert!(
        r.validation_tests[0]
            .message
            .as_deref()
            .unwrap()
            .contains("700 ms")
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_fails_and_the_run_goes_on() {
    #[allow(clippy::panic)]
    let boom = Check::new("boom", "panics", |_, _| async {
        panic!("secret-ish detail that must not show")
    });
    let checks = vec![
        boom,
        sleeper("after", 50, CheckOutcome::passed()),
        sleeper("dep", 10, CheckOutcome::passed()).requires("boom"),
    ];
    let r = run(&checks).await;
    assert_eq!(r.validation_tests[0].status, TestStatus::Failed);
    let msg = r.validation_tests[0].message.clone().unwrap();
    assert!(msg.contains("panicked"), "{msg}");
    assert!(
        !msg.contains("secret-ish"),
        "the panic payload must not be shown: {msg}"
    );
    assert_eq!(r.validation_tests[1].status, TestStatus::Passed);
    assert_eq!(r.validation_tests[2].status, TestStatus::Skipped);
}

#[tokio::test(start_paused = true)]
async fn results_keep_declaration_order_and_progress_sees_completion_order() {
    let checks = vec![
        sleeper("slow", 300, CheckOutcome::passed()),
        sleeper("fast", 100, CheckOutcome::passed()),
        sleeper("mid", 200, CheckOutcome::failed("no")),
    ];
    let seen = Mutex::new(Vec::new());
    let progress = |t: &junction_core::ValidationTest| seen.lock().unwrap().push(t.name.clone());
    let r = run_checks(
        &checks,
        Arc::new(()),
        &CheckContext::default(),
        &RunOptions::default(),
        Some(&progress),
    )
    .await;
    let names: Vec<_> = r.validation_tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["slow", "fast", "mid"]);
    assert_eq!(*seen.lock().unwrap(), ["fast", "mid", "slow"]);
}

#[tokio::test(start_paused = true)]
async fn a_check_that_does_not_apply_is_skipped_with_the_reason() {
    let checks = vec![
        sleeper("auto only", 10, CheckOutcome::passed()).only_auto_bootstrap(),
        sleeper("when flag", 10, CheckOutcome::passed())
            .applies_when("Impersonation is not enabled.", |_, _| false),
        sleeper("needs auto", 10, CheckOutcome::passed()).requires("auto only"),
    ];
    let r = run(&checks).await;
    assert_eq!(r.validation_tests[0].status, TestStatus::Skipped);
    assert!(
        r.validation_tests[0]
            .message
            .as_deref()
            .unwrap()
            .contains("autoBootstrap")
    );
    assert_eq!(
        r.validation_tests[1].message.as_deref(),
        Some("Skipped: Impersonation is not enabled.")
    );
    assert_eq!(r.validation_tests[2].status, TestStatus::Skipped);
    assert_eq!(r.status, TestStatus::Skipped);

    let ctx = CheckContext {
        auto_bootstrap: true,
        ..CheckContext::default()
    };
    let r = run_checks(&checks, Arc::new(()), &ctx, &RunOptions::default(), None).await;
    assert_eq!(r.validation_tests[0].status, TestStatus::Passed);
    assert_eq!(r.validation_tests[2].status, TestStatus::Passed);
}

#[tokio::test(start_paused = true)]
async fn undeclared_and_cyclic_prerequisites_are_skipped_not_hung() {
    let checks = vec![
        sleeper("x", 10, CheckOutcome::passed()).requires("nobody"),
        sleeper("y", 10, CheckOutcome::passed()).requires("z"),
        sleeper("z", 10, CheckOutcome::passed()).requires("y"),
    ];
    let r = run(&checks).await;
    for t in &r.validation_tests {
        assert_eq!(t.status, TestStatus::Skipped, "{t:?}");
    }
    assert!(
        r.validation_tests[0]
            .message
            .as_deref()
            .unwrap()
            .contains("nobody")
    );
    assert!(
        r.validation_tests[1]
            .message
            .as_deref()
            .unwrap()
            .contains("cycle")
    );
}

#[tokio::test(start_paused = true)]
async fn checks_see_the_config_and_the_peers() {
    use junction_core::Peer;
    let check = Check::new(
        "unique",
        "name is unique",
        |cfg: Arc<String>, ctx: CheckContext| async move {
            match ctx.other_peers().find(|p| p.config["name"] == *cfg) {
                Some(p) => CheckOutcome::failed(format!("used by integration {}", p.id)),
                None => CheckOutcome::passed(),
            }
        },
    );
    let peers = vec![
        Arc::new(Peer {
            id: 1,
            status: junction_core::Status::Enabled,
            config: serde_json::json!({"name": "a"}),
        }),
        Arc::new(Peer {
            id: 2,
            status: junction_core::Status::Enabled,
            config: serde_json::json!({"name": "b"}),
        }),
    ];
    let ctx = CheckContext {
        integration_id: Some(1),
        auto_bootstrap: false,
        peers: Arc::new(peers),
    };
    let r = run_checks(
        &[check],
        Arc::new("a".to_owned()),
        &ctx,
        &RunOptions::default(),
        None,
    )
    .await;
    assert_eq!(
        r.status,
        TestStatus::Passed,
        "its own record is not a clash"
    );
    let check = Check::new(
        "unique",
        "name is unique",
        |cfg: Arc<String>, ctx: CheckContext| async move {
            match ctx.other_peers().find(|p| p.config["name"] == *cfg) {
                Some(p) => CheckOutcome::failed(format!("used by integration {}", p.id)),
                None => CheckOutcome::passed(),
            }
        },
    );
    let r = run_checks(
        &[check],
        Arc::new("b".to_owned()),
        &ctx,
        &RunOptions::default(),
        None,
    )
    .await;
    assert_eq!(
        r.validation_tests[0].message.as_deref(),
        Some("used by integration 2")
    );
}

#[tokio::test(start_paused = true)]
async fn a_speculative_check_runs_beside_its_prerequisite_and_counts_once_it_passes() {
    let checks = vec![
        sleeper("a", 300, CheckOutcome::passed()),
        sleeper("b", 200, CheckOutcome::failed("b's answer"))
            .requires("a")
            .speculative(),
        sleeper("c", 200, CheckOutcome::passed()).requires("a"),
    ];
    let start = Instant::now();
    let results = run(&checks).await;
    // b shared a's time; c waited for a, then ran: 300 + 200.
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    let t = &results.validation_tests;
    assert_eq!(
        (t[1].status, t[1].message.as_deref()),
        (TestStatus::Failed, Some("b's answer")),
        "b's outcome, held until a passed"
    );
    assert_eq!(t[2].status, TestStatus::Passed);
}

#[tokio::test(start_paused = true)]
async fn a_speculative_check_is_skipped_and_stopped_when_its_prerequisite_fails() {
    let ran_to_the_end = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&ran_to_the_end);
    let slow = Check::new("b", "hangs", move |_, _| {
        let flag = Arc::clone(&flag);
        async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            *flag.lock().unwrap() = true;
            CheckOutcome::passed()
        }
    })
    .requires("a")
    .speculative()
    .timeout(Duration::from_secs(7200));
    let checks = vec![sleeper("a", 100, CheckOutcome::failed("no")), slow];
    let start = Instant::now();
    let results = run(&checks).await;
    // The run did not wait for b: it was stopped when a failed.
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    let b = &results.validation_tests[1];
    assert_eq!(b.status, TestStatus::Skipped);
    assert!(b.message.as_deref().unwrap().contains("\"a\""), "{b:?}");
    assert!(!*ran_to_the_end.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_speculative_check_that_finishes_first_waits_for_its_prerequisite() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&order);
    let checks = vec![
        sleeper("a", 300, CheckOutcome::passed()),
        sleeper("b", 50, CheckOutcome::passed())
            .requires("a")
            .speculative(),
    ];
    let progress =
        move |t: &junction_core::ValidationTest| seen.lock().unwrap().push(t.name.clone());
    let results = run_checks(
        &checks,
        Arc::new(()),
        &CheckContext::default(),
        &RunOptions::default(),
        Some(&progress),
    )
    .await;
    assert_eq!(results.status, TestStatus::Passed);
    // b finished first but is reported after a, once its answer counts.
    assert_eq!(*order.lock().unwrap(), ["a", "b"]);
}

fn fix(what: &str) -> junction_core::Fix {
    junction_core::Fix {
        missing: what.to_owned(),
        language: "sql".into(),
        statements: vec![format!("GRANT {what};")],
    }
}

/// Remedies come back named by their test, in declaration order, only for
/// tests that failed or warned; the serialised results stay the contract's.
#[tokio::test(start_paused = true)]
async fn remedies_are_named_by_their_test_and_kept_only_for_failures_and_warnings() {
    let checks = vec![
        sleeper("late", 30, CheckOutcome::warning("w").with_remedy(fix("B"))),
        sleeper("early", 10, CheckOutcome::failed("f").with_remedy(fix("A"))),
        sleeper("fine", 10, CheckOutcome::passed().with_remedy(fix("C"))),
        sleeper("never", 10, CheckOutcome::failed("x").with_remedy(fix("D"))).requires("early"),
    ];
    let r = run(&checks).await;
    let named: Vec<(&str, &str)> = r
        .remedies
        .iter()
        .map(|m| (m.test.as_str(), m.missing.as_str()))
        .collect();
    assert_eq!(named, [("late", "B"), ("early", "A")]);
    assert_eq!(r.remedies[1].statements, ["GRANT A;"]);
    assert_eq!(r.remedies[1].language, "sql");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["status", "validationTests"]
    );
    assert!(!json.to_string().contains("GRANT"));
}
