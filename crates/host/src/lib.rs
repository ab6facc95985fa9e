//! The `junction` host: HTTP API, embedded store, lifecycle runner and CLI,
//! composed from the platform plugins its Cargo features enable.

// Each enabled platform crate is named so that its registration is linked.
#[cfg(feature = "redshift")]
#[allow(unused_extern_crates)]
extern crate junction_redshift;
#[cfg(feature = "s3")]
#[allow(unused_extern_crates)]
extern crate junction_s3;
#[cfg(feature = "snowflake")]
#[allow(unused_extern_crates)]
extern crate junction_snowflake;
// new-plugin: extern crates above
#[cfg(feature = "synthetic")]
#[allow(unused_extern_crates)]
extern crate junction_testkit;

pub mod api;
pub mod auth;
pub mod body;
pub mod client;
pub mod crypto;
pub mod error;
pub mod host;
pub mod openapi;
pub mod payload;
pub mod registry;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod util;

pub use registry::{PluginLoad, registry, registry_with_plugins};

/// The type names of the platforms this build's features enable.
pub fn enabled_platforms() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = vec![
        #[cfg(feature = "redshift")]
        junction_redshift::TYPE_NAME,
        #[cfg(feature = "s3")]
        junction_s3::TYPE_NAME,
        #[cfg(feature = "snowflake")]
        junction_snowflake::TYPE_NAME,
        // new-plugin: enabled platforms above
        #[cfg(feature = "synthetic")]
        junction_testkit::synthetic::TYPE_NAME,
    ];
    v.sort_unstable();
    v
}
