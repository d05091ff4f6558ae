//! Naming the file, row and column of bad input: the scan in file order that finds a cell the
//! checks would fail on half-way, and the rewriting of CSV reader errors into column and row.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::prelude::SessionConfig;
use regex::Regex;

use super::read::{
    SCHEMA_INFER_MAX_RECORDS, csv_delimiter, file_order_session, read, reading_session,
};
use super::storage::{self, DataFile};
use super::validate::is_text;
use crate::config::{ColumnKind, Format, MappedColumn};

/// Where CSV schema inference failed, in the terms of the data. DataFusion infers from a file
/// in chunks and the reader counts lines per chunk, so the files are read again, each in one
/// piece and only on this error path, to find the file and the row.
pub(super) async fn locate_inference_error(
    stores: &dyn ObjectStoreRegistry,
    files: &[DataFile],
    mapped: &[MappedColumn],
) -> Option<String> {
    use datafusion::arrow::csv::reader::Format as CsvFormat;
    for file in files {
        let format = CsvFormat::default()
            .with_header(true)
            .with_delimiter(csv_delimiter(file));
        let whole = storage::open(stores, file).await.ok()?;
        let inference = format.clone();
        let error = tokio::task::spawn_blocking(move || {
            inference
                .infer_schema(whole, Some(SCHEMA_INFER_MAX_RECORDS))
                .err()
                .map(|e| e.to_string())
        })
        .await
        .ok()?;
        let Some(error) = error else {
            continue;
        };
        // The header alone, to name the column.
        let header = storage::open(stores, file).await.ok()?;
        let names = tokio::task::spawn_blocking(move || format.infer_schema(header, Some(0)))
            .await
            .ok()?
            .ok()
            .map(|(schema, _)| Arc::new(schema));
        let message = locate_csv_error(&error, names.as_ref(), mapped)?;
        return Some(match files.len() {
            1 => message,
            _ => format!("{}: {message}", file.name()),
        });
    }
    None
}

/// The read that counts a dataset's rows, made to find what would otherwise fail a check
/// half-way with no row to point at: a text timestamp that `to_timestamp` cannot parse and, in
/// CSV and NDJSON, a cell that does not fit the type inferred from the first rows. Parquet
/// columns are typed, so only its text timestamps are read.
pub(super) struct FileOrderScan<'a> {
    schema: &'a SchemaRef,
    mapped: &'a [MappedColumn],
    /// Mapped timestamp columns stored as text.
    text_timestamps: Vec<&'a MappedColumn>,
    /// The columns read, in schema order.
    pub(super) projection: Vec<&'a str>,
}

