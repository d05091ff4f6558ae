-- Shared set-up of every phase: `views` and `macros` are run UNTIMED in each child process
-- before anything else; `reference_day` and `customer_cohorts` are run by the phases that need
-- them, timed or not as run_phases.py says for each phase.
--
-- What fairmark does: registers each dataset as a raw table under its own column names
-- (src/engine/mod.rs) and exposes the canonical views `fm_orders` and `fm_customers`, whose
-- column names are fairmark's concepts; it also registers its UDFs (keyed tokens, the
-- quasi-identifier generalization, local time of day).
--
-- What this does: the same raw tables as views over the files (scanned afresh by every query,
-- as DataFusion's listing tables are), the same canonical views written out for the mapping in
-- the generated data's fairmark.toml (run_phases.py checks that mapping before running), and
-- DuckDB macros standing in for the UDFs.
--
-- Where it differs:
--   * fm_token: fairmark's token is `<key id>_` + base32 of the first 10 bytes of
--     HMAC-SHA-256(key, class domain || 0x00 || normalized value). DuckDB has no keyed HMAC;
--     the stand-in is an UNKEYED sha256(domain || ':' || normalized value), 16 hex digits, behind
--     a fixed 7-character prefix (same token length, 23 characters). Never use it as a pseudonym.
--   * Value normalization before hashing follows src/pseudonym.rs (trim; e-mail lower case;
--     phone digits without the +86/0086/+1/001 prefix), written as SQL.
--   * fm_gen_* are fairmark's fm_generalize UDF (src/segment/generalize.rs), one macro per
--     quasi-identifier kind used by this data (birth_year, gender, city).
--   * fm_local_minute uses DuckDB's ICU time zones; a per-row zone DuckDB does not know is an
--     error here, where fairmark falls back to the policy's zone (the data maps no per-row zone).
--
-- Placeholders filled by run_phases.py: {{input}} = the input directory, as a SQL string body.

-- @section views
CREATE OR REPLACE VIEW raw_customers AS SELECT * FROM read_csv('{{input}}/customers.csv');
CREATE OR REPLACE VIEW raw_orders AS SELECT * FROM read_parquet('{{input}}/orders.parquet');
CREATE OR REPLACE VIEW raw_mail_sends AS SELECT * FROM read_parquet('{{input}}/sends.parquet');
CREATE OR REPLACE VIEW raw_consents AS SELECT * FROM read_csv('{{input}}/consents.csv');

-- fm_orders as orders_view_sql writes it for this mapping: line_amount prefers the paid over the
-- offered over the list unit price (times quantity); list_unit_price the list over the offered
-- over the paid price; every trading condition as text under cond_<column>.
CREATE OR REPLACE VIEW fm_orders AS
SELECT CAST("uid" AS VARCHAR) AS customer_id,
    CAST("txn_id" AS VARCHAR) AS order_key,
    CAST("ordered_at" AS TIMESTAMP) AS ordered_at,
    CAST("qty" AS DOUBLE) AS quantity,
    COALESCE(CAST("paid_unit_price" AS DOUBLE) * CAST("qty" AS DOUBLE),
             CAST("offered_unit_price" AS DOUBLE) * CAST("qty" AS DOUBLE),
             CAST("list_unit_price" AS DOUBLE) * CAST("qty" AS DOUBLE)) AS line_amount,
    CAST("item_code" AS VARCHAR) AS sku,
    CAST("category" AS VARCHAR) AS category,
    CAST("device_os" AS VARCHAR) AS device_os,
    CAST("offered_unit_price" AS DOUBLE) AS offered_unit_price,
    COALESCE(CAST("list_unit_price" AS DOUBLE), CAST("offered_unit_price" AS DOUBLE), CAST("paid_unit_price" AS DOUBLE),
             (COALESCE(CAST("paid_unit_price" AS DOUBLE) * CAST("qty" AS DOUBLE),
                       CAST("offered_unit_price" AS DOUBLE) * CAST("qty" AS DOUBLE),
                       CAST("list_unit_price" AS DOUBLE) * CAST("qty" AS DOUBLE))) / CAST("qty" AS DOUBLE)) AS list_unit_price,
    CAST("channel" AS VARCHAR) AS cond_channel,
    CAST("pay_method" AS VARCHAR) AS cond_pay_method,
    CAST("qty" AS VARCHAR) AS cond_qty,
    CAST("member" AS VARCHAR) AS cond_member
FROM raw_orders;

-- fm_customers as customers_view_sql writes it: id, signup time, quasi-identifiers as text.
CREATE OR REPLACE VIEW fm_customers AS
SELECT CAST("uid" AS VARCHAR) AS customer_id,
    CAST("registered_at" AS TIMESTAMP) AS signup_at,
    CAST("birth_year" AS VARCHAR) AS qi_birth_year,
    CAST("city" AS VARCHAR) AS qi_city,
    CAST("gender" AS VARCHAR) AS qi_gender
FROM raw_customers;

-- @section macros
-- Days since the epoch of a timestamp, as fairmark's day_number().
CREATE OR REPLACE MACRO fm_day(ts) AS CAST(floor(date_part('epoch', ts) / 86400) AS BIGINT);

-- Stand-in for the keyed token UDFs (see the header): NULL for a blank value. Every argument is
-- used once (a macro argument is substituted wherever it appears, and DuckDB does not share
-- common subexpressions inside a filter): a NULL or '' value gives NULL through nullif.
CREATE OR REPLACE MACRO fm_token(domain, normalized) AS
    'fm0001_' || left(sha256(domain || ':' || nullif(normalized, '')), 16);

-- Phone numbers: digits only, without +86/0086 before an 11-digit mainland mobile, nor +1/001
-- before a 10-digit North American number (normalize_phone in src/pseudonym.rs). The digits
-- are extracted once per value (bound by list_transform), not once per test.
CREATE OR REPLACE MACRO fm_normalize_phone(v) AS
    list_transform([{'d': regexp_replace(v, '[^0-9]', '', 'g'), 'plus': starts_with(v, '+')}], lambda x:
        CASE
            WHEN x.d LIKE '86%' AND length(x.d) = 13 AND substr(x.d, 3, 1) = '1' THEN substr(x.d, 3)
            WHEN NOT (x.plus OR x.d LIKE '00%') THEN x.d
            WHEN x.d LIKE '0086%' AND length(x.d) = 15 AND substr(x.d, 5, 1) = '1' THEN substr(x.d, 5)
            WHEN x.d LIKE '001%' AND length(x.d) = 13 THEN substr(x.d, 4)
            WHEN x.d LIKE '1%' AND length(x.d) = 11 THEN substr(x.d, 2)
            ELSE x.d
        END)[1];

-- fm_token_recipient(value, channel): tokenized as the kind of identifier its channel carries.
CREATE OR REPLACE MACRO fm_token_recipient(v, channel) AS
    CASE lower(trim(CAST(channel AS VARCHAR)))
        WHEN 'email' THEN fm_token('email', lower(trim(CAST(v AS VARCHAR))))
        WHEN 'sms' THEN fm_token('phone', fm_normalize_phone(trim(CAST(v AS VARCHAR))))
        WHEN 'push' THEN fm_token('device_id', trim(CAST(v AS VARCHAR)))
    END;

-- fm_generalize(value, 'birth_year', level): 5-, 10-, 20-year bands, then '*'. A macro argument
-- is substituted wherever it appears, and DuckDB does not share common subexpressions inside a
-- filter: `list_transform([x], lambda y: ...)[1]` binds the parsed year once, which halves the
-- cost of a cohort condition over a plain nested CASE.
CREATE OR REPLACE MACRO fm_gen_birth_year(v, lvl) AS
    CASE WHEN lvl >= 3 THEN '*' ELSE
        list_transform([TRY_CAST(regexp_extract(trim(CAST(v AS VARCHAR)), '^[0-9]{1,4}') AS INTEGER)],
            lambda y: COALESCE(CAST(y - y % [5, 10, 20][least(lvl, 2) + 1] AS VARCHAR) || '-'
                               || CAST(y - y % [5, 10, 20][least(lvl, 2) + 1] + [5, 10, 20][least(lvl, 2) + 1] - 1 AS VARCHAR),
                               'unknown'))[1]
    END;

-- fm_generalize(value, 'gender', level): female / male / other, then '*'.
CREATE OR REPLACE MACRO fm_gen_gender(v, lvl) AS
    CASE
        WHEN lvl >= 1 THEN '*'
        WHEN v IS NULL OR trim(CAST(v AS VARCHAR)) = '' THEN 'unknown'
        WHEN lower(trim(CAST(v AS VARCHAR))) IN ('f', 'female', 'woman', 'w', '女', '2') THEN 'female'
        WHEN lower(trim(CAST(v AS VARCHAR))) IN ('m', 'male', 'man', '男', '1') THEN 'male'
        ELSE 'other'
    END;

-- fm_generalize(value, 'city', level): the city (lower case), its region or 'other', then '*'.
CREATE OR REPLACE MACRO fm_region(name) AS
    CASE
        WHEN name IN ('北京', 'beijing', '天津', 'tianjin', '石家庄', 'shijiazhuang', '太原', 'taiyuan', '呼和浩特', 'hohhot', '唐山', 'tangshan', '保定', 'baoding') THEN 'north'
        WHEN name IN ('沈阳', 'shenyang', '大连', 'dalian', '长春', 'changchun', '哈尔滨', 'harbin') THEN 'northeast'
        WHEN name IN ('上海', 'shanghai', '南京', 'nanjing', '杭州', 'hangzhou', '苏州', 'suzhou', '宁波', 'ningbo', '无锡', 'wuxi', '合肥', 'hefei', '福州', 'fuzhou', '厦门', 'xiamen', '济南', 'jinan', '青岛', 'qingdao', '南昌', 'nanchang', '温州', 'wenzhou') THEN 'east'
        WHEN name IN ('武汉', 'wuhan', '长沙', 'changsha', '郑州', 'zhengzhou', '洛阳', 'luoyang') THEN 'central'
        WHEN name IN ('广州', 'guangzhou', '深圳', 'shenzhen', '东莞', 'dongguan', '佛山', 'foshan', '南宁', 'nanning', '海口', 'haikou', '珠海', 'zhuhai') THEN 'south'
        WHEN name IN ('成都', 'chengdu', '重庆', 'chongqing', '昆明', 'kunming', '贵阳', 'guiyang', '拉萨', 'lhasa') THEN 'southwest'
        WHEN name IN ('西安', 'xi''an', 'xian', '兰州', 'lanzhou', '西宁', 'xining', '银川', 'yinchuan', '乌鲁木齐', 'urumqi') THEN 'northwest'
        ELSE 'other'
    END;
CREATE OR REPLACE MACRO fm_gen_city(v, lvl) AS
    CASE
        WHEN lvl >= 2 THEN '*'
        WHEN v IS NULL OR trim(CAST(v AS VARCHAR)) = '' THEN 'unknown'
        WHEN lvl = 0 THEN lower(trim(CAST(v AS VARCHAR)))
        ELSE list_transform([regexp_replace(regexp_replace(lower(trim(CAST(v AS VARCHAR))), '(市)+$', ''), '( city)+$', '')],
                            lambda name: fm_region(name))[1]
    END;

-- fm_local_minute(ts, zone, default zone): minutes since local midnight of a UTC timestamp, the
-- zone conversion done once per value.
CREATE OR REPLACE MACRO fm_local_minute(ts, zone, default_zone) AS
    list_transform([timezone(COALESCE(zone, default_zone), ts AT TIME ZONE 'UTC')],
                   lambda t: hour(t) * 60 + minute(t))[1];

-- @section customer_cohorts
-- The pricing phases' customers with their protected groups (cohorts.rs, protected_group_expr:
-- birth years in 10-year bands, genders in their normal spelling), computed ONCE per customer
-- and timed as part of each pricing phase; the groups, the cohort labels and the profiles are
-- then read from these columns instead of evaluating the macros again (never per order line).
-- Placeholders: {{groups}} (`, fm_gen_...(...) AS "pg_<attribute>"` per protected attribute).
CREATE OR REPLACE TEMP TABLE fm_customer_cohorts AS
SELECT *{{groups}} FROM fm_customer_features;

-- @section reference_day
-- The day recency and tenure are measured to: the config sets none, so the last order's day.
SELECT fm_day(max(ordered_at)) FROM fm_orders;
