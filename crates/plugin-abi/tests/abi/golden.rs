//! ABI 1.0's JSON, pinned. Every message that crosses the library boundary is
//! compared with a literal text written here by hand (never with the code's
//! own output), in both directions: what one side writes from core's values,
//! and what the other side reads back into core's values. Renaming a field, an
//! enum spelling or a method name fails one of these tests: a library built
//! against 1.0 would no longer understand its host.

use junction_core::{
    BootstrapModes, CheckContext, CheckDescriptor, ConfigErrors, DeleteCredentials, DynOutput,
    FaultInjection, FieldError, OpContext, OpError, ParsedConfig, Peer, PlatformDescriptor,
    RunOptions, Script, ScriptKind, Status, TestStatus, ValidationResults, ValidationTest,
};
use junction_plugin_abi::ffi;
use junction_plugin_abi::wire::{self, WireError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

fn golden(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("the golden text is not JSON: {e}"))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `message` is written as exactly `text` (key order and spacing aside).
#[track_caller]
fn assert_writes<T: Serialize>(message: &T, text: &str) {
    let written = serde_json::to_value(message).expect("the message is JSON");
    let expected = golden(text);
    assert!(
        written == expected,
        "ABI 1.0 changed: wrote\n{}\nbut 1.0 is\n{}",
        pretty(&written),
        pretty(&expected)
    );
}

/// `text` is read as a `T` that writes `text` again: nothing is lost or renamed on the way.
#[track_caller]
fn assert_reads<T: Serialize + DeserializeOwned>(text: &str) -> T {
    let read: T = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("ABI 1.0's text is no longer read: {e}\n{text}"));
    assert_writes(&read, text);
    read
}

/// Core types without `PartialEq` are compared by their `Debug` text.
#[track_caller]
fn assert_same<T: Debug>(read: &T, expected: &T) {
    assert_eq!(format!("{read:?}"), format!("{expected:?}"));
}

fn peer() -> Peer {
    Peer {
        id: 3,
        status: Status::EditError,
        config: json!({"account": "acme-2"}),
    }
}

fn check_context() -> CheckContext {
    CheckContext {
        integration_id: Some(7),
        auto_bootstrap: true,
        peers: Arc::new(vec![Arc::new(peer())]),
    }
}

fn run_options() -> RunOptions {
    RunOptions {
        default_timeout: Duration::from_secs(10),
        timeout_override: Some(Duration::from_millis(1500)),
        platform: "Example Dynamic".into(),
    }
}

fn op_context() -> OpContext {
    OpContext {
        integration_id: Some(7),
        auto_bootstrap: true,
        bootstrap_version: 1,
        fault: Some(FaultInjection::at("create-user")),
    }
}

fn config() -> Value {
    json!({"account": "acme", "password": "pw"})
}

const OP_CONTEXT: &str = r#"{
    "integrationId": 7,
    "autoBootstrap": true,
    "bootstrapVersion": 1,
    "fault": {"fail_at_step": "create-user"}
}"#;

#[test]
fn method_names_and_status_codes() {
    let methods = [
        (ffi::method::DESCRIPTOR, "descriptor"),
        (ffi::method::PARSE, "parse"),
        (
            ffi::method::PARSE_DELETE_CREDENTIALS,
            "parseDeleteCredentials",
        ),
        (ffi::method::SCRIPT, "script"),
        (ffi::method::VALIDATE, "validate"),
        (ffi::method::CREATE, "create"),
        (ffi::method::EDIT, "edit"),
        (ffi::method::DELETE, "delete"),
        (ffi::method::MIGRATE, "migrate"),
    ];
    for (code, text) in methods {
        assert_eq!(code, text);
    }
    assert_eq!(ffi::ENTRY_SYMBOL, "junction_plugin_entry");
    assert_eq!(
        [
            ffi::STATUS_OK,
            ffi::STATUS_ERROR,
            ffi::STATUS_PANIC,
            ffi::STATUS_CANCELLED
        ],
        [0, 1, 2, 3]
    );
    assert_eq!(
        [
            ffi::LEVEL_OFF,
            ffi::LEVEL_ERROR,
            ffi::LEVEL_WARN,
            ffi::LEVEL_INFO,
            ffi::LEVEL_DEBUG,
            ffi::LEVEL_TRACE
        ],
        [0, 1, 2, 3, 4, 5]
    );
}

