//! TLS on rustls with aws-lc-rs, the workspace's one provider: the listener's
//! certificate and key (`--tls-cert`, `--tls-key`), and client
//! configurations that verify against the web PKI roots plus an optional
//! private CA (`--ca-cert`, `JUNCTION_STORE_CA_CERT`).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Pem(String),
    #[error("TLS set-up failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Every certificate of a PEM text; none is an error.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(format!("not a PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Pem("no certificate in the PEM text".into()));
    }
    Ok(certs)
}

/// The listener's configuration: its certificate chain and private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(&read(cert)?)
        .map_err(|e| TlsError::Pem(format!("{}: {e}", cert.display())))?;
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| TlsError::Pem(format!("{}: not a PEM private key: {e}", key.display())))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration: the web PKI roots, plus `ca` (PEM) when given.
pub fn client_config(ca: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(ca) = ca {
        for cert in
            certificates(&read(ca)?).map_err(|e| TlsError::Pem(format!("{}: {e}", ca.display())))?
        {
            roots.add(cert)?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
