//! Writing outputs without ever leaving half of them behind: every file is written into a
//! staging directory beside its destination and renamed into place only when all of them are
//! complete. On any error the staging directory (and an output directory this run created) is
//! removed.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::compute::{BatchCoalescer, cast};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::DataFrame;
use futures::StreamExt;

use crate::error::{Error, Result};

/// A set of output files that appear together or not at all.
pub struct Staging {
    destination: PathBuf,
    staging: PathBuf,
    created_destination: bool,
    files: Vec<String>,
    committed: bool,
}

impl Staging {
    /// Stages files for `destination` (a directory, created if missing).
    pub fn new(destination: &Path) -> Result<Staging> {
        let created_destination = !destination.exists();
        std::fs::create_dir_all(destination).map_err(|e| Error::io(destination, e))?;
        let staging = destination.join(format!(".fairmark-staging-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(Staging {
            destination: destination.to_path_buf(),
            staging,
            created_destination,
            files: Vec::new(),
            committed: false,
        })
    }

    /// Where to write `name` for now; it reaches the destination on [`Staging::commit`].
    pub fn path(&mut self, name: &str) -> PathBuf {
        self.files.push(name.to_string());
        self.staging.join(name)
    }

    pub fn write(&mut self, name: &str, contents: &[u8]) -> Result<()> {
        let path = self.path(name);
        let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(contents)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))
    }

    /// Moves every staged file into place; returns their final paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut placed = Vec::new();
        for name in &self.files {
            let target = self.destination.join(name);
            std::fs::rename(self.staging.join(name), &target).map_err(|e| Error::io(&target, e))?;
            placed.push(target);
        }
        self.committed = true;
        std::fs::remove_dir_all(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        Ok(placed)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        if self.created_destination {
            // Only removes the directory if nothing else was put there meanwhile.
            let _ = std::fs::remove_dir(&self.destination);
        }
    }
}

/// Parquet readers disagree on Arrow's newer string types; plain UTF-8 opens everywhere
/// (pandas, DuckDB, Spark).
fn portable(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        other => other.clone(),
    }
}

/// Rows per batch handed to the Parquet writer. The writer's page boundaries follow the batches
/// it is given, and a plan's batch sizes vary with memory pressure (a sort that spilled merges
/// in other sizes), so every batch is cut to this size first: the same rows give the same bytes.
const WRITE_BATCH_ROWS: usize = 8192;

/// Rows per Parquet row group. The writer holds a whole row group in memory before it writes
/// it out; at arrow's default (1M rows) that is over 200 MB for ten million order lines, at
/// 128Ki rows (about DuckDB's default) it is a tenth of that, and readers still skip by group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Streams `frame` into a Snappy-compressed Parquet file at `path`, batch by batch.
/// Returns the number of rows written.
pub async fn write_parquet(frame: DataFrame, path: &Path) -> Result<u64> {
    let source_schema = frame.schema().as_arrow().clone();
    let schema: SchemaRef = Arc::new(Schema::new(
        source_schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), portable(f.data_type()), f.is_nullable()))
            .collect::<Vec<_>>(),
    ));
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
    let mut coalescer = BatchCoalescer::new(schema.clone(), WRITE_BATCH_ROWS);
    let mut stream = frame.execute_stream().await?;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| cast(column, field.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows += batch.num_rows() as u64;
        coalescer.push_batch(RecordBatch::try_new(schema.clone(), columns)?)?;
        while let Some(full) = coalescer.next_completed_batch() {
            writer.write(&full)?;
        }
    }
    coalescer.finish_buffered_batch()?;
    while let Some(rest) = coalescer.next_completed_batch() {
        writer.write(&rest)?;
    }
    writer.close()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abandoned_staging_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        {
            let mut staging = Staging::new(&out).unwrap();
            staging.write("report.json", b"{}").unwrap();
        }
        assert!(!out.exists());
    }

    #[test]
    fn a_committed_staging_places_every_file() {
        let root = tempfile::tempdir().unwrap();
        let mut staging = Staging::new(root.path()).unwrap();
        staging.write("a.txt", b"a").unwrap();
        staging.write("b.txt", b"b").unwrap();
        let placed = staging.commit().unwrap();
        assert_eq!(placed.len(), 2);
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no staging directory left: {names:?}");
    }
}
