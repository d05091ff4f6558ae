//! Reading data files: the sessions and readers every dataset is read through (CSV delimiter,
//! type inference, file order).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{
    CsvReadOptions, DataFrame, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};

use super::storage::DataFile;
use crate::config::Format;

/// How many records schema inference reads. A later cell that does not fit the type inferred
/// from them is found by [`super::file_order::FileOrderScan`].
pub(super) const SCHEMA_INFER_MAX_RECORDS: usize = 10_000;

/// A session that reads files in one partition, so that rows arrive in file order (to name
/// the row of a bad cell, or to take the same sample whatever the machine).
pub(super) fn file_order_session(
    stores: Arc<dyn ObjectStoreRegistry>,
) -> datafusion::error::Result<SessionContext> {
    let session = SessionConfig::new()
        .with_target_partitions(1)
        .with_repartition_file_scans(false);
    reading_session(stores, session)
}

/// A session of its own that reads from `stores`, outside the engine's memory pool.
pub(super) fn reading_session(
    stores: Arc<dyn ObjectStoreRegistry>,
    session: SessionConfig,
) -> datafusion::error::Result<SessionContext> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(stores)
        .build_arc()?;
    Ok(SessionContext::new_with_config_rt(session, runtime))
}

/// `batch` with its string and binary views copied into buffers of their own. A view array
/// filtered down to a few rows still holds every data buffer of the batch it came from, so a
/// sample of a 10M-row Parquet file would keep most of the file's text in memory.
pub(super) fn owned_views(
    batch: &datafusion::arrow::record_batch::RecordBatch,
) -> datafusion::error::Result<datafusion::arrow::record_batch::RecordBatch> {
    use datafusion::arrow::array::{ArrayRef, AsArray};
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::Utf8View => Arc::new(column.as_string_view().gc()) as ArrayRef,
            DataType::BinaryView => Arc::new(column.as_binary_view().gc()),
            _ => column.clone(),
        })
        .collect();
    Ok(datafusion::arrow::record_batch::RecordBatch::try_new(
        batch.schema(),
        columns,
    )?)
}

/// SplitMix64's finalizer: spreads consecutive row positions over the whole `u64` range, so
/// that "every k-th" by hash is a fixed, even, non-periodic choice of rows.
pub(super) fn mix(position: u64) -> u64 {
    crate::stats::SplitMix::new(position).next_u64()
}

/// Reads `files` as one table; with `schema`, under that schema instead of an inferred one.
pub(super) async fn read(
    ctx: &SessionContext,
    files: &[DataFile],
    format: Format,
    schema: Option<&Schema>,
) -> datafusion::error::Result<DataFrame> {
    let paths: Vec<String> = files.iter().map(|file| file.url.clone()).collect();
    match format {
        Format::Parquet => {
            let options = ParquetReadOptions {
                file_extension: "",
                schema,
                ..Default::default()
            };
            ctx.read_parquet(paths, options).await
        }
        Format::Csv => {
            let mut options = CsvReadOptions::new()
                .has_header(true)
                .delimiter(csv_delimiter(&files[0]))
                .file_extension("")
                .schema_infer_max_records(SCHEMA_INFER_MAX_RECORDS);
            options.schema = schema;
            ctx.read_csv(paths, options).await
        }
        Format::Ndjson => {
            let options = JsonReadOptions {
                file_extension: "",
                schema_infer_max_records: SCHEMA_INFER_MAX_RECORDS,
                schema,
                ..Default::default()
            };
            ctx.read_json(paths, options).await
        }
    }
}

/// A `.tsv` file is tab-separated; every other CSV comma-separated.
pub(super) fn csv_delimiter(first: &DataFile) -> u8 {
    let tab_separated = Path::new(first.name())
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    if tab_separated { b'\t' } else { b',' }
}
