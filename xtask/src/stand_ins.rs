//! Local stand-ins for the platforms, on fixed loopback ports. Each is
//! installed from Debian or PyPI when missing, kept under `target/stand-ins/`,
//! and its endpoint written to `target/stand-ins/endpoints.json`.

use crate::run;
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every stand-in xtask knows, in start order.
pub const ALL: &[&str] = &[
    "postgres",
    "moto",
    "fakesnow",
    "minilake",
    "pysqlbridge",
    "bqemulator",
];

const PG_PORT: u16 = 54329;
/// A throwaway superuser password for a server bound to 127.0.0.1 in tests.
const PG_PASSWORD: &str = "junction-stand-in";

pub fn endpoints_file(root: &Path) -> PathBuf {
    base(root).join("endpoints.json")
}

fn base(root: &Path) -> PathBuf {
    crate::target_dir(root).join("stand-ins")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn names(args: &[String]) -> Result<Vec<&str>> {
    if args.is_empty() {
        return Ok(ALL.to_vec());
    }
    args.iter()
        .map(|a| {
            ALL.iter()
                .copied()
                .find(|n| *n == a.as_str())
                .with_context(|| format!("unknown stand-in `{a}` (known: {})", ALL.join(", ")))
        })
        .collect()
}

/// Starts the stand-ins; returns the ones that could not start (only outside
/// CI: under `CI=true` that is an error).
pub fn up(root: &Path, args: &[String]) -> Result<Vec<String>> {
    std::fs::create_dir_all(base(root))?;
    let mut missing = Vec::new();
    for name in names(args)? {
        let started = match name {
            "postgres" => postgres_up(root),
            "moto" => python_up(root, &MOTO),
            "fakesnow" => python_up(root, &FAKESNOW),
            "minilake" => python_up(root, &MINILAKE),
            "pysqlbridge" => pysqlbridge_up(root),
            "bqemulator" => bqemulator_up(root),
            _ => bail!("unknown stand-in {name}"),
        };
        match started {
            Ok(endpoint) => {
                write_endpoint(root, name, Some(endpoint))?;
                eprintln!("stand-in {name}: ready");
            }
            Err(e) if in_ci() => return Err(e.context(format!("stand-in {name} could not start"))),
            Err(e) => {
                write_endpoint(root, name, None)?;
                eprintln!(
                    "stand-in {name}: NOT started ({e:#}); its tests will be skipped outside CI"
                );
                missing.push(name.to_owned());
            }
        }
    }
    Ok(missing)
}

pub fn down(root: &Path, args: &[String]) -> Result<()> {
    for name in names(args)? {
        match name {
            "postgres" => postgres_down(root)?,
            "moto" => python_down(root, &MOTO)?,
            "fakesnow" => python_down(root, &FAKESNOW)?,
            "minilake" => python_down(root, &MINILAKE)?,
            "pysqlbridge" => python_down(root, &PYSQLBRIDGE)?,
            "bqemulator" => python_down(root, &BQEMULATOR)?,
            _ => {}
        }
        write_endpoint(root, name, None)?;
        eprintln!("stand-in {name}: stopped");
    }
    Ok(())
}

pub fn status(root: &Path) -> Result<()> {
    let text = std::fs::read_to_string(endpoints_file(root)).unwrap_or_else(|_| "{}".into());
    println!("{text}");
    Ok(())
}

fn write_endpoint(root: &Path, name: &str, endpoint: Option<Value>) -> Result<()> {
    let path = endpoints_file(root);
    let mut all: Map<String, Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    match endpoint {
        Some(e) => all.insert(name.into(), e),
        None => all.remove(name),
    };
    std::fs::write(&path, serde_json::to_string_pretty(&Value::Object(all))?)?;
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages when running as root (CI and the dev machines are).
fn apt_install(packages: &[&str]) -> Result<()> {
    if !is_root() {
        bail!(
            "{} missing and not root: install them with apt-get",
            packages.join(" ")
        );
    }
    eprintln!("installing {} from Debian…", packages.join(" "));
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Programs the tests run besides the stand-ins, with their Debian packages.
const TOOLS: &[(&str, &str)] = &[
    ("openssl", "openssl"),
    ("psql", "postgresql-client"),
    ("tsql", "freetds-bin"),
];

/// Installs the tests' command-line tools that are missing.
pub fn ensure_tools() -> Result<()> {
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(program, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    match apt_install(&missing) {
        Ok(()) => Ok(()),
        Err(e) if in_ci() => Err(e),
        Err(e) => {
            eprintln!("tools not installed ({e:#}); the tests that need them will skip outside CI");
            Ok(())
        }
    }
}

fn pg_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

/// A command run as the `postgres` user when we are root (initdb refuses root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn postgres_up(root: &Path) -> Result<Value> {
    let bin = match pg_bin_dir() {
        Some(b) => b,
        None => {
            apt_install(&["postgresql"])?;
            pg_bin_dir().context("postgresql installed, but no initdb under /usr/lib/postgresql")?
        }
    };
    let dir = base(root).join("postgres");
    let data = dir.join("data");
    std::fs::create_dir_all(&dir)?;
    if is_root() {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir))?;
    }
    if !data.join("PG_VERSION").exists() {
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, PG_PASSWORD)?;
        if is_root() {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pwfile))?;
        }
        run(as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(std::process::Stdio::null()))
        .context("initdb failed")?;
    }
    let running = as_postgres(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("status")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !running {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={PG_PORT} -c unix_socket_directories={} -c fsync=off -c max_connections=200",
            dir.display()
        );
        run(as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .stdout(std::process::Stdio::null()))
        .context("pg_ctl start failed (see target/stand-ins/postgres/log)")?;
    }
    Ok(json!({
        "host": "127.0.0.1",
        "port": PG_PORT,
        "user": "postgres",
        "password": PG_PASSWORD,
        "database": "postgres",
        "bin": bin,
    }))
}

