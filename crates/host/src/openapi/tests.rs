use super::*;
use crate::api::routes;
use std::collections::BTreeSet;

fn descriptors() -> Vec<PlatformDescriptor> {
    crate::registry()
        .expect("registry")
        .iter()
        .map(|p| p.descriptor())
        .collect()
}

fn doc() -> Value {
    let descriptors = descriptors();
    document(&routes(), &descriptors.iter().collect::<Vec<_>>())
}

/// The document's value at a `#/…` reference, if any.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                match (k.as_str(), child) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => refs(child, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
        _ => {}
    }
}

/// axum cannot list its routes, so the table is the only way in: no other
/// `.route(`, `.nest(` or `.merge(` of a router anywhere in the sources.
#[test]
fn routes_are_declared_only_in_the_table() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let rel = path.display().to_string();
            let allowed = rel.ends_with("openapi/mod.rs") || rel.ends_with("openapi/tests.rs");
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                let routes = [".route(", ".nest(", ".nest_service(", ".route_service("]
                    .iter()
                    .any(|p| code.contains(p));
                // Merging the table's own routers is how api.rs assembles them.
                let merges = code.contains(".merge(") && !code.contains("routers.");
                if !allowed && (routes || merges) && !rel.ends_with("api.rs")
                    || rel.ends_with("api.rs") && routes
                {
                    offenders.push(format!("{rel}:{}: {code}", n + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes declared outside api::routes() (add a Route there instead, so the document has it):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_route_is_in_the_document_with_every_answer() {
    let d = doc();
    let mut seen = BTreeSet::new();
    for r in routes() {
        let method = r.method.as_str().to_ascii_lowercase();
        assert!(
            seen.insert((r.path, method.clone())),
            "{method} {} declared twice",
            r.path
        );
        assert!(!r.summary.is_empty(), "{method} {} has no summary", r.path);
        let op = &d["paths"][r.path][&method];
        assert!(op.is_object(), "{method} {} missing", r.path);
        let answers = r.all_answers();
        assert!(
            answers.iter().any(|a| (200..400).contains(&a.status)),
            "{method} {} has no success answer",
            r.path
        );
        for a in answers {
            assert!(
                op["responses"][a.status.to_string()].is_object(),
                "{method} {}: {} missing",
                r.path,
                a.status
            );
        }
        for p in r.placeholders() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert!(
                params.iter().any(|x| x["in"] == "path" && x["name"] == p),
                "{method} {}: path parameter {p} undocumented",
                r.path
            );
        }
        if r.access != Access::Public {
            for s in ["401", "500"] {
                assert!(op["responses"][s].is_object(), "{method} {}: {s}", r.path);
            }
        }
        if r.access == Access::Admin {
            assert!(
                op["responses"]["403"].is_object(),
                "{method} {}: 403",
                r.path
            );
        }
    }
    let ids: Vec<String> = routes().iter().map(Route::operation_id).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "operation ids collide: {ids:?}");
    assert_eq!(
        d["paths"]["/integrations/{id}"]["get"]["operationId"],
        "getIntegrationsById"
    );
}

#[test]
fn the_id_is_bounded_and_its_malformed_form_documented() {
    let d = doc();
    let op = &d["paths"]["/integrations/{id}/status"]["get"];
    let id = &op["parameters"][0];
    assert_eq!(id["name"], "id");
    assert_eq!(id["schema"]["minimum"], 1);
    assert_eq!(id["schema"]["maximum"], i64::MAX);
    assert_eq!(id["schema"]["format"], "int64");
    assert!(op["responses"]["400"].is_object());
}

#[test]
fn every_reference_resolves() {
    let d = doc();
    let mut all = Vec::new();
    refs(&d, &mut all);
    assert!(all.len() > 20, "{all:?}");
    for r in &all {
        assert!(
            r.starts_with("#/components/schemas/"),
            "{r}: not a component"
        );
        assert!(resolve(&d, r).is_some(), "{r} does not resolve");
    }
    assert!(!d.to_string().contains("$defs"), "a $defs left in");
}

#[test]
fn payloads_are_one_of_the_platforms_by_type() {
    let d = doc();
    let schemas = &d["components"]["schemas"];
    let payload = &schemas["Payload"];
    assert_eq!(payload["discriminator"]["propertyName"], "type");
    let descriptors = descriptors();
    assert_eq!(
        payload["oneOf"].as_array().map(Vec::len),
        Some(descriptors.len())
    );
    for p in &descriptors {
        let name = platforms::component_name(&p.type_name);
        let target = payload["discriminator"]["mapping"][&p.type_name]
            .as_str()
            .expect("mapped");
        let one = resolve(&d, target).expect("payload resolves");
        assert_eq!(one["additionalProperties"], false, "{name}");
        assert_eq!(one["properties"]["type"]["const"], p.type_name.as_str());
        assert!(schemas[format!("{name}Config")].is_object(), "{name}Config");
        // The example validates against the platform's own config schema.
        let errors =
            junction_testkit::schema::validate(&p.config_schema, &one["examples"][0]["config"]);
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

/// A body with a member the server refuses is refused by the schema too.
#[test]
fn the_payload_refuses_what_the_server_refuses() {
    let extra = serde_json::json!({"type": "Synthetic", "config": {}, "extra": 1});
    let e = crate::body::payload(Some(extra)).expect_err("refused");
    assert_eq!(e.details[0].path, "extra");
}

/// The validate answer reads into its documented type, whose
/// `deny_unknown_fields` makes a field added on one side only a failure (the
/// integration's text is checked the same way by schemathesis against the
/// binary: its schema refuses unknown members too).
#[test]
fn the_validate_answer_reads_into_its_documented_type() {
    let results = junction_core::ValidationResults::new(vec![junction_core::ValidationTest {
        name: "T".into(),
        status: junction_core::TestStatus::Failed,
        message: Some("no".into()),
    }])
    .with_remedies(vec![junction_core::Remedy {
        test: "T".into(),
        missing: "a grant".into(),
        language: "sql".into(),
        statements: vec!["GRANT X;".into()],
    }]);
    let answer = crate::remedies::validate_answer(&results);
    let v = serde_json::to_value(&answer).expect("json");
    let parsed: types::ValidationAnswer = serde_json::from_value(v).expect("validate answer");
    assert_eq!(parsed.remedies.len(), 1);
}

/// Each platform's payload has exactly the members `Payload` reads (a
/// member added there without its schema here fails), and refuses others
/// as `Payload` does.
#[test]
fn platform_payloads_have_the_members_the_host_reads() {
    let envelope = junction_core::platform::schema_of::<crate::payload::Payload>();
    let members: BTreeSet<&String> = envelope["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    assert_eq!(envelope["additionalProperties"], false);
    let d = doc();
    for p in descriptors() {
        let name = format!("{}Payload", platforms::component_name(&p.type_name));
        let one = &d["components"]["schemas"][&name];
        let documented: BTreeSet<&String> = one["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        assert_eq!(documented, members, "{name}");
        assert_eq!(one["additionalProperties"], false, "{name}");
    }
}

/// An edit may leave a secret out (the stored one is kept): in the edit's
/// own copy of the definitions no secret is required, nested ones too,
/// while the create's keep them.
#[test]
fn an_edit_payload_needs_no_secret() {
    let d = doc();
    let schemas = &d["components"]["schemas"];
    assert!(schemas["EditPayload"]["oneOf"].is_array());
    assert_eq!(
        d["paths"]["/integrations/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/EditPayload"
    );
    for p in descriptors() {
        let name = platforms::component_name(&p.type_name);
        for pointer in &p.secret_paths {
            let top = pointer.trim_start_matches('/');
            if top.contains('/') {
                continue;
            }
            let required = schemas[format!("{name}EditConfig")]["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(!required.contains(&top.into()), "{name}: {top} required");
        }
    }
    if schemas["Snowflake_PrivateKey"].is_object() {
        let required = |n: &str| {
            schemas[n]["required"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        assert!(required("Snowflake_PrivateKey").contains(&"content".into()));
        assert!(!required("SnowflakeEdit_PrivateKey").contains(&"content".into()));
    }
}

/// A Rust integer's schema carries its type's range.
#[test]
fn integers_are_bounded_by_their_type() {
    let mut v = serde_json::json!({"properties": {
        "a": {"type": "integer", "format": "uint64", "minimum": 0},
        "b": {"type": "integer", "format": "uint32", "maximum": 10}
    }});
    bound_integers(&mut v);
    assert_eq!(v["properties"]["a"]["maximum"], u64::MAX);
    assert_eq!(v["properties"]["b"]["maximum"], 10);
    assert_eq!(v["properties"]["b"]["minimum"], 0);
}
