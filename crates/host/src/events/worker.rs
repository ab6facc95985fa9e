//! The webhook delivery worker: claims due rows of the store's outbox with a
//! lease (so hosts sharing a store never send the same row at once), POSTs
//! each event signed, and records the attempt: delivered on a 2xx, else due
//! again after an exponential backoff with jitter, until it gives up.
//!
//! At least once: a host stopped between the receiver's answer and the
//! record sends the event again once the lease lapses. Every request
//! carries the event's `seq` as `Junction-Event-Id`, the same on every retry,
//! for the receiver to drop duplicates.

use super::signing::{EVENT_ID_HEADER, SIGNATURE_HEADER};
use super::store::{Attempt, AttemptOutcome, DeliveryClaim, DueDelivery};
use crate::host::Host;
use crate::util::now_ms;
use junction_core::Secret;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How long one POST may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim holds a row: longer than a request, so a live host's
/// row is never taken; short, so a stopped host's row waits little.
const LEASE: Duration = Duration::from_secs(15);
/// Rows claimed at a time (sent concurrently).
const BATCH: usize = 16;
/// How often the outbox is looked at for retries falling due (and other
/// hosts' events); a new event of this host wakes the worker at once.
const POLL: Duration = Duration::from_secs(1);

/// When retries are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure; doubled after each next one.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
    /// Attempts in all; after the last failure the delivery is given up.
    pub max_attempts: i64,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s … up to an hour, 15 attempts (about 9 hours in all).
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3600),
            max_attempts: 15,
        }
    }
}

impl Backoff {
    /// The wait after failed attempt `attempt` (from 1), `jitter` in [0, 1]:
    /// between half and all of `base · 2^(attempt-1)` (capped), so receivers
    /// that came back are not hit by every host's retries at once.
    pub fn delay(&self, attempt: i64, jitter: f64) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.cap);
        let jitter = jitter.clamp(0.0, 1.0);
        full / 2 + full.mul_f64(jitter / 2.0)
    }

    /// When the next attempt is due after failed attempt `attempt`, or
    /// `None` when it was the last.
    pub fn next_at(&self, attempt: i64, now_ms: i64, jitter: f64) -> Option<i64> {
        if attempt >= self.max_attempts {
            return None;
        }
        let ms = i64::try_from(self.delay(attempt, jitter).as_millis()).unwrap_or(i64::MAX);
        Some(now_ms.saturating_add(ms))
    }
}

/// A uniform number in [0, 1] from the OS's randomness (0.5 if it fails).
fn jitter() -> f64 {
    crate::util::random_bytes::<4>()
        .map(|b| f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX))
        .unwrap_or(0.5)
}

/// Why the deliveries' HTTP client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("the webhook client could not be built: {0}")]
    Build(String),
}

