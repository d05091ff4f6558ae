//! What the observed-price checks (`pricing.tenure-overcharge`, `pricing.device-overcharge`,
//! `pricing.protected-overcharge`) share: one comparison, three cohort kinds. Strata of the same
//! SKU, time bucket and trading conditions are built by DataFusion; the per-SKU statistics
//! (Wilcoxon signed-rank test, Hodges–Lehmann gap, Benjamini–Hochberg q-values) are computed
//! from the per-stratum gaps it returns.

use std::ops::Bound;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use serde::Deserialize;

use super::cohorts::{CohortKind, CohortPair, cohort_pairs, strictest_tenure, validate_tenure};
use crate::checks::{CheckInfo, Context, Need, Outcome, Table};
use crate::config::Config;
use crate::engine::{Engine, ident};
use crate::error::{Error, Result};
use crate::findings::{Finding, Severity, Subject};
use crate::policy::{EffectiveCheck, Strictest, Validate, within};
use crate::pricing::FEATURES_TABLE;
use crate::stats;

/// What every observed-price check needs: the orders, and the customer features for cohorts.
pub const NEEDS: &[Need] = &[
    Need::Dataset("orders"),
    Need::Table(Table::CustomerFeatures),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeBucket {
    Hour,
    Day,
    Week,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Smallest relative gap worth flagging.
    pub min_gap: f64,
    /// False-discovery rate across the SKUs tested.
    pub alpha: f64,
    /// SKUs with fewer matched strata are reported as lacking data.
    pub min_strata: usize,
    pub time_bucket: TimeBucket,
    pub old_tenure_days: i64,
    pub new_tenure_days: i64,
    pub confidence: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_gap: 0.02,
            alpha: 0.05,
            min_strata: 5,
            time_bucket: TimeBucket::Day,
            old_tenure_days: 365,
            new_tenure_days: 30,
            confidence: 0.95,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        let (old_tenure_days, new_tenure_days) = strictest_tenure(
            (self.old_tenure_days, self.new_tenure_days),
            (other.old_tenure_days, other.new_tenure_days),
        );
        Settings {
            min_gap: self.min_gap.min(other.min_gap),
            alpha: self.alpha.max(other.alpha),
            min_strata: self.min_strata.min(other.min_strata),
            // A finer bucket compares more like with like; it is never the laxer reading.
            time_bucket: if (self.time_bucket as u8) <= (other.time_bucket as u8) {
                self.time_bucket
            } else {
                other.time_bucket
            },
            old_tenure_days,
            new_tenure_days,
            confidence: self.confidence.max(other.confidence),
        }
    }
}

/// `min_gap` a relative gap in [0, 1); `alpha` and `confidence` probabilities strictly
/// between 0 and 1; at least one matched stratum per SKU; tenure cohorts as
/// [`validate_tenure`] says.
impl Validate for Settings {
    fn validate(&self) -> std::result::Result<(), String> {
        within("min_gap", self.min_gap, 0.0..1.0)?;
        let open_unit = (Bound::Excluded(0.0), Bound::Excluded(1.0));
        within("alpha", self.alpha, open_unit)?;
        within("confidence", self.confidence, open_unit)?;
        within("min_strata", self.min_strata, 1..)?;
        validate_tenure(self.old_tenure_days, self.new_tenure_days)
    }
}

/// Why the observed checks cannot run on this config, if they cannot.
pub fn missing_data(config: &Config) -> Option<String> {
    let Some(orders) = &config.datasets.orders else {
        return Some("no orders dataset".into());
    };
    if orders.sku.is_none() {
        return Some("the orders dataset maps no `sku`".into());
    }
    if orders.offered_price.is_none() {
        return Some("the orders dataset maps no `offered_price` (paid prices include the customer's own coupons)".into());
    }
    None
}

