//! The platform table: every installed platform by type name, with the
//! descriptor read once at start.

use super::HostError;
use junction_core::{DynPlatform, PlatformDescriptor, Registry};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A platform and what the host keeps about it.
pub struct PlatformEntry {
    pub platform: Arc<dyn DynPlatform>,
    pub descriptor: PlatformDescriptor,
}

impl PlatformEntry {
    /// The JSON pointers of the platform's secret fields.
    pub fn secret_paths(&self) -> &[String] {
        &self.descriptor.secret_paths
    }
}

/// The installed platforms, by type name.
pub struct Platforms(BTreeMap<String, PlatformEntry>);

impl Platforms {
    pub fn new(registry: &Registry) -> Self {
        Platforms(
            registry
                .iter()
                .map(|p| {
                    let descriptor = p.descriptor();
                    (
                        descriptor.type_name.clone(),
                        PlatformEntry {
                            platform: Arc::clone(p),
                            descriptor,
                        },
                    )
                })
                .collect(),
        )
    }

    /// The platform of `type_name`; an unknown type names the installed ones.
    pub fn get(&self, type_name: &str) -> Result<&PlatformEntry, HostError> {
        self.0.get(type_name).ok_or_else(|| HostError::UnknownType {
            type_name: type_name.to_owned(),
            known: self.names().into_iter().map(str::to_owned).collect(),
        })
    }

    /// The type names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }

    /// The descriptors, by type name.
    pub fn descriptors(&self) -> Vec<&PlatformDescriptor> {
        self.0.values().map(|e| &e.descriptor).collect()
    }
}
