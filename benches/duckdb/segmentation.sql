-- Phase `segmentation`: RFM, scores, segments, k-anonymity, segments.parquet.
--
-- What fairmark does (src/segment/mod.rs, build and base_sql; src/segment/anonymity.rs, enforce
-- and select_sql; src/segment/generalize.rs; src/cli/audit.rs writes segments.parquet): per
-- customer, purchases (orders up to the end of the reference day, money in integer cents),
-- inter-purchase gaps (lag), recency/frequency/monetary, quintile scores (percent_rank), the
-- named segment, the next purchase expected for periodic buyers, FULL OUTER JOINed with the
-- customers' quasi-identifiers and keyed by the customer token; cached. Then the Datafly
-- k-anonymity loop over birth_year, city and gender (k = 10, 5% suppression budget, starting at
-- birth_year 10-year bands and city regions, the cn pack's settings): the raw risk, then one
-- class-count query per generalization round, the widest column generalized one level while too
-- many rows sit in classes below k; the classes still below k are suppressed. The published rows
-- (kept columns + generalized or '*' quasi-identifiers, via a join with the suppression list) are
-- cached sorted by token, summarized per segment (count and medians), and written to Snappy
-- Parquet sorted by token.
--
-- What this does: the same statements; the loop and the suppression choice run in
-- run_phases.py (a few lines, on the class list), each round's class count is the
-- `count_classes` query below. Prerequisite, untimed: reference_day. Timed: everything else,
-- the Parquet write (to a temporary directory, Snappy) included. rows = rows written.
--
-- Where it differs: customer tokens are the unkeyed sha256 stand-in (common.sql).
-- next_purchase_expected is computed as DATE '1970-01-01' + days (DuckDB cannot cast an integer
-- to DATE), which is the same date.
--
-- Placeholders: {{reference_day}}, {{end_of_reference}} (the day after the reference date,
-- 00:00); {{keys}}, {{projected}} (count_classes); {{raw_keys}} (raw_risk); {{suppressed_rows}}
-- (VALUES of the suppressed classes); {{generalized}}, {{published}}, {{join}} (rows);
-- {{parquet}} (output path).

-- @section base
CREATE OR REPLACE TEMP TABLE fm_segment_base AS
WITH purchases AS (
    SELECT customer_id, order_key, min(ordered_at) AS ordered_at,
        sum(CAST(round(line_amount * 100) AS BIGINT)) AS amount_cents
    FROM fm_orders
    WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL AND ordered_at < CAST('{{end_of_reference}}' AS TIMESTAMP)
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
        {{reference_day}} - fm_day(last_order_at) AS recency_days, {{reference_day}} - fm_day(first_order_at) AS tenure_days,
        fm_day(last_order_at) AS last_day,
        gap_count, CAST(gap_sum AS DOUBLE) / gap_count / 1440.0 AS mean_gap_days,
        (CAST(gap_square_sum AS DOUBLE) - CAST(gap_sum AS DOUBLE) * CAST(gap_sum AS DOUBLE) / gap_count) / (gap_count - 1) / (1440.0 * 1440.0) AS gap_variance
    FROM per_customer),
scored AS (
    SELECT *,
        least(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY recency_days DESC)) AS BIGINT)) AS r_score,
        least(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY frequency)) AS BIGINT)) AS f_score,
        least(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY monetary)) AS BIGINT)) AS m_score
    FROM measured),
rfm AS (
    SELECT customer_id, recency_days, frequency, monetary AS monetary, r_score, f_score, m_score,
        CASE
            WHEN recency_days > 180 THEN 'dormant'
            WHEN recency_days > 90 AND (f_score >= 3 OR m_score >= 3) THEN 'at_risk'
            WHEN recency_days > 90 THEN 'hibernating'
            WHEN m_score = 5 THEN 'core'
            WHEN (frequency >= 4 AND mean_gap_days >= 1 AND gap_count >= 2 AND gap_variance <= 0.35 * 0.35 * mean_gap_days * mean_gap_days) THEN 'periodic'
            WHEN f_score >= 4 AND frequency >= 3 THEN 'loyal'
            WHEN tenure_days <= 60 THEN 'promising'
            ELSE 'needs_attention'
        END AS segment,
        CASE WHEN (frequency >= 4 AND mean_gap_days >= 1 AND gap_count >= 2 AND gap_variance <= 0.35 * 0.35 * mean_gap_days * mean_gap_days)
             THEN DATE '1970-01-01' + CAST(last_day + CAST(round(mean_gap_days) AS BIGINT) AS INTEGER) END AS next_purchase_expected
    FROM scored)
SELECT fm_token('customer_id', trim(COALESCE(c.customer_id, r.customer_id))) AS customer_token,
    r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score,
    COALESCE(r.segment, 'prospect') AS segment, r.next_purchase_expected,
    c."qi_birth_year", c."qi_city", c."qi_gender"
FROM (SELECT customer_id, min("qi_birth_year") AS "qi_birth_year", min("qi_city") AS "qi_city", min("qi_gender") AS "qi_gender"
      FROM fm_customers WHERE customer_id IS NOT NULL GROUP BY customer_id) c
FULL OUTER JOIN rfm r ON c.customer_id = r.customer_id;

-- @section raw_risk
SELECT CAST(COALESCE(sum(CASE WHEN n = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS unique_rows,
    CAST(COALESCE(sum(CASE WHEN n < {{k}} THEN n ELSE 0 END), 0) AS BIGINT) AS rows_below_k
FROM (SELECT count(*) AS n FROM fm_segment_base GROUP BY {{raw_keys}});

-- @section count_classes
SELECT {{keys}}, CAST(count(*) AS BIGINT) AS n
FROM (SELECT {{projected}} FROM fm_segment_base) GROUP BY {{keys}};

-- @section suppressed
CREATE OR REPLACE TEMP TABLE fm_suppressed_fm_segment_base AS
SELECT * FROM (VALUES {{suppressed_rows}}) AS s(g0, g1, g2, hit) WHERE hit IS NOT NULL;

-- @section rows
CREATE OR REPLACE TEMP TABLE fm_segments AS
SELECT * FROM (
    SELECT b.customer_token, b.recency_days, b.frequency, b.monetary, b.r_score, b.f_score, b.m_score,
        b.segment, b.next_purchase_expected, {{published}}
    FROM (SELECT *, {{generalized}} FROM fm_segment_base) b
    LEFT JOIN fm_suppressed_fm_segment_base s ON {{join}})
ORDER BY customer_token;

-- @section summary
SELECT segment, CAST(count(*) AS BIGINT) AS customers,
    median(CAST(recency_days AS DOUBLE)) AS recency, median(CAST(frequency AS DOUBLE)) AS frequency,
    median(CAST(monetary AS DOUBLE)) AS monetary
FROM fm_segments GROUP BY segment ORDER BY segment;

-- @section write
COPY (SELECT * FROM fm_segments ORDER BY customer_token) TO '{{parquet}}' (FORMAT parquet, COMPRESSION snappy);
