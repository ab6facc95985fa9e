//! Set-up as data: every object Junction manages on the cluster is a step of a
//! [`Plan`], with the statement that makes it and the one that takes it back.
//!
//! One description serves everything:
//! - automatic create runs [`create_plan`]; if a step fails, the undos of the
//!   steps before it run in reverse (`junction_core::plan::apply`);
//! - the manual scripts are the same steps rendered as SQL
//!   ([`initial_create_script`], [`create_script`]);
//! - delete runs the create plan backwards ([`reversed`]), so a failed delete
//!   rolls back by re-running the create steps it had undone;
//! - edit runs only the steps for what changed ([`edit_plan`]);
//! - migrations are plans from one set-up version to the next ([`migration_plan`]).

use crate::scripts::sql::{self, Procedure};
use crate::scripts::{self, SCHEMAS, SqlAction};
use junction_core::{Plan, Secret};

/// The newest set-up version. Version 2 replaced the impersonation procedures.
pub const CURRENT_VERSION: u32 = 2;

/// Step ids, stable: logs, fault injection and tests name steps by them.
pub mod step {
    pub const CREATE_DATABASE: &str = "create-database";
    pub const CREATE_SYSTEM_USER: &str = "create-system-user";
    pub const GRANT_DATABASE: &str = "grant-database";
    pub const CREATE_IMPERSONATION_ROLE: &str = "create-impersonation-role";
    pub const GRANT_IMPERSONATION_ADMIN: &str = "grant-impersonation-admin";
    pub const CREATE_VERSION_TABLE: &str = "create-version-table";
    pub const RECORD_VERSION: &str = "record-version";
    pub const ROTATE_PASSWORD: &str = "rotate-system-password";
    pub const RENAME_IMPERSONATION_ROLE: &str = "rename-impersonation-role";

    /// `create-schema-immuta_system`, …
    pub fn create_schema(schema: &str) -> String {
        format!("create-schema-{schema}")
    }
    /// `create-grant-procedure`, `replace-revoke-procedure`, …
    pub fn procedure(verb: &str, p: super::Procedure) -> String {
        format!("{verb}-{}", p.id())
    }
}

/// The names the set-up uses, beside the configuration.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    pub database: &'a str,
    /// The system user Junction logs in as after set-up.
    pub system_user: &'a str,
    /// The impersonation role, when impersonation is enabled.
    pub impersonation_role: Option<&'a str>,
}

/// The impersonation steps: the role, the system user's right to hand it on,
/// and the procedures that do so.
fn impersonation_role_steps(plan: &mut Plan<SqlAction>, role: &str, sys: &str) {
    plan.push(
        step::CREATE_IMPERSONATION_ROLE,
        scripts::initial(sql::create_role(role)),
        Some(scripts::initial(sql::drop_role(role, false))),
    );
    plan.push(
        step::GRANT_IMPERSONATION_ADMIN,
        scripts::initial(sql::grant_role_admin(role, sys)),
        Some(scripts::initial(sql::revoke_role(role, sys))),
    );
}

fn impersonation_procedure_steps(plan: &mut Plan<SqlAction>, role: &str, sys: &str, version: u32) {
    for p in Procedure::BOTH {
        plan.push(
            step::procedure("create", p),
            scripts::managed(sql::create_procedure(p, role, sys, version)),
            Some(scripts::managed(sql::drop_procedure(p))),
        );
    }
}

/// Everything an automatic set-up at `version` creates, in order: first what
/// runs in the initial database (the database, the roles), then what runs in
/// the new one. `system_password` is set on the system user when the steps run.
pub fn create_plan(
    names: &Names<'_>,
    system_password: &Secret<String>,
    version: u32,
) -> Plan<SqlAction> {
    let (db, sys) = (names.database, names.system_user);
    let mut plan = Plan::new()
        .step(
            step::CREATE_DATABASE,
            scripts::initial(sql::create_database(db)),
            Some(scripts::initial(sql::drop_database(db, false))),
        )
        .step(
            step::CREATE_SYSTEM_USER,
            scripts::initial(sql::create_user(sys)).with_password(system_password.clone()),
            Some(scripts::initial(sql::drop_role(sys, false))),
        )
        .step(
            step::GRANT_DATABASE,
            scripts::initial(sql::grant_database(db, sys)),
            Some(scripts::initial(sql::revoke_database(db, sys))),
        );
    if let Some(role) = names.impersonation_role {
        impersonation_role_steps(&mut plan, role, sys);
    }
    for schema in SCHEMAS {
        plan.push(
            step::create_schema(schema),
            scripts::managed(sql::create_schema(schema, sys)),
            Some(scripts::managed(sql::drop_schema(schema))),
        );
    }
    plan.push(
        step::CREATE_VERSION_TABLE,
        scripts::managed(sql::create_version_table(sys)),
        Some(scripts::managed(sql::drop_version_table())),
    );
    if let Some(role) = names.impersonation_role {
        impersonation_procedure_steps(&mut plan, role, sys, version);
    }
    plan.push(
        step::RECORD_VERSION,
        scripts::managed(sql::insert_version(version)),
        Some(scripts::managed(sql::delete_version(version))),
    );
    plan
}

