//! The canonical views (`fm_customers`, `fm_orders`, `fm_quotes`): each registered dataset
//! exposed under fairmark's column names, whatever the company called them.

use super::dataset::RegisteredDataset;
use super::sql::{ident, quasi_column, timestamp_expr};

pub(super) fn customers_view_sql(
    customers: &crate::config::CustomersDataset,
    dataset: &RegisteredDataset,
) -> String {
    let mut select = vec![format!(
        "CAST({} AS VARCHAR) AS customer_id",
        ident(&customers.id)
    )];
    if let Some(signup) = &customers.signup_at {
        select.push(format!(
            "{} AS signup_at",
            timestamp_expr(signup, &dataset.schema)
        ));
    }
    for column in customers.quasi_identifiers.keys() {
        select.push(format!(
            "CAST({} AS VARCHAR) AS {}",
            ident(column),
            ident(&quasi_column(column))
        ));
    }
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

pub(super) fn orders_view_sql(
    orders: &crate::config::OrdersDataset,
    dataset: &RegisteredDataset,
) -> String {
    let number = |column: &Option<String>| {
        column
            .as_ref()
            .map(|c| format!("CAST({} AS DOUBLE)", ident(c)))
    };
    let quantity = number(&orders.quantity).unwrap_or_else(|| "1.0".to_string());
    // What the line cost the customer: the stated total, else a unit price times quantity,
    // preferring what was paid over what was offered over the list price.
    let unit_prices = [
        &orders.paid_price,
        &orders.offered_price,
        &orders.list_price,
    ];
    let mut line_amount: Vec<String> = number(&orders.amount).into_iter().collect();
    line_amount.extend(
        unit_prices
            .iter()
            .filter_map(|p| number(p))
            .map(|p| format!("{p} * {quantity}")),
    );
    let line_amount = match line_amount.len() {
        0 => "CAST(NULL AS DOUBLE)".to_string(),
        1 => line_amount.remove(0),
        _ => format!("COALESCE({})", line_amount.join(", ")),
    };
    let ordered_at = timestamp_expr(&orders.ordered_at, &dataset.schema);
    let order_key = match &orders.id {
        Some(id) => format!("CAST({} AS VARCHAR)", ident(id)),
        None => format!("CAST({ordered_at} AS VARCHAR)"),
    };
    let mut select = vec![
        format!(
            "CAST({} AS VARCHAR) AS customer_id",
            ident(&orders.customer)
        ),
        format!("{order_key} AS order_key"),
        format!("{ordered_at} AS ordered_at"),
        format!("{quantity} AS quantity"),
        format!("{line_amount} AS line_amount"),
    ];
    let text = |column: &Option<String>| {
        column.as_ref().map_or_else(
            || "CAST(NULL AS VARCHAR)".to_string(),
            |c| format!("CAST({} AS VARCHAR)", ident(c)),
        )
    };
    select.push(format!("{} AS sku", text(&orders.sku)));
    select.push(format!("{} AS category", text(&orders.category)));
    select.push(format!("{} AS device_os", text(&orders.device_os)));
    select.push(format!(
        "{} AS offered_unit_price",
        number(&orders.offered_price).unwrap_or_else(|| "CAST(NULL AS DOUBLE)".to_string())
    ));
    // The catalogue price the rules start from: the list price, else what was offered, else
    // what the line cost per unit.
    let list_candidates: Vec<String> = [
        number(&orders.list_price),
        number(&orders.offered_price),
        number(&orders.paid_price),
    ]
    .into_iter()
    .flatten()
    .collect();
    let list_price = match list_candidates.len() {
        0 => format!("({line_amount}) / {quantity}"),
        _ => format!(
            "COALESCE({}, ({line_amount}) / {quantity})",
            list_candidates.join(", ")
        ),
    };
    select.push(format!("{list_price} AS list_unit_price"));
    select.extend(condition_columns(&orders.conditions));
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

/// The column under which the canonical views expose a trading-condition column.
pub fn condition_column(column: &str) -> String {
    format!("cond_{column}")
}

fn condition_columns(conditions: &[String]) -> Vec<String> {
    conditions
        .iter()
        .map(|c| {
            format!(
                "CAST({} AS VARCHAR) AS {}",
                ident(c),
                ident(&condition_column(c))
            )
        })
        .collect()
}

pub(super) fn quotes_view_sql(
    quotes: &crate::config::QuotesDataset,
    dataset: &RegisteredDataset,
) -> String {
    let mut select = vec![
        format!(
            "CAST({} AS VARCHAR) AS customer_id",
            ident(&quotes.customer)
        ),
        format!(
            "{} AS ordered_at",
            timestamp_expr(&quotes.quoted_at, &dataset.schema)
        ),
        format!(
            "{} AS quantity",
            quotes.quantity.as_ref().map_or_else(
                || "1.0".to_string(),
                |q| format!("CAST({} AS DOUBLE)", ident(q))
            )
        ),
        format!("CAST({} AS VARCHAR) AS sku", ident(&quotes.sku)),
        format!(
            "{} AS device_os",
            quotes.device_os.as_ref().map_or_else(
                || "CAST(NULL AS VARCHAR)".to_string(),
                |c| format!("CAST({} AS VARCHAR)", ident(c))
            )
        ),
        format!(
            "CAST({} AS DOUBLE) AS offered_unit_price",
            ident(&quotes.offered_price)
        ),
    ];
    select.extend(condition_columns(&quotes.conditions));
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}
