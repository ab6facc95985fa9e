//! Finding the local stand-ins that `cargo xtask stand-ins up` started.
//!
//! xtask writes their endpoints to one JSON file, `{"postgres": {...}, ...}`,
//! and `cargo xtask test` passes its path in `JUNCTION_STAND_INS`. Without the
//! variable the file is looked for at `target/stand-ins/endpoints.json` of this
//! workspace. Under `CI=true` a missing stand-in fails the test; elsewhere the
//! test says what to start and returns early.

use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;

/// The environment variable naming the endpoints file.
pub const ENV_FILE: &str = "JUNCTION_STAND_INS";

/// Where the endpoints file is.
pub fn endpoints_file() -> PathBuf {
    match std::env::var_os(ENV_FILE) {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/stand-ins/endpoints.json")
        }
    }
}

/// The endpoint record of one stand-in, if it was started.
pub fn endpoint(name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(endpoints_file()).ok()?;
    let all: Value = serde_json::from_str(&text).ok()?;
    all.get(name).cloned()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The stand-in's endpoint, or `None` outside CI when it is not running (the
/// caller returns early). Under `CI=true`, a missing stand-in panics.
#[track_caller]
pub fn require<T: for<'de> Deserialize<'de>>(name: &str) -> Option<T> {
    let found = endpoint(name).and_then(|v| serde_json::from_value::<T>(v).ok());
    if found.is_none() {
        let msg = format!(
            "stand-in \"{name}\" is not running (no usable entry in {}); start it with `cargo xtask stand-ins up {name}`",
            endpoints_file().display()
        );
        #[allow(clippy::panic)]
        if in_ci() {
            panic!("{msg}");
        }
        eprintln!("SKIPPING: {msg}");
    }
    found
}

/// The PostgreSQL stand-in (the Redshift plugin's).
#[derive(Debug, Clone, Deserialize)]
pub struct Postgres {
    pub host: String,
    pub port: u16,
    /// A superuser.
    pub user: String,
    pub password: String,
    pub database: String,
    /// The directory of the server's programs (`psql`), when xtask knows it.
    #[serde(default)]
    pub bin: Option<String>,
}

impl Postgres {
    /// A `postgres://` URL for `database` on this server, without TLS (the
    /// stand-in has none), as `junction serve --store` takes it.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{database}?sslmode=disable",
            self.user, self.password, self.host, self.port
        )
    }

    /// Runs `sql` with `psql` as the superuser in `database`; the output, or
    /// psql's error text.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let psql = match &self.bin {
            Some(dir) => std::path::Path::new(dir).join("psql"),
            None => std::path::PathBuf::from("psql"),
        };
        let out = std::process::Command::new(&psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                &self.host,
                "-p",
                &self.port.to_string(),
                "-U",
                &self.user,
            ])
            .args(["-d", database, "-c", sql])
            .env("PGPASSWORD", &self.password)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", psql.display()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A new, empty database with a name no other test uses.
    pub fn create_database(&self, tag: &str) -> Result<String, String> {
        let name = crate::unique_name(tag, '_');
        self.psql(&self.database, &format!("CREATE DATABASE \"{name}\""))?;
        Ok(name)
    }

    /// Drops a database made by [`Postgres::create_database`], even while
    /// connections to it are open.
    pub fn drop_database(&self, name: &str) {
        let _ = self.psql(
            &self.database,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
    }
    /// A libpq-style connection string.
    pub fn conninfo(&self) -> String {
        format!(
            "host={} port={} user={} password={} dbname={}",
            self.host, self.port, self.user, self.password, self.database
        )
    }
}

/// An HTTP stand-in (moto for S3 and STS, fakesnow for Snowflake).
#[derive(Debug, Clone, Deserialize)]
pub struct Http {
    pub host: String,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

/// A command-line tool that `cargo xtask test` installs under the target
/// directory's `tools/<venv>/bin/` (a Python virtual environment per tool, beside
/// `stand-ins/`): its path, or `None` outside CI when it is missing (the
/// caller returns early). Under `CI=true` a missing tool panics.
#[track_caller]
pub fn tool(venv: &str, program: &str) -> Option<PathBuf> {
    let endpoints = endpoints_file();
    let path = endpoints
        .parent()
        .and_then(std::path::Path::parent)
        .map(|target| target.join("tools").join(venv).join("bin").join(program));
    let found = path.filter(|p| p.exists());
    if found.is_none() {
        let msg = format!(
            "the tool {program} is missing (`cargo xtask test` installs it in target/tools/{venv})"
        );
        #[allow(clippy::panic)]
        if in_ci() {
            panic!("{msg}");
        }
        eprintln!("SKIPPING: {msg}");
    }
    found
}
