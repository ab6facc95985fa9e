//! The set-up as data: plans of steps, each with its undo, for create, edit,
//! delete and the migrations, and the objects a set-up of each version has.
//!
//! What the set-up makes, in the catalog `config.catalog`:
//!
//! | version | object | why |
//! |---|---|---|
//! | 1 | the catalog, marked `junction.managedBy = junction` | Junction's own catalog |
//! | 1 | schema `junction_system`, with properties `junction.setupVersion`, `junction.audit.enabled`, `junction.groupPattern.deny` | Junction's bookkeeping; the properties say what is set up (a manual set-up is read back from them) |
//! | 1 | table `junction_system.user_attributes` | the attributes policies read |
//! | 1 | table `junction_system.audit_events`, while `audit.enabled` | audit records |
//! | 1 | `USE_CATALOG` on the catalog to `account users` | every user's queries reach the policy functions |
//! | 2 | schema `junction_policies` | the masking and row-filter functions |
//! | 2 | `USE_SCHEMA`, `EXECUTE` on it to `account users` | every user may run them |
//!
//! Catalogs, schemas, grants and properties go through the Unity Catalog
//! REST API; tables through the SQL Statement Execution API on the warehouse.

use crate::client::MARK;
use crate::scripts::{Action, Securable, ident, literal, qualified};
use junction_core::Plan;
use std::collections::BTreeMap;

/// The newest set-up version.
pub const CURRENT_VERSION: u32 = 2;

pub const SYSTEM_SCHEMA: &str = "junction_system";
pub const POLICIES_SCHEMA: &str = "junction_policies";
pub const USER_ATTRIBUTES: &str = "user_attributes";
pub const AUDIT_EVENTS: &str = "audit_events";
/// Databricks' built-in group of every user of the account.
pub const ALL_USERS: &str = "account users";
const COMMENT: &str = "Managed by Junction. Do not change by hand.";

/// The schema properties that record the set-up.
pub mod property {
    pub const VERSION: &str = "junction.setupVersion";
    pub const AUDIT: &str = "junction.audit.enabled";
    pub const DENY: &str = "junction.groupPattern.deny";
}

/// Step ids, for logs and fault injection.
pub mod step {
    pub const CREATE_CATALOG: &str = "create-catalog";
    pub const CREATE_SYSTEM_SCHEMA: &str = "create-system-schema";
    pub const CREATE_USER_ATTRIBUTES: &str = "create-user-attributes-table";
    pub const CREATE_AUDIT_TABLE: &str = "create-audit-table";
    pub const DROP_AUDIT_TABLE: &str = "drop-audit-table";
    pub const GRANT_USE_CATALOG: &str = "grant-use-catalog";
    pub const CREATE_POLICIES_SCHEMA: &str = "create-policies-schema";
    pub const GRANT_POLICIES_SCHEMA: &str = "grant-policies-schema";
    pub const RECORD_AUDIT: &str = "record-audit";
    pub const RECORD_GROUP_PATTERN: &str = "record-group-pattern";
    pub const RECORD_VERSION_2: &str = "record-version-2";
    pub const REVOKE_POLICIES_SCHEMA: &str = "revoke-policies-schema";
    pub const REVOKE_USE_CATALOG: &str = "revoke-use-catalog";
    pub const DROP_CATALOG: &str = "drop-catalog";
}

/// What a plan needs from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings<'a> {
    pub catalog: &'a str,
    pub audit: bool,
    pub deny: Option<&'a str>,
}

impl<'a> From<&'a crate::config::DatabricksConfig> for Settings<'a> {
    fn from(c: &'a crate::config::DatabricksConfig) -> Self {
        Settings {
            catalog: &c.catalog,
            audit: c.audit.enabled,
            deny: c.group_pattern.deny.as_deref(),
        }
    }
}

