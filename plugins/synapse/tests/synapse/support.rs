//! Shared by the tests: a test CA and server certificate (made with
//! `openssl`), TLS settings for the fake, FreeTDS `tsql`, and a tiberius
//! client for checking the fake itself.

#![allow(dead_code)]

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A program the tests run, or `None` (the test returns early) outside CI.
pub fn require_tool(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("`{program}` is not installed; `cargo xtask stand-ins up` installs it");
        if in_ci() {
            panic!("{msg}");
        }
        eprintln!("SKIPPING: {msg}");
    }
    found
}

/// A test CA and a certificate it issued for 127.0.0.1 and localhost, in a
/// directory of their own; made once per test process.
pub struct TestPki {
    pub dir: PathBuf,
    pub ca_pem: PathBuf,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    /// A second CA that issued nothing here: trusting it must not help.
    pub other_ca_pem: PathBuf,
}

pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(junction_testkit::unique_name("synapse-pki", '-'));
        std::fs::create_dir_all(&dir).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl runs (cargo xtask stand-ins up installs it)");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for ca in ["ca", "other-ca"] {
            openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &format!("{ca}.key")]);
            openssl(&[
                "req", "-x509", "-new", "-key", &format!("{ca}.key"), "-sha256", "-days", "2",
                "-subj", &format!("/CN=junction test {ca}"), "-out", &format!("{ca}.pem"),
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ]);
        }
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key.ec"]);
        openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", "server.key.ec", "-out", "server.key"]);
        openssl(&["req", "-new", "-key", "server.key", "-subj", "/CN=127.0.0.1", "-out", "server.csr"]);
        std::fs::write(
            dir.join("ext.cnf"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        openssl(&[
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-sha256", "-extfile", "ext.cnf", "-out", "server.pem",
        ]);
        TestPki {
            ca_pem: dir.join("ca.pem"),
            cert_pem: dir.join("server.pem"),
            key_pem: dir.join("server.key"),
            other_ca_pem: dir.join("other-ca.pem"),
            dir,
        }
    })
}

/// The fake's TLS settings with the test certificate: TLS 1.2, as SQL Server
/// speaks inside TDS 7.x (TLS 1.3 comes only with TDS 8.0's strict mode).
/// FreeTDS depends on it: in TLS 1.3 its client sends its Finished message
/// and reads nothing after, so the PRELOGIN packet carrying it is never
/// flushed.
pub fn server_tls() -> Arc<rustls::ServerConfig> {
    let p = pki();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&p.cert_pem)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&p.key_pem).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// Runs `script` with FreeTDS `tsql` against 127.0.0.1:`port`; returns its
/// standard output and error together.
pub fn tsql(port: u16, user: &str, password: &str, database: Option<&str>, script: &str) -> String {
    use std::io::Write;
    let mut cmd = Command::new("tsql");
    cmd.args([
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        user,
        "-P",
        password,
    ]);
    if let Some(d) = database {
        cmd.args(["-D", d]);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tsql starts");
    let mut input = script.to_owned();
    input.push_str("\nexit\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    // A client that hangs (a protocol mismatch) fails the test instead of hanging it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("tsql did not finish within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub type Tds = tiberius::Client<Compat<TcpStream>>;

/// A tiberius client of the fake, with the given encryption level; the test
/// CA is trusted when encryption is on.
pub async fn tiberius_client(
    port: u16,
    user: &str,
    password: &str,
    database: &str,
    encryption: tiberius::EncryptionLevel,
) -> tiberius::Result<Tds> {
    let mut c = tiberius::Config::new();
    c.host("127.0.0.1");
    c.port(port);
    c.database(database);
    c.authentication(tiberius::AuthMethod::sql_server(user, password));
    c.encryption(encryption);
    c.trust_cert_ca(pki().ca_pem.display());
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    tiberius::Client::connect(c, tcp.compat_write()).await
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The fake's admin password in the plugin's tests.
pub const ADMIN_PW: &str = "Admin-pw-1";
/// The database every fake of the plugin's tests has.
pub const DB: &str = "pool1";

/// A fake with the test TLS certificate and one database.
pub fn fake() -> crate::fake_synapse::FakeSynapse {
    crate::fake_synapse::FakeSynapse::start(ADMIN_PW, &[DB], Some(server_tls()))
}

/// A config for automatic set-up against `port` with the fake's admin as the
/// privileged user, over full TLS with the test CA trusted.
pub fn auto_config(port: u16, impersonation: bool) -> serde_json::Value {
    serde_json::json!({
        "host": "127.0.0.1",
        "port": port,
        "database": DB,
        "schema": "immuta_views",
        "authenticationType": "userPassword",
        "username": crate::fake_synapse::ADMIN,
        "password": ADMIN_PW,
        "impersonation": {"enabled": impersonation, "role": "immuta_imp"},
        "encrypt": "require",
        "trustedCaFile": path_str(&pki().ca_pem),
        "connectTimeoutSeconds": 5
    })
}

/// The system user an automatic set-up of [`DB`] creates.
pub fn system_user() -> String {
    format!("{DB}_immuta_system")
}

pub fn typed(config: &serde_json::Value) -> junction_synapse::SynapseConfig {
    junction_core::config::from_json_at(config, "config").expect("config parses")
}

pub fn op(auto: bool, version: u32) -> junction_core::OpContext {
    junction_testkit::op_context(auto, version)
}

pub fn op_fault(auto: bool, version: u32, step: &str) -> junction_core::OpContext {
    junction_testkit::op_context_failing_at(auto, version, step)
}

pub fn platform() -> junction_kit::Kit<junction_synapse::Synapse> {
    junction_kit::Kit(junction_synapse::Synapse::new())
}

/// Runs the validation tests of `config` through the platform's JSON face.
pub async fn validate(
    platform: &dyn junction_core::DynPlatform,
    config: &serde_json::Value,
    auto: bool,
) -> junction_core::ValidationResults {
    let ctx = junction_core::CheckContext {
        auto_bootstrap: auto,
        ..Default::default()
    };
    platform
        .validate(config, ctx, &junction_core::RunOptions::default(), None)
        .await
        .expect("config accepted")
}

/// `name: status: message` of each test, for assertions that show all.
pub fn outcomes(r: &junction_core::ValidationResults) -> Vec<String> {
    r.validation_tests
        .iter()
        .map(|t| {
            format!(
                "{}: {:?}: {}",
                t.name,
                t.status,
                t.message.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// Captured log lines of the code run inside [`with_logs`].
#[derive(Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A subscriber writing every event at DEBUG and above into `logs`, for the
/// current thread (tests run on a current-thread runtime).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}
