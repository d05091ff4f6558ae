//! The terminal summary: one row per finding, then the verdict.

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::Report;

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "severity")]
    severity: String,
    #[tabled(rename = "check")]
    check: String,
    #[tabled(rename = "subject")]
    subject: String,
    #[tabled(rename = "finding")]
    title: String,
}

pub fn render(report: &Report) -> String {
    let rows: Vec<Row> = report
        .findings
        .iter()
        .map(|f| Row {
            severity: f.severity.to_string(),
            check: f.check.clone(),
            subject: f.subject.to_string(),
            title: f.title.clone(),
        })
        .collect();
    let mut out = if rows.is_empty() {
        "No findings.\n".to_string()
    } else {
        format!("{}\n", Table::new(rows).with(Style::rounded()))
    };
    let counts: Vec<String> = report
        .outcome
        .findings_by_severity
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let verdict = if report.failed() {
        format!(
            "FAIL: {} finding(s) at or above {}",
            report.outcome.failing_findings, report.outcome.fail_on
        )
    } else {
        format!("PASS: no finding at or above {}", report.outcome.fail_on)
    };
    let counts = if counts.is_empty() {
        String::new()
    } else {
        format!(" ({})", counts.join(", "))
    };
    out.push_str(&format!(
        "{} finding(s){counts}. {verdict}.\n",
        report.findings.len()
    ));
    out
}
