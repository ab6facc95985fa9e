//! The status page at `/ui`: one HTML page, its script and its style sheet,
//! embedded in the binary (no build step, nothing fetched from elsewhere).
//!
//! These routes (declared in `api::routes`) need no key because they hold no
//! data: the page asks the API for everything with the key the operator types,
//! which it keeps in the tab's `sessionStorage` and sends only as
//! `Authorization: Bearer …`, so the data stays behind the API's keys and a key
//! never appears in a URL.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

const INDEX: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// Only this origin's own script, style and API; no framing, no forms posted
/// elsewhere, no base URL rewriting.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `/ui/`: to the page.
pub(crate) async fn slash() -> Redirect {
    Redirect::permanent("/ui")
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The assets change with the binary: revalidate rather than keep a stale page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    resp
}

pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub(crate) async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

pub(crate) async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page loads nothing from elsewhere and never builds HTML from text.
    #[test]
    fn the_page_is_self_contained() {
        for (name, text) in [
            ("index.html", INDEX),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            assert!(!text.contains("http://"), "{name} names an http:// address");
            assert!(
                !text.contains("https://"),
                "{name} names an https:// address"
            );
            assert!(!text.contains("@import"), "{name} imports");
        }
        assert!(!APP_JS.contains(".innerHTML ="), "app.js assigns innerHTML");
        assert!(!APP_JS.contains("eval("), "app.js evaluates text");
        assert!(
            !APP_JS.contains("localStorage"),
            "the key belongs in sessionStorage only"
        );
    }
}
