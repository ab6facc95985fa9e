//! The plugin ABI end to end: the example plugin, built by this same cargo
//! run as a shared library (it is a dev-dependency, so its cdylib exists
//! before this binary runs), loaded through the loader and compared with the
//! very same platform linked in.

// Helpers outside #[test] functions panic on broken set-up, as tests do.
#![allow(clippy::expect_used, clippy::panic)]

/// ABI 1.0's JSON, pinned against literal texts.
mod golden;

use junction_core::{
    CheckContext, ConfigErrors, DynPlatform, OpContext, OpError, RunOptions, ScriptKind,
    TestStatus, ValidationResults, ValidationTest,
};
use junction_example_dynamic::{self as example, ExampleDynamic};
use junction_plugin_abi::loader::{self, DynamicPlatform, LoadError, LoadOptions};
use junction_testkit::{SENTINEL, conformance};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A library built by this cargo run: next to this test executable
/// (target/<profile>/deps) or one level up (target/<profile>).
fn artifact(stem: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the executable's directory");
    let file = format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let candidates = [Some(deps), deps.parent()];
    candidates
        .into_iter()
        .flatten()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{file} was not built next to {}", exe.display()))
}

fn example_library() -> PathBuf {
    artifact("junction_example_dynamic")
}

fn load_with(options: LoadOptions) -> Arc<DynamicPlatform> {
    loader::load(&example_library(), &options).unwrap_or_else(|e| panic!("{e}"))
}

fn plugin() -> Arc<DynamicPlatform> {
    load_with(LoadOptions::default())
}

/// A directory of its own for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("junction-abi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn config(account: &str, extra: Value) -> Value {
    let mut c = json!({"account": account, "password": "pw-of-the-test", "label": "first"});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn knob(behavior: &str) -> Value {
    json!({"behavior": behavior})
}

async fn validate_collecting(
    platform: &dyn DynPlatform,
    config: &Value,
    auto: bool,
    options: &RunOptions,
) -> (Result<ValidationResults, ConfigErrors>, Vec<ValidationTest>) {
    let seen = Mutex::new(Vec::new());
    let progress = |t: &ValidationTest| seen.lock().expect("progress lock").push(t.clone());
    let ctx = CheckContext {
        auto_bootstrap: auto,
        ..CheckContext::default()
    };
    let result = platform
        .validate(config, ctx, options, Some(&progress))
        .await;
    let mut seen = seen.into_inner().expect("progress lock");
    // Concurrent checks may report in any order: compare as sets.
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    (result, seen)
}

#[test]
fn descriptor_and_conformance_pass_through_the_abi() {
    let p = plugin();
    assert_eq!(p.type_name(), example::TYPE_NAME);
    assert_eq!(
        serde_json::to_value(p.descriptor()).expect("descriptor json"),
        serde_json::to_value(DynPlatform::descriptor(&ExampleDynamic)).expect("descriptor json"),
        "the descriptor read through the ABI is the linked-in one"
    );
    let findings = conformance::check_dyn(&*p);
    assert!(
        findings.is_empty(),
        "conformance through the ABI: {findings:#?}"
    );
    assert_eq!(
        p.abi_version(),
        (
            junction_plugin_abi::ABI_MAJOR,
            junction_plugin_abi::ABI_MINOR
        )
    );
    assert_eq!(p.path(), example_library());
}

