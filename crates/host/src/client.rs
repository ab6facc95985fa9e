//! A minimal HTTP/1.1 client for the CLI's client commands (plain HTTP).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the server URL must look like http://HOST:PORT (https is not supported): {0}")]
    Url(String),
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

fn split_url(server: &str) -> Result<(String, String), ClientError> {
    let rest = server
        .strip_prefix("http://")
        .ok_or_else(|| ClientError::Url(server.to_owned()))?;
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
        format!("{authority}:80")
    };
    Ok((authority, base.to_owned()))
}

/// Sends one request and reads the whole reply.
pub async fn request(
    server: &str,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<(Vec<u8>, &str)>,
) -> Result<Reply, ClientError> {
    let (authority, base) = split_url(server)?;
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| ClientError::Connect(authority.clone(), e))?;
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
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?
        .to_bytes();
    Ok(Reply { status, body })
}
