//! Writing outputs so that a run replaces the whole set of its outputs or nothing: every file
//! is written into a staging directory beside its destination, and only when all of them are
//! complete are they moved into place. The files they replace, and those of the previous run
//! that this run does not write (a suppression list when this run had no mail data), are
//! moved aside first and removed only once every new file is in place; if any move fails, every
//! move is undone and the directory is as it was. Files fairmark did not write are never
//! touched: a run knows the previous run's files from the manifest it left, or from its
//! report's `outputs`.

use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
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

/// The file in an output directory naming, one a line, the files the last run wrote there.
pub const MANIFEST: &str = ".fairmark-outputs";

/// A set of output files that appear together or not at all.
pub struct Staging {
    destination: PathBuf,
    staging: PathBuf,
    created_destination: bool,
    files: Vec<String>,
    /// Whether the files are a run's whole output: the previous run's files go on commit, and
    /// a manifest of the new ones is left for the next run.
    whole_run: bool,
    committed: bool,
}

/// How a file is moved; a test fails it at a chosen step.
type Rename<'a> = dyn FnMut(&Path, &Path) -> std::io::Result<()> + 'a;

impl Staging {
    /// Stages a run's whole output for directory `out` (created if missing): on commit it
    /// replaces every file of the previous run there.
    pub fn run(out: &Path) -> Result<Staging> {
        Staging::new(out, true)
    }

    /// Stages files for `destination` (a directory, created if missing) that replace only
    /// the files of the same names, as one table written into a directory of other things.
    pub fn files(destination: &Path) -> Result<Staging> {
        Staging::new(destination, false)
    }

    fn new(destination: &Path, whole_run: bool) -> Result<Staging> {
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
            whole_run,
            committed: false,
        })
    }

    /// Where to write `name` for now; it reaches the destination on [`Staging::commit`].
    pub fn path(&mut self, name: &str) -> PathBuf {
        if !self.files.iter().any(|staged| staged == name) {
            self.files.push(name.to_string());
        }
        self.staging.join(name)
    }

    pub fn write(&mut self, name: &str, contents: &[u8]) -> Result<()> {
        let path = self.path(name);
        let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(contents)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))
    }

    /// Puts every staged file in place, replacing the previous outputs; returns their paths.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        self.commit_with(&mut |from, to| std::fs::rename(from, to))
    }

    fn commit_with(mut self, rename: &mut Rename<'_>) -> Result<Vec<PathBuf>> {
        let placed: Vec<PathBuf> = self
            .files
            .iter()
            .map(|name| self.destination.join(name))
            .collect();
        if self.whole_run {
            let mut listed = self.files.join("\n");
            listed.push('\n');
            self.write(MANIFEST, listed.as_bytes())?;
        }
        let mut replaced = match self.whole_run {
            true => previous_outputs(&self.destination),
            false => Vec::new(),
        };
        replaced.extend(self.files.iter().cloned());
        replaced.sort();
        replaced.dedup();
        replaced.retain(|name| self.destination.join(name).symlink_metadata().is_ok());
        let backup = self
            .destination
            .join(format!(".fairmark-backup-{}", std::process::id()));
        if backup.exists() {
            std::fs::remove_dir_all(&backup).map_err(|e| Error::io(&backup, e))?;
        }
        std::fs::create_dir(&backup).map_err(|e| Error::io(&backup, e))?;
        let moves_out = replaced
            .iter()
            .map(|name| (self.destination.join(name), backup.join(name)));
        let moves_in = self
            .files
            .iter()
            .map(|name| (self.staging.join(name), self.destination.join(name)));
        let moves: Vec<(PathBuf, PathBuf)> = moves_out.chain(moves_in).collect();
        for (done, (from, to)) in moves.iter().enumerate() {
            if let Err(e) = rename(from, to) {
                // Undone newest first, so that a new file leaves a name before the old one
                // comes back to it; every move is tried even when one cannot be undone.
                let stuck = moves[..done]
                    .iter()
                    .rev()
                    .filter(|(from, to)| rename(to, from).is_err())
                    .count();
                let _ = std::fs::remove_dir(&backup);
                let e = match stuck {
                    0 => e,
                    _ => std::io::Error::other(format!(
                        "{e}; the previous outputs could not all be put back, those left are in {}",
                        backup.display()
                    )),
                };
                return Err(Error::io(to, e));
            }
        }
        self.committed = true;
        std::fs::remove_dir_all(&backup).map_err(|e| Error::io(&backup, e))?;
        std::fs::remove_dir_all(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        Ok(placed)
    }
}