/// One SKU's comparison.
#[derive(Debug, Clone, PartialEq)]
struct SkuTest {
    sku: String,
    matched_strata: usize,
    n_treated: u64,
    n_reference: u64,
    median_gap: f64,
    estimate: stats::Estimate,
    p_value: f64,
}

/// The observations (orders, then quotes) with cohort-relevant columns, as SQL.
fn observations_sql(config: &Config) -> String {
    let conditions: Vec<String> = crate::pricing::condition_columns(config)
        .into_iter()
        .map(|(_, c)| ident(&c))
        .collect();
    let extra = if conditions.is_empty() {
        String::new()
    } else {
        format!(", {}", conditions.join(", "))
    };
    let select = |table: &str| {
        format!(
            "SELECT customer_id, ordered_at, sku, offered_unit_price AS price, device_os AS order_device{extra} FROM {table} WHERE sku IS NOT NULL AND offered_unit_price IS NOT NULL AND customer_id IS NOT NULL"
        )
    };
    let mut sql = select("fm_orders");
    if config.datasets.quotes.is_some() {
        sql = format!("{sql} UNION ALL {}", select("fm_quotes"));
    }
    sql
}

async fn test_pair(
    engine: &Engine,
    config: &Config,
    pair: &CohortPair,
    settings: &Settings,
) -> Result<(Vec<SkuTest>, Vec<String>)> {
    let bucket = match settings.time_bucket {
        TimeBucket::Hour => "hour",
        TimeBucket::Day => "day",
        TimeBucket::Week => "week",
    };
    let conditions: Vec<String> = crate::pricing::condition_columns(config)
        .into_iter()
        .map(|(_, c)| ident(&c))
        .collect();
    let group = std::iter::once("sku".to_string())
        .chain(std::iter::once("bucket".to_string()))
        .chain(conditions.iter().cloned())
        .collect::<Vec<_>>()
        .join(", ");
    let condition_list = if conditions.is_empty() {
        String::new()
    } else {
        format!(
            ", {}",
            conditions
                .iter()
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let sql = format!(
        "WITH observed AS (
            SELECT o.sku, date_trunc('{bucket}', o.ordered_at) AS bucket{condition_list}, o.price,
                CAST(floor(date_part('epoch', o.ordered_at) / 86400) AS BIGINT) - CAST(floor(date_part('epoch', f.tenure_start) / 86400) AS BIGINT) AS tenure_at_order,
                COALESCE(o.order_device, f.device_os) AS device_os{attributes}
            FROM ({observations}) o JOIN {FEATURES_TABLE} f ON o.customer_id = f.customer_id),
        labelled AS (
            SELECT {group}, price, CASE WHEN {treated} THEN 1 WHEN {reference} THEN 0 END AS cohort FROM observed),
        strata AS (
            SELECT {group},
                median(CASE WHEN cohort = 1 THEN price END) AS treated_price,
                median(CASE WHEN cohort = 0 THEN price END) AS reference_price,
                count(CASE WHEN cohort = 1 THEN 1 END) AS n_treated,
                count(CASE WHEN cohort = 0 THEN 1 END) AS n_reference
            FROM labelled WHERE cohort IS NOT NULL GROUP BY {group}),
        matched AS (
            SELECT sku, n_treated, n_reference,
                CASE WHEN n_treated > 0 AND n_reference > 0 AND reference_price > 0 THEN treated_price / reference_price - 1 END AS gap
            FROM strata)
        SELECT sku, array_agg(gap ORDER BY gap) AS gaps,
            CAST(sum(CASE WHEN gap IS NOT NULL THEN n_treated ELSE 0 END) AS BIGINT) AS n_treated,
            CAST(sum(CASE WHEN gap IS NOT NULL THEN n_reference ELSE 0 END) AS BIGINT) AS n_reference,
            CAST(sum(n_treated) AS BIGINT) AS any_treated, CAST(sum(n_reference) AS BIGINT) AS any_reference
        FROM matched GROUP BY sku ORDER BY sku",
        observations = observations_sql(config),
        attributes = crate::pricing::customer_attribute_columns(config).iter().map(|a| format!(", f.{}", ident(a))).collect::<String>(),
        treated = pair.treated,
        reference = pair.reference,
    );
    let batches = engine.collect(&sql, "orders").await?;
    let mut tests = Vec::new();
    let mut lacking = Vec::new();
    for batch in &batches {
        let skus = cast(batch.column(0), &DataType::Utf8)?;
        let skus = skus.as_string::<i32>();
        let lists = batch.column(1).as_list::<i32>();
        let column = |i: usize| batch.column(i).as_primitive::<Int64Type>().clone();
        let (n_treated, n_reference, any_treated, any_reference) =
            (column(2), column(3), column(4), column(5));
        for row in 0..batch.num_rows() {
            let values = lists.value(row);
            let values = values.as_primitive::<Float64Type>();
            let gaps: Vec<f64> = (0..values.len())
                .filter(|i| !values.is_null(*i))
                .map(|i| values.value(i))
                .collect();
            let sku = skus.value(row).to_string();
            if gaps.len() < settings.min_strata {
                if any_treated.value(row) > 0 && any_reference.value(row) > 0 {
                    lacking.push(sku);
                }
                continue;
            }
            let estimate = stats::hodges_lehmann(&gaps, settings.confidence)
                .ok_or_else(|| Error::Engine("no gaps to estimate".into()))?;
            let p_value = if pair.two_sided {
                let up = stats::signed_rank_greater(&gaps).p_value;
                let down = stats::signed_rank_greater(&gaps.iter().map(|g| -g).collect::<Vec<_>>())
                    .p_value;
                (2.0 * up.min(down)).min(1.0)
            } else {
                stats::signed_rank_greater(&gaps).p_value
            };
            tests.push(SkuTest {
                sku,
                matched_strata: gaps.len(),
                n_treated: n_treated.value(row) as u64,
                n_reference: n_reference.value(row) as u64,
                median_gap: stats::median(&gaps).unwrap_or(0.0),
                estimate,
                p_value,
            });
        }
    }
    Ok((tests, lacking))
}

fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

fn significant(value: f64) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - value.abs().log10().ceil() as i32);
    (value * scale).round() / scale
}

