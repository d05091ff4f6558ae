//! The audit report as data, and its renderers. Renderers only render: every number they
//! show is computed before the [`Report`] is built.

pub mod html;
pub mod i18n;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod segment_csv;
pub mod table;
pub mod write;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod inert;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baseline::BaselineSummary;
use crate::checks::CheckRun;
use crate::comparison::{Comparison, Coverage};
use crate::config::Lang;
use crate::derived::mail_breakdown::MailBreakdown;
use crate::engine::{Placement, RegisteredDataset};
use crate::findings::{BaselineStatus, Finding, Severity};
use crate::policy::PolicyPack;
use crate::probe::ProbeSummary;
use crate::segment::SegmentationSummary;

/// Bumped on any change a consumer of `report.json` could notice: major for removals and
/// renames, minor for additions.
pub const SCHEMA_VERSION: &str = "1.4.0";

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackReference {
    pub name: String,
    pub title: String,
    pub source: String,
    pub sha256: String,
}

impl From<&PolicyPack> for PackReference {
    fn from(pack: &PolicyPack) -> Self {
        PackReference {
            name: pack.name.clone(),
            title: pack.title.clone(),
            source: pack.source.clone(),
            sha256: pack.sha256.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub fail_on: Severity,
    /// Only findings new since the baseline fail the run (`--fail-on-new`).
    pub fail_on_new: bool,
    /// Findings at or above `fail_on`, not waived (and new, with `fail_on_new`); non-zero
    /// means exit code 1.
    pub failing_findings: usize,
    /// Findings a waiver in force covers.
    pub waived_findings: usize,
    pub findings_by_severity: BTreeMap<Severity, usize>,
}

/// Whether `finding` fails a run at `fail_on`: waived findings never do, and with
/// `fail_on_new` only findings new since the baseline do.
pub fn fails(finding: &Finding, fail_on: Severity, fail_on_new: bool) -> bool {
    finding.severity >= fail_on
        && finding.waiver.is_none()
        && (!fail_on_new || finding.baseline != Some(BaselineStatus::Persisting))
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    /// Where the audit's queries ran: `{"kind": "local"}`, or `{"kind": "ballista",
    /// "scheduler": "df://…"}` (since schema 1.3.0).
    pub engine: Placement,
    pub config: String,
    pub key_id: String,
    pub policies: Vec<PackReference>,
    pub inputs: Vec<RegisteredDataset>,
    pub outcome: Outcome,
    pub checks: Vec<CheckRun>,
    pub findings: Vec<Finding>,
    /// What changed since the baseline, when the audit was given one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
    /// The day waivers were judged on, when the config has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waivers_judged_on: Option<String>,
    pub segmentation: Option<SegmentationSummary>,
    /// Every campaign's messages by consent and quiet hours, when the audit could judge consent
    /// (since schema 1.2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailBreakdown>,
    /// How the comparison checks' SKU × cohort comparisons came out, check by check: flagged,
    /// shown fair, inconclusive, and the share of what was offered each covers (since schema
    /// 1.4.0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Coverage>,
    /// Every comparison with its verdict (since schema 1.4.0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<Comparison>,
    /// What `fairmark probe` asked of the pricing service, in a probe's report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeSummary>,
    /// The files written next to this report.
    pub outputs: Vec<String>,
    /// The language of the human-readable renderings (not of report.json).
    #[serde(skip)]
    pub lang: Lang,
}

impl Report {
    pub fn outcome(findings: &[Finding], fail_on: Severity, fail_on_new: bool) -> Outcome {
        let mut by_severity: BTreeMap<Severity, usize> =
            Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for finding in findings {
            *by_severity.entry(finding.severity).or_default() += 1;
        }
        Outcome {
            fail_on,
            fail_on_new,
            failing_findings: findings
                .iter()
                .filter(|f| fails(f, fail_on, fail_on_new))
                .count(),
            waived_findings: findings.iter().filter(|f| f.waiver.is_some()).count(),
            findings_by_severity: by_severity,
        }
    }

    /// Whether `finding` fails this run.
    pub fn fails(&self, finding: &Finding) -> bool {
        fails(finding, self.outcome.fail_on, self.outcome.fail_on_new)
    }

    pub fn failed(&self) -> bool {
        self.outcome.failing_findings > 0
    }
}

/// What `check-rules` found on a change to the pricing rules: the findings of the checks that
/// judge a rules file on the head rules, each new or persisting when a base was compared (the
/// audit's baseline vocabulary), and the base's findings the change resolves.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    pub schema_version: &'static str,
    /// The rules file as findings name it.
    pub rules: String,
    pub fail_on: Severity,
    /// Whether the head was compared with a base; then only new findings fail.
    pub compared_with_base: bool,
    pub failing_findings: usize,
    pub findings: Vec<Finding>,
    pub resolved: Vec<Finding>,
    #[serde(skip)]
    pub checks: Vec<CheckRun>,
}

impl GateReport {
    pub fn new(
        rules: String,
        fail_on: Severity,
        compared_with_base: bool,
        findings: Vec<Finding>,
        resolved: Vec<Finding>,
        checks: Vec<CheckRun>,
    ) -> GateReport {
        let failing_findings = findings
            .iter()
            .filter(|f| fails(f, fail_on, compared_with_base))
            .count();
        GateReport {
            schema_version: SCHEMA_VERSION,
            rules,
            fail_on,
            compared_with_base,
            failing_findings,
            findings,
            resolved,
            checks,
        }
    }

