//! SQL text for the SQL platforms: quoting per dialect, the password
//! placeholder of manual scripts, and [`SqlAction`], the action their plans
//! are made of.
//!
//! Every name that comes from a configuration is written as a quoted
//! identifier ([`Dialect::ident`]) or a literal ([`Dialect::literal`]);
//! nothing from a payload is pasted into SQL any other way.

use junction_core::{Action, Secret};

/// A SQL dialect's quoting rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL and Redshift (which speaks its wire protocol).
    Postgres,
    Snowflake,
    /// SQL Server and Azure Synapse.
    TSql,
}

impl Dialect {
    /// A quoted identifier, safe for any name without NUL: `"name"` with
    /// quotes doubled (PostgreSQL, Snowflake), `[name]` with `]` doubled (T-SQL).
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::Postgres | Dialect::Snowflake => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::TSql => format!("[{}]", name.replace(']', "]]")),
        }
    }

    /// A string literal that means `text` whatever the session's settings:
    /// - PostgreSQL: `'…'` with quotes doubled; `E'…'` with backslashes doubled
    ///   when there are any (so `standard_conforming_strings` does not matter);
    /// - Snowflake: backslashes escaped (it reads escapes in `'…'`), quotes doubled;
    /// - T-SQL: `N'…'` (Unicode) with quotes doubled.
    pub fn literal(self, text: &str) -> String {
        let quoted = text.replace('\'', "''");
        match self {
            Dialect::Postgres if text.contains('\\') => {
                format!("E'{}'", quoted.replace('\\', "\\\\"))
            }
            Dialect::Postgres => format!("'{quoted}'"),
            Dialect::Snowflake => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
            Dialect::TSql => format!("N'{quoted}'"),
        }
    }

    /// `a.b`, both quoted.
    pub fn qualified(self, schema: &str, name: &str) -> String {
        format!("{}.{}", self.ident(schema), self.ident(name))
    }

    /// Where a password goes in a statement. In a manual script it stays as
    /// it is, and a script run without filling it fails instead of setting a
    /// known password:
    /// - PostgreSQL: psql fills `:'junction_password'` from `-v junction_password=…`;
    /// - Snowflake: `<SYSTEM_USER_PASSWORD>` is not SQL, to be replaced by hand;
    /// - T-SQL: sqlcmd (and FreeTDS's `tsql` does not) fills
    ///   `'$(junction_password)'` from `-v junction_password=…`.
    ///
    /// Junction replaces the placeholder with the quoted password when it runs
    /// the action itself.
    pub const fn password_placeholder(self) -> &'static str {
        match self {
            Dialect::Postgres => ":'junction_password'",
            Dialect::Snowflake => "<SYSTEM_USER_PASSWORD>",
            Dialect::TSql => "'$(junction_password)'",
        }
    }

    /// The line that ends a statement in a script: `;`, or T-SQL's batch
    /// separator for statements that must start a batch.
    const fn terminator(self) -> &'static str {
        ";"
    }
}

/// A server's message with every occurrence of `secret` replaced by the
/// redaction, as sent and as quoted in a literal (quotes doubled): servers
/// echo statements in their errors, and a statement may have set a password.
pub fn scrub(message: String, secret: Option<&Secret<String>>) -> String {
    match secret.map(Secret::expose).filter(|s| !s.is_empty()) {
        Some(secret) => message
            .replace(secret.as_str(), junction_core::REDACTED)
            .replace(&secret.replace('\'', "''"), junction_core::REDACTED),
        None => message,
    }
}

/// Each dialect's quoting as free functions, for a platform's `scripts.rs` to
/// import: `use junction_kit::sql::postgres::{ident, literal, PASSWORD_PLACEHOLDER};`.
macro_rules! dialect_module {
    ($module:ident, $dialect:expr) => {
        pub mod $module {
            use super::Dialect;

            pub const DIALECT: Dialect = $dialect;
            /// See [`Dialect::password_placeholder`].
            pub const PASSWORD_PLACEHOLDER: &str = DIALECT.password_placeholder();

            /// See [`Dialect::ident`].
            pub fn ident(name: &str) -> String {
                DIALECT.ident(name)
            }

            /// See [`Dialect::literal`].
            pub fn literal(text: &str) -> String {
                DIALECT.literal(text)
            }

            /// An action of this dialect's statements.
            pub fn action<T>(target: T, statements: Vec<String>) -> super::SqlAction<T> {
                super::SqlAction::new(DIALECT, target, statements)
            }
        }
    };
}

