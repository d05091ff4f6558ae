//! Customer segmentation: recency, frequency and monetary value per customer as of a reference
//! date, quintile scores, the named segments marketers use, and the k-anonymous, pseudonymized
//! table that analytics and marketing may use in place of the customer list.
//!
//! Everything runs as DataFusion plans over the canonical views: one aggregate for purchases,
//! a window (`lag`) for inter-purchase gaps, windows (`percent_rank`) for scores, a join with the
//! customers table for quasi-identifiers, and the token UDF for the key.

pub mod anonymity;
pub mod generalize;
pub mod settings;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::prelude::DataFrame;
use serde::Serialize;

use crate::config::{Config, SegmentationConfig};
use crate::engine::{Engine, quasi_column};
use crate::error::{Error, Result};
use crate::pseudonym::{IdentifierClass, TokenUdf};
use anonymity::{AnonymityReport, QuasiColumn, Requirement};

/// The named segments, in the order they are assigned (the first that fits wins).
pub const SEGMENTS: &[(&str, &str)] = &[
    (
        "dormant",
        "no purchase for more than `dormant_after_days` (the \"zombie\" customers)",
    ),
    (
        "at_risk",
        "no purchase for more than `at_risk_after_days`, but frequent or valuable before (F or M score ≥ 3)",
    ),
    (
        "hibernating",
        "no purchase for more than `at_risk_after_days`, and neither frequent nor valuable",
    ),
    (
        "core",
        "recently active and in the top 20% by spend (M score 5)",
    ),
    (
        "periodic",
        "at least `periodic_min_orders` purchases at a regular interval (coefficient of variation of the gaps ≤ `periodic_max_cv`); `next_purchase_expected` is set",
    ),
    (
        "loyal",
        "recently active, F score ≥ 4 and at least 3 purchases",
    ),
    (
        "promising",
        "first purchase within `new_within_days` of the reference date",
    ),
    (
        "needs_attention",
        "recently active, but not frequent, valuable, regular or new",
    ),
    ("prospect", "in the customers table without any order"),
];

/// One segment's size and medians, for `segment_summary.csv` and the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentSummary {
    pub segment: String,
    pub customers: u64,
    pub share: f64,
    pub median_recency_days: Option<f64>,
    pub median_frequency: Option<f64>,
    pub median_monetary: Option<f64>,
}

/// What the segmentation found, without the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentationSummary {
    pub reference_date: String,
    pub customers: u64,
    pub customers_with_orders: u64,
    /// Which order column monetary value was computed from, or `null` (no monetary score).
    pub monetary_from: Option<String>,
    pub segments: Vec<SegmentSummary>,
    /// `null` when the config maps no quasi-identifier.
    pub anonymity: Option<AnonymityReport>,
    /// Columns of `segments.parquet`, in order.
    pub columns: Vec<String>,
}

/// The segmentation: its summary and the rows, sorted by token, ready to stream to Parquet.
#[derive(Clone)]
pub struct Segmentation {
    pub summary: SegmentationSummary,
    pub rows: DataFrame,
}

/// The day recency and tenure are measured to: the configured one, else the last order's.
pub async fn reference_date(engine: &Engine, config: &Config) -> Result<NaiveDate> {
    match config.reference_date {
        Some(date) => Ok(date),
        None => last_order_date(engine).await,
    }
}

/// Builds the segmentation. `requirement` is the k-anonymity the policy asks for.
pub async fn build(
    engine: &Engine,
    config: &Config,
    requirement: &Requirement,
    reference_date: NaiveDate,
) -> Result<Segmentation> {
    let orders = config
        .datasets
        .orders
        .as_ref()
        .ok_or_else(|| Error::Usage("segmentation needs an orders dataset".into()))?;
    let monetary_from = [
        ("amount", &orders.amount),
        ("paid_price", &orders.paid_price),
        ("offered_price", &orders.offered_price),
        ("list_price", &orders.list_price),
    ]
    .into_iter()
    .find(|(_, column)| column.is_some())
    .map(|(key, _)| key.to_string());
    let base_sql = base_sql(config, reference_date, monetary_from.is_some());
    let base = engine
        .sql(&base_sql, "orders")
        .await
        .map(crate::engine::cache)?
        .await
        .map_err(|e| Error::from(e).in_dataset("orders", &orders.path))?;
    engine
        .ctx
        .register_table("fm_segment_base", base.into_view())?;

    let quasi: Vec<QuasiColumn> = config
        .datasets
        .customers
        .iter()
        .flat_map(|c| c.quasi_identifiers.iter())
        .map(|(column, kind)| QuasiColumn {
            name: column.clone(),
            source: quasi_column(column),
            kind: *kind,
        })
        .collect();
    let mut keep: Vec<String> = [
        "customer_token",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
        "next_purchase_expected",
    ]
    .iter()
    .map(|c| format!("b.{c}"))
    .collect();
    let (rows_sql, anonymity) = if quasi.is_empty() {
        keep.iter_mut()
            .for_each(|c| *c = c.trim_start_matches("b.").to_string());
        (
            format!("SELECT {} FROM fm_segment_base", keep.join(", ")),
            None,
        )
    } else {
        let anonymization =
            anonymity::enforce(engine, "fm_segment_base", "customers", &quasi, requirement).await?;
        let sql = anonymization.select_sql(engine, "fm_segment_base", &keep)?;
        (sql, Some(anonymization.report))
    };
    let rows = engine
        .sql(
            &format!("SELECT * FROM ({rows_sql}) ORDER BY customer_token"),
            "orders",
        )
        .await
        .map(crate::engine::cache)?
        .await
        .map_err(|e| Error::from(e).in_dataset("orders", &orders.path))?;
    let columns = rows
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    engine
        .ctx
        .register_table("fm_segments", rows.clone().into_view())?;
    let segments = summarize_segments(engine).await?;
    let customers = segments.iter().map(|s| s.customers).sum();
    let customers_with_orders = segments
        .iter()
        .filter(|s| s.segment != "prospect")
        .map(|s| s.customers)
        .sum();
    Ok(Segmentation {
        summary: SegmentationSummary {
            reference_date: reference_date.to_string(),
            customers,
            customers_with_orders,
            monetary_from,
            segments,
            anonymity,
            columns,
        },
        rows,
    })
}

