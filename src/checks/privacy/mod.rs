//! Privacy checks: identifiers where nobody declared them, and re-identification risk in
//! what fairmark publishes.

pub mod k_anonymity;
pub mod undeclared_pii;
