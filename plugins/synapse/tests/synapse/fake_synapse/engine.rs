//! Runs parsed statements against the catalog as one session's user, with
//! SQL Server's permission checks and its error numbers and texts.

use super::catalog::{
    Catalog, DBO, Database, Login, On, Permission, Principal, PrincipalKind, Schema, State, Table,
    key,
};
use super::sql::{self, Cond, Expr, PermVerb, Securable, Select, Source, Stmt};
use super::wire::{ColType, Value};
use std::collections::BTreeMap;

/// Who runs the statements, and where.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: String,
    pub admin: bool,
    /// The current database's key.
    pub database: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub number: u32,
    pub class: u8,
    pub text: String,
}

fn error(number: u32, class: u8, text: impl Into<String>) -> SqlError {
    SqlError {
        number,
        class,
        text: text.into(),
    }
}

/// What one statement produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    Rows {
        columns: Vec<(String, ColType)>,
        rows: Vec<Vec<Value>>,
    },
    Done {
        count: Option<u64>,
    },
    Error(SqlError),
}

type Row = BTreeMap<String, Value>;
/// A result set: its columns and rows.
type ResultSet = (Vec<(String, ColType)>, Vec<Vec<Value>>);

/// Runs a batch: a syntax error stops it before anything runs; an error in
/// one statement ends that statement and the next ones still run, as SQL
/// Server does for statement-level errors.
pub fn run_batch(
    cat: &mut Catalog,
    s: &Session,
    sql: &str,
    params: &BTreeMap<String, Value>,
) -> Vec<Outcome> {
    let stmts = match sql::parse_batch(sql, params) {
        Ok(s) => s,
        Err(e) => {
            return vec![Outcome::Error(error(
                102,
                15,
                format!("Incorrect syntax near '{}'.", e.0),
            ))];
        }
    };
    for (i, st) in stmts.iter().enumerate() {
        if let (true, Some(what)) = (i > 0, st.must_be_first()) {
            return vec![Outcome::Error(error(
                111,
                15,
                format!("'{what}' must be the first statement in a query batch."),
            ))];
        }
    }
    let mut out = Vec::new();
    for st in &stmts {
        match exec(cat, s, st) {
            Ok(o) => out.push(o),
            Err(e) => out.push(Outcome::Error(e)),
        }
    }
    if out.is_empty() {
        out.push(Outcome::Done { count: None });
    }
    out
}

fn db<'a>(cat: &'a Catalog, s: &Session) -> Result<&'a Database, SqlError> {
    cat.databases.get(&s.database).ok_or_else(|| {
        error(
            911,
            16,
            format!("Database '{}' does not exist.", s.database),
        )
    })
}

fn db_mut<'a>(cat: &'a mut Catalog, s: &Session) -> Result<&'a mut Database, SqlError> {
    cat.databases.get_mut(&s.database).ok_or_else(|| {
        error(
            911,
            16,
            format!("Database '{}' does not exist.", s.database),
        )
    })
}

/// The session's principal in its database: dbo for the admin; -1 (nobody,
/// public only) for a login without a user there.
fn me(d: &Database, s: &Session) -> i64 {
    if s.admin {
        DBO
    } else {
        d.user_of(&s.login).map_or(-1, |p| p.id)
    }
}

const DONE: Result<Outcome, SqlError> = Ok(Outcome::Done { count: None });

fn no_permission() -> SqlError {
    error(
        15247,
        16,
        "User does not have permission to perform this action.",
    )
}

fn lit_str(e: &Expr) -> Result<String, SqlError> {
    match e {
        Expr::Lit(Value::Str(s)) => Ok(s.clone()),
        _ => Err(error(102, 15, "Incorrect syntax near 'PASSWORD'.")),
    }
}

