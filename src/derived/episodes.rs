//! Overcharging that comes and goes: the time buckets (days, or weeks, or hours) where one
//! cohort was offered more in every matched stratum, over the whole bucket or over the strata
//! of one value of one condition column (one channel, one payment method).
//!
//! Per SKU, a *cell* is a bucket, or a bucket and one condition value. A cell is *consistent*
//! when every one of its strata has a gap of the same sign and their mean gap reaches
//! `min_gap`. The SKU's episodes are its consistent cells, and the scan statistic is the sum
//! of the Wilcoxon ranks of the strata they cover: large when big gaps line up on the same
//! days. Its null distribution comes from the same assumption as the signed-rank test (a
//! stratum's gap is as likely negative as positive when the price ignores the cohort): signs
//! are flipped at random, the episodes are looked for again, and the statistic recomputed, so
//! the search over every day and condition is paid for in the p-value. The caller puts the
//! SKUs' p-values under Benjamini–Hochberg.

use std::collections::{BTreeSet, HashMap};

use crate::stats::{SplitMix, ZERO, absolute_ranks};

/// One stratum of a SKU: its prices in one time bucket under one set of trading conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Stratum {
    pub bucket: String,
    /// The values of the condition columns, in the config's order.
    pub conditions: Vec<Option<String>>,
    pub treated_price: Option<f64>,
    pub reference_price: Option<f64>,
    pub n_treated: u64,
    pub n_reference: u64,
}

impl Stratum {
    /// The relative gap between the cohorts' median offered prices, where both were offered
    /// the item.
    pub fn gap(&self) -> Option<f64> {
        match (self.treated_price, self.reference_price) {
            (Some(t), Some(r)) if self.n_treated > 0 && self.n_reference > 0 && r > 0.0 => {
                Some(t / r - 1.0)
            }
            _ => None,
        }
    }

    /// The log of the price ratio: the gap the tests use, since it is symmetric. A coin-flip
    /// ±5% price test gives relative gaps of +10.5% (1.05/0.95) and −9.5% (0.95/1.05), which a
    /// rank test reads as a lean upwards; their logs are ±0.100.
    pub fn log_gap(&self) -> Option<f64> {
        self.gap().map(f64::ln_1p)
    }

    /// What the first cohort's order lines were offered beyond the second's median, per unit,
    /// in the data's currency.
    pub fn excess(&self) -> f64 {
        match (self.treated_price, self.reference_price, self.gap()) {
            (Some(t), Some(r), Some(_)) => self.n_treated as f64 * (t - r),
            _ => 0.0,
        }
    }

    /// What the first cohort's order lines were offered in all, per unit.
    pub fn treated_spend(&self) -> f64 {
        match (self.treated_price, self.gap()) {
            (Some(t), Some(_)) => self.n_treated as f64 * t,
            _ => 0.0,
        }
    }
}

/// Which strata of a bucket a cell covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every matched stratum of the bucket.
    AllConditions,
    /// The strata where condition column `column` (its index) has `value`.
    Condition(usize, String),
}

/// A bucket, or a bucket and one condition value, of one SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub bucket: String,
    pub scope: Scope,
    /// Indices into the SKU's strata, all matched.
    pub strata: Vec<usize>,
}

/// One SKU's scan: its episodes, in bucket order, and the permutation p-value.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub episodes: Vec<Cell>,
    /// The mean gap of each episode.
    pub gaps: Vec<f64>,
    pub p_value: f64,
}

/// How the permutations run: at most `max` sign flips, stopping once `enough` of them
/// (Besag and Clifford's sequential rule) reach the observed statistic, since the p-value is
/// then plainly large.
#[derive(Debug, Clone, Copy)]
pub struct Permutations {
    pub max: usize,
    pub enough: usize,
}

impl Permutations {
    /// Enough flips that the smallest p-value, 1/(max + 1), passes Benjamini–Hochberg at
    /// `alpha` among `tests` tests with a third to spare (q ≤ alpha / 1.5), and at least 20,000:
    /// with thousands of SKUs a fixed number would make one strong SKU unflaggable. Weak SKUs
    /// still stop early; strong ones run to the end, so the margin is kept small.
    pub fn resolving(tests: usize, alpha: f64) -> Permutations {
        let needed = (1.5 * tests as f64 / alpha).ceil() as usize;
        Permutations {
            max: needed.max(20_000),
            enough: 40,
        }
    }
}

