//! Set-up as data: every object Junction manages on the account is a step of
//! a [`Plan`], with the statement that makes it and the one that takes it back.
//!
//! One description serves everything:
//! - automatic create runs [`create_plan`]; if a step fails, the undos of the
//!   steps before it run in reverse (`junction_core::plan::apply`);
//! - the manual create script is the same steps rendered as SQL;
//! - delete runs the create plan backwards ([`reversed`]), so a failed delete
//!   rolls back by re-running the create steps it had undone;
//! - edit runs only the steps for what changed ([`edit_plan`]);
//! - migrations are plans from one set-up version to the next ([`migration_plan`]).

use crate::config::SnowflakeConfig;
use crate::scripts::{self, SCHEMAS, SqlAction, TABLE_GRANT_ROLES_TABLE, VERSION_TABLE, sql};
use junction_core::{Plan, Secret};

/// The newest set-up version. Version 2 added the table-grant roles table.
pub const CURRENT_VERSION: u32 = 2;

/// Account privileges the system role gets, so that it can apply policies.
pub const POLICY_PRIVILEGES: [(&str, &str); 2] = [
    ("apply-masking-policy", "APPLY MASKING POLICY"),
    ("apply-row-access-policy", "APPLY ROW ACCESS POLICY"),
];

/// Step ids, stable: logs, fault injection and tests name steps by them.
pub mod step {
    pub const CREATE_DATABASE: &str = "create-database";
    pub const CREATE_SYSTEM_ROLE: &str = "create-system-role";
    pub const GRANT_SYSTEM_ROLE_TO_PRIVILEGED: &str = "grant-system-role-to-privileged-role";
    pub const CREATE_SYSTEM_USER: &str = "create-system-user";
    pub const GRANT_SYSTEM_ROLE: &str = "grant-system-role-to-user";
    pub const GRANT_WAREHOUSE: &str = "grant-warehouse";
    pub const GRANT_DATABASE: &str = "grant-database";
    pub const GRANT_CREATE_ROLE: &str = "grant-create-role";
    pub const GRANT_AUDIT: &str = "grant-audit";
    pub const CREATE_IMPERSONATION_ROLE: &str = "create-impersonation-role";
    pub const GRANT_IMPERSONATION_ROLE: &str = "grant-impersonation-role";
    pub const CREATE_VERSION_TABLE: &str = "create-version-table";
    pub const GRANT_VERSION_TABLE: &str = "grant-version-table";
    pub const CREATE_TABLE_GRANT_ROLES: &str = "create-table-grant-roles";
    pub const GRANT_TABLE_GRANT_ROLES: &str = "grant-table-grant-roles";
    pub const RECORD_VERSION: &str = "record-version";
    pub const ROTATE_PASSWORD: &str = "rotate-system-password";
    pub const SET_DEFAULT_WAREHOUSE: &str = "set-default-warehouse";
    pub const REVOKE_OLD_WAREHOUSE: &str = "revoke-old-warehouse";
    pub const REVOKE_CREATE_ROLE: &str = "revoke-create-role";
    pub const REVOKE_AUDIT: &str = "revoke-audit";
    pub const RENAME_IMPERSONATION_ROLE: &str = "rename-impersonation-role";

    /// `create-schema-IMMUTA_SYSTEM`, …
    pub fn create_schema(schema: &str) -> String {
        format!("create-schema-{schema}")
    }
    /// `grant-schema-IMMUTA_SYSTEM`, …
    pub fn grant_schema(schema: &str) -> String {
        format!("grant-schema-{schema}")
    }
    /// `grant-apply-masking-policy`, …
    pub fn grant_account(id: &str) -> String {
        format!("grant-{id}")
    }
}

/// The names and switches the set-up uses.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    pub database: &'a str,
    /// The user Junction logs in as after set-up.
    pub system_user: &'a str,
    /// The role that user uses.
    pub system_role: &'a str,
    /// The privileged role of an automatic set-up: it is granted the system
    /// role, so that it can drop what the system role comes to own.
    pub privileged_role: Option<&'a str>,
    pub warehouse: &'a str,
    /// The impersonation role, when impersonation is enabled.
    pub impersonation_role: Option<&'a str>,
    pub table_grants: bool,
    pub audit: bool,
}

