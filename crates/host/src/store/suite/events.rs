//! The store suite's events, webhooks and outbox cases (run on both stores
//! with the rest of the suite).

use super::{finish, new};
use crate::events::record::TestRecorder;
use crate::events::store::{
    Attempt, AttemptOutcome, DeliveryClaim, DeliveryState, EventBody, EventKind, NewTestEvent,
    WebhookRow,
};
use crate::secrets::ScrubList;
use crate::store::{Store, StoreError};
use junction_core::{Status, TestStatus, ValidationTest};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn test(name: &str, status: TestStatus, message: Option<&str>) -> ValidationTest {
    ValidationTest {
        name: name.into(),
        status,
        message: message.map(str::to_owned),
    }
}

fn test_event(id: i64, name: &str) -> NewTestEvent {
    NewTestEvent {
        integration_id: id,
        operation: "create".into(),
        test: test(name, TestStatus::Passed, None),
    }
}

fn webhook(id: &str, status: bool, tests: bool) -> WebhookRow {
    WebhookRow {
        id: id.into(),
        url: format!("https://hooks.example/{id}"),
        status_events: status,
        test_events: tests,
        secret: vec![4, 5, 6],
        created_at: 1,
    }
}

/// Far enough ahead that every queued row is due.
const LATER: i64 = i64::MAX / 4;

fn claim(owner: &str, now_ms: i64, limit: usize) -> DeliveryClaim {
    DeliveryClaim {
        now_ms,
        owner: owner.into(),
        lease_until_ms: now_ms + 1000,
        limit,
    }
}

fn attempt(seq: i64, n: i64, outcome: AttemptOutcome, next: Option<i64>) -> Attempt {
    Attempt {
        seq,
        attempt: n,
        at_ms: LATER,
        outcome,
        next_at_ms: next,
    }
}

/// Each status change writes its event in its own transaction (a refused
/// one writes none); test results are events too; all in `seq` order,
/// filtered by integration, paged by `seq`, and the watch moves.
pub async fn status_changes_and_test_results_are_events_in_seq_order(s: Arc<dyn Store>) {
    let mut watch = s.event_watch();
    let start = *watch.borrow_and_update();
    let row = s.insert(new("ev", "op1")).await.unwrap();
    assert!(matches!(
        s.finish(finish(row.id, "other", true)).await,
        Err(StoreError::LeaseLost(_))
    ));
    let seq = s
        .add_test_event(&test_event(row.id, "T: one"))
        .await
        .unwrap();
    s.finish(finish(row.id, "op1", true)).await.unwrap();
    let other = s.insert(new("ev2", "op2")).await.unwrap();
    assert!(matches!(
        s.add_test_event(&test_event(i64::MAX, "T: none")).await,
        Err(StoreError::NotFound(_))
    ));

    let all = s.events_after(start, None, 100).await.unwrap();
    let got: Vec<(i64, EventBody)> = all
        .iter()
        .map(|e| (e.integration_id, e.body.clone()))
        .collect();
    let status = |from, to| EventBody::Status { from, to };
    assert_eq!(
        got,
        [
            (row.id, status(None, Status::Creating)),
            (
                row.id,
                EventBody::Test(test("T: one", TestStatus::Passed, None))
            ),
            (row.id, status(Some(Status::Creating), Status::Enabled)),
            (other.id, status(None, Status::Creating)),
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "{all:?}");
    assert_eq!(all[1].seq, seq);
    assert!(
        all.iter()
            .all(|e| e.type_name == "T" && e.operation == "create")
    );
    assert!(all.iter().all(|e| e.at_ms > 0));

    let mine = s.events_after(start, Some(row.id), 100).await.unwrap();
    assert_eq!(mine, all[..3]);
    let after = s.events_after(seq, Some(row.id), 100).await.unwrap();
    assert_eq!(after, all[2..3]);
    assert_eq!(s.events_after(start, None, 2).await.unwrap(), all[..2]);
    assert!(
        s.events_after(all[3].seq, None, 100)
            .await
            .unwrap()
            .is_empty()
    );

    let last = all[3].seq;
    tokio::time::timeout(Duration::from_secs(10), watch.wait_for(|v| *v >= last))
        .await
        .expect("the event watch did not move")
        .unwrap();
}

/// The recorder stores each test as it is reported, scrubbed, in the order
/// reported, and is done when `finish` returns.
pub async fn the_recorder_stores_scrubbed_tests_in_the_order_they_finish(s: Arc<dyn Store>) {
    use junction_testkit::SENTINEL;
    let row = s.insert(new("rec", "op1")).await.unwrap();
    let scrub = ScrubList::of(
        &serde_json::json!({"password": SENTINEL}),
        &["/password".to_owned()],
    );
    let rec = TestRecorder::start(Arc::clone(&s), row.id, "edit", scrub);
    let progress = rec.progress();
    let message = format!("the password {SENTINEL} was refused");
    progress(&test("T: late", TestStatus::Failed, Some(&message)));
    progress(&test("T: early", TestStatus::Passed, None));
    // Finishing while a callback is still alive returns (a flush, not a close).
    rec.finish().await;
    drop(progress);
    let tests: Vec<ValidationTest> = s
        .events_after(0, Some(row.id), 100)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Test(t) => {
                assert_eq!(e.operation, "edit");
                Some(t)
            }
            EventBody::Status { .. } => None,
        })
        .collect();
    let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["T: late", "T: early"]);
    let stored = tests[0].message.clone().unwrap();
    assert!(!stored.contains(SENTINEL), "{stored}");
    assert!(stored.contains("was refused"), "{stored}");
}

