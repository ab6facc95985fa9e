//! `tls: require` really negotiates TLS and verifies the server's certificate:
//! a server in the test crate accepts PostgreSQL's TLS request and presents a
//! self-signed certificate (a throwaway test fixture, made with openssl for
//! 127.0.0.1), which the client must refuse.

use crate::support;
use junction_redshift::testing as client;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIXTURE: &[u8] = include_bytes!("fixtures/self-signed-127.0.0.1.pem");
/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 210, 22, 47];

#[tokio::test]
async fn tls_require_refuses_a_certificate_no_public_root_signed() {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(FIXTURE)
        .collect::<Result<_, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(FIXTURE).expect("key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // What the server saw: the client's first 8 bytes and how the handshake ended.
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut first = [0u8; 8];
        stream.read_exact(&mut first).await.expect("SSLRequest");
        stream.write_all(b"S").await.expect("answer");
        let handshake = acceptor.accept(stream).await.map(|_| ());
        (first, handshake.map_err(|e| e.to_string()))
    });

    let config = json!({
        "host": "127.0.0.1", "port": port, "initialDatabase": "dev", "database": "junction",
        "username": "admin", "password": "pw", "tls": "require", "connectTimeoutSeconds": 5
    });
    let typed = support::typed(&config);
    let Err(err) = client::connect(&typed, "dev", &client::credentials_of(&typed)).await else {
        panic!("the client accepted a self-signed certificate");
    };
    let text = err.to_string();
    assert!(text.contains("invalid peer certificate"), "{text}");

    let (first, handshake) = server.await.expect("server task");
    assert_eq!(first, SSL_REQUEST, "the client asked for TLS first");
    assert!(handshake.is_err(), "the handshake must not complete");
}