/// Compares the cohort pairs of `kind` SKU by SKU; tenure is measured at the time of each
/// order.
pub async fn overcharge(
    cx: &Context<'_>,
    info: &CheckInfo,
    check: &EffectiveCheck,
    kind: CohortKind,
) -> Result<Outcome> {
    if let Some(reason) = missing_data(cx.config) {
        return Ok(Outcome::Skipped(reason));
    }
    cx.table(Table::CustomerFeatures).await?;
    let (engine, config, policy) = (cx.engine()?, cx.config, cx.policy);
    let settings: Settings = policy.settings(info.id)?;
    let pairs: Vec<CohortPair> = cohort_pairs(
        engine,
        config,
        policy,
        settings.old_tenure_days,
        settings.new_tenure_days,
        "tenure_at_order",
    )
    .await?
    .into_iter()
    .filter(|p| p.kind == kind)
    .collect();
    {
        let mut tested: Vec<(usize, SkuTest)> = Vec::new();
        let mut lacking: Vec<(usize, Vec<String>)> = Vec::new();
        for (i, pair) in pairs.iter().enumerate() {
            let (tests, short) = test_pair(engine, config, pair, &settings).await?;
            tested.extend(tests.into_iter().map(|t| (i, t)));
            lacking.push((i, short));
        }
        let q_values =
            stats::benjamini_hochberg(&tested.iter().map(|(_, t)| t.p_value).collect::<Vec<_>>());
        let mut findings = Vec::new();
        for ((i, test), q) in tested.iter().zip(&q_values) {
            let pair = &pairs[*i];
            let gap = test.estimate.estimate;
            let large = if pair.two_sided {
                gap.abs() >= settings.min_gap
            } else {
                gap >= settings.min_gap
            };
            if !large || *q >= settings.alpha {
                continue;
            }
            findings.push(
                Finding::new(
                    info.id,
                    check.severity,
                    Subject { dataset: Some("orders".into()), sku: Some(test.sku.clone()), ..Subject::default() },
                    &pair.name,
                    format!("SKU {}: {} offered {:+.1}% for the same item", test.sku, pair.treated_label, 100.0 * gap),
                    format!(
                        "Across {} matched strata (same SKU, {} and trading conditions), {} were offered {:+.2}% (Hodges-Lehmann estimate, 95% CI {:+.2}% to {:+.2}%; median stratum gap {:+.2}%) relative to {}; Wilcoxon signed-rank p = {:.2e}, Benjamini-Hochberg q = {:.2e} over {} SKU tests.",
                        test.matched_strata,
                        match settings.time_bucket {
                            TimeBucket::Hour => "hour",
                            TimeBucket::Day => "day",
                            TimeBucket::Week => "week",
                        },
                        pair.treated_label,
                        100.0 * gap,
                        100.0 * test.estimate.low,
                        100.0 * test.estimate.high,
                        100.0 * test.median_gap,
                        pair.reference_label,
                        test.p_value,
                        q,
                        tested.len()
                    ),
                )
                .with_evidence("cohorts", pair.name.clone())
                .with_evidence("matched_strata", test.matched_strata)
                .with_evidence("n_first_cohort", test.n_treated)
                .with_evidence("n_second_cohort", test.n_reference)
                .with_evidence("gap_estimate", round4(gap))
                .with_evidence("gap_ci_low", round4(test.estimate.low))
                .with_evidence("gap_ci_high", round4(test.estimate.high))
                .with_evidence("median_gap", round4(test.median_gap))
                .with_evidence("p_value", significant(test.p_value))
                .with_evidence("q_value", significant(*q))
                .with_evidence("skus_tested", tested.len())
                .with_legal_bases(&check.legal_bases),
            );
        }
        let lacking: Vec<(String, &Vec<String>)> = lacking
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, s)| (pairs[*i].name.clone(), s))
            .collect();
        if !lacking.is_empty() {
            let per_pair: Vec<String> = lacking
                .iter()
                .map(|(name, skus)| {
                    let shown: Vec<&str> = skus.iter().take(10).map(String::as_str).collect();
                    format!(
                        "{name}: {} SKUs ({}{})",
                        skus.len(),
                        shown.join(", "),
                        if skus.len() > shown.len() {
                            ", …"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            let total: usize = lacking.iter().map(|(_, s)| s.len()).sum();
            findings.push(
                Finding::new(info.id, Severity::Info, Subject::dataset("orders"), "lacking-data", format!("{total} SKU comparisons lacked data to decide"), format!(
                    "Both cohorts bought or were quoted these SKUs, but in fewer than {} matched strata (same SKU, time bucket and conditions): too few to decide either way. {}.",
                    settings.min_strata,
                    per_pair.join("; ")
                ))
                .with_evidence("comparisons_lacking_data", total)
                .with_evidence("comparisons_tested", tested.len()),
            );
        }
        Ok(Outcome::Findings(findings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stricter_settings_compare_finer_and_flag_smaller_gaps() {
        let coarse = Settings {
            time_bucket: TimeBucket::Week,
            min_gap: 0.05,
            ..Settings::default()
        };
        let merged = coarse.strictest(Settings::default());
        assert_eq!(merged.time_bucket, TimeBucket::Day);
        assert_eq!(merged.min_gap, 0.02);
    }

    #[test]
    fn significant_digits_round_p_values_without_zeroing_them() {
        assert_eq!(significant(0.000_123_456), 0.000_123);
        assert_eq!(significant(0.5), 0.5);
    }
}
