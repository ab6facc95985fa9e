//! Events and webhooks. Every status change and every validation test's
//! result as it finishes is a stored event with a store-wide increasing
//! `seq`; `GET /events` streams them (Server-Sent Events), and registered
//! webhooks receive each one as signed JSON from a durable outbox.
//!
//! One job per file: what the store keeps (`store`), recording test results
//! as they finish (`record`), the SSE endpoint (`sse`), the webhook API
//! (`webhooks`), the delivery worker (`worker`), signatures (`signing`).
//! The event's JSON, the same on the stream and in a webhook's body, is here.

pub mod record;
pub mod signing;
pub mod sse;
pub mod store;
pub mod webhooks;
pub mod worker;

use crate::openapi::Route;
use serde::Serialize;
use serde_json::json;
use store::{EventBody, StoredEvent};

/// This module's routes, for the API's route table (behind the key check:
/// the read role for GET, admin otherwise).
pub fn routes() -> Vec<Route> {
    let seq = json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX});
    let webhook_id = || json!({"type": "string", "minLength": 1, "maxLength": 64});
    const NO_WEBHOOK: &str = "No webhook with this id.";
    const WEBHOOK_ID: &str = "The webhook's id (`wh_…`).";
    vec![
        Route::get("/events", sse::events)
            .summary("Status changes and each validation test's result as it finishes, as Server-Sent Events: `id: <seq>`, `event: status|test`, `data: <one line of JSON>`. The stored events first, then live ones; a `: keep-alive` comment every 15 s.")
            .query("integration", "Only this integration's events.",
                json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}))
            .query("after", "Only events with a greater seq (the Last-Event-ID header wins).", seq)
            .query("follow", "`false`: the stream ends once the stored events are sent.", json!({"type": "boolean"}))
            .header("Last-Event-ID", "Resume after this seq (what an SSE client sends when it reconnects).",
                json!({"type": "string", "pattern": "^[ \t]*([0-9]{1,18})?[ \t]*$"}))
            .event_stream::<crate::openapi::types::Event>(200, "The event stream.")
            .err(400, "A bad or unknown parameter, named in details."),
        Route::post("/webhooks", webhooks::create)
            .summary("Register a webhook: each event is POSTed to it as JSON, signed (`Junction-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`), with `Junction-Event-Id: <seq>`; retried with backoff until a 2xx. The signing secret is in this answer only.")
            .json_body::<webhooks::WebhookRequest>(true)
            .ok::<webhooks::Webhook>(201, "Registered; `secret` is shown this once.")
            .links_to_id(),
        Route::get("/webhooks", webhooks::list)
            .summary("The registered webhooks (no secrets).")
            .ok::<Vec<webhooks::Webhook>>(200, "Webhooks."),
        Route::get("/webhooks/{webhookId}", webhooks::get_one)
            .summary("One webhook (no secret).")
            .path_param("webhookId", WEBHOOK_ID, webhook_id())
            .ok::<webhooks::Webhook>(200, "The webhook.")
            .err(404, NO_WEBHOOK),
        Route::delete("/webhooks/{webhookId}", webhooks::delete)
            .summary("Delete a webhook and its undelivered events.")
            .path_param("webhookId", WEBHOOK_ID, webhook_id())
            .empty(204, "Deleted.")
            .err(404, NO_WEBHOOK),
        Route::get("/webhooks/{webhookId}/deliveries", webhooks::deliveries)
            .summary("The webhook's latest deliveries (newest event first), each with its attempts.")
            .path_param("webhookId", WEBHOOK_ID, webhook_id())
            .ok::<Vec<webhooks::WebhookDelivery>>(200, "Deliveries.")
            .err(404, NO_WEBHOOK),
    ]
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    seq: i64,
    kind: &'static str,
    integration_id: i64,
    #[serde(rename = "type")]
    type_name: &'a str,
    operation: &'a str,
    #[serde(flatten)]
    body: BodyJson<'a>,
    at: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum BodyJson<'a> {
    Status {
        from: Option<&'static str>,
        status: &'static str,
    },
    Test {
        test: TestJson<'a>,
    },
}

#[derive(Serialize)]
struct TestJson<'a> {
    name: &'a str,
    status: &'static str,
    /// `null` when the test said nothing (never omitted).
    message: Option<&'a str>,
}

/// An event as one line of JSON: the SSE `data:` and a webhook's body.
pub fn to_json(e: &StoredEvent) -> String {
    let body = match &e.body {
        EventBody::Status { from, to } => BodyJson::Status {
            from: from.map(|s| s.as_str()),
            status: to.as_str(),
        },
        EventBody::Test(t) => BodyJson::Test {
            test: TestJson {
                name: &t.name,
                status: t.status.as_str(),
                message: t.message.as_deref(),
            },
        },
    };
    crate::secrets::to_json(&EventJson {
        seq: e.seq,
        kind: e.body.kind().as_str(),
        integration_id: e.integration_id,
        type_name: &e.type_name,
        operation: &e.operation,
        body,
        at: crate::util::rfc3339(e.at_ms),
    })
}

#[cfg(test)]
mod tests;
