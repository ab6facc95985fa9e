//! The store test suite: written against the [`Store`] trait, run against
//! both stores (`sqlite/tests.rs`, and `postgres/tests.rs` on the stand-in).

use crate::auth::Role;
use crate::store::{
    Claim, Finish, Leftovers, NewIntegration, OpLease, SecretsUpdate, StartOp, Store, StoreError,
};
use junction_core::{Event, Status};
use std::sync::Arc;

mod events;
mod reads;
mod recurring;
pub use events::*;
pub use reads::*;
pub use recurring::*;

fn lease(op: &str, expires_ms: i64) -> OpLease {
    OpLease {
        op_id: op.into(),
        origin: op.into(),
        kind: "create".into(),
        owner: "test".into(),
        expires_ms,
        key_id: Some("key_test".into()),
    }
}

fn new(account: &str, op: &str) -> NewIntegration {
    NewIntegration {
        type_name: "T".into(),
        account_key: account.into(),
        auto_bootstrap: false,
        config: format!(r#"{{"account":"{account}"}}"#),
        secrets: Some(vec![1, 2, 3]),
        validation_results: r#"{"status":"skipped","validationTests":[]}"#.into(),
        lease: lease(op, i64::MAX / 2),
        idempotency: None,
        input: None,
        revalidate: Default::default(),
    }
}

fn finish(id: i64, op: &str, ok: bool) -> Finish {
    Finish {
        id,
        op_id: op.into(),
        succeeded: ok,
        validation_results: None,
        config: None,
        secrets: SecretsUpdate::Keep,
        account_key: None,
        auto_bootstrap: None,
        bootstrap_version: Some(1),
        event: "outcome",
        message: None,
        leftovers: Leftovers::Clear,
    }
}

fn claim(owner: &str, now_ms: i64) -> Claim {
    Claim {
        now_ms,
        owner: owner.into(),
        expires_ms: now_ms + 60_000,
        op_prefix: format!("op_{owner}_"),
        except: Vec::new(),
        limit: 100,
    }
}

pub async fn versions_leases_and_accounts(s: Arc<dyn Store>) {
    let row = s.insert(new("acct", "op1")).await.unwrap();
    assert_eq!(row.status, Status::Creating);
    assert_eq!(row.op.as_ref().unwrap().origin, "op1");
    assert!(
        matches!(s.insert(new("acct", "op2")).await, Err(StoreError::AccountTaken { id }) if id == row.id)
    );
    // Only the running operation may finish it.
    assert!(matches!(
        s.finish(finish(row.id, "other", true)).await,
        Err(StoreError::LeaseLost(_))
    ));
    let done = s.finish(finish(row.id, "op1", true)).await.unwrap();
    assert_eq!(done.status, Status::Enabled);
    assert!(done.op.is_none());
    assert_eq!(done.secrets, Some(vec![1, 2, 3]));
    assert_eq!(done.bootstrap_version, 1);
    // A stale version is refused; the current one starts the edit.
    let start = |v: i64, op: &str| StartOp {
        id: row.id,
        expected_version: Some(v),
        event: Event::StartEdit,
        lease: OpLease {
            kind: "edit".into(),
            ..lease(op, 0)
        },
        new_account_key: None,
        validation_results: None,
        input: Some(vec![9]),
        revalidate: None,
    };
    assert!(matches!(
        s.start_operation(start(done.version - 1, "e0")).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let editing = s.start_operation(start(done.version, "e1")).await.unwrap();
    assert_eq!(editing.status, Status::Editing);
    assert!(matches!(
        s.start_operation(start(editing.version, "e2")).await,
        Err(StoreError::Transition(
            junction_core::TransitionError::InProgress(Status::Editing)
        ))
    ));
    assert!(s.renew_lease(row.id, "e1", i64::MAX / 2).await.unwrap());
    assert!(!s.renew_lease(row.id, "e0", i64::MAX / 2).await.unwrap());
    s.record_validation(
        row.id,
        "e1",
        r#"{"status":"passed","validationTests":[]}"#,
        Some("key_test"),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.record_validation(row.id, "e0", "{}", None).await,
        Err(StoreError::LeaseLost(_))
    ));
    let mut failed = finish(row.id, "e1", false);
    failed.leftovers = Leftovers::Set(r#"[{"step":"x"}]"#.into());
    let failed = s.finish(failed).await.unwrap();
    assert_eq!(failed.status, Status::EditError);
    assert_eq!(
        failed.validation_results,
        r#"{"status":"passed","validationTests":[]}"#
    );
    assert_eq!(failed.leftovers.as_deref(), Some(r#"[{"step":"x"}]"#));
    let h = s.history(row.id).await.unwrap().unwrap();
    let events: Vec<&str> = h.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        ["create", "outcome", "edit", "validation", "outcome"]
    );
    assert!(
        h.iter().all(|e| e.key_id.as_deref() == Some("key_test")),
        "{h:?}"
    );
    assert!(h.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(s.history(999_999).await.unwrap().is_none());
    assert!(s.get(999_999).await.unwrap().is_none());
    // Deleting frees the account; a new integration may take it.
    let del = s
        .start_operation(StartOp {
            id: row.id,
            expected_version: None,
            event: Event::StartDelete,
            lease: OpLease {
                kind: "delete".into(),
                ..lease("d1", i64::MAX / 2)
            },
            new_account_key: None,
            validation_results: None,
            input: None,
            revalidate: None,
        })
        .await
        .unwrap();
    assert_eq!(del.status, Status::Deleting);
    let mut gone = finish(row.id, "d1", true);
    gone.secrets = SecretsUpdate::Set(None);
    let gone = s.finish(gone).await.unwrap();
    assert_eq!(gone.status, Status::Deleted);
    assert_eq!(gone.secrets, None);
    assert_eq!(gone.leftovers, None);
    let again = s.insert(new("acct", "op3")).await.unwrap();
    assert_ne!(again.id, row.id);
    let counts = s.count_by_status().await.unwrap();
    assert!(
        counts.contains(&(Status::Deleted, 1)) && counts.contains(&(Status::Creating, 1)),
        "{counts:?}"
    );
}

pub async fn keys_meta_and_idempotency(s: Arc<dyn Store>) {
    let mut k = crate::auth::generate(Role::Read, "r").unwrap();
    k.record.expires_at = Some(k.record.created_at + 1000);
    s.insert_key(&k.record, &k.hash).await.unwrap();
    let found = s.find_key(&k.hash).await.unwrap().unwrap();
    assert_eq!(found, k.record);
    assert!(s.find_key("nope").await.unwrap().is_none());
    assert_eq!(s.count_keys().await.unwrap(), 1);
    assert!(s.revoke_key(&k.record.id, 42).await.unwrap());
    assert!(!s.revoke_key("key_none", 42).await.unwrap());
    let revoked = s.find_key(&k.hash).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(42));
    assert!(!revoked.usable(0));
    assert_eq!(s.list_keys().await.unwrap(), vec![revoked]);
    assert!(s.get_meta("m").await.unwrap().is_none());
    s.set_meta("m", b"one").await.unwrap();
    s.set_meta("m", b"two").await.unwrap();
    assert_eq!(s.get_meta("m").await.unwrap().unwrap(), b"two");
    let mut a = new("a", "o1");
    a.idempotency = Some(("k".into(), "h1".into()));
    let row = s.insert(a.clone()).await.unwrap();
    assert!(
        matches!(s.insert(a.clone()).await, Err(StoreError::IdempotentReplay { id, same_request: true }) if id == row.id)
    );
    a.idempotency = Some(("k".into(), "h2".into()));
    a.account_key = "b".into();
    assert!(matches!(
        s.insert(a).await,
        Err(StoreError::IdempotentReplay {
            same_request: false,
            ..
        })
    ));
}

/// Two hosts claim expired leases at once: each operation is taken by
/// exactly one, under a new id that fences the old holder out.
pub async fn expired_leases_are_claimed_once_and_fence_the_old_holder(s: Arc<dyn Store>) {
    let now = crate::util::now_ms();
    let mut ids = Vec::new();
    for i in 0..20 {
        let mut n = new(&format!("c-{i}"), &format!("old{i}"));
        n.lease.expires_ms = now - 10;
        ids.push(s.insert(n).await.unwrap().id);
    }
    let live = s.insert(new("c-live", "live")).await.unwrap();
    let mut running_here = new("c-mine", "mine");
    running_here.lease.expires_ms = now - 10;
    let mine = s.insert(running_here).await.unwrap();
    let (a, b) = (Arc::clone(&s), Arc::clone(&s));
    let mut ca = claim("a", now);
    ca.except = vec!["mine".into()];
    let mut cb = claim("b", now);
    cb.except = vec!["mine".into()];
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.claim_expired(&ca).await.unwrap() }),
        tokio::spawn(async move { b.claim_expired(&cb).await.unwrap() })
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut all: Vec<i64> = ra.iter().chain(rb.iter()).map(|c| c.row.id).collect();
    all.sort_unstable();
    assert_eq!(all, ids, "every expired operation claimed exactly once");
    assert!(!all.contains(&live.id) && !all.contains(&mine.id));
    for c in ra.iter().chain(rb.iter()) {
        let op = c.row.op.as_ref().unwrap();
        let i = ids.iter().position(|id| *id == c.row.id).unwrap();
        assert_eq!(c.previous.op_id, format!("old{i}"));
        assert_eq!(
            op.origin,
            format!("old{i}"),
            "the origin survives a take-over"
        );
        assert_ne!(op.op_id, c.previous.op_id);
        assert!(op.owner == "a" || op.owner == "b");
        // The old holder can neither renew nor finish.
        assert!(
            !s.renew_lease(c.row.id, &c.previous.op_id, i64::MAX / 2)
                .await
                .unwrap()
        );
        assert!(matches!(
            s.finish(finish(c.row.id, &c.previous.op_id, true)).await,
            Err(StoreError::LeaseLost(_))
        ));
    }
    // Nothing is left to claim; the new holder finishes.
    let mut cc = claim("c", now);
    cc.except = vec!["mine".into()];
    assert!(s.claim_expired(&cc).await.unwrap().is_empty());
    // The operation this host runs itself is claimed by a host that does not.
    let theirs = s.claim_expired(&claim("d", now)).await.unwrap();
    assert_eq!(
        theirs.iter().map(|c| c.row.id).collect::<Vec<_>>(),
        [mine.id]
    );
    let first = ra.first().or(rb.first()).unwrap();
    let op_id = first.row.op.as_ref().unwrap().op_id.clone();
    let mut f = finish(first.row.id, &op_id, false);
    f.event = "recovered";
    let ended = s.finish(f).await.unwrap();
    assert_eq!(ended.status, Status::CreateError);
    let h = s.history(first.row.id).await.unwrap().unwrap();
    let events: Vec<&str> = h.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["create", "takeover", "recovered"]);
    assert!(
        h[1].message
            .as_deref()
            .unwrap()
            .contains("took over the create"),
        "{h:?}"
    );
}

/// Hosts inserting the same account at once: the database's constraint
/// admits exactly one.
pub async fn one_account_one_integration_under_concurrent_inserts(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            s.insert(new("shared", &format!("op{i}"))).await
        }));
    }
    let mut won = Vec::new();
    let mut taken = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(row) => won.push(row.id),
            Err(StoreError::AccountTaken { id }) => taken.push(id),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    assert!(taken.iter().all(|id| *id == won[0]), "{taken:?} vs {won:?}");
}

