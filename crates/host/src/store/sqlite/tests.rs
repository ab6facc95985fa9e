//! The SQLite store's own tests.

use super::SqliteStore;
use crate::auth::Role;
use crate::store::{Finish, NewIntegration, OpLease, SecretsUpdate, StartOp, Store, StoreError};
use junction_core::{Event, Status};
use std::path::PathBuf;

fn lease(op: &str, expires_ms: i64) -> OpLease {
    OpLease {
        op_id: op.into(),
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
        config: "{}".into(),
        secrets: Some(vec![1, 2, 3]),
        validation_results: r#"{"status":"skipped","validationTests":[]}"#.into(),
        lease: lease(op, i64::MAX / 2),
        idempotency: None,
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
    }
}

fn store() -> (SqliteStore, PathBuf) {
    let dir = std::env::temp_dir().join(crate::util::random_id("junction-store-test-"));
    (SqliteStore::open(&dir).unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_leases_and_accounts() {
    let (s, dir) = store();
    let row = s.insert(new("acct", "op1")).await.unwrap();
    assert_eq!(row.status, Status::Creating);
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
    // Its lease (expiry 0) has expired.
    let expired = s.expired_operations(crate::util::now_ms()).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].lease.op_id, "e1");
    assert!(s.renew_lease(row.id, "e1", i64::MAX / 2).await.unwrap());
    assert!(
        s.expired_operations(crate::util::now_ms())
            .await
            .unwrap()
            .is_empty()
    );
    let failed = s.finish(finish(row.id, "e1", false)).await.unwrap();
    assert_eq!(failed.status, Status::EditError);
    let h = s.history(row.id).await.unwrap().unwrap();
    let events: Vec<&str> = h.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["create", "outcome", "edit", "outcome"]);
    assert_eq!(h[2].key_id.as_deref(), Some("key_test"));
    assert!(s.history(999).await.unwrap().is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_idempotency() {
    let (s, dir) = store();
    let k = crate::auth::generate(Role::Read, "r").unwrap();
    s.insert_key(&k.record, &k.hash).await.unwrap();
    assert_eq!(s.find_key(&k.hash).await.unwrap().unwrap().role, Role::Read);
    assert!(s.find_key("nope").await.unwrap().is_none());
    assert_eq!(s.count_keys().await.unwrap(), 1);
    let mut a = new("a", "o1");
    a.idempotency = Some(("k".into(), "h1".into()));
    let row = s.insert(a.clone()).await.unwrap();
    assert!(
        matches!(s.insert(a.clone()).await, Err(StoreError::IdempotentReplay { id, same_request: true }) if id == row.id)
    );
    a.idempotency = Some(("k".into(), "h2".into()));
    assert!(matches!(
        s.insert(a).await,
        Err(StoreError::IdempotentReplay {
            same_request: false,
            ..
        })
    ));
    std::fs::remove_dir_all(dir).unwrap();
}