fn exec(cat: &mut Catalog, s: &Session, st: &Stmt) -> Result<Outcome, SqlError> {
    match st {
        Stmt::Set => DONE,
        Stmt::Use { .. } => Err(error(
            40508,
            16,
            "USE statement is not supported to switch between databases. Use a new connection to connect to a different database.",
        )),
        Stmt::Select(q) => {
            let (columns, rows) = select(cat, s, q)?;
            Ok(Outcome::Rows { columns, rows })
        }
        Stmt::If {
            exists,
            query,
            then,
        } => {
            let (_, rows) = select(cat, s, query)?;
            if rows.is_empty() != *exists {
                exec(cat, s, then)
            } else {
                DONE
            }
        }
        Stmt::CreateLogin { name, password } => {
            if !s.admin {
                return Err(no_permission());
            }
            if cat.logins.contains_key(&key(name)) {
                return Err(error(
                    15025,
                    16,
                    format!("The server principal '{name}' already exists."),
                ));
            }
            let password = lit_str(password)?;
            cat.logins.insert(
                key(name),
                Login {
                    name: name.clone(),
                    password,
                    admin: false,
                },
            );
            DONE
        }
        Stmt::AlterLoginPassword { name, password } => {
            let password = lit_str(password)?;
            let missing = || {
                error(
                    15151,
                    16,
                    format!(
                        "Cannot alter the login '{name}', because it does not exist or you do not have permission."
                    ),
                )
            };
            if !s.admin {
                return Err(missing());
            }
            let l = cat.logins.get_mut(&key(name)).ok_or_else(missing)?;
            l.password = password;
            DONE
        }
        Stmt::DropLogin { name } => {
            let missing = || {
                error(
                    15151,
                    16,
                    format!(
                        "Cannot drop the login '{name}', because it does not exist or you do not have permission."
                    ),
                )
            };
            if !s.admin || !cat.logins.contains_key(&key(name)) {
                return Err(missing());
            }
            cat.logins.remove(&key(name));
            DONE
        }
        Stmt::CreateUser { name, login } => {
            let login = login.clone().unwrap_or_else(|| name.clone());
            if !cat.logins.contains_key(&key(&login)) {
                return Err(error(
                    15007,
                    16,
                    format!("'{login}' is not a valid login or you do not have permission."),
                ));
            }
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            if !d.allowed(who, &On::Database, "ALTER ANY USER") {
                return Err(no_permission());
            }
            if d.principal(name).is_some() {
                return Err(error(
                    15023,
                    16,
                    format!(
                        "User, group, or role '{name}' already exists in the current database."
                    ),
                ));
            }
            if d.user_of(&login).is_some() {
                return Err(error(
                    15063,
                    16,
                    "The login already has an account under a different user name.",
                ));
            }
            let id = d.next_id();
            d.principals.insert(
                key(name),
                Principal {
                    id,
                    name: name.clone(),
                    kind: PrincipalKind::User { login: Some(login) },
                    built_in: false,
                },
            );
            // A new user may connect: CREATE USER grants CONNECT.
            d.permissions.insert(Permission {
                on: On::Database,
                grantee: id,
                name: "CONNECT".into(),
                state: State::Grant,
            });
            DONE
        }
        Stmt::DropUser { name } => drop_principal(cat, s, name, false),
        Stmt::DropRole { name } => drop_principal(cat, s, name, true),
        Stmt::CreateRole { name } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            if !d.allowed(who, &On::Database, "CREATE ROLE") {
                return Err(no_permission());
            }
            if d.principal(name).is_some() {
                return Err(error(
                    15023,
                    16,
                    format!(
                        "User, group, or role '{name}' already exists in the current database."
                    ),
                ));
            }
            let id = d.next_id();
            d.principals.insert(
                key(name),
                Principal {
                    id,
                    name: name.clone(),
                    kind: PrincipalKind::Role,
                    built_in: false,
                },
            );
            DONE
        }
        Stmt::AlterRoleMember { role, member, add } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            let cannot = || {
                error(
                    15151,
                    16,
                    format!(
                        "Cannot alter the role '{role}', because it does not exist or you do not have permission."
                    ),
                )
            };
            let r = d
                .principal(role)
                .filter(|p| p.kind == PrincipalKind::Role)
                .map(|p| p.id)
                .ok_or_else(cannot)?;
            if !d.allowed(who, &On::Role(r), "ALTER") {
                return Err(cannot());
            }
            let m = d.principal(member).map(|p| p.id).ok_or_else(|| {
                error(15151, 16, format!("Cannot add the principal '{member}', because it does not exist or you do not have permission."))
            })?;
            if *add {
                d.members.insert((r, m));
            } else {
                d.members.remove(&(r, m));
            }
            DONE
        }
        Stmt::RenameRole { role, to } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            let cannot = || {
                error(
                    15151,
                    16,
                    format!(
                        "Cannot alter the role '{role}', because it does not exist or you do not have permission."
                    ),
                )
            };
            let p = d
                .principal(role)
                .filter(|p| p.kind == PrincipalKind::Role && !p.built_in)
                .cloned()
                .ok_or_else(cannot)?;
            if !d.allowed(who, &On::Role(p.id), "ALTER") {
                return Err(cannot());
            }
            if d.principal(to).is_some() {
                return Err(error(
                    15023,
                    16,
                    format!("User, group, or role '{to}' already exists in the current database."),
                ));
            }
            d.principals.remove(&key(role));
            d.principals.insert(
                key(to),
                Principal {
                    name: to.clone(),
                    ..p
                },
            );
            DONE
        }
        Stmt::CreateSchema { name, owner } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            if !d.allowed(who, &On::Database, "CREATE SCHEMA") {
                return Err(error(
                    262,
                    14,
                    format!("CREATE SCHEMA permission denied in database '{}'.", d.name),
                ));
            }
            if d.schema(name).is_some() {
                return Err(error(
                    2714,
                    16,
                    format!("There is already an object named '{name}' in the database."),
                ));
            }
            let owner = match owner {
                None => DBO,
                Some(o) => d.principal(o).map(|p| p.id).ok_or_else(|| {
                    error(15151, 16, format!("Cannot find the user '{o}', because it does not exist or you do not have permission."))
                })?,
            };
            let id = d.next_id();
            d.schemas.insert(
                key(name),
                Schema {
                    id,
                    name: name.clone(),
                    owner,
                    built_in: false,
                },
            );
            DONE
        }
        Stmt::DropSchema { name } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            let cannot = || {
                error(
                    3701,
                    11,
                    format!(
                        "Cannot drop the schema '{name}', because it does not exist or you do not have permission."
                    ),
                )
            };
            let sc = d
                .schema(name)
                .filter(|x| !x.built_in)
                .cloned()
                .ok_or_else(cannot)?;
            if !d.allowed(who, &On::Schema(sc.id), "CONTROL")
                && !d.allowed(who, &On::Database, "ALTER ANY SCHEMA")
            {
                return Err(cannot());
            }
            if let Some(((_, _), t)) = d.tables.iter().find(|((sid, _), _)| *sid == sc.id) {
                return Err(error(
                    3729,
                    16,
                    format!(
                        "Cannot drop schema '{name}' because it is being referenced by object '{}'.",
                        t.name
                    ),
                ));
            }
            d.schemas.remove(&key(name));
            d.permissions.retain(|p| p.on != On::Schema(sc.id));
            DONE
        }
        Stmt::Permission {
            verb,
            perms,
            on,
            to,
        } => permission(cat, s, *verb, perms, on, to),
        Stmt::CreateTable {
            schema,
            name,
            columns,
        } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            let sc = d.schema(schema).cloned().ok_or_else(|| {
                error(2760, 16, format!("The specified schema name \"{schema}\" either does not exist or you do not have permission to use it."))
            })?;
            if !d.allowed(who, &On::Database, "CREATE TABLE") {
                return Err(error(
                    262,
                    14,
                    format!("CREATE TABLE permission denied in database '{}'.", d.name),
                ));
            }
            if !d.allowed(who, &On::Schema(sc.id), "ALTER") {
                return Err(error(
                    2760,
                    16,
                    format!(
                        "The specified schema name \"{schema}\" either does not exist or you do not have permission to use it."
                    ),
                ));
            }
            if d.tables.contains_key(&(sc.id, key(name))) {
                return Err(error(
                    2714,
                    16,
                    format!("There is already an object named '{name}' in the database."),
                ));
            }
            d.tables.insert(
                (sc.id, key(name)),
                Table {
                    name: name.clone(),
                    columns: columns.iter().map(|c| key(c)).collect(),
                    rows: Vec::new(),
                },
            );
            DONE
        }
        Stmt::DropTable { schema, name } => {
            let d = db_mut(cat, s)?;
            let who = me(d, s);
            let cannot = || {
                error(
                    3701,
                    11,
                    format!(
                        "Cannot drop the table '{schema}.{name}', because it does not exist or you do not have permission."
                    ),
                )
            };
            let sid = d.schema(schema).map(|x| x.id).ok_or_else(cannot)?;
            if !d.tables.contains_key(&(sid, key(name)))
                || !d.allowed(who, &On::Schema(sid), "ALTER")
            {
                return Err(cannot());
            }
            d.tables.remove(&(sid, key(name)));
            d.permissions.retain(|p| p.on != On::Object(sid, key(name)));
            DONE
        }
        Stmt::Insert {
            schema,
            table,
            columns,
            values,
        } => {
            let values: Vec<Option<i64>> = values.iter().map(int_lit).collect::<Result<_, _>>()?;
            let (d, sid) = table_access(cat, s, schema, table, "INSERT")?;
            let t = d
                .tables
                .get_mut(&(sid, key(table)))
                .ok_or_else(|| invalid_object(schema, table))?;
            let mut row = vec![None; t.columns.len()];
            for (c, v) in columns.iter().zip(values) {
                let i = column_index(t, c)?;
                row[i] = v;
            }
            t.rows.push(row);
            Ok(Outcome::Done { count: Some(1) })
        }
        Stmt::Update {
            schema,
            table,
            column,
            value,
            conds,
        } => {
            let value = int_lit(value)?;
            let (d, sid) = table_access(cat, s, schema, table, "UPDATE")?;
            let t = d
                .tables
                .get_mut(&(sid, key(table)))
                .ok_or_else(|| invalid_object(schema, table))?;
            let i = column_index(t, column)?;
            let filter = row_filter(t, conds)?;
            let mut n = 0;
            for r in t.rows.iter_mut().filter(|r| filter(r)) {
                r[i] = value;
                n += 1;
            }
            Ok(Outcome::Done { count: Some(n) })
        }
        Stmt::Delete {
            schema,
            table,
            conds,
        } => {
            let (d, sid) = table_access(cat, s, schema, table, "DELETE")?;
            let t = d
                .tables
                .get_mut(&(sid, key(table)))
                .ok_or_else(|| invalid_object(schema, table))?;
            let filter = row_filter(t, conds)?;
            let before = t.rows.len();
            t.rows.retain(|r| !filter(r));
            Ok(Outcome::Done {
                count: Some((before - t.rows.len()) as u64),
            })
        }
    }
}

