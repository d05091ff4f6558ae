//! The terminal summary: one row per finding, then the verdict.

use tabled::settings::location::ByColumnName;
use tabled::settings::{Remove, Style};
use tabled::{Table, Tabled};

use super::{Report, baseline_sentence, standing};

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
    #[tabled(rename = "standing")]
    standing: String,
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
            standing: standing(f).unwrap_or_default(),
        })
        .collect();
    let compared = report.baseline.is_some() || report.outcome.waived_findings > 0;
    let mut out = if rows.is_empty() {
        "No findings.\n".to_string()
    } else {
        let mut table = Table::new(rows);
        if !compared {
            // Nothing to say in the column without a baseline or a waiver.
            table.with(Remove::column(ByColumnName::new("standing")));
        }
        format!("{}\n", table.with(Style::rounded()))
    };
    if let Some(baseline) = &report.baseline {
        out.push_str(&baseline_sentence(baseline));
        out.push('\n');
    }
    let counts: Vec<String> = report
        .outcome
        .findings_by_severity
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let gate = if report.outcome.fail_on_new {
        format!("new finding(s) at or above {}", report.outcome.fail_on)
    } else {
        format!("finding(s) at or above {}", report.outcome.fail_on)
    };
    let verdict = if report.failed() {
        format!("FAIL: {} {gate}", report.outcome.failing_findings)
    } else {
        format!("PASS: no {gate}")
    };
    let waived = match report.outcome.waived_findings {
        0 => String::new(),
        n => format!(" {n} waived."),
    };
    let counts = if counts.is_empty() {
        String::new()
    } else {
        format!(" ({})", counts.join(", "))
    };
    out.push_str(&format!(
        "{} finding(s){counts}. {verdict}.{waived}\n",
        report.findings.len()
    ));
    out
}
