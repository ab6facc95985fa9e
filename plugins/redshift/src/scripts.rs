//! SQL text: quoting, the action type that plans are made of, and the
//! statements of each object the set-up manages.
//!
//! Every name that comes from the configuration is written as a quoted
//! identifier ([`ident`]) or a literal ([`literal`]); nothing from the payload
//! is pasted into SQL any other way.
//!
//! The SQL is PostgreSQL's, which the stand-in runs. Where Redshift spells a
//! statement differently, the README says so.

/// Schemas the set-up creates in the managed database.
pub const SCHEMA_SYSTEM: &str = "immuta_system";
pub const SCHEMA_FUNCTIONS: &str = "immuta_functions";
pub const SCHEMA_PROCEDURES: &str = "immuta_procedures";
pub const SCHEMAS: [&str; 3] = [SCHEMA_SYSTEM, SCHEMA_FUNCTIONS, SCHEMA_PROCEDURES];
/// The table in `immuta_system` that records the set-up version.
pub const VERSION_TABLE: &str = "bootstrap_version";
pub const GRANT_PROCEDURE: &str = "grant_impersonation";
pub const REVOKE_PROCEDURE: &str = "revoke_impersonation";

// Redshift speaks PostgreSQL's SQL (quoting, literals, psql's variables):
// a script's password stays psql's `:'junction_password'`, filled from
// `-v junction_password=…`, so a script run without it fails instead of
// setting a known password.
use junction_kit::sql::postgres::action;
pub use junction_kit::sql::postgres::{PASSWORD_PLACEHOLDER, ident, literal};

/// `schema.name`, both quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

pub fn version_table() -> String {
    qualified(SCHEMA_SYSTEM, VERSION_TABLE)
}

/// `$tag$body$tag$` with a tag that does not occur in the body.
fn dollar_quote(body: &str) -> String {
    let mut tag = "$body$".to_owned();
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag = format!("$body{n}$");
    }
    format!("{tag}{body}{tag}")
}

/// Which database an action runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The existing database named by `initialDatabase` (creating and dropping
    /// the managed database, and cluster-wide roles).
    Initial,
    /// The managed database named by `database`.
    Managed,
}

/// One step's SQL: statements run together in one database.
pub type SqlAction = junction_kit::SqlAction<Target>;

/// An action in the initial database.
pub fn initial(statement: impl Into<String>) -> SqlAction {
    action(Target::Initial, vec![statement.into()])
}

/// An action in the managed database.
pub fn managed(statements: Vec<String>) -> SqlAction {
    action(Target::Managed, statements)
}

/// Statements of the objects the set-up manages; `sys` is the system user.
pub mod sql {
    use super::*;

    pub fn create_database(db: &str) -> String {
        format!("CREATE DATABASE {}", ident(db))
    }
    pub fn drop_database(db: &str, if_exists: bool) -> String {
        let ie = if if_exists { "IF EXISTS " } else { "" };
        format!("DROP DATABASE {ie}{}", ident(db))
    }
    pub fn create_user(sys: &str) -> String {
        format!("CREATE USER {} PASSWORD {PASSWORD_PLACEHOLDER}", ident(sys))
    }
    pub fn set_password(sys: &str) -> String {
        format!("ALTER USER {} PASSWORD {PASSWORD_PLACEHOLDER}", ident(sys))
    }
    pub fn drop_role(role: &str, if_exists: bool) -> String {
        let ie = if if_exists { "IF EXISTS " } else { "" };
        format!("DROP ROLE {ie}{}", ident(role))
    }
    const DATABASE_PRIVILEGES: &str = "CONNECT, CREATE, TEMPORARY";
    pub fn grant_database(db: &str, sys: &str) -> String {
        format!(
            "GRANT {DATABASE_PRIVILEGES} ON DATABASE {} TO {}",
            ident(db),
            ident(sys)
        )
    }
    pub fn revoke_database(db: &str, sys: &str) -> String {
        format!(
            "REVOKE {DATABASE_PRIVILEGES} ON DATABASE {} FROM {}",
            ident(db),
            ident(sys)
        )
    }
    pub fn create_role(role: &str) -> String {
        format!("CREATE ROLE {}", ident(role))
    }
    pub fn rename_role(from: &str, to: &str) -> String {
        format!("ALTER ROLE {} RENAME TO {}", ident(from), ident(to))
    }
    /// The system user may hand the impersonation role on (its procedures do).
    pub fn grant_role_admin(role: &str, sys: &str) -> String {
        format!("GRANT {} TO {} WITH ADMIN OPTION", ident(role), ident(sys))
    }
    pub fn revoke_role(role: &str, sys: &str) -> String {
        format!("REVOKE {} FROM {}", ident(role), ident(sys))
    }
    /// The system user owns its schema, so that it can manage what is in it
    /// (and migrations, which run as the system user, can replace procedures).
    pub fn create_schema(schema: &str, sys: &str) -> Vec<String> {
        vec![format!(
            "CREATE SCHEMA {} AUTHORIZATION {}",
            ident(schema),
            ident(sys)
        )]
    }
    pub fn drop_schema(schema: &str) -> Vec<String> {
        vec![format!("DROP SCHEMA {}", ident(schema))]
    }
    pub fn create_version_table(sys: &str) -> Vec<String> {
        let t = version_table();
        vec![
            format!("CREATE TABLE {t} (version integer NOT NULL)"),
            format!("ALTER TABLE {t} OWNER TO {}", ident(sys)),
        ]
    }
    pub fn drop_version_table() -> Vec<String> {
        vec![format!("DROP TABLE {}", version_table())]
    }
    pub fn insert_version(v: u32) -> Vec<String> {
        vec![format!(
            "INSERT INTO {} (version) VALUES ({v})",
            version_table()
        )]
    }
    pub fn delete_version(v: u32) -> Vec<String> {
        vec![format!(
            "DELETE FROM {} WHERE version = {v}",
            version_table()
        )]
    }
    pub fn update_version(from: u32, to: u32) -> Vec<String> {
        vec![format!(
            "UPDATE {} SET version = {to} WHERE version = {from}",
            version_table()
        )]
    }

