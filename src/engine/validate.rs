//! Checking a dataset against its column mapping: every mapped column present and of a type
//! that can hold what the mapping says, with messages that name columns, never a cell.

use datafusion::arrow::datatypes::{DataType, SchemaRef};

use crate::config::{ColumnKind, Format, MappedColumn};

pub(super) fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_scalar(data_type: &DataType) -> bool {
    !data_type.is_nested()
        && !matches!(
            data_type,
            DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_)
                | DataType::Null
        )
}

/// Checks that every mapped column is in the data. When one is not and the first row of a CSV
/// reads as values, the file has no header row: its "column names" are a customer's cells, so
/// the message says so and names none of them.
pub(super) fn check_present(
    schema: &SchemaRef,
    mapped: &[MappedColumn],
    format: Format,
) -> std::result::Result<(), String> {
    let Some(missing) = mapped
        .iter()
        .find(|c| schema.field_with_name(&c.column).is_err())
    else {
        return Ok(());
    };
    // A file without even a header row has no columns; it is refused as having no rows.
    if schema.fields().is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if format == Format::Csv && header_looks_like_data(&names) {
        return Err(format!(
            "the first row looks like data, not column names (a CSV without a header row?), so column `{}` (mapped as `{}`) is not found; add a header row",
            missing.column, missing.key
        ));
    }
    Err(missing_column(schema, missing))
}

/// The message for a mapped column that is not in the data. It lists the columns that are, to
/// show a typo, but only names that read as names: a header cell that could be a value is
/// counted instead.
pub(super) fn missing_column(schema: &SchemaRef, column: &MappedColumn) -> String {
    let (shown, hidden): (Vec<&str>, Vec<&str>) = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .partition(|name| crate::error::printable_name(name));
    let available = match (shown.is_empty(), hidden.len()) {
        (_, 0) => shown.join(", "),
        (true, n) => format!("{n} whose names are not shown (they could be data)"),
        (false, n) => format!("{}, and {n} more not shown", shown.join(", ")),
    };
    format!(
        "column `{}` (mapped as `{}`) is not in the data; columns are: {available}",
        column.column, column.key
    )
}

/// Whether a CSV's header row reads as a record: two or more cells that look like values, or
/// one in a file of at most two columns. Header rows people write hold no such cell, so the
/// test only runs to explain a column that is missing anyway.
pub(super) fn header_looks_like_data(names: &[&str]) -> bool {
    let values = names.iter().filter(|name| looks_like_value(name)).count();
    values >= 2 || (values == 1 && names.len() <= 2)
}

/// Whether a header cell reads as a value rather than a name: an identifier the PII
/// recognizers know, a number, a date or time, true/false, or a code with a long run of
/// digits (`U1000002`).
fn looks_like_value(cell: &str) -> bool {
    use datafusion::arrow::compute::kernels::cast_utils::string_to_timestamp_nanos;
    let cell = cell.trim();
    let digits = cell.chars().filter(char::is_ascii_digit).count();
    let longest_digit_run = cell
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    crate::pii::kind_mask(cell) != 0
        || cell.contains('@')
        || (digits > 0 && cell.parse::<f64>().is_ok())
        || cell.eq_ignore_ascii_case("true")
        || cell.eq_ignore_ascii_case("false")
        || string_to_timestamp_nanos(cell).is_ok()
        || longest_digit_run >= 5
        || (digits >= 4 && digits * 2 >= cell.chars().count())
}

/// Checks that `column` exists and can hold what its mapping says.
pub(super) fn check_column(
    schema: &SchemaRef,
    column: &MappedColumn,
) -> std::result::Result<(), String> {
    let Ok(field) = schema.field_with_name(&column.column) else {
        return Err(missing_column(schema, column));
    };
    let data_type = field.data_type();
    let fits = match column.kind {
        ColumnKind::Key | ColumnKind::Text => is_scalar(data_type),
        ColumnKind::Number => data_type.is_numeric(),
        ColumnKind::Timestamp => {
            is_text(data_type)
                || matches!(
                    data_type,
                    DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
                )
        }
    };
    if fits {
        return Ok(());
    }
    let found = if is_text(data_type) {
        "text".to_string()
    } else {
        data_type.to_string()
    };
    Err(format!(
        "column `{}` (mapped as `{}`) holds {found}; expected {}",
        column.column,
        column.key,
        column.kind.expected()
    ))
}