fn invalid_object(schema: &str, table: &str) -> SqlError {
    error(208, 16, format!("Invalid object name '{schema}.{table}'."))
}

fn int_lit(e: &Expr) -> Result<Option<i64>, SqlError> {
    match e {
        Expr::Lit(Value::Int(n)) => Ok(Some(*n)),
        Expr::Lit(Value::Null) => Ok(None),
        _ => Err(error(
            245,
            16,
            "Conversion failed: the fake's tables hold integers only.",
        )),
    }
}

fn column_index(t: &Table, c: &str) -> Result<usize, SqlError> {
    t.columns
        .iter()
        .position(|x| *x == key(c))
        .ok_or_else(|| error(207, 16, format!("Invalid column name '{c}'.")))
}

/// `col = n` conditions over a table's rows.
fn row_filter(
    t: &Table,
    conds: &[Cond],
) -> Result<impl Fn(&Vec<Option<i64>>) -> bool + use<>, SqlError> {
    let mut tests = Vec::new();
    for c in conds {
        let (Expr::Col(col), value) = (&c.left, &c.right) else {
            return Err(error(102, 15, "Incorrect syntax near 'WHERE'."));
        };
        tests.push((column_index(t, col)?, int_lit(value)?, c.equal));
    }
    Ok(move |r: &Vec<Option<i64>>| {
        tests
            .iter()
            .all(|(i, v, eq)| (r[*i] == *v && v.is_some()) == *eq)
    })
}