fn postgres_down(root: &Path) -> Result<()> {
    let data = base(root).join("postgres/data");
    let Some(bin) = pg_bin_dir() else {
        return Ok(());
    };
    if data.join("postmaster.pid").exists() {
        run(as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(std::process::Stdio::null()))?;
    }
    Ok(())
}

/// A stand-in served by a Python package from PyPI, in its own venv (they pin
/// conflicting versions).
struct PythonStandIn {
    name: &'static str,
    port: u16,
    /// pip requirements, pinned.
    packages: &'static [&'static str],
    /// The server's command line inside the venv; `{port}` is replaced.
    command: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const MOTO: PythonStandIn = PythonStandIn {
    name: "moto",
    port: 54330,
    packages: &["moto[server]==5.2.5"],
    command: &["bin/moto_server", "-H", "127.0.0.1", "-p", "{port}"],
    env: &[],
};

const FAKESNOW: PythonStandIn = PythonStandIn {
    name: "fakesnow",
    port: 54331,
    // snowflake-connector-python 5.x breaks fakesnow 0.12.
    packages: &[
        "fakesnow[server]==0.12.1",
        "snowflake-connector-python==4.8.1",
    ],
    command: &["bin/fakesnow", "-s", "--host", "127.0.0.1", "-p", "{port}"],
    env: &[],
};

/// Databricks Unity Catalog (REST 2.1) and SQL statements; no notebook server,
/// no Spark warm-up (the tests need neither).
const MINILAKE: PythonStandIn = PythonStandIn {
    name: "minilake",
    port: 54332,
    packages: &["minilake==1.9.0"],
    command: &[
        "bin/python",
        "-m",
        "minilake",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ],
    env: &[("MINILAKE_NOTEBOOK", "0"), ("MINILAKE_SPARK_PREWARM", "0")],
};

/// A TDS server (login and SELECT only), for the Synapse plugin's connection
/// test. Its login's password comes from the environment variable named in
/// its `--config` file, which `pysqlbridge_up` writes.
const PYSQLBRIDGE: PythonStandIn = PythonStandIn {
    name: "pysqlbridge",
    port: 54334,
    packages: &["pysqlbridge==2.1.3"],
    command: &[
        "bin/pysqlbridge",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--config",
        "config.json",
    ],
    env: &[("BRIDGE_PW", PYSQLBRIDGE_PASSWORD)],
};
const PYSQLBRIDGE_USER: &str = "immuta";
/// A throwaway password for a server bound to 127.0.0.1 in tests.
const PYSQLBRIDGE_PASSWORD: &str = "junction-bridge-pw";

fn pysqlbridge_up(root: &Path) -> Result<Value> {
    let dir = base(root).join(PYSQLBRIDGE.name);
    std::fs::create_dir_all(dir.join("data"))?;
    std::fs::write(dir.join("data/t.csv"), "id,name\n1,one\n")?;
    let config = json!({
        "tables": [{"name": "t", "csv": "data/t.csv"}],
        "logins": [{"user": PYSQLBRIDGE_USER, "password": "${BRIDGE_PW}"}],
    });
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&config)?)?;
    let mut endpoint = python_up(root, &PYSQLBRIDGE)?;
    endpoint["user"] = json!(PYSQLBRIDGE_USER);
    endpoint["password"] = json!(PYSQLBRIDGE_PASSWORD);
    Ok(endpoint)
}

