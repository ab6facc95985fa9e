//! The store suite's part for reads: pages of the list, and reads by id
//! after writes (the SQLite row cache).

use super::{finish, lease, new};
use crate::store::{ListQuery, OpLease, StartOp, Store};
use junction_core::{Event, Status};
use std::sync::Arc;

/// Reads by id come from a cache on SQLite: each write must show at once.
pub async fn a_read_by_id_sees_every_committed_write(s: Arc<dyn Store>) {
    let row = s.insert(new("cached", "op1")).await.unwrap();
    let read = |id| {
        let s = Arc::clone(&s);
        async move { s.get(id).await.unwrap().unwrap() }
    };
    assert_eq!(read(row.id).await.status, Status::Creating);
    assert_eq!(read(row.id).await.status, Status::Creating);
    assert!(s.renew_lease(row.id, "op1", 123_456).await.unwrap());
    assert_eq!(read(row.id).await.op.unwrap().expires_ms, 123_456);
    s.record_validation(
        row.id,
        "op1",
        r#"{"status":"failed","validationTests":[]}"#,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        read(row.id).await.validation_results,
        r#"{"status":"failed","validationTests":[]}"#
    );
    s.finish(finish(row.id, "op1", true)).await.unwrap();
    let done = read(row.id).await;
    assert_eq!(done.status, Status::Enabled);
    assert!(done.op.is_none());
    // Many readers racing one writer: after the write, none sees the old row.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                for _ in 0..50 {
                    s.get(row.id).await.unwrap();
                }
            })
        })
        .collect();
    let edit = s
        .start_operation(StartOp {
            id: row.id,
            expected_version: Some(done.version),
            event: Event::StartEdit,
            lease: OpLease {
                kind: "edit".into(),
                ..lease("e1", 0)
            },
            new_account_key: None,
            validation_results: None,
            input: None,
            revalidate: None,
        })
        .await
        .unwrap();
    for r in readers {
        r.await.unwrap();
    }
    assert_eq!(read(row.id).await.status, Status::Editing);
    assert_eq!(read(row.id).await.version, edit.version);
}

pub async fn lists_page_by_id_with_filters(s: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut n = new(&format!("acct-{i}"), &format!("op{i}"));
        if i % 2 == 1 {
            n.type_name = "U".into();
        }
        ids.push(s.insert(n).await.unwrap().id);
    }
    s.finish(finish(ids[0], "op0", true)).await.unwrap();
    let q = |after, limit, t: Option<&str>, st: Option<Status>| ListQuery {
        after,
        limit,
        type_name: t.map(str::to_owned),
        status: st,
    };
    let page = s.list_page(&q(0, 3, None, None)).await.unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), ids[..3]);
    assert!(
        page.iter().all(|r| r.secrets.is_none()),
        "lists carry no secrets"
    );
    let next = s.list_page(&q(page[2].id, 3, None, None)).await.unwrap();
    assert_eq!(next.iter().map(|r| r.id).collect::<Vec<_>>(), ids[3..6]);
    let last = s.list_page(&q(next[2].id, 3, None, None)).await.unwrap();
    assert_eq!(last.iter().map(|r| r.id).collect::<Vec<_>>(), ids[6..]);
    let us = s.list_page(&q(0, 100, Some("U"), None)).await.unwrap();
    assert_eq!(us.len(), 3);
    assert!(us.iter().all(|r| r.type_name == "U"));
    let enabled = s
        .list_page(&q(0, 100, None, Some(Status::Enabled)))
        .await
        .unwrap();
    assert_eq!(enabled.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[0]]);
    let none = s
        .list_page(&q(0, 100, Some("T"), Some(Status::Deleted)))
        .await
        .unwrap();
    assert!(none.is_empty());
}