#[test]
fn descriptor_answer() {
    let descriptor = PlatformDescriptor {
        type_name: "Example Dynamic".into(),
        description: "An example.".into(),
        bootstrap_modes: BootstrapModes::Both,
        delete_credentials: DeleteCredentials::WhenAutomatic,
        bootstrap_version: 2,
        checks: vec![
            CheckDescriptor {
                name: "Example: connection".into(),
                description: "Connects.".into(),
                requires: vec![],
                applies_only: None,
                timeout_seconds: None,
            },
            CheckDescriptor {
                name: "Example: automatic set-up is possible".into(),
                description: "Sees that it can.".into(),
                requires: vec!["Example: connection".into()],
                applies_only: Some("Only with autoBootstrap.".into()),
                timeout_seconds: Some(2.5),
            },
        ],
        config_schema: json!({"type": "object"}),
        delete_credentials_schema: json!({"type": "object", "properties": {}}),
        secret_paths: vec!["/password".into()],
        example_config: json!({"account": "example-1"}),
    };
    let text = r#"{
        "type": "Example Dynamic",
        "description": "An example.",
        "bootstrapModes": "both",
        "deleteCredentials": "whenAutomatic",
        "bootstrapVersion": 2,
        "checks": [
            {"name": "Example: connection", "description": "Connects.", "requires": []},
            {
                "name": "Example: automatic set-up is possible",
                "description": "Sees that it can.",
                "requires": ["Example: connection"],
                "appliesOnly": "Only with autoBootstrap.",
                "timeoutSeconds": 2.5
            }
        ],
        "configSchema": {"type": "object"},
        "deleteCredentialsSchema": {"type": "object", "properties": {}},
        "secretPaths": ["/password"],
        "exampleConfig": {"account": "example-1"}
    }"#;
    assert_writes(&wire::WireDescriptor::from(descriptor.clone()), text);
    let read: wire::WireDescriptor = assert_reads(text);
    assert_same(&PlatformDescriptor::from(read), &descriptor);
}

#[test]
fn descriptor_enum_spellings() {
    for (modes, text) in [
        (BootstrapModes::Both, "\"both\""),
        (BootstrapModes::ManualOnly, "\"manualOnly\""),
        (BootstrapModes::AutomaticOnly, "\"automaticOnly\""),
    ] {
        assert_writes(&wire::WireBootstrapModes::from(modes), text);
        let read: wire::WireBootstrapModes = assert_reads(text);
        assert_eq!(BootstrapModes::from(read), modes);
    }
    for (credentials, text) in [
        (DeleteCredentials::WhenAutomatic, "\"whenAutomatic\""),
        (DeleteCredentials::Never, "\"never\""),
    ] {
        assert_writes(&wire::WireDeleteCredentials::from(credentials), text);
        let read: wire::WireDeleteCredentials = assert_reads(text);
        assert_eq!(DeleteCredentials::from(read), credentials);
    }
}

#[test]
fn parse_request_and_answer() {
    let config = config();
    let request = wire::ParseIn {
        config: Cow::Borrowed(&config),
        auto_bootstrap: true,
    };
    let text = r#"{"config": {"account": "acme", "password": "pw"}, "autoBootstrap": true}"#;
    assert_writes(&request, text);
    let read: wire::ParseIn<'_> = assert_reads(text);
    assert_eq!((&*read.config, read.auto_bootstrap), (&config, true));

    let answer = ParsedConfig {
        full: config.clone(),
        public: json!({"account": "acme"}),
        account_key: "acme".into(),
    };
    let text = r#"{
        "full": {"account": "acme", "password": "pw"},
        "public": {"account": "acme"},
        "accountKey": "acme"
    }"#;
    assert_writes(&wire::ParseOut::from(answer.clone()), text);
    let read: wire::ParseOut = assert_reads(text);
    assert_same(&ParsedConfig::from(read), &answer);
}

#[test]
fn parse_delete_credentials_request() {
    let body = json!({"password": "pw"});
    let request = wire::DeleteCredentialsIn {
        body: Cow::Borrowed(&body),
    };
    let text = r#"{"body": {"password": "pw"}}"#;
    assert_writes(&request, text);
    let read: wire::DeleteCredentialsIn<'_> = assert_reads(text);
    assert_eq!(*read.body, body);
}

