#![doc = include_str!("simulated_disparity.md")]

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use serde::Deserialize;

use crate::checks::check::Outcome;
use crate::checks::context::{Need, Table};
use crate::config::Config;
use crate::derived::cohorts::{CohortPair, cohort_pairs, strictest_tenure, validate_tenure};
use crate::engine::{Engine, ident};
use crate::error::{Error, Result};
use crate::findings::evidence::{self, SkuGap};
use crate::findings::{Finding, Severity, SourceLocation, Subject};
use crate::policy::{EffectiveCheck, EffectivePolicy, Strictest, Validate, within};
use crate::pricing::FEATURES_TABLE;
use crate::pricing::rules::RulesFile;

pub const ID: &str = "pricing.simulated-disparity";

check_info!(
    INFO,
    ID,
    "pricing",
    "Pricing rules would charge cohorts differently",
    "定价规则模拟出的价格差别",
    Severity::High,
    "simulated_disparity.md",
    Settings
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Relative gap in average simulated price above which a cohort pair is flagged.
    pub tolerance: f64,
    pub old_tenure_days: i64,
    pub new_tenure_days: i64,
    /// Cohorts smaller than this are not compared: their average moves with who happens to
    /// be in them.
    pub min_cohort_customers: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tolerance: 0.01,
            old_tenure_days: 365,
            new_tenure_days: 30,
            min_cohort_customers: 30,
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
            tolerance: self.tolerance.min(other.tolerance),
            old_tenure_days,
            new_tenure_days,
            min_cohort_customers: self.min_cohort_customers.min(other.min_cohort_customers),
        }
    }
}

/// `tolerance` a relative gap in [0, 1); the smallest cohort compared at least 1; tenure cohorts as [`validate_tenure`] says.
impl Validate for Settings {
    fn validate(&self) -> std::result::Result<(), String> {
        within("tolerance", self.tolerance, 0.0..1.0)?;
        within("min_cohort_customers", self.min_cohort_customers, 1..)?;
        validate_tenure(self.old_tenure_days, self.new_tenure_days)
    }
}

/// The table of distinct customer profiles [`register_profiles`] registers.
const PROFILES_TABLE: &str = "fm_price_profiles";
/// The catalogue the simulation prices: each SKU at its median list price.
const CATALOGUE_TABLE: &str = "fm_price_catalogue";

/// Whether a rule's condition depends on the SKU priced (names `sku` or `category`): its
/// outcome is then decided per SKU, not once per customer.
fn depends_on_sku(rule: &crate::pricing::rules::Rule) -> bool {
    rule.condition
        .attributes()
        .iter()
        .any(|(name, _)| matches!(*name, "sku" | "category"))
}

/// Registers the customer base as the rules see it: one row per distinct profile, with the
/// number of customers who have it. A profile is the outcome of every rule condition that does
/// not depend on the SKU, the attributes the other conditions read, and each cohort pair's
/// membership: customers with the same profile are offered the same price for every SKU. Also
/// registers the catalogue. The trading conditions are held at their most common value.
async fn register_profiles(
    engine: &Engine,
    config: &Config,
    rules: &RulesFile,
    pairs: &[CohortPair],
) -> Result<()> {
    let mut context = Vec::new();
    let mut taken: Vec<String> = vec!["sku".into(), "category".into(), "price_0".into()];
    if let Some(orders) = &config.datasets.orders {
        let mut columns: Vec<(String, String)> = orders
            .conditions
            .iter()
            .map(|c| (c.to_lowercase(), ident(c)))
            .collect();
        if !columns.iter().any(|(name, _)| name == "quantity") {
            columns.push((
                "quantity".into(),
                orders
                    .quantity
                    .as_ref()
                    .map_or_else(|| "1.0".to_string(), |q| ident(q)),
            ));
        }
        for (name, expr) in columns {
            if taken.contains(&name) {
                continue;
            }
            taken.push(name.clone());
            context.push(format!(
                "CROSS JOIN (SELECT {expr} AS {} FROM raw_orders GROUP BY {expr} ORDER BY count(*) DESC, {expr} NULLS LAST LIMIT 1) context_{}",
                ident(&name),
                context.len()
            ));
        }
    }
    let context_columns: String = (0..context.len())
        .map(|i| format!(", context_{i}.*"))
        .collect();
    // (name, condition) of every yes/no part of a profile: rule outcomes, cohort memberships.
    let mut flags: Vec<(String, String)> = Vec::new();
    let mut carried: Vec<&str> = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        if depends_on_sku(rule) {
            for (name, _) in rule.condition.attributes() {
                if !matches!(name, "sku" | "category") && !carried.contains(&name) {
                    carried.push(name);
                }
            }
        } else {
            // Printed from the analysed tree, never the author's text: what runs is what was
            // checked.
            flags.push((format!("fm_rule_{i}"), rule.condition.to_sql()));
        }
    }
    for (p, pair) in pairs.iter().enumerate() {
        flags.push((format!("fm_treated_{p}"), pair.treated.clone()));
        flags.push((format!("fm_reference_{p}"), pair.reference.clone()));
    }
    let (packed, unpacked) = packed_flags(&flags);
    let carried: Vec<String> = carried.iter().map(|name| ident(name)).collect();
    let keys = [packed, carried.clone()].concat();
    let group: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
    let profiles = format!(
        "SELECT {}, fm_customers FROM (SELECT {}, CAST(count(*) AS BIGINT) AS fm_customers FROM (SELECT f.*{context_columns} FROM {FEATURES_TABLE} f {}) GROUP BY {})",
        [unpacked, carried].concat().join(", "),
        keys.join(", "),
        context.join(" "),
        group.join(", ")
    );
    let catalogue = "SELECT sku, min(category) AS category, median(list_unit_price) AS base_price FROM fm_orders WHERE sku IS NOT NULL GROUP BY sku";
    for (name, sql) in [
        (PROFILES_TABLE, profiles.as_str()),
        (CATALOGUE_TABLE, catalogue),
    ] {
        crate::engine::materialize(&engine.ctx, name, sql)
            .await
            .map_err(|e| Error::from(e).in_dataset("customers and orders", "simulation"))?;
    }
    Ok(())
}

