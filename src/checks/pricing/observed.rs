//! What the observed-price checks (`pricing.tenure-overcharge`, `pricing.device-overcharge`,
//! `pricing.protected-overcharge`, `pricing.frequency-overcharge`) share: one comparison, four
//! cohort kinds. Strata of the same SKU, time bucket and trading conditions come from
//! [`crate::derived::strata`] (one DataFusion plan for
//! every cohort pair, the medians from its price histogram); the per-SKU statistics
//! (the mean gap and its interval, the Wilcoxon signed-rank test, the episode scan of
//! [`crate::derived::episodes`], Benjamini–Hochberg q-values over both tests) are computed from the
//! matched strata it returns.

use std::ops::Bound;

use serde::Deserialize;

use std::collections::{BTreeSet, HashMap};

use crate::checks::check::{CheckInfo, Outcome};
use crate::checks::context::{Context, Need, Table};
use crate::comparison::{Comparison, Verdict};
use crate::config::Config;
use crate::derived::cohorts::{
    CohortKind, CohortPair, strictest_frequency, strictest_tenure, validate_frequency,
    validate_tenure,
};
use crate::derived::episodes::{Cell, Permutations, Scope, Stratum, scan};
use crate::derived::observations::TimeBucket;
use crate::derived::strata::{Keys, SkuStrata, StrataSpec};
use crate::error::Result;
use crate::findings::evidence::{
    Condition, Episode, Episodes, GapTest, LackingData, ObservedGap, ProtectedCoverage,
};
use crate::findings::{Finding, Severity, Subject};
use crate::policy::{EffectiveCheck, Strictest, Validate, within};
use crate::stats;

/// What every observed-price check needs: the orders, and the customer features for cohorts.
pub const NEEDS: &[Need] = &[
    Need::Dataset("orders"),
    Need::Table(Table::CustomerFeatures),
    Need::Table(Table::ObservedStrata),
];

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
    /// Frequent buyers bought on at least this many days of the year before an order ...
    pub frequent_days: u32,
    /// ... occasional ones at most this many (`pricing.frequency-overcharge`).
    pub occasional_days: u32,
    pub confidence: f64,
    /// A SKU's prices are shown fair when the gap is shown to lie within ± this share (two
    /// one-sided tests at 1 − `confidence`).
    pub equivalence_margin: f64,
    /// An overcharge worth at least this share of what the first cohort was offered for the
    /// SKU raises the finding one severity step ...
    pub critical_share: f64,
    /// ... and one below this share lowers it one step.
    pub minor_share: f64,
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
            frequent_days: 12,
            occasional_days: 2,
            confidence: 0.95,
            equivalence_margin: 0.02,
            critical_share: 0.05,
            minor_share: 0.005,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        let (old_tenure_days, new_tenure_days) = strictest_tenure(
            (self.old_tenure_days, self.new_tenure_days),
            (other.old_tenure_days, other.new_tenure_days),
        );
        let (frequent_days, occasional_days) = strictest_frequency(
            (self.frequent_days, self.occasional_days),
            (other.frequent_days, other.occasional_days),
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
            frequent_days,
            occasional_days,
            confidence: self.confidence.max(other.confidence),
            // A narrower margin is harder to show fair within.
            equivalence_margin: self.equivalence_margin.min(other.equivalence_margin),
            critical_share: self.critical_share.min(other.critical_share),
            minor_share: self.minor_share.min(other.minor_share),
        }
    }
}

