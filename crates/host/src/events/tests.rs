//! The event's JSON and its SSE frame, exactly as agreed with the CLI's
//! client (`id:`, `event:`, `data:` one line, a blank line).

use super::store::{EventBody, StoredEvent};
use super::{sse, to_json};
use junction_core::{Status, TestStatus, ValidationTest};

fn event(seq: i64, body: EventBody) -> StoredEvent {
    StoredEvent {
        seq,
        integration_id: 7,
        type_name: "Synthetic".into(),
        operation: "create".into(),
        body,
        at_ms: 1_764_584_000_123,
    }
}

#[test]
fn a_status_event_is_the_agreed_json() {
    let e = event(
        3,
        EventBody::Status {
            from: None,
            to: Status::Creating,
        },
    );
    assert_eq!(
        to_json(&e),
        r#"{"seq":3,"kind":"status","integrationId":7,"type":"Synthetic","operation":"create","from":null,"status":"creating","at":"2025-12-01T10:13:20.123Z"}"#
    );
    let e = event(
        4,
        EventBody::Status {
            from: Some(Status::Creating),
            to: Status::Enabled,
        },
    );
    assert_eq!(
        sse::frame(&e),
        "id: 4\nevent: status\ndata: {\"seq\":4,\"kind\":\"status\",\"integrationId\":7,\"type\":\"Synthetic\",\"operation\":\"create\",\"from\":\"creating\",\"status\":\"enabled\",\"at\":\"2025-12-01T10:13:20.123Z\"}\n\n"
    );
}

#[test]
fn a_test_event_is_the_agreed_json_with_a_null_message() {
    let t = |message: Option<&str>| {
        EventBody::Test(ValidationTest {
            name: "Synthetic: connection".into(),
            status: TestStatus::Failed,
            message: message.map(str::to_owned),
        })
    };
    assert_eq!(
        to_json(&event(5, t(None))),
        r#"{"seq":5,"kind":"test","integrationId":7,"type":"Synthetic","operation":"create","test":{"name":"Synthetic: connection","status":"failed","message":null},"at":"2025-12-01T10:13:20.123Z"}"#
    );
    let framed = sse::frame(&event(6, t(Some("two\nlines"))));
    // id, event, one data line (the newline escaped in the JSON), the blank line.
    assert_eq!(framed.lines().count(), 4, "data stays one line: {framed}");
    assert!(framed.contains(r#""message":"two\nlines""#), "{framed}");
    assert!(framed.starts_with("id: 6\nevent: test\ndata: {"));
}
