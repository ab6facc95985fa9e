//! Connections to the cluster over the PostgreSQL wire protocol (which
//! Redshift speaks), with a connect timeout and TLS, and the session that runs
//! set-up actions against the initial and the managed database.

use crate::config::{RedshiftConfig, TlsMode};
use crate::scripts::{self, SqlAction, Target};
use junction_core::Secret;
use std::sync::Arc;
use tokio_postgres::Client;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::Type;

/// Why a connection or a statement failed. Messages never hold a password:
/// they come from the server or the socket, which never see one in a form
/// they would repeat, and [`DbError::scrubbed`] removes it when a statement
/// carried one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error("could not connect to {host}:{port}: no answer within {seconds} s")]
    ConnectTimeout {
        host: String,
        port: u16,
        seconds: u64,
    },
    #[error("could not connect to {host}:{port} (database {database}): {cause}")]
    Connect {
        host: String,
        port: u16,
        database: String,
        cause: String,
    },
    #[error("TLS could not be set up: {0}")]
    Tls(String),
    #[error("{0}")]
    Statement(String),
}

impl DbError {
    fn statement(e: &tokio_postgres::Error) -> DbError {
        DbError::Statement(describe(e))
    }

    /// The error with every occurrence of `secret` replaced by the redaction.
    pub fn scrubbed(self, secret: Option<&Secret<String>>) -> DbError {
        match self {
            DbError::Statement(m) => DbError::Statement(junction_kit::sql::scrub(m, secret)),
            other => other,
        }
    }
}

/// The server's message, without the statement text (which may hold a
/// literal); for other errors, the chain of causes ("error connecting to
/// server: Connection refused").
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// Credentials for one connection (the kit's user and password).
pub type Credentials = junction_kit::config::UserPassword;

/// The configuration's own credentials.
pub fn credentials_of(config: &RedshiftConfig) -> Credentials {
    Credentials {
        username: config.username.clone(),
        password: config.password.clone(),
    }
}

/// Opens a connection to `database`, giving up after the configured connect
/// timeout (which covers TCP, TLS and the log-in, not only the TCP handshake).
pub async fn connect(
    config: &RedshiftConfig,
    database: &str,
    creds: &Credentials,
) -> Result<Client, DbError> {
    Ok(open(config, database, creds).await?.client)
}

/// A client and the task that drives its connection.
pub struct Connection {
    pub client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Connection {
    /// Ends the session and waits until the server has been told, so that the
    /// database is free to drop right after.
    pub async fn close(self) {
        drop(self.client);
        let _ = self.task.await;
    }
}

/// Like [`connect`], keeping the connection's task to wait for its end.
pub async fn open(
    config: &RedshiftConfig,
    database: &str,
    creds: &Credentials,
) -> Result<Connection, DbError> {
    let timeout = config.connect_timeout();
    let mut pg = tokio_postgres::Config::new();
    pg.host(&config.host)
        .port(config.port)
        .dbname(database)
        .user(&creds.username)
        .password(creds.password.expose().as_bytes())
        .application_name("junction")
        .connect_timeout(timeout);
    let connect_error = |e: tokio_postgres::Error| DbError::Connect {
        host: config.host.clone(),
        port: config.port,
        database: database.to_owned(),
        cause: describe(&e),
    };
    let attempt = async {
        match config.tls {
            TlsMode::Disable => {
                pg.ssl_mode(SslMode::Disable);
                let (client, connection) = pg
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(connect_error)?;
                let task = tokio::spawn(drive(connection));
                Ok(Connection { client, task })
            }
            TlsMode::Require => {
                pg.ssl_mode(SslMode::Require);
                let (client, connection) = pg.connect(tls()?).await.map_err(connect_error)?;
                let task = tokio::spawn(drive(connection));
                Ok(Connection { client, task })
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(DbError::ConnectTimeout {
            host: config.host.clone(),
            port: config.port,
            seconds: config.connect_timeout_seconds,
        }),
    }
}

/// Runs a connection's I/O until the client is dropped or the server hangs up.
async fn drive<F>(connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = connection.await {
        tracing::debug!(error = %describe(&e), "connection ended with an error");
    }
}

/// A TLS connector on aws-lc-rs, verifying against the web PKI roots.
///
/// The provider is passed explicitly rather than installed process-wide: a
/// plugin must not depend on, or change, global state the host owns (rustls
/// panics when two providers are compiled in and none is installed).
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Whether a database of that name exists.
pub async fn database_exists(client: &Client, name: &str) -> Result<bool, DbError> {
    // Typed parameters: one flight (Parse, Bind, Execute, Sync together),
    // where `query_opt` would prepare first and execute in a second flight.
    let row = client
        .query_typed_opt(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[(&name, Type::TEXT)],
        )
        .await
        .map_err(|e| DbError::statement(&e))?;
    Ok(row.is_some())
}

/// Whether a role (or user) of that name exists.
pub async fn role_exists(client: &Client, name: &str) -> Result<bool, DbError> {
    let row = client
        .query_typed_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[(&name, Type::TEXT)],
        )
        .await
        .map_err(|e| DbError::statement(&e))?;
    Ok(row.is_some())
}

/// The set-up version recorded in the managed database.
pub async fn recorded_version(client: &Client) -> Result<u32, DbError> {
    let sql = format!("SELECT max(version) FROM {}", scripts::version_table());
    let row = client
        .query_typed_one(sql.as_str(), &[])
        .await
        .map_err(|e| DbError::statement(&e))?;
    let version: Option<i32> = row.get(0);
    version
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| DbError::Statement("the version table holds no version".into()))
}

/// Whom a plan runs as: the cluster (from the configuration) and one set of
/// credentials.
pub struct Login {
    pub config: RedshiftConfig,
    pub creds: Credentials,
}

impl Login {
    pub fn new(config: &RedshiftConfig, creds: Credentials) -> Self {
        Login {
            config: config.clone(),
            creds,
        }
    }
}

/// One set of credentials, with a lazily opened connection to each database
/// an action may target.
pub struct Session {
    config: RedshiftConfig,
    creds: Credentials,
    initial: Option<Connection>,
    managed: Option<Connection>,
}

impl Session {
    pub fn new(config: &RedshiftConfig, creds: Credentials) -> Self {
        Session {
            config: config.clone(),
            creds,
            initial: None,
            managed: None,
        }
    }
}

#[junction_core::async_trait]
impl junction_kit::Executor<SqlAction> for Session {
    type Error = DbError;

    /// Runs one action; its statements go in one simple-query batch, which the
    /// server runs as one implicit transaction (all or nothing), except for
    /// `CREATE`/`DROP DATABASE`, which are always alone in their action.
    async fn exec(&mut self, action: SqlAction) -> Result<(), DbError> {
        let client = match action.target {
            Target::Initial => {
                // A database cannot be dropped while a session is connected to it.
                if let Some(managed) = self.managed.take() {
                    managed.close().await;
                }
                if self.initial.is_none() {
                    let db = self.config.initial_database.clone();
                    self.initial = Some(open(&self.config, &db, &self.creds).await?);
                }
                self.initial.as_ref().map(|c| &c.client)
            }
            Target::Managed => {
                if self.managed.is_none() {
                    let db = self.config.database.clone();
                    self.managed = Some(open(&self.config, &db, &self.creds).await?);
                }
                self.managed.as_ref().map(|c| &c.client)
            }
        };
        let Some(client) = client else {
            return Err(DbError::Statement("no connection".into()));
        };
        let sql = action.executable().join(";\n");
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| DbError::statement(&e).scrubbed(action.password.as_ref()))
    }
}
