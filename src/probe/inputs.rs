//! Reading what the twins are built from: base profiles drawn from the customer features
//! (only the attributes the request template sends; the customer id stays in the query), the
//! SKUs, the shop's commonest trading conditions, the data's spelling of the devices, and each
//! protected attribute's groups with their commonest values.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use serde_json::Value;

use super::plan::{Inputs, ProtectedGroups, Template, Values, sample};
use crate::config::Config;
use crate::config::probe::{DEFAULT_TOP_SKUS, ProbeAttribute, ProbeConfig};
use crate::derived::cohorts::protected_group_expr;
use crate::engine::{Engine, ident, literal};
use crate::error::{Error, Result};
use crate::policy::{AttributeClass, EffectivePolicy};
use crate::pricing::FEATURES_TABLE;

/// A cell as JSON: numbers, booleans and text as themselves, anything else as its text.
fn json_of(batch: &RecordBatch, column: usize, row: usize) -> Result<Value> {
    let scalar = ScalarValue::try_from_array(batch.column(column), row)?;
    if scalar.is_null() {
        return Ok(Value::Null);
    }
    Ok(match scalar {
        ScalarValue::Boolean(Some(b)) => Value::Bool(b),
        ScalarValue::Int8(Some(v)) => Value::from(v),
        ScalarValue::Int16(Some(v)) => Value::from(v),
        ScalarValue::Int32(Some(v)) => Value::from(v),
        ScalarValue::Int64(Some(v)) => Value::from(v),
        ScalarValue::UInt8(Some(v)) => Value::from(v),
        ScalarValue::UInt16(Some(v)) => Value::from(v),
        ScalarValue::UInt32(Some(v)) => Value::from(v),
        ScalarValue::UInt64(Some(v)) => Value::from(v),
        ScalarValue::Float32(Some(v)) => Value::from(f64::from(v)),
        ScalarValue::Float64(Some(v)) => Value::from(v),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Value::String(s),
        other => Value::String(other.to_string()),
    })
}

/// Rows of `batches` as attribute values, columns named as the batches name them.
fn rows_of(batches: &[RecordBatch]) -> Result<Vec<Values>> {
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut values = Values::new();
            for (c, field) in schema.fields().iter().enumerate() {
                values.insert(field.name().clone(), json_of(batch, c, row)?);
            }
            rows.push(values);
        }
    }
    Ok(rows)
}