impl<'a> Names<'a> {
    /// Names for a configuration whose system user and role are given.
    pub fn of(
        config: &'a SnowflakeConfig,
        system_user: &'a str,
        system_role: &'a str,
        privileged_role: Option<&'a str>,
    ) -> Self {
        Names {
            database: &config.database,
            system_user,
            system_role,
            privileged_role,
            warehouse: &config.warehouse,
            impersonation_role: config.impersonation_role(),
            table_grants: config.table_grants.enabled,
            audit: config.audit.enabled,
        }
    }
}

fn impersonation_steps(plan: &mut Plan<SqlAction>, role: &str, sys_role: &str) {
    plan.push(
        step::CREATE_IMPERSONATION_ROLE,
        scripts::one(sql::create_role(role)),
        Some(scripts::one(sql::drop_role(role, false))),
    );
    plan.push(
        step::GRANT_IMPERSONATION_ROLE,
        scripts::one(sql::grant_role_to_role(role, sys_role)),
        Some(scripts::one(sql::revoke_role_from_role(role, sys_role))),
    );
}

fn create_role_grant(plan: &mut Plan<SqlAction>, sys_role: &str) {
    plan.push(
        step::GRANT_CREATE_ROLE,
        scripts::one(sql::grant_on_account("CREATE ROLE", sys_role)),
        Some(scripts::one(sql::revoke_on_account(
            "CREATE ROLE",
            sys_role,
        ))),
    );
}

fn audit_grant(plan: &mut Plan<SqlAction>, sys_role: &str) {
    plan.push(
        step::GRANT_AUDIT,
        scripts::one(sql::grant_audit(sys_role)),
        Some(scripts::one(sql::revoke_audit(sys_role))),
    );
}

/// Everything an automatic set-up at `version` creates, in order.
/// `system_password` is set on the system user when the steps run.
pub fn create_plan(
    n: &Names<'_>,
    system_password: &Secret<String>,
    version: u32,
) -> Plan<SqlAction> {
    let (db, role, user) = (n.database, n.system_role, n.system_user);
    let mut plan = Plan::new().step(
        step::CREATE_DATABASE,
        scripts::one(sql::create_database(db)),
        Some(scripts::one(sql::drop_database(db, false))),
    );
    for schema in SCHEMAS {
        plan.push(
            step::create_schema(schema),
            scripts::one(sql::create_schema(db, schema)),
            Some(scripts::one(sql::drop_schema(db, schema))),
        );
    }
    plan.push(
        step::CREATE_SYSTEM_ROLE,
        scripts::one(sql::create_role(role)),
        Some(scripts::one(sql::drop_role(role, false))),
    );
    if let Some(privileged) = n.privileged_role {
        plan.push(
            step::GRANT_SYSTEM_ROLE_TO_PRIVILEGED,
            scripts::one(sql::grant_role_to_role(role, privileged)),
            Some(scripts::one(sql::revoke_role_from_role(role, privileged))),
        );
    }
    plan.push(
        step::CREATE_SYSTEM_USER,
        scripts::one(sql::create_user(user, role, n.warehouse))
            .with_password(system_password.clone()),
        Some(scripts::one(sql::drop_user(user, false))),
    );
    plan.push(
        step::GRANT_SYSTEM_ROLE,
        scripts::one(sql::grant_role_to_user(role, user)),
        Some(scripts::one(sql::revoke_role_from_user(role, user))),
    );
    plan.push(
        step::GRANT_WAREHOUSE,
        scripts::one(sql::grant_warehouse(n.warehouse, role)),
        Some(scripts::one(sql::revoke_warehouse(n.warehouse, role))),
    );
    plan.push(
        step::GRANT_DATABASE,
        scripts::one(sql::grant_database(db, role)),
        Some(scripts::one(sql::revoke_database(db, role))),
    );
    for schema in SCHEMAS {
        plan.push(
            step::grant_schema(schema),
            scripts::one(sql::grant_schema(db, schema, role)),
            Some(scripts::one(sql::revoke_schema(db, schema, role))),
        );
    }
    for (id, privilege) in POLICY_PRIVILEGES {
        plan.push(
            step::grant_account(id),
            scripts::one(sql::grant_on_account(privilege, role)),
            Some(scripts::one(sql::revoke_on_account(privilege, role))),
        );
    }
    if n.table_grants {
        create_role_grant(&mut plan, role);
    }
    if n.audit {
        audit_grant(&mut plan, role);
    }
    if let Some(imp) = n.impersonation_role {
        impersonation_steps(&mut plan, imp, role);
    }
    plan.push(
        step::CREATE_VERSION_TABLE,
        scripts::one(sql::create_version_table(db)),
        Some(scripts::one(sql::drop_table(db, VERSION_TABLE))),
    );
    plan.push(
        step::GRANT_VERSION_TABLE,
        scripts::one(sql::grant_table(db, VERSION_TABLE, role)),
        Some(scripts::one(sql::revoke_table(db, VERSION_TABLE, role))),
    );
    if version >= 2 {
        plan.push(
            step::CREATE_TABLE_GRANT_ROLES,
            scripts::one(sql::create_table_grant_roles(db)),
            Some(scripts::one(sql::drop_table(db, TABLE_GRANT_ROLES_TABLE))),
        );
        plan.push(
            step::GRANT_TABLE_GRANT_ROLES,
            scripts::one(sql::grant_table(db, TABLE_GRANT_ROLES_TABLE, role)),
            Some(scripts::one(sql::revoke_table(
                db,
                TABLE_GRANT_ROLES_TABLE,
                role,
            ))),
        );
    }
    plan.push(
        step::RECORD_VERSION,
        scripts::one(sql::insert_version(db, version)),
        Some(scripts::one(sql::delete_version(db, version))),
    );
    plan
}

