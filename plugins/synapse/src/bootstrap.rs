//! Set-up as data: every object Junction manages on the server is a step of
//! a [`Plan`], with the statement that makes it and the one that takes it back.
//!
//! One description serves everything:
//! - automatic create runs [`create_plan`]; a failed step rolls back the
//!   steps before it (the kit runs `junction_core::plan::apply`);
//! - the two manual set-up scripts are the same steps, split by where they
//!   run: [`initial_create_script`] (the login, in `master`), then
//!   [`create_script`] (in the database);
//! - delete runs the create plan backwards, so a failed delete rolls back by
//!   re-running the create steps it had undone;
//! - after a failed create, [`cleanup_script`] (in the database) and
//!   [`post_cleanup_script`] (in `master`) remove whatever is left;
//! - edit runs only the steps for what changed ([`edit_plan`]);
//! - migrations are plans from one set-up version to the next ([`migration_plan`]).

use crate::scripts::{
    self, DATABASE_GRANTS, SCHEMA_GRANTS, SYSTEM_SCHEMAS, Target, TsqlAction, database, master, sql,
};
use junction_core::{Action, Plan, Secret};

/// The newest set-up version. Version 2 added the audit cursor table, where
/// Junction keeps how far it has read the audit log.
pub const CURRENT_VERSION: u32 = 2;

/// Step ids, stable: logs, fault injection and tests name steps by them.
pub mod step {
    pub const CREATE_LOGIN: &str = "create-login";
    pub const CREATE_USER: &str = "create-user";
    pub const GRANT_DATABASE: &str = "grant-database";
    pub const CREATE_VERSION_TABLE: &str = "create-version-table";
    pub const RECORD_VERSION: &str = "record-version";
    pub const CREATE_IMPERSONATION_ROLE: &str = "create-impersonation-role";
    pub const GRANT_IMPERSONATION_ADMIN: &str = "grant-impersonation-admin";
    pub const RENAME_IMPERSONATION_ROLE: &str = "rename-impersonation-role";
    pub const CREATE_AUDIT_CURSOR: &str = "create-audit-cursor";

    /// `create-schema-immuta_system`, …
    pub fn create_schema(schema: &str) -> String {
        format!("create-schema-{schema}")
    }
    /// `grant-schema-immuta_system`, …
    pub fn grant_schema(schema: &str) -> String {
        format!("grant-schema-{schema}")
    }
}

/// The names the set-up uses.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    /// The schema for Junction's views.
    pub view_schema: &'a str,
    /// The system login and its user in the database (one name for both).
    pub system_user: &'a str,
    /// The impersonation role, when impersonation is enabled.
    pub impersonation_role: Option<&'a str>,
}

impl Names<'_> {
    /// The view schema first, then Junction's own.
    fn schemas(&self) -> Vec<&str> {
        let mut v = vec![self.view_schema];
        v.extend(SYSTEM_SCHEMAS);
        v
    }
}

fn impersonation_steps(plan: &mut Plan<TsqlAction>, role: &str, sys: &str) {
    plan.push(
        step::CREATE_IMPERSONATION_ROLE,
        database(sql::create_role(role)),
        Some(database(sql::drop_role(role))),
    );
    plan.push(
        step::GRANT_IMPERSONATION_ADMIN,
        database(sql::grant_role_admin(role, sys)),
        Some(database(sql::revoke_role_admin(role, sys))),
    );
}

/// Version 2's table. The system user may create it itself (CREATE TABLE
/// and ALTER on `immuta_system` are its grants), so a migration needs no
/// privileged credentials.
fn audit_cursor_step(plan: &mut Plan<TsqlAction>) {
    plan.push(
        step::CREATE_AUDIT_CURSOR,
        database(sql::create_audit_cursor()),
        Some(database(sql::drop_audit_cursor())),
    );
}

