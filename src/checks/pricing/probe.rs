//! What the probe checks (`pricing.probe-tenure`, `pricing.probe-device`,
//! `pricing.probe-protected`) share: the answers of a probe of a pricing service
//! (`fairmark probe` asks; see `crate::probe`), and their statistics. Each answered pair is two
//! quotes for the same SKU to twins identical but for one attribute, asked back to back; its gap
//! is the log ratio of the two prices. Per comparison and SKU: the Wilcoxon signed-rank test on
//! the pair gaps, the mean gap with its Student-t interval (the effect flagged, as for observed
//! prices: a surcharge on part of the profiles leaves the median at zero), the Hodges–Lehmann
//! estimate and the median beside it, and Benjamini–Hochberg q-values over every SKU of every
//! comparison of the check.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::Deserialize;

use super::observed::{protected_coverage, signed_rank_p, significant};
use crate::checks::check::{CheckInfo, Outcome};
use crate::checks::context::{Context, Need};
use crate::derived::cohorts::{CohortKind, Cohorts};
use crate::derived::probe_answers::{AnsweredPair, ProbeAnswers};
use crate::error::Result;
use crate::findings::evidence::{self, GapTest, LackingData, ProbeExample, ProbeGap};
use crate::findings::{Finding, Severity, Subject};
use crate::policy::{EffectiveCheck, Strictest, Validate, within};
use crate::stats;
use crate::stats::round4;

/// What every probe check needs: the answers of a probe.
pub const NEEDS: &[Need] = &[Need::Probe];

/// At most this many example twin pairs are shown in a finding.
const EXAMPLES_SHOWN: usize = 3;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Smallest relative gap worth flagging (as for the observed-price checks).
    pub min_gap: f64,
    /// False-discovery rate across the SKUs tested.
    pub alpha: f64,
    pub confidence: f64,
    /// SKUs with fewer answered pairs are reported as lacking data.
    pub min_pairs: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_gap: 0.02,
            alpha: 0.05,
            confidence: 0.95,
            min_pairs: 5,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        Settings {
            min_gap: self.min_gap.min(other.min_gap),
            alpha: self.alpha.max(other.alpha),
            confidence: self.confidence.max(other.confidence),
            min_pairs: self.min_pairs.min(other.min_pairs),
        }
    }
}

impl Validate for Settings {
    fn validate(&self) -> std::result::Result<(), String> {
        within("min_gap", self.min_gap, 0.0..1.0)?;
        let open_unit = (Bound::Excluded(0.0), Bound::Excluded(1.0));
        within("alpha", self.alpha, open_unit)?;
        within("confidence", self.confidence, open_unit)?;
        within("min_pairs", self.min_pairs, 2..)
    }
}

/// One (test, SKU) with enough answered pairs.
struct SkuTest<'a> {
    test: usize,
    sku: &'a str,
    pairs: Vec<&'a AnsweredPair>,
    gaps: Vec<f64>,
    mean: stats::Estimate,
    p_value: f64,
}

