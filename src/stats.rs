//! The statistics behind the observed-price checks, written out so that what fairmark reports
//! can be checked by hand: the Wilcoxon signed-rank test on matched-stratum price gaps, the
//! Hodges–Lehmann estimate of the typical gap with its distribution-free confidence interval,
//! the mean gap with its Student-t interval, Benjamini–Hochberg q-values across the SKUs
//! tested, and the seeded generator the permutation tests flip signs with.

/// Standard normal upper tail, P(Z > z), via the complementary error function (Numerical
/// Recipes' Chebyshev fit, relative error below 1.2e-7 everywhere).
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

/// The standard normal quantile for upper-tail probability `p` (bisection on
/// [`normal_upper_tail`]; only used for confidence levels, so speed does not matter).
pub fn normal_quantile_upper(p: f64) -> f64 {
    let (mut low, mut high) = (-10.0, 10.0);
    for _ in 0..100 {
        let mid = 0.5 * (low + high);
        if normal_upper_tail(mid) > p {
            low = mid
        } else {
            high = mid
        }
    }
    0.5 * (low + high)
}

/// The one-sided Wilcoxon signed-rank test of H1 "the gaps tend to be positive".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// Non-zero gaps used (zeros are dropped, as in Wilcoxon's original test).
    pub n: usize,
    /// Sum of the ranks of the positive gaps.
    pub w_plus: f64,
    pub p_value: f64,
}

/// Gaps within this distance of zero count as zero: prices are in cents, so float noise in a
/// ratio of equal prices must not become a "gap".
pub const ZERO: f64 = 1e-9;

/// The Wilcoxon ranks of `|gap|` (average ranks over ties), in the order of `gaps`; zero gaps
/// get rank 0, as they are dropped from the test.
pub fn absolute_ranks(gaps: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..gaps.len()).filter(|i| gaps[*i].abs() > ZERO).collect();
    order.sort_by(|a, b| gaps[*a].abs().total_cmp(&gaps[*b].abs()));
    let mut ranks = vec![0.0; gaps.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && (gaps[order[j + 1]].abs() - gaps[order[i]].abs()).abs() <= ZERO
        {
            j += 1;
        }
        for k in i..=j {
            ranks[order[k]] = (i + j + 2) as f64 / 2.0;
        }
        i = j + 1;
    }
    ranks
}

/// A small seeded generator (SplitMix64) for the permutation tests (and, through `demo::Rng`,
/// the demo data): the same seed gives the same draws on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
const MIX_1: u64 = 0xBF58_476D_1CE4_E5B9;
const MIX_2: u64 = 0x94D0_49BB_1331_11EB;

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(MIX_1);
        z = (z ^ (z >> 27)).wrapping_mul(MIX_2);
        z ^ (z >> 31)
    }

    /// The lowest bit of chosen draws ahead, without drawing: bit j is `next_u64() & 1` of
    /// the draw `ahead[j]` places on (0 is the next draw), at most 64 of them. The state does
    /// not move ([`SplitMix::skip`] moves it). SplitMix64's draws are a function of their
    /// position alone, so a permutation scan computes only the draws of the strata that can
    /// matter, at the positions the whole stream would give them, and its p-value is the one
    /// every draw would give.
    ///
    /// The scans spend most of their time here, so the bits are computed without the rest of
    /// the draws: bit 0 of a draw is bits 0 and 31 of the second product, whose low 32 bits
    /// need only a 32-bit multiply; and the draws are independent of one another, so with
    /// AVX2 they run four at a time.
    pub fn low_bits_at(&self, ahead: &[u32]) -> u64 {
        debug_assert!(ahead.len() <= 64);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has just been found to support AVX2.
            return unsafe { self.low_bits_at_avx2(ahead) };
        }
        self.low_bits_at_portable(ahead)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn low_bits_at_avx2(&self, ahead: &[u32]) -> u64 {
        self.low_bits_at_portable(ahead)
    }

    #[inline(always)]
    fn low_bits_at_portable(&self, ahead: &[u32]) -> u64 {
        let mut bits = 0u64;
        for (j, &k) in ahead.iter().enumerate() {
            let mut z = self.0.wrapping_add((u64::from(k) + 1).wrapping_mul(GAMMA));
            z = (z ^ (z >> 30)).wrapping_mul(MIX_1);
            let low = ((z ^ (z >> 27)) as u32).wrapping_mul(MIX_2 as u32);
            bits |= u64::from((low ^ (low >> 31)) & 1) << j;
        }
        bits
    }

    /// Moves past `n` draws, as `n` calls of `next_u64` would.
    pub fn skip(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n.wrapping_mul(GAMMA));
    }
}