/// Everything an automatic set-up at `version` creates, in order: the login
/// in `master`, then in the database the user, its grants, the schemas, the
/// version table and the impersonation role. `system_password` is set on the
/// login when the steps run.
pub fn create_plan(
    names: &Names<'_>,
    system_password: &Secret<String>,
    version: u32,
) -> Plan<TsqlAction> {
    let sys = names.system_user;
    let mut plan = Plan::new()
        .step(
            step::CREATE_LOGIN,
            master(sql::create_login(sys)).with_password(system_password.clone()),
            Some(master(sql::drop_login(sys))),
        )
        .step(
            step::CREATE_USER,
            database(sql::create_user(sys)),
            Some(database(sql::drop_user(sys))),
        )
        .step(
            step::GRANT_DATABASE,
            database(sql::grant_database(sys)),
            Some(database(sql::revoke_database(sys))),
        );
    for schema in names.schemas() {
        plan.push(
            step::create_schema(schema),
            database(sql::create_schema(schema)),
            Some(database(sql::drop_schema(schema))),
        );
        plan.push(
            step::grant_schema(schema),
            database(sql::grant_schema(SCHEMA_GRANTS, schema, sys)),
            Some(database(sql::revoke_schema(SCHEMA_GRANTS, schema, sys))),
        );
    }
    if let Some(role) = names.impersonation_role {
        impersonation_steps(&mut plan, role, sys);
    }
    plan.push(
        step::CREATE_VERSION_TABLE,
        database(sql::create_version_table()),
        Some(database(sql::drop_version_table())),
    );
    if version >= 2 {
        audit_cursor_step(&mut plan);
    }
    plan.push(
        step::RECORD_VERSION,
        database(sql::insert_version(version)),
        Some(database(sql::delete_version(version))),
    );
    plan
}

/// The statements of one target, each followed by `GO`: sqlcmd (and tsql)
/// send a batch at each `GO`, and `CREATE SCHEMA` must open its batch.
fn batches(plan: &Plan<TsqlAction>, target: Target) -> Vec<String> {
    let mut out = Vec::new();
    for s in plan.steps.iter().filter(|s| s.apply.target == target) {
        out.push(s.apply.render());
        out.push("GO".into());
    }
    out
}

fn go_each(statements: Vec<String>) -> Vec<String> {
    statements
        .into_iter()
        .flat_map(|s| [format!("{s};"), "GO".into()])
        .collect()
}

/// The first manual script, run connected to `master`: the system login.
pub fn initial_create_script(names: &Names<'_>, version: u32) -> Vec<String> {
    let plan = create_plan(names, &Secret::new(String::new()), version);
    batches(&plan, Target::Master)
}

/// The second manual script, run connected to the database.
pub fn create_script(names: &Names<'_>, version: u32) -> Vec<String> {
    let plan = create_plan(names, &Secret::new(String::new()), version);
    batches(&plan, Target::Database)
}

/// The database part of a teardown: everything in reverse order of
/// creation, each statement only when its object exists, so that it also
/// cleans up after a create that stopped half-way.
fn database_teardown(names: &Names<'_>) -> Vec<String> {
    let mut out = vec![
        sql::drop_table_if_exists(scripts::AUDIT_CURSOR_TABLE),
        sql::drop_table_if_exists(scripts::VERSION_TABLE),
    ];
    if let Some(role) = names.impersonation_role {
        out.push(sql::if_named(
            "sys.database_principals",
            role,
            sql::drop_role(role),
        ));
    }
    for schema in names.schemas().into_iter().rev() {
        out.push(sql::if_named(
            "sys.schemas",
            schema,
            sql::drop_schema(schema),
        ));
    }
    // Dropping the user drops its grants with it.
    let sys = names.system_user;
    out.push(sql::if_named(
        "sys.database_principals",
        sys,
        sql::drop_user(sys),
    ));
    out
}

fn master_teardown(names: &Names<'_>) -> Vec<String> {
    let sys = names.system_user;
    vec![sql::if_named("sys.sql_logins", sys, sql::drop_login(sys))]
}

/// After a failed create, first stage, connected to the database.
pub fn cleanup_script(names: &Names<'_>) -> Vec<String> {
    go_each(database_teardown(names))
}

/// After a failed create, second stage (after [`cleanup_script`]),
/// connected to `master`: the login. The host serves it as
/// `POST /integrations/scripts/post-cleanup`.
pub fn post_cleanup_script(names: &Names<'_>) -> Vec<String> {
    go_each(master_teardown(names))
}

/// The marker line between the delete script's two parts.
pub const MASTER_PART: &str = "-- Part 2: connected to master (as the server admin):";

