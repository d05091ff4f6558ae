//! What one data file may hold, checked from its first line (CSV) or its footer (Parquet)
//! before DataFusion infers a schema or plans a scan: planning and schema inference cost grows
//! faster than the column count (a CSV of 10 rows and 10,000 columns took 13 s and 3.1 GB), and
//! a Parquet file a few hundred kilobytes long can decode to gigabytes. Each refusal names the
//! file and what to change; none quotes the data.

use datafusion::parquet::basic::Type as PhysicalType;
use datafusion::parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};

use super::storage::{self, DataFile};
use crate::config::Format;
use datafusion::execution::object_store::ObjectStoreRegistry;

/// The most columns a table may have. Customer, order and mail exports run to a few hundred;
/// past this the engine's planning is what costs, not the data.
pub const MAX_COLUMNS: usize = 1024;

/// The most bytes a CSV header line may take: 1,024 names of a kilobyte each. The header is read
/// with this bound, so a file without line ends is refused after reading this much of it.
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Checks `file` against the bounds above and, for Parquet, `memory_limit` (bytes, `None` when
/// unlimited); `batch_rows` is the engine's batch size. NDJSON has no header: its columns are
/// counted once its schema is inferred.
pub async fn check_file(
    stores: &dyn ObjectStoreRegistry,
    file: &DataFile,
    format: Format,
    memory_limit: Option<u64>,
    batch_rows: usize,
) -> Result<(), String> {
    match format {
        Format::Csv => {
            let (head, whole) = storage::read_prefix(stores, file, MAX_HEADER_BYTES + 1).await?;
            let columns = csv_header_columns(&head, super::read::csv_delimiter(file), whole)
                .ok_or_else(|| {
                    format!(
                        "{}: the first line does not end within {} MiB, more than any header of at most {MAX_COLUMNS} columns needs (a file without line breaks, or not a CSV file?)",
                        file.name(),
                        MAX_HEADER_BYTES >> 20
                    )
                })?;
            check_columns(file.name(), columns)
        }
        Format::Parquet => {
            let metadata = storage::read_parquet_footer(stores, file).await?;
            check_columns(
                file.name(),
                metadata.file_metadata().schema_descr().num_columns(),
            )?;
            match memory_limit {
                Some(limit) => check_row_groups(file.name(), &metadata, limit, batch_rows),
                None => Ok(()),
            }
        }
        Format::Ndjson => Ok(()),
    }
}

pub(super) fn check_columns(name: &str, columns: usize) -> Result<(), String> {
    if columns <= MAX_COLUMNS {
        return Ok(());
    }
    Err(format!(
        "{name} has {columns} columns; fairmark reads at most {MAX_COLUMNS} columns per table: write the columns the config maps, and those to scan for personal data, to a narrower file"
    ))
}

/// The number of fields in the header line at the start of `head`, or `None` when no line end
/// is found in it and more of the file follows (`whole` false). A line ends at `\n` or `\r`,
/// as the CSV reader's lines do. A delimiter or a line end
/// between double quotes is part of a name (RFC 4180; a doubled quote inside quotes toggles
/// twice, which leaves it quoted).
fn csv_header_columns(head: &[u8], delimiter: u8, whole: bool) -> Option<usize> {
    let mut fields = 1;
    let mut quoted = false;
    for &byte in head {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => return Some(fields),
            byte if byte == delimiter && !quoted => fields += 1,
            _ => {}
        }
    }
    whole.then_some(fields)
}

/// Refuses a file with a row group that cannot be read within `memory_limit`.
///
/// The reader fetches the projected column chunks of a row group whole, compressed, then
/// decodes them one batch of `batch_rows` rows at a time, so reading a row group holds its
/// compressed chunks and one decoded batch. A data engineer expects a file of ordinary row
/// groups (Spark writes 128 MiB) to stream under any sensible limit, however large it decodes
/// to in all, so the whole row group's decoded size is not held against the limit; what is, is
/// what the reader holds at once. That is where a crafted file does its damage: a column of one
/// long repeated value compresses a thousandfold, and a batch of it is gigabytes long as soon
/// as anything copies it (a cast, a sort, a group key; text read as views into the dictionary
/// is small only until then). Reading
/// in smaller batches would only move the bound (a single row can be that long), so such a file
/// is refused, naming the row group and what memory it needs. Every column is counted: the
/// privacy scan reads all text columns.
///
/// A byte-array column's decoded length is what the writer recorded in the footer (Parquet's
/// size statistics; arrow-rs, parquet-java and recent pyarrow write them); without it the
/// uncompressed page size stands in, which under-counts dictionary-encoded text.
fn check_row_groups(
    name: &str,
    metadata: &ParquetMetaData,
    memory_limit: u64,
    batch_rows: usize,
) -> Result<(), String> {
    for (index, group) in metadata.row_groups().iter().enumerate() {
        let rows = u64::try_from(group.num_rows()).unwrap_or(0);
        if rows == 0 {
            continue;
        }
        let compressed: u64 = group
            .columns()
            .iter()
            .map(|c| non_negative(c.compressed_size()))
            .sum();
        let decoded: u64 = group.columns().iter().map(decoded_bytes).sum();
        let batch = rows.min(batch_rows as u64);
        // The decoded batch, at the row group's mean row width, rounded up.
        let batch_bytes = u64::try_from(u128::from(decoded) * u128::from(batch) / u128::from(rows))
            .unwrap_or(u64::MAX);
        let needs = compressed.saturating_add(batch_bytes);
        if needs > memory_limit {
            return Err(format!(
                "row group {} of {name} needs about {} MiB to read ({} MiB compressed, and {batch} rows decoded at once: {} MiB) where [engine] memory_limit is {} MiB; raise memory_limit above {} MiB, or rewrite the file with smaller row groups",
                index + 1,
                mib(needs),
                mib(compressed),
                mib(batch_bytes),
                mib(memory_limit),
                mib(needs)
            ));
        }
    }
    Ok(())
}

