//! Writing SQL safely: quoted identifiers and literals, and the expressions the canonical
//! views use for time and quasi-identifier columns.

use datafusion::arrow::datatypes::SchemaRef;

use super::validate::is_text;

/// A quoted SQL identifier, so column names keep their case and may hold any character.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The expression turning a mapped time column into a timestamp.
pub fn timestamp_expr(column: &str, schema: &SchemaRef) -> String {
    let quoted = ident(column);
    match schema
        .field_with_name(column)
        .map(|f| f.data_type().clone())
    {
        Ok(data_type) if is_text(&data_type) => format!("to_timestamp({quoted})"),
        _ => format!("CAST({quoted} AS TIMESTAMP)"),
    }
}

/// The column under which `fm_customers` exposes a quasi-identifier.
pub fn quasi_column(column: &str) -> String {
    format!("qi_{column}")
}
