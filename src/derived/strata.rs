//! The observed prices of every cohort pair, in one pass over the orders: the histogram of
//! offered prices per stratum (SKU × time bucket × trading conditions), with, for each price,
//! how many order lines of each pair's two cohorts were offered it. The medians each check
//! compares follow exactly from it.
//!
//! One grouped plan replaces a join and a grouped `median` per cohort pair: DataFusion's
//! grouped median holds every price and walks all its groups to account for memory on every
//! batch, which at a few million strata dominated the audit. The histogram is a few counts per
//! distinct (stratum, price), usually about one row per stratum.

use std::collections::HashMap;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::{SortOptions, cast, interleave};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use datafusion::arrow::row::{RowConverter, Rows, SortField};

use super::cohorts::{CohortKind, Cohorts, FREQUENCY_CHECK, cohort_pairs, frequency_pair};
use super::episodes::Stratum;
use super::observations::{TimeBucket, observations_sql};
use crate::config::Config;
use crate::engine::{Engine, ident};
use crate::error::Result;
use crate::policy::EffectivePolicy;
use crate::pricing::FEATURES_TABLE;

/// What the strata depend on: the time bucket and the tenure and frequency cohorts. Checks
/// configured alike share one build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrataSpec {
    pub time_bucket: TimeBucket,
    pub old_tenure_days: i64,
    pub new_tenure_days: i64,
    pub frequent_days: u32,
    pub occasional_days: u32,
}

/// Whether [`ObservedStrata::sku_strata`] writes out each stratum's bucket and conditions
/// (for the episode scan and the findings) or only its prices (for the whole-period test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    With,
    Without,
}

/// One SKU's strata under one cohort pair.
#[derive(Debug, Clone, Default)]
pub struct SkuStrata {
    pub sku: String,
    /// Only the matched strata: the others count for [`SkuStrata::offered_to_both`] alone.
    pub strata: Vec<Stratum>,
    /// Both cohorts were offered the SKU somewhere, if not in the same stratum.
    pub offered_to_both: (bool, bool),
}

/// The price histogram of every stratum, for every cohort pair.
pub struct ObservedStrata {
    pub cohorts: Cohorts,
    /// The histogram in stratum order, [`ORDERED_BATCH_ROWS`] rows a batch.
    batches: Vec<HistogramBatch>,
    /// Where each stratum's rows start, counted over the batches in order (and one past the
    /// last).
    starts: Vec<usize>,
    bucket_format: &'static str,
}

/// One batch of the histogram, its columns in the types read.
struct HistogramBatch {
    sku: StringArray,
    /// The bucket's start, in seconds since the epoch.
    bucket: Int64Array,
    conditions: Vec<StringArray>,
    price: Float64Array,
    /// Per pair, the first cohort's and the second's order lines at this price.
    counts: Vec<(Int32Array, Int32Array)>,
}