/// Steps of one target, for the two manual scripts.
fn statements_for(plan: &Plan<SqlAction>, target: crate::scripts::Target) -> Vec<String> {
    use junction_core::Action;
    plan.steps
        .iter()
        .filter(|s| s.apply.target == target)
        .map(|s| s.apply.render())
        .collect()
}

/// The manual script run first, connected to the initial database.
pub fn initial_create_script(names: &Names<'_>, version: u32) -> Vec<String> {
    let plan = create_plan(names, &Secret::new(String::new()), version);
    statements_for(&plan, crate::scripts::Target::Initial)
}

/// The manual script run second, connected to the new database.
pub fn create_script(names: &Names<'_>, version: u32) -> Vec<String> {
    let plan = create_plan(names, &Secret::new(String::new()), version);
    statements_for(&plan, crate::scripts::Target::Managed)
}

/// The manual teardown, run connected to the initial database: dropping the
/// database takes every object in it along (and the system user's privileges
/// on it), so the roles can go after it. With `if_exists` it also cleans up
/// after a create that stopped half-way.
pub fn teardown_script(names: &Names<'_>, if_exists: bool) -> Vec<String> {
    let mut out = vec![format!(
        "{};",
        sql::drop_database(names.database, if_exists)
    )];
    if let Some(role) = names.impersonation_role {
        out.push(format!("{};", sql::drop_role(role, if_exists)));
    }
    out.push(format!("{};", sql::drop_role(names.system_user, if_exists)));
    out
}

/// What changed between two configurations of one integration, as a plan.
/// `old_password` and `new_password` are the system user's; a rotation is a
/// step only when they differ.
pub fn edit_plan(
    old: &Names<'_>,
    new: &Names<'_>,
    passwords: Option<(&Secret<String>, &Secret<String>)>,
    version: u32,
) -> Plan<SqlAction> {
    let sys = new.system_user;
    let mut plan = Plan::new();
    if let Some((old_pw, new_pw)) = passwords {
        if old_pw != new_pw {
            // Run in the managed database: the system user may connect there.
            plan.push(
                step::ROTATE_PASSWORD,
                scripts::managed(vec![sql::set_password(sys)]).with_password(new_pw.clone()),
                Some(scripts::managed(vec![sql::set_password(sys)]).with_password(old_pw.clone())),
            );
        }
    }
    match (old.impersonation_role, new.impersonation_role) {
        (None, Some(role)) => {
            impersonation_role_steps(&mut plan, role, sys);
            impersonation_procedure_steps(&mut plan, role, sys, version);
        }
        (Some(role), None) => {
            let mut enable = Plan::new();
            impersonation_role_steps(&mut enable, role, sys);
            impersonation_procedure_steps(&mut enable, role, sys, version);
            plan.extend(enable.reversed());
        }
        (Some(from), Some(to)) if from != to => {
            plan.push(
                step::RENAME_IMPERSONATION_ROLE,
                scripts::initial(sql::rename_role(from, to)),
                Some(scripts::initial(sql::rename_role(to, from))),
            );
            for p in Procedure::BOTH {
                plan.push(
                    step::procedure("replace", p),
                    scripts::managed(sql::replace_procedure(p, to, version)),
                    Some(scripts::managed(sql::replace_procedure(p, from, version))),
                );
            }
        }
        _ => {}
    }
    plan
}

/// Whether an edit plan needs more than the system user may do (roles).
pub fn needs_privilege(plan: &Plan<SqlAction>) -> bool {
    plan.steps.iter().any(|s| s.id != step::ROTATE_PASSWORD)
}

/// From `from` to `to`, one version at a time. Runs as the system user, which
/// owns everything in the managed database.
pub fn migration_plan(names: &Names<'_>, from: u32, to: u32) -> Plan<SqlAction> {
    let mut plan = Plan::new();
    for v in from..to {
        let next = v + 1;
        // Version 2 replaced the impersonation procedures' bodies.
        if next == 2 {
            if let Some(role) = names.impersonation_role {
                for p in Procedure::BOTH {
                    plan.push(
                        step::procedure("replace", p),
                        scripts::managed(sql::replace_procedure(p, role, next)),
                        Some(scripts::managed(sql::replace_procedure(p, role, v))),
                    );
                }
            }
        }
        plan.push(
            format!("{}-{next}", step::RECORD_VERSION),
            scripts::managed(sql::update_version(v, next)),
            Some(scripts::managed(sql::update_version(next, v))),
        );
    }
    plan
}
