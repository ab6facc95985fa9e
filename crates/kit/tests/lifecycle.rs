//! The lifecycle skeleton with a toy platform whose "server" is a list of
//! objects in memory: what the kit decides (automatic or manual, fixed
//! fields, credentials on delete, migrate guards, rollback) is under test.
#![allow(clippy::expect_used)]

use junction_core::{
    Action, Check, ConfigErrors, FaultInjection, OpContext, OpError, Plan, Platform, Script,
    ScriptKind, async_trait,
};
use junction_kit::{Executor, Kit, Planned, Run, Work, fixed_field};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct ToyConfig {
    database: String,
    label: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Admin {
    #[allow(dead_code)]
    username: String,
}

/// `+name` creates an object, `-name` drops it.
#[derive(Debug, Clone)]
struct Obj(String);

impl Action for Obj {
    fn render(&self) -> String {
        self.0.clone()
    }
}

type Server = Arc<Mutex<Vec<String>>>;

struct Session(Server);

#[async_trait]
impl Executor<Obj> for Session {
    type Error = String;
    async fn exec(&mut self, action: Obj) -> Result<(), String> {
        let mut objects = self.0.lock().expect("lock");
        let (op, name) = action.0.split_at(1);
        match op {
            "+" if objects.iter().any(|o| o == name) => Err(format!("{name} exists")),
            "+" => {
                objects.push(name.to_owned());
                Ok(())
            }
            _ => {
                objects.retain(|o| o != name);
                Ok(())
            }
        }
    }
}

struct Toy {
    server: Server,
}

fn plan_for(c: &ToyConfig, version: u32) -> Plan<Obj> {
    let mut plan = Plan::new();
    plan.push(
        "create-database",
        Obj(format!("+{}", c.database)),
        Some(Obj(format!("-{}", c.database))),
    );
    for v in 1..=version {
        plan.push(
            format!("v{v}"),
            Obj(format!("+{}.v{v}", c.database)),
            Some(Obj(format!("-{}.v{v}", c.database))),
        );
    }
    plan
}

#[async_trait]
impl Planned for Toy {
    type Config = ToyConfig;
    type Privileged = Admin;
    type Action = Obj;
    type Login = ();
    type Session = Session;
    const TYPE_NAME: &'static str = "Toy";
    const DESCRIPTION: &'static str = "a toy";
    const CURRENT_VERSION: u32 = 2;

    fn install_version(&self) -> u32 {
        1
    }
    fn example_config(&self) -> Value {
        json!({"database": "db", "label": "x"})
    }
    fn account_key(&self, c: &ToyConfig) -> String {
        c.database.clone()
    }
    fn checks(&self) -> Vec<Check<ToyConfig>> {
        Vec::new()
    }
    fn fixed_fields(&self, c: &ToyConfig) -> Vec<(&'static str, String)> {
        vec![fixed_field("config.database", &c.database)]
    }
    async fn open(&self, _login: &()) -> Result<Session, String> {
        Ok(Session(self.server.clone()))
    }
    fn create_automatic(&self, c: ToyConfig, version: u32) -> Result<Work<Self>, OpError> {
        Ok(Work::run((), plan_for(&c, version), c, version))
    }
    async fn create_manual(&self, c: ToyConfig, version: u32) -> Result<Work<Self>, OpError> {
        Ok(Work::store(c, version))
    }
    fn edit_automatic(
        &self,
        op: &OpContext,
        old: ToyConfig,
        new: ToyConfig,
    ) -> Result<Work<Self>, OpError> {
        let plan = Plan::new().step(
            "relabel",
            Obj(format!("+{}.{}", new.database, new.label)),
            Some(Obj(format!("-{}.{}", old.database, new.label))),
        );
        Ok(Work::run((), plan, new, op.bootstrap_version))
    }
    fn delete_automatic(
        &self,
        op: &OpContext,
        c: ToyConfig,
        _privileged: Option<Admin>,
    ) -> Result<Option<Run<Self>>, OpError> {
        Ok(Some(Run::new(
            (),
            plan_for(&c, op.bootstrap_version).reversed(),
        )))
    }
    fn migration(
        &self,
        _op: &OpContext,
        c: &ToyConfig,
        from: u32,
        to: u32,
    ) -> Result<Run<Self>, OpError> {
        let mut plan = Plan::new();
        for v in from + 1..=to {
            plan.push(
                format!("v{v}"),
                Obj(format!("+{}.v{v}", c.database)),
                Some(Obj(format!("-{}.v{v}", c.database))),
            );
        }
        Ok(Run::new((), plan))
    }
    fn script(
        &self,
        _kind: ScriptKind,
        c: &ToyConfig,
        _previous: Option<&ToyConfig>,
    ) -> Result<Script, OpError> {
        Ok(Script::sql(plan_for(c, 1).script()))
    }
}

fn toy() -> (Kit<Toy>, Server) {
    let server = Server::default();
    (
        Kit(Toy {
            server: server.clone(),
        }),
        server,
    )
}

fn config(database: &str, label: &str) -> ToyConfig {
    ToyConfig {
        database: database.into(),
        label: label.into(),
    }
}

fn op(auto: bool, version: u32) -> OpContext {
    OpContext {
        integration_id: Some(7),
        auto_bootstrap: auto,
        bootstrap_version: version,
        fault: None,
    }
}

fn objects(s: &Server) -> Vec<String> {
    s.lock().expect("lock").clone()
}

#[tokio::test]
async fn automatic_create_runs_the_plan_and_manual_create_runs_nothing() {
    let (kit, server) = toy();
    let out = Platform::create(&kit, &op(true, 0), config("db", "a"))
        .await
        .expect("create");
    assert_eq!(out.bootstrap_version, 1);
    assert_eq!(objects(&server), ["db", "db.v1"]);

    let (kit, server) = toy();
    Platform::create(&kit, &op(false, 0), config("db", "a"))
        .await
        .expect("manual create");
    assert!(objects(&server).is_empty());
}

#[tokio::test]
async fn a_fault_rolls_the_create_back_and_says_where() {
    let (kit, server) = toy();
    let mut o = op(true, 0);
    o.fault = Some(FaultInjection::at("v1"));
    let e = Platform::create(&kit, &o, config("db", "a"))
        .await
        .expect_err("fault");
    assert_eq!(
        e.to_string(),
        "automatic set-up failed: step v1 failed: injected fault; every step before it was rolled back"
    );
    assert!(objects(&server).is_empty());
}

#[tokio::test]
async fn a_fixed_field_is_refused_with_its_path_at_edit_and_at_the_edit_script() {
    let (kit, server) = toy();
    let e = Platform::edit(&kit, &op(true, 1), config("db", "a"), config("other", "a"))
        .await
        .expect_err("fixed");
    let OpError::Invalid(errors) = e else {
        panic!("expected invalid input, got {e:?}");
    };
    assert_eq!(errors.0[0].path, "config.database");
    assert!(objects(&server).is_empty(), "nothing ran");
    let checked: Result<(), ConfigErrors> =
        Platform::check_edit(&kit, &config("db", "a"), &config("other", "a"));
    assert_eq!(checked.expect_err("fixed").0[0].path, "config.database");
    assert!(Platform::check_edit(&kit, &config("db", "a"), &config("db", "b")).is_ok());
    let s = Platform::script(
        &kit,
        ScriptKind::Edit,
        &config("other", "a"),
        Some(&config("db", "a")),
    );
    assert!(matches!(s, Err(OpError::Invalid(_))));
    let s = Platform::script(&kit, ScriptKind::Edit, &config("db", "a"), None);
    assert!(matches!(s, Err(OpError::Unsupported(_))));
}

#[tokio::test]
async fn a_manual_edit_stores_the_new_config_and_runs_nothing() {
    let (kit, server) = toy();
    let out = Platform::edit(&kit, &op(false, 1), config("db", "a"), config("db", "b"))
        .await
        .expect("edit");
    assert_eq!(out.config.label, "b");
    assert!(objects(&server).is_empty());
}

#[tokio::test]
async fn an_automatic_delete_needs_privileged_credentials() {
    let (kit, server) = toy();
    Platform::create(&kit, &op(true, 0), config("db", "a"))
        .await
        .expect("create");
    let e = Platform::delete(&kit, &op(true, 1), config("db", "a"), None)
        .await
        .expect_err("no credentials");
    assert!(
        e.to_string().contains("Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload."),
        "{e}"
    );
    Platform::delete(
        &kit,
        &op(true, 1),
        config("db", "a"),
        Some(Admin {
            username: "admin".into(),
        }),
    )
    .await
    .expect("delete");
    assert!(objects(&server).is_empty());
}

#[tokio::test]
async fn migrate_is_guarded_and_runs_the_missing_versions() {
    let (kit, server) = toy();
    let e = Platform::migrate(&kit, &op(true, 0), config("db", "a"))
        .await
        .expect_err("no set-up");
    assert!(matches!(e, OpError::Failed(_)));
    let e = Platform::migrate(&kit, &op(true, 2), config("db", "a"))
        .await
        .expect_err("at the newest");
    assert!(matches!(e, OpError::Unsupported(_)));
    let out = Platform::migrate(&kit, &op(true, 1), config("db", "a"))
        .await
        .expect("migrate");
    assert_eq!(out.bootstrap_version, 2);
    assert_eq!(objects(&server), ["db.v2"]);
}
