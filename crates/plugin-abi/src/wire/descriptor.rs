//! The answer to `descriptor` (its request is `null`): the platform as data.

use junction_core::{BootstrapModes, CheckDescriptor, DeleteCredentials, PlatformDescriptor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDescriptor {
    #[serde(rename = "type")]
    pub type_name: String,
    pub description: String,
    pub bootstrap_modes: WireBootstrapModes,
    pub delete_credentials: WireDeleteCredentials,
    pub bootstrap_version: u32,
    pub checks: Vec<WireCheckDescriptor>,
    pub config_schema: Value,
    pub delete_credentials_schema: Value,
    pub secret_paths: Vec<String>,
    pub example_config: Value,
}

impl From<PlatformDescriptor> for WireDescriptor {
    fn from(d: PlatformDescriptor) -> Self {
        let PlatformDescriptor {
            type_name,
            description,
            bootstrap_modes,
            delete_credentials,
            bootstrap_version,
            checks,
            config_schema,
            delete_credentials_schema,
            secret_paths,
            example_config,
        } = d;
        WireDescriptor {
            type_name,
            description,
            bootstrap_modes: bootstrap_modes.into(),
            delete_credentials: delete_credentials.into(),
            bootstrap_version,
            checks: checks.into_iter().map(Into::into).collect(),
            config_schema,
            delete_credentials_schema,
            secret_paths,
            example_config,
        }
    }
}

impl From<WireDescriptor> for PlatformDescriptor {
    fn from(d: WireDescriptor) -> Self {
        let WireDescriptor {
            type_name,
            description,
            bootstrap_modes,
            delete_credentials,
            bootstrap_version,
            checks,
            config_schema,
            delete_credentials_schema,
            secret_paths,
            example_config,
        } = d;
        PlatformDescriptor {
            type_name,
            description,
            bootstrap_modes: bootstrap_modes.into(),
            delete_credentials: delete_credentials.into(),
            bootstrap_version,
            checks: checks.into_iter().map(Into::into).collect(),
            config_schema,
            delete_credentials_schema,
            secret_paths,
            example_config,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCheckDescriptor {
    pub name: String,
    pub description: String,
    pub requires: Vec<String>,
    /// Absent when the check always applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_only: Option<String>,
    /// Absent when the check takes the run's default timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
}

impl From<CheckDescriptor> for WireCheckDescriptor {
    fn from(c: CheckDescriptor) -> Self {
        let CheckDescriptor {
            name,
            description,
            requires,
            applies_only,
            timeout_seconds,
        } = c;
        WireCheckDescriptor {
            name,
            description,
            requires,
            applies_only,
            timeout_seconds,
        }
    }
}

impl From<WireCheckDescriptor> for CheckDescriptor {
    fn from(c: WireCheckDescriptor) -> Self {
        let WireCheckDescriptor {
            name,
            description,
            requires,
            applies_only,
            timeout_seconds,
        } = c;
        CheckDescriptor {
            name,
            description,
            requires,
            applies_only,
            timeout_seconds,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireBootstrapModes {
    Both,
    ManualOnly,
    AutomaticOnly,
}

impl From<BootstrapModes> for WireBootstrapModes {
    fn from(m: BootstrapModes) -> Self {
        match m {
            BootstrapModes::Both => WireBootstrapModes::Both,
            BootstrapModes::ManualOnly => WireBootstrapModes::ManualOnly,
            BootstrapModes::AutomaticOnly => WireBootstrapModes::AutomaticOnly,
        }
    }
}

impl From<WireBootstrapModes> for BootstrapModes {
    fn from(m: WireBootstrapModes) -> Self {
        match m {
            WireBootstrapModes::Both => BootstrapModes::Both,
            WireBootstrapModes::ManualOnly => BootstrapModes::ManualOnly,
            WireBootstrapModes::AutomaticOnly => BootstrapModes::AutomaticOnly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireDeleteCredentials {
    WhenAutomatic,
    Never,
}

impl From<DeleteCredentials> for WireDeleteCredentials {
    fn from(d: DeleteCredentials) -> Self {
        match d {
            DeleteCredentials::WhenAutomatic => WireDeleteCredentials::WhenAutomatic,
            DeleteCredentials::Never => WireDeleteCredentials::Never,
        }
    }
}

impl From<WireDeleteCredentials> for DeleteCredentials {
    fn from(d: WireDeleteCredentials) -> Self {
        match d {
            WireDeleteCredentials::WhenAutomatic => DeleteCredentials::WhenAutomatic,
            WireDeleteCredentials::Never => DeleteCredentials::Never,
        }
    }
}
