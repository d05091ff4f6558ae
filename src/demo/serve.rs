//! The demo's price service (`fairmark demo --serve`): what a shop's pricing API would answer
//! for the demo catalogue. A quote is the SKU's median list price in the demo orders, adjusted
//! by the demo's pricing rules (evaluated by DataFusion on the SQL printed from each rule's
//! analysed condition, as the simulation runs them), then by the surcharges the demo plants in
//! its orders: long-standing customers pay more on [`TENURE_OVERCHARGE_SKUS`] (here on every
//! day, not two in three) and iOS users 6% more on [`IOS_SURCHARGE_SKUS`]. `fairmark probe`
//! against it finds what the rules and the plants do.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Float64Type;
use datafusion::prelude::SessionContext;
use serde_json::Value;

use super::{DEMO_CONFIG, IOS_SURCHARGE_SKUS, TENURE_OVERCHARGE_SKUS};
use crate::engine::{Engine, ident, literal};
use crate::error::{Error, Result};
use crate::pricing::rules::RulesFile;
use crate::probe::server::Reply;

/// The `[probe]` section that probes the demo service at `url`, appended to the demo's config.
pub fn probe_config(url: &str) -> String {
    format!(
        r#"{DEMO_CONFIG}
# Added by `fairmark demo --serve`: probe the demo's price service with matched twins.
[probe]
endpoint = "{url}"
# the service's JSON field = the fairmark attribute sent in it (or a literal)
request = {{ sku = "sku", tenure_days = "tenure_days", is_new = "is_new", device_os = "device_os", gender = "gender", birth_year = "birth_year", price_sensitivity = "price_sensitivity", channel = "channel", pay_method = "pay_method", quantity = "quantity", member = "member", currency = "CNY" }}
price_field = "price"
top_skus = 12
base_profiles = 16
attributes = ["tenure", "device", "protected", "is_new"]
max_rps = 400
concurrency = 4
timeout_ms = 5000
retries = 3
budget = 20000
seed = 1
log = "probe-log.jsonl"
"#
    )
}

pub struct DemoPricing {
    /// The price every rule makes of `price_0`, as SQL.
    price_sql: String,
    /// The attributes the rules read, and those the planted surcharges read.
    read: Vec<String>,
    /// SKU → (category, median list price).
    catalogue: HashMap<String, (Option<String>, f64)>,
    ctx: SessionContext,
    runtime: tokio::runtime::Handle,
    /// Quotes by SKU and the values read: twins share most of them.
    cache: Mutex<HashMap<String, f64>>,
}

