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
    // The status page's browser test (tests/tests/ui.rs).
    ("chromium", "chromium"),
];

/// The browser test's npm package (Playwright's `playwright-core`).
const BROWSER_TEST_DIR: &str = "tests/ui";

/// The AWS CLI that the S3 remedy test runs a remedy's command in (PyPI's
/// `awscli`), in a virtual environment of its own under the target dir.
const AWS_CLI: &str = "awscli==1.46.3";

/// The OpenAPI tests' Python tools (tests/tests/openapi.rs), each in a virtual
/// environment of its own under `target/tools/<name>`: (name, requirement, program).
const OPENAPI_TOOLS: &[(&str, &str, &str)] = &[
    (
        "openapi-spec-validator",
        "openapi-spec-validator==0.9.0",
        "openapi-spec-validator",
    ),
    ("schemathesis", "schemathesis==4.32.5", "st"),
];

/// Installs the tests' command-line tools that are missing, the browser
/// test's `node_modules`, the AWS CLI and the OpenAPI tests' Python tools.
pub fn ensure_tools() -> Result<()> {
    apt_tools()?;
    let openapi = OPENAPI_TOOLS
        .iter()
        .try_for_each(|(name, req, program)| python_tool(name, req, program));
    for (what, result) in [
        ("the browser test", browser_test_modules()),
        ("the S3 remedy test", aws_cli()),
        ("the OpenAPI tests", openapi),
    ] {
        match result {
            Ok(()) => {}
            Err(e) if super::in_ci() => return Err(e),
            Err(e) => eprintln!("{e:#}; {what} will skip outside CI"),
        }
    }
    Ok(())
}

/// `target/tools/awscli/bin/aws`, installed once.
fn aws_cli() -> Result<()> {
    let venv = crate::target_dir(&crate::workspace_root()?).join("tools/awscli");
    if venv.join("bin/aws").exists() {
        return Ok(());
    }
    eprintln!("installing the AWS CLI ({AWS_CLI}) in {}…", venv.display());
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        AWS_CLI,
    ]))
    .map_err(|e| e.context(format!("pip install {AWS_CLI} failed")))
}

/// `target/tools/<name>/bin/<program>` from PyPI's `requirement`, installed
/// again when the pinned requirement changed (kept in `.requirement`).
fn python_tool(name: &str, requirement: &str, program: &str) -> Result<()> {
    let venv = crate::target_dir(&crate::workspace_root()?)
        .join("tools")
        .join(name);
    let pin = venv.join(".requirement");
    if venv.join("bin").join(program).exists()
        && std::fs::read_to_string(&pin).is_ok_and(|p| p == requirement)
    {
        return Ok(());
    }
    eprintln!("installing {requirement} in {}…", venv.display());
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        requirement,
    ]))
    .map_err(|e| e.context(format!("pip install {requirement} failed")))?;
    std::fs::write(&pin, requirement)?;
    Ok(())
}

/// `npm ci` in the browser test's folder when its `node_modules` is missing or
/// older than its lock file; kept there between runs (gitignored).
fn browser_test_modules() -> Result<()> {
    let dir = crate::workspace_root()?.join(BROWSER_TEST_DIR);
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((modified(&installed), modified(&lock)), (Some(i), Some(l)) if i >= l);
    if fresh
        && dir
            .join("node_modules/playwright-core/package.json")
            .exists()
    {
        return Ok(());
    }
    eprintln!("installing the browser test's npm packages in {BROWSER_TEST_DIR}…");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir))
    .map_err(|e| e.context(format!("npm ci in {BROWSER_TEST_DIR} failed")))
}

fn apt_tools() -> Result<()> {
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