impl HistogramBatch {
    /// The columns of the plan (sku, bucket, the conditions, the price, two counts per pair),
    /// cast to the types read: text may come back as a string view.
    fn read(batch: &RecordBatch, conditions: usize, pairs: usize) -> Result<HistogramBatch> {
        let text = |i: usize| -> Result<StringArray> {
            Ok(cast(batch.column(i), &DataType::Utf8)?
                .as_string::<i32>()
                .clone())
        };
        let typed = |i: usize, to: &DataType| cast(batch.column(i), to);
        let counts_at = 3 + conditions;
        Ok(HistogramBatch {
            sku: text(0)?,
            bucket: typed(1, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone(),
            conditions: (0..conditions)
                .map(|c| text(2 + c))
                .collect::<Result<_>>()?,
            price: typed(2 + conditions, &DataType::Float64)?
                .as_primitive::<Float64Type>()
                .clone(),
            counts: (0..pairs)
                .map(|p| -> Result<_> {
                    let count = |i: usize| -> Result<Int32Array> {
                        Ok(typed(counts_at + 2 * p + i, &DataType::Int32)?
                            .as_primitive::<Int32Type>()
                            .clone())
                    };
                    Ok((count(0)?, count(1)?))
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The stratum keys of a row (a line without a time has no bucket).
    fn key(&self, row: usize) -> (&str, Option<i64>, Vec<Option<&str>>) {
        (
            self.sku.value(row),
            (!self.bucket.is_null(row)).then(|| self.bucket.value(row)),
            self.conditions
                .iter()
                .map(|c| (!c.is_null(row)).then(|| c.value(row)))
                .collect(),
        )
    }
}

impl ObservedStrata {
    /// Builds the histogram of every cohort pair of `spec` (all kinds) in one plan.
    pub async fn build(
        engine: &Engine,
        config: &Config,
        policy: &EffectivePolicy,
        spec: StrataSpec,
    ) -> Result<ObservedStrata> {
        let mut cohorts = cohort_pairs(
            engine,
            config,
            policy,
            spec.old_tenure_days,
            spec.new_tenure_days,
            "tenure_at_order",
        )
        .await?;
        // Orders in the prior year are counted only when a pack compares by them: the count is
        // a window over every customer's order days.
        if policy.check(FREQUENCY_CHECK).is_some() {
            cohorts
                .pairs
                .push(frequency_pair(spec.frequent_days, spec.occasional_days));
        }
        // The price of the hour is the last key of a stratum, after the declared conditions: it
        // splits a bucket where the shop's price moved for everyone, but it is not a condition
        // an episode can be confined to.
        let conditions: Vec<String> = crate::pricing::condition_columns(config)
            .into_iter()
            .map(|(_, c)| ident(&c))
            .chain(std::iter::once(PRICE_OF_THE_HOUR.to_string()))
            .collect();
        let mut order: Option<RowConverter> = None;
        let read = engine
            .for_each_batch(
                &histogram_sql(config, &cohorts, &conditions, spec),
                "orders",
                |batch| {
                    let histogram =
                        HistogramBatch::read(batch, conditions.len(), cohorts.pairs.len())?;
                    let keys = stratum_keys(batch, conditions.len());
                    let order = match &mut order {
                        Some(order) => order,
                        None => order.insert(RowConverter::new(
                            keys.iter()
                                .map(|k| {
                                    SortField::new_with_options(k.data_type().clone(), ASCENDING)
                                })
                                .collect(),
                        )?),
                    };
                    Ok((histogram, order.convert_columns(&keys)?))
                },
            )
            .await?;
        let (batches, keys): (Vec<_>, Vec<_>) = read.into_iter().unzip();
        let mut strata = ObservedStrata {
            cohorts,
            batches,
            starts: Vec::new(),
            bucket_format: spec.time_bucket.format(),
        };
        strata.index(&keys)?;
        Ok(strata)
    }

    /// Puts the rows in stratum order and finds where each stratum starts. The order is the
    /// strata's native keys ascending, nulls last, as SQL's `ORDER BY` would give it: the
    /// permutation scans draw their signs in stratum order, so the order is part of the
    /// p-values. Sorted here rather than in the plan, which would hold the whole histogram
    /// twice (the aggregate's groups and the sort's copy) at the audit's peak.
    fn index(&mut self, keys: &[Rows]) -> Result<()> {
        let mut order: Vec<(u32, u32)> = keys
            .iter()
            .enumerate()
            .flat_map(|(b, rows)| (0..rows.num_rows()).map(move |row| (b as u32, row as u32)))
            .collect();
        sort_on_two_threads(&mut order, |&(b1, r1), &(b2, r2)| {
            keys[b1 as usize]
                .row(r1 as usize)
                .cmp(&keys[b2 as usize].row(r2 as usize))
        });
        // The checks walk the strata in order many times over: rows scattered over the plan's
        // batches would each be a cache miss, so the histogram is rebuilt in order.
        self.batches = in_order(&self.batches, &order)?;
        let key = |i: usize| {
            let (batch, row) = self.row(i);
            batch.key(row)
        };
        self.starts = (0..order.len())
            .filter(|&i| i == 0 || key(i - 1) != key(i))
            .chain(std::iter::once(order.len()))
            .collect();
        Ok(())
    }

    /// The batch and row of the histogram's `i`-th row in stratum order.
    fn row(&self, i: usize) -> (&HistogramBatch, usize) {
        (
            &self.batches[i / ORDERED_BATCH_ROWS],
            i % ORDERED_BATCH_ROWS,
        )
    }

    /// The pairs of one kind, as indices into `cohorts.pairs`.
    pub fn pairs_of(&self, kind: CohortKind) -> Vec<usize> {
        (0..self.cohorts.pairs.len())
            .filter(|p| self.cohorts.pairs[*p].kind == kind)
            .collect()
    }

    /// Pair `pair`'s strata, SKU by SKU in stratum order, with each cohort's median offered
    /// price per stratum; only matched strata are kept.
    pub fn sku_strata(&self, pair: usize, keys: Keys) -> Vec<SkuStrata> {
        let mut skus: Vec<SkuStrata> = Vec::new();
        let mut bucket_text: HashMap<i64, String> = HashMap::new();
        let mut treated: Vec<(f64, u32)> = Vec::new();
        let mut reference: Vec<(f64, u32)> = Vec::new();
        for stratum in self.starts.windows(2) {
            treated.clear();
            reference.clear();
            for (batch, row) in (stratum[0]..stratum[1]).map(|i| self.row(i)) {
                if batch.price.is_null(row) {
                    continue;
                }
                let price = batch.price.value(row);
                let (t, r) = &batch.counts[pair];
                let (t, r) = (t.value(row).max(0) as u32, r.value(row).max(0) as u32);
                if t > 0 {
                    treated.push((price, t));
                }
                if r > 0 {
                    reference.push((price, r));
                }
            }
            if treated.is_empty() && reference.is_empty() {
                continue;
            }
            let (batch, row) = self.row(stratum[0]);
            let sku = batch.sku.value(row);
            if skus.last().is_none_or(|s| s.sku != sku) {
                skus.push(SkuStrata {
                    sku: sku.to_string(),
                    strata: Vec::new(),
                    offered_to_both: (false, false),
                });
            }
            let current = skus.last_mut().expect("pushed above");
            let n_treated: u64 = treated.iter().map(|(_, n)| u64::from(*n)).sum();
            let n_reference: u64 = reference.iter().map(|(_, n)| u64::from(*n)).sum();
            current.offered_to_both.0 |= n_treated > 0;
            current.offered_to_both.1 |= n_reference > 0;
            let stratum = Stratum {
                bucket: String::new(),
                conditions: Vec::new(),
                treated_price: weighted_median(&mut treated),
                reference_price: weighted_median(&mut reference),
                n_treated,
                n_reference,
            };
            if stratum.gap().is_none() {
                continue;
            }
            if keys == Keys::Without {
                current.strata.push(stratum);
                continue;
            }
            // An order line without a time is in a stratum of its own, written as no bucket.
            let bucket = if batch.bucket.is_null(row) {
                String::new()
            } else {
                let seconds = batch.bucket.value(row);
                bucket_text
                    .entry(seconds)
                    .or_insert_with(|| {
                        chrono::DateTime::from_timestamp(seconds, 0)
                            .map(|t| t.naive_utc().format(self.bucket_format).to_string())
                            .unwrap_or_default()
                    })
                    .clone()
            };
            let conditions = batch
                .conditions
                .iter()
                .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                .collect();
            current.strata.push(Stratum {
                bucket,
                conditions,
                ..stratum
            });
        }
        skus
    }
}

/// The median of a multiset given as (value, count), as DataFusion's `median` computes it:
/// values in total order, the mean of the two middle ones for an even count.
fn weighted_median(values: &mut [(f64, u32)]) -> Option<f64> {
    let n: u64 = values.iter().map(|(_, c)| u64::from(*c)).sum();
    if n == 0 {
        return None;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The value at 0-based position `k` of the expanded, sorted multiset.
    let at = |k: u64| {
        let mut seen = 0u64;
        values
            .iter()
            .find(|(_, c)| {
                seen += u64::from(*c);
                seen > k
            })
            .map(|(v, _)| *v)
            .expect("k < n")
    };
    Some(if n.is_multiple_of(2) {
        (at(n / 2 - 1) + at(n / 2)) / 2.0
    } else {
        at(n / 2)
    })
}

/// Rows per batch of the histogram in stratum order.
const ORDERED_BATCH_ROWS: usize = 1 << 16;

/// The rows `order` names, (batch, row), in that order, as new batches.
fn in_order(batches: &[HistogramBatch], order: &[(u32, u32)]) -> Result<Vec<HistogramBatch>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    order
        .chunks(ORDERED_BATCH_ROWS)
        .map(|chunk| {
            let at: Vec<(usize, usize)> = chunk
                .iter()
                .map(|&(b, row)| (b as usize, row as usize))
                .collect();
            let pick = |column: &dyn Fn(&HistogramBatch) -> &dyn Array| -> Result<ArrayRef> {
                let arrays: Vec<&dyn Array> = batches.iter().map(column).collect();
                Ok(interleave(&arrays, &at)?)
            };
            Ok(HistogramBatch {
                sku: pick(&|b| &b.sku)?.as_string::<i32>().clone(),
                bucket: pick(&|b| &b.bucket)?.as_primitive::<Int64Type>().clone(),
                conditions: (0..first.conditions.len())
                    .map(|c| Ok(pick(&|b| &b.conditions[c])?.as_string::<i32>().clone()))
                    .collect::<Result<_>>()?,
                price: pick(&|b| &b.price)?.as_primitive::<Float64Type>().clone(),
                counts: (0..first.counts.len())
                    .map(|p| {
                        Ok((
                            pick(&|b| &b.counts[p].0)?
                                .as_primitive::<Int32Type>()
                                .clone(),
                            pick(&|b| &b.counts[p].1)?
                                .as_primitive::<Int32Type>()
                                .clone(),
                        ))
                    })
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

/// `items` sorted by `compare`, each half on a thread of its own, then merged: a million strata
/// take about a second to sort on one.
fn sort_on_two_threads<T: Copy + Send>(
    items: &mut Vec<T>,
    compare: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
) {
    let middle = items.len() / 2;
    let (left, right) = items.split_at_mut(middle);
    std::thread::scope(|scope| {
        scope.spawn(|| left.sort_unstable_by(&compare));
        right.sort_unstable_by(&compare);
    });
    let (left, right) = items.split_at(middle);
    let mut merged = Vec::with_capacity(items.len());
    let (mut l, mut r) = (0, 0);
    while l < left.len() && r < right.len() {
        if compare(&right[r], &left[l]).is_lt() {
            merged.push(right[r]);
            r += 1;
        } else {
            merged.push(left[l]);
            l += 1;
        }
    }
    merged.extend_from_slice(&left[l..]);
    merged.extend_from_slice(&right[r..]);
    *items = merged;
}

/// The stratum keys of a histogram batch in their native types: the SKU, the bucket and the
/// conditions as grouped (the plan's last columns), for [`ObservedStrata::index`].
fn stratum_keys(batch: &RecordBatch, conditions: usize) -> Vec<ArrayRef> {
    let native = batch.num_columns() - conditions;
    [0, 1]
        .into_iter()
        .chain(native..batch.num_columns())
        .map(|i| batch.column(i).clone())
        .collect()
}

/// 2^32: a pair's two counts are summed as one, the first cohort's times this.
const COHORT_SHIFT: i64 = 1 << 32;

/// Ascending, nulls last: SQL's `ORDER BY` default.
const ASCENDING: SortOptions = SortOptions {
    descending: false,
    nulls_first: false,
};

/// The column of the observations that holds the shop's price pattern of the hour of day:
/// the SKU's typical price in that hour relative to the price most often offered on the same
/// day, over the whole period and every customer, in classes of 1% (1 when within 3% of the
/// day's price). Strata are split by it, so that a sale the shop holds at a fixed hour for
/// everyone (a daily flash sale) compares each cohort only with customers who shopped at hours
/// with the same shop price, whatever hours each cohort prefers. Pooled over the whole period,
/// the pattern is the shop's: the few customers of one hour on one day cannot set it, so a
/// price set by cohort does not hide behind it.
const PRICE_OF_THE_HOUR: &str = "price_of_the_hour";

/// The histogram plan: each order line labelled for every pair (customer-level labels computed
/// once per customer, order-level ones per line), grouped by stratum and price; the group keys
/// are turned into text, and the conditions are also given as grouped, to order the strata by.
fn histogram_sql(
    config: &Config,
    cohorts: &Cohorts,
    conditions: &[String],
    spec: StrataSpec,
) -> String {
    let unit = spec.time_bucket.unit();
    let frequency = cohorts
        .pairs
        .iter()
        .any(|pair| pair.kind == CohortKind::Frequency);
    let label = |p: usize| {
        let pair = &cohorts.pairs[p];
        format!(
            "CASE WHEN {} THEN 1 WHEN {} THEN 0 END",
            pair.treated, pair.reference
        )
    };
    // Protected groups are the customer's: labelled on the million customers, not on every line.
    let per_customer: Vec<usize> = (0..cohorts.pairs.len())
        .filter(|p| cohorts.pairs[*p].kind == CohortKind::Protected)
        .collect();
    let customer_labels: String = per_customer
        .iter()
        .map(|p| format!(", {} AS label_{p}", label(*p)))
        .collect();
    let labels: Vec<String> = (0..cohorts.pairs.len())
        .map(|p| {
            if per_customer.contains(&p) {
                format!("label_{p}")
            } else {
                format!("{} AS label_{p}", label(p))
            }
        })
        .collect();
    let labelled_any = (0..cohorts.pairs.len())
        .map(|p| format!("label_{p} IS NOT NULL"))
        .collect::<Vec<_>>()
        .join(" OR ");
    // Both cohorts' counts of a pair in one sum, the first cohort's in the upper 32 bits: half
    // the aggregate's state per group, at millions of groups. Exact while a price of a stratum
    // has fewer than 2^31 order lines, which the counts' INT type assumes anyway.
    let counts: String = (0..cohorts.pairs.len())
        .map(|p| {
            format!(
                ", sum(CASE WHEN label_{p} = 1 THEN {COHORT_SHIFT} WHEN label_{p} = 0 THEN 1 ELSE 0 END) AS packed_{p}"
            )
        })
        .collect();
    let condition_columns: String = conditions.iter().map(|c| format!(", o.{c}")).collect();
    let group: String = std::iter::once("sku".to_string())
        .chain(std::iter::once("bucket".to_string()))
        .chain(conditions.iter().cloned())
        .collect::<Vec<_>>()
        .join(", ");
    let condition_text: String = conditions
        .iter()
        .enumerate()
        .map(|(i, c)| format!(", CAST({c} AS VARCHAR) AS condition_{i}"))
        .collect();
    let count_columns: String = (0..cohorts.pairs.len())
        .map(|p| {
            format!(
                ", CAST(packed_{p} / {COHORT_SHIFT} AS INT) AS treated_{p}, CAST(packed_{p} % {COHORT_SHIFT} AS INT) AS reference_{p}"
            )
        })
        .collect();
    let native_conditions: String = conditions
        .iter()
        .enumerate()
        .map(|(i, c)| format!(", {c} AS native_condition_{i}"))
        .collect();
    let order_day = crate::pricing::day_number("o.ordered_at");
    // A customer's orders in the 365 days before each day they ordered, from the orders alone
    // (a quote is not a purchase), by day: the window sorts customer days, not order lines.
    // Observations on a day without an order of that customer (quotes) get none and join no
    // frequency cohort.
    let (prior_orders, prior_join, prior_column) = if frequency {
        (
            format!(
                "daily_orders AS (
                SELECT customer_id, {day} AS order_day
                FROM fm_orders WHERE customer_id IS NOT NULL GROUP BY customer_id, {day}),
            prior_orders AS (
                SELECT customer_id, order_day, count(*) OVER (PARTITION BY customer_id ORDER BY order_day RANGE BETWEEN 365 PRECEDING AND 1 PRECEDING) AS purchase_days_prior_year
                FROM daily_orders),
            ",
                day = crate::pricing::day_number("ordered_at")
            ),
            format!(
                " LEFT JOIN prior_orders f ON o.customer_id = f.customer_id AND {order_day} = f.order_day"
            ),
            ", f.purchase_days_prior_year",
        )
    } else {
        (String::new(), String::new(), "")
    };
    // The small tables of SKU days and hours come first in their joins: DataFusion builds its
    // hash table from the left side, which must not be the ten million observations.
    format!(
        "WITH observations AS ({observations}),
        offered_on_day AS (
            SELECT sku, date_trunc('day', ordered_at) AS day, price, count(*) AS seen
            FROM observations GROUP BY sku, date_trunc('day', ordered_at), price),
        price_of_day AS (
            SELECT sku, day, price AS day_price FROM (
                SELECT sku, day, price, row_number() OVER (PARTITION BY sku, day ORDER BY seen DESC, price) AS rank
                FROM offered_on_day) WHERE rank = 1),
        hour_pattern AS (
            SELECT b.sku, date_part('hour', b.ordered_at) AS hour_of_day,
                CASE WHEN abs(median(b.price / d.day_price) - 1.0) < 0.03 THEN 1.0
                     ELSE round(median(b.price / d.day_price), 2) END AS {PRICE_OF_THE_HOUR}
            FROM price_of_day d JOIN observations b
                ON b.sku = d.sku AND date_trunc('day', b.ordered_at) = d.day
            WHERE d.day_price > 0
            GROUP BY b.sku, date_part('hour', b.ordered_at)),
        {prior_orders}customers AS (
            SELECT customer_id, tenure_start, device_os{customer_labels} FROM {FEATURES_TABLE}),
        observed AS (
            SELECT o.sku, date_trunc('{unit}', o.ordered_at) AS bucket{condition_columns}, o.price,
                {order_day} - {start_day} AS tenure_at_order,
                COALESCE(o.order_device, c.device_os) AS device_os{customer_columns}{prior_column}
            FROM (
                SELECT b.*, h.{PRICE_OF_THE_HOUR} FROM hour_pattern h
                JOIN observations b ON b.sku = h.sku AND date_part('hour', b.ordered_at) = h.hour_of_day) o
            JOIN customers c ON o.customer_id = c.customer_id{prior_join}),
        labelled AS (
            SELECT {group}, price, {labels} FROM observed),
        histogram AS (
            SELECT {group}, price{counts} FROM labelled WHERE {labelled_any} GROUP BY {group}, price)
        SELECT CAST(sku AS VARCHAR) AS sku_text, CAST(date_part('epoch', bucket) AS BIGINT) AS bucket_seconds{condition_text}, price{count_columns}{native_conditions}
        FROM histogram",
        customer_columns = per_customer
            .iter()
            .map(|p| format!(", c.label_{p}"))
            .collect::<String>(),
        observations = observations_sql(config),
        labels = labels.join(", "),
        start_day = crate::pricing::day_number("c.tenure_start"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_sort_as_one() {
        let mut rng = crate::stats::SplitMix::new(7);
        for n in [0, 1, 2, 3, 1000] {
            let mut items: Vec<u64> = (0..n).map(|_| rng.next_u64() % 50).collect();
            let mut expected = items.clone();
            expected.sort_unstable();
            sort_on_two_threads(&mut items, u64::cmp);
            assert_eq!(items, expected);
        }
    }

    #[test]
    fn weighted_median_is_the_median_of_the_expanded_values() {
        let mut odd = vec![(3.0, 1), (1.0, 2)];
        assert_eq!(weighted_median(&mut odd), Some(1.0));
        let mut even = vec![(4.0, 1), (2.0, 1), (3.0, 2)];
        assert_eq!(weighted_median(&mut even), Some(3.0));
        let mut split = vec![(10.0, 1), (20.0, 1)];
        assert_eq!(weighted_median(&mut split), Some(15.0));
        assert_eq!(weighted_median(&mut []), None);
    }
}