/// What a column chunk decodes to in Arrow: fixed-width values at their width, text and binary
/// as their bytes plus a 16-byte view per value (DataFusion reads them as views).
fn decoded_bytes(column: &ColumnChunkMetaData) -> u64 {
    let values = non_negative(column.num_values());
    let width = match column.column_type() {
        PhysicalType::BOOLEAN => 1,
        PhysicalType::INT32 | PhysicalType::FLOAT => 4,
        PhysicalType::INT64 | PhysicalType::DOUBLE => 8,
        PhysicalType::INT96 => 12,
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            u64::try_from(column.column_descr().type_length()).unwrap_or(0)
        }
        PhysicalType::BYTE_ARRAY => {
            let text = column
                .unencoded_byte_array_data_bytes()
                .unwrap_or_else(|| column.uncompressed_size());
            return non_negative(text).saturating_add(values.saturating_mul(16));
        }
    };
    values.saturating_mul(width)
}

fn non_negative(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// Bytes in MiB, rounded up: a message's "needs 1 MiB" is never less than the need.
fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::metadata::ParquetMetaDataReader;
    use datafusion::parquet::file::properties::WriterProperties;

    use super::*;

    #[test]
    fn a_header_is_counted_to_its_line_end_outside_quotes() {
        assert_eq!(
            csv_header_columns(b"uid,phone,at\n1,2,3\n", b',', false),
            Some(3)
        );
        assert_eq!(csv_header_columns(b"uid\tphone\r\n", b'\t', false), Some(2));
        assert_eq!(csv_header_columns(b"uid,phone\r1,2", b',', false), Some(2));
        assert_eq!(
            csv_header_columns(b"\"a,b\",\"line\nend\",\"say \"\"hi\"\"\"\nx", b',', false),
            Some(3)
        );
        assert_eq!(csv_header_columns(b"uid,phone", b',', true), Some(2));
        assert_eq!(csv_header_columns(b"uid,phone,", b',', false), None);
        assert_eq!(csv_header_columns(b"", b',', true), Some(1));
    }

    #[test]
    fn a_table_wider_than_the_cap_is_refused_by_count() {
        assert_eq!(check_columns("wide.csv", MAX_COLUMNS), Ok(()));
        let message = check_columns("wide.csv", 10_000).unwrap_err();
        assert!(
            message.starts_with("wide.csv has 10000 columns; fairmark reads at most 1024"),
            "{message}"
        );
    }

    /// The footer of a file of `rows` rows: an id, and a text column holding one value of
    /// `width` bytes throughout, written as one row group.
    fn footer(rows: usize, width: usize) -> ParquetMetaData {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("note", DataType::Utf8, false),
        ]));
        let note = "x".repeat(width);
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows as i64)),
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|_| note.as_str()),
                )),
            ],
        )
        .unwrap();
        let mut bytes = Vec::new();
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(rows))
            .build();
        let mut writer = ArrowWriter::try_new(&mut bytes, schema, Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let length =
            u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
        let end = bytes.len() - 8;
        ParquetMetaDataReader::decode_metadata(&bytes[end - length as usize..end]).unwrap()
    }

    #[test]
    fn a_row_group_is_held_to_what_one_batch_of_it_decodes_to() {
        // 20,000 rows of 4 KiB: 78 MiB decoded, a few KiB compressed.
        let wide = footer(20_000, 4096);
        let message = check_row_groups("notes.parquet", &wide, 16 << 20, 8192).unwrap_err();
        assert!(
            message.starts_with("row group 1 of notes.parquet needs about 33 MiB to read")
                && message.contains("8192 rows decoded at once: 33 MiB")
                && message.ends_with(
                    "raise memory_limit above 33 MiB, or rewrite the file with smaller row groups"
                ),
            "{message}"
        );
        assert_eq!(
            check_row_groups("notes.parquet", &wide, 64 << 20, 8192),
            Ok(())
        );
        // Narrow rows stream whatever the file's decoded size.
        let narrow = footer(200_000, 8);
        assert_eq!(
            check_row_groups("ids.parquet", &narrow, 16 << 20, 8192),
            Ok(())
        );
    }
}