#[tokio::test]
async fn validation_results_are_identical_to_the_linked_in_platform() {
    let p = plugin();
    let c = |extra: Value| config("validate-compare", extra);
    let cases: Vec<(Value, bool)> = vec![
        (c(json!({})), false),
        (c(json!({})), true),
        (
            c(json!({"checks": {example::CHECK_CONNECT: knob("fail")}})),
            true,
        ),
        (
            c(json!({"checks": {example::CHECK_PRIVILEGES: knob("warn")}})),
            false,
        ),
        (
            c(
                json!({"checks": {example::CHECK_CONNECT: knob("warn"), example::CHECK_AUTOMATIC: knob("fail")}}),
            ),
            true,
        ),
        // Bad configurations: the same errors, with the same paths.
        (c(json!({"account": " "})), false),
        (c(json!({"installVersion": 9})), false),
        (c(json!({"unknown": 1})), false),
        (json!("not an object"), false),
    ];
    let options = RunOptions::default();
    for (config, auto) in &cases {
        let (linked, linked_progress) =
            validate_collecting(&ExampleDynamic, config, *auto, &options).await;
        let (abi, abi_progress) = validate_collecting(&*p, config, *auto, &options).await;
        assert_eq!(abi, linked, "validate({config}, auto={auto})");
        assert_eq!(
            abi_progress, linked_progress,
            "progress of validate({config}, auto={auto})"
        );
        if let Ok(results) = &abi {
            assert_eq!(abi_progress.len(), results.validation_tests.len());
        }
        // parse and scripts answer the same too.
        let parsed_abi = p
            .parse(config, *auto)
            .map(|x| (x.full, x.public, x.account_key));
        let parsed_linked = ExampleDynamic
            .parse(config, *auto)
            .map(|x| (x.full, x.public, x.account_key));
        assert_eq!(parsed_abi, parsed_linked, "parse({config})");
    }
    let stored = config("validate-compare", json!({}));
    let previous = config("validate-compare", json!({"label": "zero"}));
    for kind in [
        ScriptKind::InitialCreate,
        ScriptKind::Create,
        ScriptKind::Cleanup,
        ScriptKind::Edit,
        ScriptKind::Delete,
    ] {
        for prev in [None, Some(&previous)] {
            assert_eq!(
                p.script(kind, &stored, prev),
                ExampleDynamic.script(kind, &stored, prev),
                "script {kind:?}"
            );
        }
    }
    assert_eq!(
        p.script(ScriptKind::Create, &json!({"account": 1}), None),
        ExampleDynamic.script(ScriptKind::Create, &json!({"account": 1}), None)
    );
    for body in [json!({}), json!({"password": "x"}), json!(3)] {
        assert_eq!(
            p.parse_delete_credentials(&body),
            ExampleDynamic.parse_delete_credentials(&body),
            "delete credentials {body}"
        );
    }
}

/// One lifecycle, step by step; each step's result as text, for comparison.
async fn lifecycle(platform: &dyn DynPlatform, account: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let show = |r: Result<junction_core::DynOutput, OpError>| match r {
        Ok(out) => format!("ok v{} {}", out.bootstrap_version, out.config),
        Err(e) => format!("err {e:?}"),
    };
    let auto = |version: u32| OpContext {
        auto_bootstrap: true,
        bootstrap_version: version,
        ..OpContext::default()
    };
    let first = config(account, json!({}));
    let failing = config(account, json!({"operations": {"create": knob("fail")}}));
    steps.push(show(platform.create(&auto(0), &failing).await));
    steps.push(show(platform.create(&auto(0), &first).await));
    steps.push(show(platform.create(&auto(0), &first).await));
    let second = config(account, json!({"label": "second"}));
    steps.push(show(platform.edit(&auto(1), &first, &second).await));
    let moved = config("elsewhere", json!({}));
    steps.push(show(platform.edit(&auto(1), &second, &moved).await));
    steps.push(show(platform.migrate(&auto(1), &second).await));
    steps.push(show(platform.migrate(&auto(2), &second).await));
    steps.push(format!(
        "{:?}",
        platform.delete(&auto(2), &second, Some(&json!({}))).await
    ));
    steps.push(show(platform.create(&auto(0), &first).await));
    steps.push(format!(
        "{:?}",
        platform.delete(&auto(1), &first, None).await
    ));
    steps
}

