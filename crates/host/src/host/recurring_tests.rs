//! Recurring validation, disable and enable, in-process on the synthetic
//! platform. Time is the round's argument (`revalidate_due(now)`), so the
//! interval logic is measured on given instants, never on the wall clock.

use super::{EnableOutcome, jittered};
use crate::auth::{ApiKey, Role};
use crate::crypto::Cipher;
use crate::host::{Caller, Host, HostError, Settings};
use crate::payload::Payload;
use crate::store::sqlite::SqliteStore;
use crate::store::{IntegrationRow, Store};
use crate::util::now_ms;
use junction_core::{Registry, Status};
use junction_testkit::synthetic::{CHECK_CONNECT, CHECK_PRIVILEGES, Synthetic, remote_objects};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const HOUR: i64 = 3_600_000;

fn caller() -> Caller {
    Caller {
        key: std::sync::Arc::new(ApiKey {
            id: "key_recurring".into(),
            role: Role::Admin,
            name: "t".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        }),
        fault: None,
    }
}

fn store() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(crate::util::random_id("junction-recurring-test-"));
    Arc::new(SqliteStore::open(&dir).unwrap())
}

fn host_with(store: &Arc<dyn Store>, revalidate_every: Option<Duration>) -> Arc<Host> {
    let mut registry = Registry::new();
    registry.add(Arc::new(Synthetic)).unwrap();
    Arc::new(Host::new(
        Arc::clone(store),
        registry,
        Cipher::from_key(&[7; 32]),
        Settings {
            lease_ttl: Duration::from_millis(300),
            revalidate_every,
            ..Settings::default()
        },
    ))
}

fn payload(account: &str, checks: Value, revalidate_every: Option<&str>) -> Payload {
    Payload {
        type_name: "Synthetic".into(),
        auto_bootstrap: false,
        config: json!({"account": account, "password": "pw-recurring-secret", "checks": checks}),
        revalidate_every: revalidate_every.map(|s| json!(s)),
    }
}

/// Creates and waits (by counted polls) until the create has ended.
async fn created(h: &Arc<Host>, p: Payload) -> IntegrationRow {
    let id = h.create(p, &caller(), None).await.unwrap().id;
    settled(h, id).await
}