#[test]
fn answers_without_content_are_null() {
    // parseDeleteCredentials and delete answer `null` when they succeed.
    assert_writes(&(), "null");
    let () = assert_reads("null");
}

#[test]
fn script_request_and_answer() {
    let config = config();
    let previous = json!({"account": "acme", "label": "old"});
    let request = wire::ScriptIn {
        kind: ScriptKind::Edit.into(),
        config: Cow::Borrowed(&config),
        previous: Some(Cow::Borrowed(&previous)),
    };
    let text = r#"{
        "kind": "edit",
        "config": {"account": "acme", "password": "pw"},
        "previous": {"account": "acme", "label": "old"}
    }"#;
    assert_writes(&request, text);
    let read: wire::ScriptIn<'_> = assert_reads(text);
    assert_eq!(ScriptKind::from(read.kind), ScriptKind::Edit);
    assert_eq!(
        (&*read.config, read.previous.as_deref()),
        (&config, Some(&previous))
    );

    let request = wire::ScriptIn {
        kind: ScriptKind::Create.into(),
        config: Cow::Borrowed(&config),
        previous: None,
    };
    let text =
        r#"{"kind": "create", "config": {"account": "acme", "password": "pw"}, "previous": null}"#;
    assert_writes(&request, text);
    assert_eq!(assert_reads::<wire::ScriptIn<'_>>(text).previous, None);

    let answer = Script {
        language: "sql".into(),
        statements: vec!["CREATE USER x;".into(), "GRANT y TO x;".into()],
    };
    let text = r#"{"language": "sql", "statements": ["CREATE USER x;", "GRANT y TO x;"]}"#;
    assert_writes(&wire::WireScript::from(answer.clone()), text);
    let read: wire::WireScript = assert_reads(text);
    assert_eq!(Script::from(read), answer);
}

#[test]
fn script_kind_spellings() {
    for (kind, text) in [
        (ScriptKind::InitialCreate, "\"initialCreate\""),
        (ScriptKind::Create, "\"create\""),
        (ScriptKind::Cleanup, "\"cleanup\""),
        (ScriptKind::PostCleanup, "\"postCleanup\""),
        (ScriptKind::Edit, "\"edit\""),
        (ScriptKind::Delete, "\"delete\""),
    ] {
        assert_writes(&wire::WireScriptKind::from(kind), text);
        let read: wire::WireScriptKind = assert_reads(text);
        assert_eq!(ScriptKind::from(read), kind);
    }
}

#[test]
fn validate_request_with_context_peers_and_options() {
    let (config, ctx) = (config(), check_context());
    let request = wire::ValidateIn {
        config: Cow::Borrowed(&config),
        ctx: (&ctx).into(),
        options: (&run_options()).into(),
        progress: true,
    };
    // `ctx` keeps the snake_case names it shipped with in 1.0.
    let text = r#"{
        "config": {"account": "acme", "password": "pw"},
        "ctx": {
            "integration_id": 7,
            "auto_bootstrap": true,
            "peers": [{"id": 3, "status": "editError", "config": {"account": "acme-2"}}]
        },
        "options": {"defaultTimeoutMs": 10000, "timeoutOverrideMs": 1500, "platform": "Example Dynamic"},
        "progress": true
    }"#;
    assert_writes(&request, text);
    let read: wire::ValidateIn<'_> = assert_reads(text);
    assert_eq!(*read.config, config);
    assert_same(&CheckContext::from(read.ctx), &ctx);
    assert_same(&RunOptions::from(read.options), &run_options());
    assert!(read.progress);
}

#[test]
fn validate_request_with_defaults() {
    let (config, ctx) = (config(), CheckContext::default());
    let request = wire::ValidateIn {
        config: Cow::Borrowed(&config),
        ctx: (&ctx).into(),
        options: (&RunOptions::default()).into(),
        progress: false,
    };
    let text = r#"{
        "config": {"account": "acme", "password": "pw"},
        "ctx": {"integration_id": null, "auto_bootstrap": false, "peers": []},
        "options": {"defaultTimeoutMs": 10000, "timeoutOverrideMs": null, "platform": ""},
        "progress": false
    }"#;
    assert_writes(&request, text);
    let read: wire::ValidateIn<'_> = assert_reads(text);
    assert_same(&CheckContext::from(read.ctx), &ctx);
    assert_same(&RunOptions::from(read.options), &RunOptions::default());
    assert!(!read.progress);
}

