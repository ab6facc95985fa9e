//! The OpenAPI document as the real binary serves it: valid OpenAPI 3.1
//! (`openapi-spec-validator`), and true of the server (schemathesis: every
//! check, the stateful phase following the document's links from
//! `POST /integrations` to the id operations, a bounded number of examples).
//! Both tools are pinned PyPI packages that `cargo xtask test` installs in
//! virtual environments under `target/tools/`; they are found through
//! `junction_testkit::stand_ins::tool`, so under `CI=true` a missing one fails.
//!
//! Run here rather than from xtask after the test runner: the server is the
//! one every end-to-end test starts (`junction_testkit::binary`, the binary
//! of the same build, with the synthetic platform), a failure is a test
//! failure like any other, and a filtered run (`cargo xtask test openapi`)
//! runs it alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::{ADMIN, Server};
use junction_testkit::stand_ins;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Examples per operation and phase: the run's budget (README, "Tests").
const MAX_EXAMPLES: &str = "25";

fn document(s: &Server) -> Value {
    let r = s.admin("GET", "/openapi.json", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn write(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    path
}

fn validate(validator: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(validator)
        .arg(file)
        .output()
        .expect("run openapi-spec-validator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let Some(validator) = stand_ins::tool("openapi-spec-validator", "openapi-spec-validator")
    else {
        return;
    };
    let s = Server::start("openapi-valid", &[]);
    let doc = document(&s);
    assert_eq!(doc["openapi"], "3.1.0");
    let (ok, text) = validate(&validator, &write(&s.dir, "openapi.json", &doc));
    assert!(ok, "openapi-spec-validator refused the document:\n{text}");
    assert!(text.contains("OK"), "{text}");

    // The validator does look: an unresolvable reference is refused.
    let mut broken = doc.clone();
    broken["paths"]["/integrations/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"] = serde_json::json!({"$ref": "#/components/schemas/Nope"});
    let (ok, text) = validate(&validator, &write(&s.dir, "broken.json", &broken));
    assert!(!ok, "a broken document passed:\n{text}");
}

/// schemathesis against the server, with the document it serves.
#[test]
fn schemathesis_finds_no_failure() {
    let Some(st) = stand_ins::tool("schemathesis", "st") else {
        return;
    };
    // A validation test that hangs (the synthetic platform's `hang`) fails
    // after a second rather than ten.
    let s = Server::start("openapi-schemathesis", &["--check-timeout", "1s"]);
    let mut doc = document(&s);
    only_synthetic(&mut doc);
    let file = write(&s.dir, "openapi.json", &doc);
    let config = s.dir.join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = Command::new(&st)
        .current_dir(&s.dir)
        .env("SCHEMATHESIS_HOOKS", "")
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&file)
        .args(["--url", &format!("http://{}", s.addr)])
        .args(["--header", &format!("Authorization: Bearer {ADMIN}")])
        .args(["--checks", "all"])
        // Every check but one: DELETE /integrations/{id} starts the removal
        // of the platform's set-up (202) and the integration stays readable,
        // with its history, in `deleting` then `deleted`, as the contract has
        // it, so it is no resource that must answer 404 afterwards. (The
        // other DELETE, of a webhook, is not reached: POST /webhooks is not
        // run, see CONFIG.) Per operation it cannot be turned off: the
        // stateful phase checks it on the GET that follows.
        .args(["--exclude-checks", "use_after_free"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", "17"])
        .args(["--workers", "2"])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "20"])
        .arg("--no-color")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{text}\n\nserver log:\n{}",
        tail(&s.logs(), 4000)
    );
    assert!(!text.contains("No operations"), "{text}");
}

/// The payloads of the synthetic platform only: every other platform's
/// valid configuration names a host on the internet, which the binary would
/// then try to reach, and the tests stay on loopback. (The whole document is
/// what `the_document_is_valid_openapi_3_1` validates.)
fn only_synthetic(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].as_object_mut().unwrap();
    let mut narrowed = 0;
    for (name, schema) in schemas.iter_mut() {
        let Some(keep) = schema["discriminator"]["mapping"]["Synthetic"].as_str() else {
            continue;
        };
        let keep = keep.to_owned();
        schema["oneOf"] = serde_json::json!([{"$ref": keep}]);
        schema["discriminator"]["mapping"] = serde_json::json!({"Synthetic": keep});
        assert!(name.ends_with("Payload"), "{name}");
        narrowed += 1;
    }
    assert_eq!(
        narrowed, 2,
        "Payload and EditPayload with the synthetic platform (a binary built with --features synthetic)"
    );
    let credentials = &mut schemas["DeleteCredentialsBody"];
    assert!(credentials["anyOf"].is_array(), "{credentials}");
    credentials["anyOf"] = serde_json::json!([
        {"$ref": "#/components/schemas/SyntheticDeleteCredentials"},
        {"type": "null"}
    ]);
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    &s[start..]
}

/// What the run is told beyond the command line, and why.
const CONFIG: &str = r#"
# The links from POST /integrations (and POST /webhooks) to the operations
# that take the id are in the document.
[phases.stateful]
enabled = true

# It registers a URL that the delivery worker then calls: any https host
# is valid, and the tests stay on loopback (tests/tests/e2e.rs and the
# events module's tests register loopback receivers).
[[operations]]
include-name = "POST /webhooks"
enabled = false

# The stream stays open for live events unless follow=false.
[[operations]]
include-name = "GET /events"
parameters = { "query.follow" = "false" }

# These take a payload for an integration that exists, and whether a
# schema-valid one is accepted depends on what is stored: its type cannot
# change (400 at `type`), and DELETE credentials are refused for an
# integration set up manually (400 at `body`). No schema can say that.
[[operations]]
include-name = ["PUT /integrations/{id}", "DELETE /integrations/{id}", "POST /integrations/{id}/scripts/edit"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 422, 429]

# An Idempotency-Key that was used before with another body is refused
# (422): the run reuses its few generated keys with other bodies.
[[operations]]
include-name = "POST /integrations"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 422, 429]

# Which scripts a platform has is the platform's: the synthetic platform has
# no initial-create or post-cleanup script (422, as for any it does not have).
[[operations]]
include-name = ["POST /integrations/scripts/initial-create", "POST /integrations/scripts/post-cleanup"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 422, 429]
"#;
