//! The conformance suite: what every platform must satisfy, in one call.
//!
//! ```ignore
//! #[test]
//! fn conformance() {
//!     junction_testkit::conformance::assert_conforms(&MyPlatform::new());
//! }
//! ```

use crate::{SENTINEL, schema};
use junction_core::{DynPlatform, Platform};
use serde_json::Value;
use std::collections::BTreeSet;

/// Panics with every finding when the platform does not conform.
#[track_caller]
pub fn assert_conforms<P: Platform>(platform: &P) {
    let findings = check_typed(platform);
    assert!(
        findings.is_empty(),
        "platform \"{}\" does not conform:\n- {}",
        Platform::type_name(platform),
        findings.join("\n- ")
    );
}

/// Every finding for a platform written in Rust: the dynamic checks plus
/// `Debug` and plain serialisation of its typed config.
pub fn check_typed<P: Platform>(platform: &P) -> Vec<String> {
    let mut findings = check_dyn(platform);
    let descriptor = DynPlatform::descriptor(platform);
    let example = with_sentinels(&descriptor.example_config, &descriptor.secret_paths);
    match junction_core::config::from_json_at::<P::Config>(&example, "config") {
        Ok(typed) => {
            if format!("{typed:?}").contains(SENTINEL) {
                findings.push("Debug of the parsed config shows a secret".into());
            }
            match serde_json::to_string(&typed) {
                Ok(s) if s.contains(SENTINEL) => {
                    findings.push("serialising the parsed config shows a secret".into())
                }
                Ok(_) => {}
                Err(e) => findings.push(format!("the parsed config does not serialise: {e}")),
            }
        }
        Err(e) => findings.push(format!(
            "the example config with sentinel secrets does not parse: {e}"
        )),
    }
    findings
}

/// Every finding that needs only the type-erased face (shared-library plugins too).
pub fn check_dyn(platform: &dyn DynPlatform) -> Vec<String> {
    let mut findings = Vec::new();
    let d = platform.descriptor();
    if d.type_name.trim().is_empty() {
        findings.push("the type name is empty".into());
    }
    if d.type_name != platform.type_name() {
        findings.push("the descriptor's type name differs from type_name()".into());
    }

    // Checks: names unique and non-empty, prerequisites declared, no cycle.
    let mut names = BTreeSet::new();
    for c in &d.checks {
        if c.name.trim().is_empty() {
            findings.push("a check has an empty name".into());
        }
        if !names.insert(c.name.as_str()) {
            findings.push(format!("check name \"{}\" is declared twice", c.name));
        }
        if c.description.trim().is_empty() {
            findings.push(format!("check \"{}\" has no description", c.name));
        }
    }
    for c in &d.checks {
        for r in &c.requires {
            if !names.contains(r.as_str()) {
                findings.push(format!(
                    "check \"{}\" requires \"{r}\", which is not declared",
                    c.name
                ));
            }
            if r == &c.name {
                findings.push(format!("check \"{}\" requires itself", c.name));
            }
        }
    }
    if let Some(cycle) = find_cycle(&d.checks) {
        findings.push(format!("the prerequisites of \"{cycle}\" form a cycle"));
    }

    // Schema: present, an object schema, accepting the example.
    if !d.config_schema.is_object() {
        findings.push("the config JSON Schema is missing".into());
    } else {
        for e in schema::validate(&d.config_schema, &d.example_config) {
            findings.push(format!("the JSON Schema refuses the example config: {e}"));
        }
    }

    // The example parses in a mode the platform allows.
    let auto = !d.bootstrap_modes.allows(false);
    if let Err(e) = platform.parse(&d.example_config, auto) {
        findings.push(format!("the example config does not parse: {e}"));
    }

    // Secrets: every declared path holds the secret in `full` and nowhere else.
    let example = with_sentinels(&d.example_config, &d.secret_paths);
    match platform.parse(&example, auto) {
        Ok(parsed) => {
            for p in &d.secret_paths {
                if example.pointer(p).is_some()
                    && parsed.full.pointer(p).and_then(Value::as_str) != Some(SENTINEL)
                {
                    findings.push(format!("secret {p} is not kept in the stored config"));
                }
            }
            if parsed.public.to_string().contains(SENTINEL) {
                findings.push("the public config shows a secret".into());
            }
            if parsed.account_key.contains(SENTINEL) {
                findings.push("the account key shows a secret".into());
            }
        }
        Err(e) => findings.push(format!(
            "the example config with sentinel secrets does not parse: {e}"
        )),
    }
    findings
}

/// The example with every secret path that it holds (as a string) set to [`SENTINEL`].
pub fn with_sentinels(example: &Value, paths: &[String]) -> Value {
    let mut v = example.clone();
    for p in paths {
        if let Some(slot) = v.pointer_mut(p) {
            if slot.is_string() {
                *slot = Value::String(SENTINEL.into());
            }
        }
    }
    v
}

fn find_cycle(checks: &[junction_core::CheckDescriptor]) -> Option<String> {
    fn visit<'a>(
        name: &'a str,
        checks: &'a [junction_core::CheckDescriptor],
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if stack.contains(&name) {
            return Some(name.to_owned());
        }
        if !done.insert(name) {
            return None;
        }
        stack.push(name);
        let found = checks.iter().find(|c| c.name == name).and_then(|c| {
            c.requires
                .iter()
                .find_map(|r| visit(r, checks, stack, done))
        });
        stack.pop();
        found
    }
    let mut done = BTreeSet::new();
    checks
        .iter()
        .find_map(|c| visit(&c.name, checks, &mut Vec::new(), &mut done))
}
