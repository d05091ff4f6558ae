//! The observations the observed-price checks compare (orders, then quotes) and the time
//! buckets their strata are cut into: what the strata and the checks that read them share.

use serde::Deserialize;

use crate::config::Config;
use crate::engine::ident;

/// The length of a stratum's time bucket, as a pack sets it (`time_bucket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeBucket {
    Hour,
    Day,
    Week,
}

impl TimeBucket {
    /// The unit in SQL's `date_trunc` and in messages.
    pub fn unit(self) -> &'static str {
        match self {
            TimeBucket::Hour => "hour",
            TimeBucket::Day => "day",
            TimeBucket::Week => "week",
        }
    }

    /// How a bucket is written in findings (a week by its Monday).
    pub fn format(self) -> &'static str {
        match self {
            TimeBucket::Hour => "%Y-%m-%d %H:00",
            TimeBucket::Day | TimeBucket::Week => "%Y-%m-%d",
        }
    }
}

/// The observations (orders, then quotes) with cohort-relevant columns, as SQL.
pub fn observations_sql(config: &Config) -> String {
    let conditions: Vec<String> = crate::pricing::condition_columns(config)
        .into_iter()
        .map(|(_, c)| ident(&c))
        .collect();
    let extra = if conditions.is_empty() {
        String::new()
    } else {
        format!(", {}", conditions.join(", "))
    };
    let select = |table: &str| {
        format!(
            "SELECT customer_id, ordered_at, sku, offered_unit_price AS price, device_os AS order_device{extra} FROM {table} WHERE sku IS NOT NULL AND offered_unit_price IS NOT NULL AND customer_id IS NOT NULL"
        )
    };
    let mut sql = select("fm_orders");
    if config.datasets.quotes.is_some() {
        sql = format!("{sql} UNION ALL {}", select("fm_quotes"));
    }
    sql
}