pub fn signed_rank_greater(gaps: &[f64]) -> SignedRank {
    let ranks = absolute_ranks(gaps);
    let mut nonzero: Vec<f64> = ranks.iter().copied().filter(|r| *r > 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return SignedRank {
            n,
            w_plus: 0.0,
            p_value: 1.0,
        };
    }
    // Tied gaps share one average rank, distinct from every other group's: Σ(t³ − t) over
    // the groups of equal ranks.
    nonzero.sort_by(f64::total_cmp);
    let tie_correction: f64 = nonzero
        .chunk_by(|a, b| a == b)
        .map(|group| {
            let t = group.len() as f64;
            t * t * t - t
        })
        .sum();
    let w_plus: f64 = gaps
        .iter()
        .zip(&ranks)
        .filter(|(g, r)| **r > 0.0 && **g > 0.0)
        .map(|(_, r)| r)
        .sum();
    let has_ties = tie_correction > 0.0;
    let p_value = if n <= 30 && !has_ties {
        exact_signed_rank_upper(n, w_plus.round() as usize)
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let variance = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_correction / 48.0;
        if variance <= 0.0 {
            1.0
        } else {
            // Continuity correction of one half.
            normal_upper_tail((w_plus - mean - 0.5) / variance.sqrt())
        }
    };
    SignedRank {
        n,
        w_plus,
        p_value: p_value.clamp(0.0, 1.0),
    }
}

/// P(W+ ≥ w) under H0 for n untied ranks: counts the subsets of 1..=n by rank sum.
fn exact_signed_rank_upper(n: usize, w: usize) -> f64 {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0f64; max + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for sum in (rank..=max).rev() {
            counts[sum] += counts[sum - rank];
        }
    }
    let total = 2f64.powi(n as i32);
    counts[w.min(max + 1)..].iter().sum::<f64>() / total
}

/// The Hodges–Lehmann estimate (median of the Walsh averages (g_i + g_j)/2, i ≤ j) and its
/// two-sided confidence interval from the signed-rank distribution (normal approximation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