#[test]
fn peer_status_spellings() {
    let spellings = [
        (Status::Creating, "creating"),
        (Status::CreateError, "createError"),
        (Status::Enabled, "enabled"),
        (Status::Editing, "editing"),
        (Status::EditError, "editError"),
        (Status::Deleting, "deleting"),
        (Status::DeleteError, "deleteError"),
        (Status::Deleted, "deleted"),
        (Status::Migrating, "migrating"),
        (Status::MigrateError, "migrateError"),
    ];
    // ABI minor 0 knows these ten; the two newer statuses cross as `enabled`
    // (set up, holding the account), which every library can read.
    assert_eq!(spellings.len() + 2, Status::ALL.len(), "every status is pinned");
    for newer in [Status::RecurringValidationError, Status::Disabled] {
        let peer = Peer {
            id: 1,
            status: newer,
            config: json!({}),
        };
        assert_writes(
            &wire::WirePeer::from(&peer),
            r#"{"id": 1, "status": "enabled", "config": {}}"#,
        );
    }
    for (status, spelling) in spellings {
        let text = format!(r#"{{"id": 1, "status": "{spelling}", "config": {{}}}}"#);
        let peer = Peer {
            id: 1,
            status,
            config: json!({}),
        };
        assert_writes(&wire::WirePeer::from(&peer), &text);
        let read: wire::WirePeer<'_> = assert_reads(&text);
        assert_same(&Peer::from(read), &peer);
    }
}

#[test]
fn validate_progress_items_and_answer() {
    let failed = ValidationTest {
        name: "Example: connection".into(),
        status: TestStatus::Failed,
        message: Some("Unable to connect to host.".into()),
    };
    let text = r#"{"name": "Example: connection", "status": "failed", "message": "Unable to connect to host."}"#;
    assert_writes(&wire::WireValidationTest::from(failed.clone()), text);
    let read: wire::WireValidationTest = assert_reads(text);
    assert_eq!(ValidationTest::from(read), failed);

    let passed = ValidationTest {
        name: "Example: privileges".into(),
        status: TestStatus::Passed,
        message: None,
    };
    let text = r#"{"name": "Example: privileges", "status": "passed"}"#;
    assert_writes(&wire::WireValidationTest::from(passed.clone()), text);
    let read: wire::WireValidationTest = assert_reads(text);
    assert_eq!(ValidationTest::from(read), passed);

    let skipped = ValidationTest {
        name: "Example: automatic set-up is possible".into(),
        status: TestStatus::Skipped,
        message: Some("Requires Example: connection.".into()),
    };
    let warned = ValidationTest {
        name: "Example: warned".into(),
        status: TestStatus::Warning,
        message: Some("Careful.".into()),
    };
    let answer = ValidationResults::new(vec![failed, passed, skipped, warned]);
    let text = r#"{
        "status": "failed",
        "validationTests": [
            {"name": "Example: connection", "status": "failed", "message": "Unable to connect to host."},
            {"name": "Example: privileges", "status": "passed"},
            {"name": "Example: automatic set-up is possible", "status": "skipped", "message": "Requires Example: connection."},
            {"name": "Example: warned", "status": "warning", "message": "Careful."}
        ]
    }"#;
    assert_writes(&wire::WireValidationResults::from(answer.clone()), text);
    let read: wire::WireValidationResults = assert_reads(text);
    assert_eq!(ValidationResults::from(read), answer);
}

#[test]
fn create_and_migrate_request_with_fault_injection() {
    let (op, config) = (op_context(), config());
    let request = wire::CreateIn {
        op: (&op).into(),
        config: Cow::Borrowed(&config),
    };
    // `fault` keeps the snake_case name it shipped with in 1.0.
    let text =
        format!(r#"{{"op": {OP_CONTEXT}, "config": {{"account": "acme", "password": "pw"}}}}"#);
    assert_writes(&request, &text);
    let read: wire::CreateIn<'_> = assert_reads(&text);
    assert_same(&OpContext::from(read.op), &op);
    assert_eq!(*read.config, config);
}

#[test]
fn op_context_defaults() {
    let (op, empty) = (OpContext::default(), json!({}));
    let request = wire::CreateIn {
        op: (&op).into(),
        config: Cow::Borrowed(&empty),
    };
    let text = r#"{
        "op": {"integrationId": null, "autoBootstrap": false, "bootstrapVersion": 0, "fault": null},
        "config": {}
    }"#;
    assert_writes(&request, text);
    let read: wire::CreateIn<'_> = assert_reads(text);
    assert_same(&OpContext::from(read.op), &op);

    let op = OpContext {
        fault: Some(FaultInjection::default()),
        ..OpContext::default()
    };
    let request = wire::CreateIn {
        op: (&op).into(),
        config: Cow::Borrowed(&empty),
    };
    let text = r#"{
        "op": {"integrationId": null, "autoBootstrap": false, "bootstrapVersion": 0, "fault": {"fail_at_step": null}},
        "config": {}
    }"#;
    assert_writes(&request, text);
    let read: wire::CreateIn<'_> = assert_reads(text);
    assert_same(&OpContext::from(read.op), &op);
}