/// The delete script: the database part, then, after [`MASTER_PART`], the
/// `master` part (Azure SQL has no `USE`: two connections).
pub fn delete_script(names: &Names<'_>) -> Vec<String> {
    let mut out = go_each(database_teardown(names));
    out.push(MASTER_PART.into());
    out.extend(go_each(master_teardown(names)));
    out
}

/// The teardown as a plan, for a delete of a create that never finished
/// (set-up version 0): nothing to undo.
pub fn teardown_plan(names: &Names<'_>) -> Plan<TsqlAction> {
    let mut plan = Plan::new();
    for (i, s) in database_teardown(names).into_iter().enumerate() {
        plan.push(format!("cleanup-{i}"), database(s), None);
    }
    for (i, s) in master_teardown(names).into_iter().enumerate() {
        plan.push(format!("post-cleanup-{i}"), master(s), None);
    }
    plan
}

/// What changed between two configurations of one integration, as a plan:
/// impersonation enabled, disabled or renamed.
pub fn edit_plan(old: &Names<'_>, new: &Names<'_>) -> Plan<TsqlAction> {
    let sys = new.system_user;
    let mut plan = Plan::new();
    match (old.impersonation_role, new.impersonation_role) {
        (None, Some(role)) => impersonation_steps(&mut plan, role, sys),
        (Some(role), None) => {
            let mut enable = Plan::new();
            impersonation_steps(&mut enable, role, sys);
            plan.extend(enable.reversed());
        }
        (Some(from), Some(to)) if from != to => plan.push(
            step::RENAME_IMPERSONATION_ROLE,
            database(sql::rename_role(from, to)),
            Some(database(sql::rename_role(to, from))),
        ),
        _ => {}
    }
    plan
}

/// From `from` to `to`, one version at a time.
pub fn migration_plan(from: u32, to: u32) -> Plan<TsqlAction> {
    let mut plan = Plan::new();
    for v in from..to {
        let next = v + 1;
        if next == 2 {
            audit_cursor_step(&mut plan);
        }
        plan.push(
            format!("{}-{next}", step::RECORD_VERSION),
            database(sql::update_version(v, next)),
            Some(database(sql::update_version(next, v))),
        );
    }
    plan
}

/// The edit plan as a script (one target: the database).
pub fn edit_script(plan: &Plan<TsqlAction>) -> Vec<String> {
    plan.steps
        .iter()
        .flat_map(|s| [s.apply.render(), "GO".into()])
        .collect()
}

/// Re-exported for the lifecycle: the grants the manage test expects.
pub const EXPECTED_DATABASE_GRANTS: &str = DATABASE_GRANTS;
pub use scripts::SCHEMA_GRANTS as EXPECTED_SCHEMA_GRANTS;

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names<'static> {
        Names {
            view_schema: "views",
            system_user: "pool_immuta_system",
            impersonation_role: Some("imp"),
        }
    }

    #[test]
    fn every_create_step_has_an_undo_and_the_login_alone_runs_in_master() {
        let plan = create_plan(&names(), &Secret::new("x".into()), CURRENT_VERSION);
        assert!(plan.steps.iter().all(|s| s.undo.is_some()));
        let in_master: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.apply.target == Target::Master)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(in_master, [step::CREATE_LOGIN]);
        assert!(plan.steps.iter().any(|s| s.id == step::CREATE_AUDIT_CURSOR));
        let v1 = create_plan(&names(), &Secret::new("x".into()), 1);
        assert!(!v1.steps.iter().any(|s| s.id == step::CREATE_AUDIT_CURSOR));
    }

    #[test]
    fn post_cleanup_drops_the_login_only_when_it_exists() {
        assert_eq!(
            post_cleanup_script(&names()),
            [
                "IF EXISTS (SELECT 1 FROM sys.sql_logins WHERE name = N'pool_immuta_system') DROP LOGIN [pool_immuta_system];",
                "GO"
            ]
        );
        assert!(
            cleanup_script(&names())
                .iter()
                .all(|s| !s.contains("LOGIN"))
        );
    }

    #[test]
    fn scripts_hold_no_password() {
        let all = [
            initial_create_script(&names(), 2),
            create_script(&names(), 2),
        ]
        .concat();
        assert!(all.iter().any(|s| s.contains("'$(junction_password)'")));
    }
}
