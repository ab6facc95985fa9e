//! Connections over TDS through tiberius: TLS (rustls on aws-lc-rs), the
//! connect timeout, the retries of Azure's transient log-in errors, the
//! queries the checks ask, and the session that runs set-up actions in
//! `master` and in the database.

use crate::config::{Encrypt, SynapseConfig};
use crate::scripts::{self, Target, TsqlAction};
use junction_core::Secret;
use std::collections::BTreeSet;
use std::time::Duration;
use tiberius::{AuthMethod, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

/// A connection; over TCP but for the fuzz target, whose server is in memory.
pub type Client<S = TcpStream> = tiberius::Client<Compat<S>>;

/// Why a connection or a statement failed. Messages never hold a password:
/// SQL Server does not repeat one, and [`DbError::scrubbed`] removes it
/// where a statement carried one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error("could not connect to {host}:{port}: no log-in within {seconds} s{}", last.as_ref().map(|l| format!(" (last: {l})")).unwrap_or_default())]
    ConnectTimeout {
        host: String,
        port: u16,
        seconds: u64,
        /// The transient error the last attempt got, if any.
        last: Option<String>,
    },
    #[error("could not connect to {host}:{port} (database {database}): {cause}")]
    Connect {
        host: String,
        port: u16,
        database: String,
        cause: String,
    },
    #[error("{0}")]
    Statement(String),
}

impl DbError {
    /// The error with every occurrence of `secret` replaced by the redaction.
    pub fn scrubbed(self, secret: Option<&Secret<String>>) -> DbError {
        match self {
            DbError::Statement(m) => DbError::Statement(junction_kit::sql::scrub(m, secret)),
            other => other,
        }
    }
}

/// The server's number and message (`Msg 2714: There is already …`), or the
/// error's text for the others.
pub fn describe(e: &tiberius::error::Error) -> String {
    match e {
        tiberius::error::Error::Server(t) => format!("Msg {}: {}", t.code(), t.message()),
        other => other.to_string(),
    }
}

/// Azure's log-in errors that go away by themselves, and what each means.
pub fn transient(code: u32) -> Option<&'static str> {
    match code {
        40613 => Some("database not currently available"),
        42108 => Some("SQL pool paused"),
        42109 => Some("SQL pool warming up"),
        _ => None,
    }
}

/// Waits between attempts after a transient error: 0.5 s, doubling, at most 4 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(3)))
}

/// Credentials for one connection (the kit's user and password).
pub type Credentials = junction_kit::config::UserPassword;

/// The configuration's own credentials.
pub fn credentials_of(config: &SynapseConfig) -> Credentials {
    Credentials {
        username: config.username.clone(),
        password: config.password.clone(),
    }
}

pub fn tiberius_config(
    config: &SynapseConfig,
    database: &str,
    creds: &Credentials,
) -> tiberius::Config {
    let mut c = tiberius::Config::new();
    c.host(&config.host);
    c.port(config.port);
    c.database(database);
    c.application_name("junction");
    c.authentication(AuthMethod::sql_server(
        &creds.username,
        creds.password.expose(),
    ));
    // The connect timeout bounds the whole attempt (see `connect`).
    c.handshake_timeout(None);
    match config.encrypt {
        Encrypt::Require => {
            c.encryption(EncryptionLevel::Required);
            // The bundled Mozilla roots, not the host's store: the same trust
            // wherever Junction runs. A CA file adds to them.
            c.trust_webpki_roots();
            if let Some(ca) = &config.trusted_ca_file {
                c.trust_cert_ca(ca);
            }
        }
        Encrypt::Disable => {
            // ENCRYPT_OFF: the log-in in TLS, the rest plain. (NOT_SUP, no TLS
            // at all, is refused by SQL Server-like servers that answer OFF
            // and then expect a TLS log-in, pysqlbridge among them.) What
            // follows the log-in is unprotected anyway, so nothing is verified.
            c.encryption(EncryptionLevel::Off);
            c.trust_cert();
        }
    }
    c
}

/// One attempt: TCP, pre-login, TLS and log-in.
async fn attempt(
    config: &SynapseConfig,
    database: &str,
    creds: &Credentials,
) -> Result<Client, tiberius::error::Error> {
    let tcp = TcpStream::connect((config.host.as_str(), config.port)).await?;
    tcp.set_nodelay(true)?;
    handshake(tiberius_config(config, database, creds), tcp).await
}