/// Each event is queued for the webhooks that want its kind; a claim leases
/// a row (no other claim gets it until the lease lapses, and the lapsed
/// holder cannot record); a failure is due again at its time; a success is
/// delivered; the last failure gives up; attempts are listed; a delete
/// takes its outbox with it.
pub async fn the_outbox_is_claimed_under_a_lease_retried_and_delivered(s: Arc<dyn Store>) {
    s.insert_webhook(&webhook("wh_s", true, false))
        .await
        .unwrap();
    s.insert_webhook(&webhook("wh_t", false, true))
        .await
        .unwrap();
    assert_eq!(s.webhooks().await.unwrap().len(), 2);
    assert_eq!(
        s.webhook("wh_s").await.unwrap(),
        Some(webhook("wh_s", true, false))
    );
    assert_eq!(s.webhook("wh_none").await.unwrap(), None);

    let row = s.insert(new("ob", "op1")).await.unwrap();
    let test_seq = s
        .add_test_event(&test_event(row.id, "T: one"))
        .await
        .unwrap();
    let a = s.claim_deliveries(&claim("a", LATER, 10)).await.unwrap();
    let got: Vec<(&str, EventKind, i64)> = a
        .iter()
        .map(|d| (d.webhook.id.as_str(), d.event.body.kind(), d.attempt))
        .collect();
    assert_eq!(
        got,
        [("wh_s", EventKind::Status, 1), ("wh_t", EventKind::Test, 1)]
    );
    assert_eq!(a[0].webhook.secret, vec![4, 5, 6]);
    assert_eq!(a[1].event.seq, test_seq);
    let status_seq = a[0].event.seq;
    assert!(
        s.claim_deliveries(&claim("b", LATER + 500, 10))
            .await
            .unwrap()
            .is_empty(),
        "leased rows are not claimed again"
    );

    // wh_s refused: due again later. wh_t's lease lapses and b takes it.
    let failed = attempt(
        status_seq,
        1,
        AttemptOutcome::Http(500),
        Some(LATER + 10_000),
    );
    assert!(s.record_attempt("wh_s", "a", &failed).await.unwrap());
    let b = s
        .claim_deliveries(&claim("b", LATER + 5_000, 10))
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].webhook.id, "wh_t");
    let ok = attempt(test_seq, 1, AttemptOutcome::Http(204), None);
    assert!(
        !s.record_attempt("wh_t", "a", &ok).await.unwrap(),
        "the lapsed holder cannot record"
    );
    assert!(s.record_attempt("wh_t", "b", &ok).await.unwrap());

    let c = s
        .claim_deliveries(&claim("c", LATER + 20_000, 10))
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].webhook.id.as_str(), c[0].attempt), ("wh_s", 2));
    let gave_up = attempt(
        status_seq,
        2,
        AttemptOutcome::Error("the connection failed".into()),
        None,
    );
    assert!(s.record_attempt("wh_s", "c", &gave_up).await.unwrap());
    assert!(
        s.claim_deliveries(&claim("d", LATER * 2, 10))
            .await
            .unwrap()
            .is_empty()
    );

    let d = s.deliveries("wh_s", 10).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].seq, status_seq);
    assert_eq!(d[0].state, DeliveryState::GaveUp);
    assert_eq!(d[0].next_at_ms, None);
    assert_eq!(d[0].attempts, [failed, gave_up]);
    let d = s.deliveries("wh_t", 10).await.unwrap();
    assert_eq!(d[0].state, DeliveryState::Delivered);
    assert_eq!(d[0].attempts, [ok]);

    assert!(s.delete_webhook("wh_s").await.unwrap());
    assert!(!s.delete_webhook("wh_s").await.unwrap());
    assert!(s.deliveries("wh_s", 10).await.unwrap().is_empty());
    assert_eq!(s.webhooks().await.unwrap(), [webhook("wh_t", false, true)]);
    s.finish(finish(row.id, "op1", true)).await.unwrap();
    assert!(
        s.claim_deliveries(&claim("e", LATER * 2, 10))
            .await
            .unwrap()
            .is_empty(),
        "a status event queues nothing for a deleted webhook, nor for one that wants tests only"
    );
}

/// Hosts claiming at the same moment never get the same row.
pub async fn concurrent_claims_never_share_a_delivery(s: Arc<dyn Store>) {
    s.insert_webhook(&webhook("wh_c", false, true))
        .await
        .unwrap();
    let row = s.insert(new("cc", "op1")).await.unwrap();
    for i in 0..24 {
        s.add_test_event(&test_event(row.id, &format!("T: {i}")))
            .await
            .unwrap();
    }
    let claimers: Vec<_> = (0..4)
        .map(|k| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = s
                        .claim_deliveries(&claim(&format!("h{k}"), LATER, 3))
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|d| d.event.seq));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a row claimed twice: {all:?}");
    assert_eq!(all.len(), 24);
}