dialect_module!(postgres, Dialect::Postgres);
dialect_module!(snowflake, Dialect::Snowflake);
dialect_module!(tsql, Dialect::TSql);

/// One step's SQL: statements run in order in one session, the password they
/// set, if any (kept out of the text so that rendering never shows it), and
/// `target`, the platform's own tag for where they run (which database;
/// `()` when there is one place).
#[derive(Debug, Clone)]
pub struct SqlAction<T = ()> {
    pub dialect: Dialect,
    pub target: T,
    pub statements: Vec<String>,
    pub password: Option<Secret<String>>,
}

impl<T> SqlAction<T> {
    pub fn new(dialect: Dialect, target: T, statements: Vec<String>) -> Self {
        SqlAction {
            dialect,
            target,
            statements,
            password: None,
        }
    }

    /// The action sets `password` where the statements hold the placeholder.
    pub fn with_password(mut self, password: Secret<String>) -> Self {
        self.password = Some(password);
        self
    }

    /// The statements as sent to the server: the placeholder replaced by the
    /// quoted password. Never logged, never returned.
    pub fn executable(&self) -> Vec<String> {
        let placeholder = self.dialect.password_placeholder();
        self.statements
            .iter()
            .map(|s| match &self.password {
                Some(p) => s.replace(placeholder, &self.dialect.literal(p.expose())),
                None => s.clone(),
            })
            .collect()
    }
}

impl<T: Send + Sync> Action for SqlAction<T> {
    /// Each statement on its own line, terminated; the password stays a placeholder.
    fn render(&self) -> String {
        let end = self.dialect.terminator();
        self.statements
            .iter()
            .map(|s| format!("{s}{end}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        assert_eq!(Dialect::Postgres.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Snowflake.ident("IMMUTA"), "\"IMMUTA\"");
        assert_eq!(Dialect::TSql.ident("a]b"), "[a]]b]");
        assert_eq!(Dialect::TSql.qualified("dbo", "t"), "[dbo].[t]");
    }

    #[test]
    fn literals_are_quoted_per_dialect() {
        assert_eq!(Dialect::Postgres.literal("it's"), "'it''s'");
        assert_eq!(Dialect::Postgres.literal("a\\b"), "E'a\\\\b'");
        assert_eq!(Dialect::Snowflake.literal("a\\'b"), "'a\\\\''b'");
        assert_eq!(Dialect::TSql.literal("it's"), "N'it''s'");
    }

    #[test]
    fn a_password_echoed_by_the_server_is_scrubbed() {
        let pw = Secret::new("pa'ss".to_owned());
        assert_eq!(
            scrub("bad: SET PASSWORD 'pa''ss' and pa'ss".into(), Some(&pw)),
            format!("bad: SET PASSWORD '{0}' and {0}", junction_core::REDACTED)
        );
        assert_eq!(scrub("as is".into(), None), "as is");
    }

    #[test]
    fn the_password_is_in_the_executable_text_only() {
        let a = SqlAction::new(
            Dialect::TSql,
            (),
            vec![format!(
                "CREATE LOGIN [x] WITH PASSWORD = {}",
                Dialect::TSql.password_placeholder()
            )],
        )
        .with_password(Secret::new("Sentinel1".to_owned()));
        assert_eq!(
            a.render(),
            "CREATE LOGIN [x] WITH PASSWORD = '$(junction_password)';"
        );
        assert_eq!(
            a.executable(),
            vec!["CREATE LOGIN [x] WITH PASSWORD = N'Sentinel1'".to_owned()]
        );
        assert!(!format!("{a:?}").contains("Sentinel1"));
    }
}
