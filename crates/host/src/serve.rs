//! `junction serve`: open the store, recover interrupted operations, serve
//! until SIGTERM or Ctrl-C, then let running operations finish (up to a grace period).

use crate::crypto::Cipher;
use crate::host::{Host, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `--store`: a `postgres://` URL, or `None` for SQLite in `data_dir`.
    pub store: Option<String>,
    pub settings: Settings,
    pub shutdown_grace: Duration,
    pub admin_key: Option<String>,
    /// Shared-library plugins to load (`--plugin-dir`).
    pub plugin_dir: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key` (PEM): the listener speaks HTTPS only.
    pub tls: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    // Transparent: the CLI prints an error's chain, so a wrapper that
    // repeated its source's text printed it twice.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Registry(#[from] junction_core::RegistryError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    SecretKey(#[from] crate::host::SecretKeyError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Webhooks(#[from] crate::events::worker::ClientError),
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens everything and returns the host, ready to serve.
pub async fn open(opts: &ServeOptions) -> Result<(Arc<Host>, Option<String>), ServeError> {
    let store = crate::store::open(opts.store.as_deref(), &opts.data_dir).await?;
    tracing::info!(store = %store.describe(), "store open");
    let cipher = Cipher::load(&opts.data_dir)?;
    let (registry, plugins) =
        crate::registry_with_plugins(opts.plugin_dir.as_deref(), opts.settings.operation_timeout)?;
    let host = Host::new(store, registry, cipher, opts.settings.clone()).with_plugin_loads(plugins);
    let host = Arc::new(host);
    host.verify_secret_key().await?;
    let new_key = host.ensure_admin_key(opts.admin_key.as_deref()).await?;
    let recovered = host.recover_expired().await?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "rolled back operations interrupted by a stopped host"
        );
    }
    Ok((host, new_key))
}

/// Serves until a shutdown signal. `ready` is called with the bound address.
pub async fn serve(
    opts: ServeOptions,
    ready: impl FnOnce(SocketAddr, Option<String>),
) -> Result<(), ServeError> {
    let started = Instant::now();
    // The certificate is read before anything starts: a bad one stops here.
    let tls = match &opts.tls {
        Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        None => None,
    };
    let (host, new_key) = open(&opts).await?;
    host.spawn_reaper();
    host.spawn_revalidator();
    crate::events::worker::spawn(
        Arc::clone(&host),
        crate::events::worker::client()?,
        crate::events::worker::Backoff::default(),
    );
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, platforms = ?host.platform_names(), ready_ms = started.elapsed().as_millis() as u64, "listening");
    ready(addr, new_key);
    // The answer count goes around the whole router, once per request.
    let app = crate::edge::Count(crate::api::router(Arc::clone(&host)));
    match tls {
        None => {
            axum::serve(
                listener,
                axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        }
        Some(config) => serve_tls(listener, config, app).await,
    }
    let deadline = Instant::now() + opts.shutdown_grace;
    while host.running() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if host.running() > 0 {
        tracing::warn!(
            running = host.running(),
            "stopping with operations still running; their leases will expire and be rolled back"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// HTTPS: each connection's TLS handshake, then HTTP/1.1, until the
/// shutdown signal. A client that does not speak TLS (plain HTTP to this
/// port) fails its handshake and is closed; the failure is logged at debug.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: crate::edge::Count<axum::Router>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
