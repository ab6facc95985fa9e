//! Stand-ins served by a Python package from PyPI, each in its own venv
//! (they pin conflicting versions), run as a child process whose pid and
//! port are kept beside it.

use super::{Started, base};
use crate::run;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// One Python stand-in.
pub struct PythonStandIn {
    pub name: &'static str,
    /// pip requirements, pinned.
    pub packages: &'static [&'static str],
    /// The server's command line inside the venv; `{port}` and `{port2}` are
    /// replaced by its ports.
    pub command: &'static [&'static str],
    pub env: &'static [(&'static str, &'static str)],
}

/// Installs (once per requirement set) and starts `s` on `port` (and `port2`),
/// or finds it running there; one of ours on other ports is replaced.
pub fn up(root: &Path, s: &PythonStandIn, port: u16, port2: u16) -> Result<(Value, Started)> {
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
        "port": port,
        "endpoint": format!("http://127.0.0.1:{port}"),
    });
    let ours = read_number(&dir, "pid").filter(|pid| pid_alive(*pid));
    if let Some(pid) = ours {
        if read_number(&dir, "port") == Some(u32::from(port)) && port_open(port) {
            return Ok((endpoint, Started::Reused));
        }
        // Ours, but on another port or not answering: replaced.
        stop(pid);
    }
    if port_open(port) {
        bail!(
            "port {port} is taken by another program (set JUNCTION_STAND_IN_PORT_BASE to move this checkout's stand-ins)"
        );
    }
    let (p1, p2) = (port.to_string(), port2.to_string());
    let args: Vec<String> = s.command[1..]
        .iter()
        .map(|a| a.replace("{port}", &p1).replace("{port2}", &p2))
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
    std::fs::write(dir.join("port"), port.to_string())?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !port_open(port) {
        if std::time::Instant::now() > deadline || !pid_alive(child.id()) {
            bail!(
                "{} did not start listening on 127.0.0.1:{port} (see {})",
                s.name,
                dir.join("log").display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok((endpoint, Started::Now))
}

pub fn down(root: &Path, s: &PythonStandIn) -> Result<()> {
    let dir = base(root).join(s.name);
    if let Some(pid) = read_number(&dir, "pid") {
        stop(pid);
        let _ = std::fs::remove_file(dir.join("pid"));
        let _ = std::fs::remove_file(dir.join("port"));
    }
    Ok(())
}

/// SIGTERM, then up to 5 s for the process to go (so its port is free for
/// the next start).
fn stop(pid: u32) {
    if !pid_alive(pid) {
        return;
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    for _ in 0..50 {
        if !pid_alive(pid) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

fn read_number(dir: &Path, file: &str) -> Option<u32> {
    std::fs::read_to_string(dir.join(file))
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

pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        std::time::Duration::from_millis(200),
    )
    .is_ok()
}

/// Whether `GET path` on 127.0.0.1:port answers 200.
pub fn http_ok(port: u16, path: &str) -> bool {
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
