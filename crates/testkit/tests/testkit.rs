//! testkit's own tests: the conformance suite passes a good platform and
//! catches bad ones; the schema subset validator; the PostgreSQL stand-in.

use junction_core::{
    Check, CheckContext, CheckOutcome, DynPlatform, OpContext, Platform, RunOptions, TestStatus,
};
use junction_testkit::synthetic::{self, Synthetic, SyntheticConfig};
use junction_testkit::{SENTINEL, conformance, schema, stand_ins};
use serde_json::json;

#[test]
fn the_synthetic_platform_conforms() {
    conformance::assert_conforms(&Synthetic);
    let d = Synthetic.descriptor();
    assert_eq!(d.secret_paths, ["/password"]);
}

/// A platform that breaks every rule the suite checks.
struct Broken;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct LeakyConfig {
    // A secret in a plain String: Debug and serialisation show it.
    password: String,
}

#[junction_core::async_trait]
impl Platform for Broken {
    type Config = LeakyConfig;
    type DeleteCredentials = junction_core::NoCredentials;
    fn type_name(&self) -> &'static str {
        "Broken"
    }
    fn description(&self) -> &'static str {
        "breaks the rules"
    }
    fn example_config(&self) -> serde_json::Value {
        json!({"password": 5})
    }
    fn account_key(&self, c: &LeakyConfig) -> String {
        c.password.clone()
    }
    fn checks(&self) -> Vec<Check<LeakyConfig>> {
        let pass = |_, _| async { CheckOutcome::passed() };
        vec![
            Check::new("dup", "one", pass),
            Check::new("dup", "two", pass),
            Check::new("", "", pass).requires("ghost"),
            Check::new("loop-a", "a", pass).requires("loop-b"),
            Check::new("loop-b", "b", pass).requires("loop-a"),
        ]
    }
    async fn create(
        &self,
        _: &OpContext,
        config: LeakyConfig,
    ) -> Result<junction_core::OpOutput<LeakyConfig>, junction_core::OpError> {
        Ok(junction_core::OpOutput {
            config,
            bootstrap_version: 1,
        })
    }
    async fn edit(
        &self,
        _: &OpContext,
        _: LeakyConfig,
        config: LeakyConfig,
    ) -> Result<junction_core::OpOutput<LeakyConfig>, junction_core::OpError> {
        Ok(junction_core::OpOutput {
            config,
            bootstrap_version: 1,
        })
    }
    async fn delete(
        &self,
        _: &OpContext,
        _: LeakyConfig,
        _: Option<junction_core::NoCredentials>,
    ) -> Result<(), junction_core::OpError> {
        Ok(())
    }
    async fn migrate(
        &self,
        _: &OpContext,
        config: LeakyConfig,
    ) -> Result<junction_core::OpOutput<LeakyConfig>, junction_core::OpError> {
        Ok(junction_core::OpOutput {
            config,
            bootstrap_version: 1,
        })
    }
    fn script(
        &self,
        _: junction_core::ScriptKind,
        _: &LeakyConfig,
        _: Option<&LeakyConfig>,
    ) -> Result<junction_core::Script, junction_core::OpError> {
        Ok(junction_core::Script::sql(vec![]))
    }
}

#[test]
fn the_suite_catches_a_broken_platform() {
    let findings = conformance::check_typed(&Broken).join("\n");
    for expected in [
        "check name \"dup\" is declared twice",
        "a check has an empty name",
        "requires \"ghost\", which is not declared",
        "form a cycle",
        "the JSON Schema refuses the example config",
        "the example config does not parse",
    ] {
        assert!(
            findings.contains(expected),
            "missing finding {expected:?} in:\n{findings}"
        );
    }
    let result = std::panic::catch_unwind(|| conformance::assert_conforms(&Broken));
    assert!(result.is_err());
}

