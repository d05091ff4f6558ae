#![doc = include_str!("k_anonymity.md")]

use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::findings::evidence::{BelowK, OverSuppressed, RawQuasiIdentifiers};
use crate::findings::{Finding, Severity, Subject, share};
use crate::policy::EffectiveCheck;
use crate::segment::anonymity::AnonymityReport;

pub use crate::segment::settings::{AnonymitySettings as Settings, K_ANONYMITY_CHECK as ID};

check_info!(
    INFO,
    ID,
    "privacy",
    "Re-identification risk of published segments",
    "发布的客户分群存在重识别风险",
    Severity::Medium,
    "k_anonymity.md",
    Settings
);

check!(
    KAnonymity,
    INFO,
    needs: &[Need::Table(Table::Segmentation)],
    run: |cx, check| {
        let settings: Settings = cx.policy.settings(ID)?;
        Ok(match &cx.segmentation().await?.summary.anonymity {
            Some(report) => Outcome::Findings(findings(report, check, &settings)),
            None => Outcome::Skipped("the customers dataset maps no quasi_identifiers".into()),
        })
    }
);

/// Findings from what the segmentation's anonymization achieved.
fn findings(report: &AnonymityReport, check: &EffectiveCheck, settings: &Settings) -> Vec<Finding> {
    let subject = Subject::dataset("customers");
    let quasi_identifiers: Vec<String> = report.columns.iter().map(|c| c.column.clone()).collect();
    let columns = quasi_identifiers.join(", ");
    let mut findings = Vec::new();
    if report.raw_rows_below_k > 0 {
        findings.push(
            Finding::new(
                ID,
                Severity::Info,
                subject.clone(),
                "raw-risk",
                format!("Raw quasi-identifiers single out {} customers", report.raw_unique_rows),
                format!(
                    "On the raw values of ({columns}), {} of {} customers are unique and {} are in groups smaller than k={}; any table that carries these columns unchanged lets them be re-identified. fairmark publishes them generalized.",
                    report.raw_unique_rows, report.rows, report.raw_rows_below_k, report.k_required
                ),
            )
            .with_evidence(RawQuasiIdentifiers {
                quasi_identifiers,
                raw_unique_customers: report.raw_unique_rows,
                raw_customers_below_k: report.raw_rows_below_k,
                raw_share_below_k: share(report.raw_rows_below_k, report.rows),
            }),
        );
    }
    if report.k_achieved < report.k_required {
        findings.push(
            Finding::new(
                ID,
                check.severity,
                subject.clone(),
                "below-k",
                format!("Published segments are only {}-anonymous", report.k_achieved),
                format!(
                    "Only {} customers in all, fewer than k={}: even with every quasi-identifier suppressed, the segment table cannot hide a customer among k. Publish segments without quasi-identifiers, or wait for more data.",
                    report.rows, report.k_required
                ),
            )
            .with_evidence(BelowK {
                k_required: report.k_required,
                k_achieved: report.k_achieved,
            }),
        );
    }
    let max_suppression = settings.max_suppression;
    if report.suppressed_cell_share > max_suppression {
        findings.push(
            Finding::new(
                ID,
                Severity::Low,
                subject,
                "over-suppressed",
                format!("k={} reached only by suppressing {:.1}% of quasi-identifier cells", report.k_required, 100.0 * report.suppressed_cell_share),
                format!(
                    "To make every published class hold at least {} customers, {:.1}% of the cells of ({columns}) are published as `*` (budget {:.1}%). The published quasi-identifiers carry little information; drop the least useful one from the config or coarsen it at the source.",
                    report.k_required,
                    100.0 * report.suppressed_cell_share,
                    100.0 * max_suppression
                ),
            )
            .with_evidence(OverSuppressed {
                suppressed_cell_share: report.suppressed_cell_share,
                suppressed_customers: report.suppressed_rows,
            }),
        );
    }
    findings
        .into_iter()
        .map(|f| f.with_legal_bases(&check.legal_bases))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::findings::Citation;
    use crate::policy::Strictest;
    use crate::quasi_kind::QuasiKind;

    fn report(
        rows: u64,
        k_achieved: u64,
        suppressed_cell_share: f64,
        raw_rows_below_k: u64,
    ) -> AnonymityReport {
        AnonymityReport {
            k_required: 10,
            k_achieved,
            rows,
            classes: 3,
            suppressed_rows: 0,
            suppressed_cell_share,
            raw_unique_rows: raw_rows_below_k / 2,
            raw_rows_below_k,
            columns: vec![],
        }
    }

    fn check() -> EffectiveCheck {
        EffectiveCheck {
            enabled: true,
            severity: Severity::Medium,
            legal_bases: vec![Citation {
                pack: "cn".into(),
                id: "gbt-37964".into(),
                citation: "GB/T 37964".into(),
                gist: "g".into(),
                citation_zh: None,
                gist_zh: None,
                channels: Vec::new(),
            }],
            settings: vec![],
        }
    }

    #[test]
    fn a_compliant_table_gives_only_the_raw_risk_note() {
        let findings = findings(&report(1000, 12, 0.01, 300), &check(), &Settings::default());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Info);
        assert_eq!(findings[0].legal_bases.len(), 1);
    }

    #[test]
    fn too_few_customers_and_heavy_suppression_are_reported() {
        let findings = findings(&report(7, 7, 1.0, 7), &check(), &Settings::default());
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [Severity::Info, Severity::Medium, Severity::Low]
        );
    }

    #[test]
    fn stricter_pack_settings_win() {
        let a = Settings {
            k: 5,
            max_suppression: 0.1,
            generalization: BTreeMap::new(),
        };
        let b = Settings {
            k: 10,
            max_suppression: 0.02,
            generalization: [(QuasiKind::City, 1)].into_iter().collect(),
        };
        let merged = a.strictest(b);
        assert_eq!((merged.k, merged.max_suppression), (10, 0.02));
        assert_eq!(merged.generalization[&QuasiKind::City], 1);
    }
}