/// Every cell of a SKU with at least one matched stratum: each bucket over all its strata, and
/// each (bucket, condition = value) that is not the same set of strata again. Cells come in
/// bucket order, then the whole bucket, then by condition column and value.
pub fn cells(strata: &[Stratum], condition_count: usize) -> Vec<Cell> {
    // The matched strata of each bucket. A SKU's strata come bucket by bucket, so a bucket is
    // looked up only where it changes.
    let mut buckets: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut bucket_of: HashMap<&str, usize> = HashMap::new();
    let mut current = usize::MAX;
    for (i, stratum) in strata.iter().enumerate() {
        if stratum.gap().is_none() {
            continue;
        }
        let bucket = stratum.bucket.as_str();
        if buckets.get(current).is_none_or(|(b, _)| *b != bucket) {
            current = *bucket_of.entry(bucket).or_insert_with(|| {
                buckets.push((bucket, Vec::new()));
                buckets.len() - 1
            });
        }
        buckets[current].1.push(i);
    }
    buckets.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut cells = Vec::new();
    for (bucket, members) in buckets {
        let first = cells.len();
        for column in 0..condition_count {
            let mut valued: Vec<(&str, usize)> = members
                .iter()
                .filter_map(|&i| strata[i].conditions[column].as_deref().map(|v| (v, i)))
                .collect();
            // Stable: each value's strata stay in stratum order.
            valued.sort_by(|a, b| a.0.cmp(b.0));
            for group in valued.chunk_by(|a, b| a.0 == b.0) {
                let held: Vec<usize> = group.iter().map(|(_, i)| *i).collect();
                // A condition that takes one value all day is the whole day again.
                if held == members || cells[first..].iter().any(|c: &Cell| c.strata == held) {
                    continue;
                }
                cells.push(Cell {
                    bucket: bucket.to_string(),
                    scope: Scope::Condition(column, group[0].0.to_string()),
                    strata: held,
                });
            }
        }
        cells.insert(
            first,
            Cell {
                bucket: bucket.to_string(),
                scope: Scope::AllConditions,
                strata: members,
            },
        );
    }
    cells
}

/// Marks in `qualifying` the cells consistent with an overcharge in `direction` (+1: the first
/// cohort offered more; −1: less): every stratum's log gap has that sign and their mean reaches
/// `min_log_gap`. The buffer is reused across permutations.
fn mark_consistent(
    cells: &[Cell],
    log_gaps: &[f64],
    direction: f64,
    min_log_gap: f64,
    qualifying: &mut [bool],
) {
    for (cell, mark) in cells.iter().zip(qualifying.iter_mut()) {
        *mark = (|| {
            let mut sum = 0.0;
            for i in &cell.strata {
                let gap = direction * log_gaps[*i];
                if gap <= ZERO {
                    return false;
                }
                sum += gap;
            }
            sum / cell.strata.len() as f64 >= min_log_gap
        })();
    }
}

/// The scan statistic: the rank mass of the strata the consistent cells cover, each once.
fn statistic(cells: &[Cell], qualifying: &[bool], ranks: &[f64], covered: &mut [bool]) -> f64 {
    covered.iter_mut().for_each(|c| *c = false);
    let mut total = 0.0;
    for (cell, _) in cells.iter().zip(qualifying).filter(|(_, q)| **q) {
        for i in &cell.strata {
            if !covered[*i] {
                covered[*i] = true;
                total += ranks[*i];
            }
        }
    }
    total
}

/// Every cell's strata as (word, bit mask) pairs, flattened, and where each cell's pairs end;
/// stratum `i` is bit `position[i]`.
fn cell_masks(cells: &[Cell], position: &[usize]) -> (Vec<(usize, u64)>, Vec<usize>) {
    let mut masks: Vec<(usize, u64)> = Vec::new();
    let mut ends = Vec::with_capacity(cells.len());
    for cell in cells {
        let start = masks.len();
        for &i in &cell.strata {
            let at = position[i];
            let (word, bit) = (at / 64, 1u64 << (at % 64));
            match masks[start..].iter_mut().find(|(w, _)| *w == word) {
                Some((_, mask)) => *mask |= bit,
                None => masks.push((word, bit)),
            }
        }
        ends.push(masks.len());
    }
    (masks, ends)
}