async fn last_order_date(engine: &Engine) -> Result<NaiveDate> {
    let batches = engine
        .collect(
            "SELECT CAST(date_part('epoch', max(ordered_at)) AS DOUBLE) AS last FROM fm_orders",
            "orders",
        )
        .await?;
    let last = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Float64Type>())
        .filter(|a| !a.is_null(0))
        .map(|a| a.value(0));
    let seconds = last.ok_or_else(|| Error::input("orders", "ordered_at", "no order has a timestamp; cannot pick a reference date (set reference_date in the config)"))?;
    DateTime::from_timestamp(seconds.floor() as i64, 0)
        .map(|t| t.date_naive())
        .ok_or_else(|| {
            Error::input(
                "orders",
                "ordered_at",
                "the last order timestamp is out of range",
            )
        })
}

/// One row per customer (from orders, and from customers when configured): token, R/F/M,
/// scores, segment and the raw quasi-identifiers (which only the anonymization reads).
fn base_sql(config: &Config, reference_date: NaiveDate, has_monetary: bool) -> String {
    let s: &SegmentationConfig = &config.segmentation;
    let reference_day = crate::pricing::days_since_epoch(reference_date);
    let end_of_reference = (reference_date + chrono::Days::new(1)).format("%Y-%m-%dT00:00:00");
    let token = TokenUdf::function_name(IdentifierClass::CustomerId);
    let m_score = if has_monetary {
        "least(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY monetary)) AS BIGINT))"
    } else {
        "CAST(NULL AS BIGINT)"
    };
    let day = |column: &str| format!("CAST(floor(date_part('epoch', {column}) / 86400) AS BIGINT)");
    // Money is summed in integer cents and gaps in integer minutes: integer sums do not depend
    // on the order parallel partitions are merged in, so reruns give byte-identical outputs.
    let rfm = format!(
        "WITH purchases AS (
            SELECT customer_id, order_key, min(ordered_at) AS ordered_at,
                sum(CAST(round(line_amount * 100) AS BIGINT)) AS amount_cents
            FROM fm_orders
            WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL AND ordered_at < CAST('{end_of_reference}' AS TIMESTAMP)
            GROUP BY customer_id, order_key),
        gaps AS (
            SELECT customer_id, ordered_at, amount_cents,
                CAST((date_part('epoch', ordered_at) - date_part('epoch', lag(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, amount_cents))) / 60 AS BIGINT) AS gap_minutes
            FROM purchases),
        per_customer AS (
            SELECT customer_id, CAST(count(*) AS BIGINT) AS frequency, sum(amount_cents) AS monetary_cents,
                max(ordered_at) AS last_order_at, min(ordered_at) AS first_order_at,
                count(gap_minutes) AS gap_count, sum(gap_minutes) AS gap_sum, sum(gap_minutes * gap_minutes) AS gap_square_sum
            FROM gaps GROUP BY customer_id),
        measured AS (
            SELECT customer_id, frequency, CAST(monetary_cents AS DOUBLE) / 100.0 AS monetary,
                {reference_day} - {last_day} AS recency_days, {reference_day} - {first_day} AS tenure_days, {last_day} AS last_day,
                gap_count, CAST(gap_sum AS DOUBLE) / gap_count / 1440.0 AS mean_gap_days,
                (CAST(gap_square_sum AS DOUBLE) - CAST(gap_sum AS DOUBLE) * CAST(gap_sum AS DOUBLE) / gap_count) / (gap_count - 1) / (1440.0 * 1440.0) AS gap_variance
            FROM per_customer),
        scored AS (
            SELECT *,
                least(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY recency_days DESC)) AS BIGINT)) AS r_score,
                least(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY frequency)) AS BIGINT)) AS f_score,
                {m_score} AS m_score
            FROM measured)
        SELECT customer_id, recency_days, frequency, {monetary} AS monetary, r_score, f_score, m_score,
            CASE
                WHEN recency_days > {dormant} THEN 'dormant'
                WHEN recency_days > {at_risk} AND (f_score >= 3 OR m_score >= 3) THEN 'at_risk'
                WHEN recency_days > {at_risk} THEN 'hibernating'
                WHEN m_score = 5 THEN 'core'
                WHEN {periodic} THEN 'periodic'
                WHEN f_score >= 4 AND frequency >= 3 THEN 'loyal'
                WHEN tenure_days <= {new_within} THEN 'promising'
                ELSE 'needs_attention'
            END AS segment,
            CASE WHEN {periodic} THEN CAST(CAST(last_day + CAST(round(mean_gap_days) AS BIGINT) AS INT) AS DATE) END AS next_purchase_expected
        FROM scored",
        monetary = if has_monetary { "monetary" } else { "CAST(NULL AS DOUBLE)" },
        last_day = day("last_order_at"),
        first_day = day("first_order_at"),
        dormant = s.dormant_after_days,
        at_risk = s.at_risk_after_days,
        new_within = s.new_within_days,
        // The coefficient of variation sd/mean ≤ c, compared squared to avoid a square root.
        periodic = format!(
            "(frequency >= {min_orders} AND mean_gap_days >= 1 AND gap_count >= 2 AND gap_variance <= {cv} * {cv} * mean_gap_days * mean_gap_days)",
            min_orders = s.periodic_min_orders.max(3),
            cv = s.periodic_max_cv
        ),
    );
    let Some(customers) = &config.datasets.customers else {
        return format!("SELECT {token}(customer_id) AS customer_token, r.* FROM ({rfm}) r");
    };
    let quasi: Vec<String> = customers
        .quasi_identifiers
        .keys()
        .map(|c| crate::engine::ident(&quasi_column(c)))
        .collect();
    let quasi_min: Vec<String> = quasi.iter().map(|q| format!("min({q}) AS {q}")).collect();
    let quasi_select: Vec<String> = quasi.iter().map(|q| format!("c.{q}")).collect();
    let customers_sql = format!(
        "SELECT customer_id{}{} FROM fm_customers WHERE customer_id IS NOT NULL GROUP BY customer_id",
        if quasi_min.is_empty() { "" } else { ", " },
        quasi_min.join(", ")
    );
    format!(
        "SELECT {token}(COALESCE(c.customer_id, r.customer_id)) AS customer_token,
            r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score,
            COALESCE(r.segment, 'prospect') AS segment, r.next_purchase_expected{}{}
         FROM ({customers_sql}) c FULL OUTER JOIN ({rfm}) r ON c.customer_id = r.customer_id",
        if quasi_select.is_empty() { "" } else { ", " },
        quasi_select.join(", ")
    )
}

