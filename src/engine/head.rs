//! The first rows of one data file, read through the readers datasets are read with, for
//! `fairmark init` to look at before any config names the file.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};

use super::file_order::{locate_csv_error, locate_inference_error};
use super::read::{file_order_session, read};
use super::storage::DataFile;
use super::validate::header_looks_like_data;
use super::{limits, runtime};
use crate::config::Format;
use crate::error::{Error, Result};

/// The first `rows` rows of one data file, read on its own through the readers datasets are
/// read with (the same CSV delimiter and type inference, the same Parquet envelope check), for
/// `fairmark init` to look at before any config names the file. Errors name the file and, for
/// a CSV, the row and column, never a value.
pub async fn read_head(
    path: &Path,
    format: Format,
    rows: usize,
) -> Result<(SchemaRef, Vec<datafusion::arrow::record_batch::RecordBatch>)> {
    let fail = |message: String| Error::DataFile {
        path: path.to_path_buf(),
        message,
    };
    let reader_error = |e: datafusion::error::DataFusionError, schema: Option<&SchemaRef>| {
        let message = e.to_string();
        fail(
            locate_csv_error(&message, schema, &[])
                .unwrap_or_else(|| crate::error::redact(&message)),
        )
    };
    let file = DataFile::local(path, Path::new("")).map_err(fail)?;
    let stores: Arc<dyn ObjectStoreRegistry> = Arc::new(DefaultObjectStoreRegistry::new());
    let ctx = file_order_session(stores.clone()).map_err(|e| reader_error(e, None))?;
    // No config exists yet: the file is held to the limit an audit has by default.
    limits::check_file(
        stores.as_ref(),
        &file,
        format,
        runtime::default_memory_limit(),
        ctx.copied_config().batch_size(),
    )
    .await
    .map_err(fail)?;
    let files = [file];
    let frame = match read(&ctx, &files, format, None).await {
        Ok(frame) => frame,
        Err(e) => {
            let located = match format {
                Format::Csv => locate_inference_error(stores.as_ref(), &files, &[]).await,
                _ => None,
            };
            return Err(located.map_or_else(|| reader_error(e, None), fail));
        }
    };
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    // Without a header row, the "column names" init would write are a customer's cells.
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if format == Format::Csv && header_looks_like_data(&names) {
        return Err(fail(
            "the first row looks like data, not column names (a CSV without a header row?); add a header row".into(),
        ));
    }
    let batches = frame
        .limit(0, Some(rows))
        .map_err(|e| reader_error(e, Some(&schema)))?
        .collect()
        .await
        .map_err(|e| reader_error(e, Some(&schema)))?;
    Ok((schema, batches))
}
