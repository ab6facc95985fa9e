//! PostgreSQL (Debian's server) for Redshift's tests and the PostgreSQL
//! store: a throwaway cluster in this checkout's target directory, run as the
//! `postgres` user (initdb refuses root).

use super::{Started, base, tools};
use crate::run;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A throwaway superuser password for a server bound to 127.0.0.1 in tests.
const PG_PASSWORD: &str = "junction-stand-in";

/// The port a running cluster listens on: line 4 of `postmaster.pid`.
fn running_port(data: &Path) -> Option<u16> {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()?
        .lines()
        .nth(3)?
        .trim()
        .parse()
        .ok()
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
    if tools::is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Starts this checkout's cluster on `port`, or finds it running (on the
/// port its `postmaster.pid` names).
pub fn up(root: &Path, port: u16) -> Result<(Value, Started)> {
    let bin = match pg_bin_dir() {
        Some(b) => b,
        None => {
            tools::apt_install(&["postgresql"])?;
            pg_bin_dir().context("postgresql installed, but no initdb under /usr/lib/postgresql")?
        }
    };
    let dir = base(root).join("postgres");
    let data = dir.join("data");
    std::fs::create_dir_all(&dir)?;
    if tools::is_root() {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir))?;
    }
    if !data.join("PG_VERSION").exists() {
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, PG_PASSWORD)?;
        if tools::is_root() {
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
    // Running for this checkout, but on another port (an older xtask's):
    // replaced, so that the endpoint written is where it listens.
    let running_on = running.then(|| running_port(&data)).flatten();
    let running = match running_on {
        Some(p) if p != port => {
            eprintln!("stand-in postgres: moving from port {p} to {port}");
            down(root)?;
            false
        }
        _ => running,
    };
    let how = if running {
        Started::Reused
    } else {
        Started::Now
    };
    if !running {
        if super::process::port_open(port) {
            bail!(
                "port {port} is taken by another program (set JUNCTION_STAND_IN_PORT_BASE to move this checkout's stand-ins)"
            );
        }
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off -c max_connections=200",
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
    Ok((
        json!({
            "host": "127.0.0.1",
            "port": port,
            "user": "postgres",
            "password": PG_PASSWORD,
            "database": "postgres",
            "bin": bin,
        }),
        how,
    ))
}

pub fn down(root: &Path) -> Result<()> {
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
