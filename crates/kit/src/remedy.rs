//! Remedies: what a failed or warning test found missing, and the statements
//! that add exactly that, in the platform's own language. A check attaches
//! one to its outcome:
//!
//! ```
//! use junction_core::CheckOutcome;
//! use junction_kit::{Dialect, remedy};
//!
//! let d = Dialect::Snowflake;
//! let outcome = CheckOutcome::failed("Unable to access default warehouse. …").with_remedy(
//!     remedy::sql(
//!         d,
//!         "USAGE on the warehouse \"WH\" for the role \"R\"",
//!         [format!("GRANT USAGE ON WAREHOUSE {} TO ROLE {}", d.ident("WH"), d.ident("R"))],
//!     ),
//! );
//! assert_eq!(outcome.remedy.unwrap().statements, ["GRANT USAGE ON WAREHOUSE \"WH\" TO ROLE \"R\";"]);
//! ```
//!
//! The core's runner names the remedy by its test and keeps it only when the
//! test failed or warned; the host answers remedies beside `validationResults`.
//!
//! Secrets never appear in a remedy: a statement that needs one holds a
//! placeholder ([`placeholder`], or a SQL dialect's password placeholder
//! through [`sql_action`]), as manual scripts do.

use crate::sql::{Dialect, SqlAction};
use junction_core::{Action, Fix};

/// SQL statements in `dialect`, each terminated as a manual script writes it.
/// Names from a configuration must already be quoted (`Dialect::ident`,
/// `Dialect::literal`).
pub fn sql(
    dialect: Dialect,
    missing: impl Into<String>,
    statements: impl IntoIterator<Item = String>,
) -> Fix {
    sql_action(
        missing,
        &SqlAction::new(dialect, (), statements.into_iter().collect()),
    )
}

/// An action's statements as a remedy: rendered as a manual script renders
/// them, so a password it sets shows as the dialect's placeholder.
pub fn sql_action<T: Send + Sync>(missing: impl Into<String>, action: &SqlAction<T>) -> Fix {
    Fix {
        missing: missing.into(),
        language: "sql".into(),
        // One at a time: a statement may span lines.
        statements: action
            .statements
            .iter()
            .map(|s| SqlAction::new(action.dialect, (), vec![s.clone()]).render())
            .collect(),
    }
}

/// Shell commands (`aws …`, `gcloud …`, `databricks …`), one per statement.
/// Arguments from a configuration go through [`shell_quote`].
pub fn shell(missing: impl Into<String>, commands: impl IntoIterator<Item = String>) -> Fix {
    Fix {
        missing: missing.into(),
        language: "shell".into(),
        statements: commands.into_iter().collect(),
    }
}

/// `text` as one POSIX shell word: unchanged when it holds only characters
/// no shell treats specially, else in single quotes (a quote inside as `'\''`).
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Where a value Junction never shows goes in a statement: `<NAME>`, which no
/// shell or SQL dialect accepts as it stands, so a statement run without
/// filling it in fails rather than doing something else.
pub fn placeholder(name: &str) -> String {
    format!("<{}>", name.to_ascii_uppercase().replace([' ', '-'], "_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use junction_core::Secret;

    #[test]
    fn sql_statements_are_terminated_and_keep_the_password_a_placeholder() {
        let d = Dialect::Snowflake;
        let f = sql(
            d,
            "two grants",
            [
                format!("GRANT CREATE ROLE ON ACCOUNT TO ROLE {}", d.ident("R")),
                format!("GRANT MANAGE GRANTS ON ACCOUNT TO ROLE {}", d.ident("R")),
            ],
        );
        assert_eq!(f.language, "sql");
        assert_eq!(
            f.statements,
            [
                "GRANT CREATE ROLE ON ACCOUNT TO ROLE \"R\";",
                "GRANT MANAGE GRANTS ON ACCOUNT TO ROLE \"R\";"
            ]
        );
        let action = SqlAction::new(
            Dialect::TSql,
            (),
            vec![format!(
                "ALTER LOGIN [u] WITH PASSWORD = {}",
                Dialect::TSql.password_placeholder()
            )],
        )
        .with_password(Secret::new("Sentinel-pw-1".to_owned()));
        let f = sql_action("a password", &action);
        assert_eq!(
            f.statements,
            ["ALTER LOGIN [u] WITH PASSWORD = '$(junction_password)';"]
        );
        assert!(!format!("{f:?}").contains("Sentinel-pw-1"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("my-role_1"), "my-role_1");
        assert_eq!(
            shell_quote("arn:aws:iam::1:role/x"),
            "arn:aws:iam::1:role/x"
        );
        assert_eq!(shell_quote("{\"a\": 1}"), "'{\"a\": 1}'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(placeholder("iam user name"), "<IAM_USER_NAME>");
        let f = shell("a policy", ["aws iam get-user".to_owned()]);
        assert_eq!((f.language.as_str(), f.statements.len()), ("shell", 1));
    }
}
