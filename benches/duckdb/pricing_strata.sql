-- Phase `pricing_strata`: the observed-price strata of every cohort pair, in one pass.
--
-- What fairmark does (src/checks/pricing/strata.rs, ObservedStrata::build; the pairs from
-- src/checks/pricing/cohorts.rs): lists the cohort pairs (tenure at order > 365 days vs <= 30
-- days; iOS vs Android; for each protected attribute, its groups found by one query over the
-- features table, birth years in 10-year bands and genders in their normal spelling: two groups
-- are one pair, more are each group against the rest; 2 + 6 + 1 = 9 pairs on the generated
-- data). Then ONE plan: the protected-group labels of every pair computed once per customer
-- (on the features table), the tenure-at-order and device labels per order line; one join of
-- the order lines with the customers; one GROUP BY (sku, day, channel, pay_method, qty, member,
-- price) with two counts per pair (summed as one 64-bit value per pair; a price histogram per
-- stratum), streamed into memory, then sorted by the stratum keys in Rust. Per pair, each cohort's median offered price and order count per
-- stratum are then derived from the histogram in Rust (weighted_median, the same definition as
-- SQL's median), with, per SKU, whether each cohort was offered it at all.
--
-- What this does: the same pass, written as DuckDB does it best. `customer_cohorts` (in
-- common.sql) computes the two protected groups once per customer into a temp table;
-- `protected_groups` lists the groups (once per attribute, on that table); `strata` labels the
-- 9 pairs as 9 columns (protected ones per customer, before the join; tenure and device per
-- line), joins once, and GROUPs BY the stratum keys with ONE list of (price, label bitmask) per
-- stratum; each pair's two medians and counts are then list_median/len over that list filtered
-- by the pair's bit. Output: the temp table fm_strata, one row per stratum where any pair labels
-- a line (the histogram's rows, grouped by stratum), sorted by the stratum keys, with the 9 x 2
-- medians and 9 x 2 counts (a median is NULL where its cohort has no line), and fm_offered:
-- per SKU and pair, whether each cohort was offered the SKU. Prerequisite, untimed:
-- reference_day and features. Timed: customer_cohorts, the group queries, strata, offered.
-- rows = strata (rows of fm_strata).
--
-- Tried on the 5% sample (50k customers, 580k lines, 325k strata), 2 threads: `median(price)
-- FILTER (WHERE label_p = 1)` and `... = 0` plus count(*) FILTER per pair in the GROUP BY: 2.5 s,
-- 720 MiB (18 holistic aggregate states per group); fairmark's histogram (GROUP BY ..., price with
-- 18 counts) with the medians derived in SQL (UNPIVOT, a running sum per stratum, pair and
-- cohort, the middle rows): 7.7 s; one list per stratum with the medians by list functions
-- (below): 1.3 s, 410 MiB. All three give identical tables.
--
-- Where it differs: the medians are computed in SQL rather than derived in the host language
-- from a collected histogram (the histogram's collection into Arrow batches and the Rust walk
-- over it are fairmark's; here the wide table is the result). Conditions are grouped on their
-- native types (qty integer, member boolean) and turned into text for the output only, as
-- fairmark's plan formats text for the groups only. fairmark keeps only matched strata
-- (both cohorts present) per pair as Rust structs; here every stratum is one row of the table.
-- The per-SKU tests fairmark runs afterwards (signed-rank, episode permutation scans,
-- Benjamini-Hochberg) are Rust, not SQL work, and are not part of this phase.
--
-- Placeholders: {{column}}, the protected attribute (protected_groups); {{customer_labels}} (a
-- `CASE WHEN treated THEN 1 WHEN reference THEN 0 END AS label_p` per protected pair, over the
-- customer's groups), {{customer_label_columns}} and {{label_columns}} (those labels carried
-- through), {{line_labels}} (the same CASE per order line for tenure and device), {{any_label}},
-- {{mask}} (bit 2p for pair p's first cohort, bit 2p + 1 for its second), {{aggregates}}
-- (strata), {{offered}} (offered).

-- @section protected_groups
SELECT "pg_{{column}}" AS g, count(*) AS customers
FROM fm_customer_cohorts WHERE "{{column}}" IS NOT NULL
GROUP BY g ORDER BY g LIMIT 13;

-- @section strata
CREATE OR REPLACE TEMP TABLE fm_strata AS
WITH customers AS (
    SELECT customer_id, fm_day(tenure_start) AS tenure_day, device_os{{customer_labels}}
    FROM fm_customer_cohorts),
observed AS (
    SELECT o."item_code" AS sku, date_trunc('day', o."ordered_at") AS bucket,
        o."channel", o."pay_method", o."qty", o."member", o."offered_unit_price" AS price,
        fm_day(o."ordered_at") - c.tenure_day AS tenure_at_order,
        COALESCE(o."device_os", c.device_os) AS device_os{{customer_label_columns}}
    FROM raw_orders o JOIN customers c ON o."uid" = c.customer_id
    WHERE o."item_code" IS NOT NULL AND o."offered_unit_price" IS NOT NULL AND o."uid" IS NOT NULL),
labelled AS (
    SELECT sku, bucket, "channel", "pay_method", "qty", "member", price{{line_labels}}{{label_columns}}
    FROM observed),
grouped AS (
    SELECT sku, bucket, "channel", "pay_method", "qty", "member",
        list({'p': price, 'm': {{mask}}}) AS lines
    FROM labelled WHERE {{any_label}}
    GROUP BY sku, bucket, "channel", "pay_method", "qty", "member")
SELECT sku, bucket, CAST("channel" AS VARCHAR) AS condition_0, CAST("pay_method" AS VARCHAR) AS condition_1,
    CAST("qty" AS VARCHAR) AS condition_2, CAST("member" AS VARCHAR) AS condition_3{{aggregates}}
FROM grouped
ORDER BY sku, bucket, "channel", "pay_method", "qty", "member";

-- @section offered
CREATE OR REPLACE TEMP TABLE fm_offered AS
SELECT sku{{offered}} FROM fm_strata GROUP BY sku ORDER BY sku;

-- @section count
SELECT count(*) FROM fm_strata;
