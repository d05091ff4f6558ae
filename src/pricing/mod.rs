//! Pricing: the rules file, the customer features rules and cohorts are evaluated on, and the
//! observations (orders and quotes) the observed-price checks compare.

pub mod condition;
pub mod rules;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;

use crate::config::Config;
use crate::config_errors::named_file;
use crate::engine::{Engine, condition_column, ident};
use crate::error::{Error, Result};
use rules::RulesFile;

/// Attributes fairmark derives for every customer, as of the reference date.
pub const DERIVED: &[&str] = &[
    "tenure_days",
    "order_count",
    "total_spend",
    "days_since_last_order",
    "is_new",
];

/// The derived attributes that count and sum every order of a customer. They cost a grouping
/// by customer and order (a group for every order); tenure and the device need only one by
/// customer, so the features leave them out where nothing reads them (`check-rules` whose
/// rules name none of them).
pub const ORDER_TOTALS: &[&str] = &["order_count", "total_spend", "days_since_last_order"];

/// The table [`register_features`] registers: one row per customer.
pub const FEATURES_TABLE: &str = "fm_customer_features";

/// A customer is `is_new` within this many days of signing up.
pub const NEW_CUSTOMER_DAYS: u32 = 30;

/// Every attribute a rule condition may name: derived ones, mapped customer attributes and
/// quasi-identifiers, and the order context. Lower case, since SQL folds unquoted names.
pub fn known_attributes(config: &Config) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = DERIVED.iter().map(|s| s.to_string()).collect();
    if let Some(c) = &config.datasets.customers {
        known.extend(c.attributes.iter().map(|a| a.to_lowercase()));
        known.extend(c.quasi_identifiers.keys().map(|a| a.to_lowercase()));
    }
    known.extend(context_attributes(config));
    if has_device(config) {
        known.insert("device_os".into());
    }
    known
}

/// The order-context attributes: trading conditions, quantity, SKU and category.
fn context_attributes(config: &Config) -> Vec<String> {
    let mut context = vec![
        "quantity".to_string(),
        "sku".to_string(),
        "category".to_string(),
    ];
    if let Some(o) = &config.datasets.orders {
        context.extend(o.conditions.iter().map(|c| c.to_lowercase()));
    }
    context.sort();
    context.dedup();
    context
}

pub fn has_device(config: &Config) -> bool {
    config
        .datasets
        .customers
        .as_ref()
        .is_some_and(|c| c.device_os.is_some())
        || config
            .datasets
            .orders
            .as_ref()
            .is_some_and(|o| o.device_os.is_some())
}

/// Loads the rules file named in the config, if any.
pub fn load_rules(config: &Config) -> Result<Option<RulesFile>> {
    let Some(path) = &config.pricing_rules else {
        return Ok(None);
    };
    let full = config.base_dir.join(path);
    let text = std::fs::read_to_string(&full).map_err(|e| {
        let file = named_file(Path::new(path), &config.file, "pricing_rules");
        Error::config(file, format!("cannot read the pricing rules: {e}"))
    })?;
    RulesFile::parse(&text, path, &known_attributes(config)).map(Some)
}

/// Parses rules text that is not (or no longer) on disk, e.g. a base revision's.
pub fn parse_rules(config: &Config, text: &str, path: &str) -> Result<RulesFile> {
    RulesFile::parse(text, path, &known_attributes(config))
}

/// The day (since the epoch) of a timestamp, as SQL.
pub(crate) fn day_number(column: &str) -> String {
    format!("CAST(floor(date_part('epoch', {column}) / 86400) AS BIGINT)")
}

pub fn days_since_epoch(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days()
}

