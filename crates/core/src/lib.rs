//! Junction's model. No I/O and no platform lives here: statuses and their
//! transitions, validation results, checks and the runner, the `Platform`
//! trait, `Secret<T>`, set-up plans, and the registration macro.

pub mod check;
pub mod config;
pub mod plan;
pub mod platform;
pub mod registry;
pub mod runner;
pub mod secret;
pub mod status;
pub mod validation;

pub use async_trait::async_trait;
pub use check::{Check, CheckContext, CheckDescriptor, CheckOutcome, Peer};
pub use config::{ConfigErrors, FieldError};
pub use plan::{Action, FaultInjection, Plan, Step};
pub use platform::{
    BootstrapModes, DeleteCredentials, DynOutput, DynPlatform, NoCredentials, OpContext, OpError,
    OpOutput, ParsedConfig, Platform, PlatformConfig, PlatformDescriptor, Script, ScriptKind,
};
pub use registry::{Registration, Registry, RegistryError};
pub use runner::{RunOptions, run_checks};
pub use secret::{REDACTED, Secret};
pub use status::{Event, Status, TransitionError, transition};
pub use validation::{Fix, Remedy, TestStatus, ValidationResults, ValidationTest};

pub use serde_json;

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