#[test]
fn edit_request() {
    let (op, old, new) = (
        op_context(),
        json!({"label": "old"}),
        json!({"label": "new"}),
    );
    let request = wire::EditIn {
        op: (&op).into(),
        old: Cow::Borrowed(&old),
        new: Cow::Borrowed(&new),
    };
    let text =
        format!(r#"{{"op": {OP_CONTEXT}, "old": {{"label": "old"}}, "new": {{"label": "new"}}}}"#);
    assert_writes(&request, &text);
    let read: wire::EditIn<'_> = assert_reads(&text);
    assert_same(&OpContext::from(read.op), &op);
    assert_eq!((&*read.old, &*read.new), (&old, &new));
}

#[test]
fn delete_request() {
    let (op, config) = (op_context(), config());
    let privileged = json!({"password": "admin"});
    let request = wire::DeleteIn {
        op: (&op).into(),
        config: Cow::Borrowed(&config),
        privileged: Some(Cow::Borrowed(&privileged)),
    };
    let text = format!(
        r#"{{"op": {OP_CONTEXT}, "config": {{"account": "acme", "password": "pw"}}, "privileged": {{"password": "admin"}}}}"#
    );
    assert_writes(&request, &text);
    let read: wire::DeleteIn<'_> = assert_reads(&text);
    assert_same(&OpContext::from(read.op), &op);
    assert_eq!(*read.config, config);
    assert_eq!(read.privileged.as_deref(), Some(&privileged));

    let request = wire::DeleteIn {
        op: (&op).into(),
        config: Cow::Borrowed(&config),
        privileged: None,
    };
    let text = format!(
        r#"{{"op": {OP_CONTEXT}, "config": {{"account": "acme", "password": "pw"}}, "privileged": null}}"#
    );
    assert_writes(&request, &text);
    assert_eq!(assert_reads::<wire::DeleteIn<'_>>(&text).privileged, None);
}

#[test]
fn op_answer() {
    let answer = DynOutput {
        config: config(),
        bootstrap_version: 2,
    };
    let text = r#"{"config": {"account": "acme", "password": "pw"}, "bootstrapVersion": 2}"#;
    assert_writes(&wire::OpOut::from(answer.clone()), text);
    let read: wire::OpOut = assert_reads(text);
    assert_same(&DynOutput::from(read), &answer);
}

fn field_errors() -> ConfigErrors {
    ConfigErrors(vec![
        FieldError::new("config.account", "must not be empty"),
        FieldError::new("config.port", "must be a number"),
    ])
}

const FIELD_ERRORS: &str = r#"[
    {"path": "config.account", "message": "must not be empty"},
    {"path": "config.port", "message": "must be a number"}
]"#;

#[test]
fn refusals() {
    let cases = [
        (
            WireError::config(field_errors()),
            format!(r#"{{"error": "config", "errors": {FIELD_ERRORS}}}"#),
        ),
        (
            WireError::from(OpError::Invalid(field_errors())),
            format!(r#"{{"error": "invalid", "errors": {FIELD_ERRORS}}}"#),
        ),
        (
            WireError::from(OpError::Unsupported("already at set-up version 2".into())),
            r#"{"error": "unsupported", "message": "already at set-up version 2"}"#.to_owned(),
        ),
        (
            WireError::from(OpError::Failed("create failed, as configured.".into())),
            r#"{"error": "failed", "message": "create failed, as configured."}"#.to_owned(),
        ),
        (
            WireError::BadRequest {
                message: "unknown synchronous method \"x\"".into(),
            },
            r#"{"error": "badRequest", "message": "unknown synchronous method \"x\""}"#.to_owned(),
        ),
    ];
    for (error, text) in cases {
        assert_writes(&error, &text);
        assert_eq!(assert_reads::<WireError>(&text), error);
        if let WireError::Config { errors } | WireError::Invalid { errors } = error {
            assert_eq!(
                ConfigErrors::from(errors),
                field_errors(),
                "the paths come back as they were sent"
            );
        }
    }
}

/// A later 1.x minor may add fields: whichever side is older ignores them.
#[test]
fn fields_a_later_minor_adds_are_ignored() {
    let request = r#"{
        "config": {"account": "acme"},
        "ctx": {"integration_id": 7, "auto_bootstrap": true, "peers": [
            {"id": 3, "status": "enabled", "config": {}, "addedLater": 1}
        ], "addedLater": 1},
        "options": {"defaultTimeoutMs": 10000, "timeoutOverrideMs": null, "platform": "", "addedLater": 1},
        "progress": false,
        "addedLater": {"any": "thing"}
    }"#;
    let read: wire::ValidateIn<'_> =
        serde_json::from_str(request).expect("a request with more fields is read");
    let ctx = CheckContext::from(read.ctx);
    assert_eq!((ctx.integration_id, ctx.peers.len()), (Some(7), 1));

    let request = r#"{
        "op": {"integrationId": null, "autoBootstrap": false, "bootstrapVersion": 0,
               "fault": {"fail_at_step": "x", "addedLater": 1}, "addedLater": 1},
        "config": {}, "addedLater": 1
    }"#;
    let read: wire::CreateIn<'_> =
        serde_json::from_str(request).expect("a request with more fields is read");
    assert_eq!(
        OpContext::from(read.op).fault,
        Some(FaultInjection::at("x"))
    );

    let answer = r#"{"status": "passed", "validationTests": [
        {"name": "a", "status": "passed", "addedLater": 1}
    ], "addedLater": 1}"#;
    let read: wire::WireValidationResults =
        serde_json::from_str(answer).expect("an answer with more fields is read");
    assert_eq!(ValidationResults::from(read).status, TestStatus::Passed);

    let answer = r#"{"error": "failed", "message": "no", "addedLater": 1}"#;
    let read: WireError = serde_json::from_str(answer).expect("a refusal with more fields is read");
    assert_eq!(
        read,
        WireError::Failed {
            message: "no".into()
        }
    );
}