/// Judges the answers of the tests of `kind`: one finding per SKU and comparison where the
/// gap is significant after Benjamini–Hochberg and at least `min_gap`.
pub fn judge(
    answers: &ProbeAnswers,
    info: &CheckInfo,
    check: &EffectiveCheck,
    settings: &Settings,
    kind: CohortKind,
) -> Vec<Finding> {
    let mut by_sku: BTreeMap<(usize, &str), Vec<&AnsweredPair>> = BTreeMap::new();
    for pair in &answers.pairs {
        if answers.tests[pair.test].kind == kind {
            by_sku
                .entry((pair.test, pair.sku.as_str()))
                .or_default()
                .push(pair);
        }
    }
    let mut tested = Vec::new();
    let mut lacking: Vec<String> = Vec::new();
    for ((test, sku), pairs) in &answers.planned {
        if answers.tests[*test].kind != kind {
            continue;
        }
        let answered = by_sku.remove(&(*test, sku.as_str())).unwrap_or_default();
        let gaps: Vec<f64> = answered.iter().map(|p| p.log_gap()).collect();
        let mean = (gaps.len() >= settings.min_pairs)
            .then(|| stats::mean_with_ci(&gaps, settings.confidence))
            .flatten();
        match mean {
            Some(mean) => tested.push(SkuTest {
                test: *test,
                sku,
                p_value: signed_rank_p(&gaps, answers.tests[*test].two_sided),
                pairs: answered,
                gaps,
                mean,
            }),
            None => lacking.push(format!(
                "{} on {sku}: {} of {pairs} pairs answered",
                answers.tests[*test].name,
                answered.len()
            )),
        }
    }
    let q_values = stats::benjamini_hochberg(&tested.iter().map(|t| t.p_value).collect::<Vec<_>>());
    let confidence = 100.0 * settings.confidence;
    let mut findings = Vec::new();
    for (sku_test, q) in tested.iter().zip(&q_values) {
        let test = &answers.tests[sku_test.test];
        let mean = stats::Estimate {
            estimate: sku_test.mean.estimate.exp_m1(),
            low: sku_test.mean.low.exp_m1(),
            high: sku_test.mean.high.exp_m1(),
        };
        let size = if test.two_sided {
            mean.estimate.abs()
        } else {
            mean.estimate
        };
        if *q >= settings.alpha || size < settings.min_gap {
            continue;
        }
        let hodges_lehmann = stats::hodges_lehmann(&sku_test.gaps, settings.confidence)
            .map_or(0.0, |e| e.estimate.exp_m1());
        let median_gap = stats::median(&sku_test.gaps).map_or(0.0, f64::exp_m1);
        let planned = answers
            .planned
            .get(&(sku_test.test, sku_test.sku.to_string()))
            .copied()
            .unwrap_or_default();
        // Distinct pairs of prices: profiles the service prices alike show one example.
        let mut shown: Vec<&AnsweredPair> = Vec::new();
        for pair in &sku_test.pairs {
            let seen = shown.iter().any(|s| {
                s.treated_price == pair.treated_price && s.reference_price == pair.reference_price
            });
            if !seen && shown.len() < EXAMPLES_SHOWN {
                shown.push(pair);
            }
        }
        let examples: Vec<ProbeExample> = shown
            .iter()
            .map(|p| ProbeExample {
                attribute: test.attribute.clone(),
                first_twin: test.treated_value.clone(),
                first_price: p.treated_price,
                second_twin: test.reference_value.clone(),
                second_price: p.reference_price,
            })
            .collect();
        let example_text: Vec<String> = shown
            .iter()
            .map(|p| {
                format!(
                    "{} {}: {:.2} vs {}: {:.2}",
                    test.attribute,
                    test.treated_value,
                    p.treated_price,
                    test.reference_value,
                    p.reference_price
                )
            })
            .collect();
        let more_or_less = if mean.estimate < 0.0 { "less" } else { "more" };
        let title = format!(
            "SKU {}: the service quotes {} {:+.1}% for the same item",
            sku_test.sku,
            test.treated_label,
            100.0 * mean.estimate
        );
        let message = format!(
            "Over {} twin pairs (profiles identical but for {}, same SKU and trading conditions, asked back to back), the service quoted {} {:+.2}% on average ({confidence}% CI {:+.2}% to {:+.2}%; Hodges-Lehmann {:+.2}%, median pair gap {:+.2}%) relative to {}: {} in {} of {} pairs; Wilcoxon signed-rank p = {:.2e}, Benjamini-Hochberg q = {:.2e} over {} SKU comparisons. For example: {}.",
            sku_test.gaps.len(),
            test.attribute,
            test.treated_label,
            100.0 * mean.estimate,
            100.0 * mean.low,
            100.0 * mean.high,
            100.0 * hodges_lehmann,
            100.0 * median_gap,
            test.reference_label,
            more_or_less,
            sku_test
                .gaps
                .iter()
                .filter(|g| if mean.estimate < 0.0 {
                    **g < -stats::ZERO
                } else {
                    **g > stats::ZERO
                })
                .count(),
            sku_test.gaps.len(),
            sku_test.p_value,
            q,
            tested.len(),
            example_text.join("; ")
        );
        let finding = Finding::new(
            info.id,
            check.severity,
            Subject {
                sku: Some(sku_test.sku.to_string()),
                ..Subject::default()
            },
            &test.name,
            title,
            message,
        )
        .with_evidence(ProbeGap {
            comparison: test.name.clone(),
            test: GapTest {
                confidence: settings.confidence,
                gap_estimate: round4(mean.estimate),
                gap_ci_low: round4(mean.low),
                gap_ci_high: round4(mean.high),
                hodges_lehmann: round4(hodges_lehmann),
                median_gap: round4(median_gap),
                p_value: significant(sku_test.p_value),
                q_value: significant(*q),
            },
            pairs_asked: planned,
            pairs_answered: sku_test.gaps.len(),
            skus_tested: tested.len(),
            examples,
        })
        .with_legal_bases(&check.legal_bases);
        findings.push(finding);
    }
    if !lacking.is_empty() {
        let shown: Vec<&str> = lacking.iter().take(10).map(String::as_str).collect();
        findings.push(
            Finding::new(
                info.id,
                Severity::Info,
                Subject::default(),
                "lacking-data",
                format!("{} SKU comparisons lacked answered pairs to decide", lacking.len()),
                format!(
                    "Fewer than {} twin pairs were answered for these SKU comparisons: too few to decide either way. {}{}.",
                    settings.min_pairs,
                    shown.join("; "),
                    if lacking.len() > shown.len() { "; …" } else { "" }
                ),
            )
            .with_evidence(LackingData {
                comparisons_lacking_data: lacking.len(),
                comparisons_tested: tested.len(),
            }),
        );
    }
    for not in answers.not_probed.iter().filter(|n| n.kind == kind) {
        findings.push(
            Finding::new(
                info.id,
                Severity::Info,
                Subject::default(),
                "not-probed",
                "Not probed".to_string(),
                format!("Asked for, but not probed: {}.", not.reason),
            )
            .with_evidence(evidence::NotProbed {
                reason: not.reason.clone(),
            }),
        );
    }
    if kind == CohortKind::Protected
        && !(answers.protected_compared.is_empty() && answers.protected_skipped.is_empty())
    {
        let cohorts = Cohorts {
            pairs: Vec::new(),
            compared: answers.protected_compared.clone(),
            skipped: answers.protected_skipped.clone(),
        };
        findings.push(protected_coverage(info, &cohorts));
    }
    findings
}