    /// Which impersonation procedure.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Procedure {
        Grant,
        Revoke,
    }

    impl Procedure {
        pub const BOTH: [Procedure; 2] = [Procedure::Grant, Procedure::Revoke];
        pub fn name(self) -> &'static str {
            match self {
                Procedure::Grant => GRANT_PROCEDURE,
                Procedure::Revoke => REVOKE_PROCEDURE,
            }
        }
        /// Step-id fragment: `grant-procedure`.
        pub fn id(self) -> &'static str {
            match self {
                Procedure::Grant => "grant-procedure",
                Procedure::Revoke => "revoke-procedure",
            }
        }
    }

    /// The procedure's body at a set-up version. Version 2 checks that the
    /// user exists and says so plainly, where version 1 let `GRANT` fail with
    /// the server's message.
    fn procedure_body(p: Procedure, role: &str, version: u32) -> String {
        // quote_ident and || rather than format(): Redshift has no format().
        let (verb, preposition) = match p {
            Procedure::Grant => ("GRANT ", " TO "),
            Procedure::Revoke => ("REVOKE ", " FROM "),
        };
        let run = format!(
            "  EXECUTE {} || pg_catalog.quote_ident({}) || {} || pg_catalog.quote_ident(username);\n",
            literal(verb),
            literal(role),
            literal(preposition)
        );
        let check = if version >= 2 {
            "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = username) THEN\n    RAISE EXCEPTION 'no user named %', username;\n  END IF;\n"
        } else {
            ""
        };
        format!("\nBEGIN\n{check}{run}END;\n")
    }

    /// `CREATE OR REPLACE` keeps the owner and the privileges of an existing
    /// procedure, so the same statements create it and replace its body. A
    /// fixed `search_path`, as for every `SECURITY DEFINER` routine: nothing a
    /// caller puts on its path can stand in for what the body calls.
    pub fn create_procedure(p: Procedure, role: &str, sys: &str, version: u32) -> Vec<String> {
        let name = qualified(SCHEMA_PROCEDURES, p.name());
        vec![
            format!(
                "CREATE OR REPLACE PROCEDURE {name}(username text)\nLANGUAGE plpgsql SECURITY DEFINER\nSET search_path = pg_catalog, pg_temp\nAS {}",
                dollar_quote(&procedure_body(p, role, version))
            ),
            format!("ALTER PROCEDURE {name}(text) OWNER TO {}", ident(sys)),
            // A SECURITY DEFINER procedure must not be callable by everyone.
            format!("REVOKE ALL ON PROCEDURE {name}(text) FROM PUBLIC"),
        ]
    }

    pub fn replace_procedure(p: Procedure, role: &str, version: u32) -> Vec<String> {
        let name = qualified(SCHEMA_PROCEDURES, p.name());
        vec![format!(
            "CREATE OR REPLACE PROCEDURE {name}(username text)\nLANGUAGE plpgsql SECURITY DEFINER\nSET search_path = pg_catalog, pg_temp\nAS {}",
            dollar_quote(&procedure_body(p, role, version))
        )]
    }

    pub fn drop_procedure(p: Procedure) -> Vec<String> {
        vec![format!(
            "DROP PROCEDURE {}(text)",
            qualified(SCHEMA_PROCEDURES, p.name())
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use junction_core::{Action, Secret};

    #[test]
    fn dollar_quote_avoids_its_tag() {
        assert_eq!(dollar_quote("x"), "$body$x$body$");
        assert_eq!(dollar_quote("$body$"), "$body1$$body$$body1$");
    }

    #[test]
    fn rendering_never_shows_the_password() {
        let a = initial(sql::create_user("u")).with_password(Secret::new("pa'ss".to_owned()));
        assert!(!a.render().contains("pa'ss"));
        assert!(!format!("{a:?}").contains("pa'ss"));
        assert_eq!(a.executable(), ["CREATE USER \"u\" PASSWORD 'pa''ss'"]);
    }
}
