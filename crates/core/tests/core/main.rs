//! The core's integration tests: one binary, a module per area.

mod config;
mod plan;
mod registry;
mod runner;
mod secret;
mod transitions;
mod validation;
