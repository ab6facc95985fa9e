//! The registry of platforms: those linked into this binary (by Cargo
//! feature, see the crate root) and the shared libraries of `--plugin-dir`.

use junction_core::{Registry, RegistryError};

/// Every platform linked into this binary.
pub fn registry() -> Result<Registry, RegistryError> {
    Registry::linked()
}

/// What became of one shared library in the plugin directory.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginLoad {
    pub path: String,
    /// The platform's type name, when loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The linked platforms plus every shared-library plugin in `plugin_dir`
/// (`--plugin-dir`). A refused library does not stop the others; each fate is
/// returned and logged.
pub fn registry_with_plugins(
    plugin_dir: Option<&std::path::Path>,
    op_timeout: std::time::Duration,
) -> Result<(Registry, Vec<PluginLoad>), RegistryError> {
    let mut registry = Registry::linked()?;
    let mut loads = Vec::new();
    if let Some(dir) = plugin_dir {
        let options = junction_plugin_abi::loader::LoadOptions {
            op_timeout,
            ..Default::default()
        };
        for fate in junction_plugin_abi::loader::register_dir(&mut registry, dir, &options) {
            match fate {
                Ok(p) => {
                    let type_name = junction_core::DynPlatform::type_name(p.as_ref()).to_owned();
                    tracing::info!(path = %p.path().display(), platform = %type_name, "loaded a plugin library");
                    loads.push(PluginLoad {
                        path: p.path().display().to_string(),
                        r#type: Some(type_name),
                        refused: None,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "refused a plugin library");
                    loads.push(PluginLoad {
                        path: e.path().display().to_string(),
                        r#type: None,
                        refused: Some(e.to_string()),
                    });
                }
            }
        }
    }
    Ok((registry, loads))
}
