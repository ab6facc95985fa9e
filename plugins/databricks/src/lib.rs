//! # Junction platform: Databricks Unity Catalog
//!
//! Speaks the Unity Catalog REST API 2.1 and the SQL Statement Execution API
//! 2.0 over HTTPS. See the README for the configuration, the tests and what
//! the set-up creates.

pub mod config;

pub use config::DatabricksConfig;

/// The payload's `type`.
pub const TYPE_NAME: &str = "Databricks";