/// The HTTP client of the deliveries: rustls on aws-lc-rs with the web PKI
/// roots, no redirects (a receiver cannot send the event elsewhere).
pub fn client() -> Result<reqwest::Client, ClientError> {
    let tls = crate::tls::client_config(None)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("junction-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::Build(e.without_url().to_string()))
}

/// Starts the worker on this host; it runs until the process ends.
pub fn spawn(host: Arc<Host>, client: reqwest::Client, backoff: Backoff) {
    tokio::spawn(run(host, client, backoff).instrument(tracing::info_span!("webhooks")));
}

async fn run(host: Arc<Host>, client: reqwest::Client, backoff: Backoff) {
    let store = Arc::clone(host.store());
    let mut watch = store.event_watch();
    loop {
        watch.borrow_and_update();
        let now = now_ms();
        let claim = DeliveryClaim {
            now_ms: now,
            owner: host.owner().to_owned(),
            lease_until_ms: now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX),
            limit: BATCH,
        };
        let claimed = match store.claim_deliveries(&claim).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "the webhook outbox could not be read");
                Vec::new()
            }
        };
        let full = claimed.len() == BATCH;
        let mut sends = tokio::task::JoinSet::new();
        for d in claimed {
            let span = tracing::info_span!(
                "delivery",
                webhook = %d.webhook.id,
                seq = d.event.seq,
                integration_id = d.event.integration_id,
                platform = %d.event.type_name,
                attempt = d.attempt,
            );
            sends.spawn(deliver(Arc::clone(&host), client.clone(), backoff, d).instrument(span));
        }
        while sends.join_next().await.is_some() {}
        if full {
            continue;
        }
        tokio::select! {
            _ = watch.changed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One attempt, recorded.
async fn deliver(host: Arc<Host>, client: reqwest::Client, backoff: Backoff, d: DueDelivery) {
    let outcome = match open_secret(&host, &d) {
        Some(secret) => post(&client, &secret, &d).await,
        None => AttemptOutcome::Error("the webhook's secret could not be opened".into()),
    };
    let now = now_ms();
    let next_at_ms = if outcome.delivered() {
        None
    } else {
        backoff.next_at(d.attempt, now, jitter())
    };
    crate::metrics::global().webhook_delivery(if outcome.delivered() {
        crate::metrics::Delivery::Delivered
    } else {
        crate::metrics::Delivery::Failed
    });
    match &outcome {
        AttemptOutcome::Http(s) if outcome.delivered() => {
            tracing::info!(status = s, "event delivered");
        }
        AttemptOutcome::Http(s) => {
            tracing::warn!(
                status = s,
                given_up = next_at_ms.is_none(),
                "the receiver refused the event"
            );
        }
        AttemptOutcome::Error(e) => {
            tracing::warn!(error = %e, given_up = next_at_ms.is_none(), "the event could not be sent");
        }
    }
    let attempt = Attempt {
        seq: d.event.seq,
        attempt: d.attempt,
        at_ms: now,
        outcome,
        next_at_ms,
    };
    match host
        .store()
        .record_attempt(&d.webhook.id, host.owner(), &attempt)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the delivery's lease lapsed before its attempt was recorded"),
        Err(e) => tracing::error!(error = %e, "a delivery attempt could not be recorded"),
    }
}

fn open_secret(host: &Host, d: &DueDelivery) -> Option<Secret<String>> {
    match host.secrets().open_value(&d.webhook.secret) {
        Ok(serde_json::Value::String(s)) => Some(Secret::new(s)),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(error = %e, "a webhook's secret could not be opened");
            None
        }
    }
}

/// POSTs the event's JSON, signed.
async fn post(
    client: &reqwest::Client,
    secret: &Secret<String>,
    d: &DueDelivery,
) -> AttemptOutcome {
    let body = super::to_json(&d.event);
    let t = now_ms().div_euclid(1000);
    let signature = super::signing::header(secret, t, body.as_bytes());
    let sent = client
        .post(&d.webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_ID_HEADER, d.event.seq.to_string())
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => AttemptOutcome::Http(resp.status().as_u16()),
        Err(e) => AttemptOutcome::Error(describe(&e)),
    }
}

/// A failed request in our words: reqwest's text may carry the URL, which
/// may hold a token, so it is not used.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "the connection failed".into()
    } else if e.is_redirect() {
        "the receiver redirected (redirects are not followed)".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_with_jitter_up_to_the_cap_then_gives_up() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(b.delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(4, 0.5), Duration::from_secs(6));
        assert_eq!(b.delay(40, 1.0), b.cap, "capped");
        assert_eq!(b.delay(40, 0.0), b.cap / 2);
        assert_eq!(b.next_at(1, 1000, 1.0), Some(2000));
        assert_eq!(
            b.next_at(b.max_attempts - 1, 0, 1.0).map(|t| t > 0),
            Some(true)
        );
        assert_eq!(b.next_at(b.max_attempts, 0, 1.0), None, "the last attempt");
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..=1.0).contains(&j));
        }
    }
}
