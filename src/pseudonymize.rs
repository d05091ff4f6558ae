//! Pseudonymized copies of a dataset: identifiers replaced by keyed tokens, quasi-identifiers
//! generalized until k-anonymous, unmapped columns (free text among them) dropped, so the copy
//! holds nothing the config did not declare.

use datafusion::prelude::DataFrame;

use crate::config::Config;
use crate::engine::{Engine, ident, quasi_column, timestamp_expr};
use crate::error::{Error, Result};
use crate::pseudonym::{IdentifierClass, TokenUdf};
use crate::segment::anonymity::{self, AnonymityReport, QuasiColumn, Requirement};

/// The copy of `role`'s dataset, sorted by its first token column, and what anonymization
/// achieved (for customers with quasi-identifiers).
pub async fn copy(
    engine: &Engine,
    config: &Config,
    role: &str,
    requirement: &Requirement,
) -> Result<(DataFrame, Option<AnonymityReport>)> {
    let token = |class: IdentifierClass, column: &str| {
        format!("{}({})", TokenUdf::function_name(class), ident(column))
    };
    match role {
        "customers" => {
            let customers = config
                .datasets
                .customers
                .as_ref()
                .ok_or_else(|| not_configured(role))?;
            let mut columns = vec![format!(
                "{} AS customer_token",
                token(IdentifierClass::CustomerId, &customers.id)
            )];
            columns.extend(
                customers.identifiers.iter().map(|(column, class)| {
                    format!("{} AS {}", token(*class, column), ident(column))
                }),
            );
            if let Some(signup) = &customers.signup_at {
                let dataset = engine.dataset(role).ok_or_else(|| not_configured(role))?;
                // The signup day can single a person out; the month is enough for tenure.
                columns.push(format!(
                    "date_trunc('month', {}) AS {}",
                    timestamp_expr(signup, &dataset.schema),
                    ident(signup)
                ));
            }
            let attributes: Vec<&String> = customers
                .attributes
                .iter()
                .filter(|a| !customers.quasi_identifiers.contains_key(*a))
                .collect();
            columns.extend(attributes.iter().map(|a| ident(a)));
            let kept: Vec<String> = ["customer_token".to_string()]
                .into_iter()
                .chain(customers.identifiers.keys().cloned())
                .chain(customers.signup_at.iter().cloned())
                .chain(attributes.iter().map(|a| a.to_string()))
                .collect();
            columns.extend(customers.quasi_identifiers.keys().map(|c| {
                format!(
                    "CAST({} AS VARCHAR) AS {}",
                    ident(c),
                    ident(&quasi_column(c))
                )
            }));
            let source = format!("SELECT {} FROM raw_customers", columns.join(", "));
            engine.ctx.register_table(
                "fm_pseudonymize_base",
                engine.sql(&source, role).await?.into_view(),
            )?;
            let quasi: Vec<QuasiColumn> = customers
                .quasi_identifiers
                .iter()
                .map(|(column, kind)| QuasiColumn {
                    name: column.clone(),
                    source: quasi_column(column),
                    kind: *kind,
                })
                .collect();
            let keep: Vec<String> = kept.iter().map(|c| format!("b.{}", ident(c))).collect();
            let (sql, report) = if quasi.is_empty() {
                (
                    format!(
                        "SELECT {} FROM fm_pseudonymize_base",
                        kept.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
                    ),
                    None,
                )
            } else {
                let anonymization =
                    anonymity::enforce(engine, "fm_pseudonymize_base", role, &quasi, requirement)
                        .await?;
                (
                    anonymization.select_sql(engine, "fm_pseudonymize_base", &keep)?,
                    Some(anonymization.report),
                )
            };
            let frame = engine.sql(&sql, role).await?;
            Ok((in_total_order(frame, &["customer_token"])?, report))
        }
        "orders" => {
            let orders = config
                .datasets
                .orders
                .as_ref()
                .ok_or_else(|| not_configured(role))?;
            let mut columns = vec![format!(
                "{} AS customer_token",
                token(IdentifierClass::CustomerId, &orders.customer)
            )];
            columns.extend(
                orders
                    .id
                    .iter()
                    .map(|id| format!("{} AS order_token", token(IdentifierClass::Other, id))),
            );
            let plain = [
                &orders.sku,
                &Some(orders.ordered_at.clone()),
                &orders.quantity,
                &orders.list_price,
                &orders.offered_price,
                &orders.paid_price,
                &orders.amount,
            ];
            let mut seen: Vec<&String> = Vec::new();
            for column in plain.into_iter().flatten().chain(orders.conditions.iter()) {
                if !seen.contains(&column) {
                    seen.push(column);
                    columns.push(ident(column));
                }
            }
            let sql = format!("SELECT {} FROM raw_orders", columns.join(", "));
            let mut leading = vec!["customer_token"];
            if orders.id.is_some() {
                leading.push("order_token");
            }
            leading.push(&orders.ordered_at);
            Ok((
                in_total_order(engine.sql(&sql, role).await?, &leading)?,
                None,
            ))
        }
        other => Err(Error::Usage(format!(
            "--dataset {other}: expected customers or orders"
        ))),
    }
}

/// Sorted by `leading`, then by every other column: rows that tie on the tokens (the lines of
/// one order) still come out in one order, whatever the partitioning or spilling, so the copy's
/// bytes depend only on its rows. Sorting by a token also hides the input's order.
fn in_total_order(frame: DataFrame, leading: &[&str]) -> Result<DataFrame> {
    let names: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rest = names.iter().filter(|n| !leading.contains(&n.as_str()));
    let keys = leading
        .iter()
        .copied()
        .chain(rest.map(String::as_str))
        .map(|name| datafusion::prelude::ident(name).sort(true, false))
        .collect();
    Ok(frame.sort(keys)?)
}

fn not_configured(role: &str) -> Error {
    Error::Usage(format!(
        "--dataset {role}: the config declares no [datasets.{role}]"
    ))
}