#[tokio::test]
async fn the_full_lifecycle_runs_through_the_abi() {
    let p = plugin();
    // The plugin library keeps its own objects, apart from the linked-in copy's,
    // so the same account can run in both.
    let abi = lifecycle(&*p, "lifecycle").await;
    let linked = lifecycle(&ExampleDynamic, "lifecycle").await;
    assert_eq!(abi, linked);
    assert!(
        abi[0].contains("create failed, as configured."),
        "{}",
        abi[0]
    );
    assert!(
        abi[1].starts_with("ok v1 ") && abi[1].contains("generated-for-lifecycle"),
        "{}",
        abi[1]
    );
    assert!(abi[2].contains("already set up"), "{}", abi[2]);
    assert!(
        abi[3].starts_with("ok v1 ") && abi[3].contains("\"second\""),
        "{}",
        abi[3]
    );
    assert!(
        abi[4].contains("Invalid") && abi[4].contains("config.account"),
        "{}",
        abi[4]
    );
    assert!(abi[5].starts_with("ok v2 "), "{}", abi[5]);
    assert!(abi[6].contains("Unsupported"), "{}", abi[6]);
    assert_eq!(abi[7], "Ok(())");
    assert!(
        abi[8].starts_with("ok v1 "),
        "after delete, create works again: {}",
        abi[8]
    );
    assert_eq!(abi[9], "Ok(())");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_get_their_own_answer() {
    let p = plugin();
    let behaviors = [
        ("pass", TestStatus::Passed),
        ("fail", TestStatus::Failed),
        ("warn", TestStatus::Warning),
    ];
    let mut tasks = Vec::new();
    for i in 0..60usize {
        let p = Arc::clone(&p);
        let (behavior, expected) = behaviors[i % 3];
        tasks.push(tokio::spawn(async move {
            let account = format!("concurrent-{i}");
            let delay = (i % 4) as u64;
            let c = config(
                &account,
                json!({"checks": {example::CHECK_CONNECT: {"behavior": behavior, "delayMs": delay}}}),
            );
            let results = p
                .validate(&c, CheckContext::default(), &RunOptions::default(), None)
                .await
                .expect("results");
            assert_eq!(results.validation_tests[0].status, expected, "{account}");
            let out = p.create(&OpContext::default(), &c).await.expect("create");
            assert_eq!(out.config["account"], json!(account));
            p.delete(&OpContext::default(), &c, None).await.expect("delete");
        }));
    }
    for t in tasks {
        t.await.expect("a concurrent caller");
    }
}

#[tokio::test]
async fn a_panicking_check_is_a_failed_test_and_the_host_goes_on() {
    let p = plugin();
    let panicking = config(
        "panicking-check",
        json!({"checks": {example::CHECK_PRIVILEGES: knob("panic")}}),
    );
    let (results, _) = validate_collecting(&*p, &panicking, true, &RunOptions::default()).await;
    let results = results.expect("validation results");
    let by_name = |n: &str| {
        results
            .validation_tests
            .iter()
            .find(|t| t.name == n)
            .cloned()
            .expect("the test is reported")
    };
    assert_eq!(results.status, TestStatus::Failed);
    assert_eq!(by_name(example::CHECK_CONNECT).status, TestStatus::Passed);
    let privileges = by_name(example::CHECK_PRIVILEGES);
    assert_eq!(privileges.status, TestStatus::Failed);
    assert!(
        privileges
            .message
            .as_deref()
            .unwrap_or("")
            .contains("panicked"),
        "{privileges:?}"
    );
    assert_eq!(by_name(example::CHECK_AUTOMATIC).status, TestStatus::Passed);

    // The plugin still answers.
    let fine = config("panicking-check", json!({}));
    let (results, _) = validate_collecting(&*p, &fine, true, &RunOptions::default()).await;
    assert_eq!(
        results.expect("validation results").status,
        TestStatus::Passed
    );
}

#[tokio::test]
async fn a_panicking_operation_is_an_op_error_and_the_host_goes_on() {
    let p = plugin();
    let op = OpContext::default();
    let panicking = config(
        "panicking-op",
        json!({"operations": {"create": knob("panic")}}),
    );
    match p.create(&op, &panicking).await {
        Err(OpError::Failed(message)) => assert!(message.contains("panicked"), "{message}"),
        other => panic!("expected a failed operation, got {other:?}"),
    }
    let fine = config("panicking-op", json!({}));
    let out = p.create(&op, &fine).await.expect("create after a panic");
    assert_eq!(out.bootstrap_version, 1);
    p.delete(&op, &fine, None).await.expect("delete");
}

#[tokio::test]
async fn a_hanging_operation_times_out_and_a_hanging_check_fails() {
    // Ten minutes on the host's paused clock, which jumps to the next timer
    // when nothing else can run: the host gives up at its limit, exactly, and
    // the test does not wait for it. (The plugin runs on its own, real clock.)
    let limit = Duration::from_secs(600);
    let p = load_with(LoadOptions {
        op_timeout: limit,
        ..LoadOptions::default()
    });
    let op = OpContext::default();
    let hanging = config(
        "hanging-op",
        json!({"operations": {"create": knob("hang")}}),
    );
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    match p.create(&op, &hanging).await {
        Err(OpError::Failed(message)) => {
            assert!(
                message.contains("did not finish create within 600 s"),
                "{message}"
            )
        }
        other => panic!("expected a timed-out operation, got {other:?}"),
    }
    let waited = started.elapsed();
    // Not before the limit; and no later than the timer wheel's 1 ms rounding.
    assert!(
        waited >= limit && waited <= limit + Duration::from_millis(1),
        "the host gave up after {waited:?} of its clock, not at its {limit:?} limit"
    );
    // The rest talks to the plugin, whose answers take real time.
    tokio::time::resume();

    // The hung task was cancelled inside the plugin; it serves on.
    let fine = config("hanging-op", json!({}));
    p.create(&op, &fine).await.expect("create after a hang");
    p.delete(&op, &fine, None).await.expect("delete");

    // A hanging check fails by its own timeout, inside the plugin's runner.
    let hanging = config(
        "hanging-op",
        json!({"checks": {example::CHECK_CONNECT: knob("hang")}}),
    );
    let options = RunOptions {
        timeout_override: Some(Duration::from_millis(200)),
        ..RunOptions::default()
    };
    let (results, _) = validate_collecting(&*p, &hanging, false, &options).await;
    let results = results.expect("validation results");
    let connect = &results.validation_tests[0];
    assert_eq!(connect.status, TestStatus::Failed);
    assert!(
        connect.message.as_deref().unwrap_or("").contains("timeout"),
        "{connect:?}"
    );
}

#[test]
fn a_library_built_for_another_abi_major_is_refused_with_its_reason() {
    let path = artifact("junction_plugin_abi_fixture_wrong_major");
    let err = loader::load(&path, &LoadOptions::default()).expect_err("refused");
    match &err {
        LoadError::AbiMajor {
            found, expected, ..
        } => {
            assert_eq!(*found, 999);
            assert_eq!(*expected, junction_plugin_abi::ABI_MAJOR);
        }
        other => panic!("expected an ABI refusal, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains("999.0"), "{message}");
    assert!(
        message.contains(&format!("ABI {}", junction_plugin_abi::ABI_MAJOR)),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
}

/// The C library this process runs with: a real shared library without the entry symbol.
fn libc_path() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            Path::new(p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libc.so"))
        })
        .map(PathBuf::from)
}

#[test]
fn a_library_without_the_entry_symbol_or_not_a_library_is_refused() {
    if let Some(libc) = libc_path() {
        match loader::load(&libc, &LoadOptions::default()) {
            Err(LoadError::MissingSymbol { .. }) => {}
            other => panic!("expected a missing symbol, got {other:?}"),
        }
    } else if cfg!(target_os = "linux") {
        panic!("libc not found in /proc/self/maps");
    }
    let dir = scratch("junk");
    let junk = dir.join(format!("libjunk.{}", std::env::consts::DLL_EXTENSION));
    std::fs::write(&junk, "not a library").expect("write");
    let err = loader::load(&junk, &LoadOptions::default()).expect_err("refused");
    assert!(matches!(err, LoadError::Open { .. }), "{err}");
    assert!(err.to_string().contains("libjunk"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn load_dir_loads_the_good_and_refuses_the_rest() {
    let dir = scratch("dir");
    let ext = std::env::consts::DLL_EXTENSION;
    std::fs::copy(example_library(), dir.join(format!("libexample.{ext}"))).expect("copy");
    std::fs::copy(
        artifact("junction_plugin_abi_fixture_wrong_major"),
        dir.join(format!("libwrong.{ext}")),
    )
    .expect("copy");
    std::fs::write(dir.join(format!("libjunk.{ext}")), "junk").expect("write");
    std::fs::write(dir.join("README.txt"), "not a library").expect("write");

    let loaded = loader::load_dir(&dir, &LoadOptions::default());
    assert_eq!(loaded.len(), 3, "only shared libraries are tried");
    let platform = loaded[0].as_ref().expect("libexample loads");
    assert_eq!(platform.type_name(), example::TYPE_NAME);
    assert!(
        matches!(&loaded[1], Err(LoadError::Open { path, .. }) if path.ends_with(format!("libjunk.{ext}")))
    );
    assert!(
        matches!(&loaded[2], Err(LoadError::AbiMajor { path, .. }) if path.ends_with(format!("libwrong.{ext}")))
    );

    let missing = loader::load_dir(&dir.join("nowhere"), &LoadOptions::default());
    assert!(matches!(
        missing.as_slice(),
        [Err(LoadError::ReadDir { .. })]
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn register_dir_refuses_a_type_name_that_is_already_registered() {
    let dir = scratch("clash");
    let ext = std::env::consts::DLL_EXTENSION;
    std::fs::copy(example_library(), dir.join(format!("libexample.{ext}"))).expect("copy");
    std::fs::copy(
        artifact("junction_plugin_abi_fixture_wrong_major"),
        dir.join(format!("libwrong.{ext}")),
    )
    .expect("copy");

    // Empty registry: the example registers; the other file is refused for its ABI.
    let mut registry = junction_core::Registry::new();
    let report = loader::register_dir(&mut registry, &dir, &LoadOptions::default());
    assert!(report[0].is_ok());
    assert!(matches!(report[1], Err(LoadError::AbiMajor { .. })));
    assert_eq!(registry.names().collect::<Vec<_>>(), [example::TYPE_NAME]);

    // The same platform linked in first: the library is refused, by name.
    let mut registry = junction_core::Registry::new();
    registry.add(Arc::new(ExampleDynamic)).expect("built-in");
    let report = loader::register_dir(&mut registry, &dir, &LoadOptions::default());
    match &report[0] {
        Err(e @ LoadError::Clash { type_name, .. }) => {
            assert_eq!(type_name, example::TYPE_NAME);
            assert!(
                e.to_string()
                    .contains("\"Example Dynamic\" is already registered"),
                "{e}"
            );
        }
        other => panic!("expected a clash, got {other:?}"),
    }
    assert_eq!(registry.len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let p = load_with(LoadOptions {
        op_timeout: Duration::from_millis(200),
        ..LoadOptions::default()
    });
    let secret = |extra: Value| {
        let mut c = config("secrets", extra);
        c["password"] = json!(SENTINEL);
        c
    };
    let mut seen = Vec::new();
    seen.push(format!(
        "{:?}",
        p.parse(&secret(json!({"installVersion": "x"})), false)
    ));
    seen.push(format!(
        "{:?}",
        p.parse(&secret(json!({"account": ""})), false)
    ));
    seen.push(format!(
        "{:?}",
        p.parse_delete_credentials(&json!({"password": SENTINEL}))
    ));
    seen.push(format!(
        "{:?}",
        p.script(ScriptKind::InitialCreate, &secret(json!({})), None)
    ));
    let checks = json!({"checks": {
        example::CHECK_CONNECT: knob("warn"),
        example::CHECK_PRIVILEGES: knob("panic"),
        example::CHECK_AUTOMATIC: knob("hang"),
    }});
    let options = RunOptions {
        timeout_override: Some(Duration::from_millis(200)),
        ..RunOptions::default()
    };
    let (results, progress) = validate_collecting(&*p, &secret(checks), true, &options).await;
    seen.push(format!("{results:?} {progress:?}"));
    let op = OpContext::default();
    for behavior in ["fail", "panic", "hang"] {
        let c = secret(
            json!({"operations": {"create": knob(behavior), "edit": knob(behavior), "migrate": knob(behavior), "delete": knob(behavior)}}),
        );
        let e = p.create(&op, &c).await.expect_err(behavior);
        seen.push(format!("{e:?} {e}"));
        let e = p.edit(&op, &c, &c).await.expect_err(behavior);
        seen.push(format!("{e:?} {e}"));
        let e = p.migrate(&op, &c).await.expect_err(behavior);
        seen.push(format!("{e:?} {e}"));
        let e = p.delete(&op, &c, None).await.expect_err(behavior);
        seen.push(format!("{e:?} {e}"));
    }
    let all = seen.join("\n");
    assert!(!all.contains(SENTINEL), "a secret leaked:\n{all}");
    assert!(
        all.contains("panicked") && all.contains("did not finish"),
        "{all}"
    );
}

/// Collects every event of the host's `tracing`, flattened to text.
struct Capture(Mutex<Vec<String>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={v:?}", f.name()));
            }
        }
        let mut fields = Fields(format!(
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut fields);
        self.0.lock().expect("capture lock").push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn plugin_logs_reach_the_host_tracing() {
    static CAPTURE: std::sync::OnceLock<&'static Capture> = std::sync::OnceLock::new();
    let capture = *CAPTURE.get_or_init(|| Box::leak(Box::new(Capture(Mutex::new(Vec::new())))));
    struct Shared(&'static Capture);
    impl tracing::Subscriber for Shared {
        fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
            self.0.enabled(m)
        }
        fn new_span(&self, a: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            self.0.new_span(a)
        }
        fn record(&self, s: &tracing::span::Id, r: &tracing::span::Record<'_>) {
            self.0.record(s, r)
        }
        fn record_follows_from(&self, s: &tracing::span::Id, f: &tracing::span::Id) {
            self.0.record_follows_from(s, f)
        }
        fn event(&self, e: &tracing::Event<'_>) {
            self.0.event(e)
        }
        fn enter(&self, s: &tracing::span::Id) {
            self.0.enter(s)
        }
        fn exit(&self, s: &tracing::span::Id) {
            self.0.exit(s)
        }
    }
    tracing::subscriber::set_global_default(Shared(capture)).expect("the only global subscriber");

    // A copy of its own: the library initialises now, seeing this subscriber's level.
    let dir = scratch("logs");
    let copy = dir.join(format!("liblogging.{}", std::env::consts::DLL_EXTENSION));
    std::fs::copy(example_library(), &copy).expect("copy");
    let p = loader::load(&copy, &LoadOptions::default()).expect("loads");
    let op = OpContext::default();
    let c = config("logging", json!({}));
    p.create(&op, &c).await.expect("create");
    let panicking = config(
        "logging-2",
        json!({"operations": {"create": knob("panic")}}),
    );
    let _ = p.create(&op, &panicking).await;

    let lines = capture.0.lock().expect("capture lock").clone();
    let forwarded = lines
        .iter()
        .find(|l| l.contains("creating the example integration"))
        .unwrap_or_else(|| panic!("the plugin's event was not forwarded: {lines:#?}"));
    assert!(
        forwarded.starts_with("INFO junction::plugin"),
        "{forwarded}"
    );
    assert!(
        forwarded.contains("plugin=\"liblogging.so\"") || forwarded.contains("liblogging"),
        "{forwarded}"
    );
    assert!(forwarded.contains("account=logging"), "{forwarded}");
    let panic_line = lines
        .iter()
        .find(|l| l.contains("the plugin panicked at"))
        .unwrap_or_else(|| panic!("the plugin's panic was not logged: {lines:#?}"));
    assert!(
        panic_line.starts_with("ERROR junction::plugin"),
        "{panic_line}"
    );
    assert!(
        !panic_line.contains("example plugin panic"),
        "a panic's payload is not logged: {panic_line}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