/// The manual teardown: dropping the database takes every object in it
/// along; the roles and the user go after it (their account grants with
/// them). With `if_exists` it also cleans up after a create that stopped half-way.
pub fn teardown_script(n: &Names<'_>, if_exists: bool) -> Vec<String> {
    let mut out = vec![format!("{};", sql::drop_database(n.database, if_exists))];
    if let Some(role) = n.impersonation_role {
        out.push(format!("{};", sql::drop_role(role, if_exists)));
    }
    out.push(format!("{};", sql::drop_user(n.system_user, if_exists)));
    out.push(format!("{};", sql::drop_role(n.system_role, if_exists)));
    out
}

/// What changed between two configurations of one integration, as a plan.
/// `passwords` are the system user's old and new ones; a rotation is a step
/// only when they differ.
pub fn edit_plan(
    old: &Names<'_>,
    new: &Names<'_>,
    passwords: Option<(&Secret<String>, &Secret<String>)>,
) -> Plan<SqlAction> {
    let (role, user) = (new.system_role, new.system_user);
    let mut plan = Plan::new();
    if let Some((old_pw, new_pw)) = passwords {
        if old_pw != new_pw {
            plan.push(
                step::ROTATE_PASSWORD,
                scripts::one(sql::set_password(user)).with_password(new_pw.clone()),
                Some(scripts::one(sql::set_password(user)).with_password(old_pw.clone())),
            );
        }
    }
    if old.warehouse != new.warehouse {
        plan.push(
            step::GRANT_WAREHOUSE,
            scripts::one(sql::grant_warehouse(new.warehouse, role)),
            Some(scripts::one(sql::revoke_warehouse(new.warehouse, role))),
        );
        plan.push(
            step::SET_DEFAULT_WAREHOUSE,
            scripts::one(sql::set_default_warehouse(user, new.warehouse)),
            Some(scripts::one(sql::set_default_warehouse(
                user,
                old.warehouse,
            ))),
        );
        plan.push(
            step::REVOKE_OLD_WAREHOUSE,
            scripts::one(sql::revoke_warehouse(old.warehouse, role)),
            Some(scripts::one(sql::grant_warehouse(old.warehouse, role))),
        );
    }
    match (old.table_grants, new.table_grants) {
        (false, true) => create_role_grant(&mut plan, role),
        (true, false) => plan.push(
            step::REVOKE_CREATE_ROLE,
            scripts::one(sql::revoke_on_account("CREATE ROLE", role)),
            Some(scripts::one(sql::grant_on_account("CREATE ROLE", role))),
        ),
        _ => {}
    }
    match (old.audit, new.audit) {
        (false, true) => audit_grant(&mut plan, role),
        (true, false) => plan.push(
            step::REVOKE_AUDIT,
            scripts::one(sql::revoke_audit(role)),
            Some(scripts::one(sql::grant_audit(role))),
        ),
        _ => {}
    }
    match (old.impersonation_role, new.impersonation_role) {
        (None, Some(imp)) => impersonation_steps(&mut plan, imp, role),
        (Some(imp), None) => {
            let mut enable = Plan::new();
            impersonation_steps(&mut enable, imp, role);
            plan.extend(enable.reversed());
        }
        (Some(from), Some(to)) if from != to => plan.push(
            step::RENAME_IMPERSONATION_ROLE,
            scripts::one(sql::rename_role(from, to)),
            Some(scripts::one(sql::rename_role(to, from))),
        ),
        _ => {}
    }
    plan
}

