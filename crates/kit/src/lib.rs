//! # The platform kit
//!
//! What Junction's platforms share, so that a platform crate holds only what
//! is its own (OpenDAL's `raw/` toolkit is the model). A platform implements a
//! small trait and gets the rest:
//!
//! | module | what it gives a platform |
//! |---|---|
//! | [`lifecycle`] | [`Planned`], the trait of a platform whose set-up is a plan, and [`Kit`], which turns one into a `junction_core::Platform`: automatic vs manual create, fields fixed after create, migrate guards, delete with or without privileged credentials, spans, plan running with rollback |
//! | [`sql`] | [`Dialect`] quoting (PostgreSQL/Redshift, Snowflake, T-SQL), the password placeholder of manual scripts, [`SqlAction`] |
//! | [`password`] | generated passwords from the operating system's CSPRNG |
//! | [`config`] | configuration pieces the SQL platforms share: impersonation (its default role per platform), the connect timeout and its rule |
//! | [`contract`] | the response contract's strings that several platforms share, each once |
//! | [`remedy`] | remedies: the statements (SQL in a dialect, shell commands) that add what a failed test found missing, secrets as placeholders |
//! | `jwt` (feature `jwt`) | RS256 JSON Web Tokens on aws-lc-rs, and the RSA key of a PKCS#8 PEM |
//! | `http` (feature `http`) | JSON over HTTPS on reqwest/rustls: timeouts, typed errors (an HTML page is not JSON), retries of idempotent calls with `Retry-After`, cached bearer tokens |
//!
//! A platform registers as `junction_core::register_platform!(junction_kit::Kit(MyPlatform::new()))`.
//!
//! The kit depends on `junction-core` only (and reqwest behind `http`); it
//! knows no platform, and no platform needs the host.

pub mod config;
pub mod contract;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod lifecycle;
pub mod password;
pub mod remedy;
pub mod sql;

pub use lifecycle::{Executor, Kit, Planned, Run, Work, fixed_field};
pub use sql::{Dialect, SqlAction};

/// A platform crate's `#[doc(hidden)] pub mod testing`: its private modules'
/// public items, for the crate's own integration tests and benchmarks only
/// (`junction_kit::test_hooks!(bootstrap, checks, client);`).
#[macro_export]
macro_rules! test_hooks {
    ($($module:ident),* $(,)?) => {
        /// For this crate's own tests and benchmark (the plans, checks and
        /// clients they drive directly); not part of the platform's surface.
        #[doc(hidden)]
        pub mod testing {
            $(
                pub mod $module {
                    pub use crate::$module::*;
                }
            )*
        }
    };
}