/// Pre-login, TLS and log-in over `stream`, in a task of its own so that a
/// panic in tiberius on what a server sent is an error, not ours: its debug
/// builds assert on a server's PRELOGIN (THREADID must be 0; found by the
/// synapse_tds fuzz target). Stopping the wait (the connect timeout) stops it.
pub async fn handshake<S>(
    config: tiberius::Config,
    stream: S,
) -> Result<Client<S>, tiberius::error::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(tiberius::Client::connect(
        config,
        stream.compat_write(),
    )));
    match (&mut task.0).await {
        Ok(result) => result,
        Err(e) => Err(tiberius::error::Error::Protocol(
            format!(
                "the TDS client failed on the server's answer ({})",
                if e.is_panic() {
                    "it panicked"
                } else {
                    "cancelled"
                }
            )
            .into(),
        )),
    }
}

/// Opens a connection to `database`, giving up after the configured connect
/// timeout, which covers everything: TCP, TLS, the log-in, and the retries
/// of Azure's transient log-in errors (40613, 42108, 42109), each logged
/// with its number and meaning. Other errors are not retried.
pub async fn connect(
    config: &SynapseConfig,
    database: &str,
    creds: &Credentials,
) -> Result<Client, DbError> {
    let last = std::sync::Mutex::new(None::<String>);
    let attempts = async {
        let mut n = 0u32;
        loop {
            match attempt(config, database, creds).await {
                Ok(client) => return Ok(client),
                Err(tiberius::error::Error::Server(t)) if transient(t.code()).is_some() => {
                    let what = transient(t.code()).unwrap_or_default();
                    let wait = backoff(n);
                    tracing::warn!(
                        code = t.code(),
                        error = what,
                        attempt = n + 1,
                        retry_in_ms = wait.as_millis() as u64,
                        "transient log-in error {} ({what}); retrying",
                        t.code()
                    );
                    if let Ok(mut l) = last.lock() {
                        *l = Some(format!("Msg {}: {what}", t.code()));
                    }
                    tokio::time::sleep(wait).await;
                    n += 1;
                }
                Err(e) => {
                    return Err(DbError::Connect {
                        host: config.host.clone(),
                        port: config.port,
                        database: database.to_owned(),
                        cause: describe(&e),
                    });
                }
            }
        }
    };
    match tokio::time::timeout(config.connect_timeout(), attempts).await {
        Ok(result) => result,
        Err(_) => Err(DbError::ConnectTimeout {
            host: config.host.clone(),
            port: config.port,
            seconds: config.connect_timeout_seconds,
            last: last.lock().ok().and_then(|l| l.clone()),
        }),
    }
}

fn statement_error(e: &tiberius::error::Error) -> DbError {
    DbError::Statement(describe(e))
}

/// What the validation tests ask the server, fetched in one batch (one
/// round trip) right after the log-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Whether the principal asked about exists (`None`: not asked).
    pub principal_exists: Option<bool>,
    /// Per schema and permission asked: held, not held, or `None` when the
    /// schema does not exist (`HAS_PERMS_BY_NAME` answers NULL).
    pub schema_permissions: Vec<(String, String, Option<bool>)>,
    /// The database permissions held (`fn_my_permissions`).
    pub database_permissions: BTreeSet<String>,
}

/// What to ask for in [`facts`].
#[derive(Debug, Clone, Default)]
pub struct Questions<'a> {
    pub principal: Option<&'a str>,
    pub schemas: Vec<&'a str>,
    pub schema_permissions: &'a [&'a str],
}

