//! `GET /integrations`: a page by keyset (`limit`, `after`, a `Link: …;
//! rel="next"` header while there may be more) or, without `limit`, the
//! whole list streamed from the store in chunks, so the server's memory does
//! not grow with the number of integrations. Filters: `type`, `status`.
//! Either way the body is a bare array.

use crate::api::{App, render};
use crate::error::{ApiError, json_bytes};
use crate::store::ListQuery;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use hyper::body::{Body, Bytes, Frame};
use junction_core::Status;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The largest page a caller may ask for.
pub const MAX_LIMIT: usize = 1000;
/// Rows per chunk of a streamed list.
const CHUNK: usize = 500;

/// The list's query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub after: i64,
    pub type_name: Option<String>,
    pub status: Option<Status>,
}

/// `%XX` and `+` decoded; `None` when not UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl ListParams {
    /// Reads the query string; a bad parameter is a 400 naming it.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut p = ListParams::default();
        for pair in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k).unwrap_or_default();
            let value = decode(v).ok_or_else(|| ApiError::field(key.clone(), "must be UTF-8"))?;
            match key.as_str() {
                "limit" => {
                    let n = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n));
                    p.limit = Some(n.ok_or_else(|| {
                        ApiError::field(
                            "limit",
                            format!("must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?);
                }
                "after" => {
                    p.after = value
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| {
                            ApiError::field(
                                "after",
                                "must be an integration id (a non-negative integer)",
                            )
                        })?;
                }
                "type" => p.type_name = Some(value),
                "status" => {
                    p.status = Some(Status::parse(&value).ok_or_else(|| {
                        let all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                        ApiError::field("status", format!("must be one of {}", all.join(", ")))
                    })?);
                }
                other => {
                    return Err(ApiError::field(
                        other.to_owned(),
                        "unknown parameter (limit, after, type and status are)",
                    ));
                }
            }
        }
        Ok(p)
    }

    fn query(&self, after: i64, limit: usize) -> ListQuery {
        ListQuery {
            after,
            limit,
            type_name: self.type_name.clone(),
            status: self.status,
        }
    }

    /// The link to the page after `last`.
    fn next(&self, limit: usize, last: i64) -> String {
        let mut s = format!("/integrations?limit={limit}&after={last}");
        if let Some(t) = &self.type_name {
            s.push_str(&format!("&type={}", crate::util::query_encode(t)));
        }
        if let Some(st) = self.status {
            s.push_str(&format!("&status={}", st.as_str()));
        }
        s
    }
}

pub async fn list(State(app): State<App>, uri: Uri) -> Result<Response, ApiError> {
    let params = ListParams::parse(uri.query())?;
    let Some(limit) = params.limit else {
        return Ok(stream(app, params));
    };
    let rows = app
        .host
        .integrations(&params.query(params.after, limit))
        .await?;
    let mut body = String::with_capacity(rows.len() * 320 + 2);
    body.push('[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        render(r, &mut body);
    }
    body.push(']');
    let mut resp = json_bytes(StatusCode::OK, body);
    // A full page may have a successor; the last page (shorter) has no link.
    if let Some(last) = rows.last().filter(|_| rows.len() == limit) {
        let link = format!("<{}>; rel=\"next\"", params.next(limit, last.id));
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// The whole list, chunk after chunk: a task reads a page, renders it and
/// hands it over a channel of two chunks, so at most a few chunks are in
/// memory however many integrations there are.
fn stream(app: App, params: ListParams) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        let mut after = params.after;
        let mut first = true;
        loop {
            let rows = match app.host.integrations(&params.query(after, CHUNK)).await {
                Ok(rows) => rows,
                // The status line is sent: the body ends short, and the cause is logged.
                Err(e) => {
                    tracing::error!(error = %e, "the streamed list stopped");
                    return;
                }
            };
            let mut chunk = String::with_capacity(rows.len() * 320 + 2);
            for r in &rows {
                chunk.push(if first { '[' } else { ',' });
                first = false;
                render(r, &mut chunk);
            }
            let done = rows.len() < CHUNK;
            if done {
                chunk.push_str(if first { "[]" } else { "]" });
            }
            if tx.send(Bytes::from(chunk)).await.is_err() {
                return; // the client went away
            }
            match rows.last() {
                Some(last) if !done => after = last.id,
                _ => return,
            }
        }
    });
    let mut resp = Response::new(axum::body::Body::new(ChannelBody(rx)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A response body read from a channel of chunks.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_query_and_names_a_bad_parameter() {
        let p = ListParams::parse(Some("limit=100&after=7&type=Native+S3&status=enabled")).unwrap();
        assert_eq!(p.limit, Some(100));
        assert_eq!(p.after, 7);
        assert_eq!(p.type_name.as_deref(), Some("Native S3"));
        assert_eq!(p.status, Some(Status::Enabled));
        assert_eq!(
            p.next(100, 9),
            "/integrations?limit=100&after=9&type=Native%20S3&status=enabled"
        );
        assert_eq!(
            ListParams::parse(Some("type=Native%20S3"))
                .unwrap()
                .type_name
                .as_deref(),
            Some("Native S3")
        );
        for (q, path) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("after=-1", "after"),
            ("status=nope", "status"),
            ("colour=red", "colour"),
        ] {
            let e = ListParams::parse(Some(q)).unwrap_err();
            assert_eq!(e.status_code, 400, "{q}");
            assert_eq!(e.details[0].path, path, "{q}");
        }
        assert_eq!(ListParams::parse(None).unwrap(), ListParams::default());
    }
}
