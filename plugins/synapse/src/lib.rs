//! # Junction platform: Azure Synapse Analytics
//!
//! Speaks TDS through tiberius (rustls on aws-lc-rs). See the README for the
//! configuration, the tests and what the set-up creates.

pub mod config;

pub use config::SynapseConfig;

/// The payload's `type`.
pub const TYPE_NAME: &str = "Azure Synapse Analytics";
