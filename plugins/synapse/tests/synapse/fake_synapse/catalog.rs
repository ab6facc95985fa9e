//! The fake's state: server logins, and per database its principals, role
//! memberships, schemas, permissions and tables — what the plugin creates and
//! what the tests compare before and after an operation.
//!
//! Names compare case-insensitively, as under SQL Server's default collation.

use std::collections::{BTreeMap, BTreeSet};

/// A key that compares names as SQL Server does by default.
pub fn key(name: &str) -> String {
    name.to_lowercase()
}

#[derive(Debug, Clone)]
pub struct Login {
    pub name: String,
    pub password: String,
    /// The server admin: `dbo` in every database, may do anything.
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A user mapped to a login (`None` for the built-in users without one).
    User {
        login: Option<String>,
    },
    Role,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    pub kind: PrincipalKind,
    pub built_in: bool,
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub id: i64,
    pub name: String,
    pub owner: i64,
    pub built_in: bool,
}

/// What a permission is on; ids are principals' or schemas'.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum On {
    Database,
    Schema(i64),
    Role(i64),
    /// A table: schema id and table name key.
    Object(i64, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Grant,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    pub on: On,
    pub grantee: i64,
    pub name: String,
    pub state: State,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<i64>>>,
}

#[derive(Debug, Clone)]
pub struct Database {
    pub name: String,
    pub principals: BTreeMap<String, Principal>,
    pub schemas: BTreeMap<String, Schema>,
    pub members: BTreeSet<(i64, i64)>,
    pub permissions: BTreeSet<Permission>,
    /// By (schema id, table key).
    pub tables: BTreeMap<(i64, String), Table>,
    next_id: i64,
}

pub const DBO: i64 = 1;
pub const PUBLIC: i64 = 0;
pub const DB_OWNER: i64 = 16384;

/// Every database-level permission, as `fn_my_permissions` lists them for
/// someone who holds CONTROL.
pub const DATABASE_PERMISSIONS: &[&str] = &[
    "ALTER",
    "ALTER ANY APPLICATION ROLE",
    "ALTER ANY ROLE",
    "ALTER ANY SCHEMA",
    "ALTER ANY USER",
    "AUTHENTICATE",
    "BACKUP DATABASE",
    "CONNECT",
    "CONTROL",
    "CREATE FUNCTION",
    "CREATE PROCEDURE",
    "CREATE ROLE",
    "CREATE SCHEMA",
    "CREATE TABLE",
    "CREATE VIEW",
    "DELETE",
    "EXECUTE",
    "INSERT",
    "REFERENCES",
    "SELECT",
    "SHOWPLAN",
    "UPDATE",
    "VIEW DATABASE STATE",
    "VIEW DEFINITION",
];

impl Database {
    pub fn new(name: &str) -> Self {
        let mut db = Database {
            name: name.to_owned(),
            principals: BTreeMap::new(),
            schemas: BTreeMap::new(),
            members: BTreeSet::new(),
            permissions: BTreeSet::new(),
            tables: BTreeMap::new(),
            next_id: 5,
        };
        let built_in = [
            (PUBLIC, "public", PrincipalKind::Role),
            (DBO, "dbo", PrincipalKind::User { login: None }),
            (2, "guest", PrincipalKind::User { login: None }),
            (3, "INFORMATION_SCHEMA", PrincipalKind::User { login: None }),
            (4, "sys", PrincipalKind::User { login: None }),
            (DB_OWNER, "db_owner", PrincipalKind::Role),
            (16390, "db_datareader", PrincipalKind::Role),
            (16391, "db_datawriter", PrincipalKind::Role),
        ];
        for (id, n, kind) in built_in {
            db.principals.insert(
                key(n),
                Principal {
                    id,
                    name: n.into(),
                    kind,
                    built_in: true,
                },
            );
        }
        for (id, n) in [
            (1, "dbo"),
            (2, "guest"),
            (3, "INFORMATION_SCHEMA"),
            (4, "sys"),
        ] {
            db.schemas.insert(
                key(n),
                Schema {
                    id,
                    name: n.into(),
                    owner: id,
                    built_in: true,
                },
            );
        }
        db
    }

    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn principal(&self, name: &str) -> Option<&Principal> {
        self.principals.get(&key(name))
    }