pub fn hodges_lehmann(gaps: &[f64], confidence: f64) -> Option<Estimate> {
    if gaps.is_empty() {
        return None;
    }
    let walsh = WalshAverages::new(gaps);
    let m = walsh.count();
    let estimate = if m % 2 == 1 {
        walsh.select(m / 2)
    } else {
        (walsh.select(m / 2 - 1) + walsh.select(m / 2)) / 2.0
    };
    let nf = gaps.len() as f64;
    let z = normal_quantile_upper((1.0 - confidence) / 2.0);
    let spread = z * (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
    let k = ((m as f64 / 2.0 - spread).floor().max(0.0) as usize).min(m - 1);
    Some(Estimate {
        estimate,
        low: walsh.select(k),
        high: walsh.select(m - 1 - k),
    })
}

/// The n(n+1)/2 Walsh averages (x_i + x_j)/2, i ≤ j, of sorted values, never materialized:
/// row i of the implicit matrix is ascending in j, so the number of averages at or below any
/// value is counted in O(n) with two pointers, and an order statistic is found by narrowing
/// each row's candidate range around a pivot (Monahan 1984, with Johnson and Mizoguchi's
/// weighted-median pivot instead of a random one, so the result needs no seed). Every
/// narrowing drops at least a quarter of the remaining candidates: O(n log n) per selection,
/// exact, where sorting all averages is O(n² log n).
struct WalshAverages {
    sorted: Vec<f64>,
}

impl WalshAverages {
    fn new(values: &[f64]) -> WalshAverages {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        WalshAverages { sorted }
    }

    fn count(&self) -> usize {
        let n = self.sorted.len();
        n * (n + 1) / 2
    }

    fn average(&self, i: usize, j: usize) -> f64 {
        (self.sorted[i] + self.sorted[j]) / 2.0
    }

    /// Per row i, how many averages of that row are below `pivot` (`strict`) or at or below
    /// it. The boundary only moves left as i grows, since the rows' values grow with i.
    fn counts_below(&self, pivot: f64, strict: bool) -> Vec<usize> {
        let n = self.sorted.len();
        let below = |value: f64| {
            if strict {
                value.total_cmp(&pivot).is_lt()
            } else {
                value.total_cmp(&pivot).is_le()
            }
        };
        let mut counts = vec![0; n];
        // `end`: one past the last column j whose average with row i is below the pivot.
        let mut end = n;
        for (i, count) in counts.iter_mut().enumerate() {
            while end > i && !below(self.average(i, end - 1)) {
                end -= 1;
            }
            if end <= i {
                break;
            }
            *count = end - i;
        }
        counts
    }

    /// The k-th smallest average (0-based).
    fn select(&self, k: usize) -> f64 {
        let n = self.sorted.len();
        // Candidates of row i are columns low[i]..high[i]; everything left of low[i] is known
        // to rank below k, everything from high[i] on above it.
        let mut low: Vec<usize> = (0..n).collect();
        let mut high = vec![n; n];
        loop {
            let remaining: usize = (0..n).map(|i| high[i] - low[i]).sum();
            let ranked_below: usize = (0..n).map(|i| low[i] - i).sum();
            if remaining <= n.max(64) {
                let mut last: Vec<f64> = (0..n)
                    .flat_map(|i| (low[i]..high[i]).map(move |j| (i, j)))
                    .map(|(i, j)| self.average(i, j))
                    .collect();
                last.sort_by(f64::total_cmp);
                return last[k - ranked_below];
            }
            let pivot = self.weighted_median_of_rows(&low, &high);
            let below = self.counts_below(pivot, true);
            let at_or_below = self.counts_below(pivot, false);
            let below_total: usize = below.iter().sum();
            let at_or_below_total: usize = at_or_below.iter().sum();
            if k < below_total {
                for i in 0..n {
                    high[i] = high[i].min(i + below[i]);
                }
            } else if k < at_or_below_total {
                return pivot;
            } else {
                for i in 0..n {
                    low[i] = low[i].max(i + at_or_below[i]);
                }
            }
        }
    }

    /// The median of the rows' middle candidates, each weighted by its row's candidate count.
    fn weighted_median_of_rows(&self, low: &[usize], high: &[usize]) -> f64 {
        let mut middles: Vec<(f64, usize)> = (0..low.len())
            .filter(|&i| high[i] > low[i])
            .map(|i| {
                (
                    self.average(i, low[i] + (high[i] - low[i]) / 2),
                    high[i] - low[i],
                )
            })
            .collect();
        middles.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: usize = middles.iter().map(|m| m.1).sum();
        let mut seen = 0;
        for (value, weight) in &middles {
            seen += weight;
            if 2 * seen >= total {
                return *value;
            }
        }
        unreachable!("at least one row has candidates")
    }
}

/// The mean of `values` with its two-sided Student-t confidence interval (mean ± t·s/√n),
/// computed on every value: the effect size of an overcharge that comes and goes, which the
/// median-based estimate reports as zero when most strata have no gap. `None` for fewer than
/// two values, which have no spread to build an interval from.
pub fn mean_with_ci(values: &[f64], confidence: f64) -> Option<Estimate> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = student_t_quantile_upper((1.0 - confidence) / 2.0, n - 1.0);
    let half_width = t * (variance / n).sqrt();
    Some(Estimate {
        estimate: mean,
        low: mean - half_width,
        high: mean + half_width,
    })
}

/// Two one-sided tests (Schuirmann 1987) that the mean of `values` lies within ±`margin`: each
/// side is a one-sided t-test at level `alpha`, and both reject exactly when the (1 − 2·alpha)
/// two-sided interval of the mean lies inside the margin. Returns that interval and the verdict;
/// `None` for fewer than two values. Equivalence is what "shown fair" means: not flagging a
/// gap only says the data could not show one, a narrow interval around zero shows there is none.
pub fn equivalence(values: &[f64], margin: f64, alpha: f64) -> Option<Equivalence> {
    let interval = mean_with_ci(values, 1.0 - 2.0 * alpha)?;
    Some(Equivalence {
        interval,
        within_margin: -margin < interval.low && interval.high < margin,
    })
}

