//! SQL text: quoting, the action type that plans are made of, and the
//! statements of each object the set-up manages.
//!
//! Every name that comes from the configuration is written as a quoted
//! identifier ([`ident`]) or a string literal ([`literal`]); nothing from the
//! payload is pasted into SQL any other way.

/// Schemas the set-up creates in the managed database.
pub const SCHEMA_SYSTEM: &str = "IMMUTA_SYSTEM";
pub const SCHEMA_PROCEDURES: &str = "IMMUTA_PROCEDURES";
pub const SCHEMA_FUNCTIONS: &str = "IMMUTA_FUNCTIONS";
pub const SCHEMA_POLICIES: &str = "IMMUTA_POLICIES";
pub const SCHEMAS: [&str; 4] = [
    SCHEMA_SYSTEM,
    SCHEMA_PROCEDURES,
    SCHEMA_FUNCTIONS,
    SCHEMA_POLICIES,
];
/// The table in `IMMUTA_SYSTEM` that records the set-up version.
pub const VERSION_TABLE: &str = "BOOTSTRAP_VERSION";
/// Version 2's table in `IMMUTA_SYSTEM`: the roles table grants created.
pub const TABLE_GRANT_ROLES_TABLE: &str = "TABLE_GRANT_ROLES";

// Quoting is Snowflake's (backslash escapes in literals); a script's
// password stays `<SYSTEM_USER_PASSWORD>`, which is not SQL, so a script run
// without replacing it fails instead of setting a known password.
use junction_kit::sql::snowflake::action;
pub use junction_kit::sql::snowflake::{PASSWORD_PLACEHOLDER, ident, literal};

/// `"db"."schema"`.
pub fn schema_name(db: &str, schema: &str) -> String {
    format!("{}.{}", ident(db), ident(schema))
}

/// `"db"."schema"."name"`.
pub fn object_name(db: &str, schema: &str, name: &str) -> String {
    format!("{}.{}.{}", ident(db), ident(schema), ident(name))
}

pub fn version_table(db: &str) -> String {
    object_name(db, SCHEMA_SYSTEM, VERSION_TABLE)
}

/// One step's SQL: statements run in order in one session (Snowflake takes
/// one statement per request).
pub type SqlAction = junction_kit::SqlAction;

pub fn one(statement: impl Into<String>) -> SqlAction {
    action((), vec![statement.into()])
}

/// Statements of the objects the set-up manages.
pub mod sql {
    use super::*;