/// `min_gap` a relative gap in [0, 1); `alpha` and `confidence` probabilities strictly
/// between 0 and 1; at least one matched stratum per SKU; tenure and frequency cohorts as
/// [`validate_tenure`] and [`validate_frequency`] say.
impl Validate for Settings {
    fn validate(&self) -> std::result::Result<(), String> {
        within("min_gap", self.min_gap, 0.0..1.0)?;
        within("equivalence_margin", self.equivalence_margin, 0.001..=0.5)?;
        let open_unit = (Bound::Excluded(0.0), Bound::Excluded(1.0));
        within("alpha", self.alpha, open_unit)?;
        within("confidence", self.confidence, open_unit)?;
        within("min_strata", self.min_strata, 1..)?;
        within("critical_share", self.critical_share, 0.0..=1.0)?;
        within("minor_share", self.minor_share, 0.0..=self.critical_share)?;
        validate_frequency(self.frequent_days, self.occasional_days)?;
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

/// One SKU's whole-period comparison.
#[derive(Debug, Clone, PartialEq)]
struct SkuTest {
    sku: String,
    matched_strata: usize,
    n_treated: u64,
    n_reference: u64,
    /// The mean stratum gap over every matched stratum: the effect flagged.
    mean: stats::Estimate,
    p_value: f64,
    /// Two one-sided tests of the log gaps against ±log(1 + `equivalence_margin`) at
    /// 1 − `confidence`: whether the data shows the prices equal.
    equivalence: Option<stats::Equivalence>,
    /// What both cohorts were offered in the matched strata.
    offered: f64,
}

/// The whole-period test of one SKU, or `None` when too few strata matched. The tests and
/// estimates run on log price ratios (symmetric, see [`Stratum::log_gap`]) and are reported
/// back as relative gaps.
fn whole_period(strata: &SkuStrata, pair: &CohortPair, settings: &Settings) -> Option<SkuTest> {
    let gaps = strata.log_gaps();
    if gaps.len() < settings.min_strata {
        return None;
    }
    let p_value = signed_rank_p(&gaps, pair.two_sided);
    let mean = stats::mean_with_ci(&gaps, settings.confidence)?;
    Some(SkuTest {
        sku: strata.sku.clone(),
        matched_strata: gaps.len(),
        n_treated: strata.strata.iter().map(|s| s.n_treated).sum(),
        n_reference: strata.strata.iter().map(|s| s.n_reference).sum(),
        mean: stats::Estimate {
            estimate: mean.estimate.exp_m1(),
            low: mean.low.exp_m1(),
            high: mean.high.exp_m1(),
        },
        p_value,
        equivalence: stats::equivalence(
            &gaps,
            settings.equivalence_margin.ln_1p(),
            1.0 - settings.confidence,
        ),
        offered: strata.offered(),
    })
}

/// The Wilcoxon signed-rank p-value of `gaps`: one-sided (the first cohort offered more), or
/// two-sided (twice the smaller tail) for protected groups.
pub(super) fn signed_rank_p(gaps: &[f64], two_sided: bool) -> f64 {
    if two_sided {
        let up = stats::signed_rank_greater(gaps).p_value;
        let down = stats::signed_rank_greater(&gaps.iter().map(|g| -g).collect::<Vec<_>>()).p_value;
        (2.0 * up.min(down)).min(1.0)
    } else {
        stats::signed_rank_greater(gaps).p_value
    }
}

impl SkuStrata {
    /// The log gap of every (matched) stratum.
    fn log_gaps(&self) -> Vec<f64> {
        self.strata.iter().filter_map(Stratum::log_gap).collect()
    }

    /// What both cohorts were offered in the matched strata, at each cohort's median price.
    fn offered(&self) -> f64 {
        self.strata
            .iter()
            .map(|s| {
                s.n_treated as f64 * s.treated_price.unwrap_or(0.0)
                    + s.n_reference as f64 * s.reference_price.unwrap_or(0.0)
            })
            .sum()
    }
}

/// Both cohorts were offered the SKU, but not in `min_strata` matched strata.
fn lacks_data(strata: &SkuStrata, settings: &Settings) -> bool {
    strata.strata.len() < settings.min_strata
        && strata.offered_to_both.0
        && strata.offered_to_both.1
}

pub(super) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

pub(super) fn significant(value: f64) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - value.abs().log10().ceil() as i32);
    (value * scale).round() / scale
}

/// A small overcharge is still an overcharge: the money never lowers a finding below this.
const LOWEST_MONEY_SEVERITY: Severity = Severity::Medium;

