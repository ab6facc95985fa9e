//! The webhook API: `POST /webhooks` (admin) registers an endpoint and shows
//! its signing secret once; `GET /webhooks`, `GET /webhooks/{id}`,
//! `DELETE /webhooks/{id}`, and `GET /webhooks/{id}/deliveries` (each
//! event's delivery and its attempts). The secret is sealed at rest like an
//! integration's secrets and never shown again.

use super::store::{Attempt, AttemptOutcome, Delivery, DeliveryState, EventKind, WebhookRow};
use crate::api::App;
use crate::error::{ApiError, BODY, json};
use crate::host::HostError;
use crate::util::{hex, now_ms, random_bytes, random_id, rfc3339};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// Deliveries `GET /webhooks/{id}/deliveries` shows, newest first.
const DELIVERIES_SHOWN: usize = 100;

/// A webhook to register, checked.
#[derive(Debug)]
pub struct NewWebhook {
    pub url: String,
    pub kinds: Vec<EventKind>,
    /// `None`: one is generated.
    pub secret: Option<Secret<String>>,
}

impl NewWebhook {
    /// Every bad field, each with its path.
    pub fn parse(v: &Value) -> Result<Self, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let Some(obj) = v.as_object() else {
            return Err(ConfigErrors::one(BODY, "must be a JSON object"));
        };
        for k in obj.keys() {
            if !["url", "events", "secret"].contains(&k.as_str()) {
                errors.push(k.clone(), "unknown field (url, events and secret are)");
            }
        }
        let url = match obj.get("url") {
            Some(Value::String(u)) => {
                if let Err(e) = junction_kit::config::check_url(u, true) {
                    errors.push("url", e);
                }
                u.trim().to_owned()
            }
            Some(_) => {
                errors.push("url", "must be a string");
                String::new()
            }
            None => {
                errors.push("url", "is required");
                String::new()
            }
        };
        let kinds = match obj.get("events") {
            None => EventKind::ALL.to_vec(),
            Some(Value::Array(a)) if a.is_empty() => {
                errors.push("events", "must name at least one of status, test");
                Vec::new()
            }
            Some(Value::Array(a)) => {
                let mut kinds = Vec::new();
                for (i, k) in a.iter().enumerate() {
                    match k.as_str().and_then(EventKind::parse) {
                        Some(k) if !kinds.contains(&k) => kinds.push(k),
                        Some(_) => {}
                        None => errors.push(format!("events[{i}]"), "must be status or test"),
                    }
                }
                kinds
            }
            Some(_) => {
                errors.push("events", "must be an array of status, test");
                Vec::new()
            }
        };
        let secret = match obj.get("secret") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let ok_chars = s.chars().all(|c| c.is_ascii_graphic());
                if !(16..=256).contains(&s.len()) || !ok_chars {
                    // Never echoed: the message says what is wrong, not the value.
                    errors.push(
                        "secret",
                        "must be 16 to 256 visible ASCII characters (or omitted: one is generated)",
                    );
                }
                Some(Secret::new(s.clone()))
            }
            Some(_) => {
                errors.push("secret", "must be a string");
                None
            }
        };
        errors.into_result()?;
        Ok(NewWebhook { url, kinds, secret })
    }
}

/// A new signing secret: 32 random bytes, hex, with a recognisable prefix.
fn generate_secret() -> Result<Secret<String>, HostError> {
    let bytes = random_bytes::<32>().map_err(HostError::internal)?;
    Ok(Secret::new(format!("whsec_{}", hex(&bytes))))
}

/// The body of `POST /webhooks` (for the document; the handler reads it
/// field by field, to name each bad one).
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookRequest {
    /// https, or plain http to a loopback address.
    #[schemars(regex(pattern = r"^\s*https?://[^/?#@\s]+"))]
    pub url: String,
    /// The kinds of event to receive; both when omitted.
    #[schemars(length(min = 1))]
    pub events: Option<Vec<WebhookEventKind>>,
    /// The signing secret (16 to 256 visible ASCII characters); generated when omitted.
    #[schemars(extend("writeOnly" = true), length(min = 16, max = 256), regex(pattern = r"^[!-~]*$"))]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Copy, serde::Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WebhookEventKind {
    Status,
    Test,
}

/// A registered webhook.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventKind>,
    pub created_at: String,
    /// The signing secret: only in the answer to the create, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_json(w: &WebhookRow, secret: Option<&str>) -> Webhook {
    Webhook {
        id: w.id.clone(),
        url: w.url.clone(),
        events: EventKind::ALL
            .into_iter()
            .filter(|k| w.wants(*k))
            .map(|k| match k {
                EventKind::Status => WebhookEventKind::Status,
                EventKind::Test => WebhookEventKind::Test,
            })
            .collect(),
        created_at: rfc3339(w.created_at),
        secret: secret.map(str::to_owned),
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::from(HostError::internal(e))
}

fn webhook_id(raw: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    raw.map(|Path(id)| id)
        .map_err(|_| ApiError::field("id", "must be a webhook id"))
}

fn not_found(id: &str) -> ApiError {
    // The id is echoed only when it looks like one of ours.
    let shown = if id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        id
    } else {
        "given"
    };
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("No webhook with the id {shown}."),
    )
}

/// The body as a value: JSON or YAML by its Content-Type, as every body.
fn read_body(headers: &HeaderMap, raw: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let raw = raw.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            crate::body::too_large()
        } else {
            ApiError::field(BODY, "the body could not be read")
        }
    })?;
    let format = crate::body::format_of(headers)?;
    crate::body::parse_value(&raw, format)?
        .ok_or_else(|| ApiError::field(BODY, "is required: {url, events?, secret?}"))
}

