use junction_core::{DynPlatform, Registry, RegistryError};
use junction_testkit_free::Fixed;
use std::sync::Arc;

/// A minimal platform for registry tests (the core's tests cannot use testkit,
/// which depends on the core).
mod junction_testkit_free {
    use junction_core::*;
    use serde_json::Value;

    #[derive(Debug)]
    pub struct Fixed(pub &'static str);

    #[async_trait]
    impl Platform for Fixed {
        type Config = Value;
        type DeleteCredentials = NoCredentials;
        fn type_name(&self) -> &'static str {
            self.0
        }
        fn description(&self) -> &'static str {
            "fixed"
        }
        fn example_config(&self) -> Value {
            Value::Null
        }
        fn account_key(&self, _: &Value) -> String {
            String::new()
        }
        fn checks(&self) -> Vec<Check<Value>> {
            Vec::new()
        }
        async fn create(&self, _: &OpContext, config: Value) -> Result<OpOutput<Value>, OpError> {
            Ok(OpOutput {
                config,
                bootstrap_version: 1,
            })
        }
        async fn edit(
            &self,
            _: &OpContext,
            _: Value,
            config: Value,
        ) -> Result<OpOutput<Value>, OpError> {
            Ok(OpOutput {
                config,
                bootstrap_version: 1,
            })
        }
        async fn delete(
            &self,
            _: &OpContext,
            _: Value,
            _: Option<NoCredentials>,
        ) -> Result<(), OpError> {
            Ok(())
        }
        async fn migrate(&self, _: &OpContext, config: Value) -> Result<OpOutput<Value>, OpError> {
            Ok(OpOutput {
                config,
                bootstrap_version: 1,
            })
        }
        fn script(&self, _: ScriptKind, _: &Value, _: Option<&Value>) -> Result<Script, OpError> {
            Ok(Script::sql(vec![]))
        }
    }
}

junction_core::register_platform!(Fixed("Registered By Macro"));

#[test]
fn the_macro_registers_through_the_core_and_the_registry_sorts() {
    let mut r = Registry::linked().unwrap();
    assert_eq!(r.names().collect::<Vec<_>>(), ["Registered By Macro"]);
    r.add(Arc::new(Fixed("Another"))).unwrap();
    r.add(Arc::new(Fixed("Zed"))).unwrap();
    assert_eq!(
        r.names().collect::<Vec<_>>(),
        ["Another", "Registered By Macro", "Zed"]
    );
    assert_eq!(
        r.get("Zed").map(|p| p.type_name().to_owned()),
        Some("Zed".into())
    );
}

#[test]
fn the_registry_refuses_duplicate_and_empty_names() {
    let mut r = Registry::new();
    r.add(Arc::new(Fixed("Snowflake"))).unwrap();
    assert_eq!(
        r.add(Arc::new(Fixed("Snowflake"))),
        Err(RegistryError::Duplicate("Snowflake".into()))
    );
    assert_eq!(r.add(Arc::new(Fixed(""))), Err(RegistryError::EmptyName));
    assert_eq!(r.len(), 1);
    let d: &dyn DynPlatform = r.get("Snowflake").unwrap().as_ref();
    assert_eq!(d.descriptor().type_name, "Snowflake");
}