/// The database and schema id of a table the session may `perm`.
fn table_access<'a>(
    cat: &'a mut Catalog,
    s: &Session,
    schema: &str,
    table: &str,
    perm: &str,
) -> Result<(&'a mut Database, i64), SqlError> {
    let d = db_mut(cat, s)?;
    let who = me(d, s);
    let sid = d
        .schema(schema)
        .map(|x| x.id)
        .filter(|sid| d.tables.contains_key(&(*sid, key(table))))
        .ok_or_else(|| invalid_object(schema, table))?;
    if !d.allowed(who, &On::Object(sid, key(table)), perm) {
        let db_name = d.name.clone();
        return Err(error(
            229,
            14,
            format!(
                "The {perm} permission was denied on the object '{table}', database '{db_name}', schema '{schema}'."
            ),
        ));
    }
    Ok((d, sid))
}

fn drop_principal(
    cat: &mut Catalog,
    s: &Session,
    name: &str,
    role: bool,
) -> Result<Outcome, SqlError> {
    let d = db_mut(cat, s)?;
    let who = me(d, s);
    let what = if role { "role" } else { "user" };
    let cannot = || {
        error(
            15151,
            16,
            format!(
                "Cannot drop the {what} '{name}', because it does not exist or you do not have permission."
            ),
        )
    };
    let p = d
        .principal(name)
        .filter(|p| !p.built_in && (p.kind == PrincipalKind::Role) == role)
        .cloned()
        .ok_or_else(cannot)?;
    let perm = if role {
        "ALTER ANY ROLE"
    } else {
        "ALTER ANY USER"
    };
    if !d.allowed(who, &On::Database, perm) {
        return Err(cannot());
    }
    if d.schemas.values().any(|x| x.owner == p.id) {
        return Err(error(
            15138,
            16,
            "The database principal owns a schema in the database, and cannot be dropped.",
        ));
    }
    if role && d.members.iter().any(|(r, _)| *r == p.id) {
        return Err(error(
            15144,
            16,
            "The role has members. It must be empty before it can be dropped.",
        ));
    }
    d.principals.remove(&key(name));
    // Its permissions and memberships go with it.
    d.members.retain(|(r, m)| *r != p.id && *m != p.id);
    d.permissions
        .retain(|x| x.grantee != p.id && x.on != On::Role(p.id));
    DONE
}

