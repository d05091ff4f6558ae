-- Phase `features`: the per-customer features table.
--
-- What fairmark does (src/pricing/mod.rs, register_features; the reference date from
-- src/segment/mod.rs): finds the reference date (the last order's day, the config sets none),
-- then builds `fm_customer_features`, one row per customer: the customers table deduplicated by
-- content (row_number over the customer id, ordered by every mapped column as text), FULL OUTER
-- JOINed with per-customer order statistics (orders counted as the groups of a first aggregate
-- by customer and order; spend, first and last order, device), with tenure_days, order_count, total_spend, days_since_last_order, is_new (tenure at
-- most 30 days), device_os and tenure_start; the result is cached in memory (DataFrame::cache).
--
-- What this does: the same two queries; the table is materialized as a DuckDB temporary table
-- (in memory), the equivalent of the cache. Timed: `reference_day` (common.sql) and `features`.
-- rows = customers in the features table.
--
-- Where it differs: nothing of substance. fairmark's `raw_customers` is DataFusion's CSV reader
-- with its own type inference; DuckDB's sniffer reads the same columns with the same types here
-- (uid/gender/city/os text, birth_year integer, vip boolean, price_sensitivity double,
-- registered_at timestamp).
--
-- Placeholders: {{reference_day}} (days since 1970-01-01 of the reference date).

-- @section features
CREATE OR REPLACE TEMP TABLE fm_customer_features AS
SELECT COALESCE(c.customer_id, s.customer_id) AS customer_id,
    c."birth_year", c."city", c."gender", c."os", c."price_sensitivity", c."vip",
    {{reference_day}} - fm_day(COALESCE(c.signup_at, s.first_at)) AS tenure_days,
    COALESCE(s.order_count, 0) AS order_count,
    COALESCE(s.total_spend, 0.0) AS total_spend,
    {{reference_day}} - fm_day(s.last_at) AS days_since_last_order,
    ({{reference_day}} - fm_day(COALESCE(c.signup_at, s.first_at))) <= 30 AS is_new,
    COALESCE(c.customer_device, s.order_device) AS device_os,
    COALESCE(c.signup_at, s.first_at) AS tenure_start
FROM (
    SELECT * FROM (
        SELECT CAST("uid" AS VARCHAR) AS customer_id,
            "birth_year" AS "birth_year", "city" AS "city", "gender" AS "gender", "os" AS "os",
            "price_sensitivity" AS "price_sensitivity", "vip" AS "vip",
            CAST("registered_at" AS TIMESTAMP) AS signup_at,
            CAST(NULL AS VARCHAR) AS customer_device,
            row_number() OVER (
                PARTITION BY CAST("uid" AS VARCHAR)
                ORDER BY CAST("uid" AS VARCHAR), CAST("birth_year" AS VARCHAR) NULLS LAST, CAST("city" AS VARCHAR) NULLS LAST,
                    CAST("gender" AS VARCHAR) NULLS LAST, CAST("os" AS VARCHAR) NULLS LAST,
                    CAST("price_sensitivity" AS VARCHAR) NULLS LAST, CAST("vip" AS VARCHAR) NULLS LAST,
                    CAST("registered_at" AS VARCHAR) NULLS LAST) AS copy
        FROM raw_customers)
    WHERE copy = 1) c
FULL OUTER JOIN (
    SELECT customer_id, CAST(count(order_key) AS BIGINT) AS order_count, sum(spend) AS total_spend,
        min(first_at) AS first_at, max(last_at) AS last_at, max(device_os) AS order_device
    FROM (SELECT customer_id, order_key, sum(line_amount) AS spend, min(ordered_at) AS first_at,
            max(ordered_at) AS last_at, max(device_os) AS device_os
        FROM fm_orders WHERE customer_id IS NOT NULL GROUP BY customer_id, order_key)
    GROUP BY customer_id) s
ON c.customer_id = s.customer_id;
