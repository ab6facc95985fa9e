//! Shared by the tests: the stand-in, unique names, configs, a superuser
//! connection, the catalog snapshot, psql, and cleanup that survives a panic.

#![allow(dead_code)]

use junction_core::{OpContext, Platform};
use junction_redshift::{Redshift, RedshiftConfig};
use junction_testkit::stand_ins::{self, Postgres};
use serde_json::{Value, json};
use tokio_postgres::{Client, NoTls};

/// The PostgreSQL stand-in, or `None` (the test returns early) outside CI.
pub fn stand_in() -> Option<Postgres> {
    stand_ins::require::<Postgres>("postgres")
}

/// A lowercase name no other test (or earlier run) uses: the tests share one
/// cluster and run in parallel.
pub fn unique(tag: &str) -> String {
    junction_testkit::unique_name(tag, '_')
}

/// The names one test's integration uses.
#[derive(Debug, Clone)]
pub struct Names {
    pub database: String,
    pub system_user: String,
    pub roles: Vec<String>,
}

impl Names {
    pub fn new(tag: &str) -> Self {
        Names::with_database(unique(tag))
    }

    pub fn with_database(database: String) -> Self {
        let system_user = format!("{database}_system");
        let role = format!("{database}_imp");
        Names {
            database,
            system_user,
            roles: vec![role],
        }
    }

    pub fn role(&self) -> &str {
        &self.roles[0]
    }

    /// A further role name this test may use (a rename's target).
    pub fn extra_role(&mut self, suffix: &str) -> String {
        let r = format!("{}_{suffix}", self.database);
        self.roles.push(r.clone());
        r
    }

    pub fn all_roles(&self) -> Vec<String> {
        let mut r = self.roles.clone();
        r.push(self.system_user.clone());
        r
    }
}

/// A config for automatic set-up against the stand-in, with the superuser as
/// the privileged user.
pub fn auto_config(pg: &Postgres, names: &Names, impersonation: bool) -> Value {
    json!({
        "host": pg.host,
        "port": pg.port,
        "initialDatabase": pg.database,
        "database": names.database,
        "authenticationType": "userPassword",
        "username": pg.user,
        "password": pg.password,
        "impersonation": {"enabled": impersonation, "role": names.role()},
        "tls": "disable",
        "connectTimeoutSeconds": 5
    })
}

pub fn typed(config: &Value) -> RedshiftConfig {
    junction_core::config::from_json_at(config, "config").expect("config parses")
}

pub fn op(auto: bool, version: u32) -> OpContext {
    junction_testkit::op_context(auto, version)
}

pub fn op_fault(auto: bool, version: u32, step: &str) -> OpContext {
    junction_testkit::op_context_failing_at(auto, version, step)
}

/// Creates the integration automatically and returns the stored config.
pub async fn create_auto(platform: &junction_kit::Kit<Redshift>, config: &Value) -> RedshiftConfig {
    Platform::create(platform, &op(true, 0), typed(config))
        .await
        .expect("create succeeds")
        .config
}