/// One step up from the configured severity when the overcharge is at least `critical_share`
/// of what the first cohort was offered for the SKU; one step down, but not below
/// [`LOWEST_MONEY_SEVERITY`] (nor above the configured one), under `minor_share`.
fn severity_for_money(configured: Severity, share: f64, settings: &Settings) -> Severity {
    let steps = Severity::ALL;
    let at = configured as usize;
    if share >= settings.critical_share {
        steps[(at + 1).min(steps.len() - 1)]
    } else if share < settings.minor_share {
        steps[at.saturating_sub(1)]
            .max(LOWEST_MONEY_SEVERITY)
            .min(configured)
    } else {
        configured
    }
}

/// An episode as evidence: its bucket, its condition, its strata and their mean gap.
fn episode(cell: &Cell, gap: f64, condition_names: &[String]) -> Episode {
    Episode {
        bucket: cell.bucket.clone(),
        condition: match &cell.scope {
            Scope::AllConditions => None,
            Scope::Condition(column, value) => Some(Condition {
                column: condition_names[*column].clone(),
                value: value.clone(),
            }),
        },
        strata: cell.strata.len(),
        gap,
    }
}

/// Which protected attributes were compared and which were not, and why: an auditor must be
/// able to tell "no gap" from "not looked at".
pub(super) fn protected_coverage(
    info: &CheckInfo,
    cohorts: &crate::derived::cohorts::Cohorts,
) -> Finding {
    let compared: Vec<String> = cohorts
        .compared
        .iter()
        .map(|(attribute, groups)| format!("`{attribute}` ({groups} groups)"))
        .collect();
    let skipped: Vec<String> = cohorts
        .skipped
        .iter()
        .map(|s| format!("`{}`: {}", s.attribute, s.reason))
        .collect();
    let mut message = if compared.is_empty() {
        "No protected attribute could be compared.".to_string()
    } else {
        format!("Compared: {}.", compared.join(", "))
    };
    if !skipped.is_empty() {
        message.push_str(&format!(
            " Not compared, or not wholly: {}.",
            skipped.join("; ")
        ));
    }
    Finding::new(
        info.id,
        Severity::Info,
        Subject::dataset("customers"),
        "coverage",
        format!(
            "Protected attributes: {} compared, {} with groups left out or skipped",
            cohorts.compared.len(),
            cohorts.skipped.len()
        ),
        message,
    )
    .with_evidence(ProtectedCoverage {
        attributes_compared: cohorts.compared.iter().map(|(a, _)| a.clone()).collect(),
        attributes_skipped: cohorts
            .skipped
            .iter()
            .map(|s| s.attribute.clone())
            .collect(),
    })
}

/// `f` over `items` on every core, results in the order of `items`: the permutation scans are
/// independent per SKU and CPU-bound, and each is seeded by its own names, so the result does
/// not depend on how they are split.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    // Dealt round-robin: the slow scans (significant SKUs) are not in one thread's share.
    let shares: Vec<Vec<R>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                scope.spawn(move || items.iter().skip(t).step_by(threads).map(f).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a scan thread does not panic"))
            .collect()
    });
    let mut shares: Vec<_> = shares.into_iter().map(Vec::into_iter).collect();
    (0..items.len())
        .map(|i| shares[i % threads].next().expect("one result per item"))
        .collect()
}

/// A repeatable seed for one SKU's permutations (FNV-1a of the names that identify the test).
fn seed_of(parts: &[&str]) -> u64 {
    parts.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, part| {
        part.bytes().chain(std::iter::once(0)).fold(hash, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    })
}

/// At most this many episodes are listed in a finding; the count says how many there are.
const EPISODES_SHOWN: usize = 40;

/// Episodes alone accuse a SKU only when a reviewer would take them as evidence: at least this
/// many matched strata in them (a day with one stratum is one pair of prices) ...
const MIN_EPISODE_STRATA: usize = 3;