/// Bits per packed word: a BIGINT holds 63 without its sign.
const FLAGS_PER_WORD: usize = 62;

/// The yes/no parts of a profile as integer words to group by (`fm_flags_{w} = Σ 2^j` over
/// the conditions that hold), and the expressions that read each flag back under its name. A
/// customer base grouped by dozens of boolean columns spent a quarter of `check-rules` comparing
/// them column by column; one integer per 62 flags groups like any integer key. A NULL
/// condition (a customer without orders has no recency) counts as false.
fn packed_flags(flags: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut packed = Vec::new();
    let mut unpacked = Vec::new();
    for (w, word) in flags.chunks(FLAGS_PER_WORD).enumerate() {
        let bits: Vec<String> = word
            .iter()
            .enumerate()
            .map(|(j, (_, condition))| {
                format!("CASE WHEN {condition} THEN {} ELSE 0 END", 1_i64 << j)
            })
            .collect();
        packed.push(format!(
            "CAST({} AS BIGINT) AS fm_flags_{w}",
            bits.join(" + ")
        ));
        unpacked.extend(
            word.iter()
                .enumerate()
                .map(|(j, (name, _))| format!("(fm_flags_{w} & {}) <> 0 AS {name}", 1_i64 << j)),
        );
    }
    (packed, unpacked)
}

/// The SQL of the simulated price of every profile for every SKU: one column `price_v{k}` per
/// variant, variant `k` applying every rule but the one at `variants[k]`. Every variant is a
/// re-pricing of the same few profiles.
fn simulation_sql(rules: &RulesFile, variants: &[Option<usize>]) -> String {
    let price_without = |skip: Option<usize>| {
        let mut price = "price_0".to_string();
        for (i, rule) in rules.rules.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            let outcome = if depends_on_sku(rule) {
                format!("COALESCE({}, false)", rule.condition.to_sql())
            } else {
                format!("fm_rule_{i}")
            };
            price = rule.adjusted_sql(&price, outcome);
        }
        price
    };
    let prices: Vec<String> = variants
        .iter()
        .enumerate()
        .map(|(k, skip)| format!("{} AS price_v{k}", price_without(*skip)))
        .collect();
    format!(
        "SELECT *, {} FROM (SELECT p.*, k.sku, k.category, k.base_price AS price_0 FROM {PROFILES_TABLE} p CROSS JOIN {CATALOGUE_TABLE} k)",
        prices.join(", ")
    )
}

/// Per cohort pair and SKU: (relative gap, treated average, reference average).
type Gaps = Vec<BTreeMap<String, f64>>;