/// Reads what the twins are built from: `base_profiles` customers' features (only the
/// attributes the template sends), the SKUs, the shop's commonest trading conditions, the
/// data's spelling of the devices and each protected attribute's groups. Needs the customer
/// features registered.
pub async fn gather(
    engine: &Engine,
    config: &Config,
    policy: &EffectivePolicy,
    probe: &ProbeConfig,
    template: &Template,
) -> Result<Inputs> {
    let mut inputs = Inputs::default();
    let features: BTreeSet<String> = crate::pricing::customer_attribute_columns(config)
        .into_iter()
        .chain(crate::pricing::DERIVED.iter().map(|s| s.to_string()))
        .chain(std::iter::once("device_os".to_string()))
        .collect();
    let sent: Vec<&str> = template
        .attributes()
        .filter(|a| features.contains(*a))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // Base profiles: rows numbered by customer id (a stable order), `base_profiles` of them
    // drawn with the seed. The id never leaves the query.
    let count = engine
        .collect(
            &format!("SELECT count(*) FROM {FEATURES_TABLE}"),
            "customers",
        )
        .await?;
    let customers = count
        .iter()
        .find(|b| b.num_rows() > 0)
        .map_or(0, |b| b.column(0).as_primitive::<Int64Type>().value(0))
        as usize;
    if customers == 0 {
        return Err(Error::Usage(
            "probe: the customer features are empty; there is no profile to build twins on".into(),
        ));
    }
    let rows = sample(customers, probe.base_profiles, probe.seed);
    if !sent.is_empty() {
        let columns: Vec<String> = sent.iter().map(|a| ident(a)).collect();
        let numbers: Vec<String> = rows.iter().map(|r| (r + 1).to_string()).collect();
        let sql = format!(
            "SELECT fm_row, {cols} FROM (SELECT row_number() OVER (ORDER BY customer_id) AS fm_row, {cols} FROM {FEATURES_TABLE}) WHERE fm_row IN ({})",
            numbers.join(", "),
            cols = columns.join(", ")
        );
        let found = rows_of(&engine.collect(&sql, "customers").await?)?;
        let by_row: BTreeMap<u64, Values> = found
            .into_iter()
            .map(|mut values| {
                let row = values
                    .remove("fm_row")
                    .and_then(|v| v.as_u64())
                    .unwrap_or_default();
                (row, values)
            })
            .collect();
        inputs.profiles = rows
            .iter()
            .filter_map(|r| by_row.get(&(*r as u64 + 1)).cloned())
            .collect();
    } else {
        inputs.profiles = vec![Values::new(); rows.len()];
    }

    inputs.skus = skus(engine, config, probe).await?;
    inputs.conditions = conditions(engine, config, template).await?;
    let spelling = |pattern: &'static str, default: &'static str| async move {
        let sql = format!(
            "SELECT device_os FROM {FEATURES_TABLE} WHERE lower(device_os) LIKE '{pattern}' GROUP BY device_os ORDER BY count(*) DESC, device_os LIMIT 1"
        );
        let found = rows_of(&engine.collect(&sql, "customers").await?)?;
        Ok::<Value, Error>(
            found
                .into_iter()
                .next()
                .and_then(|mut r| r.remove("device_os"))
                .unwrap_or_else(|| Value::String(default.into())),
        )
    };
    if template.sends("device_os") {
        inputs.ios = spelling("%ios%", "iOS").await?;
        inputs.android = spelling("%android%", "Android").await?;
    }
    if probe.attributes.contains(&ProbeAttribute::Protected) {
        protected(engine, config, policy, template, &mut inputs).await?;
    }
    Ok(inputs)
}

/// The listed SKUs, or the `top_skus` most ordered (ties by code), with their category.
async fn skus(
    engine: &Engine,
    config: &Config,
    probe: &ProbeConfig,
) -> Result<Vec<(String, Values)>> {
    let has_orders = config
        .datasets
        .orders
        .as_ref()
        .is_some_and(|o| o.sku.is_some());
    let codes: Vec<String> = match &probe.skus {
        Some(listed) => listed.clone(),
        None if !has_orders => {
            return Err(Error::config(
                &config.file,
                "[probe]: `top_skus` needs an orders dataset that maps `sku`; list `skus` instead",
            ));
        }
        None => {
            let top = probe.top_skus.unwrap_or(DEFAULT_TOP_SKUS);
            let sql = format!(
                "SELECT sku FROM fm_orders WHERE sku IS NOT NULL GROUP BY sku ORDER BY count(*) DESC, sku LIMIT {top}"
            );
            rows_of(&engine.collect(&sql, "orders").await?)?
                .into_iter()
                .filter_map(|mut r| match r.remove("sku") {
                    Some(Value::String(s)) => Some(s),
                    _ => None,
                })
                .collect()
        }
    };
    let mut categories: BTreeMap<String, Value> = BTreeMap::new();
    if has_orders && !codes.is_empty() {
        let listed: Vec<String> = codes.iter().map(|c| literal(c)).collect();
        let sql = format!(
            "SELECT sku, min(category) AS category FROM fm_orders WHERE sku IN ({}) GROUP BY sku",
            listed.join(", ")
        );
        for mut row in rows_of(&engine.collect(&sql, "orders").await?)? {
            if let (Some(Value::String(sku)), Some(category)) =
                (row.remove("sku"), row.remove("category"))
            {
                categories.insert(sku, category);
            }
        }
    }
    Ok(codes
        .into_iter()
        .map(|code| {
            let values = Values::from([
                ("sku".to_string(), Value::String(code.clone())),
                (
                    "category".to_string(),
                    categories.get(&code).cloned().unwrap_or(Value::Null),
                ),
            ]);
            (code, values)
        })
        .collect())
}