/// ... an episode gap beyond this quantile of the absolute gaps the SKU shows between the
/// cohorts outside its episodes (the noise of its prices when nothing is going on) ...
const EPISODE_NOISE_QUANTILE: f64 = 0.9;

/// Whether episodes (of a SKU without a persistent gap) are material: enough strata, a gap
/// beyond the SKU's own noise, and an excess of at least `minor_share` of what the first cohort
/// was offered. Dropping rejections after Benjamini–Hochberg only lowers the false-discovery
/// rate, so the control across all SKU × cohort tests holds.
fn material_episodes(
    sku: &SkuStrata,
    episode_strata: &BTreeSet<usize>,
    episode_log_gap: f64,
    share: f64,
    settings: &Settings,
) -> bool {
    let mut quiet: Vec<f64> = sku
        .strata
        .iter()
        .enumerate()
        .filter(|(i, _)| !episode_strata.contains(i))
        .filter_map(|(_, s)| s.log_gap().map(f64::abs))
        .collect();
    quiet.sort_by(f64::total_cmp);
    let noise = match quiet.len() {
        0 => 0.0,
        n => quiet[((n - 1) as f64 * EPISODE_NOISE_QUANTILE).round() as usize],
    };
    episode_strata.len() >= MIN_EPISODE_STRATA
        && episode_log_gap.abs() > noise
        && share >= settings.minor_share
}

