//! fairmark: audits precision-marketing data against privacy, fair-pricing and anti-spam law.
//!
//! Data flows one way: [`config`] and [`policy`] → [`engine`] (datasets registered, mapped,
//! pseudonymized inside DataFusion plans by the [`functions`] it is opened with) → the
//! [`derived`] tables and the [`segment`]ation → [`checks`] → [`findings`] → [`report`]
//! renderers → files and an exit code. Nothing below the CLI prints.

pub mod audit;
pub mod baseline;
pub mod checks;
pub mod comparison;
pub mod config;
pub mod config_errors;
pub mod demo;
pub mod derived;
pub mod engine;
pub mod error;
pub mod escape;
pub mod findings;
pub mod functions;
pub mod gate;
pub mod init;
pub mod mail_time;
pub mod output;
pub mod pii;
pub mod policy;
pub mod pricing;
pub mod probe;
pub mod pseudonym;
pub mod pseudonymize;
pub mod quasi_kind;
pub mod report;
pub mod segment;
pub mod stats;
pub mod udf_args;

pub use error::{Error, Result};
