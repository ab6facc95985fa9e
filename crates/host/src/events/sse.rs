//! `GET /events`: the stored events as Server-Sent Events, then live ones.
//!
//! Each connection has a task that reads the store from the client's last
//! `seq` in pages and writes frames into a small bounded channel that the
//! response body drains: a slow client makes its task wait, never buffers
//! more than a few frames and one page. Between pages the task waits on the
//! store's event watch (woken after a commit that stored events), so it never
//! polls the store in a loop, and since it always reads from its last `seq`,
//! a wake-up it slept through costs nothing: the next read has everything.

use crate::api::App;
use crate::error::ApiError;
use crate::store::Store;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// A comment line this often, so proxies and clients see the stream alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events read from the store at a time.
const PAGE: usize = 100;
/// Frames queued for a client at most.
const QUEUE: usize = 16;

/// What the query string and `Last-Event-ID` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsQuery {
    pub integration: Option<i64>,
    pub after: i64,
    /// `false`: end once the stored events are sent.
    pub follow: bool,
}

impl EventsQuery {
    /// A bad parameter is a 400 naming it; `Last-Event-ID` wins over `after`.
    pub fn parse(query: Option<&str>, last_event_id: Option<&str>) -> Result<Self, ApiError> {
        let mut q = EventsQuery {
            integration: None,
            after: 0,
            follow: true,
        };
        for pair in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "integration" => {
                    q.integration =
                        Some(v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                            ApiError::field(
                                "integration",
                                "must be an integration id (a positive integer)",
                            )
                        })?);
                }
                "after" => q.after = seq(v, "after")?,
                "follow" => {
                    q.follow = match v {
                        "true" => true,
                        "false" => false,
                        _ => return Err(ApiError::field("follow", "must be true or false")),
                    }
                }
                other => {
                    return Err(ApiError::field(
                        other.to_owned(),
                        "unknown parameter (integration, after and follow are)",
                    ));
                }
            }
        }
        if let Some(id) = last_event_id.map(str::trim).filter(|s| !s.is_empty()) {
            q.after = seq(id, "Last-Event-ID")?;
        }
        Ok(q)
    }
}

fn seq(v: &str, path: &str) -> Result<i64, ApiError> {
    v.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::field(path, "must be an event seq (a non-negative integer)"))
}

pub async fn events(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::field("Last-Event-ID", "must be an event seq"))?,
        ),
        None => None,
    };
    let q = EventsQuery::parse(query.as_deref(), last)?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let span = tracing::info_span!("events", integration_id = ?q.integration, after = q.after);
    tokio::spawn(pump(Arc::clone(app.host.store()), q, tx).instrument(span));
    let mut resp = (StatusCode::OK, Body::new(Frames(rx))).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies that buffer (nginx) pass the stream through as it comes.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// One event as its SSE frame.
pub fn frame(e: &super::store::StoredEvent) -> String {
    format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        e.seq,
        e.body.kind().as_str(),
        super::to_json(e)
    )
}

/// Reads from the store and sends frames until the client goes (or, without
/// `follow`, the stored events are sent).
async fn pump(store: Arc<dyn Store>, q: EventsQuery, tx: mpsc::Sender<Bytes>) {
    let mut watch = store.event_watch();
    let mut cursor = q.after;
    let start = tokio::time::Instant::now() + KEEP_ALIVE;
    let mut keep_alive = tokio::time::interval_at(start, KEEP_ALIVE);
    loop {
        // Marked seen before the read: a commit after it wakes the wait below.
        watch.borrow_and_update();
        let read = store.events_after(cursor, q.integration, PAGE);
        let page = match crate::metrics::timed(crate::metrics::StoreOp::EventsAfter, read).await {
            Ok(p) => p,
            Err(e) => {
                // The client reconnects with its Last-Event-ID and misses nothing.
                tracing::warn!(error = %e, "the event stream ended: the store failed");
                return;
            }
        };
        for e in &page {
            if tx.send(Bytes::from(frame(e))).await.is_err() {
                return;
            }
            cursor = e.seq;
        }
        if page.len() == PAGE {
            continue;
        }
        if !q.follow {
            return;
        }
        loop {
            tokio::select! {
                changed = watch.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                _ = keep_alive.tick() => {
                    if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                        return;
                    }
                }
                () = tx.closed() => return,
            }
        }
    }
}

/// The response body: the frames the pump sends, as they come.
struct Frames(mpsc::Receiver<Bytes>);

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|f| f.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_wins_over_after_and_bad_values_name_their_parameter() {
        let q = EventsQuery::parse(Some("integration=7&after=3&follow=false"), Some("9")).unwrap();
        assert_eq!(
            q,
            EventsQuery {
                integration: Some(7),
                after: 9,
                follow: false
            }
        );
        assert_eq!(EventsQuery::parse(None, Some(" ")).unwrap().after, 0);
        for (query, header, path) in [
            ("integration=0", None, "integration"),
            ("integration=x", None, "integration"),
            ("after=-1", None, "after"),
            ("follow=yes", None, "follow"),
            ("limit=3", None, "limit"),
            ("", Some("abc"), "Last-Event-ID"),
        ] {
            let e = EventsQuery::parse(Some(query), header).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.to_string().contains(path), "{query}: {e}");
        }
    }
}
