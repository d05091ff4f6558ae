-- Phase `pseudonymize_orders`: the pseudonymized copy of the orders, written to Parquet.
--
-- What fairmark does (src/pseudonymize.rs, copy for "orders"; src/output.rs, write_parquet;
-- `fairmark pseudonymize --dataset orders`): every order line with the customer column replaced
-- by its keyed token (HMAC-SHA-256, class customer_id) and the order id by its token (class
-- other), the mapped plain columns kept (sku, ordered_at, quantity, list/offered/paid unit
-- prices, then the trading conditions not already listed: channel, pay_method, member), unmapped
-- columns dropped (category, device_os), sorted by customer token, order token, ordered_at, and
-- streamed to a Snappy-compressed Parquet file.
--
-- What this does: the same projection, sort and Snappy Parquet write (to a temporary directory)
-- in one COPY. Timed: the COPY. No prerequisite. rows = rows written.
--
-- Where it differs: the tokens are the UNKEYED sha256 stand-in (common.sql): DuckDB has sha256()
-- but no HMAC, so this measures a comparable hash per cell, not fairmark's keyed one. Both the
-- customer and the order id are tokenized, as fairmark does (two hashes per row, not one).
--
-- Placeholders: {{parquet}} (output path).

-- @section write
COPY (
    SELECT fm_token('customer_id', trim(CAST("uid" AS VARCHAR))) AS customer_token,
        fm_token('other', trim(CAST("txn_id" AS VARCHAR))) AS order_token,
        "item_code", "ordered_at", "qty", "list_unit_price", "offered_unit_price", "paid_unit_price",
        "channel", "pay_method", "member"
    FROM raw_orders
    ORDER BY customer_token, order_token, "ordered_at"
) TO '{{parquet}}' (FORMAT parquet, COMPRESSION snappy);
