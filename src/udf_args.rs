//! The arguments of fairmark's scalar functions read as the Arrow arrays they compute on,
//! whatever type the datasets gave them. Shared by every UDF; imports nothing from the crate,
//! so a UDF module never depends on the engine that registers it.

use datafusion::arrow::array::{AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ColumnarValue;

/// A UDF argument read as text, whatever its type: Parquet strings arrive as `Utf8View`, CSV
/// identifiers sometimes as integers.
pub fn text_argument(value: &ColumnarValue, rows: usize) -> Result<StringArray> {
    let text = cast(&value.to_array(rows)?, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().clone())
}
