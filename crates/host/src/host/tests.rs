//! Recovery from the journal, in-process: a host runs an operation on a
//! test platform whose plan hangs half-way (after applying a step), the
//! host's runtime is dropped (as by `kill -9`), and a second host on the same
//! store takes the operation over once its lease expires.

use super::{Caller, Host, Settings};
use crate::auth::{ApiKey, Role};
use crate::crypto::Cipher;
use crate::payload::Payload;
use crate::store::sqlite::SqliteStore;
use crate::store::{StepState, Store};
use junction_core::{
    Action, Check, OpContext, OpError, OpOutput, Plan, Platform, Registry, Script, ScriptKind,
    Secret, Status, async_trait, plan,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct GatedConfig {
    account: String,
    password: Secret<String>,
    #[serde(default)]
    label: String,
    /// The step whose action hangs after it is applied.
    #[serde(default)]
    hang_at: String,
}

#[derive(Debug, Clone)]
enum Op {
    Add(String, String),
    Remove(String, String),
}

impl Action for Op {
    fn render(&self) -> String {
        match self {
            Op::Add(a, o) => format!("ADD {o} TO {a};"),
            Op::Remove(a, o) => format!("REMOVE {o} FROM {a};"),
        }
    }
}

fn objects() -> &'static Mutex<BTreeMap<String, BTreeSet<String>>> {
    static O: OnceLock<Mutex<BTreeMap<String, BTreeSet<String>>>> = OnceLock::new();
    O.get_or_init(Default::default)
}

fn held(account: &str) -> BTreeSet<String> {
    objects()
        .lock()
        .unwrap()
        .get(account)
        .cloned()
        .unwrap_or_default()
}

async fn run(plan: &Plan<Op>, hang_at: &str) -> Result<(), OpError> {
    let ids: Vec<(String, String)> = plan
        .steps
        .iter()
        .map(|s| (s.apply.render(), s.id.clone()))
        .collect();
    plan::apply(plan, None, |op: Op| {
        let hang = ids.iter().any(|(r, id)| *r == op.render() && id == hang_at);
        async move {
            {
                let mut m = objects().lock().unwrap();
                match &op {
                    Op::Add(a, o) => m.entry(a.clone()).or_default().insert(o.clone()),
                    Op::Remove(a, o) => m.entry(a.clone()).or_default().remove(o),
                };
            }
            if hang {
                std::future::pending::<()>().await;
            }
            Ok::<(), String>(())
        }
    })
    .await
    .map_err(|f| OpError::Failed(f.to_string()))
}

struct Gated;

#[async_trait]
impl Platform for Gated {
    type Config = GatedConfig;
    type DeleteCredentials = junction_core::NoCredentials;

