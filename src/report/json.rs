//! `report.json`: the stable, versioned machine-readable report (see [`super::SCHEMA_VERSION`]).

use super::{GateReport, Report};

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("reports serialize");
    text.push('\n');
    text
}

/// `check-rules --format json`: the gate's findings, each `new` or `persisting` when a base was
/// compared, and the base's resolved findings, in report.json's vocabulary.
pub fn render_gate(gate: &GateReport) -> String {
    let mut text = serde_json::to_string_pretty(gate).expect("gate reports serialize");
    text.push('\n');
    text
}
