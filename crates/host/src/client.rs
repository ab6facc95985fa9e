//! A minimal HTTP/1.1 client for the CLI's client commands: plain HTTP, or
//! HTTPS (rustls on aws-lc-rs) verifying the server against the web PKI roots
//! and an optional private CA. [`sse`] reads a stream of Server-Sent Events.

pub mod sse;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the server URL must look like http://HOST:PORT or https://HOST:PORT: {0}")]
    Url(String),
    #[error("{0}")]
    Tls(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("HTTP error: {0}")]
    Http(String),
}

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// (authority, base path, TLS?) of a server URL.
fn split_url(server: &str) -> Result<(String, String, bool), ClientError> {
    let (rest, tls) = match (
        server.strip_prefix("http://"),
        server.strip_prefix("https://"),
    ) {
        (Some(r), _) => (r, false),
        (_, Some(r)) => (r, true),
        _ => return Err(ClientError::Url(server.to_owned())),
    };
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(ClientError::Url(server.to_owned()));
    }
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    Ok((authority, base.to_owned(), tls))
}

/// Any byte stream a request can go over.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Sends one request and reads the whole reply.
pub async fn request(
    server: &str,
    key: Option<&str>,
    ca_cert: Option<&std::path::Path>,
    method: Method,
    path: &str,
    body: Option<(Vec<u8>, &str)>,
) -> Result<Reply, ClientError> {
    let resp = send(server, key, ca_cert, method, path, body, &[]).await?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?
        .to_bytes();
    Ok(Reply { status, body })
}

/// A response whose body is read as it arrives (a stream of events).
pub struct Streaming {
    pub status: u16,
    pub content_type: Option<String>,
    body: Incoming,
}

impl Streaming {
    /// The body's next bytes; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(ClientError::Http(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole remaining body.
    pub async fn rest(self) -> Result<Bytes, ClientError> {
        Ok(self
            .body
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes())
    }
}

/// Sends a GET with extra headers and hands back the body unread.
pub async fn stream(
    server: &str,
    key: Option<&str>,
    ca_cert: Option<&std::path::Path>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Streaming, ClientError> {
    let resp = send(server, key, ca_cert, Method::GET, path, None, headers).await?;
    Ok(Streaming {
        status: resp.status().as_u16(),
        content_type: resp
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: resp.into_body(),
    })
}

async fn send(
    server: &str,
    key: Option<&str>,
    ca_cert: Option<&std::path::Path>,
    method: Method,
    path: &str,
    body: Option<(Vec<u8>, &str)>,
    headers: &[(&str, &str)],
) -> Result<hyper::Response<Incoming>, ClientError> {
    let (authority, base, tls) = split_url(server)?;
    let tcp = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| ClientError::Connect(authority.clone(), e))?;
    let stream: Box<dyn Io> = if tls {
        let config =
            crate::tls::client_config(ca_cert).map_err(|e| ClientError::Tls(e.to_string()))?;
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(h, _)| h);
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                .map_err(|e| ClientError::Tls(format!("{host}: {e}")))?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        Box::new(
            connector
                .connect(name, tcp)
                .await
                .map_err(|e| ClientError::Tls(format!("TLS with {authority} failed: {e}")))?,
        )
    } else {
        Box::new(tcp)
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("host", authority.as_str());
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let bytes = match body {
        Some((b, ct)) => {
            req = req.header("content-type", ct);
            Bytes::from(b)
        }
        None => Bytes::new(),
    };
    let req = req
        .body(Full::new(bytes))
        .map_err(|e| ClientError::Http(e.to_string()))?;
    sender
        .send_request(req)
        .await
        .map_err(|e| ClientError::Http(e.to_string()))
}
