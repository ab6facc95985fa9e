use junction_core::secret::with_secrets_exposed;
use junction_core::{REDACTED, Secret};
use serde::{Deserialize, Serialize};

const SENTINEL: &str = "SENTINEL-core-secret";

#[derive(Debug, Serialize, Deserialize)]
struct Login {
    user: String,
    password: Secret<String>,
}

#[test]
fn debug_display_and_serialize_redact() {
    let l: Login =
        serde_json::from_value(serde_json::json!({"user": "u", "password": SENTINEL})).unwrap();
    assert_eq!(l.password.expose(), SENTINEL);
    for shown in [
        format!("{l:?}"),
        format!("{:#?}", l),
        format!("{}", l.password),
        serde_json::to_string(&l).unwrap(),
    ] {
        assert!(!shown.contains(SENTINEL), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
    }
}

#[test]
fn exposure_is_scoped_to_the_closure() {
    let l = Login {
        user: "u".into(),
        password: Secret::new(SENTINEL.into()),
    };
    let inside = with_secrets_exposed(|| serde_json::to_string(&l).unwrap());
    assert!(inside.contains(SENTINEL));
    let after = serde_json::to_string(&l).unwrap();
    assert!(!after.contains(SENTINEL));
    // A panic inside the scope must not leave exposure switched on.
    let _ = std::panic::catch_unwind(|| with_secrets_exposed(|| panic!("boom")));
    assert!(!serde_json::to_string(&l).unwrap().contains(SENTINEL));
}

#[test]
fn the_schema_marks_secrets_write_only() {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Cfg {
        password: Secret<String>,
        nested: Inner,
        maybe: Option<Secret<String>>,
    }
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        content: Secret<String>,
        name: String,
    }
    let schema = junction_core::platform::schema_of::<Cfg>();
    let paths = junction_core::config::secret_paths(&schema);
    assert_eq!(paths, ["/maybe", "/nested/content", "/password"]);
}