fn permission(
    cat: &mut Catalog,
    s: &Session,
    verb: PermVerb,
    perms: &[String],
    on: &Securable,
    to: &[String],
) -> Result<Outcome, SqlError> {
    let d = db_mut(cat, s)?;
    let who = me(d, s);
    let on = match on {
        Securable::Database => On::Database,
        Securable::Schema(n) => On::Schema(d.schema(n).map(|x| x.id).ok_or_else(|| {
            error(15151, 16, format!("Cannot find the schema '{n}', because it does not exist or you do not have permission."))
        })?),
        Securable::Role(n) => On::Role(
            d.principal(n)
                .filter(|p| p.kind == PrincipalKind::Role)
                .map(|p| p.id)
                .ok_or_else(|| error(15151, 16, format!("Cannot find the role '{n}', because it does not exist or you do not have permission.")))?,
        ),
        Securable::Object(sc, t) => {
            let sid = d
                .schema(sc)
                .map(|x| x.id)
                .filter(|sid| d.tables.contains_key(&(*sid, key(t))))
                .ok_or_else(|| error(15151, 16, format!("Cannot find the object '{t}', because it does not exist or you do not have permission.")))?;
            On::Object(sid, key(t))
        }
    };
    // Only who holds CONTROL over the securable may grant on it here (the
    // fake has no WITH GRANT OPTION).
    if !d.allowed(who, &on, "CONTROL") {
        return Err(error(4613, 16, "Grantor does not have GRANT permission."));
    }
    let mut grantees = Vec::new();
    for t in to {
        grantees.push(d.principal(t).map(|p| p.id).ok_or_else(|| {
            error(15151, 16, format!("Cannot find the user '{t}', because it does not exist or you do not have permission."))
        })?);
    }
    for g in grantees {
        for p in perms {
            let mk = |state| Permission {
                on: on.clone(),
                grantee: g,
                name: p.clone(),
                state,
            };
            match verb {
                PermVerb::Grant => {
                    d.permissions.remove(&mk(State::Deny));
                    d.permissions.insert(mk(State::Grant));
                }
                PermVerb::Deny => {
                    d.permissions.remove(&mk(State::Grant));
                    d.permissions.insert(mk(State::Deny));
                }
                PermVerb::Revoke => {
                    d.permissions.remove(&mk(State::Grant));
                    d.permissions.remove(&mk(State::Deny));
                }
            }
        }
    }
    DONE
}