async fn settled(h: &Arc<Host>, id: i64) -> IntegrationRow {
    for _ in 0..500 {
        let row = h.integration(id).await.unwrap();
        if !row.status.in_progress() {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("integration {id} never settled");
}

async fn runs(h: &Arc<Host>, id: i64) -> Vec<(String, String, String)> {
    h.history(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "validate")
        .map(|e| {
            (
                e.from.unwrap_or_default(),
                e.to.unwrap_or_default(),
                e.validation_results.unwrap_or_default()["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn jitter_spreads_by_ten_percent_either_way() {
    let hour = Duration::from_secs(3600);
    assert_eq!(jittered(hour, 0.0), Duration::from_secs(3240));
    assert_eq!(jittered(hour, 0.5), hour);
    assert!(jittered(hour, 0.999_999) <= Duration::from_secs(3960));
    assert_eq!(jittered(hour, f64::NAN), hour);
    assert_eq!(jittered(hour, 7.0), Duration::from_secs(3960));
}

#[test]
fn rounds_come_at_a_quarter_of_the_default_within_bounds() {
    use super::tick;
    assert_eq!(
        tick(Some(Duration::from_secs(1))),
        Duration::from_millis(250)
    );
    assert_eq!(
        tick(Some(Duration::from_secs(3600))),
        Duration::from_secs(5)
    );
    assert_eq!(
        tick(Some(Duration::from_millis(10))),
        Duration::from_millis(100)
    );
    // With the default off, own intervals are still honoured within 5 s.
    assert_eq!(tick(None), Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_moves_enabled_to_recurring_validation_error_and_a_pass_moves_it_back() {
    let store = store();
    let h = host_with(&store, Some(Duration::from_secs(3600)));
    // The create's validation passes; the platform then drifts and is mended.
    let checks = json!({CHECK_PRIVILEGES: {"runs": ["pass", "fail", "pass"]}});
    let row = created(&h, payload("rv-drift", checks, None)).await;
    assert_eq!(row.status, Status::Enabled);
    let t0 = now_ms();
    // The first round only schedules it, about an hour on.
    assert_eq!(h.revalidate_due(t0).await.unwrap(), 0);
    let next = h
        .integration(row.id)
        .await
        .unwrap()
        .next_validation_at
        .unwrap();
    assert!(
        (t0 + HOUR * 9 / 10..=t0 + HOUR * 11 / 10).contains(&next),
        "{next} vs {t0}"
    );
    assert_eq!(h.revalidate_due(next - 1).await.unwrap(), 0, "not due yet");
    assert!(runs(&h, row.id).await.is_empty());
    // Due: the run fails.
    assert_eq!(h.revalidate_due(next).await.unwrap(), 1);
    let failed = h.integration(row.id).await.unwrap();
    assert_eq!(failed.status, Status::RecurringValidationError);
    assert!(
        failed.validation_results.contains("\"failed\""),
        "{}",
        failed.validation_results
    );
    assert!(failed.op.is_none());
    let again = failed.next_validation_at.unwrap();
    assert!((next + HOUR * 9 / 10..=next + HOUR * 11 / 10).contains(&again));
    // Still re-validated; the next pass moves it back.
    assert_eq!(h.revalidate_due(again).await.unwrap(), 1);
    assert_eq!(h.integration(row.id).await.unwrap().status, Status::Enabled);
    assert_eq!(
        runs(&h, row.id).await,
        [
            (
                "enabled".into(),
                "recurringValidationError".into(),
                "failed".into()
            ),
            (
                "recurringValidationError".into(),
                "enabled".into(),
                "passed".into()
            ),
        ]
    );
    let h_all = h.history(row.id).await.unwrap();
    let message = h_all.last().unwrap().message.clone().unwrap();
    assert!(message.contains("enabled again"), "{message}");
    // Each test of a recurring run is an event, under the `validate` operation.
    let events = store.events_after(0, Some(row.id), 100).await.unwrap();
    let tests = events
        .iter()
        .filter(|e| {
            e.operation == "validate" && matches!(e.body, crate::events::store::EventBody::Test(_))
        })
        .count();
    assert_eq!(tests, 6, "the three tests of each of two runs: {events:?}");
    let statuses: Vec<_> = events
        .iter()
        .filter(|e| e.operation == "validate")
        .filter_map(|e| match &e.body {
            crate::events::store::EventBody::Status { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [Status::RecurringValidationError, Status::Enabled]
    );
    // The secret is in no stored history or event.
    let history = serde_json::to_string(&h_all).unwrap();
    assert!(!history.contains("pw-recurring-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_intervals_and_off_are_honoured_and_the_server_default_may_be_off() {
    let store = store();
    let h = host_with(&store, None);
    let own = created(&h, payload("rv-own", json!({}), Some("10m"))).await;
    let default = created(&h, payload("rv-default", json!({}), None)).await;
    let off = created(&h, payload("rv-off", json!({}), Some("off"))).await;
    assert_eq!(own.revalidate.to_display().as_deref(), Some("10m"));
    let t0 = now_ms();
    assert_eq!(h.revalidate_due(t0).await.unwrap(), 0);
    let next = h
        .integration(own.id)
        .await
        .unwrap()
        .next_validation_at
        .unwrap();
    assert!((t0 + 540_000..=t0 + 660_000).contains(&next));
    for id in [default.id, off.id] {
        assert_eq!(h.integration(id).await.unwrap().next_validation_at, None);
    }
    // Far on, only the integration with its own interval has run.
    assert_eq!(h.revalidate_due(t0 + 100 * HOUR).await.unwrap(), 1);
    assert_eq!(runs(&h, own.id).await.len(), 1);
    assert!(runs(&h, default.id).await.is_empty());
    assert!(runs(&h, off.id).await.is_empty());
    // A bad value is refused with its path.
    let e = h
        .create(payload("rv-bad", json!({}), Some("soon")), &caller(), None)
        .await
        .unwrap_err();
    let HostError::Invalid(errors) = e else {
        panic!("{e:?}")
    };
    assert_eq!(errors.0[0].path, "revalidateEvery");
    // An edit sets it anew.
    let row = h
        .edit(own.id, payload("rv-own", json!({}), Some("2h")), &caller())
        .await
        .unwrap();
    assert_eq!(row.revalidate.to_display().as_deref(), Some("2h"));
    let row = settled(&h, own.id).await;
    assert_eq!(row.status, Status::Enabled);
    assert_eq!(row.next_validation_at, None, "rescheduled after the edit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_touches_nothing_and_stops_runs_and_enable_validates_first() {
    let store = store();
    let h = host_with(&store, Some(Duration::from_secs(3600)));
    // Create passes; the first enable's validation fails; the second passes.
    let checks = json!({CHECK_CONNECT: {"runs": ["pass", "fail", "pass"]}});
    let row = created(&h, payload("rv-dis", checks, None)).await;
    let objects = remote_objects("rv-dis");
    assert!(!objects.is_empty());
    let off = h.disable(row.id, &caller()).await.unwrap();
    assert_eq!(off.status, Status::Disabled);
    assert_eq!(
        remote_objects("rv-dis"),
        objects,
        "disable changed the platform"
    );
    // Disabled: never scheduled, never run, however far on.
    let t0 = now_ms();
    for k in 0..5 {
        assert_eq!(h.revalidate_due(t0 + k * 2 * HOUR).await.unwrap(), 0);
    }
    assert!(runs(&h, row.id).await.is_empty());
    let again = h.disable(row.id, &caller()).await.unwrap_err();
    assert!(
        matches!(&again, HostError::Conflict(m) if m.contains("disabled")),
        "{again:?}"
    );
    let edit = h
        .edit(row.id, payload("rv-dis", json!({}), None), &caller())
        .await
        .unwrap_err();
    assert!(matches!(edit, HostError::Conflict(_)), "{edit:?}");
    // The first enable's validation fails: still disabled, with the results.
    let EnableOutcome::StillDisabled {
        row: still,
        message,
    } = h.enable(row.id, &caller()).await.unwrap()
    else {
        panic!("enabled although the validation failed")
    };
    assert_eq!(still.status, Status::Disabled);
    assert!(message.contains(CHECK_CONNECT), "{message}");
    assert!(still.validation_results.contains("\"failed\""));
    assert!(still.op.is_none());
    let EnableOutcome::Enabled(on) = h.enable(row.id, &caller()).await.unwrap() else {
        panic!("still disabled although the validation passed")
    };
    assert_eq!(on.status, Status::Enabled);
    assert_eq!(remote_objects("rv-dis"), objects);
    let not_disabled = h.enable(row.id, &caller()).await.unwrap_err();
    assert!(matches!(not_disabled, HostError::Conflict(_)));
    let events: Vec<(String, Option<String>, Option<String>)> = h
        .history(row.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "disable" || e.event == "enable")
        .map(|e| (e.event, e.from, e.to))
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        events,
        [
            ("disable".into(), s("enabled"), s("disabled")),
            ("enable".into(), s("disabled"), s("disabled")),
            ("enable".into(), s("disabled"), s("enabled")),
        ]
    );
    // Enabled again: scheduled and re-validated.
    assert_eq!(h.revalidate_due(now_ms()).await.unwrap(), 0);
    assert_eq!(h.revalidate_due(now_ms() + 2 * HOUR).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_takes_the_lease_from_a_running_validation() {
    let store = store();
    let h = host_with(&store, Some(Duration::from_secs(3600)));
    // The create's validation passes; the recurring run hangs on the platform.
    let checks = json!({CHECK_CONNECT: {"runs": ["pass", "hang"]}});
    let row = created(&h, payload("rv-lease", checks, None)).await;
    assert_eq!(h.revalidate_due(now_ms()).await.unwrap(), 0);
    let due = h
        .integration(row.id)
        .await
        .unwrap()
        .next_validation_at
        .unwrap();
    let round = tokio::spawn({
        let h = Arc::clone(&h);
        async move { h.revalidate_due(due).await }
    });
    let mut held = None;
    for _ in 0..500 {
        let r = h.integration(row.id).await.unwrap();
        if r.op.as_ref().is_some_and(|op| op.kind == "validate") {
            held = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held.is_some(), "the run never took the lease");
    // The caller's edit is neither refused nor kept waiting: it takes the lease.
    let edited = h
        .edit(row.id, payload("rv-lease", json!({}), None), &caller())
        .await
        .unwrap();
    assert_eq!(edited.status, Status::Editing);
    assert_eq!(
        round.await.unwrap().unwrap(),
        0,
        "the dropped run was recorded"
    );
    assert_eq!(settled(&h, row.id).await.status, Status::Enabled);
    assert!(runs(&h, row.id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_store_run_a_due_validation_once() {
    let store = store();
    let a = host_with(&store, Some(Duration::from_secs(3600)));
    let b = host_with(&store, Some(Duration::from_secs(3600)));
    let row = created(&a, payload("rv-two", json!({}), None)).await;
    assert_eq!(a.revalidate_due(now_ms()).await.unwrap(), 0);
    let due = a
        .integration(row.id)
        .await
        .unwrap()
        .next_validation_at
        .unwrap();
    let (x, y) = tokio::join!(a.revalidate_due(due), b.revalidate_due(due));
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_eq!(runs(&a, row.id).await.len(), 1);
}