/// The journal: written only under the running operation's id, read in
/// plan and step order, a step's state updated in place; a take-over keeps
/// the journal (by the operation's origin) and fences the old id out.
pub async fn the_journal_is_fenced_by_the_operation_id(s: Arc<dyn Store>) {
    use crate::store::{JournalEntry, StepState};
    let now = crate::util::now_ms();
    let mut n = new("j", "op-j");
    n.lease.expires_ms = now - 1;
    let row = s.insert(n).await.unwrap();
    let entry = |plan, step, id: &str, state| JournalEntry {
        plan,
        step,
        step_id: id.into(),
        state,
        apply: format!("ADD {id};"),
        undo: Some(format!("REMOVE {id};")),
    };
    s.journal_write(
        row.id,
        "op-j",
        "op-j",
        &entry(1, 1, "b", StepState::Started),
    )
    .await
    .unwrap();
    s.journal_write(
        row.id,
        "op-j",
        "op-j",
        &entry(1, 0, "a", StepState::Started),
    )
    .await
    .unwrap();
    s.journal_write(
        row.id,
        "op-j",
        "op-j",
        &entry(1, 0, "a", StepState::Applied),
    )
    .await
    .unwrap();
    s.journal_write(
        row.id,
        "op-j",
        "op-j",
        &entry(2, 0, "c", StepState::Started),
    )
    .await
    .unwrap();
    let j = s.journal("op-j").await.unwrap();
    assert_eq!(
        j,
        vec![
            entry(1, 0, "a", StepState::Applied),
            entry(1, 1, "b", StepState::Started),
            entry(2, 0, "c", StepState::Started)
        ]
    );
    assert!(matches!(
        s.journal_write(
            row.id,
            "other",
            "op-j",
            &entry(1, 2, "x", StepState::Started)
        )
        .await,
        Err(StoreError::LeaseLost(_))
    ));
    let claimed = s.claim_expired(&claim("h2", now)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let new_id = claimed[0].row.op.as_ref().unwrap().op_id.clone();
    assert!(matches!(
        s.journal_write(
            row.id,
            "op-j",
            "op-j",
            &entry(1, 2, "d", StepState::Started)
        )
        .await,
        Err(StoreError::LeaseLost(_))
    ));
    s.journal_write(
        row.id,
        &new_id,
        "op-j",
        &entry(1, 1, "b", StepState::Undone),
    )
    .await
    .unwrap();
    let j = s.journal("op-j").await.unwrap();
    assert_eq!(j.len(), 3);
    assert_eq!(j[1].state, StepState::Undone);
    assert!(s.journal("none").await.unwrap().is_empty());
}

/// Re-encryption swaps a row's sealed values only while they are what was read.
pub async fn sealed_values_are_swapped_only_when_unchanged(s: Arc<dyn Store>) {
    use crate::store::SealedRow;
    let mut n = new("sealed", "op-s");
    n.input = Some(vec![7]);
    let row = s.insert(n).await.unwrap();
    let read = s.sealed_page(0, 10).await.unwrap();
    assert_eq!(
        read,
        vec![SealedRow {
            id: row.id,
            secrets: Some(vec![1, 2, 3]),
            input: Some(vec![7])
        }]
    );
    let new = SealedRow {
        id: row.id,
        secrets: Some(vec![4]),
        input: Some(vec![8]),
    };
    assert!(s.reseal(&read[0], &new).await.unwrap());
    assert!(
        !s.reseal(&read[0], &new).await.unwrap(),
        "a stale read swaps nothing"
    );
    assert_eq!(s.get(row.id).await.unwrap().unwrap().secrets, Some(vec![4]));
    assert!(s.sealed_page(row.id, 10).await.unwrap().is_empty());
}

/// Every suite test, by name, for the stores' test modules.
#[macro_export]
macro_rules! store_suite {
    ($make:path) => {
        $crate::store_suite!(@each $make,
            versions_leases_and_accounts,
            keys_meta_and_idempotency,
            lists_page_by_id_with_filters,
            expired_leases_are_claimed_once_and_fence_the_old_holder,
            one_account_one_integration_under_concurrent_inserts,
            the_journal_is_fenced_by_the_operation_id,
            sealed_values_are_swapped_only_when_unchanged,
            status_changes_and_test_results_are_events_in_seq_order,
            the_recorder_stores_scrubbed_tests_in_the_order_they_finish,
            the_outbox_is_claimed_under_a_lease_retried_and_delivered,
            concurrent_claims_never_share_a_delivery,
            a_read_by_id_sees_every_committed_write,
            revalidations_are_scheduled_claimed_once_fenced_and_recorded,
            disable_and_enable_keep_the_account_and_take_the_lease,
            concurrent_revalidation_claims_never_share_a_run,
        );
    };
    (@each $make:path, $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(store) = $make().await else { return };
                $crate::store::suite::$name(store.store()).await;
                store.cleanup().await;
            }
        )*
    };
}