/// Scans one SKU's strata for episodes. `two_sided` looks both ways (protected groups) and
/// keeps the direction with the larger statistic; `seed` makes the permutations repeatable.
pub fn scan(
    strata: &[Stratum],
    condition_count: usize,
    min_gap: f64,
    two_sided: bool,
    permutations: Permutations,
    seed: u64,
) -> Scan {
    let log_gaps: Vec<f64> = strata.iter().map(|s| s.log_gap().unwrap_or(0.0)).collect();
    let ranks = absolute_ranks(&log_gaps);
    let min_log_gap = min_gap.ln_1p();
    // Flipping signs never changes a gap's size: a cell with an equal-price stratum, or whose
    // gaps are too small on average, qualifies under no permutation and is left out of them.
    let cells: Vec<Cell> = cells(strata, condition_count)
        .into_iter()
        .filter(|cell| {
            let sizes = cell.strata.iter().map(|i| log_gaps[*i].abs());
            sizes.clone().all(|g| g > ZERO)
                && sizes.sum::<f64>() / cell.strata.len() as f64 >= min_log_gap
        })
        .collect();
    let directions: &[f64] = if two_sided { &[1.0, -1.0] } else { &[1.0] };
    let mut covered = vec![false; strata.len()];
    let mut marks = vec![false; cells.len()];
    // The larger statistic over the directions looked at, and the cells of that direction.
    let mut best = |log_gaps: &[f64], keep: &mut Vec<bool>| {
        let mut best = f64::NEG_INFINITY;
        for direction in directions {
            mark_consistent(&cells, log_gaps, *direction, min_log_gap, &mut marks);
            let value = statistic(&cells, &marks, &ranks, &mut covered);
            if value > best {
                best = value;
                keep.clone_from(&marks);
            }
        }
        best
    };
    let mut qualifying = vec![false; cells.len()];
    let observed = best(&log_gaps, &mut qualifying);
    // A whole bucket that qualifies stands for its conditions in the list.
    let whole: BTreeSet<&str> = cells
        .iter()
        .zip(&qualifying)
        .filter(|(c, q)| **q && c.scope == Scope::AllConditions)
        .map(|(c, _)| c.bucket.as_str())
        .collect();
    let episodes: Vec<Cell> = cells
        .iter()
        .zip(&qualifying)
        .filter(|(c, q)| {
            **q && (c.scope == Scope::AllConditions || !whole.contains(c.bucket.as_str()))
        })
        .map(|(c, _)| c.clone())
        .collect();
    let gaps = episodes
        .iter()
        .map(|c| {
            let mean = c.strata.iter().map(|i| log_gaps[*i]).sum::<f64>() / c.strata.len() as f64;
            mean.exp_m1()
        })
        .collect();
    if observed <= 0.0 {
        return Scan {
            episodes,
            gaps,
            p_value: 1.0,
        };
    }
    // Under a sign flip a kept cell is consistent exactly when all its strata point the way
    // looked at: the sizes, hence the mean, do not change. So the permutations need only the
    // signs, as bits, and only of the strata some kept cell holds (the others never count);
    // each cell is the bit masks of its strata, word by word, over those strata alone: a cell
    // is checked a word at a time, and the strata covered are a union of masks. The ranks are
    // whole or half numbers, so their sum is exact in any order.
    let relevant: Vec<usize> = cells
        .iter()
        .flat_map(|c| c.strata.iter().copied())
        .collect::<BTreeSet<usize>>()
        .into_iter()
        .collect();
    let mut position = vec![usize::MAX; strata.len()];
    for (j, &i) in relevant.iter().enumerate() {
        position[i] = j;
    }
    let relevant_ranks: Vec<f64> = relevant.iter().map(|i| ranks[*i]).collect();
    // Each relevant stratum's place in a run's draws: the run draws one per stratum, in
    // stratum order, and only these are computed.
    let ahead: Vec<u32> = relevant.iter().map(|i| *i as u32).collect();
    let words = relevant.len().div_ceil(64);
    let (masks, ends) = cell_masks(&cells, &position);
    let mut observed_positive = vec![0u64; words];
    for (j, &i) in relevant.iter().enumerate() {
        observed_positive[j / 64] |= u64::from(log_gaps[i] > 0.0) << (j % 64);
    }
    let mut rng = SplitMix::new(seed);
    let (mut runs, mut reached) = (0usize, 0usize);
    let mut positive = vec![0u64; words];
    let mut covered = vec![0u64; words];
    while runs < permutations.max && reached < permutations.enough {
        // A stratum's draw's lowest bit flips its sign.
        for ((permuted, observed), places) in positive
            .iter_mut()
            .zip(&observed_positive)
            .zip(ahead.chunks(64))
        {
            *permuted = observed ^ rng.low_bits_at(places);
        }
        rng.skip(strata.len() as u64);
        let mut permuted = f64::NEG_INFINITY;
        for direction in directions {
            // The strata pointing the way looked at: a negative direction wants the unset bits.
            let flipped = if *direction > 0.0 { 0 } else { u64::MAX };
            covered.fill(0);
            let mut start = 0;
            for &end in &ends {
                let cell = &masks[start..end];
                start = end;
                if cell
                    .iter()
                    .all(|&(word, mask)| (positive[word] ^ flipped) & mask == mask)
                {
                    for &(word, mask) in cell {
                        covered[word] |= mask;
                    }
                }
            }
            let mut total = 0.0;
            for (word, &bits) in covered.iter().enumerate() {
                let mut rest = bits;
                while rest != 0 {
                    total += relevant_ranks[word * 64 + rest.trailing_zeros() as usize];
                    rest &= rest - 1;
                }
            }
            permuted = permuted.max(total);
        }
        if permuted >= observed - 1e-9 {
            reached += 1;
        }
        runs += 1;
    }
    Scan {
        episodes,
        gaps,
        p_value: (reached + 1) as f64 / (runs + 1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stratum(bucket: &str, channel: &str, treated: f64, reference: f64) -> Stratum {
        Stratum {
            bucket: bucket.into(),
            conditions: vec![Some(channel.into())],
            treated_price: Some(treated),
            reference_price: Some(reference),
            n_treated: 3,
            n_reference: 2,
        }
    }

    /// Sixty days, two channels; the app overcharged by `surcharge` on every fifth day.
    fn shop(surcharge: f64) -> Vec<Stratum> {
        (0..60)
            .flat_map(|day| {
                let bucket = format!("2025-01-{day:02}");
                let app = if day % 5 == 2 {
                    100.0 * (1.0 + surcharge)
                } else {
                    100.0
                };
                vec![
                    stratum(&bucket, "app", app, 100.0),
                    stratum(&bucket, "web", 100.0, 100.0),
                ]
            })
            .collect()
    }

    #[test]
    fn an_app_overcharge_on_one_day_in_five_is_found_day_by_day() {
        let result = scan(
            &shop(0.10),
            1,
            0.02,
            false,
            Permutations::resolving(1, 0.05),
            7,
        );
        assert_eq!(result.episodes.len(), 12);
        assert!(
            result
                .episodes
                .iter()
                .all(|c| c.scope == Scope::Condition(0, "app".into()))
        );
        assert!(result.gaps.iter().all(|g| (g - 0.10).abs() < 1e-9));
        assert!(result.p_value < 1e-3, "{}", result.p_value);
    }

    #[test]
    fn gaps_below_the_threshold_make_no_episode() {
        let result = scan(
            &shop(0.01),
            1,
            0.02,
            false,
            Permutations::resolving(1, 0.05),
            7,
        );
        assert!(result.episodes.is_empty());
        assert_eq!(result.p_value, 1.0);
    }

    #[test]
    fn gaps_of_random_sign_are_not_significant() {
        // A cohort-blind test: ±8% by a fixed coin, on every stratum of four days.
        let mut rng = SplitMix::new(3);
        let strata: Vec<Stratum> = (0..40)
            .flat_map(|day| {
                let bucket = format!("d{day:02}");
                ["app", "web"].map(|channel| {
                    let price = if day < 4 && rng.next_u64() & 1 == 1 {
                        108.0
                    } else if day < 4 {
                        92.0
                    } else {
                        100.0
                    };
                    stratum(&bucket, channel, price, 100.0)
                })
            })
            .collect();
        let result = scan(&strata, 1, 0.02, false, Permutations::resolving(1, 0.05), 7);
        assert!(result.p_value > 0.05, "{}", result.p_value);
    }

    #[test]
    fn the_same_seed_gives_the_same_p_value() {
        let strata = shop(0.03);
        let a = scan(&strata, 1, 0.02, true, Permutations::resolving(1, 0.05), 11);
        let b = scan(&strata, 1, 0.02, true, Permutations::resolving(1, 0.05), 11);
        assert_eq!(a, b);
    }

    /// The scan's p-value by its definition: flip the signs of the log gaps, look for the
    /// consistent cells again among all cells, and recompute the statistic.
    fn p_value_by_definition(
        strata: &[Stratum],
        min_gap: f64,
        two_sided: bool,
        permutations: Permutations,
        seed: u64,
    ) -> f64 {
        let log_gaps: Vec<f64> = strata.iter().map(|s| s.log_gap().unwrap_or(0.0)).collect();
        let ranks = absolute_ranks(&log_gaps);
        let cells = cells_by_definition(strata, 1);
        let (mut marks, mut covered) = (vec![false; cells.len()], vec![false; strata.len()]);
        let directions: &[f64] = if two_sided { &[1.0, -1.0] } else { &[1.0] };
        let mut best = |gaps: &[f64]| {
            directions
                .iter()
                .map(|direction| {
                    mark_consistent(&cells, gaps, *direction, min_gap.ln_1p(), &mut marks);
                    statistic(&cells, &marks, &ranks, &mut covered)
                })
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let observed = best(&log_gaps);
        if observed <= 0.0 {
            return 1.0;
        }
        let mut rng = SplitMix::new(seed);
        let (mut runs, mut reached) = (0usize, 0usize);
        while runs < permutations.max && reached < permutations.enough {
            let flipped: Vec<f64> = log_gaps
                .iter()
                .map(|g| if rng.next_u64() & 1 == 1 { -g } else { *g })
                .collect();
            if best(&flipped) >= observed - 1e-9 {
                reached += 1;
            }
            runs += 1;
        }
        (reached + 1) as f64 / (runs + 1) as f64
    }

    /// The cells by their definition: every (bucket, scope) with its matched strata, in key
    /// order, a set of strata met again in its bucket left out.
    fn cells_by_definition(strata: &[Stratum], condition_count: usize) -> Vec<Cell> {
        use std::collections::BTreeMap;
        let mut cells: BTreeMap<(String, Scope), Vec<usize>> = BTreeMap::new();
        for (i, stratum) in strata.iter().enumerate() {
            if stratum.gap().is_none() {
                continue;
            }
            let mut scopes = vec![Scope::AllConditions];
            for (column, value) in stratum.conditions.iter().enumerate().take(condition_count) {
                if let Some(value) = value {
                    scopes.push(Scope::Condition(column, value.clone()));
                }
            }
            for scope in scopes {
                cells
                    .entry((stratum.bucket.clone(), scope))
                    .or_default()
                    .push(i);
            }
        }
        let mut seen = BTreeSet::new();
        cells
            .into_iter()
            .filter(|((bucket, _), members)| seen.insert((bucket.clone(), members.clone())))
            .map(|((bucket, scope), strata)| Cell {
                bucket,
                scope,
                strata,
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn cells_are_those_of_the_definition(
            rows in proptest::collection::vec(
                (0usize..5, proptest::option::of(0usize..3), proptest::option::of(0usize..3), proptest::bool::ANY),
                0..80,
            ),
        ) {
            // Buckets out of order and met again, values missing, strata without a match.
            let strata: Vec<Stratum> = rows
                .iter()
                .map(|(bucket, channel, payment, matched)| Stratum {
                    bucket: format!("d{}", [3, 1, 4, 0, 2][*bucket]),
                    conditions: vec![
                        channel.map(|c| ["app", "web", "mini"][c].to_string()),
                        payment.map(|p| ["card", "cash", "wallet"][p].to_string()),
                    ],
                    treated_price: matched.then_some(101.0),
                    reference_price: Some(100.0),
                    n_treated: 1,
                    n_reference: 1,
                })
                .collect();
            proptest::prop_assert_eq!(cells(&strata, 2), cells_by_definition(&strata, 2));
        }

        #[test]
        fn the_bitwise_permutations_give_the_p_value_of_the_definition(
            prices in proptest::collection::vec((0usize..4, proptest::option::of(0usize..5)), 1..150),
            two_sided in proptest::bool::ANY,
            seed in 0u64..1000,
        ) {
            // Few price levels, so that equal prices and tied ranks are common.
            let levels = [95.0, 100.0, 103.0, 108.0, 120.0];
            let strata: Vec<Stratum> = prices
                .iter()
                .enumerate()
                .map(|(i, (channel, treated))| Stratum {
                    treated_price: treated.map(|t| levels[t]),
                    ..stratum(&format!("d{:02}", i / 6), ["app", "web", "mini", "tv"][*channel], 100.0, 100.0)
                })
                .collect();
            let permutations = Permutations { max: 300, enough: 40 };
            proptest::prop_assert_eq!(
                scan(&strata, 1, 0.02, two_sided, permutations, seed).p_value,
                p_value_by_definition(&strata, 0.02, two_sided, permutations, seed)
            );
        }
    }

    #[test]
    fn money_counts_the_first_cohorts_lines_at_the_stratum_gap() {
        let s = stratum("d", "app", 110.0, 100.0);
        assert!((s.excess() - 30.0).abs() < 1e-9);
        assert!((s.treated_spend() - 330.0).abs() < 1e-9);
    }
}
