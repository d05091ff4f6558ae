//! `report.json`: the stable, versioned machine-readable report (see [`super::SCHEMA_VERSION`]).

use super::Report;

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("reports serialize");
    text.push('\n');
    text
}
