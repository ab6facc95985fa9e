//! The shared store: PostgreSQL through `tokio-postgres`, for several hosts
//! on one database. A small pool of connections, each reconnected when it
//! breaks; every status change is one transaction holding the integration's
//! row lock (`SELECT … FOR UPDATE`), account uniqueness is the partial unique
//! index's, and expired leases are claimed with `FOR UPDATE SKIP LOCKED`, so
//! two hosts never take the same operation over.
//!
//! TLS (`sslmode=require` or `prefer` in the URL) is rustls on aws-lc-rs,
//! verifying against the web PKI roots plus the PEM file in
//! `JUNCTION_STORE_CA_CERT` when set; `sslmode=disable` speaks plain TCP.

mod events;
mod recurring;
mod rows;
mod schema;
mod store;
#[cfg(test)]
mod tests;
mod transitions;

use crate::store::StoreError;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

/// Connections per host.
const POOL: usize = 8;

/// The environment variable naming an extra CA certificate (PEM) for the
/// database's TLS.
pub const ENV_CA: &str = "JUNCTION_STORE_CA_CERT";

/// The PostgreSQL store.
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    conns: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
    described: String,
    /// The highest event `seq` committed, as far as this host knows
    /// (`events.rs`: set by a poll, woken at once by `poke`).
    events: tokio::sync::watch::Sender<i64>,
    poke: Arc<tokio::sync::Notify>,
}

/// A store failure from the database, with the server's own words.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!(
            "PostgreSQL: {} ({})",
            db.message(),
            db.code().code()
        )),
        None => {
            let mut text = e.to_string();
            if let Some(source) = std::error::Error::source(&e) {
                text = format!("{text}: {source}");
            }
            StoreError::Backend(format!("PostgreSQL: {text}"))
        }
    }
}

/// Whether the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let ca = std::env::var_os(ENV_CA).map(std::path::PathBuf::from);
    let config = crate::tls::client_config(ca.as_deref())
        .map_err(|e| StoreError::Backend(format!("the store's TLS: {e}")))?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `USER@HOST:PORT/DATABASE`, never the password.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names and migrates it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Backend(format!("the store URL is not a PostgreSQL URL: {e}"))
        })?;
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => None,
            _ => Some(tls_connector()?),
        };
        let store = PostgresStore {
            inner: Arc::new(Inner {
                described: describe(&config),
                config,
                tls,
                conns: (0..POOL).map(|_| Mutex::new(None)).collect(),
                next: AtomicUsize::new(0),
                events: tokio::sync::watch::Sender::new(0),
                poke: Arc::new(tokio::sync::Notify::new()),
            }),
        };
        {
            let mut c = store.client().await?;
            schema::migrate(&mut c).await?;
            let seq = events::last_seq(&*c).await?;
            store.inner.events.send_replace(seq);
        }
        events::spawn_poller(Arc::downgrade(&store.inner));
        Ok(store)
    }

    async fn open_client(&self) -> Result<Client, StoreError> {
        let inner = &self.inner;
        let client = match &inner.tls {
            None => {
                let (client, connection) = inner.config.connect(NoTls).await.map_err(pg)?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "a store connection ended");
                    }
                });
                client
            }
            Some(tls) => {
                let (client, connection) = inner.config.connect(tls.clone()).await.map_err(pg)?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "a store connection ended");
                    }
                });
                client
            }
        };
        Ok(client)
    }

    /// A live connection of the pool: a free one if any, else the next in
    /// turn once it is free.
    async fn client(&self) -> Result<Conn<'_>, StoreError> {
        let n = self.inner.conns.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let mut guard = None;
        for k in 0..n {
            if let Ok(g) = self.inner.conns[(start + k) % n].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let mut guard = match guard {
            Some(g) => g,
            None => self.inner.conns[start % n].lock().await,
        };
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.open_client().await?);
        }
        MutexGuard::try_map(guard, Option::as_mut)
            .map_err(|_| StoreError::Backend("a pooled connection was lost".into()))
    }
}

/// A connection borrowed from the pool.
pub(crate) type Conn<'a> = tokio::sync::MappedMutexGuard<'a, Client>;
