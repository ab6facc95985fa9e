//! A platform that does what its configuration tells it: each check and each
//! operation can pass, fail, warn, hang or panic, after an optional delay.
//! For the core's and the host's tests only; never shipped in a release.
//!
//! Its "remote objects" live in a process-wide map keyed by `account`, built
//! by a real [`Plan`] so that rollback is the core's, not a shortcut.

use junction_core::{
    Action, Check, CheckOutcome, ConfigErrors, OpContext, OpError, OpOutput, Plan, Platform,
    Script, ScriptKind, Secret, async_trait, plan,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const TYPE_NAME: &str = "Synthetic";
pub const CHECK_CONNECT: &str = "Synthetic: connection";
pub const CHECK_PRIVILEGES: &str = "Synthetic: privileges";
pub const CHECK_AUTOMATIC: &str = "Synthetic: automatic set-up is possible";
/// The set-up version the platform ships.
pub const CURRENT_VERSION: u32 = 2;
/// Why an edit that moves the integration to another account is refused.
pub const ACCOUNT_FIXED: &str = "cannot change after create";

/// What a check or an operation does.
// `examples/dynamic-plugin` keeps its own copy of `Behavior`, `Knob` and `behave`: it must not depend on testkit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Behavior {
    #[default]
    Pass,
    Fail,
    Warn,
    Hang,
    Panic,
    /// Checks only (operations pass): a warning that reads the platform
    /// back for tests outside the process, through `POST
    /// /integrations/validate`: see [`report`].
    Report,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Knob {
    #[serde(default)]
    pub behavior: Behavior,
    /// Milliseconds to wait before behaving.
    #[serde(default)]
    pub delay_ms: u64,
    /// Checks only: the behaviour of this check's successive runs for this
    /// account, in order, the last one repeating (drift on the platform: a
    /// grant revoked after the set-up, then restored). Empty: `behavior`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Behavior>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operations {
    #[serde(default)]
    pub create: Knob,
    #[serde(default)]
    pub edit: Knob,
    #[serde(default)]
    pub delete: Knob,
    #[serde(default)]
    pub migrate: Knob,
}

/// The synthetic platform's `config`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Names the platform account; one integration per account. Not blank.
    #[schemars(regex(pattern = r"\S"))]
    pub account: String,
    /// A secret, to prove redaction and encryption.
    pub password: Secret<String>,
    /// An ordinary field that edits change.
    #[serde(default)]
    pub label: String,
    /// Behaviour of each check, by test name; unnamed checks pass.
    #[serde(default)]
    pub checks: BTreeMap<String, Knob>,
    #[serde(default)]
    pub operations: Operations,
    /// The set-up version that create installs (to leave room for a migration).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = CURRENT_VERSION))]
    pub install_version: u32,
}

fn one() -> u32 {
    1
}

/// Privileged credentials for DELETE.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyntheticCredentials {
    pub password: Secret<String>,
}

/// An action on the in-memory "platform": add or remove one object.
#[derive(Debug, Clone)]
pub enum Op {
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
    static OBJECTS: OnceLock<Mutex<BTreeMap<String, BTreeSet<String>>>> = OnceLock::new();
    OBJECTS.get_or_init(Default::default)
}

/// The objects the platform holds for an account, for assertions.
pub fn remote_objects(account: &str) -> BTreeSet<String> {
    objects()
        .lock()
        .map(|m| m.get(account).cloned().unwrap_or_default())
        .unwrap_or_default()
}

async fn exec(op: Op) -> Result<(), String> {
    let mut map = objects().lock().map_err(|_| "state poisoned".to_owned())?;
    match &op {
        Op::Add(a, o) => {
            if !map.entry(a.clone()).or_default().insert(o.clone()) {
                return Err(format!("{o} already exists"));
            }
        }
        Op::Remove(a, o) => {
            if let Some(set) = map.get_mut(a) {
                set.remove(o);
            }
        }
    }
    Ok(())
}

fn create_plan(c: &SyntheticConfig) -> Plan<Op> {
    let a = &c.account;
    Plan::new()
        .step(
            "database",
            Op::Add(a.clone(), "database".into()),
            Some(Op::Remove(a.clone(), "database".into())),
        )
        .step(
            "system-user",
            Op::Add(a.clone(), "system-user".into()),
            Some(Op::Remove(a.clone(), "system-user".into())),
        )
        .step(
            format!("version-{}", c.install_version),
            Op::Add(a.clone(), format!("version-{}", c.install_version)),
            Some(Op::Remove(
                a.clone(),
                format!("version-{}", c.install_version),
            )),
        )
}