/// The rows of a FROM source, as column → value maps.
fn source_rows(cat: &Catalog, s: &Session, src: &Source) -> Result<Vec<Row>, SqlError> {
    let d = db(cat, s)?;
    let row = |pairs: Vec<(&str, Value)>| -> Row {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    let str = |x: &str| Value::Str(x.to_owned());
    Ok(match src {
        Source::View(v) => match v.as_str() {
            "sys.schemas" => d
                .schemas
                .values()
                .map(|x| {
                    row(vec![
                        ("name", str(&x.name)),
                        ("schema_id", Value::Int(x.id)),
                        ("principal_id", Value::Int(x.owner)),
                    ])
                })
                .collect(),
            "sys.database_principals" => d
                .principals
                .values()
                .map(|p| {
                    let (t, desc) = match p.kind {
                        PrincipalKind::Role => ("R", "DATABASE_ROLE"),
                        PrincipalKind::User { .. } => ("S", "SQL_USER"),
                    };
                    row(vec![
                        ("name", str(&p.name)),
                        ("principal_id", Value::Int(p.id)),
                        ("type", str(t)),
                        ("type_desc", str(desc)),
                    ])
                })
                .collect(),
            "sys.database_role_members" => d
                .members
                .iter()
                .map(|(r, m)| {
                    row(vec![
                        ("role_principal_id", Value::Int(*r)),
                        ("member_principal_id", Value::Int(*m)),
                    ])
                })
                .collect(),
            "sys.sql_logins" | "sys.server_principals" => cat
                .logins
                .values()
                .map(|l| {
                    row(vec![
                        ("name", str(&l.name)),
                        ("type", str("S")),
                        ("type_desc", str("SQL_LOGIN")),
                    ])
                })
                .collect(),
            "sys.tables" => d
                .tables
                .iter()
                .map(|((sid, _), t)| {
                    row(vec![
                        ("name", str(&t.name)),
                        ("schema_id", Value::Int(*sid)),
                    ])
                })
                .collect(),
            other => return Err(error(208, 16, format!("Invalid object name '{other}'."))),
        },
        Source::MyPermissions(sec, class) => {
            let class = eval(cat, s, &Row::new(), class)?;
            let sec = eval(cat, s, &Row::new(), sec)?;
            let who = me(d, s);
            match (class, sec) {
                (Value::Str(c), Value::Null) if c.eq_ignore_ascii_case("DATABASE") => d
                    .my_database_permissions(who)
                    .into_iter()
                    .map(|p| {
                        row(vec![
                            ("entity_name", str("database")),
                            ("subentity_name", str("")),
                            ("permission_name", Value::Str(p)),
                        ])
                    })
                    .collect(),
                _ => {
                    return Err(error(
                        102,
                        15,
                        "Incorrect syntax near 'fn_my_permissions': the fake answers (NULL, 'DATABASE') only.",
                    ));
                }
            }
        }
        Source::Table(schema, table) => {
            let who = me(d, s);
            let sid = d
                .schema(schema)
                .map(|x| x.id)
                .filter(|sid| d.tables.contains_key(&(*sid, key(table))))
                .ok_or_else(|| invalid_object(schema, table))?;
            if !d.allowed(who, &On::Object(sid, key(table)), "SELECT") {
                return Err(error(
                    229,
                    14,
                    format!(
                        "The SELECT permission was denied on the object '{table}', database '{}', schema '{schema}'.",
                        d.name
                    ),
                ));
            }
            let t = &d.tables[&(sid, key(table))];
            t.rows
                .iter()
                .map(|r| {
                    t.columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| (c.clone(), v.map_or(Value::Null, Value::Int)))
                        .collect()
                })
                .collect()
        }
    })
}