pub async fn connect(
    pg: &Postgres,
    database: &str,
    user: &str,
    password: &str,
) -> Result<Client, tokio_postgres::Error> {
    let mut c = tokio_postgres::Config::new();
    c.host(&pg.host)
        .port(pg.port)
        .dbname(database)
        .user(user)
        .password(password);
    let (client, conn) = c.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// A superuser connection and its task, to close deterministically.
async fn superuser_owned(pg: &Postgres, database: &str) -> (Client, tokio::task::JoinHandle<()>) {
    let mut c = tokio_postgres::Config::new();
    c.host(&pg.host)
        .port(pg.port)
        .dbname(database)
        .user(&pg.user)
        .password(&pg.password);
    let (client, conn) = c.connect(NoTls).await.expect("superuser connects");
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    (client, task)
}

pub async fn superuser(pg: &Postgres, database: &str) -> Client {
    connect(pg, database, &pg.user, &pg.password)
        .await
        .expect("superuser connects")
}

/// What the cluster holds of one integration: its database (owner, ACL), its
/// roles (attributes, memberships), and in the database the `immuta_*`
/// schemas, tables, procedures with their full definitions, and the recorded
/// versions. Passwords and OIDs are left out: they differ between two equal
/// set-ups. Sorted lines, so a failed comparison shows the difference.
pub async fn snapshot(pg: &Postgres, names: &Names) -> Vec<String> {
    let mut out = Vec::new();
    let roles = names.all_roles();
    let admin = superuser(pg, &pg.database).await;
    for r in admin
        .query(
            "SELECT datname, pg_catalog.pg_get_userbyid(datdba), coalesce(datacl::text, '') FROM pg_catalog.pg_database WHERE datname = $1",
            &[&names.database],
        )
        .await
        .expect("databases")
    {
        let (d, o, a): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        out.push(format!("database {d} owner={o} acl={a}"));
    }
    for r in admin
        .query(
            "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &[&roles],
        )
        .await
        .expect("roles")
    {
        let name: String = r.get(0);
        let flags: Vec<bool> = (1..6).map(|i| r.get::<_, bool>(i)).collect();
        let limit: i32 = r.get(6);
        out.push(format!("role {name} super/inherit/createrole/createdb/login={flags:?} connlimit={limit}"));
    }
    for r in admin
        .query(
            "SELECT r.rolname, m.rolname, am.admin_option, pg_catalog.pg_get_userbyid(am.grantor) FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_roles r ON r.oid = am.roleid JOIN pg_catalog.pg_roles m ON m.oid = am.member WHERE r.rolname = ANY($1) OR m.rolname = ANY($1)",
            &[&roles],
        )
        .await
        .expect("memberships")
    {
        let (role, member, admin_opt, grantor): (String, String, bool, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        out.push(format!("member {member} of {role} admin={admin_opt} grantor={grantor}"));
    }
    drop(admin);
    let exists = out.iter().any(|l| l.starts_with("database "));
    if exists {
        let (db, task) = superuser_owned(pg, &names.database).await;
        for r in db
            .query(
                "SELECT nspname, pg_catalog.pg_get_userbyid(nspowner), coalesce(nspacl::text, '') FROM pg_catalog.pg_namespace WHERE nspname LIKE 'immuta%'",
                &[],
            )
            .await
            .expect("schemas")
        {
            let (n, o, a): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            out.push(format!("schema {n} owner={o} acl={a}"));
        }
        for r in db
            .query(
                "SELECT n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner), coalesce(c.relacl::text, '') FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'immuta%'",
                &[],
            )
            .await
            .expect("relations")
        {
            let (n, c, k, o, a): (String, String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            out.push(format!("relation {n}.{c} kind={k} owner={o} acl={a}"));
        }
        for r in db
            .query(
                "SELECT n.nspname, p.proname, pg_catalog.pg_get_userbyid(p.proowner), p.prosecdef, coalesce(p.proacl::text, ''), pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname LIKE 'immuta%'",
                &[],
            )
            .await
            .expect("procedures")
        {
            let (n, p, o, s, a, d): (String, String, String, bool, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
            out.push(format!("procedure {n}.{p} owner={o} secdef={s} acl={a} definition={d}"));
        }
        let has_table = db
            .query_opt("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'immuta_system' AND tablename = 'bootstrap_version'", &[])
            .await
            .expect("version table lookup")
            .is_some();
        if has_table {
            for r in db
                .query("SELECT version FROM immuta_system.bootstrap_version", &[])
                .await
                .expect("versions")
            {
                let v: i32 = r.get(0);
                out.push(format!("version row {v}"));
            }
        }
        // Leave the database free to drop as soon as this returns.
        drop(db);
        let _ = task.await;
    }
    out.sort();
    out
}

/// Whether the snapshot lists the object.
pub fn has(snapshot: &[String], prefix: &str) -> bool {
    snapshot.iter().any(|l| l.starts_with(prefix))
}

/// Runs a script with psql, stopping at the first error; `Err` holds stderr.
/// Async, so that the runtime keeps driving (and closing) other connections meanwhile.
pub async fn psql(
    pg: &Postgres,
    database: &str,
    script: &str,
    password_var: Option<&str>,
) -> Result<(), String> {
    let dir = std::env::temp_dir().join(unique("script"));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("script.sql");
    std::fs::write(&file, script).map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(psql_bin());
    cmd.env("PGPASSWORD", &pg.password)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args([
            "-h",
            &pg.host,
            "-p",
            &pg.port.to_string(),
            "-U",
            &pg.user,
            "-d",
            database,
        ])
        .arg("-f")
        .arg(&file);
    if let Some(p) = password_var {
        cmd.args(["-v", &format!("junction_password={p}")]);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| format!("psql did not start: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn psql_bin() -> String {
    if std::path::Path::new("/usr/bin/psql").exists() {
        "/usr/bin/psql".into()
    } else {
        "psql".into()
    }
}

/// Drops the test's database and roles when dropped, even after a panic, so a
/// failed test leaves nothing behind for the next run.
pub struct Cleanup {
    pg: Postgres,
    names: Names,
}

impl Cleanup {
    pub fn new(pg: &Postgres, names: &Names) -> Self {
        Cleanup {
            pg: pg.clone(),
            names: names.clone(),
        }
    }
    pub fn track_role(&mut self, role: &str) {
        self.names.roles.push(role.to_owned());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut cmd = std::process::Command::new(psql_bin());
        cmd.env("PGPASSWORD", &self.pg.password)
            .args(["-X", "-q"])
            .args([
                "-h",
                &self.pg.host,
                "-p",
                &self.pg.port.to_string(),
                "-U",
                &self.pg.user,
                "-d",
                &self.pg.database,
            ])
            .args([
                "-c",
                &format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    q(&self.names.database)
                ),
            ]);
        for r in self.names.all_roles() {
            cmd.args(["-c", &format!("DROP ROLE IF EXISTS {}", q(&r))]);
        }
        let _ = cmd.output();
    }
}