    /// Whether `finding` fails the gate: at or above `fail_on`, and new when a base was given.
    pub fn fails(&self, finding: &Finding) -> bool {
        fails(finding, self.fail_on, self.compared_with_base)
    }
}

/// A finding's standing in this run, in English: waived, new or persisting.
pub fn standing(finding: &Finding) -> Option<String> {
    i18n::standing(Lang::En, finding)
}

/// One sentence on what changed since the baseline.
pub fn baseline_sentence(baseline: &BaselineSummary, lang: Lang) -> String {
    let (b, n, p, r) = (
        &baseline.source,
        baseline.new,
        baseline.persisting,
        baseline.resolved.len(),
    );
    let shift = match (
        &baseline.segment_shift,
        &baseline.segment_shift_skipped,
        lang,
    ) {
        (Some(s), _, Lang::En) => format!(
            "; {} customer(s) moved between segments, {} stayed, {} entered, {} left",
            s.moved, s.stayed, s.entered, s.left
        ),
        (Some(s), _, Lang::ZhCn) => format!(
            "；{} 位客户变换了分群，{} 位未变，{} 位新进入，{} 位离开",
            s.moved, s.stayed, s.entered, s.left
        ),
        (None, Some(why), Lang::En) => format!("; segment shift not computed: {why}"),
        (None, Some(why), Lang::ZhCn) => format!("；未计算分群变化（英文原因：{why}）"),
        (None, None, _) => String::new(),
    };
    match lang {
        Lang::En => format!(
            "Since the baseline ({b}): {n} new, {p} persisting, {r} resolved finding(s){shift}."
        ),
        Lang::ZhCn => {
            format!("与基线（{b}）相比：新增 {n} 项，持续 {p} 项，已解决 {r} 项{shift}。")
        }
    }
}

/// The probe's summary in sentences (English), for report.md and report.html.
pub fn probe_sentences(probe: &ProbeSummary) -> Vec<String> {
    let errors: Vec<String> = probe
        .errors
        .iter()
        .map(|(class, n)| format!("{class} ×{n}"))
        .collect();
    let mut sentences = vec![
        format!(
            "Service: {}. {} comparisons ({}) on {} SKUs over {} base profiles: {} twin pairs planned, {} answered ({} from the log of an earlier run).",
            probe.service,
            probe.comparisons.len(),
            probe.comparisons.join(", "),
            probe.skus,
            probe.base_profiles,
            probe.pairs_planned,
            probe.pairs_answered,
            probe.pairs_from_log
        ),
        format!(
            "Requests: {} planned, {} made in this run ({} retries), {} answered, {} failed, {} malformed{}; {:.1} s.",
            probe.requests_planned,
            probe.requests_made,
            probe.requests_retried,
            probe.requests_answered,
            probe.requests_failed,
            probe.requests_malformed,
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", errors.join(", "))
            },
            probe.seconds
        ),
    ];
    if !probe.complete {
        sentences.push(format!(
            "Incomplete: {} of {} pairs lack a price{}; run `fairmark probe` again with the same log ({}) to ask only those.",
            probe.pairs_planned - probe.pairs_answered,
            probe.pairs_planned,
            if probe.stopped_by_budget {
                format!(", the budget of {} requests ran out", probe.budget)
            } else {
                String::new()
            },
            probe.log
        ));
    }
    sentences
}

/// Formats an evidence value for text renderers.
pub fn evidence_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