    fn type_name(&self) -> &'static str {
        "Gated"
    }
    fn description(&self) -> &'static str {
        "hangs where told"
    }
    fn example_config(&self) -> Value {
        json!({"account": "a", "password": "pw"})
    }
    fn account_key(&self, c: &GatedConfig) -> String {
        c.account.clone()
    }
    fn checks(&self) -> Vec<Check<GatedConfig>> {
        Vec::new()
    }
    async fn create(
        &self,
        _op: &OpContext,
        c: GatedConfig,
    ) -> Result<OpOutput<GatedConfig>, OpError> {
        let a = &c.account;
        let step = |o: &str| {
            (
                o.to_owned(),
                Op::Add(a.clone(), o.into()),
                Some(Op::Remove(a.clone(), o.into())),
            )
        };
        let mut p = Plan::new();
        for (id, apply, undo) in [step("database"), step("system-user"), step("grants")] {
            p.push(id, apply, undo);
        }
        run(&p, &c.hang_at).await?;
        Ok(OpOutput {
            config: c,
            bootstrap_version: 1,
        })
    }
    async fn edit(
        &self,
        op: &OpContext,
        old: GatedConfig,
        new: GatedConfig,
    ) -> Result<OpOutput<GatedConfig>, OpError> {
        let a = &new.account;
        let (n, o) = (
            format!("label:{}", new.label),
            format!("label:{}", old.label),
        );
        let p = Plan::new()
            .step(
                "add-label",
                Op::Add(a.clone(), n.clone()),
                Some(Op::Remove(a.clone(), n)),
            )
            .step(
                "remove-old-label",
                Op::Remove(a.clone(), o.clone()),
                Some(Op::Add(a.clone(), o)),
            );
        run(&p, &new.hang_at).await?;
        Ok(OpOutput {
            config: new,
            bootstrap_version: op.bootstrap_version,
        })
    }
    async fn delete(
        &self,
        _op: &OpContext,
        _c: GatedConfig,
        _p: Option<junction_core::NoCredentials>,
    ) -> Result<(), OpError> {
        Ok(())
    }
    async fn migrate(
        &self,
        op: &OpContext,
        c: GatedConfig,
    ) -> Result<OpOutput<GatedConfig>, OpError> {
        Ok(OpOutput {
            config: c,
            bootstrap_version: op.bootstrap_version,
        })
    }
    fn script(
        &self,
        _k: ScriptKind,
        _c: &GatedConfig,
        _p: Option<&GatedConfig>,
    ) -> Result<Script, OpError> {
        Ok(Script {
            language: "gated".into(),
            statements: Vec::new(),
        })
    }
}

fn host(store: &Arc<dyn Store>) -> Arc<Host> {
    let mut registry = Registry::new();
    registry.add(Arc::new(Gated)).unwrap();
    let settings = Settings {
        lease_ttl: Duration::from_millis(300),
        ..Settings::default()
    };
    Arc::new(Host::new(
        Arc::clone(store),
        registry,
        Cipher::from_key(&[5; 32]),
        settings,
    ))
}

fn caller() -> Caller {
    Caller {
        key: std::sync::Arc::new(ApiKey {
            id: "key_test".into(),
            role: Role::Admin,
            name: "t".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        }),
        fault: None,
    }
}