    fn if_exists(yes: bool) -> &'static str {
        if yes { "IF EXISTS " } else { "" }
    }

    pub fn create_database(db: &str) -> String {
        format!("CREATE DATABASE {}", ident(db))
    }
    pub fn drop_database(db: &str, ie: bool) -> String {
        format!("DROP DATABASE {}{}", if_exists(ie), ident(db))
    }
    pub fn create_schema(db: &str, schema: &str) -> String {
        format!("CREATE SCHEMA {}", schema_name(db, schema))
    }
    pub fn drop_schema(db: &str, schema: &str) -> String {
        format!("DROP SCHEMA {}", schema_name(db, schema))
    }
    pub fn create_role(role: &str) -> String {
        format!("CREATE ROLE {}", ident(role))
    }
    pub fn drop_role(role: &str, ie: bool) -> String {
        format!("DROP ROLE {}{}", if_exists(ie), ident(role))
    }
    pub fn rename_role(from: &str, to: &str) -> String {
        format!("ALTER ROLE {} RENAME TO {}", ident(from), ident(to))
    }
    pub fn create_user(user: &str, role: &str, warehouse: &str) -> String {
        format!(
            "CREATE USER {} PASSWORD = {PASSWORD_PLACEHOLDER} DEFAULT_ROLE = {} DEFAULT_WAREHOUSE = {} MUST_CHANGE_PASSWORD = FALSE",
            ident(user),
            ident(role),
            ident(warehouse)
        )
    }
    pub fn set_password(user: &str) -> String {
        format!(
            "ALTER USER {} SET PASSWORD = {PASSWORD_PLACEHOLDER}",
            ident(user)
        )
    }
    pub fn set_default_warehouse(user: &str, warehouse: &str) -> String {
        format!(
            "ALTER USER {} SET DEFAULT_WAREHOUSE = {}",
            ident(user),
            ident(warehouse)
        )
    }
    pub fn drop_user(user: &str, ie: bool) -> String {
        format!("DROP USER {}{}", if_exists(ie), ident(user))
    }
    pub fn grant_role_to_user(role: &str, user: &str) -> String {
        format!("GRANT ROLE {} TO USER {}", ident(role), ident(user))
    }
    pub fn revoke_role_from_user(role: &str, user: &str) -> String {
        format!("REVOKE ROLE {} FROM USER {}", ident(role), ident(user))
    }
    pub fn grant_role_to_role(role: &str, to: &str) -> String {
        format!("GRANT ROLE {} TO ROLE {}", ident(role), ident(to))
    }
    pub fn revoke_role_from_role(role: &str, from: &str) -> String {
        format!("REVOKE ROLE {} FROM ROLE {}", ident(role), ident(from))
    }
    pub fn grant_warehouse(warehouse: &str, role: &str) -> String {
        format!(
            "GRANT USAGE ON WAREHOUSE {} TO ROLE {}",
            ident(warehouse),
            ident(role)
        )
    }
    pub fn revoke_warehouse(warehouse: &str, role: &str) -> String {
        format!(
            "REVOKE USAGE ON WAREHOUSE {} FROM ROLE {}",
            ident(warehouse),
            ident(role)
        )
    }
    pub fn grant_database(db: &str, role: &str) -> String {
        format!(
            "GRANT ALL PRIVILEGES ON DATABASE {} TO ROLE {}",
            ident(db),
            ident(role)
        )
    }
    pub fn revoke_database(db: &str, role: &str) -> String {
        format!(
            "REVOKE ALL PRIVILEGES ON DATABASE {} FROM ROLE {}",
            ident(db),
            ident(role)
        )
    }
    pub fn grant_schema(db: &str, schema: &str, role: &str) -> String {
        format!(
            "GRANT ALL PRIVILEGES ON SCHEMA {} TO ROLE {}",
            schema_name(db, schema),
            ident(role)
        )
    }
    pub fn revoke_schema(db: &str, schema: &str, role: &str) -> String {
        format!(
            "REVOKE ALL PRIVILEGES ON SCHEMA {} FROM ROLE {}",
            schema_name(db, schema),
            ident(role)
        )
    }
    /// An account-level privilege (`APPLY MASKING POLICY`, …); the privilege
    /// text is ours, never the payload's.
    pub fn grant_on_account(privilege: &str, role: &str) -> String {
        format!("GRANT {privilege} ON ACCOUNT TO ROLE {}", ident(role))
    }
    pub fn revoke_on_account(privilege: &str, role: &str) -> String {
        format!("REVOKE {privilege} ON ACCOUNT FROM ROLE {}", ident(role))
    }
    /// Query audit reads `SNOWFLAKE.ACCOUNT_USAGE`.
    pub fn grant_audit(role: &str) -> String {
        format!(
            "GRANT IMPORTED PRIVILEGES ON DATABASE \"SNOWFLAKE\" TO ROLE {}",
            ident(role)
        )
    }
    pub fn revoke_audit(role: &str) -> String {
        format!(
            "REVOKE IMPORTED PRIVILEGES ON DATABASE \"SNOWFLAKE\" FROM ROLE {}",
            ident(role)
        )
    }
    pub fn create_version_table(db: &str) -> String {
        format!(
            "CREATE TABLE {} (VERSION INTEGER NOT NULL)",
            version_table(db)
        )
    }
    pub fn drop_table(db: &str, table: &str) -> String {
        format!("DROP TABLE {}", object_name(db, SCHEMA_SYSTEM, table))
    }
    pub fn grant_table(db: &str, table: &str, role: &str) -> String {
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {} TO ROLE {}",
            object_name(db, SCHEMA_SYSTEM, table),
            ident(role)
        )
    }
    pub fn revoke_table(db: &str, table: &str, role: &str) -> String {
        format!(
            "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE {} FROM ROLE {}",
            object_name(db, SCHEMA_SYSTEM, table),
            ident(role)
        )
    }
    pub fn insert_version(db: &str, v: u32) -> String {
        format!("INSERT INTO {} (VERSION) VALUES ({v})", version_table(db))
    }
    pub fn delete_version(db: &str, v: u32) -> String {
        format!("DELETE FROM {} WHERE VERSION = {v}", version_table(db))
    }
    pub fn update_version(db: &str, from: u32, to: u32) -> String {
        format!(
            "UPDATE {} SET VERSION = {to} WHERE VERSION = {from}",
            version_table(db)
        )
    }
    pub fn select_version(db: &str) -> String {
        format!("SELECT MAX(VERSION) FROM {}", version_table(db))
    }
    /// Version 2: the roles that table grants created, so that a prefix in
    /// use can be told apart from another instance's.
    pub fn create_table_grant_roles(db: &str) -> String {
        format!(
            "CREATE TABLE {} (ROLE_NAME VARCHAR NOT NULL, CREATED_AT TIMESTAMP_LTZ)",
            object_name(db, SCHEMA_SYSTEM, TABLE_GRANT_ROLES_TABLE)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use junction_core::{Action, Secret};

    #[test]
    fn rendering_never_shows_the_password() {
        let a = one(sql::create_user("u", "r", "w")).with_password(Secret::new("pa'ss".to_owned()));
        assert!(!a.render().contains("pa'ss"));
        assert!(!format!("{a:?}").contains("pa'ss"));
        assert!(a.executable()[0].contains("PASSWORD = 'pa''ss'"));
    }
}