/// Whether an edit plan needs more than the system user may do (roles, grants).
pub fn needs_privilege(plan: &Plan<SqlAction>) -> bool {
    plan.steps.iter().any(|s| s.id != step::ROTATE_PASSWORD)
}

/// From `from` to `to`, one version at a time. Runs as the system user, whose
/// role may create tables in the managed schemas. Each version's steps are the
/// ones a fresh set-up at that version has, so a migrated set-up and a fresh
/// one are the same (and delete, the create plan reversed, fits both).
pub fn migration_plan(database: &str, system_role: &str, from: u32, to: u32) -> Plan<SqlAction> {
    let mut plan = Plan::new();
    for v in from..to {
        let next = v + 1;
        if next == 2 {
            plan.push(
                step::CREATE_TABLE_GRANT_ROLES,
                scripts::one(sql::create_table_grant_roles(database)),
                Some(scripts::one(sql::drop_table(
                    database,
                    TABLE_GRANT_ROLES_TABLE,
                ))),
            );
            plan.push(
                step::GRANT_TABLE_GRANT_ROLES,
                scripts::one(sql::grant_table(
                    database,
                    TABLE_GRANT_ROLES_TABLE,
                    system_role,
                )),
                Some(scripts::one(sql::revoke_table(
                    database,
                    TABLE_GRANT_ROLES_TABLE,
                    system_role,
                ))),
            );
        }
        plan.push(
            format!("{}-{next}", step::RECORD_VERSION),
            scripts::one(sql::update_version(database, v, next)),
            Some(scripts::one(sql::update_version(database, next, v))),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use junction_core::Action;

    fn names() -> Names<'static> {
        Names {
            database: "D\"B",
            system_user: "D\"B_SYSTEM",
            system_role: "D\"B_SYSTEM_ROLE",
            privileged_role: Some("ACCOUNTADMIN"),
            warehouse: "WH",
            impersonation_role: Some("IMP"),
            table_grants: true,
            audit: true,
        }
    }

    #[test]
    fn every_create_step_has_an_undo_and_a_unique_id() {
        let plan = create_plan(&names(), &Secret::new("pw".into()), CURRENT_VERSION);
        let mut ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
        assert!(plan.steps.iter().all(|s| s.undo.is_some()));
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(plan.script().iter().all(|s| !s.contains("pw'")));
        assert!(plan.script()[0].contains("\"D\"\"B\""));
    }

    #[test]
    fn reversed_plan_undoes_in_reverse() {
        let plan = create_plan(&names(), &Secret::new("pw".into()), 1);
        let rev = plan.clone().reversed();
        assert_eq!(rev.steps.len(), plan.steps.len());
        assert_eq!(rev.steps[0].id, "undo-record-version");
        assert_eq!(
            rev.steps.last().map(|s| s.apply.render()),
            Some("DROP DATABASE \"D\"\"B\";".to_owned())
        );
    }

    #[test]
    fn migration_two_creates_the_table_and_moves_the_version() {
        let plan = migration_plan("DB", "R", 1, 2);
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "create-table-grant-roles",
                "grant-table-grant-roles",
                "record-version-2"
            ]
        );
    }
}