/// The result of [`equivalence`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Equivalence {
    /// The mean and its (1 − 2·alpha) interval.
    pub interval: Estimate,
    /// Both one-sided tests reject: the mean is shown to lie within ±margin.
    pub within_margin: bool,
}

/// Rounds a share or relative gap to four decimals, as reports state them: honest for rates
/// and gaps estimated from sampled or stratified data, and stable run to run.
pub fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// The Student-t quantile with `df` degrees of freedom for upper-tail probability `p`, by the
/// Cornish–Fisher expansion around the normal quantile (Abramowitz and Stegun 26.7.5): within
/// 0.5% of the tables from 4 degrees of freedom, exact in the limit.
pub fn student_t_quantile_upper(p: f64, df: f64) -> f64 {
    let z = normal_quantile_upper(p);
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
}

pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p_values`: the smallest
/// false-discovery rate at which each test would be called significant.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p_values[*a].total_cmp(&p_values[*b]).then(a.cmp(b)));
    let mut q = vec![1.0; m];
    let mut running_min: f64 = 1.0;
    for (rank, &index) in order.iter().enumerate().rev() {
        let adjusted = p_values[index] * m as f64 / (rank + 1) as f64;
        running_min = running_min.min(adjusted);
        q[index] = running_min.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalence_is_shown_only_when_the_90_percent_interval_fits_the_margin() {
        // Mean 0, s = √(10e-4 / 4) = 0.01581, s/√5 = 0.007071, t(0.95, 4) = 2.132 (tables):
        // the 90% interval is ±0.01508.
        let centred = [0.01, -0.01, 0.02, -0.02, 0.0];
        let shown = equivalence(&centred, 0.02, 0.05).unwrap();
        assert!(shown.within_margin);
        assert!((shown.interval.high - 0.01508).abs() < 0.0002, "{shown:?}");
        assert!(!equivalence(&centred, 0.015, 0.05).unwrap().within_margin);
        // The same spread around +3%: a gap, not equivalence.
        let shifted = centred.map(|v| v + 0.03);
        assert!(!equivalence(&shifted, 0.02, 0.05).unwrap().within_margin);
        // One value has no spread: nothing can be shown.
        assert_eq!(equivalence(&[0.0], 0.02, 0.05), None);
    }

    proptest::proptest! {
        #[test]
        fn low_bits_at_are_the_lowest_bits_of_those_draws(
            seed: u64,
            picks in proptest::collection::btree_set(0u32..200, 0..=64),
            skipped in 0u64..300,
        ) {
            let mut plain = SplitMix::new(seed);
            let picked = SplitMix::new(seed);
            let ahead: Vec<u32> = picks.into_iter().collect();
            let draws: Vec<u64> = (0..200).map(|_| plain.next_u64() & 1).collect();
            let expected = ahead
                .iter()
                .enumerate()
                .fold(0u64, |bits, (j, &k)| bits | draws[k as usize] << j);
            proptest::prop_assert_eq!(picked.low_bits_at(&ahead), expected);
            proptest::prop_assert_eq!(picked.low_bits_at_portable(&ahead), expected);
            let (mut walked, mut jumped) = (SplitMix::new(seed), SplitMix::new(seed));
            (0..skipped).for_each(|_| {
                walked.next_u64();
            });
            jumped.skip(skipped);
            proptest::prop_assert_eq!(jumped.next_u64(), walked.next_u64());
        }
    }

    #[test]
    fn normal_tail_matches_tables() {
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_upper_tail(1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_upper_tail(-1.644_854) - 0.95).abs() < 1e-6);
        assert!((normal_quantile_upper(0.025) - 1.959_964).abs() < 1e-4);
    }

    #[test]
    fn exact_signed_rank_matches_enumeration() {
        // n = 5, all positive: W+ = 15 is the single most extreme of 32 sign patterns.
        let test = signed_rank_greater(&[0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(test.w_plus, 15.0);
        assert!((test.p_value - 1.0 / 32.0).abs() < 1e-12);
        // Symmetric gaps give no evidence.
        assert!(signed_rank_greater(&[-0.1, 0.1, -0.2, 0.2]).p_value > 0.4);
        assert_eq!(signed_rank_greater(&[0.0, 0.0]).p_value, 1.0);
    }

    #[test]
    fn large_samples_use_the_tie_corrected_normal_approximation() {
        let gaps: Vec<f64> = (0..200)
            .map(|i| if i % 4 == 0 { -0.05 } else { 0.05 })
            .collect();
        let test = signed_rank_greater(&gaps);
        assert_eq!(test.n, 200);
        assert!(test.p_value < 1e-6, "{test:?}");
    }

    /// Every order statistic of the Walsh averages by sorting all n(n+1)/2 of them.
    fn walsh_by_sorting(values: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut walsh = Vec::new();
        for i in 0..sorted.len() {
            for j in i..sorted.len() {
                walsh.push((sorted[i] + sorted[j]) / 2.0);
            }
        }
        walsh.sort_by(f64::total_cmp);
        walsh
    }

    proptest::proptest! {
        #[test]
        fn selection_equals_sorting_every_average(
            // Few distinct values make ties, which is where selection can go wrong.
            values in proptest::collection::vec(-40i32..40, 1..90),
            scale in proptest::sample::select(vec![1.0, 0.01, 0.37]),
        ) {
            let values: Vec<f64> = values.iter().map(|v| f64::from(*v) * scale).collect();
            let walsh = WalshAverages::new(&values);
            let expected = walsh_by_sorting(&values);
            proptest::prop_assert_eq!(walsh.count(), expected.len());
            for (k, value) in expected.iter().enumerate() {
                proptest::prop_assert_eq!(walsh.select(k).to_bits(), value.to_bits());
            }
        }
    }

    #[test]
    fn hodges_lehmann_is_exact_on_large_inputs() {
        // 3,000 gaps: 4.5M averages, more than the subsample the estimate once fell back to.
        let mut state = 7u64;
        let gaps: Vec<f64> = (0..3000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                0.05 + ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.2
            })
            .collect();
        let walsh = walsh_by_sorting(&gaps);
        let m = walsh.len();
        let estimate = hodges_lehmann(&gaps, 0.95).unwrap();
        assert_eq!(estimate.estimate, (walsh[m / 2 - 1] + walsh[m / 2]) / 2.0);
        let k = walsh.iter().position(|w| *w == estimate.low).unwrap();
        assert_eq!(estimate.high, walsh[m - 1 - k]);
    }

    #[test]
    fn hodges_lehmann_recovers_a_shift_and_brackets_it() {
        let gaps: Vec<f64> = (0..60)
            .map(|i| 0.08 + 0.01 * ((i % 7) as f64 - 3.0))
            .collect();
        let estimate = hodges_lehmann(&gaps, 0.95).unwrap();
        assert!((estimate.estimate - 0.08).abs() < 0.005, "{estimate:?}");
        assert!(estimate.low <= 0.08 && estimate.high >= 0.08 && estimate.low < estimate.high);
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, table) in [(4.0, 2.776), (10.0, 2.228), (30.0, 2.042)] {
            let t = student_t_quantile_upper(0.025, df);
            assert!((t - table).abs() / table < 0.005, "df {df}: {t} vs {table}");
        }
        assert_eq!(mean_with_ci(&[0.1], 0.95), None);
    }

    #[test]
    fn the_mean_keeps_an_intermittent_gap_the_median_loses() {
        // +10% on one stratum in five, nothing on the others.
        let gaps: Vec<f64> = (0..100)
            .map(|i| if i % 5 == 0 { 0.10 } else { 0.0 })
            .collect();
        assert_eq!(hodges_lehmann(&gaps, 0.95).unwrap().estimate, 0.0);
        let mean = mean_with_ci(&gaps, 0.95).unwrap();
        assert!((mean.estimate - 0.02).abs() < 1e-12);
        assert!(mean.low > 0.01 && mean.high < 0.03, "{mean:?}");
        let wider = mean_with_ci(&gaps, 0.99).unwrap();
        assert!(wider.low < mean.low && wider.high > mean.high);
    }

    #[test]
    fn benjamini_hochberg_matches_a_worked_example() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.20]);
        // Sorted: 0.01, 0.03, 0.04, 0.20 → 0.04, 0.06, 0.0533, 0.20, then the running minimum from the top.
        let expected = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.20];
        for (got, want) in q.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{q:?}");
        }
    }
}
