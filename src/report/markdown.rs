//! `report.md`: the report for people — reviewers, counsel, auditors.

use std::fmt::Write;

use super::i18n::{self, text};
use super::{Report, baseline_sentence, evidence_text};
use crate::checks::CheckStatus;
use crate::comparison::Verdict;
use crate::config::Lang;
use crate::escape::{markdown as text_md, markdown_code as code, markdown_prose as prose};

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"))
}

pub fn render(report: &Report) -> String {
    let lang = report.lang;
    let words = text(lang);
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", words.report_title);
    let fail_on = i18n::severity(lang, report.outcome.fail_on);
    let failing = report.outcome.failing_findings;
    let gate = match (lang, report.outcome.fail_on_new) {
        (Lang::En, false) => format!("{failing} finding(s) at or above `{fail_on}`"),
        (Lang::En, true) => format!("{failing} new finding(s) at or above `{fail_on}`"),
        (Lang::ZhCn, false) => format!("{failing} 项发现达到或超过「{fail_on}」"),
        (Lang::ZhCn, true) => format!("{failing} 项新发现达到或超过「{fail_on}」"),
    };
    let verdict = match (lang, report.failed()) {
        (Lang::En, true) => "FAIL",
        (Lang::En, false) => "PASS",
        (Lang::ZhCn, true) => "未通过",
        (Lang::ZhCn, false) => "通过",
    };
    let _ = writeln!(
        md,
        "**{verdict}**: {gate}. {} {} {}, {} {}, {} `{}`.\n",
        words.tool,
        report.tool.name,
        report.tool.version,
        words.schema,
        report.schema_version,
        words.key_id,
        report.key_id
    );
    let packs: Vec<String> = report
        .policies
        .iter()
        .map(|p| format!("{} ({})", code(&p.name), text_md(&p.title)))
        .collect();
    let _ = writeln!(md, "{}: {}.\n", words.policy_packs, packs.join(", "));

    let _ = writeln!(
        md,
        "| {} | {} |\n|---|---|",
        words.severity, words.findings_column
    );
    for (severity, count) in report.outcome.findings_by_severity.iter().rev() {
        let _ = writeln!(md, "| {} | {count} |", i18n::severity(lang, *severity));
    }

    if report.outcome.waived_findings > 0 {
        let _ = writeln!(
            md,
            "\n{} {}",
            report.outcome.waived_findings,
            words.waived_note.replace(
                "{date}",
                &text_md(report.waivers_judged_on.as_deref().unwrap_or("today"))
            )
        );
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            md,
            "\n## {}\n\n{}\n",
            words.since_baseline,
            text_md(&baseline_sentence(baseline, lang))
        );
        if !baseline.resolved.is_empty() {
            let _ = writeln!(md, "{}:\n", words.resolved);
            for finding in &baseline.resolved {
                let _ = writeln!(
                    md,
                    "- \\[{}\\] {} ({} · {} · {} {})",
                    i18n::severity(lang, finding.severity).to_uppercase(),
                    prose(&i18n::title(lang, finding)),
                    code(&finding.check),
                    text_md(&i18n::subject(lang, &finding.subject)),
                    words.fingerprint,
                    code(&finding.fingerprint)
                );
            }
            md.push('\n');
        }
        if let Some(shift) = baseline
            .segment_shift
            .as_ref()
            .filter(|s| !s.moves.is_empty())
        {
            let _ = writeln!(md, "{}\n|---|---|---|", words.segment_moves);
            for step in &shift.moves {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} |",
                    text_md(&step.from),
                    text_md(&step.to),
                    step.customers
                );
            }
        }
    }

    if !report.coverage.is_empty() {
        let _ = writeln!(
            md,
            "\n## {}\n\n{}\n",
            words.coverage_heading, words.coverage_intro
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |\n|---|---:|---:|---:|---:|",
            words.check, words.comparisons, words.flagged, words.shown_fair, words.inconclusive
        );
        for row in &report.coverage {
            let cell = |verdict: Verdict| {
                let share = row.by_verdict.get(&verdict);
                format!(
                    "{} ({:.1}% {})",
                    share.map_or(0, |s| s.comparisons),
                    100.0 * share.map_or(0.0, |s| s.offered_share),
                    words.of_offered
                )
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                code(&row.check),
                row.comparisons,
                cell(Verdict::Flagged),
                cell(Verdict::Fair),
                cell(Verdict::Inconclusive)
            );
        }
    }

    let _ = writeln!(md, "\n## {}\n", words.findings_heading);
    if report.findings.is_empty() {
        let _ = writeln!(md, "{}", words.no_findings);
    }
    for (i, finding) in report.findings.iter().enumerate() {
        let _ = writeln!(
            md,
            "### {}. \\[{}\\] {}\n",
            i + 1,
            i18n::severity(lang, finding.severity).to_uppercase(),
            prose(&i18n::title(lang, finding))
        );
        let standing = i18n::standing(lang, finding)
            .map_or_else(String::new, |s| format!(" · **{}**", text_md(&s)));
        let _ = writeln!(
            md,
            "{} · {} · {} {}{standing}\n",
            code(&finding.check),
            text_md(&i18n::subject(lang, &finding.subject)),
            words.fingerprint,
            code(&finding.fingerprint)
        );
        if let Some(waiver) = &finding.waiver {
            let _ = writeln!(
                md,
                "{} {} {} {}: {}\n",
                words.waived_by,
                text_md(&waiver.owner),
                words.until,
                text_md(&waiver.expires),
                text_md(&waiver.reason)
            );
        }
        let _ = writeln!(md, "{}{}\n", words.message, prose(&finding.message));
        if !finding.evidence.is_empty() {
            let _ = writeln!(md, "| {} | {} |\n|---|---|", words.evidence, words.value);
            for (name, value) in &finding.evidence.fields() {
                let _ = writeln!(
                    md,
                    "| {} | {} |",
                    text_md(name),
                    text_md(&evidence_text(value))
                );
            }
            md.push('\n');
        }
        if !finding.legal_bases.is_empty() {
            let _ = writeln!(md, "{}:\n", words.legal_basis);
            for basis in &finding.legal_bases {
                let (citation, gist) = i18n::citation(lang, basis);
                let _ = writeln!(
                    md,
                    "- **{}** ({}:{}): {}",
                    text_md(citation),
                    text_md(&basis.pack),
                    text_md(&basis.id),
                    text_md(gist)
                );
            }
            md.push('\n');
        }
    }

    let _ = writeln!(
        md,
        "## {}\n\n| {} | {} |\n|---|---|",
        words.checks, words.check, words.status
    );
    for run in &report.checks {
        let status = match &run.status {
            CheckStatus::Ran { findings } => words.ran.replace("{n}", &findings.to_string()),
            CheckStatus::Skipped { reason } => format!("{}: {reason}", words.skipped),
            CheckStatus::Disabled { reason } => format!("{}: {reason}", words.disabled),
        };
        let _ = writeln!(md, "| {} | {} |", code(run.id), text_md(&status));
    }

    if let Some(probe) = &report.probe {
        let _ = writeln!(md, "\n## Probe\n");
        for sentence in super::probe_sentences(probe) {
            let _ = writeln!(md, "{}\n", text_md(&sentence));
        }
    }

    if let Some(segmentation) = &report.segmentation {
        let _ = writeln!(
            md,
            "\n## {}\n\nAs of {}: {} customers, {} with orders. Monetary value from {}.\n",
            words.segmentation,
            text_md(&segmentation.reference_date),
            segmentation.customers,
            segmentation.customers_with_orders,
            segmentation
                .monetary_from
                .as_deref()
                .map_or_else(|| "(none: no price or amount column)".to_string(), code)
        );
        let _ = writeln!(
            md,
            "| segment | customers | share | median recency (days) | median frequency | median monetary |\n|---|---|---|---|---|---|"
        );
        for s in &segmentation.segments {
            let _ = writeln!(
                md,
                "| {} | {} | {:.1}% | {} | {} | {} |",
                text_md(&s.segment),
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
                    text_md(&c.column),
                    c.kind.name(),
                    c.level,
                    text_md(c.published_as),
                    c.distinct_values
                );
            }
        }
    }

    let _ = writeln!(
        md,
        "\n## {}\n\n| role | path | format | rows | files | sha256 (first file) |\n|---|---|---|---|---|---|",
        words.inputs
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
            text_md(&input.location),
            input.format,
            input.rows,
            input.files.len()
        );
    }
    md
}
