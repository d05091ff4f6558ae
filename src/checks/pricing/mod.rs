//! Pricing checks: static analysis of the pricing rules, their simulation on the real customer
//! base, and the prices actually offered.

pub mod observed;
pub mod rule_analysis;
pub mod simulated_disparity;