/// Per variant (see [`simulation_sql`]), per cohort pair: SKU → relative gap.
async fn gaps(
    engine: &Engine,
    rules: &RulesFile,
    variants: &[Option<usize>],
    pairs: &[CohortPair],
    settings: &Settings,
) -> Result<Vec<Gaps>> {
    let mut aggregates = Vec::new();
    for k in 0..variants.len() {
        for i in 0..pairs.len() {
            for (cohort, column) in [("treated", "t"), ("reference", "r")] {
                aggregates.push(format!(
                    "sum(CASE WHEN fm_{cohort}_{i} THEN fm_customers * price_v{k} END) / sum(CASE WHEN fm_{cohort}_{i} AND price_v{k} IS NOT NULL THEN fm_customers END) AS {column}{k}_{i}"
                ));
            }
        }
    }
    for i in 0..pairs.len() {
        aggregates.push(format!(
            "CAST(least(COALESCE(sum(CASE WHEN fm_treated_{i} THEN fm_customers END), 0), COALESCE(sum(CASE WHEN fm_reference_{i} THEN fm_customers END), 0)) AS BIGINT) AS n{i}"
        ));
    }
    let sql = format!(
        "SELECT sku, {} FROM ({}) GROUP BY sku ORDER BY sku",
        aggregates.join(", "),
        simulation_sql(rules, variants)
    );
    let batches = engine.collect(&sql, "orders").await?;
    let mut per_variant: Vec<Gaps> = vec![vec![BTreeMap::new(); pairs.len()]; variants.len()];
    for batch in &batches {
        let skus = cast(batch.column(0), &DataType::Utf8)?;
        let skus = skus.as_string::<i32>();
        let column = |name: String| batch.column_by_name(&name).expect("selected above").clone();
        for (k, per_pair) in per_variant.iter_mut().enumerate() {
            for (i, gaps) in per_pair.iter_mut().enumerate() {
                let (treated, reference, smaller) = (
                    column(format!("t{k}_{i}")),
                    column(format!("r{k}_{i}")),
                    column(format!("n{i}")),
                );
                let (treated, reference) = (
                    treated.as_primitive::<Float64Type>(),
                    reference.as_primitive::<Float64Type>(),
                );
                let smaller_cohort = smaller.as_primitive::<Int64Type>();
                for row in 0..batch.num_rows() {
                    let too_small =
                        (smaller_cohort.value(row) as u64) < settings.min_cohort_customers;
                    if too_small
                        || treated.is_null(row)
                        || reference.is_null(row)
                        || reference.value(row) <= 0.0
                    {
                        continue;
                    }
                    gaps.insert(
                        skus.value(row).to_string(),
                        treated.value(row) / reference.value(row) - 1.0,
                    );
                }
            }
        }
    }
    Ok(per_variant)
}

fn over_tolerance(
    gaps: &BTreeMap<String, f64>,
    pair: &CohortPair,
    tolerance: f64,
) -> Vec<(String, f64)> {
    let mut over: Vec<(String, f64)> = gaps
        .iter()
        .filter(|(_, g)| {
            if pair.two_sided {
                g.abs() > tolerance
            } else {
                **g > tolerance
            }
        })
        .map(|(s, g)| (s.clone(), *g))
        .collect();
    // Gaps equal but for rounding (the same rules on SKUs of one price level) are listed by SKU.
    let size = |gap: f64| (gap.abs() * 1e9).round();
    over.sort_by(|a, b| size(b.1).total_cmp(&size(a.1)).then_with(|| a.0.cmp(&b.0)));
    over
}

check!(
    SimulatedDisparity,
    INFO,
    needs: &[Need::PricingRules, Need::Table(Table::CustomerFeatures)],
    run: |cx, check| {
        cx.table(Table::CustomerFeatures).await?;
        let findings = simulate(cx.engine()?, cx.config, cx.rules()?, cx.policy, check).await?;
        Ok(Outcome::Findings(findings))
    }
);

