//! The platforms a binary knows: the ones linked in (registered with
//! [`register_platform!`](crate::register_platform)) plus any added at run time.

use crate::platform::DynPlatform;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One linked-in platform, submitted by [`register_platform!`](crate::register_platform).
pub struct Registration {
    make: fn() -> Box<dyn DynPlatform>,
}

impl Registration {
    #[doc(hidden)]
    pub const fn new(make: fn() -> Box<dyn DynPlatform>) -> Self {
        Registration { make }
    }
}

inventory::collect!(Registration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("two platforms have the type name \"{0}\"")]
    Duplicate(String),
    #[error("a platform's type name is empty")]
    EmptyName,
}

/// Platforms by type name, sorted.
#[derive(Default, Clone)]
pub struct Registry {
    platforms: BTreeMap<String, Arc<dyn DynPlatform>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.platforms.keys()).finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Every platform registered by a crate linked into this binary.
    pub fn linked() -> Result<Self, RegistryError> {
        let mut registry = Registry::new();
        for reg in inventory::iter::<Registration> {
            registry.add(Arc::from((reg.make)()))?;
        }
        Ok(registry)
    }

    /// Adds a platform; refuses a second one with the same type name.
    pub fn add(&mut self, platform: Arc<dyn DynPlatform>) -> Result<(), RegistryError> {
        let name = platform.type_name().to_owned();
        if name.is_empty() {
            return Err(RegistryError::EmptyName);
        }
        if self.platforms.contains_key(&name) {
            return Err(RegistryError::Duplicate(name));
        }
        self.platforms.insert(name, platform);
        Ok(())
    }

    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn DynPlatform>> {
        self.platforms.get(type_name)
    }

    /// Type names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.platforms.keys().map(String::as_str)
    }

    /// Platforms, sorted by type name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn DynPlatform>> {
        self.platforms.values()
    }

    pub fn len(&self) -> usize {
        self.platforms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.platforms.is_empty()
    }
}

/// Registers a [`Platform`](crate::Platform) value with the binary it is linked
/// into. Call it once in the plugin crate's root:
///
/// ```ignore
/// junction_core::register_platform!(MyPlatform::new());
/// ```
///
/// It expands through the core's re-export of `inventory`, so a plugin crate
/// does not depend on `inventory` itself.
#[macro_export]
macro_rules! register_platform {
    ($platform:expr) => {
        const _: () = {
            fn __junction_make_platform() -> ::std::boxed::Box<dyn $crate::DynPlatform> {
                ::std::boxed::Box::new($platform)
            }
            $crate::__private::inventory::submit! {
                $crate::Registration::new(__junction_make_platform)
            }
        };
    };
}