async fn summarize_segments(engine: &Engine) -> Result<Vec<SegmentSummary>> {
    let sql = "SELECT segment, CAST(count(*) AS BIGINT) AS customers,
            median(CAST(recency_days AS DOUBLE)) AS recency, median(CAST(frequency AS DOUBLE)) AS frequency, median(CAST(monetary AS DOUBLE)) AS monetary
        FROM fm_segments GROUP BY segment ORDER BY segment";
    let batches = engine.collect(sql, "orders").await?;
    let mut summaries = Vec::new();
    for batch in &batches {
        let names = cast(batch.column(0), &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let counts = batch.column(1).as_primitive::<Int64Type>();
        let median = |column: usize, row: usize| {
            let array = batch.column(column).as_primitive::<Float64Type>();
            (!array.is_null(row)).then(|| array.value(row))
        };
        for row in 0..batch.num_rows() {
            summaries.push(SegmentSummary {
                segment: names.value(row).to_string(),
                customers: counts.value(row) as u64,
                share: 0.0,
                median_recency_days: median(2, row),
                median_frequency: median(3, row),
                median_monetary: median(4, row),
            });
        }
    }
    let total: u64 = summaries.iter().map(|s| s.customers).sum();
    let order: BTreeMap<&str, usize> = SEGMENTS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, i))
        .collect();
    for summary in &mut summaries {
        summary.share = crate::findings::share(summary.customers, total);
    }
    summaries.sort_by_key(|s| order.get(s.segment.as_str()).copied().unwrap_or(usize::MAX));
    Ok(summaries)
}