/// The run of a probe check: the probe's answers of `kind`, judged with the check's settings.
pub fn run(
    cx: &Context<'_>,
    info: &CheckInfo,
    check: &EffectiveCheck,
    kind: CohortKind,
) -> Result<Outcome> {
    let answers = cx.probe()?;
    let settings: Settings = cx.policy.settings(info.id)?;
    if !answers.tests.iter().any(|t| t.kind == kind)
        && answers.not_probed.iter().all(|n| n.kind != kind)
    {
        return Ok(Outcome::Skipped(
            "the probe's `attributes` leave this comparison out".into(),
        ));
    }
    Ok(Outcome::Findings(judge(
        answers, info, check, &settings, kind,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::pricing::probe_tenure;
    use crate::derived::probe_answers::TwinTest;

    fn check() -> EffectiveCheck {
        EffectiveCheck {
            enabled: true,
            severity: Severity::High,
            legal_bases: Vec::new(),
            settings: Vec::new(),
        }
    }

    fn tenure_test() -> TwinTest {
        TwinTest {
            kind: CohortKind::Tenure,
            name: "tenure_days 730 vs 30".into(),
            attribute: "tenure_days".into(),
            treated_label: "customers of 730 days".into(),
            reference_label: "customers of 30 days".into(),
            treated_value: "730".into(),
            reference_value: "30".into(),
            two_sided: false,
        }
    }

    /// Twenty pairs on each of four SKUs; `surcharge(sku, pair)` is the long-tenure twin's.
    fn answers(surcharge: impl Fn(usize, usize) -> f64) -> ProbeAnswers {
        let mut answers = ProbeAnswers {
            tests: vec![tenure_test()],
            ..ProbeAnswers::default()
        };
        for sku in 0..4 {
            answers.planned.insert((0, format!("SKU{sku}")), 20);
            for pair in 0..20 {
                let base = 100.0 + pair as f64;
                answers.pairs.push(AnsweredPair {
                    test: 0,
                    sku: format!("SKU{sku}"),
                    treated_price: base * (1.0 + surcharge(sku, pair)),
                    reference_price: base,
                });
            }
        }
        answers
    }

    fn flagged(answers: &ProbeAnswers) -> Vec<String> {
        judge(
            answers,
            &probe_tenure::INFO,
            &check(),
            &Settings::default(),
            CohortKind::Tenure,
        )
        .into_iter()
        .filter(|f| f.severity != Severity::Info)
        .filter_map(|f| f.subject.sku)
        .collect()
    }

    #[test]
    fn a_surcharge_on_one_sku_is_flagged_with_its_size() {
        let answers = answers(|sku, _| if sku == 1 { 0.05 } else { 0.0 });
        assert_eq!(flagged(&answers), ["SKU1"]);
    }

    #[test]
    fn a_surcharge_on_a_third_of_the_profiles_is_still_flagged_by_its_mean() {
        let answers = answers(|sku, pair| if sku == 2 && pair % 3 == 0 { 0.10 } else { 0.0 });
        assert_eq!(flagged(&answers), ["SKU2"]);
    }

    #[test]
    fn noise_either_way_and_a_gap_below_min_gap_are_not_flagged() {
        let noise = answers(|sku, pair| {
            let mut rng = stats::SplitMix::new((sku * 100 + pair) as u64);
            (rng.next_u64() % 1000) as f64 / 10_000.0 - 0.05
        });
        assert!(flagged(&noise).is_empty());
        let small = answers(|_, _| 0.01);
        assert!(flagged(&small).is_empty());
    }

    #[test]
    fn too_few_pairs_is_lacking_data_not_clean() {
        let mut few = answers(|_, _| 0.05);
        few.pairs
            .retain(|p| p.sku != "SKU0" || p.reference_price < 102.0);
        let findings = judge(
            &few,
            &probe_tenure::INFO,
            &check(),
            &Settings::default(),
            CohortKind::Tenure,
        );
        let lacking = findings
            .iter()
            .find(|f| matches!(f.evidence, crate::findings::Evidence::LackingData(_)))
            .expect("a lacking-data note");
        assert!(
            lacking.message.contains("SKU0: 2 of 20 pairs answered"),
            "{}",
            lacking.message
        );
    }
}
