//! Debian packages: the stand-ins' servers and the tests' command-line tools.

use crate::run;
use anyhow::{Result, bail};
use std::process::Command;

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages when running as root (CI and the dev machines are).
pub fn apt_install(packages: &[&str]) -> Result<()> {
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
        Err(e) if super::in_ci() => Err(e),
        Err(e) => {
            eprintln!("tools not installed ({e:#}); the tests that need them will skip outside CI");
            Ok(())
        }
    }
}
