//! `report.md`: the report for people — reviewers, counsel, auditors.

use std::fmt::Write;

use super::{Report, baseline_sentence, evidence_text, standing};
use crate::checks::CheckStatus;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"))
}

pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# fairmark audit report\n");
    let verdict = if report.failed() { "FAIL" } else { "PASS" };
    let _ = writeln!(
        md,
        "**{verdict}**: {} finding(s) at or above `{}`. Tool {} {}, report schema {}, key id `{}`.\n",
        report.outcome.failing_findings,
        report.outcome.fail_on,
        report.tool.name,
        report.tool.version,
        report.schema_version,
        report.key_id
    );
    let packs: Vec<String> = report
        .policies
        .iter()
        .map(|p| format!("`{}` ({})", p.name, p.title))
        .collect();
    let _ = writeln!(md, "Policy packs: {}.\n", packs.join(", "));

    let _ = writeln!(md, "| severity | findings |\n|---|---|");
    for (severity, count) in report.outcome.findings_by_severity.iter().rev() {
        let _ = writeln!(md, "| {severity} | {count} |");
    }

    if report.outcome.waived_findings > 0 {
        let _ = writeln!(
            md,
            "\n{} finding(s) are waived (accepted risks from the config, judged on {}); they are listed but do not fail the run.",
            report.outcome.waived_findings,
            report.waivers_judged_on.as_deref().unwrap_or("today")
        );
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            md,
            "\n## Since the baseline\n\n{}\n",
            baseline_sentence(baseline)
        );
        if !baseline.resolved.is_empty() {
            let _ = writeln!(md, "Resolved:\n");
            for finding in &baseline.resolved {
                let _ = writeln!(
                    md,
                    "- [{}] {} (`{}` · {} · fingerprint `{}`)",
                    finding.severity.name().to_uppercase(),
                    cell(&finding.title),
                    finding.check,
                    finding.subject,
                    finding.fingerprint
                );
            }
            md.push('\n');
        }
        if let Some(shift) = baseline
            .segment_shift
            .as_ref()
            .filter(|s| !s.moves.is_empty())
        {
            let _ = writeln!(
                md,
                "| from segment | to segment | customers |\n|---|---|---|"
            );
            for step in &shift.moves {
                let _ = writeln!(md, "| {} | {} | {} |", step.from, step.to, step.customers);
            }
        }
    }

    let _ = writeln!(md, "\n## Findings\n");
    if report.findings.is_empty() {
        let _ = writeln!(md, "No findings.");
    }
    for (i, finding) in report.findings.iter().enumerate() {
        let _ = writeln!(
            md,
            "### {}. [{}] {}\n",
            i + 1,
            finding.severity.name().to_uppercase(),
            finding.title
        );
        let standing = standing(finding).map_or_else(String::new, |s| format!(" · **{s}**"));
        let _ = writeln!(
            md,
            "`{}` · {} · fingerprint `{}`{standing}\n",
            finding.check, finding.subject, finding.fingerprint
        );
        if let Some(waiver) = &finding.waiver {
            let _ = writeln!(
                md,
                "Waived by {} until {}: {}\n",
                waiver.owner, waiver.expires, waiver.reason
            );
        }
        let _ = writeln!(md, "{}\n", finding.message);
        if !finding.evidence.is_empty() {
            let _ = writeln!(md, "| evidence | value |\n|---|---|");
            for (name, value) in &finding.evidence {
                let _ = writeln!(md, "| {} | {} |", cell(name), cell(&evidence_text(value)));
            }
            md.push('\n');
        }
        if !finding.legal_bases.is_empty() {
            let _ = writeln!(md, "Legal basis:\n");
            for basis in &finding.legal_bases {
                let _ = writeln!(
                    md,
                    "- **{}** ({}:{}): {}",
                    basis.citation, basis.pack, basis.id, basis.gist
                );
            }
            md.push('\n');
        }
    }

    let _ = writeln!(md, "## Checks\n\n| check | status |\n|---|---|");
    for run in &report.checks {
        let status = match &run.status {
            CheckStatus::Ran { findings } => format!("ran, {findings} finding(s)"),
            CheckStatus::Skipped { reason } => format!("skipped: {reason}"),
            CheckStatus::Disabled { reason } => format!("disabled: {reason}"),
        };
        let _ = writeln!(md, "| `{}` | {} |", run.id, cell(&status));
    }

    if let Some(segmentation) = &report.segmentation {
        let _ = writeln!(
            md,
            "\n## Segmentation\n\nAs of {}: {} customers, {} with orders. Monetary value from `{}`.\n",
            segmentation.reference_date,
            segmentation.customers,
            segmentation.customers_with_orders,
            segmentation
                .monetary_from
                .as_deref()
                .unwrap_or("(none: no price or amount column)")
        );
        let _ = writeln!(
            md,
            "| segment | customers | share | median recency (days) | median frequency | median monetary |\n|---|---|---|---|---|---|"
        );
        for s in &segmentation.segments {
            let _ = writeln!(
                md,
                "| {} | {} | {:.1}% | {} | {} | {} |",
                s.segment,
                s.customers,
                100.0 * s.share,
                number(s.median_recency_days),
                number(s.median_frequency),
                number(s.median_monetary)
            );
        }
        if let Some(a) = &segmentation.anonymity {
            let _ = writeln!(
                md,
                "\nk-anonymity: required k = {}, achieved k = {} over {} classes; {} customers suppressed, {:.2}% of quasi-identifier cells published as `*`.\n",
                a.k_required,
                a.k_achieved,
                a.classes,
                a.suppressed_rows,
                100.0 * a.suppressed_cell_share
            );
            let _ = writeln!(
                md,
                "| column | kind | level | published as | distinct values |\n|---|---|---|---|---|"
            );
            for c in &a.columns {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    cell(&c.column),
                    c.kind.name(),
                    c.level,
                    c.published_as,
                    c.distinct_values
                );
            }
        }
    }

    let _ = writeln!(
        md,
        "\n## Inputs\n\n| role | path | format | rows | files | sha256 (first file) |\n|---|---|---|---|---|---|"
    );
    for input in &report.inputs {
        let first = input
            .files
            .first()
            .map_or(String::new(), |f| f.sha256[..16].to_string());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | `{first}…` |",
            input.role,
            cell(&input.location),
            input.format,
            input.rows,
            input.files.len()
        );
    }
    md
}
