//! What a set-up step does, as data ([`Action`]), and as the Databricks SQL an
//! operator runs in a SQL warehouse ([`Action::render`]): quoting of names
//! and text, privileges, the statements of each object.
//!
//! Junction runs catalogs, schemas, grants and properties through the Unity
//! Catalog REST API and tables through the SQL Statement Execution API; a
//! manual script says the same in SQL.

use std::collections::BTreeMap;

/// The principal a token-authenticated manual script grants to: not SQL, so a
/// script run without replacing it fails instead of granting to someone else.
pub const PRINCIPAL_PLACEHOLDER: &str = "<junction principal>";

/// A Unity Catalog securable Junction grants on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Securable {
    Catalog,
    Schema,
    Table,
}

impl Securable {
    /// The `securable_type` path segment of the permissions APIs.
    pub const fn api(self) -> &'static str {
        match self {
            Securable::Catalog => "catalog",
            Securable::Schema => "schema",
            Securable::Table => "table",
        }
    }

    /// The SQL keyword.
    pub const fn sql(self) -> &'static str {
        match self {
            Securable::Catalog => "CATALOG",
            Securable::Schema => "SCHEMA",
            Securable::Table => "TABLE",
        }
    }
}

/// A Unity Catalog privilege as the REST API names it (`USE_CATALOG`), as SQL
/// names it (`USE CATALOG`).
pub fn privilege_sql(p: &str) -> String {
    p.replace('_', " ")
}

/// A backquoted identifier, backquotes doubled: safe for any name.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `a`.`b`…, each part quoted.
pub fn qualified(parts: &[&str]) -> String {
    parts.iter().map(|p| ident(p)).collect::<Vec<_>>().join(".")
}

/// A string literal: Databricks SQL reads backslash escapes in `'…'`, so
/// backslashes and quotes are escaped with one.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// One step's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `POST /catalogs`. Fails if the catalog exists: Junction never adopts a
    /// catalog it did not create.
    CreateCatalog {
        name: String,
        comment: String,
        properties: BTreeMap<String, String>,
    },
    /// `DELETE /catalogs/{name}?force=true`: the catalog and all it holds.
    /// With `only_if_marked`, only a catalog carrying Junction's mark (a
    /// clean-up after a create that failed may find someone else's).
    DeleteCatalog { name: String, only_if_marked: bool },
    /// `POST /schemas`.
    CreateSchema {
        catalog: String,
        name: String,
        comment: String,
        properties: BTreeMap<String, String>,
    },
    /// `DELETE /schemas/{full_name}?force=true`.
    DeleteSchema { catalog: String, name: String },
    /// A statement on the SQL warehouse (table DDL).
    Sql(String),
    /// `PATCH /permissions/…` adding privileges.
    Grant {
        securable: Securable,
        full_name: String,
        principal: String,
        privileges: Vec<String>,
    },
    /// `PATCH /permissions/…` removing them.
    Revoke {
        securable: Securable,
        full_name: String,
        principal: String,
        privileges: Vec<String>,
    },
    /// Sets properties of a schema (the others are kept).
    SetSchemaProperties {
        catalog: String,
        name: String,
        properties: BTreeMap<String, String>,
    },
}

fn properties_sql(p: &BTreeMap<String, String>) -> String {
    p.iter()
        .map(|(k, v)| format!("{} = {}", literal(k), literal(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl junction_core::Action for Action {
    fn render(&self) -> String {
        match self {
            // Catalog properties have no SQL form; the mark only matters to
            // Junction's own clean-up of an automatic set-up.
            Action::CreateCatalog { name, comment, .. } => {
                format!(
                    "CREATE CATALOG {} COMMENT {};",
                    ident(name),
                    literal(comment)
                )
            }
            Action::DeleteCatalog { name, .. } => {
                format!("DROP CATALOG IF EXISTS {} CASCADE;", ident(name))
            }
            Action::CreateSchema {
                catalog,
                name,
                comment,
                properties,
            } => {
                let mut s = format!(
                    "CREATE SCHEMA {} COMMENT {}",
                    qualified(&[catalog, name]),
                    literal(comment)
                );
                if !properties.is_empty() {
                    s.push_str(&format!(
                        " WITH DBPROPERTIES ({})",
                        properties_sql(properties)
                    ));
                }
                s.push(';');
                s
            }
            Action::DeleteSchema { catalog, name } => {
                format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE;",
                    qualified(&[catalog, name])
                )
            }
            Action::Sql(statement) => format!("{statement};"),
            Action::Grant {
                securable,
                full_name,
                principal,
                privileges,
            } => format!(
                "GRANT {} ON {} {} TO {};",
                privileges
                    .iter()
                    .map(|p| privilege_sql(p))
                    .collect::<Vec<_>>()
                    .join(", "),
                securable.sql(),
                qualified(&full_name.split('.').collect::<Vec<_>>()),
                ident(principal)
            ),
            Action::Revoke {
                securable,
                full_name,
                principal,
                privileges,
            } => format!(
                "REVOKE {} ON {} {} FROM {};",
                privileges
                    .iter()
                    .map(|p| privilege_sql(p))
                    .collect::<Vec<_>>()
                    .join(", "),
                securable.sql(),
                qualified(&full_name.split('.').collect::<Vec<_>>()),
                ident(principal)
            ),
            Action::SetSchemaProperties {
                catalog,
                name,
                properties,
            } => format!(
                "ALTER SCHEMA {} SET DBPROPERTIES ({});",
                qualified(&[catalog, name]),
                properties_sql(properties)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use junction_core::Action as _;

    #[test]
    fn quoting() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(qualified(&["c", "s"]), "`c`.`s`");
        assert_eq!(literal(r"it's \ here"), r"'it\'s \\ here'");
    }

    #[test]
    fn grants_render_as_sql_privileges() {
        let a = Action::Grant {
            securable: Securable::Schema,
            full_name: "c.junction_policies".into(),
            principal: "account users".into(),
            privileges: vec!["USE_SCHEMA".into(), "EXECUTE".into()],
        };
        assert_eq!(
            a.render(),
            "GRANT USE SCHEMA, EXECUTE ON SCHEMA `c`.`junction_policies` TO `account users`;"
        );
    }

    #[test]
    fn properties_render_as_dbproperties() {
        let a = Action::SetSchemaProperties {
            catalog: "c".into(),
            name: "junction_system".into(),
            properties: [(
                "junction.groupPattern.deny".to_owned(),
                "o'brien".to_owned(),
            )]
            .into(),
        };
        assert_eq!(
            a.render(),
            r"ALTER SCHEMA `c`.`junction_system` SET DBPROPERTIES ('junction.groupPattern.deny' = 'o\'brien');"
        );
    }
}
