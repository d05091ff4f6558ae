//! The canonical views (`fm_customers`, `fm_orders`, `fm_quotes`, `fm_mail_sends`,
//! `fm_consents`): each registered dataset exposed under fairmark's column names, whatever the
//! company called them. The engine registers the first three with their datasets; the mail
//! views are registered with the judged sends ([`crate::derived::judged_sends`]).

use super::dataset::RegisteredDataset;
use super::sql::{ident, literal, quasi_column, timestamp_expr};
use crate::config::{ConsentsDataset, MailSendsDataset};
use crate::pseudonym::TokenUdf;

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

/// The canonical channel of a mapped channel column: trimmed, lower case.
fn channel_expr(column: &str) -> String {
    format!("lower(trim(CAST({} AS VARCHAR)))", ident(column))
}

fn flag(column: &Option<String>) -> String {
    match column {
        // Text flags ("yes", "Y", "1", "true") are common in CSV exports.
        Some(c) => format!(
            "lower(trim(CAST({} AS VARCHAR))) IN ('true', 't', 'yes', 'y', '1')",
            ident(c)
        ),
        None => "CAST(NULL AS BOOLEAN)".to_string(),
    }
}

/// `fm_mail_sends`: each marketing message with its recipient tokenized by its channel.
pub fn sends_view_sql(sends: &MailSendsDataset, dataset: &RegisteredDataset) -> String {
    let schema = &dataset.schema;
    let text = |column: &Option<String>| {
        column.as_ref().map_or_else(
            || "CAST(NULL AS VARCHAR)".to_string(),
            |c| format!("CAST({} AS VARCHAR)", ident(c)),
        )
    };
    format!(
        "SELECT {recipient}({r}, {channel}) AS recipient_token, {channel} AS channel,
            CAST({campaign} AS VARCHAR) AS campaign, {sent_at} AS sent_at,
            {has_unsubscribe} AS has_unsubscribe, {one_click} AS one_click_unsubscribe,
            {sender} AS sender_id, {zone} AS recipient_timezone, {postal} AS postal_address
         FROM raw_mail_sends",
        recipient = TokenUdf::RECIPIENT,
        r = ident(&sends.recipient),
        channel = channel_expr(&sends.channel),
        campaign = ident(&sends.campaign),
        sent_at = timestamp_expr(&sends.sent_at, schema),
        has_unsubscribe = flag(&sends.has_unsubscribe),
        one_click = flag(&sends.one_click_unsubscribe),
        sender = text(&sends.sender_id),
        zone = text(&sends.recipient_timezone),
        postal = flag(&sends.postal_address),
    )
}

/// `fm_consents`: each consent event, its action read as `opt_in` or `opt_out`.
pub fn consents_view_sql(consents: &ConsentsDataset, dataset: &RegisteredDataset) -> String {
    let schema = &dataset.schema;
    let values = |list: &[String]| {
        list.iter()
            .map(|v| literal(&v.trim().to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let action = format!("lower(trim(CAST({} AS VARCHAR)))", ident(&consents.action));
    format!(
        "SELECT {recipient}({r}, {channel}) AS recipient_token, {channel} AS channel,
            CASE WHEN {action} IN ({opt_in}) THEN 'opt_in' WHEN {action} IN ({opt_out}) THEN 'opt_out' END AS action,
            {action} AS raw_action, {at} AS at
         FROM raw_consents",
        recipient = TokenUdf::RECIPIENT,
        r = ident(&consents.recipient),
        channel = channel_expr(&consents.channel),
        opt_in = values(&consents.actions.opt_in),
        opt_out = values(&consents.actions.opt_out),
        at = timestamp_expr(&consents.at, schema),
    )
}