/// Compares the cohort pairs of `kind` SKU by SKU; tenure is measured at the time of each
/// order. A SKU is flagged for a persistent gap (the whole-period test significant and the
/// mean stratum gap at least `min_gap`) or for episodes (see [`super::episodes`]).
pub async fn overcharge(
    cx: &Context<'_>,
    info: &CheckInfo,
    check: &EffectiveCheck,
    kind: CohortKind,
) -> Result<Outcome> {
    if let Some(reason) = missing_data(cx.config) {
        return Ok(Outcome::Skipped(reason));
    }
    let (config, policy) = (cx.config, cx.policy);
    let settings: Settings = policy.settings(info.id)?;
    let observed = cx
        .observed_strata(StrataSpec {
            time_bucket: settings.time_bucket,
            old_tenure_days: settings.old_tenure_days,
            new_tenure_days: settings.new_tenure_days,
            frequent_days: settings.frequent_days,
            occasional_days: settings.occasional_days,
        })
        .await?;
    cx.phase(info.id);
    let cohorts = &observed.cohorts;
    let pair_indices = observed.pairs_of(kind);
    let pairs: Vec<&CohortPair> = pair_indices.iter().map(|p| &cohorts.pairs[*p]).collect();
    let condition_names: Vec<String> = crate::pricing::condition_columns(config)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let unit = settings.time_bucket.unit();

    // Per SKU with enough matched strata, two tests: the whole-period signed-rank test and the
    // episode scan. Both go under one Benjamini–Hochberg across every SKU of every pair. The
    // whole-period tests come first, from the prices alone, since their number sets how many
    // permutations the scans need.
    let mut whole: Vec<(usize, usize, SkuTest)> = Vec::new();
    let mut lacking: Vec<(usize, Vec<String>)> = Vec::new();
    let mut comparisons: Vec<Comparison> = Vec::new();
    for (p, pair) in pairs.iter().enumerate() {
        let mut short = Vec::new();
        for (s, sku) in observed
            .sku_strata(pair_indices[p], Keys::Without)
            .iter()
            .enumerate()
        {
            if lacks_data(sku, &settings) {
                short.push(sku.sku.clone());
                comparisons.push(Comparison {
                    check: info.id.to_string(),
                    sku: sku.sku.clone(),
                    cohorts: pair.name.clone(),
                    verdict: Verdict::Inconclusive,
                    reason: Some(format!(
                        "{} matched strata, fewer than the {} needed",
                        sku.strata.len(),
                        settings.min_strata
                    )),
                    matched_strata: sku.strata.len(),
                    gap: None,
                    gap_low: None,
                    gap_high: None,
                    margin: settings.equivalence_margin,
                    offered: round2(sku.offered()),
                });
            }
            if let Some(test) = whole_period(sku, pair, &settings) {
                whole.push((p, s, test));
            }
        }
        lacking.push((p, short));
    }
    // Enough permutations that one strong SKU can pass Benjamini–Hochberg among all tested.
    let permutations = Permutations::resolving(2 * whole.len(), settings.alpha);
    // The scans, a pair at a time so that one pair's strata are in memory; a SKU's strata are
    // kept for its finding only if a test could pass Benjamini–Hochberg (q ≥ p).
    let mut scans = Vec::with_capacity(whole.len());
    let mut kept: HashMap<(usize, usize), SkuStrata> = HashMap::new();
    for (p, pair) in pairs.iter().enumerate() {
        let tested: Vec<&(usize, usize, SkuTest)> = whole.iter().filter(|w| w.0 == p).collect();
        if tested.is_empty() {
            continue;
        }
        let mut skus = observed.sku_strata(pair_indices[p], Keys::With);
        let pair_scans = parallel_map(&tested, |(_, s, _)| {
            scan(
                &skus[*s].strata,
                condition_names.len(),
                settings.min_gap,
                pair.two_sided,
                permutations,
                seed_of(&[info.id, &pair.name, &skus[*s].sku]),
            )
        });
        for ((_, s, test), scan) in tested.into_iter().zip(pair_scans) {
            // q ≥ p, but q is computed and may round a step below a p-value equal to alpha.
            let could_pass = |p: f64| p <= settings.alpha * (1.0 + 1e-9);
            if could_pass(test.p_value) || could_pass(scan.p_value) {
                kept.insert((p, *s), std::mem::take(&mut skus[*s]));
            }
            scans.push(scan);
        }
    }
    // Both tests of every SKU of every pair under one Benjamini–Hochberg: a SKU is flagged when
    // either of its hypotheses is rejected, and the false-discovery rate holds over them all.
    let p_values: Vec<f64> = whole
        .iter()
        .map(|(_, _, t)| t.p_value)
        .chain(scans.iter().map(|s| s.p_value))
        .collect();
    let q_values = stats::benjamini_hochberg(&p_values);
    let (q_whole, q_scan) = q_values.split_at(whole.len());
    let tested = whole.len();

    let confidence = 100.0 * settings.confidence;
    let mut findings = Vec::new();
    let mut flagged: BTreeSet<(usize, usize)> = BTreeSet::new();
    for ((((p, s, test), scan), q), q_episodes) in whole.iter().zip(&scans).zip(q_whole).zip(q_scan)
    {
        let pair = pairs[*p];
        let size = |gap: f64| if pair.two_sided { gap.abs() } else { gap };
        let persistent = *q < settings.alpha && size(test.mean.estimate) >= settings.min_gap;
        let found: &[Cell] = if *q_episodes < settings.alpha {
            &scan.episodes
        } else {
            &[]
        };
        if !persistent && found.is_empty() {
            continue;
        }
        // A test rejected under Benjamini–Hochberg has p ≤ q < alpha: its strata were kept
        // (and are read again should rounding have said otherwise).
        let sku = match kept.remove(&(*p, *s)) {
            Some(sku) => sku,
            None => std::mem::take(&mut observed.sku_strata(pair_indices[*p], Keys::With)[*s]),
        };
        let sku = &sku;
        let episode_strata: BTreeSet<usize> = found
            .iter()
            .flat_map(|c| c.strata.iter().copied())
            .collect();
        // The money: over every matched stratum for a persistent gap, over the episodes'
        // strata otherwise; as a share of what the first cohort was offered in the period.
        let excess: f64 = if persistent {
            sku.strata.iter().map(Stratum::excess).sum()
        } else {
            episode_strata.iter().map(|i| sku.strata[*i].excess()).sum()
        };
        let offered: f64 = sku.strata.iter().map(Stratum::treated_spend).sum();
        let share = if offered > 0.0 {
            excess.abs() / offered
        } else {
            0.0
        };
        // Each stratum once, though a day's channel and payment-method cells share strata.
        let episode_log_gap = if episode_strata.is_empty() {
            0.0
        } else {
            let sum: f64 = episode_strata
                .iter()
                .filter_map(|i| sku.strata[*i].log_gap())
                .sum();
            sum / episode_strata.len() as f64
        };
        if !persistent
            && !material_episodes(sku, &episode_strata, episode_log_gap, share, &settings)
        {
            continue;
        }
        flagged.insert((*p, *s));
        let severity = severity_for_money(check.severity, share, &settings);
        let more_or_less = |value: f64| if value < 0.0 { "less" } else { "more" };

        let matched_buckets: BTreeSet<&str> =
            sku.strata.iter().map(|s| s.bucket.as_str()).collect();
        let episode_buckets: BTreeSet<&str> = found.iter().map(|c| c.bucket.as_str()).collect();
        let episode_share = episode_buckets.len() as f64 / matched_buckets.len().max(1) as f64;
        let episode_gap = episode_log_gap.exp_m1();
        let episodes: Vec<Episode> = found
            .iter()
            .zip(&scan.gaps)
            .take(EPISODES_SHOWN)
            .map(|(c, gap)| episode(c, *gap, &condition_names))
            .collect();
        let log_gaps = sku.log_gaps();
        let hodges_lehmann = stats::hodges_lehmann(&log_gaps, settings.confidence)
            .map_or(0.0, |e| e.estimate.exp_m1());
        let median_gap = stats::median(&log_gaps).map_or(0.0, f64::exp_m1);

        // An overcharge on under half of the period is described by its episodes.
        let title = if persistent && (found.is_empty() || episode_share >= 0.5) {
            format!(
                "SKU {}: {} offered {:+.1}% for the same item",
                sku.sku,
                pair.treated_label,
                100.0 * test.mean.estimate
            )
        } else {
            format!(
                "SKU {}: {} offered {:+.1}% on {} of {} {unit}s",
                sku.sku,
                pair.treated_label,
                100.0 * episode_gap,
                episode_buckets.len(),
                matched_buckets.len()
            )
        };
        let mut message = format!(
            "Across {} matched strata (same SKU, {unit} and trading conditions), {} were offered {:+.2}% on average ({confidence}% CI {:+.2}% to {:+.2}%, over all strata; Hodges-Lehmann {:+.2}%, median stratum gap {:+.2}%) relative to {}; Wilcoxon signed-rank p = {:.2e}, Benjamini-Hochberg q = {:.2e} over {} tests ({} SKU comparisons, two tests each).",
            test.matched_strata,
            pair.treated_label,
            100.0 * test.mean.estimate,
            100.0 * test.mean.low,
            100.0 * test.mean.high,
            100.0 * hodges_lehmann,
            100.0 * median_gap,
            pair.reference_label,
            test.p_value,
            q,
            p_values.len(),
            tested
        );
        if !found.is_empty() {
            let shown: Vec<String> = episodes.iter().take(5).map(Episode::to_string).collect();
            message.push_str(&format!(
                " The gap comes in {} episodes ({} of the {} {unit}s with matched strata: {:.0}%) where the first cohort was offered {} in every stratum, {:+.1}% on average there; episode scan p = {:.2e} (sign-flip permutations), Benjamini-Hochberg q = {:.2e}: {}{}.",
                found.len(),
                episode_buckets.len(),
                matched_buckets.len(),
                100.0 * episode_share,
                more_or_less(episode_gap),
                100.0 * episode_gap,
                scan.p_value,
                q_episodes,
                shown.join("; "),
                if found.len() > shown.len() { "; …" } else { "" }
            ));
        }
        message.push_str(&format!(
            " In {} strata the first cohort's order lines were offered {:.2} {} than the second's median price (per unit, quantities not weighted): {:.1}% of what it was offered for the SKU.",
            if persistent { "all matched" } else { "the episodes'" },
            excess.abs(),
            more_or_less(excess),
            100.0 * share
        ));
        let finding = Finding::new(
            info.id,
            severity,
            Subject {
                dataset: Some("orders".into()),
                sku: Some(sku.sku.clone()),
                ..Subject::default()
            },
            &pair.name,
            title,
            message,
        )
        .with_evidence(ObservedGap {
            cohorts: pair.name.clone(),
            test: GapTest {
                confidence: settings.confidence,
                gap_estimate: stats::round4(test.mean.estimate),
                gap_ci_low: stats::round4(test.mean.low),
                gap_ci_high: stats::round4(test.mean.high),
                hodges_lehmann: stats::round4(hodges_lehmann),
                median_gap: stats::round4(median_gap),
                p_value: significant(test.p_value),
                q_value: significant(*q),
            },
            excess_offered: round2(excess.abs()),
            excess_share: stats::round4(share),
            skus_tested: tested,
            matched_strata: test.matched_strata,
            n_first_cohort: test.n_treated,
            n_second_cohort: test.n_reference,
            episode_p_value: significant(scan.p_value),
            episode_q_value: significant(*q_episodes),
            episodes: (!found.is_empty()).then(|| Episodes {
                shown: episodes,
                total: found.len(),
                buckets: episode_buckets.len(),
                share: stats::round4(episode_share),
                gap: stats::round4(episode_gap),
            }),
        });
        findings.push(finding.with_legal_bases(&check.legal_bases));
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
            .with_evidence(LackingData {
                comparisons_lacking_data: total,
                comparisons_tested: tested,
            }),
        );
    }
    if kind == CohortKind::Protected && !(cohorts.compared.is_empty() && cohorts.skipped.is_empty())
    {
        findings.push(protected_coverage(info, cohorts));
    }
    comparisons.extend(whole.iter().map(|(p, s, test)| {
        let flagged = flagged.contains(&(*p, *s));
        verdict_of(info, &pairs[*p].name, test, flagged, &settings)
    }));
    comparisons.sort_by(|a, b| (&a.cohorts, &a.sku).cmp(&(&b.cohorts, &b.sku)));
    Ok(Outcome::Compared {
        findings,
        comparisons,
    })
}