#[test]
fn schema_pattern_is_checked() {
    let s =
        json!({"type": "object", "properties": {"account": {"type": "string", "pattern": "\\S"}}});
    assert!(schema::validate(&s, &json!({"account": " a "})).is_empty());
    let errs = schema::validate(&s, &json!({"account": "   "})).join("\n");
    assert!(
        errs.contains("config.account: does not match the pattern"),
        "{errs}"
    );
}

#[test]
fn schema_subset_validator() {
    let s = json!({
        "type": "object",
        "properties": {
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "mode": {"enum": ["a", "b"]},
            "inner": {"$ref": "#/$defs/Inner"},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]}
        },
        "required": ["port"],
        "additionalProperties": false,
        "$defs": {"Inner": {"type": "object", "properties": {"n": {"type": "string", "minLength": 2}}}}
    });
    assert!(
        schema::validate(
            &s,
            &json!({"port": 5, "mode": "a", "inner": {"n": "xy"}, "maybe": null})
        )
        .is_empty()
    );
    let errs = schema::validate(
        &s,
        &json!({"port": 0, "mode": "c", "inner": {"n": "x"}, "maybe": 3, "extra": 1}),
    );
    let joined = errs.join("\n");
    for want in [
        "config.port",
        "config.mode",
        "config.inner.n",
        "config.maybe",
        "config.extra",
    ] {
        assert!(joined.contains(want), "{want} not in {joined}");
    }
    assert!(
        schema::validate(&s, &json!({}))
            .join("")
            .contains("config.port: required")
    );
    let unknown = schema::validate(&json!({"propertyNames": {"maxLength": 3}}), &json!({}));
    assert!(unknown[0].contains("outside the supported subset"));
}

#[tokio::test(start_paused = true)]
async fn synthetic_checks_follow_their_knobs() {
    let config = json!({
        "account": "knobs", "password": SENTINEL,
        "checks": {(synthetic::CHECK_CONNECT): {"behavior": "warn"}, (synthetic::CHECK_PRIVILEGES): {"behavior": "fail", "delayMs": 50}}
    });
    let ctx = CheckContext {
        auto_bootstrap: true,
        ..CheckContext::default()
    };
    let r = Synthetic
        .validate(&config, ctx, &RunOptions::default(), None)
        .await
        .unwrap();
    let statuses: Vec<_> = r.validation_tests.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [TestStatus::Warning, TestStatus::Failed, TestStatus::Passed]
    );
    assert!(!serde_json::to_string(&r).unwrap().contains(SENTINEL));
}

#[tokio::test]
async fn synthetic_operations_roll_back_through_the_core_plan() {
    let cfg = |create: &str| -> SyntheticConfig {
        serde_json::from_value(json!({"account": format!("acct-{create}"), "password": "p", "operations": {"create": {"behavior": create}}})).unwrap()
    };
    let op = OpContext {
        auto_bootstrap: true,
        ..OpContext::default()
    };
    let out = Platform::create(&Synthetic, &op, cfg("pass"))
        .await
        .unwrap();
    assert_eq!(out.bootstrap_version, 1);
    assert_eq!(out.config.password.expose(), "generated-for-acct-pass");
    assert_eq!(synthetic::remote_objects("acct-pass").len(), 3);

    let err = Platform::create(&Synthetic, &op, cfg("fail"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert!(synthetic::remote_objects("acct-fail").is_empty());
}

#[test]
fn the_postgres_stand_in_answers_a_real_query() {
    let Some(pg) = stand_ins::require::<stand_ins::Postgres>("postgres") else {
        return;
    };
    let bin = stand_ins::endpoint("postgres")
        .and_then(|v| v["bin"].as_str().map(String::from))
        .unwrap_or_default();
    let psql = std::path::Path::new(&bin).join("psql");
    let out = std::process::Command::new(if psql.exists() { psql } else { "psql".into() })
        .args([
            "-X",
            "-tA",
            "-h",
            &pg.host,
            "-p",
            &pg.port.to_string(),
            "-U",
            &pg.user,
            "-d",
            &pg.database,
            "-c",
            "select 40 + 2",
        ])
        .env("PGPASSWORD", &pg.password)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}