fn eval(cat: &Catalog, s: &Session, r: &Row, e: &Expr) -> Result<Value, SqlError> {
    let d = db(cat, s)?;
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Col(c) => r
            .get(c)
            .cloned()
            .ok_or_else(|| error(207, 16, format!("Invalid column name '{c}'.")))?,
        Expr::CountStar => return Err(error(102, 15, "Incorrect syntax near 'COUNT'.")),
        Expr::Func(f, args) => {
            let a: Vec<Value> = args
                .iter()
                .map(|x| eval(cat, s, r, x))
                .collect::<Result<_, _>>()?;
            let text = |i: usize| match a.get(i) {
                Some(Value::Str(x)) => Some(x.clone()),
                _ => None,
            };
            match f.as_str() {
                "@@VERSION" => {
                    Value::Str("Microsoft SQL Server 2022 (fake_synapse, a test server)".into())
                }
                "DB_NAME" => Value::Str(d.name.clone()),
                "SUSER_SNAME" | "SYSTEM_USER" => Value::Str(s.login.clone()),
                "USER_NAME" => d
                    .principal_by_id(me(d, s))
                    .map_or(Value::Null, |p| Value::Str(p.name.clone())),
                "SCHEMA_ID" => text(0)
                    .and_then(|n| d.schema(&n).map(|x| Value::Int(x.id)))
                    .unwrap_or(Value::Null),
                "SCHEMA_NAME" => match a.first() {
                    Some(Value::Int(id)) => d
                        .schema_by_id(*id)
                        .map_or(Value::Null, |x| Value::Str(x.name.clone())),
                    _ => Value::Null,
                },
                "DATABASE_PRINCIPAL_ID" => text(0)
                    .and_then(|n| d.principal(&n).map(|p| Value::Int(p.id)))
                    .unwrap_or(Value::Null),
                "HAS_PERMS_BY_NAME" => has_perms_by_name(d, me(d, s), a.first(), text(1), text(2))?,
                "MAX" | "MIN" => {
                    return Err(error(8120, 16, format!("{f} outside an aggregate select.")));
                }
                other => {
                    return Err(error(
                        195,
                        15,
                        format!("'{other}' is not a recognized built-in function name."),
                    ));
                }
            }
        }
    })
}

/// `HAS_PERMS_BY_NAME(securable, class, permission)`: 1 or 0, NULL when the
/// securable does not exist (as SQL Server answers).
fn has_perms_by_name(
    d: &Database,
    who: i64,
    securable: Option<&Value>,
    class: Option<String>,
    perm: Option<String>,
) -> Result<Value, SqlError> {
    let perm = perm.ok_or_else(|| error(102, 15, "Incorrect syntax near 'HAS_PERMS_BY_NAME'."))?;
    let class = class
        .unwrap_or_else(|| "DATABASE".into())
        .to_ascii_uppercase();
    let on = match (class.as_str(), securable) {
        ("DATABASE", _) => On::Database,
        ("SCHEMA", Some(Value::Str(n))) => match d.schema(n) {
            Some(x) => On::Schema(x.id),
            None => return Ok(Value::Null),
        },
        ("OBJECT", Some(Value::Str(n))) => {
            let (sc, t) = n.split_once('.').unwrap_or(("dbo", n));
            let strip = |x: &str| x.trim_matches(|c| c == '[' || c == ']').to_owned();
            let (sc, t) = (strip(sc), strip(t));
            match d
                .schema(&sc)
                .filter(|x| d.tables.contains_key(&(x.id, key(&t))))
            {
                Some(x) => On::Object(x.id, key(&t)),
                None => return Ok(Value::Null),
            }
        }
        _ => return Ok(Value::Null),
    };
    Ok(Value::Int(i64::from(d.allowed(who, &on, &perm))))
}