/// Asks the server, in one `sp_executesql` call, whether a principal exists,
/// which permissions are held on schemas, and which on the database. Each
/// statement but the last answers exactly one row, so the result sets line
/// up whatever the answers.
pub async fn facts<S>(client: &mut Client<S>, q: &Questions<'_>) -> Result<Facts, DbError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let mut statements = Vec::new();
    let mut params: Vec<&str> = Vec::new();
    if let Some(p) = q.principal {
        params.push(p);
        statements.push(format!(
            "SELECT COUNT(*) AS n FROM sys.database_principals WHERE name = @P{}",
            params.len()
        ));
    }
    let mut asked = Vec::new();
    if !q.schemas.is_empty() {
        let mut items = Vec::new();
        for schema in &q.schemas {
            params.push(schema);
            let n = params.len();
            for perm in q.schema_permissions {
                // Permission names are ours (constants), never the payload's.
                items.push(format!("HAS_PERMS_BY_NAME(@P{n}, 'SCHEMA', '{perm}')"));
                asked.push(((*schema).to_owned(), (*perm).to_owned()));
            }
        }
        statements.push(format!("SELECT {}", items.join(", ")));
    }
    statements.push("SELECT permission_name FROM fn_my_permissions(NULL, 'DATABASE')".to_owned());
    let sql = statements.join(";\n");
    let args: Vec<&dyn tiberius::ToSql> =
        params.iter().map(|p| p as &dyn tiberius::ToSql).collect();
    let results = client
        .query(sql, &args)
        .await
        .map_err(|e| statement_error(&e))?
        .into_results()
        .await
        .map_err(|e| statement_error(&e))?;
    let mut sets = results.into_iter();
    let mut facts = Facts::default();
    if q.principal.is_some() {
        // `try_get`, never `get`: tiberius's `get` panics on a value of
        // another type, and the types are the server's to choose.
        let n = match sets.next().as_ref().and_then(|rows| rows.first()) {
            Some(r) => r.try_get::<i32, _>(0).map_err(|e| statement_error(&e))?,
            None => None,
        };
        facts.principal_exists = Some(
            n.ok_or_else(|| DbError::Statement("no answer to the principal look-up".into()))? > 0,
        );
    }
    if !asked.is_empty() {
        let rows = sets.next().unwrap_or_default();
        let row = rows
            .first()
            .ok_or_else(|| DbError::Statement("no answer to HAS_PERMS_BY_NAME".into()))?;
        for (i, (schema, perm)) in asked.into_iter().enumerate() {
            let held = row.try_get::<i32, _>(i).map_err(|e| statement_error(&e))?;
            facts
                .schema_permissions
                .push((schema, perm, held.map(|v| v == 1)));
        }
    }
    for r in &sets.next().unwrap_or_default() {
        if let Some(p) = r.try_get::<&str, _>(0).map_err(|e| statement_error(&e))? {
            facts.database_permissions.insert(p.to_ascii_uppercase());
        }
    }
    Ok(facts)
}

/// The set-up version recorded in the database.
pub async fn recorded_version<S>(client: &mut Client<S>) -> Result<u32, DbError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let sql = format!(
        "SELECT MAX(version) AS version FROM {}",
        scripts::version_table()
    );
    let row = client
        .simple_query(sql)
        .await
        .map_err(|e| statement_error(&e))?
        .into_row()
        .await
        .map_err(|e| statement_error(&e))?;
    let version = match &row {
        Some(r) => r.try_get::<i32, _>(0).map_err(|e| statement_error(&e))?,
        None => None,
    };
    version
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| DbError::Statement("the version table holds no version".into()))
}

/// One set of credentials, with a lazily opened connection to each target.
pub struct Session {
    config: SynapseConfig,
    creds: Credentials,
    master: Option<Client>,
    database: Option<Client>,
}

impl Session {
    pub fn new(config: &SynapseConfig, creds: Credentials) -> Self {
        Session {
            config: config.clone(),
            creds,
            master: None,
            database: None,
        }
    }

    async fn client(&mut self, target: Target) -> Result<&mut Client, DbError> {
        let (slot, db) = match target {
            Target::Master => (&mut self.master, "master".to_owned()),
            Target::Database => (&mut self.database, self.config.database.clone()),
        };
        if slot.is_none() {
            *slot = Some(connect(&self.config, &db, &self.creds).await?);
        }
        slot.as_mut()
            .ok_or_else(|| DbError::Statement("no connection".into()))
    }

    /// Runs one action: each statement its own batch (`CREATE SCHEMA` must
    /// open one), in order; the first error ends the action.
    pub async fn exec(&mut self, action: TsqlAction) -> Result<(), DbError> {
        let client = self.client(action.target).await?;
        for statement in action.executable() {
            let result = match client.simple_query(statement).await {
                Ok(stream) => stream.into_results().await.map(|_| ()),
                Err(e) => Err(e),
            };
            result.map_err(|e| statement_error(&e).scrubbed(action.password.as_ref()))?;
        }
        Ok(())
    }

    /// Logs out of both connections.
    pub async fn close(self) {
        for c in [self.master, self.database].into_iter().flatten() {
            let _ = c.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_four_seconds() {
        let ms: Vec<u128> = (0..6).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn only_azure_transient_errors_are_transient() {
        assert_eq!(transient(42108), Some("SQL pool paused"));
        assert_eq!(transient(42109), Some("SQL pool warming up"));
        assert!(transient(40613).is_some());
        assert_eq!(transient(18456), None);
    }

    #[test]
    fn a_statement_error_loses_the_password() {
        let e = DbError::Statement("Incorrect syntax near 'Pw1'.".into());
        let s = Secret::new("Pw1".to_owned());
        assert_eq!(
            e.scrubbed(Some(&s)).to_string(),
            "Incorrect syntax near '[redacted]'."
        );
    }
}