fn one(key: &str, value: impl Into<String>) -> BTreeMap<String, String> {
    [(key.to_owned(), value.into())].into()
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The system schema's properties for a set-up of `version`.
pub fn properties(s: &Settings<'_>, version: u32) -> BTreeMap<String, String> {
    [
        (property::VERSION.to_owned(), version.to_string()),
        (property::AUDIT.to_owned(), bool_text(s.audit).to_owned()),
        (
            property::DENY.to_owned(),
            s.deny.unwrap_or_default().to_owned(),
        ),
    ]
    .into()
}

fn set(catalog: &str, properties: BTreeMap<String, String>) -> Action {
    Action::SetSchemaProperties {
        catalog: catalog.to_owned(),
        name: SYSTEM_SCHEMA.to_owned(),
        properties,
    }
}

fn table(catalog: &str, name: &str) -> String {
    qualified(&[catalog, SYSTEM_SCHEMA, name])
}

fn user_attributes_ddl(catalog: &str) -> String {
    format!(
        "CREATE TABLE {} (principal STRING NOT NULL, attribute_name STRING NOT NULL, attribute_value STRING, updated_at TIMESTAMP) USING DELTA COMMENT {}",
        table(catalog, USER_ATTRIBUTES),
        literal("User attributes Junction's policies read.")
    )
}

fn audit_ddl(catalog: &str) -> String {
    format!(
        "CREATE TABLE {} (event_time TIMESTAMP NOT NULL, principal STRING, action STRING, securable STRING, detail STRING) USING DELTA COMMENT {}",
        table(catalog, AUDIT_EVENTS),
        literal("Audit events recorded by Junction.")
    )
}

fn drop_table(catalog: &str, name: &str) -> Action {
    Action::Sql(format!("DROP TABLE IF EXISTS {}", table(catalog, name)))
}

fn grant(securable: Securable, full_name: String, privileges: &[&str]) -> (Action, Action) {
    let privileges: Vec<String> = privileges.iter().map(|p| (*p).to_owned()).collect();
    (
        Action::Grant {
            securable,
            full_name: full_name.clone(),
            principal: ALL_USERS.to_owned(),
            privileges: privileges.clone(),
        },
        Action::Revoke {
            securable,
            full_name,
            principal: ALL_USERS.to_owned(),
            privileges,
        },
    )
}

fn use_catalog(catalog: &str) -> (Action, Action) {
    grant(Securable::Catalog, catalog.to_owned(), &["USE_CATALOG"])
}

fn policies_schema_grant(catalog: &str) -> (Action, Action) {
    grant(
        Securable::Schema,
        format!("{catalog}.{POLICIES_SCHEMA}"),
        &["USE_SCHEMA", "EXECUTE"],
    )
}

fn policies_schema(catalog: &str) -> (Action, Action) {
    (
        Action::CreateSchema {
            catalog: catalog.to_owned(),
            name: POLICIES_SCHEMA.to_owned(),
            comment: COMMENT.to_owned(),
            properties: BTreeMap::new(),
        },
        Action::DeleteSchema {
            catalog: catalog.to_owned(),
            name: POLICIES_SCHEMA.to_owned(),
        },
    )
}

/// The automatic set-up of `version`.
pub fn create_plan(s: &Settings<'_>, version: u32) -> Plan<Action> {
    let c = s.catalog;
    let mut plan = Plan::new()
        .step(
            step::CREATE_CATALOG,
            Action::CreateCatalog {
                name: c.to_owned(),
                comment: COMMENT.to_owned(),
                properties: one(MARK.0, MARK.1),
            },
            Some(Action::DeleteCatalog {
                name: c.to_owned(),
                only_if_marked: false,
            }),
        )
        .step(
            step::CREATE_SYSTEM_SCHEMA,
            Action::CreateSchema {
                catalog: c.to_owned(),
                name: SYSTEM_SCHEMA.to_owned(),
                comment: COMMENT.to_owned(),
                properties: properties(s, version),
            },
            Some(Action::DeleteSchema {
                catalog: c.to_owned(),
                name: SYSTEM_SCHEMA.to_owned(),
            }),
        )
        .step(
            step::CREATE_USER_ATTRIBUTES,
            Action::Sql(user_attributes_ddl(c)),
            Some(drop_table(c, USER_ATTRIBUTES)),
        );
    if s.audit {
        plan.push(
            step::CREATE_AUDIT_TABLE,
            Action::Sql(audit_ddl(c)),
            Some(drop_table(c, AUDIT_EVENTS)),
        );
    }
    let (g, r) = use_catalog(c);
    plan.push(step::GRANT_USE_CATALOG, g, Some(r));
    if version >= 2 {
        let (create, delete) = policies_schema(c);
        plan.push(step::CREATE_POLICIES_SCHEMA, create, Some(delete));
        let (g, r) = policies_schema_grant(c);
        plan.push(step::GRANT_POLICIES_SCHEMA, g, Some(r));
    }
    plan
}

/// Only what changed between two configurations of one catalog.
///
/// Turning audit on creates the audit table, then records it; turning it off
/// records that first and drops the table last (its undo re-creates the
/// table, without the rows: the table goes when audit goes).
pub fn edit_plan(old: &Settings<'_>, new: &Settings<'_>) -> Plan<Action> {
    let c = new.catalog;
    let mut plan = Plan::new();
    let record_audit = |on: bool| {
        (
            set(c, one(property::AUDIT, bool_text(on))),
            set(c, one(property::AUDIT, bool_text(!on))),
        )
    };
    match (old.audit, new.audit) {
        (false, true) => {
            plan.push(
                step::CREATE_AUDIT_TABLE,
                Action::Sql(audit_ddl(c)),
                Some(drop_table(c, AUDIT_EVENTS)),
            );
            let (apply, undo) = record_audit(true);
            plan.push(step::RECORD_AUDIT, apply, Some(undo));
        }
        (true, false) => {
            let (apply, undo) = record_audit(false);
            plan.push(step::RECORD_AUDIT, apply, Some(undo));
            plan.push(
                step::DROP_AUDIT_TABLE,
                drop_table(c, AUDIT_EVENTS),
                Some(Action::Sql(audit_ddl(c))),
            );
        }
        _ => {}
    }
    if old.deny != new.deny {
        plan.push(
            step::RECORD_GROUP_PATTERN,
            set(c, one(property::DENY, new.deny.unwrap_or_default())),
            Some(set(c, one(property::DENY, old.deny.unwrap_or_default()))),
        );
    }
    plan
}

/// From `from` to `to`, one version at a time.
pub fn migration_plan(catalog: &str, from: u32, to: u32) -> Plan<Action> {
    let mut plan = Plan::new();
    for version in from + 1..=to {
        if version == 2 {
            let (create, delete) = policies_schema(catalog);
            plan.push(step::CREATE_POLICIES_SCHEMA, create, Some(delete));
            let (g, r) = policies_schema_grant(catalog);
            plan.push(step::GRANT_POLICIES_SCHEMA, g, Some(r));
            plan.push(
                step::RECORD_VERSION_2,
                set(catalog, one(property::VERSION, "2")),
                Some(set(catalog, one(property::VERSION, "1"))),
            );
        }
    }
    plan
}

/// Removing a set-up of `version`: the grants first (undone by granting
/// again), then the catalog with everything in it, last, so that a failure
/// before it leaves every object and row as it was.
pub fn delete_plan(s: &Settings<'_>, version: u32) -> Plan<Action> {
    let c = s.catalog;
    let mut plan = Plan::new();
    if version >= 2 {
        let (g, r) = policies_schema_grant(c);
        plan.push(step::REVOKE_POLICIES_SCHEMA, r, Some(g));
    }
    let (g, r) = use_catalog(c);
    plan.push(step::REVOKE_USE_CATALOG, r, Some(g));
    plan.push(
        step::DROP_CATALOG,
        Action::DeleteCatalog {
            name: c.to_owned(),
            only_if_marked: false,
        },
        None,
    );
    plan
}

/// After a create that did not finish: the catalog, if it is Junction's.
pub fn cleanup_plan(catalog: &str) -> Plan<Action> {
    Plan::new().step(
        step::DROP_CATALOG,
        Action::DeleteCatalog {
            name: catalog.to_owned(),
            only_if_marked: true,
        },
        None,
    )
}

/// The privileges the configured principal needs on the catalog of a manual
/// set-up (the reference product's list); inherited by its schemas and tables.
pub const PRINCIPAL_PRIVILEGES: &[&str] =
    &["USE_CATALOG", "MANAGE", "USE_SCHEMA", "MODIFY", "SELECT"];
/// What the create script grants besides, so that Junction can migrate the
/// set-up and apply edits (new schemas and tables).
pub const PRINCIPAL_EXTRA_PRIVILEGES: &[&str] = &["CREATE_SCHEMA", "CREATE_TABLE"];

/// The schemas and tables a set-up of `version` has, as `(schema, table)`
/// (`table` empty for a schema).
pub fn expected_objects(s: &Settings<'_>, version: u32) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![(SYSTEM_SCHEMA, ""), (SYSTEM_SCHEMA, USER_ATTRIBUTES)];
    if s.audit {
        out.push((SYSTEM_SCHEMA, AUDIT_EVENTS));
    }
    if version >= 2 {
        out.push((POLICIES_SCHEMA, ""));
    }
    out
}

/// The create script: the automatic set-up in SQL, then the grants the
/// principal needs (it does not own a catalog someone else created).
pub fn create_script(s: &Settings<'_>, version: u32, principal: &str) -> Vec<String> {
    let mut out = create_plan(s, version).script();
    let privileges: Vec<String> = PRINCIPAL_PRIVILEGES
        .iter()
        .chain(PRINCIPAL_EXTRA_PRIVILEGES)
        .map(|p| crate::scripts::privilege_sql(p))
        .collect();
    out.push(format!(
        "GRANT {} ON CATALOG {} TO {};",
        privileges.join(", "),
        ident(s.catalog),
        ident(principal)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(p: &Plan<Action>) -> Vec<&str> {
        p.steps.iter().map(|s| s.id.as_str()).collect()
    }

    const S: Settings<'static> = Settings {
        catalog: "jc",
        audit: false,
        deny: None,
    };

    #[test]
    fn every_create_step_has_an_undo() {
        let s = Settings { audit: true, ..S };
        for v in 1..=CURRENT_VERSION {
            assert!(create_plan(&s, v).steps.iter().all(|st| st.undo.is_some()));
        }
        assert_eq!(
            ids(&create_plan(&s, 2)),
            [
                step::CREATE_CATALOG,
                step::CREATE_SYSTEM_SCHEMA,
                step::CREATE_USER_ATTRIBUTES,
                step::CREATE_AUDIT_TABLE,
                step::GRANT_USE_CATALOG,
                step::CREATE_POLICIES_SCHEMA,
                step::GRANT_POLICIES_SCHEMA
            ]
        );
    }

    #[test]
    fn version_1_lacks_the_policies_schema() {
        assert_eq!(
            ids(&create_plan(&S, 1)),
            [
                step::CREATE_CATALOG,
                step::CREATE_SYSTEM_SCHEMA,
                step::CREATE_USER_ATTRIBUTES,
                step::GRANT_USE_CATALOG
            ]
        );
    }

    #[test]
    fn an_edit_runs_only_what_changed() {
        assert!(edit_plan(&S, &S).steps.is_empty());
        let on = Settings {
            audit: true,
            deny: Some("admins"),
            ..S
        };
        assert_eq!(
            ids(&edit_plan(&S, &on)),
            [
                step::CREATE_AUDIT_TABLE,
                step::RECORD_AUDIT,
                step::RECORD_GROUP_PATTERN
            ]
        );
        assert_eq!(
            ids(&edit_plan(&on, &S)),
            [
                step::RECORD_AUDIT,
                step::DROP_AUDIT_TABLE,
                step::RECORD_GROUP_PATTERN
            ]
        );
    }

    #[test]
    fn the_migration_brings_version_1_to_what_version_2_creates() {
        assert_eq!(
            ids(&migration_plan("jc", 1, 2)),
            [
                step::CREATE_POLICIES_SCHEMA,
                step::GRANT_POLICIES_SCHEMA,
                step::RECORD_VERSION_2
            ]
        );
        assert!(migration_plan("jc", 2, 2).steps.is_empty());
    }

    #[test]
    fn delete_drops_the_catalog_last() {
        assert_eq!(
            ids(&delete_plan(&S, 2)),
            [
                step::REVOKE_POLICIES_SCHEMA,
                step::REVOKE_USE_CATALOG,
                step::DROP_CATALOG
            ]
        );
        assert_eq!(
            ids(&delete_plan(&S, 1)),
            [step::REVOKE_USE_CATALOG, step::DROP_CATALOG]
        );
    }

    #[test]
    fn the_create_script_is_sql_and_grants_the_principal() {
        let script = create_script(&S, 2, "app-id").join("\n");
        assert!(
            script.starts_with("CREATE CATALOG `jc` COMMENT"),
            "{script}"
        );
        assert!(script.contains("CREATE SCHEMA `jc`.`junction_system` COMMENT 'Managed by Junction. Do not change by hand.' WITH DBPROPERTIES ('junction.audit.enabled' = 'false', 'junction.groupPattern.deny' = '', 'junction.setupVersion' = '2');"), "{script}");
        assert!(script.contains("GRANT USE CATALOG ON CATALOG `jc` TO `account users`;"));
        assert!(script.ends_with("GRANT USE CATALOG, MANAGE, USE SCHEMA, MODIFY, SELECT, CREATE SCHEMA, CREATE TABLE ON CATALOG `jc` TO `app-id`;"), "{script}");
    }
}