fn label_plan(c: &SyntheticConfig, old: &SyntheticConfig) -> Plan<Op> {
    let a = &c.account;
    let mut plan = Plan::new();
    if c.label != old.label {
        let new_obj = format!("label:{}", c.label);
        let old_obj = format!("label:{}", old.label);
        plan.push(
            "add-label",
            Op::Add(a.clone(), new_obj.clone()),
            Some(Op::Remove(a.clone(), new_obj)),
        );
        plan.push(
            "remove-old-label",
            Op::Remove(a.clone(), old_obj.clone()),
            Some(Op::Add(a.clone(), old_obj)),
        );
    }
    plan
}

/// How many times each check ran for each account, in this process.
fn check_runs() -> &'static Mutex<BTreeMap<(String, String), usize>> {
    static RUNS: OnceLock<Mutex<BTreeMap<(String, String), usize>>> = OnceLock::new();
    RUNS.get_or_init(Default::default)
}

/// Counts a run of `check` for `account`: how many ran before it.
fn count_run(account: &str, check: &str) -> usize {
    check_runs()
        .lock()
        .map(|mut m| {
            let n = m.entry((account.to_owned(), check.to_owned())).or_default();
            *n += 1;
            *n - 1
        })
        .unwrap_or(0)
}

/// The message of a [`Behavior::Report`] check: how many times it ran
/// before for the account, and the objects the platform holds for it.
pub fn report(check: &str, account: &str, runs_before: usize) -> String {
    let objects: Vec<String> = remote_objects(account).into_iter().collect();
    format!(
        "{check} reports: ran {runs_before} times before for {account}; the platform holds: {}",
        objects.join(", ")
    )
}

/// Delays, then does what the knob says; `Fail` is returned as `Err`.
async fn behave(knob: &Knob) -> Result<Option<&'static str>, ()> {
    behave_as(knob, knob.behavior).await
}

async fn behave_as(knob: &Knob, behavior: Behavior) -> Result<Option<&'static str>, ()> {
    if knob.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knob.delay_ms)).await;
    }
    match behavior {
        Behavior::Pass | Behavior::Report => Ok(None),
        Behavior::Warn => Ok(Some("warning")),
        Behavior::Fail => Err(()),
        Behavior::Hang => {
            std::future::pending::<()>().await;
            Err(())
        }
        #[allow(clippy::panic)]
        Behavior::Panic => panic!("synthetic panic, as configured"),
    }
}

/// Fails the plan at its middle step when the knob says `Fail`, so rollback runs.
async fn run_plan(plan: &Plan<Op>, knob: &Knob, op: &OpContext, what: &str) -> Result<(), OpError> {
    let injected = match behave(knob).await {
        Ok(_) => op.fault.clone(),
        Err(()) => plan
            .steps
            .get(plan.steps.len() / 2)
            .map(|s| junction_core::FaultInjection::at(s.id.clone())),
    };
    plan::apply(plan, injected.as_ref(), exec)
        .await
        .map_err(|f| OpError::Failed(format!("{what} failed: {f}")))
}

/// The synthetic platform.
#[derive(Debug, Default, Clone, Copy)]
pub struct Synthetic;

fn check(name: &'static str, description: &'static str) -> Check<SyntheticConfig> {
    Check::new(
        name,
        description,
        move |c: Arc<SyntheticConfig>, _ctx| async move {
            let knob = c.checks.get(name).cloned().unwrap_or_default();
            let before = count_run(&c.account, name);
            let behavior = match knob.runs.as_slice() {
                [] => knob.behavior,
                runs => runs[before.min(runs.len() - 1)],
            };
            if behavior == Behavior::Report {
                let _ = behave_as(&knob, Behavior::Pass).await;
                return CheckOutcome::warning(report(name, &c.account, before));
            }
            match behave_as(&knob, behavior).await {
                Ok(None) => CheckOutcome::passed(),
                Ok(Some(_)) => CheckOutcome::warning(format!("{name} warned, as configured.")),
                Err(()) => CheckOutcome::failed(format!("{name} failed, as configured.")),
            }
        },
    )
}