/// BigQuery's REST API v2 (datasets, tables, rows, queries), started through
/// [`BQEMULATOR_LAUNCHER`]; gRPC (the Storage API) on the port after next.
const BQEMULATOR: PythonStandIn = PythonStandIn {
    name: "bqemulator",
    port: 54333,
    packages: &["bqemulator==1.4.0", "numpy"],
    command: &[
        "bin/python",
        "launcher.py",
        "start",
        "--rest-host",
        "127.0.0.1",
        "--rest-port",
        "{port}",
        "--grpc-host",
        "127.0.0.1",
        "--grpc-port",
        "54335",
        "--project",
        BQEMULATOR_PROJECT,
        "--ephemeral",
    ],
    env: &[],
};
const BQEMULATOR_PROJECT: &str = "junction-test";
/// bqemulator exits at start when it cannot download DuckDB's spatial
/// extension (no internet here); GEOGRAPHY is not needed, so the launcher
/// lets that load fail and then runs the emulator's own command line.
const BQEMULATOR_LAUNCHER: &str = "\
import bqemulator.storage.engine as engine

_load_spatial = engine.DuckDBEngine._load_spatial

def _load_spatial_if_possible(self):
    try:
        _load_spatial(self)
    except Exception as e:
        print(f\"spatial extension not loaded: {e}\", flush=True)

engine.DuckDBEngine._load_spatial = _load_spatial_if_possible

import bqemulator.cli

bqemulator.cli.main()
";

fn bqemulator_up(root: &Path) -> Result<Value> {
    let dir = base(root).join(BQEMULATOR.name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("launcher.py"), BQEMULATOR_LAUNCHER)?;
    let mut endpoint = python_up(root, &BQEMULATOR)?;
    // The REST port opens a moment before the emulator says it is ready.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !http_ok(BQEMULATOR.port, "/readyz") {
        if std::time::Instant::now() > deadline {
            bail!(
                "bqemulator never answered /readyz (see {})",
                dir.join("log").display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    endpoint["project"] = json!(BQEMULATOR_PROJECT);
    Ok(endpoint)
}

/// Whether `GET path` on 127.0.0.1:port answers 200.
fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        std::time::Duration::from_millis(500),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && &head[9..12] == b"200"
}

fn python_up(root: &Path, s: &PythonStandIn) -> Result<Value> {
    let dir = base(root).join(s.name);
    let venv = dir.join("venv");
    let stamp = venv.join(".junction-installed");
    let wanted = s.packages.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        std::fs::create_dir_all(&dir)?;
        if !venv.join("bin/python").exists() {
            run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
                .context("python3 -m venv failed (Debian: apt-get install python3-venv)")?;
        }
        eprintln!("installing {wanted} from PyPI into {}…", venv.display());
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(s.packages))?;
        std::fs::write(&stamp, &wanted)?;
    }
    let endpoint = json!({
        "host": "127.0.0.1",
        "port": s.port,
        "endpoint": format!("http://127.0.0.1:{}", s.port),
    });
    if port_open(s.port) {
        // Ours from an earlier `up` (the pid file says so), or something else in the way.
        if read_pid(&dir).is_some_and(pid_alive) {
            return Ok(endpoint);
        }
        bail!("port {} is taken by another program", s.port);
    }
    let port = s.port.to_string();
    let args: Vec<String> = s.command[1..]
        .iter()
        .map(|a| a.replace("{port}", &port))
        .collect();
    let log = std::fs::File::create(dir.join("log"))?;
    let child = Command::new(venv.join(s.command[0]))
        .args(&args)
        .envs(s.env.iter().copied())
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", s.name))?;
    std::fs::write(dir.join("pid"), child.id().to_string())?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !port_open(s.port) {
        if std::time::Instant::now() > deadline || !pid_alive(child.id()) {
            bail!(
                "{} did not start listening on 127.0.0.1:{} (see {})",
                s.name,
                s.port,
                dir.join("log").display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(endpoint)
}

fn python_down(root: &Path, s: &PythonStandIn) -> Result<()> {
    let dir = base(root).join(s.name);
    if let Some(pid) = read_pid(&dir) {
        if pid_alive(pid) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_file(dir.join("pid"));
    }
    Ok(())
}

fn read_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still has /proc/PID: look at its state too.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|r| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        std::time::Duration::from_millis(200),
    )
    .is_ok()
}
