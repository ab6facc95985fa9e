//! T-SQL text: the action type plans are made of, and the statements of each
//! object the set-up manages.
//!
//! Every name from the configuration is a bracketed identifier
//! (`junction_kit::sql::tsql::ident`) or an `N'…'` literal; nothing from the
//! payload is pasted into SQL any other way. Passwords appear only as the
//! sqlcmd variable `'$(junction_password)'` in what is rendered; Junction
//! puts the quoted password in its place when it runs the action itself.

pub use crate::config::{SCHEMA_FUNCTIONS, SCHEMA_PROCEDURES, SCHEMA_SYSTEM, SYSTEM_SCHEMAS};
use junction_kit::SqlAction;
use junction_kit::sql::tsql::{self, PASSWORD_PLACEHOLDER, ident, literal};

/// The table in `immuta_system` that records the set-up version.
pub const VERSION_TABLE: &str = "bootstrap_version";

/// Which database an action runs in. Azure SQL has no `USE`: each target is
/// a connection of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `master`: the server's logins.
    Master,
    /// The configured database: users, roles, schemas, grants.
    Database,
}

/// One step's T-SQL and where it runs.
pub type TsqlAction = SqlAction<Target>;

pub fn master(statement: String) -> TsqlAction {
    tsql::action(Target::Master, vec![statement])
}

pub fn database(statement: String) -> TsqlAction {
    tsql::action(Target::Database, vec![statement])
}

/// `[schema].[name]`
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

pub fn version_table() -> String {
    qualified(SCHEMA_SYSTEM, VERSION_TABLE)
}

/// What the system user may do in the database: create what Junction keeps
/// in its schemas (tables, views, functions, procedures).
pub const DATABASE_GRANTS: &str = "CREATE TABLE, CREATE VIEW, CREATE FUNCTION, CREATE PROCEDURE";
/// What it may do in each of its schemas.
pub const SCHEMA_GRANTS: &str = "ALTER, SELECT, INSERT, UPDATE, DELETE, EXECUTE, REFERENCES";
/// Set-up version 2's table in `immuta_system`.
pub const AUDIT_CURSOR_TABLE: &str = "audit_cursor";

/// Statements of the objects the set-up manages; `sys` is the system user.
pub mod sql {
    use super::*;

    pub fn create_login(sys: &str) -> String {
        format!(
            "CREATE LOGIN {} WITH PASSWORD = {PASSWORD_PLACEHOLDER}",
            ident(sys)
        )
    }
    pub fn drop_login(sys: &str) -> String {
        format!("DROP LOGIN {}", ident(sys))
    }
    pub fn create_user(sys: &str) -> String {
        format!("CREATE USER {} FROM LOGIN {}", ident(sys), ident(sys))
    }
    pub fn drop_user(sys: &str) -> String {
        format!("DROP USER {}", ident(sys))
    }
    pub fn grant_database(sys: &str) -> String {
        format!("GRANT {DATABASE_GRANTS} TO {}", ident(sys))
    }
    pub fn revoke_database(sys: &str) -> String {
        format!("REVOKE {DATABASE_GRANTS} FROM {}", ident(sys))
    }
    pub fn create_schema(schema: &str) -> String {
        format!("CREATE SCHEMA {}", ident(schema))
    }
    pub fn drop_schema(schema: &str) -> String {
        format!("DROP SCHEMA {}", ident(schema))
    }
    pub fn grant_schema(perms: &str, schema: &str, sys: &str) -> String {
        format!(
            "GRANT {perms} ON SCHEMA::{} TO {}",
            ident(schema),
            ident(sys)
        )
    }
    pub fn revoke_schema(perms: &str, schema: &str, sys: &str) -> String {
        format!(
            "REVOKE {perms} ON SCHEMA::{} FROM {}",
            ident(schema),
            ident(sys)
        )
    }
    pub fn create_role(role: &str) -> String {
        format!("CREATE ROLE {}", ident(role))
    }
    pub fn drop_role(role: &str) -> String {
        format!("DROP ROLE {}", ident(role))
    }
    pub fn rename_role(from: &str, to: &str) -> String {
        format!("ALTER ROLE {} WITH NAME = {}", ident(from), ident(to))
    }
    /// The system user may add and remove the role's members (impersonation).
    pub fn grant_role_admin(role: &str, sys: &str) -> String {
        format!("GRANT ALTER ON ROLE::{} TO {}", ident(role), ident(sys))
    }
    pub fn revoke_role_admin(role: &str, sys: &str) -> String {
        format!("REVOKE ALTER ON ROLE::{} FROM {}", ident(role), ident(sys))
    }
    pub fn create_version_table() -> String {
        format!("CREATE TABLE {} (version int NOT NULL)", version_table())
    }
    pub fn drop_version_table() -> String {
        format!("DROP TABLE {}", version_table())
    }
    pub fn insert_version(v: u32) -> String {
        format!("INSERT INTO {} (version) VALUES ({v})", version_table())
    }
    pub fn delete_version(v: u32) -> String {
        format!("DELETE FROM {} WHERE version = {v}", version_table())
    }
    pub fn update_version(from: u32, to: u32) -> String {
        format!(
            "UPDATE {} SET version = {to} WHERE version = {from}",
            version_table()
        )
    }

    /// `statement` only when the catalog view `view` has a row named `name`:
    /// cleanup after a create that stopped half-way. (Synapse's dedicated
    /// pools have no `DROP … IF EXISTS`.)
    pub fn if_named(view: &str, name: &str, statement: String) -> String {
        format!(
            "IF EXISTS (SELECT 1 FROM {view} WHERE name = {}) {statement}",
            literal(name)
        )
    }
    pub fn create_audit_cursor() -> String {
        format!(
            "CREATE TABLE {} (position int NULL)",
            qualified(SCHEMA_SYSTEM, AUDIT_CURSOR_TABLE)
        )
    }
    pub fn drop_audit_cursor() -> String {
        format!(
            "DROP TABLE {}",
            qualified(SCHEMA_SYSTEM, AUDIT_CURSOR_TABLE)
        )
    }
    /// `DROP TABLE` of a table of `immuta_system` when it exists.
    pub fn drop_table_if_exists(table: &str) -> String {
        format!(
            "IF EXISTS (SELECT 1 FROM sys.tables WHERE name = {} AND schema_id = SCHEMA_ID({})) DROP TABLE {}",
            literal(table),
            literal(SCHEMA_SYSTEM),
            qualified(SCHEMA_SYSTEM, table)
        )
    }
}

/// A database name as written in a comment: bracketed.
pub fn qualified_db(database: &str) -> String {
    ident(database)
}

#[cfg(test)]
mod tests {
    use super::*;
    use junction_core::{Action, Secret};

    #[test]
    fn names_are_bracketed_and_passwords_stay_placeholders() {
        assert_eq!(
            sql::create_user("a]b"),
            "CREATE USER [a]]b] FROM LOGIN [a]]b]"
        );
        let a = master(sql::create_login("sys")).with_password(Secret::new("Pw'1".to_owned()));
        assert_eq!(
            a.render(),
            "CREATE LOGIN [sys] WITH PASSWORD = '$(junction_password)';"
        );
        assert_eq!(
            a.executable(),
            ["CREATE LOGIN [sys] WITH PASSWORD = N'Pw''1'"]
        );
        assert!(!format!("{a:?}").contains("Pw'1"));
        assert_eq!(
            sql::if_named("sys.schemas", "it's", sql::drop_schema("it's")),
            "IF EXISTS (SELECT 1 FROM sys.schemas WHERE name = N'it''s') DROP SCHEMA [it's]"
        );
    }
}
