//! The store suite's part for recurring validation, disable and enable.

use super::{claim, finish, lease, new};
use crate::store::recurring::{Revalidate, RevalidationClaim, RevalidationEnd};
use crate::store::{OpLease, StartOp, Store, StoreError};
use junction_core::{Event, Status, TransitionError};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const PASSED: &str = r#"{"status":"passed","validationTests":[]}"#;
const FAILED: &str = r#"{"status":"failed","validationTests":[]}"#;

/// An enabled integration on `account` with its own interval.
async fn enabled(s: &Arc<dyn Store>, account: &str, own: Revalidate) -> i64 {
    let op = format!("op-{account}");
    let mut n = new(account, &op);
    n.revalidate = own;
    let row = s.insert(n).await.unwrap();
    let done = s.finish(finish(row.id, &op, true)).await.unwrap();
    assert_eq!(done.status, Status::Enabled);
    assert_eq!(done.revalidate, own);
    assert_eq!(done.next_validation_at, None);
    row.id
}

fn due(owner: &str, now_ms: i64, default_on: bool) -> RevalidationClaim {
    RevalidationClaim {
        now_ms,
        default_on,
        owner: owner.into(),
        expires_ms: i64::MAX / 2,
        op_prefix: format!("rv_{owner}_"),
        limit: 100,
    }
}

fn end(id: i64, op_id: &str, event: Event, results: &str, next: Option<i64>) -> RevalidationEnd {
    RevalidationEnd {
        id,
        op_id: op_id.into(),
        event,
        results: results.into(),
        message: format!("{event:?}"),
        next_validation_at: next,
    }
}