impl<'a> FileOrderScan<'a> {
    /// `None` when there is nothing to check (a Parquet file with typed timestamps).
    pub(super) fn plan(
        schema: &'a SchemaRef,
        format: Format,
        mapped: &'a [MappedColumn],
    ) -> Option<FileOrderScan<'a>> {
        let text_timestamps: Vec<&MappedColumn> = mapped
            .iter()
            .filter(|c| {
                c.kind == ColumnKind::Timestamp
                    && schema
                        .field_with_name(&c.column)
                        .is_ok_and(|f| is_text(f.data_type()))
            })
            .collect();
        let projection: Vec<&str> = schema
            .fields()
            .iter()
            .filter(|f| {
                text_timestamps.iter().any(|c| &c.column == f.name())
                    || (format != Format::Parquet && !is_text(f.data_type()))
            })
            .map(|f| f.name().as_str())
            .collect();
        (!projection.is_empty()).then_some(FileOrderScan {
            schema,
            mapped,
            text_timestamps,
            projection,
        })
    }

    /// Counts the rows of `files`. All are read at once, in parallel partitions, as the count
    /// alone would be; only when something fails are they read again in file order to find
    /// the first bad value, which ends the scan with a message naming the file (when there are
    /// several), the column and the row, counted from 1 after any header.
    pub(super) async fn run(
        &self,
        stores: &Arc<dyn ObjectStoreRegistry>,
        files: &[DataFile],
        format: Format,
    ) -> std::result::Result<u64, String> {
        match self.count_in_parallel(stores, files, format).await {
            Some(rows) => Ok(rows),
            None => self.scan_in_file_order(stores, files, format).await,
        }
    }

    /// The row count, or `None` if a value is bad or the read fails.
    async fn count_in_parallel(
        &self,
        stores: &Arc<dyn ObjectStoreRegistry>,
        files: &[DataFile],
        format: Format,
    ) -> Option<u64> {
        let ctx = reading_session(stores.clone(), SessionConfig::new()).ok()?;
        let frame = read(&ctx, files, format, Some(self.schema.as_ref()))
            .await
            .and_then(|frame| frame.select_columns(&self.projection))
            .ok()?;
        let partitions = frame.execute_stream_partitioned().await.ok()?;
        let columns: Arc<[String]> = self
            .text_timestamps
            .iter()
            .map(|c| c.column.clone())
            .collect();
        // One task per partition, so that partitions decode on every core.
        let tasks = partitions.into_iter().map(|mut batches| {
            let columns = columns.clone();
            tokio::spawn(async move {
                use futures::StreamExt;
                let mut rows = 0;
                while let Some(batch) = batches.next().await {
                    let batch = batch.ok()?;
                    let bad = columns.iter().any(|column| {
                        batch
                            .column_by_name(column)
                            .is_some_and(|values| first_unparsable_timestamp(values).is_some())
                    });
                    if bad {
                        return None;
                    }
                    rows += batch.num_rows() as u64;
                }
                Some(rows)
            })
        });
        let counts = futures::future::join_all(tasks).await;
        counts
            .into_iter()
            .map(|count| count.ok().flatten())
            .sum::<Option<u64>>()
    }

    /// Reads every file in one partition, so that rows arrive in file order, up to the first
    /// bad value.
    async fn scan_in_file_order(
        &self,
        stores: &Arc<dyn ObjectStoreRegistry>,
        files: &[DataFile],
        format: Format,
    ) -> std::result::Result<u64, String> {
        use futures::StreamExt;
        let ctx = file_order_session(stores.clone()).map_err(|e| self.reader_error(&e))?;
        let mut rows = 0;
        for file in files {
            let prefix = match files.len() {
                1 => String::new(),
                _ => format!("{}: ", file.name()),
            };
            let fail = |message: String| format!("{prefix}{message}");
            let reader_error = |e: datafusion::error::DataFusionError| fail(self.reader_error(&e));
            let frame = read(
                &ctx,
                std::slice::from_ref(file),
                format,
                Some(self.schema.as_ref()),
            )
            .await
            .and_then(|frame| frame.select_columns(&self.projection))
            .map_err(reader_error)?;
            let mut batches = frame.execute_stream().await.map_err(reader_error)?;
            let mut rows_in_file = 0;
            while let Some(batch) = batches.next().await {
                let batch = batch.map_err(reader_error)?;
                let first_bad = self
                    .text_timestamps
                    .iter()
                    .filter_map(|column| {
                        let values = batch.column_by_name(&column.column)?;
                        first_unparsable_timestamp(values).map(|(row, why)| (row, why, column))
                    })
                    .min_by_key(|(row, _, _)| *row);
                if let Some((row, why, column)) = first_bad {
                    return Err(fail(format!(
                        "column `{}` (mapped as `{}`), row {}: {why} (expected e.g. 2024-05-01 12:00:00)",
                        column.column,
                        column.key,
                        rows_in_file + row as u64 + 1
                    )));
                }
                rows_in_file += batch.num_rows() as u64;
            }
            rows += rows_in_file;
        }
        Ok(rows)
    }

    /// A reader failure in the terms of the data: the column's name and the row, where the
    /// reader said them. Everything else goes through the redactor.
    fn reader_error(&self, error: &datafusion::error::DataFusionError) -> String {
        if let Some(failure) = crate::error::storage_failure(error) {
            return failure;
        }
        let message = error.to_string();
        locate_csv_error(&message, Some(self.schema), self.mapped)
            .unwrap_or_else(|| crate::error::redact(&message))
    }
}

/// The first value (row index in `values`) that DataFusion's `to_timestamp` would refuse, and
/// why, in words that quote nothing. `to_timestamp` parses with Arrow's
/// `string_to_timestamp_nanos` rules, so the same values pass here and there.
fn first_unparsable_timestamp(
    values: &datafusion::arrow::array::ArrayRef,
) -> Option<(usize, &'static str)> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::compute::kernels::cast_utils::string_to_datetime;
    let text = datafusion::arrow::compute::cast(values, &DataType::Utf8).ok()?;
    text.as_string::<i32>()
        .iter()
        .enumerate()
        .find_map(|(row, value)| {
            let value = value?;
            let why = match string_to_datetime(&chrono::Utc, value) {
                _ if value.is_empty() => "empty, not a timestamp",
                Ok(time) if time.timestamp_nanos_opt().is_some() => return None,
                Ok(_) => "a time outside 1677-09-21 to 2262-04-11, the range a timestamp can hold",
                Err(_) => "not a timestamp",
            };
            Some((row, why))
        })
}

