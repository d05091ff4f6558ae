//! What a comparison check concluded about each SKU × cohort pair, beside its findings: flagged,
//! shown fair within a margin, or inconclusive and why. "Not flagged" is not "fair": a
//! compliance officer needs to know for which comparisons the data shows equal prices, and the
//! coverage says how much of the trade each answer covers. Numbers and names only, never a
//! customer's value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A finding accuses this comparison.
    Flagged,
    /// The gap is shown to lie within ±margin (two one-sided tests).
    Fair,
    /// Neither: too little data, or an interval wider than the margin.
    Inconclusive,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::Flagged, Verdict::Fair, Verdict::Inconclusive];
}

/// One SKU under one cohort pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub check: String,
    pub sku: String,
    /// The cohort pair, in words (`tenure > 365 days vs <= 30 days`).
    pub cohorts: String,
    pub verdict: Verdict,
    /// Why a comparison is inconclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub matched_strata: usize,
    /// The mean relative gap over the matched strata and its (1 − 2·alpha) interval, when
    /// there were enough strata to estimate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_high: Option<f64>,
    /// The equivalence margin the gap was held against.
    pub margin: f64,
    /// What both cohorts were offered in the matched strata, in the data's currency: the
    /// weight of the comparison in the coverage.
    pub offered: f64,
}

/// How one check's comparisons came out: how many of each verdict and the share of what was
/// offered in their matched strata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub check: String,
    pub comparisons: usize,
    pub by_verdict: BTreeMap<Verdict, VerdictShare>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VerdictShare {
    pub comparisons: usize,
    /// Share of what was offered over all of the check's comparisons, four decimals.
    pub offered_share: f64,
}

/// The coverage of each check that made comparisons, in check order.
pub fn coverage(comparisons: &[Comparison]) -> Vec<Coverage> {
    let mut by_check: BTreeMap<&str, Vec<&Comparison>> = BTreeMap::new();
    for comparison in comparisons {
        by_check
            .entry(&comparison.check)
            .or_default()
            .push(comparison);
    }
    by_check
        .into_iter()
        .map(|(check, made)| {
            // Folded from +0.0: an empty f64 sum is -0.0, which would print as "-0.0%".
            let total = made.iter().fold(0.0, |sum, c| sum + c.offered);
            let by_verdict = Verdict::ALL
                .into_iter()
                .map(|verdict| {
                    let these: Vec<&&Comparison> =
                        made.iter().filter(|c| c.verdict == verdict).collect();
                    let offered = these.iter().fold(0.0, |sum, c| sum + c.offered);
                    let share = if total > 0.0 { offered / total } else { 0.0 };
                    (
                        verdict,
                        VerdictShare {
                            comparisons: these.len(),
                            offered_share: crate::stats::round4(share),
                        },
                    )
                })
                .collect();
            Coverage {
                check: check.to_string(),
                comparisons: made.len(),
                by_verdict,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(check: &str, verdict: Verdict, offered: f64) -> Comparison {
        Comparison {
            check: check.into(),
            sku: "S".into(),
            cohorts: "a vs b".into(),
            verdict,
            reason: None,
            matched_strata: 5,
            gap: None,
            gap_low: None,
            gap_high: None,
            margin: 0.02,
            offered,
        }
    }

    #[test]
    fn coverage_counts_each_verdict_and_its_share_of_the_money() {
        let coverage = coverage(&[
            made("pricing.b", Verdict::Fair, 300.0),
            made("pricing.b", Verdict::Flagged, 100.0),
            made("pricing.b", Verdict::Fair, 100.0),
            made("pricing.a", Verdict::Inconclusive, 0.0),
        ]);
        assert_eq!(coverage.len(), 2);
        assert_eq!(coverage[0].check, "pricing.a");
        let b = &coverage[1];
        assert_eq!(b.comparisons, 3);
        assert_eq!(b.by_verdict[&Verdict::Fair].comparisons, 2);
        assert_eq!(b.by_verdict[&Verdict::Fair].offered_share, 0.8);
        assert_eq!(b.by_verdict[&Verdict::Flagged].offered_share, 0.2);
        assert_eq!(b.by_verdict[&Verdict::Inconclusive].comparisons, 0);
        // No money at all: shares are zero, not NaN.
        assert_eq!(
            coverage[0].by_verdict[&Verdict::Inconclusive].offered_share,
            0.0
        );
    }
}
