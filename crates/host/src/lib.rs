//! The `junction` host: HTTP API, embedded store, lifecycle runner and CLI,
//! composed from the platform plugins its Cargo features enable.

pub mod api;
pub mod auth;
pub mod body;
pub mod client;
pub mod crypto;
pub mod edge;
pub mod error;
pub mod events;
/// The fuzz targets' bodies (`fuzz/`), run over their corpus by the unit tests.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod list;
pub mod metrics;
pub mod openapi;
pub mod payload;
pub mod registry;
pub mod remedies;
pub mod rotate;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod tls;
pub mod ui;
pub mod util;
pub mod views;

pub use registry::{PluginLoad, registry, registry_with_plugins};

/// Links the platform crates and lists their type names: one line per
/// platform, `"feature" => crate` (the crate's `TYPE_NAME` is its type name),
/// each behind its Cargo feature of the same name.
macro_rules! platforms {
    ($($feature:literal => $krate:ident $(:: $module:ident)*,)*) => {
        // Each enabled platform crate is named so that its registration is linked.
        $(
            #[cfg(feature = $feature)]
            #[allow(unused_extern_crates)]
            extern crate $krate;
        )*

        /// The type names of the platforms this build's features enable.
        pub fn enabled_platforms() -> Vec<&'static str> {
            let mut v: Vec<&'static str> = vec![
                $(
                    #[cfg(feature = $feature)]
                    $krate $(:: $module)* ::TYPE_NAME,
                )*
            ];
            v.sort_unstable();
            v
        }
    };
}

// Adding a platform: one line here, plus its feature and optional dependency
// in this crate's Cargo.toml (`cargo xtask new-plugin` writes all three).
platforms! {
    "redshift" => junction_redshift,
    "s3" => junction_s3,
    "snowflake" => junction_snowflake,
    "databricks" => junction_databricks,
    "synapse" => junction_synapse,
    "bigquery" => junction_bigquery,
    // new-plugin: platforms above, one line each: "name" => junction_name,
    // Test-only: the synthetic platform (feature `synthetic`, never in a release).
    "synthetic" => junction_testkit::synthetic,
}
