//! The derived tables the checks share, each built once from the canonical views and read by
//! every check (and the report) that needs it: the cohorts compared, the observed prices per
//! stratum and cohort, the episode scan over them, the marketing messages judged by the
//! consent in force at their send time, and the per-campaign mail breakdown the report charts.
//!
//! Nothing here imports a check: the settings a table is cut by (a time bucket, tenure
//! cohorts) live with the table, and a check reads them from here. The report reads derived
//! tables, never a check module.

pub mod cohorts;
pub mod episodes;
pub mod judged_sends;
pub mod mail_breakdown;
pub mod observations;
pub mod probe_answers;
pub mod strata;
