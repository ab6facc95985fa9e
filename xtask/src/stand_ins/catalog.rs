//! The Python stand-ins: what each one is, and what it needs before it starts.

use super::ports::Ports;
use super::process::{self, PythonStandIn};
use super::{Started, base};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::path::Path;

pub fn up(root: &Path, ports: &Ports, name: &str) -> Result<(Value, Started)> {
    let port = ports.of(name);
    match name {
        "moto" => process::up(root, &MOTO, port, 0),
        "fakesnow" => process::up(root, &FAKESNOW, port, 0),
        "minilake" => process::up(root, &MINILAKE, port, 0),
        "pysqlbridge" => pysqlbridge_up(root, port),
        "bqemulator" => bqemulator_up(root, port, ports.bqemulator_grpc()),
        _ => bail!("unknown stand-in {name}"),
    }
}

pub fn down(root: &Path, name: &str) -> Result<()> {
    match name {
        "moto" => process::down(root, &MOTO),
        "fakesnow" => process::down(root, &FAKESNOW),
        "minilake" => process::down(root, &MINILAKE),
        "pysqlbridge" => process::down(root, &PYSQLBRIDGE),
        "bqemulator" => process::down(root, &BQEMULATOR),
        _ => Ok(()),
    }
}

const MOTO: PythonStandIn = PythonStandIn {
    name: "moto",
    packages: &["moto[server]==5.2.5"],
    command: &["bin/moto_server", "-H", "127.0.0.1", "-p", "{port}"],
    env: &[],
};

const FAKESNOW: PythonStandIn = PythonStandIn {
    name: "fakesnow",
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

fn pysqlbridge_up(root: &Path, port: u16) -> Result<(Value, Started)> {
    let dir = base(root).join(PYSQLBRIDGE.name);
    std::fs::create_dir_all(dir.join("data"))?;
    std::fs::write(dir.join("data/t.csv"), "id,name\n1,one\n")?;
    let config = json!({
        "tables": [{"name": "t", "csv": "data/t.csv"}],
        "logins": [{"user": PYSQLBRIDGE_USER, "password": "${BRIDGE_PW}"}],
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    let (mut endpoint, how) = process::up(root, &PYSQLBRIDGE, port, 0)?;
    endpoint["user"] = json!(PYSQLBRIDGE_USER);
    endpoint["password"] = json!(PYSQLBRIDGE_PASSWORD);
    Ok((endpoint, how))
}

/// BigQuery's REST API v2 (datasets, tables, rows, queries), started through
/// [`BQEMULATOR_LAUNCHER`]; gRPC (the Storage API) on its second port.
const BQEMULATOR: PythonStandIn = PythonStandIn {
    name: "bqemulator",
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
        "{port2}",
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

fn bqemulator_up(root: &Path, port: u16, grpc: u16) -> Result<(Value, Started)> {
    let dir = base(root).join(BQEMULATOR.name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("launcher.py"), BQEMULATOR_LAUNCHER)?;
    let (mut endpoint, how) = process::up(root, &BQEMULATOR, port, grpc)?;
    // The REST port opens a moment before the emulator says it is ready.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !process::http_ok(port, "/readyz") {
        if std::time::Instant::now() > deadline {
            bail!(
                "bqemulator never answered /readyz (see {})",
                dir.join("log").display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    endpoint["project"] = json!(BQEMULATOR_PROJECT);
    Ok((endpoint, how))
}
