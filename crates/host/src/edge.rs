//! What every request crosses before its handler: the HTTP answer count and
//! debug line ([`Count`], around the whole router) and the key check
//! ([`KeyCheck`], on each route behind it).
//!
//! Plain tower services rather than `axum::middleware::from_fn`, because
//! axum puts a layer on every route, and a `from_fn` layer clones the
//! route's boxed service and boxes a future on every request: on `GET
//! /integrations/{id}` the two were a fifth of the instructions (callgrind,
//! BENCHMARKS.md, Host). Here a request whose key is in the key cache goes
//! to its handler without an allocation of ours; only a key read from the
//! store (a cache miss) and a refusal box a future.

use crate::api::App;
use crate::auth::{self, Role};
use crate::error::ApiError;
use crate::host::{Cached, Caller};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_service::Service;

type Boxed = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The key check as a layer: 401 without a valid key; 403 for a read key on
/// anything but GET and HEAD.
#[derive(Clone)]
pub struct KeyCheckLayer(pub App);

impl<S> tower_layer::Layer<S> for KeyCheckLayer {
    type Service = KeyCheck<S>;

    fn layer(&self, inner: S) -> KeyCheck<S> {
        KeyCheck {
            inner,
            app: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct KeyCheck<S> {
    inner: S,
    app: App,
}

/// The key check's answer: the handler's own future, or a boxed one.
pub enum KeyCheckFuture<F> {
    Handler(F),
    Boxed(Boxed),
}

impl<F> Future for KeyCheckFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            KeyCheckFuture::Handler(f) => Pin::new(f).poll(cx),
            KeyCheckFuture::Boxed(f) => f.as_mut().poll(cx),
        }
    }
}

fn refuse(e: ApiError) -> Boxed {
    let resp = e.into_response();
    Box::pin(async move { Ok(resp) })
}

/// The role a request needs (the OpenAPI document's 403s follow it too).
pub(crate) fn needed(method: &Method) -> Role {
    if matches!(*method, Method::GET | Method::HEAD) {
        Role::Read
    } else {
        Role::Admin
    }
}

/// A key that may not do what the request asks.
fn forbidden(key: &auth::ApiKey, req: &Request, needed: Role) -> ApiError {
    ApiError::forbidden(format!(
        "The API key {} has the {} role; {} {} needs the {} role.",
        key.id,
        key.role.as_str(),
        req.method(),
        req.uri().path(),
        needed.as_str()
    ))
}

impl<S> Service<Request> for KeyCheck<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + Unpin + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = KeyCheckFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let needed = needed(req.method());
        let secret = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::key_from_header);
        let Some(secret) = secret else {
            return KeyCheckFuture::Boxed(refuse(ApiError::unauthorized(
                "An API key is required: send it as `Authorization: Bearer <key>`.",
            )));
        };
        match self.app.host.cached_key(secret) {
            Cached::Usable(key) => {
                if !key.role.allows(needed) {
                    return KeyCheckFuture::Boxed(refuse(forbidden(&key, &req, needed)));
                }
                let fault = test_fault(req.headers());
                req.extensions_mut().insert(Caller { key, fault });
                // `poll_ready` was answered by `inner` for this call.
                KeyCheckFuture::Handler(self.inner.call(req))
            }
            Cached::Refused => {
                KeyCheckFuture::Boxed(refuse(ApiError::unauthorized("The API key is not valid.")))
            }
            Cached::Unknown => {
                // The ready service is taken for this call, a clone left.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let (app, secret) = (self.app.clone(), secret.to_owned());
                KeyCheckFuture::Boxed(Box::pin(async move {
                    let key = match app.host.authenticate(&secret).await {
                        Ok(Some(k)) => k,
                        Ok(None) => {
                            return Ok(
                                ApiError::unauthorized("The API key is not valid.").into_response()
                            );
                        }
                        Err(e) => return Ok(ApiError::from(e).into_response()),
                    };
                    if !key.role.allows(needed) {
                        return Ok(forbidden(&key, &req, needed).into_response());
                    }
                    let fault = test_fault(req.headers());
                    req.extensions_mut().insert(Caller { key, fault });
                    inner.call(req).await
                }))
            }
        }
    }
}

/// Builds with the `fault-injection` feature (tests only; the test-only
/// `synthetic` feature turns it on) let a request name the set-up step its
/// operation fails at, so rollback can be tested through the API.
#[cfg(feature = "fault-injection")]
fn test_fault(headers: &axum::http::HeaderMap) -> Option<junction_core::FaultInjection> {
    let step = headers.get("x-junction-fault-step")?.to_str().ok()?;
    Some(junction_core::FaultInjection::at(step))
}

/// Release builds ignore the header.
#[cfg(not(feature = "fault-injection"))]
fn test_fault(_headers: &axum::http::HeaderMap) -> Option<junction_core::FaultInjection> {
    None
}

/// Counts each answer by status class (`metrics.rs`) and logs it at debug.
#[derive(Clone)]
pub struct Count<S>(pub S);

pub struct CountFuture<F> {
    inner: F,
    /// Method and path, copied only when the debug line is on.
    logged: Option<(Method, String)>,
}

impl<F> Future for CountFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let resp = match Pin::new(&mut this.inner).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(resp)) => resp,
        };
        let status = resp.status().as_u16();
        crate::metrics::global().http_response(status);
        if let Some((method, path)) = this.logged.take() {
            tracing::debug!(%method, %path, status, "request");
        }
        Poll::Ready(Ok(resp))
    }
}

/// For any request body: the TLS listener hands hyper's own.
impl<S, B> Service<axum::http::Request<B>> for Count<S>
where
    S: Service<axum::http::Request<B>, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CountFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let logged = tracing::enabled!(tracing::Level::DEBUG)
            .then(|| (req.method().clone(), req.uri().path().to_owned()));
        CountFuture {
            inner: self.0.call(req),
            logged,
        }
    }
}