/// Added within 1.x: the remedies of failed and warning tests, beside the
/// results. A 1.0 library's answer has none and reads as none; an answer
/// without remedies is written exactly as 1.0 wrote it.
#[test]
fn validation_answer_with_remedies() {
    use junction_core::Remedy;
    let failed = ValidationTest {
        name: "Example: privileges".into(),
        status: TestStatus::Failed,
        message: Some("The user may not use the warehouse.".into()),
    };
    let remedy = Remedy {
        test: "Example: privileges".into(),
        missing: "USAGE on the warehouse \"WH\" for the role \"R\"".into(),
        language: "sql".into(),
        statements: vec!["GRANT USAGE ON WAREHOUSE \"WH\" TO ROLE \"R\";".into()],
    };
    let answer = ValidationResults::new(vec![failed]).with_remedies(vec![remedy]);
    let text = r#"{
        "status": "failed",
        "validationTests": [
            {"name": "Example: privileges", "status": "failed", "message": "The user may not use the warehouse."}
        ],
        "remedies": [
            {"test": "Example: privileges", "missing": "USAGE on the warehouse \"WH\" for the role \"R\"",
             "language": "sql", "statements": ["GRANT USAGE ON WAREHOUSE \"WH\" TO ROLE \"R\";"]}
        ]
    }"#;
    assert_writes(&wire::WireValidationResults::from(answer.clone()), text);
    let read: wire::WireValidationResults = assert_reads(text);
    let back = ValidationResults::from(read);
    assert_eq!(back, answer);
    assert_eq!(back.remedies.len(), 1);

    // A 1.0 library's answer: no remedies.
    let old = r#"{"status": "passed", "validationTests": [{"name": "a", "status": "passed"}]}"#;
    let read: wire::WireValidationResults = assert_reads(old);
    assert!(ValidationResults::from(read).remedies.is_empty());
}