/// The shop's commonest value of each trading condition the template sends (and `quantity`,
/// 1 when the orders do not say), typed as the orders hold them: the same reference the
/// simulation holds the conditions at.
async fn conditions(engine: &Engine, config: &Config, template: &Template) -> Result<Values> {
    let mut values = Values::new();
    let Some(orders) = &config.datasets.orders else {
        if template.sends("quantity") {
            values.insert("quantity".into(), Value::from(1));
        }
        return Ok(values);
    };
    let mut columns: Vec<(String, String)> = orders
        .conditions
        .iter()
        .map(|c| (c.to_lowercase(), c.clone()))
        .collect();
    if let Some(quantity) = &orders.quantity
        && !columns.iter().any(|(name, _)| name == "quantity")
    {
        columns.push(("quantity".into(), quantity.clone()));
    }
    for (name, column) in columns {
        if !template.sends(&name) {
            continue;
        }
        let expr = ident(&column);
        let sql = format!(
            "SELECT {expr} AS v FROM raw_orders GROUP BY {expr} ORDER BY count(*) DESC, {expr} NULLS LAST LIMIT 1"
        );
        let found = rows_of(&engine.collect(&sql, "orders").await?)?;
        values.insert(
            name,
            found
                .into_iter()
                .next()
                .and_then(|mut r| r.remove("v"))
                .unwrap_or(Value::Null),
        );
    }
    if template.sends("quantity") && !values.contains_key("quantity") {
        values.insert("quantity".into(), Value::from(1));
    }
    Ok(values)
}

/// One protected group as the customers hold it: its customers, and its commonest value (with
/// that value's count and text, the text breaking ties).
#[derive(Default)]
struct Group {
    customers: i64,
    commonest: Option<(i64, String, Value)>,
}

/// Each protected attribute of the customers: its groups (banded as the observed check bands
/// them) with each group's customers and commonest value, or, when the template does not send
/// it, its name.
async fn protected(
    engine: &Engine,
    config: &Config,
    policy: &EffectivePolicy,
    template: &Template,
    inputs: &mut Inputs,
) -> Result<()> {
    let Some(customers) = &config.datasets.customers else {
        return Ok(());
    };
    let attributes = customers.attributes_with_kinds();
    for (attribute, kind) in attributes {
        if policy.attribute_class(&attribute) != Some(AttributeClass::Protected) {
            continue;
        }
        if !template.sends(&attribute) {
            inputs.protected_unsent.push(attribute);
            continue;
        }
        let group = protected_group_expr(&attribute, kind);
        let sql = format!(
            "SELECT CAST({group} AS VARCHAR) AS g, {a} AS v, count(*) AS n FROM {FEATURES_TABLE} WHERE {a} IS NOT NULL GROUP BY 1, 2",
            a = ident(&attribute)
        );
        let batches = engine.collect(&sql, "customers").await?;
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for batch in &batches {
            let names = cast(batch.column(0), &DataType::Utf8)?;
            let names = names.as_string::<i32>();
            let counts = cast(batch.column(2), &DataType::Int64)?;
            let counts = counts.as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                if names.is_null(row) {
                    continue;
                }
                let value = json_of(batch, 1, row)?;
                let n = counts.value(row);
                let entry = groups.entry(names.value(row).to_string()).or_default();
                entry.customers += n;
                let text = value.to_string();
                let better = entry.commonest.as_ref().is_none_or(|(best, best_text, _)| {
                    n > *best || (n == *best && text < *best_text)
                });
                if better {
                    entry.commonest = Some((n, text, value));
                }
            }
        }
        inputs.protected.push(ProtectedGroups {
            attribute,
            kind,
            groups: groups
                .into_iter()
                .filter_map(|(g, group)| group.commonest.map(|(_, _, v)| (g, group.customers, v)))
                .collect(),
        });
    }
    Ok(())
}