/// The verdict on one tested SKU: flagged when a finding accuses it, else fair when the two
/// one-sided tests place its gap within the margin, else inconclusive with the interval.
fn verdict_of(
    info: &CheckInfo,
    cohorts: &str,
    test: &SkuTest,
    flagged: bool,
    settings: &Settings,
) -> Comparison {
    let interval = test.equivalence.map(|e| e.interval);
    let relative = |log_gap: f64| stats::round4(log_gap.exp_m1());
    let (verdict, reason) = match test.equivalence {
        _ if flagged => (Verdict::Flagged, None),
        Some(e) if e.within_margin => (Verdict::Fair, None),
        Some(e) => (
            Verdict::Inconclusive,
            Some(format!(
                "the gap's {:.0}% interval, {:+.2}% to {:+.2}%, is not within ±{:.1}%",
                100.0 * (2.0 * settings.confidence - 1.0),
                100.0 * e.interval.low.exp_m1(),
                100.0 * e.interval.high.exp_m1(),
                100.0 * settings.equivalence_margin
            )),
        ),
        None => (
            Verdict::Inconclusive,
            Some("too few strata to estimate the gap's interval".to_string()),
        ),
    };
    Comparison {
        check: info.id.to_string(),
        sku: test.sku.clone(),
        cohorts: cohorts.to_string(),
        verdict,
        reason,
        matched_strata: test.matched_strata,
        gap: interval.map(|i| relative(i.estimate)),
        gap_low: interval.map(|i| relative(i.low)),
        gap_high: interval.map(|i| relative(i.high)),
        margin: settings.equivalence_margin,
        offered: round2(test.offered),
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
