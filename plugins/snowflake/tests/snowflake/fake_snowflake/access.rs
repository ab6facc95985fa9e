//! The fake's access control, after Snowflake's model: every object has an
//! owner role; a session acts with its current role and every role granted
//! to it (transitively); what a session may see (`SHOW DATABASES`,
//! `SHOW WAREHOUSES`, `USE WAREHOUSE`) and do (create, drop, grant) follows
//! from ownership, grants, and the account privileges of the system roles.
//! Roles themselves are listed to everyone, as `SHOW ROLES` does.

use super::{State, q};
use std::collections::BTreeSet;

/// Privileges a GRANT may name (anything else is a compile error, as on Snowflake).
const PRIVILEGES: &[&str] = &[
    "ALL PRIVILEGES",
    "ALL",
    "USAGE",
    "OWNERSHIP",
    "MONITOR",
    "OPERATE",
    "MODIFY",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "CREATE SCHEMA",
    "CREATE TABLE",
    "CREATE VIEW",
    "CREATE DATABASE",
    "CREATE ROLE",
    "CREATE USER",
    "CREATE WAREHOUSE",
    "MANAGE GRANTS",
    "APPLY MASKING POLICY",
    "APPLY ROW ACCESS POLICY",
    "APPLY TAG",
    "IMPORTED PRIVILEGES",
];

/// The account privileges each system role holds by itself.
fn system_privileges(role: &str) -> &'static [&'static str] {
    match role {
        "ACCOUNTADMIN" => &[
            "CREATE DATABASE",
            "CREATE ROLE",
            "CREATE USER",
            "CREATE WAREHOUSE",
            "MANAGE GRANTS",
            "APPLY MASKING POLICY",
            "APPLY ROW ACCESS POLICY",
            "APPLY TAG",
        ],
        "SYSADMIN" => &["CREATE DATABASE", "CREATE WAREHOUSE"],
        "SECURITYADMIN" => &["MANAGE GRANTS", "CREATE ROLE", "CREATE USER"],
        "USERADMIN" => &["CREATE ROLE", "CREATE USER"],
        _ => &[],
    }
}

/// The current role and every role granted to it, transitively.
pub fn active_roles(st: &State, current: Option<&str>) -> BTreeSet<String> {
    let mut roles = BTreeSet::new();
    let mut todo: Vec<String> = current.map(str::to_owned).into_iter().collect();
    while let Some(r) = todo.pop() {
        if !roles.insert(r.clone()) {
            continue;
        }
        let to = format!(" TO ROLE {}", q(&r));
        for g in st.grants.iter().filter(|g| g.ends_with(&to)) {
            if let Some(granted) = g.trim_end_matches(&to).strip_prefix("ROLE ") {
                todo.push(granted.trim_matches('"').replace("\"\"", "\""));
            }
        }
    }
    roles
}

/// Whether one of `roles` holds `privilege` on the account.
pub fn holds(st: &State, roles: &BTreeSet<String>, privilege: &str) -> bool {
    roles.iter().any(|r| {
        system_privileges(r).contains(&privilege)
            || st
                .grants
                .contains(&format!("{privilege} ON ACCOUNT TO ROLE {}", q(r)))
    })
}

/// Whether one of `roles` owns the object (`database "X"`, …).
pub fn owns(st: &State, roles: &BTreeSet<String>, object: &str) -> bool {
    st.owners.get(object).is_some_and(|o| roles.contains(o))
}

/// Whether one of `roles` owns the object or holds any privilege on it:
/// what makes it visible.
pub fn sees(st: &State, roles: &BTreeSet<String>, object: &str) -> bool {
    if owns(st, roles, object) {
        return true;
    }
    let Some((kind, full)) = object.split_once(' ') else {
        return false;
    };
    let on = format!(" ON {} {full} TO ROLE ", kind.to_ascii_uppercase());
    st.grants.iter().any(|g| {
        g.find(&on).is_some_and(|i| {
            let grantee = &g[i + on.len()..];
            roles.contains(&grantee.trim_matches('"').replace("\"\"", "\""))
        })
    })
}

/// Whether one of `roles` may create in the object (its owner, or a holder of
/// ALL PRIVILEGES or the CREATE privilege on it).
pub fn may_create_in(st: &State, roles: &BTreeSet<String>, object: &str, create: &str) -> bool {
    if owns(st, roles, object) {
        return true;
    }
    let Some((kind, full)) = object.split_once(' ') else {
        return false;
    };
    roles.iter().any(|r| {
        ["ALL PRIVILEGES", create].iter().any(|p| {
            st.grants.contains(&format!(
                "{p} ON {} {full} TO ROLE {}",
                kind.to_ascii_uppercase(),
                q(r)
            ))
        })
    })
}

/// The privileges of a GRANT's text (before ` ON `), each one Snowflake knows.
pub fn check_privileges(what: &str) -> Result<(), String> {
    let privileges = what.split(" ON ").next().unwrap_or(what);
    for p in privileges.split(", ") {
        if !PRIVILEGES.contains(&p.trim()) {
            return Err(format!("invalid privilege '{p}'"));
        }
    }
    Ok(())
}

/// Snowflake's access-control error.
pub fn denied(what: &str) -> (&'static str, String) {
    (
        "003001",
        format!("SQL access control error: Insufficient privileges to operate on {what}."),
    )
}
