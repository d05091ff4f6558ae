//! The terminal summaries of `audit` and `check-rules`: one row per finding, then the verdict.

use tabled::builder::Builder;
use tabled::settings::Style;

use super::i18n::{self, text};
use super::{GateReport, Report, baseline_sentence};
use crate::comparison::Verdict;
use crate::config::Lang;
use crate::escape::terminal;
use crate::findings::{BaselineStatus, Finding};

pub fn render(report: &Report) -> String {
    let lang = report.lang;
    let words = text(lang);
    // The standing column only says something against a baseline or with waivers.
    let compared = report.baseline.is_some() || report.outcome.waived_findings > 0;
    let mut out = if report.findings.is_empty() {
        format!("{}\n", words.no_findings)
    } else {
        let mut builder = Builder::default();
        let mut header = vec![words.severity, words.check, words.subject, words.finding];
        if compared {
            header.push(words.standing);
        }
        builder.push_record(header);
        for f in &report.findings {
            let mut row = vec![
                i18n::severity(lang, f.severity).to_string(),
                f.check.clone(),
                i18n::subject(lang, &f.subject),
                i18n::title(lang, f),
            ];
            if compared {
                row.push(i18n::standing(lang, f).unwrap_or_default());
            }
            builder.push_record(row.iter().map(|cell| terminal(cell).into_owned()));
        }
        format!("{}\n", builder.build().with(Style::rounded()))
    };
    if let Some(baseline) = &report.baseline {
        out.push_str(&terminal(&baseline_sentence(baseline, lang)));
        out.push('\n');
    }
    if !report.coverage.is_empty() {
        out.push_str(&coverage_line(report));
    }
    out.push_str(&verdict_line(report));
    out
}

/// `Pricing coverage: 812 comparisons, 3 flagged, 640 shown fair, 169 inconclusive.`
fn coverage_line(report: &Report) -> String {
    let words = text(report.lang);
    let count = |verdict: Verdict| -> usize {
        report
            .coverage
            .iter()
            .filter_map(|c| c.by_verdict.get(&verdict))
            .map(|s| s.comparisons)
            .sum()
    };
    let total: usize = report.coverage.iter().map(|c| c.comparisons).sum();
    format!(
        "{}: {total} {}, {} {}, {} {}, {} {}.\n",
        words.coverage_heading,
        words.comparisons,
        count(Verdict::Flagged),
        words.flagged,
        count(Verdict::Fair),
        words.shown_fair,
        count(Verdict::Inconclusive),
        words.inconclusive
    )
}

/// `19 finding(s) (1 critical, …). FAIL: 9 finding(s) at or above high. 1 waived.`
fn verdict_line(report: &Report) -> String {
    let lang = report.lang;
    let outcome = &report.outcome;
    let counts: Vec<String> = outcome
        .findings_by_severity
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {}", i18n::severity(lang, *s)))
        .collect();
    let fail_on = i18n::severity(lang, outcome.fail_on);
    let (total, failing, waived) = (
        report.findings.len(),
        outcome.failing_findings,
        outcome.waived_findings,
    );
    match lang {
        Lang::En => {
            let counts = if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            };
            let gate = if outcome.fail_on_new {
                "new finding"
            } else {
                "finding"
            };
            let verdict = if report.failed() {
                format!("FAIL: {failing} {gate}(s) at or above {fail_on}")
            } else {
                format!("PASS: no {gate} at or above {fail_on}")
            };
            let waived = if waived > 0 {
                format!(" {waived} waived.")
            } else {
                String::new()
            };
            format!("{total} finding(s){counts}. {verdict}.{waived}\n")
        }
        Lang::ZhCn => {
            let counts = if counts.is_empty() {
                String::new()
            } else {
                format!("（{}）", counts.join("，"))
            };
            let gate = if outcome.fail_on_new {
                "新发现"
            } else {
                "发现"
            };
            let verdict = if report.failed() {
                format!("未通过：{failing} 项{gate}达到或超过「{fail_on}」")
            } else {
                format!("通过：没有{gate}达到或超过「{fail_on}」")
            };
            let waived = if waived > 0 {
                format!("已豁免 {waived} 项。")
            } else {
                String::new()
            };
            format!("共 {total} 项发现{counts}。{verdict}。{waived}\n")
        }
    }
}

/// `check-rules`' table: each finding with its standing against the base (new, persisting,
/// resolved), where in the rules file it is, then how many fail the gate.
pub fn render_gate(gate: &GateReport) -> String {
    let row = |finding: &Finding, change: &str| {
        let location = finding.location.as_ref().map_or_else(String::new, |l| {
            format!("{}:{}:{}", l.file, l.line, l.column)
        });
        [
            change,
            finding.severity.name(),
            &finding.check,
            &location,
            &finding.title,
        ]
        .map(|cell| terminal(cell).into_owned())
    };
    let standing = |finding: &Finding| match finding.baseline {
        None => "",
        Some(BaselineStatus::New) => "new",
        Some(BaselineStatus::Persisting) => "persisting",
    };
    let mut out = if gate.findings.is_empty() && gate.resolved.is_empty() {
        "No findings.\n".to_string()
    } else {
        let mut builder = Builder::default();
        builder.push_record(["change", "severity", "check", "where", "finding"]);
        for finding in &gate.findings {
            builder.push_record(row(finding, standing(finding)));
        }
        for finding in &gate.resolved {
            builder.push_record(row(finding, "resolved"));
        }
        format!("{}\n", builder.build().with(Style::rounded()))
    };
    let scope = if gate.compared_with_base {
        "new in this change "
    } else {
        ""
    };
    out.push_str(&format!(
        "{} finding(s) {scope}at or above {}.\n",
        gate.failing_findings, gate.fail_on
    ));
    out
}