pub async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let value = read_body(&headers, raw)?;
    let new = NewWebhook::parse(&value).map_err(ApiError::invalid)?;
    let secret = match new.secret {
        Some(s) => s,
        None => generate_secret()?,
    };
    let sealed = app
        .host
        .secrets()
        .seal_value(&Value::String(secret.expose().clone()))
        .map_err(internal)?;
    let row = WebhookRow {
        id: random_id("wh_"),
        url: new.url,
        status_events: new.kinds.contains(&EventKind::Status),
        test_events: new.kinds.contains(&EventKind::Test),
        secret: sealed,
        created_at: now_ms(),
    };
    app.host
        .store()
        .insert_webhook(&row)
        .await
        .map_err(internal)?;
    tracing::info!(webhook = %row.id, url = %row.url, "webhook registered");
    Ok(json(
        StatusCode::CREATED,
        &webhook_json(&row, Some(secret.expose())),
    ))
}

pub async fn list(State(app): State<App>) -> Result<Response, ApiError> {
    let rows = app.host.store().webhooks().await.map_err(internal)?;
    let out: Vec<Webhook> = rows.iter().map(|w| webhook_json(w, None)).collect();
    Ok(json(StatusCode::OK, &out))
}

async fn find(app: &App, id: &str) -> Result<WebhookRow, ApiError> {
    app.host
        .store()
        .webhook(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(id))
}

pub async fn get_one(
    State(app): State<App>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = webhook_id(id)?;
    let w = find(&app, &id).await?;
    Ok(json(StatusCode::OK, &webhook_json(&w, None)))
}

pub async fn delete(
    State(app): State<App>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = webhook_id(id)?;
    if !app
        .host
        .store()
        .delete_webhook(&id)
        .await
        .map_err(internal)?
    {
        return Err(not_found(&id));
    }
    tracing::info!(webhook = %id, "webhook deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One event's delivery to a webhook.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// The event's seq (its `Junction-Event-Id`).
    pub seq: i64,
    /// pending, delivered, or failed (every attempt failed; no more are made).
    pub state: String,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub seq: i64,
    /// From 1.
    pub attempt: i64,
    pub at: String,
    /// The receiver's answer, when there was one.
    pub http_status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
    /// When the next attempt was then due.
    pub next_attempt_at: Option<String>,
}

fn attempt_json(a: &Attempt) -> DeliveryAttempt {
    let (http_status, error) = match &a.outcome {
        AttemptOutcome::Http(s) => (Some(*s), None),
        AttemptOutcome::Error(e) => (None, Some(e.clone())),
    };
    DeliveryAttempt {
        seq: a.seq,
        attempt: a.attempt,
        at: rfc3339(a.at_ms),
        http_status,
        error,
        next_attempt_at: a.next_at_ms.map(rfc3339),
    }
}

fn delivery_json(d: &Delivery) -> WebhookDelivery {
    WebhookDelivery {
        seq: d.seq,
        state: d.state.as_str().to_owned(),
        next_attempt_at: match d.state {
            DeliveryState::Pending => d.next_at_ms.map(rfc3339),
            _ => None,
        },
        attempts: d.attempts.iter().map(attempt_json).collect(),
    }
}

pub async fn deliveries(
    State(app): State<App>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = webhook_id(id)?;
    find(&app, &id).await?;
    let d = app
        .host
        .store()
        .deliveries(&id, DELIVERIES_SHOWN)
        .await
        .map_err(internal)?;
    let out: Vec<WebhookDelivery> = d.iter().map(delivery_json).collect();
    Ok(json(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value) -> Vec<String> {
        NewWebhook::parse(&v)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn bad_fields_are_refused_with_their_paths() {
        assert_eq!(paths(json!({"url": "http://example.com/h"})), ["url"]);
        assert_eq!(paths(json!({"url": "ftp://127.0.0.1/h"})), ["url"]);
        assert_eq!(paths(json!({})), ["url"]);
        assert_eq!(
            paths(json!({"url": 1, "events": ["status", "nope"], "secret": "short", "x": 1})),
            ["x", "url", "events[1]", "secret"]
        );
        assert_eq!(
            paths(json!({"url": "https://h/x", "events": []})),
            ["events"]
        );
        assert_eq!(paths(json!([1])), [BODY]);
    }

    #[test]
    fn a_secret_too_short_is_not_echoed() {
        let e =
            NewWebhook::parse(&json!({"url": "https://h/x", "secret": "SENTINEL-x"})).unwrap_err();
        assert!(!format!("{e:?}").contains("SENTINEL"), "{e:?}");
    }

    #[test]
    fn good_ones_default_to_every_kind_and_a_generated_secret() {
        let w = NewWebhook::parse(&json!({"url": "http://127.0.0.1:9/hook"})).unwrap();
        assert_eq!(w.kinds, EventKind::ALL.to_vec());
        assert!(w.secret.is_none());
        let w = NewWebhook::parse(&json!({"url": "https://hooks.example.com/j", "events": ["test", "test"], "secret": "0123456789abcdef"})).unwrap();
        assert_eq!(w.kinds, vec![EventKind::Test]);
        assert_eq!(w.secret.unwrap().expose(), "0123456789abcdef");
        let s = generate_secret().unwrap();
        assert!(s.expose().starts_with("whsec_") && s.expose().len() == 70);
    }
}