impl DemoPricing {
    /// The catalogue from the demo orders registered on `engine`, and the rules.
    pub async fn load(engine: &Engine, rules: &RulesFile) -> Result<DemoPricing> {
        let batches = engine
            .collect(
                "SELECT sku, min(category) AS category, CAST(median(list_unit_price) AS DOUBLE) AS base FROM fm_orders WHERE sku IS NOT NULL GROUP BY sku",
                "orders",
            )
            .await?;
        let mut catalogue = HashMap::new();
        for batch in &batches {
            let skus = datafusion::arrow::compute::cast(
                batch.column(0),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )?;
            let categories = datafusion::arrow::compute::cast(
                batch.column(1),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )?;
            let (skus, categories) = (skus.as_string::<i32>(), categories.as_string::<i32>());
            let bases = batch.column(2).as_primitive::<Float64Type>();
            for row in 0..batch.num_rows() {
                use datafusion::arrow::array::Array;
                let category =
                    (!categories.is_null(row)).then(|| categories.value(row).to_string());
                catalogue.insert(skus.value(row).to_string(), (category, bases.value(row)));
            }
        }
        let mut read: BTreeSet<String> = rules
            .rules
            .iter()
            .flat_map(|r| {
                r.condition
                    .attributes()
                    .into_iter()
                    .map(|(a, _)| a.to_lowercase())
            })
            .filter(|a| a != "sku" && a != "category")
            .collect();
        read.extend(["tenure_days".to_string(), "device_os".to_string()]);
        Ok(DemoPricing {
            price_sql: rules.price_sql("price_0"),
            read: read.into_iter().collect(),
            catalogue,
            ctx: SessionContext::new(),
            runtime: tokio::runtime::Handle::current(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Answers one quote request (a JSON object of attribute values, `sku` among them).
    pub fn quote(&self, body: &[u8]) -> Reply {
        let refuse = |status, why: &str| Reply::json(status, serde_json::json!({ "error": why }));
        let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
            return refuse(400, "expected a JSON object of attribute values");
        };
        let Some(Value::String(sku)) = request.get("sku") else {
            return refuse(400, "no sku");
        };
        let Some((category, base)) = self.catalogue.get(sku) else {
            return refuse(404, "unknown sku");
        };
        let values: Vec<(&str, &Value)> = self
            .read
            .iter()
            .map(|a| (a.as_str(), request.get(a).unwrap_or(&Value::Null)))
            .collect();
        let key = format!(
            "{sku}\u{0}{}",
            serde_json::to_string(&values).unwrap_or_default()
        );
        let cached = self.cache.lock().expect("not poisoned").get(&key).copied();
        let ruled = match cached {
            Some(price) => price,
            None => match self.evaluate(sku, category.as_deref(), *base, &values) {
                Ok(price) => {
                    self.cache.lock().expect("not poisoned").insert(key, price);
                    price
                }
                Err(_) => return refuse(500, "the rules could not be evaluated"),
            },
        };
        let tenure = request.get("tenure_days").and_then(Value::as_f64);
        let device = request.get("device_os").and_then(Value::as_str);
        let mut price = ruled;
        if let Some((_, surcharge)) = TENURE_OVERCHARGE_SKUS.iter().find(|(s, _)| s == sku)
            && tenure.is_some_and(|t| t > 365.0)
        {
            price *= 1.0 + surcharge;
        }
        if IOS_SURCHARGE_SKUS.contains(&sku.as_str()) && device == Some("iOS") {
            price *= 1.06;
        }
        Reply::json(
            200,
            serde_json::json!({ "sku": sku, "price": (price * 100.0).round() / 100.0, "currency": "CNY" }),
        )
    }

    /// The rules' price for one profile: one row of literals, priced by the rules' SQL.
    fn evaluate(
        &self,
        sku: &str,
        category: Option<&str>,
        base: f64,
        values: &[(&str, &Value)],
    ) -> Result<f64> {
        let mut columns: Vec<String> = values
            .iter()
            .map(|(name, value)| format!("{} AS {}", sql_literal(value), ident(name)))
            .collect();
        columns.push(format!("{} AS sku", literal(sku)));
        columns.push(format!(
            "{} AS category",
            category.map_or_else(|| "CAST(NULL AS VARCHAR)".to_string(), literal)
        ));
        columns.push(format!("CAST({base} AS DOUBLE) AS price_0"));
        let sql = format!(
            "SELECT CAST({} AS DOUBLE) AS price FROM (SELECT {})",
            self.price_sql,
            columns.join(", ")
        );
        let batches = self
            .runtime
            .block_on(async { self.ctx.sql(&sql).await?.collect().await })?;
        batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .map(|b| b.column(0).as_primitive::<Float64Type>().value(0))
            .ok_or_else(|| Error::Engine("the rules priced nothing".into()))
    }
}

/// A JSON scalar as a SQL literal (objects and arrays as NULL: no rule reads them).
fn sql_literal(value: &Value) -> String {
    match value {
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        Value::Number(n) if n.is_i64() => format!("CAST({n} AS BIGINT)"),
        Value::Number(n) => format!("CAST({} AS DOUBLE)", n.as_f64().unwrap_or(0.0)),
        Value::String(s) => literal(s),
        _ => "NULL".into(),
    }
}