/// The files fairmark's previous run wrote in `directory`: those its manifest lists (and the
/// manifest), or, from a run before manifests, those its report.json lists as `outputs`. Only
/// plain file names are taken, so an edited list cannot reach outside the directory.
fn previous_outputs(directory: &Path) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Report {
        outputs: Vec<String>,
    }
    let names = match std::fs::read_to_string(directory.join(MANIFEST)) {
        Ok(listed) => listed
            .lines()
            .map(str::to_string)
            .chain(std::iter::once(MANIFEST.to_string()))
            .collect(),
        Err(_) => std::fs::read(directory.join("report.json"))
            .ok()
            .and_then(|json| serde_json::from_slice::<Report>(&json).ok())
            .map(|report| report.outputs)
            .unwrap_or_default(),
    };
    names
        .into_iter()
        .filter(|name| {
            let mut components = Path::new(name).components();
            matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none()
        })
        .collect()
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
    use std::collections::BTreeMap;

    use super::*;

    /// Every entry of `dir` (hidden ones too) with its contents; a directory as `<dir>`.
    fn listing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let path = entry.path();
                let contents = match path.is_dir() {
                    true => b"<dir>".to_vec(),
                    false => std::fs::read(&path).unwrap(),
                };
                (entry.file_name().to_string_lossy().into_owned(), contents)
            })
            .collect()
    }

    fn run(out: &Path, files: &[(&str, &str)]) -> Staging {
        let mut staging = Staging::run(out).unwrap();
        for (name, contents) in files {
            staging.write(name, contents.as_bytes()).unwrap();
        }
        staging
    }

    #[test]
    fn an_abandoned_staging_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        {
            let mut staging = Staging::run(&out).unwrap();
            staging.write("report.json", b"{}").unwrap();
        }
        assert!(!out.exists());
    }

    #[test]
    fn a_run_replaces_the_previous_runs_files_and_only_those() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path();
        std::fs::write(out.join("notes.txt"), "the user's").unwrap();
        let first = [("report.json", "1"), ("suppression.parquet", "1")];
        let placed = run(out, &first).commit().unwrap();
        assert_eq!(
            placed,
            [out.join("report.json"), out.join("suppression.parquet")]
        );
        run(out, &[("report.json", "2")]).commit().unwrap();
        let names: Vec<String> = listing(out).into_keys().collect();
        assert_eq!(names, [MANIFEST, "notes.txt", "report.json"]);
        assert_eq!(
            std::fs::read_to_string(out.join(MANIFEST)).unwrap(),
            "report.json\n"
        );
    }

    #[test]
    fn a_run_before_manifests_is_known_by_its_reports_outputs() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let report = r#"{"outputs": ["report.json", "suppression.parquet", "../elsewhere"]}"#;
        std::fs::write(out.join("report.json"), report).unwrap();
        std::fs::write(out.join("suppression.parquet"), "old").unwrap();
        std::fs::write(out.join("notes.txt"), "the user's").unwrap();
        std::fs::write(root.path().join("elsewhere"), "outside").unwrap();
        run(&out, &[("report.json", "{}")]).commit().unwrap();
        let names: Vec<String> = listing(&out).into_keys().collect();
        assert_eq!(names, [MANIFEST, "notes.txt", "report.json"]);
        assert!(
            root.path().join("elsewhere").exists(),
            "only names in the directory"
        );
    }

    #[test]
    fn staged_files_replace_only_their_namesakes() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path();
        std::fs::write(out.join("customers.parquet"), "earlier table").unwrap();
        std::fs::write(out.join("orders.parquet"), "old").unwrap();
        let mut staging = Staging::files(out).unwrap();
        staging.write("orders.parquet", b"new").unwrap();
        staging.commit().unwrap();
        let expected = BTreeMap::from([
            ("customers.parquet".to_string(), b"earlier table".to_vec()),
            ("orders.parquet".to_string(), b"new".to_vec()),
        ]);
        assert_eq!(listing(out), expected);
    }

    /// A commit moves the previous files aside (four here: report.json, segments.parquet,
    /// suppression.parquet and the manifest), then the new ones in (three); failing any one of
    /// those moves leaves the directory exactly as it was.
    #[test]
    fn a_move_that_fails_at_any_step_leaves_the_directory_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path();
        std::fs::write(out.join("notes.txt"), "the user's").unwrap();
        let previous = [
            ("report.json", "old report"),
            ("segments.parquet", "old segments"),
            ("suppression.parquet", "old suppression"),
        ];
        run(out, &previous).commit().unwrap();
        let before = listing(out);
        let next = [("report.json", "new report"), ("segments.parquet", "new")];
        for failing in 1..=7 {
            let mut renames = 0;
            let mut rename = |from: &Path, to: &Path| {
                renames += 1;
                match renames == failing {
                    true => Err(std::io::Error::other("injected")),
                    false => std::fs::rename(from, to),
                }
            };
            let failed = run(out, &next).commit_with(&mut rename);
            assert!(failed.is_err(), "move {failing}");
            assert_eq!(listing(out), before, "after a failure at move {failing}");
        }
        run(out, &next).commit().unwrap();
        let after = listing(out);
        assert_eq!(after["report.json"], b"new report");
        assert!(!after.contains_key("suppression.parquet"));
        assert_eq!(after["notes.txt"], b"the user's");
        assert_eq!(after.len(), 4, "{:?}", after.keys());
    }

    #[test]
    fn a_failed_first_run_leaves_no_directory() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let failed = run(&out, &[("report.json", "{}")])
            .commit_with(&mut |_, _| Err(std::io::Error::other("injected")));
        assert!(failed.is_err());
        assert!(!out.exists());
    }
}