fn ids(rows: &[crate::store::IntegrationRow]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

pub async fn revalidations_are_scheduled_claimed_once_fenced_and_recorded(s: Arc<dyn Store>) {
    let every = Revalidate::Every(Duration::from_secs(2));
    let a = enabled(&s, "rv-a", Revalidate::ServerDefault).await;
    let off = enabled(&s, "rv-off", Revalidate::Off).await;
    let own = enabled(&s, "rv-own", every).await;
    // Unscheduled: by default those without an interval of their own too,
    // never one that is off.
    let all = s.unscheduled(true, 100).await.unwrap();
    assert_eq!(
        all,
        [(a, Revalidate::ServerDefault), (own, every)],
        "{all:?}"
    );
    let own_only = s.unscheduled(false, 100).await.unwrap();
    assert_eq!(own_only, [(own, every)]);
    s.schedule(&[(a, 1000), (own, 5000), (off, 1)])
        .await
        .unwrap();
    assert_eq!(
        s.get(off).await.unwrap().unwrap().next_validation_at,
        Some(1)
    );
    assert!(s.unscheduled(true, 100).await.unwrap().is_empty());
    // A second schedule does not move a scheduled run.
    s.schedule(&[(a, 9999)]).await.unwrap();
    assert_eq!(
        s.get(a).await.unwrap().unwrap().next_validation_at,
        Some(1000)
    );
    // Nothing is due before its time; an integration that is off never is,
    // and without the default only those with their own interval are.
    assert!(
        s.claim_revalidations(&due("h1", 999, true))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.claim_revalidations(&due("h1", 1000, false))
            .await
            .unwrap()
            .is_empty()
    );
    let got = s.claim_revalidations(&due("h1", 1000, true)).await.unwrap();
    assert_eq!(ids(&got), [a]);
    let op = got[0].op.clone().unwrap();
    assert_eq!(op.kind, "validate");
    assert_eq!(op.owner, "h1");
    assert_eq!(got[0].status, Status::Enabled);
    let version = got[0].version;
    // Held: not claimed twice.
    assert!(
        s.claim_revalidations(&due("h2", 2000, true))
            .await
            .unwrap()
            .is_empty()
    );
    // Only the holder records it; a failure moves enabled to recurringValidationError.
    assert!(matches!(
        s.finish_revalidation(&end(a, "other", Event::RevalidationFailed, FAILED, None))
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    let failed = s
        .finish_revalidation(&end(
            a,
            &op.op_id,
            Event::RevalidationFailed,
            FAILED,
            Some(3000),
        ))
        .await
        .unwrap();
    assert_eq!(failed.status, Status::RecurringValidationError);
    assert_eq!(failed.validation_results, FAILED);
    assert_eq!(failed.next_validation_at, Some(3000));
    assert!(failed.op.is_none());
    assert_eq!(failed.version, version + 1);
    // Still re-validated; a pass moves it back.
    let got = s.claim_revalidations(&due("h1", 3000, true)).await.unwrap();
    assert_eq!(ids(&got), [a]);
    let op = got[0].op.clone().unwrap();
    let passed = s
        .finish_revalidation(&end(
            a,
            &op.op_id,
            Event::RevalidationPassed,
            PASSED,
            Some(4000),
        ))
        .await
        .unwrap();
    assert_eq!(passed.status, Status::Enabled);
    assert_eq!(passed.validation_results, PASSED);
    // A pass that keeps it enabled changes no status, so no version.
    let got = s.claim_revalidations(&due("h1", 4000, true)).await.unwrap();
    let op = got[0].op.clone().unwrap();
    let again = s
        .finish_revalidation(&end(
            a,
            &op.op_id,
            Event::RevalidationPassed,
            PASSED,
            Some(5000),
        ))
        .await
        .unwrap();
    assert_eq!(again.status, Status::Enabled);
    assert_eq!(again.version, passed.version);
    let h = s.history(a).await.unwrap().unwrap();
    let runs: Vec<(Option<&str>, Option<&str>)> = h
        .iter()
        .filter(|e| e.event == "validate")
        .map(|e| (e.from.as_deref(), e.to.as_deref()))
        .collect();
    assert_eq!(
        runs,
        [
            (Some("enabled"), Some("recurringValidationError")),
            (Some("recurringValidationError"), Some("enabled")),
            (Some("enabled"), Some("enabled")),
        ]
    );
    assert!(
        h.iter()
            .filter(|e| e.event == "validate")
            .all(|e| e.validation_results.is_some())
    );
    // An operation started meanwhile takes the lease over: the run's end is refused.
    let got = s.claim_revalidations(&due("h1", 5000, true)).await.unwrap();
    let op = got[0].op.clone().unwrap();
    let editing = s
        .start_operation(StartOp {
            id: a,
            expected_version: Some(got[0].version),
            event: Event::StartEdit,
            lease: OpLease {
                kind: "edit".into(),
                ..lease("e-rv", i64::MAX / 2)
            },
            new_account_key: None,
            validation_results: None,
            input: None,
            revalidate: Some(every),
        })
        .await
        .unwrap();
    assert_eq!(editing.status, Status::Editing);
    assert_eq!(editing.revalidate, every);
    assert!(matches!(
        s.finish_revalidation(&end(a, &op.op_id, Event::RevalidationPassed, PASSED, None))
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    // Not due while an operation runs; its end unschedules the next run.
    assert!(
        s.claim_revalidations(&due("h1", 99_999, true))
            .await
            .unwrap()
            .iter()
            .all(|r| r.id != a)
    );
    let done = s.finish(finish(a, "e-rv", true)).await.unwrap();
    assert_eq!(done.status, Status::Enabled);
    assert_eq!(done.next_validation_at, None);
    // A run whose host stopped: recovery leaves it alone, its lease is
    // released, and it is due again.
    s.schedule(&[(a, 10)]).await.unwrap();
    let mut short = due("gone", 10, true);
    short.expires_ms = 20;
    let got = s.claim_revalidations(&short).await.unwrap();
    assert_eq!(ids(&got), [a]);
    let op_id = got[0].op.clone().unwrap().op_id;
    let taken = s.claim_expired(&claim("h3", 1_000)).await.unwrap();
    assert!(
        taken.iter().all(|c| c.row.id != a),
        "recovery took a re-validation"
    );
    assert_eq!(
        s.release_expired_revalidations(1_000, &[op_id])
            .await
            .unwrap(),
        0,
        "this host's own runs are kept"
    );
    assert_eq!(s.release_expired_revalidations(15, &[]).await.unwrap(), 0);
    assert_eq!(
        s.release_expired_revalidations(1_000, &[]).await.unwrap(),
        1
    );
    let freed = s.get(a).await.unwrap().unwrap();
    assert!(freed.op.is_none());
    assert_eq!(freed.status, Status::Enabled);
    assert_eq!(
        ids(&s
            .claim_revalidations(&due("h4", 1_000, true))
            .await
            .unwrap()),
        [a]
    );
}

pub async fn disable_and_enable_keep_the_account_and_take_the_lease(s: Arc<dyn Store>) {
    let id = enabled(&s, "dis", Revalidate::ServerDefault).await;
    s.schedule(&[(id, 0)]).await.unwrap();
    // A running re-validation is dropped by the disable.
    let got = s.claim_revalidations(&due("h1", 0, true)).await.unwrap();
    assert_eq!(ids(&got), [id]);
    let run = got[0].op.clone().unwrap().op_id;
    let before = got[0].version;
    assert!(matches!(
        s.disable(id, before - 1, Some("key_test")).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let off = s.disable(id, before, Some("key_test")).await.unwrap();
    assert_eq!(off.status, Status::Disabled);
    assert!(off.op.is_none());
    assert_eq!(off.next_validation_at, None);
    assert_eq!(off.version, before + 1);
    assert!(matches!(
        s.finish_revalidation(&end(id, &run, Event::RevalidationPassed, PASSED, None))
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        s.disable(id, off.version, None).await,
        Err(StoreError::Transition(TransitionError::NotAllowed { .. }))
    ));
    // Never scheduled nor claimed while disabled; its account stays taken.
    assert!(
        s.unscheduled(true, 100)
            .await
            .unwrap()
            .iter()
            .all(|(i, _)| *i != id)
    );
    s.schedule(&[(id, 0)]).await.unwrap();
    assert_eq!(s.get(id).await.unwrap().unwrap().next_validation_at, None);
    assert!(matches!(
        s.insert(new("dis", "op-dup")).await,
        Err(StoreError::AccountTaken { id: holder }) if holder == id
    ));
    assert!(
        s.peers("T")
            .await
            .unwrap()
            .iter()
            .any(|(p, _)| p.id == id && p.status == Status::Disabled)
    );
    // An enable holds the lease while it validates: a second one is refused.
    let enable = |op: &str| OpLease {
        kind: "enable".into(),
        ..lease(op, i64::MAX / 2)
    };
    assert!(matches!(
        s.begin_enable(id, off.version - 1, &enable("en0")).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let held = s
        .begin_enable(id, off.version, &enable("en1"))
        .await
        .unwrap();
    assert_eq!(held.status, Status::Disabled);
    assert_eq!(held.op.as_ref().unwrap().kind, "enable");
    assert!(matches!(
        s.begin_enable(id, held.version, &enable("en2")).await,
        Err(StoreError::LeaseHeld { kind }) if kind == "enable"
    ));
    // A failed validation leaves it disabled, with its results.
    let still = s
        .finish_revalidation(&end(id, "en1", Event::EnableFailed, FAILED, None))
        .await
        .unwrap();
    assert_eq!(still.status, Status::Disabled);
    assert_eq!(still.validation_results, FAILED);
    assert!(still.op.is_none());
    s.begin_enable(id, still.version, &enable("en3"))
        .await
        .unwrap();
    let on = s
        .finish_revalidation(&end(id, "en3", Event::Enable, PASSED, None))
        .await
        .unwrap();
    assert_eq!(on.status, Status::Enabled);
    assert!(matches!(
        s.begin_enable(id, on.version, &enable("en4")).await,
        Err(StoreError::Transition(TransitionError::NotAllowed { .. }))
    ));
    let h = s.history(id).await.unwrap().unwrap();
    let tail: Vec<(&str, Option<&str>, Option<&str>)> = h
        .iter()
        .skip(2)
        .map(|e| (e.event.as_str(), e.from.as_deref(), e.to.as_deref()))
        .collect();
    assert_eq!(
        tail,
        [
            ("disable", Some("enabled"), Some("disabled")),
            ("enable", Some("disabled"), Some("disabled")),
            ("enable", Some("disabled"), Some("enabled")),
        ]
    );
    assert_eq!(h[2].key_id.as_deref(), Some("key_test"));
    assert!(
        h[2].message
            .as_deref()
            .unwrap()
            .contains("nothing on the platform was changed")
    );
    // A disabled integration is deleted as an enabled one is.
    let off = s.disable(id, on.version, None).await.unwrap();
    let deleting = s
        .start_operation(StartOp {
            id,
            expected_version: Some(off.version),
            event: Event::StartDelete,
            lease: OpLease {
                kind: "delete".into(),
                ..lease("del", i64::MAX / 2)
            },
            new_account_key: None,
            validation_results: None,
            input: None,
            revalidate: None,
        })
        .await
        .unwrap();
    assert_eq!(deleting.status, Status::Deleting);
    assert_eq!(
        s.finish(finish(id, "del", true)).await.unwrap().status,
        Status::Deleted
    );
}

pub async fn concurrent_revalidation_claims_never_share_a_run(s: Arc<dyn Store>) {
    let mut all = BTreeSet::new();
    for i in 0..20 {
        let id = enabled(&s, &format!("cc-rv-{i}"), Revalidate::ServerDefault).await;
        all.insert(id);
    }
    let runs: Vec<(i64, i64)> = all.iter().map(|id| (*id, 0)).collect();
    s.schedule(&runs).await.unwrap();
    let claims = (0..4).map(|h| {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            let mut c = due(&format!("h{h}"), 0, true);
            c.limit = 7;
            let mut got = Vec::new();
            loop {
                let batch = s.claim_revalidations(&c).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|r| r.id));
            }
        })
    });
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for task in claims {
        for id in task.await.unwrap() {
            total += 1;
            seen.insert(id);
        }
    }
    assert_eq!(total, all.len(), "a run was claimed twice");
    assert_eq!(seen, all);
}
