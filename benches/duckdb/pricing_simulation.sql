-- Phase `pricing_simulation`: the rules applied to every customer's profile x every SKU.
--
-- What fairmark does (src/checks/pricing/simulated_disparity.rs, as it is moving to): lists the
-- cohort pairs (as in pricing_strata, with tenure_days as of the reference date instead of
-- tenure at order); then, over EVERY customer (no sample), computes per customer, for each rule
-- whose `when` names neither sku nor category, the boolean COALESCE(when, false), trading
-- conditions (channel, pay_method, qty, member, quantity) taking the single most common value
-- of their column across the raw orders; and per cohort pair the two booleans "in the first
-- cohort", "in the second". GROUP BY all those booleans gives the distinct profiles and their
-- customer counts n. The profiles are crossed with the SKU table (sku, min(category),
-- median(list_unit_price)) and priced by the rules in file order (each a CASE on the profile's
-- boolean and the rule's sku/category scope); per SKU and pair each cohort's average price is
-- sum(n * price) / sum(n) over the profiles in it (and the smaller cohort's size, for the
-- minimum cohort). That baseline is one query; when some pair is over the 1% tolerance (it is
-- on the generated data), one more query prices every "without rule r" variant at once, one
-- price column per rule, over the same grid.
--
-- What this does: exactly that. run_phases.py reads rules.toml (tomllib) and generates the
-- booleans and the price chain the way Condition::to_sql, Adjustment::apply_sql and
-- simulation_sql print them (attribute names quoted in lower case). The profiles and the SKU
-- table are materialized once (temp tables) and read by both queries. Prerequisite, untimed:
-- reference_day and features. Timed: customer_cohorts (common.sql), the group queries, the
-- profiles, the SKU table, the baseline, the decision whether any pair is over the tolerance
-- (in Python, on 240 rows), the variants query. rows = SKUs in the baseline result.
--
-- Where it differs: the `when` text is passed to DuckDB as written (identifiers quoted) rather
-- than parsed and validated against fairmark's closed grammar: fine for these rules, not a
-- validator; a rule whose `when` names sku or category is refused (the generated rules have
-- none). The modes of the trading conditions are five GROUP BY queries over raw_orders, as
-- fairmark writes them (ties to the smallest value, NULL a value like any other). The per-rule
-- responsibility arithmetic fairmark does in Rust afterwards is not timed here (microseconds
-- on 240 rows).
--
-- Placeholders: {{context}} (the CROSS JOINs of the modes), {{booleans}} (rule_r, t_p, r_p),
-- {{keys}} (the same names, for GROUP BY), {{aggregates}} (per variant and pair, the cohorts'
-- averages; per pair the smaller cohort's size), {{prices}} (one `... AS price_v{k}` per
-- variant).

-- @section profiles
CREATE OR REPLACE TEMP TABLE fm_profiles AS
SELECT {{booleans}}, CAST(count(*) AS BIGINT) AS n
FROM (SELECT * FROM fm_customer_cohorts f {{context}})
GROUP BY {{keys}};

-- @section skus
CREATE OR REPLACE TEMP TABLE fm_sim_skus AS
SELECT sku, min(category) AS category, median(list_unit_price) AS price_0
FROM fm_orders WHERE sku IS NOT NULL GROUP BY sku;

-- @section simulation
SELECT sku, {{aggregates}}
FROM (
    SELECT *, {{prices}}
    FROM fm_profiles CROSS JOIN fm_sim_skus)
GROUP BY sku ORDER BY sku;

-- @section customers_simulated
SELECT CAST(sum(n) AS BIGINT) FROM fm_profiles;