/// Rewrites a CSV reader error into the column and the row. The readers count columns from
/// 0, and quote the cell and the whole record, so only their numbers are kept. A cell that does
/// not parse is at "line" N counting rows after the header; a malformed record, found while
/// decoding or while inferring the schema, at line N counting the header too. Without a
/// `schema` (inference failed) a column is named by its position. `None` for any other message.
pub(super) fn locate_csv_error(
    message: &str,
    schema: Option<&SchemaRef>,
    mapped: &[MappedColumn],
) -> Option<String> {
    static SHAPES: LazyLock<[Regex; 6]> = LazyLock::new(|| {
        [
            r"for column (\d+) at line (\d+)",
            r"Error parsing column (\d+) at line (\d+)",
            r"invalid UTF-8 data for line (\d+) and field (\d+)",
            r"in field (\d+) near byte index \d+ at line (\d+)",
            r"incorrect number of fields for line (\d+), expected (\d+) got (more than )?(\d+)",
            r"Expected (\d+) records, found (\d+) records at line (\d+)",
        ]
        .map(|shape| Regex::new(shape).expect("a valid pattern"))
    });
    let number = |found: &regex::Captures, at: usize| found.get(at)?.as_str().parse::<usize>().ok();
    let label = |index: usize| column_label(schema, index, mapped);
    let (shape, found) = SHAPES
        .iter()
        .enumerate()
        .find_map(|(shape, pattern)| Some((shape, pattern.captures(message)?)))?;
    let row = |at: usize| number(&found, at)?.checked_sub(1);
    match shape {
        0 | 1 => {
            let column = number(&found, 1)?;
            let line = number(&found, 2)?;
            let field = schema?.fields().get(column)?;
            Some(format!(
                "{}, row {line}: not {}, the type read from the column's first {SCHEMA_INFER_MAX_RECORDS} rows",
                label(column),
                expected_value(field.data_type())
            ))
        }
        2 => Some(format!(
            "{}, row {}: not valid UTF-8",
            label(number(&found, 2)?.checked_sub(1)?),
            row(1)?
        )),
        3 => Some(format!(
            "{}, row {}: not valid UTF-8",
            label(number(&found, 1)?),
            row(2)?
        )),
        4 => {
            let more = if found.get(3).is_some() {
                "more than "
            } else {
                ""
            };
            Some(format!(
                "row {} has {more}{} fields where the header has {}",
                row(1)?,
                number(&found, 4)?,
                number(&found, 2)?
            ))
        }
        _ => Some(format!(
            "row {} has {} fields where the header has {}",
            row(3)?,
            number(&found, 2)?,
            number(&found, 1)?
        )),
    }
}

/// How a message names column `index`: by its mapping, else by its name when the name reads as
/// one, else by its position (a header cell may be a value).
fn column_label(schema: Option<&SchemaRef>, index: usize, mapped: &[MappedColumn]) -> String {
    let Some(field) = schema.and_then(|s| s.fields().get(index)) else {
        return format!("column {} (counting from 1)", index + 1);
    };
    let name = field.name();
    match mapped.iter().find(|m| &m.column == name) {
        Some(m) => format!("column `{name}` (mapped as `{}`)", m.key),
        None if crate::error::printable_name(name) => format!("column `{name}`"),
        None => format!(
            "column {} (counting from 1; its name is not shown)",
            index + 1
        ),
    }
}

/// What a typed column holds, as a message says it.
fn expected_value(data_type: &DataType) -> String {
    match data_type {
        t if t.is_integer() => "an integer".into(),
        t if t.is_floating()
            || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            "a number".into()
        }
        DataType::Boolean => "true or false".into(),
        DataType::Date32 | DataType::Date64 => "a date (e.g. 2024-05-01)".into(),
        DataType::Timestamp(..) => "a timestamp (e.g. 2024-05-01 12:00:00)".into(),
        other => format!("a value of type {other}"),
    }
}