fn payload(account: &str, auto: bool, label: &str, hang_at: &str) -> Payload {
    Payload {
        type_name: "Gated".into(),
        auto_bootstrap: auto,
        config: json!({"account": account, "password": "pw-gated-secret", "label": label, "hangAt": hang_at}),
        revalidate_every: None,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts an operation on a host of its own runtime, waits until `step` is
/// journaled as started, and drops that runtime (the host is killed).
fn crash_at<F: std::future::Future<Output = crate::store::IntegrationRow>>(
    store: &Arc<dyn Store>,
    start: impl FnOnce(Arc<Host>) -> F,
    step: &str,
) -> i64 {
    let a = rt();
    let host_a = a.block_on(async { host(store) });
    let row = a.block_on(start(Arc::clone(&host_a)));
    let origin = row.op.as_ref().unwrap().origin.clone();
    let main = rt();
    for _ in 0..500 {
        let j = main.block_on(store.journal(&origin)).unwrap();
        if j.iter()
            .any(|e| e.step_id == step && e.state == StepState::Started)
        {
            a.shutdown_background();
            return row.id;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the operation never reached {step}");
}

/// The other host takes over once the lease has expired.
fn recover(store: &Arc<dyn Store>, main: &tokio::runtime::Runtime) -> Arc<Host> {
    let b = main.block_on(async { host(store) });
    for _ in 0..200 {
        if main.block_on(b.recover_expired()).unwrap() == 1 {
            return b;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing was recovered");
}

fn store() -> (Arc<dyn Store>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(crate::util::random_id("junction-recovery-test-"));
    (Arc::new(SqliteStore::open(&dir).unwrap()), dir)
}

#[test]
fn a_manual_create_killed_half_way_is_undone_on_the_platform() {
    let (store, dir) = store();
    let id = crash_at(
        &store,
        |h| async move {
            h.create(payload("m1", false, "", "system-user"), &caller(), None)
                .await
                .unwrap()
        },
        "system-user",
    );
    assert_eq!(
        held("m1"),
        ["database", "system-user"].map(String::from).into()
    );
    let main = rt();
    let b = recover(&store, &main);
    let row = main.block_on(b.integration(id)).unwrap();
    assert_eq!(row.status, Status::CreateError);
    assert!(held("m1").is_empty(), "{:?}", held("m1"));
    assert_eq!(row.leftovers, None);
    let h = main.block_on(b.history(id)).unwrap();
    let last = h.last().unwrap();
    assert_eq!(last.event, "recovered");
    let m = last.message.as_deref().unwrap();
    assert!(
        m.contains("undid on the platform the steps applied: database, system-user"),
        "{m}"
    );
    assert!(
        m.contains("Nothing it created is left on the platform"),
        "{m}"
    );
    assert!(!format!("{h:?}").contains("pw-gated-secret"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_automatic_create_killed_half_way_names_exactly_what_it_left() {
    let (store, dir) = store();
    let id = crash_at(
        &store,
        |h| async move {
            h.create(payload("a1", true, "", "system-user"), &caller(), None)
                .await
                .unwrap()
        },
        "system-user",
    );
    let main = rt();
    let b = recover(&store, &main);
    let row = main.block_on(b.integration(id)).unwrap();
    assert_eq!(row.status, Status::CreateError);
    // Nothing could be undone without the privileged credentials: named instead.
    assert_eq!(
        held("a1"),
        ["database", "system-user"].map(String::from).into()
    );
    let left: Value = serde_json::from_str(row.leftovers.as_deref().unwrap()).unwrap();
    assert_eq!(
        left,
        json!([
            {"step": "database", "state": "applied", "statement": "ADD database TO a1;", "undo": "REMOVE database FROM a1;"},
            {"step": "system-user", "state": "in doubt", "statement": "ADD system-user TO a1;", "undo": "REMOVE system-user FROM a1;"}
        ])
    );
    let mut shown = String::new();
    crate::api::render(&row, &mut shown);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["leftoverObjects"], left);
    let m = main
        .block_on(b.history(id))
        .unwrap()
        .last()
        .unwrap()
        .message
        .clone()
        .unwrap();
    assert!(
        m.contains(
            "Left on the platform: database (applied: ADD database TO a1;); system-user (started"
        ),
        "{m}"
    );
    assert!(!m.contains("may hold") && !m.contains("not known"), "{m}");
    let script = main
        .block_on(b.script(
            ScriptKind::Delete,
            super::ScriptFor::Stored { id, edit: None },
        ))
        .unwrap();
    assert_eq!(
        script.statements,
        ["REMOVE system-user FROM a1;", "REMOVE database FROM a1;"]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_edit_killed_half_way_is_undone_with_the_stored_credentials() {
    let (store, dir) = store();
    let main = rt();
    let first = main.block_on(async {
        let h = host(&store);
        let row = h
            .create(payload("e1", false, "one", ""), &caller(), None)
            .await
            .unwrap();
        loop {
            let r = h.integration(row.id).await.unwrap();
            if r.status == Status::Enabled {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    objects()
        .lock()
        .unwrap()
        .entry("e1".into())
        .or_default()
        .insert("label:one".into());
    let id = crash_at(
        &store,
        |h| async move {
            h.edit(
                first.id,
                payload("e1", false, "two", "remove-old-label"),
                &caller(),
            )
            .await
            .unwrap()
        },
        "remove-old-label",
    );
    assert!(!held("e1").contains("label:one") && held("e1").contains("label:two"));
    let b = recover(&store, &main);
    let row = main.block_on(b.integration(id)).unwrap();
    assert_eq!(row.status, Status::EditError);
    assert!(row.config.contains("\"label\":\"one\""), "{}", row.config);
    assert!(
        held("e1").contains("label:one") && !held("e1").contains("label:two"),
        "{:?}",
        held("e1")
    );
    std::fs::remove_dir_all(dir).unwrap();
}