/// Registers `fm_customer_features`: one row per customer with the derived attributes as of
/// `reference_date`, the mapped customer attributes (lower-case names) and `device_os`.
pub async fn register_features(
    engine: &Engine,
    config: &Config,
    reference_date: NaiveDate,
    order_totals: bool,
) -> Result<()> {
    let reference_day = days_since_epoch(reference_date);
    // Orders are counted as the groups of a first aggregate by customer and order: a
    // grouped count(DISTINCT) keeps a set of keys per customer, which costs more than grouping.
    let with_totals = "SELECT customer_id, CAST(count(order_key) AS BIGINT) AS order_count, sum(spend) AS total_spend,
            min(first_at) AS first_at, max(last_at) AS last_at, max(device_os) AS order_device
         FROM (SELECT customer_id, order_key, sum(line_amount) AS spend, min(ordered_at) AS first_at,
                max(ordered_at) AS last_at, max(device_os) AS device_os
             FROM fm_orders WHERE customer_id IS NOT NULL GROUP BY customer_id, order_key)
         GROUP BY customer_id";
    let without_totals =
        "SELECT customer_id, min(ordered_at) AS first_at, max(device_os) AS order_device
         FROM fm_orders WHERE customer_id IS NOT NULL GROUP BY customer_id";
    let stats = if order_totals {
        with_totals
    } else {
        without_totals
    };
    let (customers, start, device) = match &config.datasets.customers {
        Some(c) => {
            let mut columns = vec![format!("CAST({} AS VARCHAR) AS customer_id", ident(&c.id))];
            let attributes: BTreeSet<&String> = c
                .attributes
                .iter()
                .chain(c.quasi_identifiers.keys())
                .collect();
            columns.extend(
                attributes
                    .iter()
                    .map(|a| format!("{} AS {}", ident(a), ident(&a.to_lowercase()))),
            );
            columns.push(match &c.signup_at {
                Some(s) => format!(
                    "{} AS signup_at",
                    crate::engine::timestamp_expr(
                        s,
                        &engine.dataset("customers").expect("registered").schema
                    )
                ),
                None => "CAST(NULL AS TIMESTAMP) AS signup_at".to_string(),
            });
            columns.push(match &c.device_os {
                Some(d) => format!("CAST({} AS VARCHAR) AS customer_device", ident(d)),
                None => "CAST(NULL AS VARCHAR) AS customer_device".to_string(),
            });
            // A customer listed twice keeps one row, chosen by content (the row whose mapped
            // values sort first), so the choice does not depend on which file or partition
            // was read first.
            let by_content: Vec<String> = attributes
                .iter()
                .map(|a| a.as_str())
                .chain(c.signup_at.as_deref())
                .chain(c.device_os.as_deref())
                .map(|column| format!("CAST({} AS VARCHAR) NULLS LAST", ident(column)))
                .collect();
            let order = std::iter::once(format!("CAST({} AS VARCHAR)", ident(&c.id)))
                .chain(by_content)
                .collect::<Vec<_>>()
                .join(", ");
            // The window costs per customer, so it runs only when some customer is listed
            // twice (or without an id); usually none is, and one aggregate says so.
            let duplicated = engine
                .collect(
                    &format!(
                        "SELECT CAST(count(*) - count(DISTINCT CAST({id} AS VARCHAR)) AS BIGINT) FROM raw_customers",
                        id = ident(&c.id)
                    ),
                    "customers",
                )
                .await?
                .iter()
                .find(|b| b.num_rows() > 0)
                .is_some_and(|b| b.column(0).as_primitive::<Int64Type>().value(0) > 0);
            let customers = if duplicated {
                format!(
                    "(SELECT * FROM (SELECT {}, row_number() OVER (PARTITION BY CAST({} AS VARCHAR) ORDER BY {order}) AS copy FROM raw_customers) WHERE copy = 1)",
                    columns.join(", "),
                    ident(&c.id),
                )
            } else {
                format!("(SELECT {} FROM raw_customers)", columns.join(", "))
            };
            (
                format!(
                    "{customers} c FULL OUTER JOIN ({stats}) s ON c.customer_id = s.customer_id"
                ),
                "COALESCE(c.signup_at, s.first_at)",
                "COALESCE(c.customer_device, s.order_device)",
            )
        }
        None => (format!("({stats}) s"), "s.first_at", "s.order_device"),
    };
    let customer_columns: String = customer_attribute_columns(config)
        .iter()
        .map(|a| format!(", c.{}", ident(a)))
        .collect();
    let id = if config.datasets.customers.is_some() {
        "COALESCE(c.customer_id, s.customer_id)"
    } else {
        "s.customer_id"
    };
    let totals = if order_totals {
        format!(
            "COALESCE(s.order_count, 0) AS order_count,
            COALESCE(s.total_spend, 0.0) AS total_spend,
            {reference_day} - {last_day} AS days_since_last_order,",
            last_day = day_number("s.last_at"),
        )
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {id} AS customer_id{customer_columns},
            {reference_day} - {start_day} AS tenure_days,
            {totals}
            ({reference_day} - {start_day}) <= {NEW_CUSTOMER_DAYS} AS is_new,
            {device} AS device_os,
            {start} AS tenure_start
         FROM {customers}",
        start_day = day_number(start),
    );
    // One row per customer, read by every simulation and cohort comparison: computed once.
    let frame = engine
        .sql(&sql, "orders")
        .await
        .map(crate::engine::cache)?
        .await
        .map_err(|e| Error::from(e).in_dataset("customers and orders", "customer features"))?;
    engine
        .ctx
        .register_table(FEATURES_TABLE, frame.into_view())?;
    Ok(())
}

/// The customer attributes `fm_customer_features` carries under their own (lower-case) names.
pub fn customer_attribute_columns(config: &Config) -> Vec<String> {
    let Some(c) = &config.datasets.customers else {
        return Vec::new();
    };
    let attributes: BTreeSet<String> = c
        .attributes
        .iter()
        .chain(c.quasi_identifiers.keys())
        .map(|a| a.to_lowercase())
        .collect();
    attributes
        .into_iter()
        .filter(|a| !DERIVED.contains(&a.as_str()) && a.as_str() != "device_os")
        .collect()
}

/// The condition columns as the canonical views expose them.
pub fn condition_columns(config: &Config) -> Vec<(String, String)> {
    config
        .datasets
        .orders
        .iter()
        .flat_map(|o| o.conditions.iter())
        .map(|c| (c.to_lowercase(), condition_column(c)))
        .collect()
}