#[async_trait]
impl Platform for Synthetic {
    type Config = SyntheticConfig;
    type DeleteCredentials = SyntheticCredentials;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }
    fn description(&self) -> &'static str {
        "A test platform whose checks and operations do what its configuration says."
    }
    fn bootstrap_version(&self) -> u32 {
        CURRENT_VERSION
    }
    fn example_config(&self) -> Value {
        json!({"account": "acct-1", "password": "example-password", "label": "first"})
    }
    fn validate_config(&self, config: &SyntheticConfig, _auto: bool) -> Result<(), ConfigErrors> {
        let mut errors = ConfigErrors::default();
        if config.account.trim().is_empty() {
            errors.push("config.account", "must not be empty");
        }
        if config.install_version == 0 || config.install_version > CURRENT_VERSION {
            errors.push(
                "config.installVersion",
                format!("must be between 1 and {CURRENT_VERSION}"),
            );
        }
        errors.into_result()
    }
    fn account_key(&self, config: &SyntheticConfig) -> String {
        config.account.clone()
    }
    /// The account is fixed once set up (as a real platform's host or database is).
    fn check_edit(&self, old: &SyntheticConfig, new: &SyntheticConfig) -> Result<(), ConfigErrors> {
        if old.account != new.account {
            return Err(ConfigErrors::one("config.account", ACCOUNT_FIXED));
        }
        Ok(())
    }
    fn checks(&self) -> Vec<Check<SyntheticConfig>> {
        vec![
            check(CHECK_CONNECT, "Connects to the synthetic platform."),
            check(
                CHECK_PRIVILEGES,
                "Reads the synthetic platform's privileges.",
            )
            .requires(CHECK_CONNECT),
            check(CHECK_AUTOMATIC, "Sees that automatic set-up is possible.")
                .requires(CHECK_CONNECT)
                .only_auto_bootstrap(),
        ]
    }

    async fn create(
        &self,
        op: &OpContext,
        mut config: SyntheticConfig,
    ) -> Result<OpOutput<SyntheticConfig>, OpError> {
        run_plan(
            &create_plan(&config),
            &config.operations.create,
            op,
            "create",
        )
        .await?;
        if op.auto_bootstrap {
            // The privileged password is used once; a generated one is kept instead.
            config.password = Secret::new(format!("generated-for-{}", config.account));
        }
        let bootstrap_version = config.install_version;
        Ok(OpOutput {
            config,
            bootstrap_version,
        })
    }

    async fn edit(
        &self,
        op: &OpContext,
        old: SyntheticConfig,
        new: SyntheticConfig,
    ) -> Result<OpOutput<SyntheticConfig>, OpError> {
        // Also here: an edit asked for through a host that skips `check_edit`.
        if old.account != new.account {
            return Err(OpError::Invalid(ConfigErrors::one(
                "config.account",
                ACCOUNT_FIXED,
            )));
        }
        run_plan(&label_plan(&new, &old), &new.operations.edit, op, "edit").await?;
        Ok(OpOutput {
            config: new,
            bootstrap_version: op.bootstrap_version,
        })
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: SyntheticConfig,
        _privileged: Option<SyntheticCredentials>,
    ) -> Result<(), OpError> {
        let mut plan = Plan::new();
        for obj in remote_objects(&config.account) {
            plan.push(
                format!("remove-{obj}"),
                Op::Remove(config.account.clone(), obj.clone()),
                Some(Op::Add(config.account.clone(), obj)),
            );
        }
        run_plan(&plan, &config.operations.delete, op, "delete").await
    }

    async fn migrate(
        &self,
        op: &OpContext,
        config: SyntheticConfig,
    ) -> Result<OpOutput<SyntheticConfig>, OpError> {
        if op.bootstrap_version >= CURRENT_VERSION {
            return Err(OpError::Unsupported(format!(
                "already at set-up version {CURRENT_VERSION}"
            )));
        }
        let a = config.account.clone();
        let from = format!("version-{}", op.bootstrap_version);
        let to = format!("version-{CURRENT_VERSION}");
        let plan = Plan::new()
            .step(
                "add-new-version",
                Op::Add(a.clone(), to.clone()),
                Some(Op::Remove(a.clone(), to)),
            )
            .step(
                "replace-procedure",
                Op::Add(a.clone(), "procedure-v2".into()),
                Some(Op::Remove(a.clone(), "procedure-v2".into())),
            )
            .step(
                "remove-old-version",
                Op::Remove(a.clone(), from.clone()),
                Some(Op::Add(a, from)),
            );
        run_plan(&plan, &config.operations.migrate, op, "migrate").await?;
        Ok(OpOutput {
            config,
            bootstrap_version: CURRENT_VERSION,
        })
    }

    fn script(
        &self,
        kind: ScriptKind,
        config: &SyntheticConfig,
        previous: Option<&SyntheticConfig>,
    ) -> Result<Script, OpError> {
        let plan = create_plan(config);
        let statements = match kind {
            ScriptKind::InitialCreate | ScriptKind::PostCleanup => {
                return Err(OpError::Unsupported(format!(
                    "the synthetic platform has no {} script",
                    kind.as_str()
                )));
            }
            ScriptKind::Create => plan.script(),
            ScriptKind::Cleanup | ScriptKind::Delete => plan.undo_script(),
            ScriptKind::Edit => match previous {
                Some(old) => label_plan(config, old).script(),
                None => {
                    return Err(OpError::Unsupported(
                        "edit needs the stored configuration".into(),
                    ));
                }
            },
        };
        Ok(Script {
            language: "synthetic".into(),
            statements,
        })
    }
}