/// Prices every customer (profile by profile) for every SKU with the rules, compares cohorts, and names
/// the rules behind each gap over the tolerance.
async fn simulate(
    engine: &Engine,
    config: &Config,
    rules: &RulesFile,
    policy: &EffectivePolicy,
    check: &EffectiveCheck,
) -> Result<Vec<Finding>> {
    let settings: Settings = policy.settings(ID)?;
    let pairs = cohort_pairs(
        engine,
        config,
        policy,
        settings.old_tenure_days,
        settings.new_tenure_days,
        "tenure_days",
    )
    .await?
    .pairs;
    register_profiles(engine, config, rules, &pairs).await?;
    let baseline = gaps(engine, rules, &[None], &pairs, &settings)
        .await?
        .remove(0);
    let flagged: Vec<usize> = (0..pairs.len())
        .filter(|i| !over_tolerance(&baseline[*i], &pairs[*i], settings.tolerance).is_empty())
        .collect();
    if flagged.is_empty() {
        return Ok(Vec::new());
    }
    let mut responsible: Vec<Vec<String>> = vec![Vec::new(); pairs.len()];
    // Every "without rule r" simulation in one more scan.
    let variants: Vec<Option<usize>> = (0..rules.rules.len()).map(Some).collect();
    let all_without = gaps(engine, rules, &variants, &pairs, &settings).await?;
    for (rule, without) in rules.rules.iter().zip(&all_without) {
        for &i in &flagged {
            // A rule is responsible when, on some flagged SKU, it alone accounts for more than
            // the tolerance of the gap.
            let pair = &pairs[i];
            let size = |g: f64| if pair.two_sided { g.abs() } else { g };
            let contributes = over_tolerance(&baseline[i], pair, settings.tolerance)
                .iter()
                .any(|(sku, gap)| {
                    size(*gap) - without[i].get(sku).copied().map_or(0.0, size)
                        >= settings.tolerance
                });
            if contributes {
                responsible[i].push(rule.id.clone());
            }
        }
    }
    let customers_simulated = engine
        .collect(
            &format!("SELECT CAST(count(*) AS BIGINT) FROM {FEATURES_TABLE}"),
            "orders",
        )
        .await?
        .iter()
        .find(|b| b.num_rows() > 0)
        .map_or(0, |b| b.column(0).as_primitive::<Int64Type>().value(0));
    let mut findings = Vec::new();
    for i in flagged {
        let pair = &pairs[i];
        let over = over_tolerance(&baseline[i], pair, settings.tolerance);
        let rules_text = if responsible[i].is_empty() {
            "the rules together (no single rule)".to_string()
        } else {
            responsible[i].join(", ")
        };
        let finding = Finding::new(
                ID,
                check.severity,
                Subject { dataset: Some("simulation".into()), rule: Some(responsible[i].join(", ")).filter(|r| !r.is_empty()), ..Subject::default() },
                &pair.name,
                format!("Rules would price {} differently on {} SKUs", pair.name, over.len()),
                format!(
                    "Applied to the {customers_simulated} customers, the pricing rules offer the cohorts {} different average prices for the same SKU under the same conditions on {} of {} SKUs (largest gap {:+.2}%, tolerance {:.2}%). Caused by: {rules_text}.",
                    pair.name,
                    over.len(),
                    baseline[i].len(),
                    100.0 * over[0].1,
                    100.0 * settings.tolerance
                ),
            )
            .with_evidence(evidence::SimulatedDisparity {
                cohorts: pair.name.clone(),
                customers_simulated,
                skus_compared: baseline[i].len(),
                skus_over_tolerance: over.len(),
                largest_gap: crate::stats::round4(over[0].1),
                largest_gaps: over
                    .iter()
                    .take(5)
                    .map(|(sku, gap)| SkuGap {
                        sku: sku.clone(),
                        gap: *gap,
                    })
                    .collect(),
                rules_responsible: responsible[i].clone(),
            })
            .with_legal_bases(&check.legal_bases);
        // Point code scanning at the first rule responsible, where the fix goes.
        let culprit = responsible[i]
            .first()
            .and_then(|id| rules.rules.iter().find(|r| &r.id == id));
        findings.push(match culprit {
            Some(rule) => finding.at(SourceLocation {
                file: rules.path.clone(),
                line: rule.position.line,
                column: rule.position.column,
            }),
            None => finding,
        });
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_pairs_only_flag_the_treated_paying_more() {
        let pair = CohortPair {
            kind: crate::derived::cohorts::CohortKind::Tenure,
            name: "p".into(),
            treated_label: "t".into(),
            reference_label: "r".into(),
            treated: "t".into(),
            reference: "r".into(),
            two_sided: false,
        };
        let gaps: BTreeMap<String, f64> = [
            ("a".to_string(), 0.05),
            ("b".to_string(), -0.08),
            ("c".to_string(), 0.002),
        ]
        .into_iter()
        .collect();
        let over = over_tolerance(&gaps, &pair, 0.01);
        assert_eq!(over, vec![("a".to_string(), 0.05)]);
        let two_sided = CohortPair {
            two_sided: true,
            ..pair
        };
        assert_eq!(over_tolerance(&gaps, &two_sided, 0.01).len(), 2);
    }
}