fn select(cat: &Catalog, s: &Session, q: &Select) -> Result<ResultSet, SqlError> {
    let rows = match &q.from {
        None => vec![Row::new()],
        Some(src) => source_rows(cat, s, src)?,
    };
    let mut kept = Vec::new();
    for r in rows {
        let mut ok = true;
        for c in &q.conds {
            let (l, rt) = (eval(cat, s, &r, &c.left)?, eval(cat, s, &r, &c.right)?);
            let eq = match (&l, &rt) {
                (Value::Str(a), Value::Str(b)) => key(a) == key(b),
                (Value::Null, _) | (_, Value::Null) => {
                    ok = false;
                    break;
                }
                (a, b) => a == b,
            };
            if eq != c.equal {
                ok = false;
                break;
            }
        }
        if ok {
            kept.push(r);
        }
    }
    let aggregate = q.items.iter().any(|(e, _)| {
        matches!(e, Expr::CountStar) || matches!(e, Expr::Func(f, _) if f == "MAX" || f == "MIN")
    });
    let names: Vec<String> = q
        .items
        .iter()
        .map(|(e, alias)| match (alias, e) {
            (Some(a), _) => a.clone(),
            (None, Expr::Col(c)) => c.clone(),
            _ => String::new(),
        })
        .collect();
    let out_rows: Vec<Vec<Value>> = if aggregate {
        let mut row = Vec::new();
        for (e, _) in &q.items {
            row.push(match e {
                Expr::CountStar => Value::Int(kept.len() as i64),
                Expr::Func(f, args) if (f == "MAX" || f == "MIN") && args.len() == 1 => {
                    let vals: Vec<Value> = kept
                        .iter()
                        .map(|r| eval(cat, s, r, &args[0]))
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .filter(|v| *v != Value::Null)
                        .collect();
                    let pick = if f == "MAX" {
                        vals.into_iter().max()
                    } else {
                        vals.into_iter().min()
                    };
                    pick.unwrap_or(Value::Null)
                }
                other => eval(cat, s, &Row::new(), other)?,
            });
        }
        vec![row]
    } else {
        kept.iter()
            .map(|r| q.items.iter().map(|(e, _)| eval(cat, s, r, e)).collect())
            .collect::<Result<_, _>>()?
    };
    let types: Vec<ColType> = q
        .items
        .iter()
        .enumerate()
        .map(|(i, (e, _))| {
            out_rows
                .iter()
                .map(|r| &r[i])
                .find(|v| **v != Value::Null)
                .map(Value::col_type)
                .unwrap_or_else(|| static_type(e))
        })
        .collect();
    Ok((names.into_iter().zip(types).collect(), out_rows))
}

/// A column's type when no row shows it.
fn static_type(e: &Expr) -> ColType {
    match e {
        Expr::Lit(Value::Str(_)) => ColType::NVarChar,
        Expr::Col(c) if c.ends_with("_id") || c == "version" => ColType::Int,
        Expr::Col(_) => ColType::NVarChar,
        Expr::Func(f, _)
            if matches!(
                f.as_str(),
                "DB_NAME"
                    | "SUSER_SNAME"
                    | "USER_NAME"
                    | "SCHEMA_NAME"
                    | "@@VERSION"
                    | "SYSTEM_USER"
            ) =>
        {
            ColType::NVarChar
        }
        _ => ColType::Int,
    }
}
