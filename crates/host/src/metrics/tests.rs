//! The series and the exposition checker.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;

#[test]
fn every_series_renders_parsable_and_by_the_convention() {
    let m = Metrics::default();
    m.http_response(200);
    m.http_response(404);
    m.http_response(503);
    m.operation("Synthetic", "create", Outcome::Succeeded);
    m.operation("Synthetic", "create", Outcome::Succeeded);
    m.operation("Native S3", "delete", Outcome::Failed);
    let timer = m.test_timer("Synthetic");
    let test = |status| ValidationTest {
        name: "Synthetic: \"quoted\" \\ test".into(),
        status,
        message: None,
    };
    timer.finished(&test(TestStatus::Passed));
    timer.finished(&test(TestStatus::Failed));
    m.test_finished(
        "Synthetic",
        "slow",
        TestStatus::Warning,
        Duration::from_secs(90),
    );
    m.recurring("Synthetic", RecurringOutcome::Failed);
    m.webhook_delivery(Delivery::Delivered);
    m.webhook_delivery(Delivery::Failed);
    m.webhook_delivery(Delivery::Failed);
    m.store(StoreOp::Finish, Duration::from_millis(3));
    let text = m.render(&[("enabled".into(), 2)], 1);
    let s = parse_exposition(&text).unwrap();
    let v = |k: &str| {
        *s.get(k)
            .unwrap_or_else(|| panic!("{k} missing from\n{text}"))
    };
    assert_eq!(v("junction_http_requests_total"), 3.0);
    assert_eq!(v("junction_http_responses_total{class=\"4xx\"}"), 1.0);
    assert_eq!(v("junction_http_responses_total{class=\"5xx\"}"), 1.0);
    assert_eq!(
        v(
            "junction_operations_total{platform=\"Synthetic\",operation=\"create\",outcome=\"succeeded\"}"
        ),
        2.0
    );
    assert_eq!(
        v(
            "junction_operations_total{platform=\"Native S3\",operation=\"delete\",outcome=\"failed\"}"
        ),
        1.0
    );
    let quoted = r#"test="Synthetic: \"quoted\" \\ test""#;
    assert_eq!(
        v(&format!(
            "junction_validation_tests_total{{platform=\"Synthetic\",{quoted},status=\"failed\"}}"
        )),
        1.0
    );
    assert_eq!(
        v(&format!(
            "junction_validation_test_duration_seconds_count{{platform=\"Synthetic\",{quoted}}}"
        )),
        2.0
    );
    // 90 s is past the last bound: only +Inf holds it.
    assert_eq!(
        v(
            "junction_validation_test_duration_seconds_bucket{platform=\"Synthetic\",test=\"slow\",le=\"60\"}"
        ),
        0.0
    );
    assert_eq!(
        v(
            "junction_validation_test_duration_seconds_bucket{platform=\"Synthetic\",test=\"slow\",le=\"+Inf\"}"
        ),
        1.0
    );
    assert_eq!(
        v("junction_validation_test_duration_seconds_sum{platform=\"Synthetic\",test=\"slow\"}"),
        90.0
    );
    assert_eq!(
        v("junction_recurring_validations_total{platform=\"Synthetic\",outcome=\"failed\"}"),
        1.0
    );
    assert_eq!(
        v("junction_webhook_deliveries_total{outcome=\"failed\"}"),
        2.0
    );
    assert_eq!(
        v("junction_store_operation_duration_seconds_bucket{operation=\"finish\",le=\"0.0025\"}"),
        0.0
    );
    assert_eq!(
        v("junction_store_operation_duration_seconds_bucket{operation=\"finish\",le=\"0.005\"}"),
        1.0
    );
    assert_eq!(
        v("junction_store_operation_duration_seconds_count{operation=\"insert\"}"),
        0.0
    );
    assert_eq!(v("junction_integrations{status=\"enabled\"}"), 2.0);
    assert_eq!(v("junction_operations_running"), 1.0);
}

#[test]
fn the_checker_refuses_what_breaks_the_format_or_the_convention() {
    let ok = "# HELP junction_x_total X.\n# TYPE junction_x_total counter\njunction_x_total{a=\"1\"} 2\n";
    assert!(parse_exposition(ok).is_ok());
    for bad in [
        "junction_x_total 1\n",                                           // undeclared
        "# TYPE junction_x counter\njunction_x 1\n",                      // counter without _total
        "# TYPE junction_x_total counter\njunction_x_total one\n",        // not a number
        "# TYPE junction_x_total counter\njunction_x_total{a=\"1\" 1\n",  // unclosed
        "# TYPE junction_x_total counter\njunction_x_total{A=\"1\"} 1\n", // label case
        "# TYPE other_total counter\nother_total 1\n",                    // prefix
        "# TYPE junction_d histogram\n", // histogram without _seconds
        "# TYPE junction_d_seconds histogram\njunction_d_seconds_bucket{le=\"1\"} 2\njunction_d_seconds_bucket{le=\"+Inf\"} 1\n",
        "# TYPE junction_d_seconds histogram\njunction_d_seconds_bucket{le=\"+Inf\"} 2\njunction_d_seconds_count 3\n",
        "# a remark\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted: {bad}");
    }
}

#[tokio::test]
async fn timed_records_into_the_global_store_histogram() {
    let count = || {
        let text = global().render(&[], 0);
        parse_exposition(&text).unwrap()["junction_store_operation_duration_seconds_count{operation=\"count_by_status\"}"]
    };
    let before = count();
    let got = timed(StoreOp::CountByStatus, async { 7 }).await;
    assert_eq!(got, 7);
    assert_eq!(count(), before + 1.0);
}