    pub fn principal_by_id(&self, id: i64) -> Option<&Principal> {
        self.principals.values().find(|p| p.id == id)
    }

    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.get(&key(name))
    }

    pub fn schema_by_id(&self, id: i64) -> Option<&Schema> {
        self.schemas.values().find(|s| s.id == id)
    }

    /// The user of a login in this database.
    pub fn user_of(&self, login: &str) -> Option<&Principal> {
        self.principals.values().find(
            |p| matches!(&p.kind, PrincipalKind::User { login: Some(l) } if key(l) == key(login)),
        )
    }

    /// The principal and every role it belongs to (transitively), and public.
    pub fn identities(&self, principal: i64) -> BTreeSet<i64> {
        let mut out = BTreeSet::from([principal, PUBLIC]);
        loop {
            let more: Vec<i64> = self
                .members
                .iter()
                .filter(|(_, m)| out.contains(m))
                .map(|(r, _)| *r)
                .filter(|r| !out.contains(r))
                .collect();
            if more.is_empty() {
                return out;
            }
            out.extend(more);
        }
    }

    /// Whether `principal` may do `perm` on `on`: dbo and db_owner members
    /// may do anything; otherwise a grant on the securable, or on what
    /// contains it, of the permission or of CONTROL, and no DENY.
    pub fn allowed(&self, principal: i64, on: &On, perm: &str) -> bool {
        let ids = self.identities(principal);
        if principal == DBO || ids.contains(&DB_OWNER) {
            return true;
        }
        let perm = perm.to_ascii_uppercase();
        let mut scopes = vec![(on.clone(), perm.clone())];
        match on {
            On::Database => {}
            On::Schema(s) => {
                if self
                    .schema_by_id(*s)
                    .is_some_and(|x| ids.contains(&x.owner))
                {
                    return true;
                }
                scopes.push((On::Database, perm.clone()));
                if perm == "ALTER" {
                    scopes.push((On::Database, "ALTER ANY SCHEMA".into()));
                }
            }
            On::Role(_) => {
                if perm == "ALTER" {
                    scopes.push((On::Database, "ALTER ANY ROLE".into()));
                }
            }
            On::Object(s, _) => {
                if self
                    .schema_by_id(*s)
                    .is_some_and(|x| ids.contains(&x.owner))
                {
                    return true;
                }
                scopes.push((On::Schema(*s), perm.clone()));
                scopes.push((On::Database, perm.clone()));
            }
        }
        let denied = scopes
            .iter()
            .any(|(o, p)| self.has(&ids, o, p, State::Deny));
        if denied {
            return false;
        }
        scopes.iter().any(|(o, p)| {
            self.has(&ids, o, p, State::Grant) || self.has(&ids, o, "CONTROL", State::Grant)
        }) || self.has(&ids, &On::Database, "CONTROL", State::Grant)
    }

    fn has(&self, ids: &BTreeSet<i64>, on: &On, perm: &str, state: State) -> bool {
        self.permissions
            .iter()
            .any(|p| p.on == *on && p.name == perm && p.state == state && ids.contains(&p.grantee))
    }

    /// `fn_my_permissions(NULL, 'DATABASE')`: the database permissions held.
    pub fn my_database_permissions(&self, principal: i64) -> Vec<String> {
        DATABASE_PERMISSIONS
            .iter()
            .filter(|p| self.allowed(principal, &On::Database, p))
            .map(|p| (*p).to_owned())
            .collect()
    }

    /// What one database holds beyond its built-in objects, one sorted line
    /// each: principals, memberships, schemas, permissions, tables and rows.
    pub fn snapshot(&self) -> Vec<String> {
        let name = |id: i64| {
            self.principal_by_id(id)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("#{id}"))
        };
        let schema = |id: i64| {
            self.schema_by_id(id)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| format!("#{id}"))
        };
        let mut out = Vec::new();
        for p in self.principals.values().filter(|p| !p.built_in) {
            match &p.kind {
                PrincipalKind::User { login } => out.push(format!(
                    "{}: user {} login={}",
                    self.name,
                    p.name,
                    login.as_deref().unwrap_or("-")
                )),
                PrincipalKind::Role => out.push(format!("{}: role {}", self.name, p.name)),
            }
        }
        for (r, m) in &self.members {
            out.push(format!(
                "{}: member {} of {}",
                self.name,
                name(*m),
                name(*r)
            ));
        }
        for s in self.schemas.values().filter(|s| !s.built_in) {
            out.push(format!(
                "{}: schema {} owner={}",
                self.name,
                s.name,
                name(s.owner)
            ));
        }
        for p in &self.permissions {
            let on = match &p.on {
                On::Database => "DATABASE".to_owned(),
                On::Schema(s) => format!("SCHEMA::{}", schema(*s)),
                On::Role(r) => format!("ROLE::{}", name(*r)),
                On::Object(s, t) => format!("OBJECT::{}.{t}", schema(*s)),
            };
            out.push(format!(
                "{}: {:?} {} ON {on} TO {}",
                self.name,
                p.state,
                p.name,
                name(p.grantee)
            ));
        }
        for ((s, _), t) in &self.tables {
            out.push(format!(
                "{}: table {}.{} ({}) rows={:?}",
                self.name,
                schema(*s),
                t.name,
                t.columns.join(", "),
                t.rows
            ));
        }
        out
    }
}

/// The whole server.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub logins: BTreeMap<String, Login>,
    pub databases: BTreeMap<String, Database>,
}

impl Catalog {
    pub fn new(admin: &str, admin_password: &str, databases: &[&str]) -> Self {
        let mut c = Catalog {
            logins: BTreeMap::new(),
            databases: BTreeMap::new(),
        };
        c.logins.insert(
            key(admin),
            Login {
                name: admin.into(),
                password: admin_password.into(),
                admin: true,
            },
        );
        for d in std::iter::once(&"master").chain(databases) {
            c.databases.insert(key(d), Database::new(d));
        }
        c
    }

    /// Logins (not their passwords) and every database's own objects, sorted.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .logins
            .values()
            .map(|l| format!("login {} admin={}", l.name, l.admin))
            .collect();
        for d in self.databases.values() {
            out.extend(d.snapshot());
        }
        out.sort();
        out
    }
}
