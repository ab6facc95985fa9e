//! # Junction platform: Google BigQuery
//!
//! Being built: the configuration and the service-account JWT first; the
//! client, checks and set-up follow on the platform kit.

pub mod config;
pub use config::BigQueryConfig;
pub mod credential;
pub mod jwt;

/// The payload's `type`.
pub const TYPE_NAME: &str = "Google BigQuery";
