//! The DataFusion session: datasets registered by role, checked against their column mapping,
//! and exposed as canonical views (`fm_customers`, `fm_orders`) whose column names are
//! fairmark's concepts, whatever the company called them. Every check and the segmentation
//! query these views; all scans, joins, aggregates and windows run as DataFusion plans.

pub mod cluster;
pub mod cluster_door;
mod compact;
mod limits;
pub mod plan_guard;
mod runtime;
pub mod storage;

use std::path::Path;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{
    CsvReadOptions, DataFrame, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};
use regex::Regex;
use serde::Serialize;

pub use runtime::{Runtime, remove_private_dirs};
pub use storage::DataFile;

use crate::config::{ColumnKind, Config, DatasetConfig, Format, MappedColumn};
use crate::config_errors::dataset_path;
use crate::error::{Error, Result};

/// One input file, for the report's provenance.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// As reached from the config file's directory, or `s3://bucket/key`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A dataset as registered: where it came from, how big it is, what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredDataset {
    pub role: &'static str,
    /// `path` as written in the config.
    pub location: String,
    pub format: &'static str,
    pub rows: u64,
    pub files: Vec<InputFile>,
    /// The table holding the dataset as read, under its own column names.
    #[serde(skip)]
    pub raw_table: String,
    #[serde(skip)]
    pub schema: SchemaRef,
    /// The files, in the order they were resolved.
    #[serde(skip)]
    pub sources: Vec<DataFile>,
    #[serde(skip)]
    pub file_format: Format,
}

impl RegisteredDataset {
    /// Columns that can hold identifiers: text, and integers long enough to be phone numbers.
    pub fn scannable_columns(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .filter(|f| {
                is_text(f.data_type())
                    || matches!(f.data_type(), DataType::Int64 | DataType::UInt64)
            })
            .map(|f| f.name().clone())
            .collect()
    }
}

/// The functions an engine is opened with (fairmark's are [`crate::functions::all`]), and how
/// those that compute under a key travel to a cluster.
pub struct Functions {
    pub scalar: Vec<ScalarUDF>,
    pub keys: Arc<dyn crate::pseudonym::KeyBinding>,
}

/// Where the engine's plans run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Placement {
    /// In this process.
    Local,
    /// On the executors of a Ballista cluster, planned by its scheduler.
    Ballista { scheduler: String },
}

pub struct Engine {
    /// Where queries over the datasets run: this process, or a cluster.
    pub ctx: SessionContext,
    /// This process, with the same functions and stores: for the few tables that live here
    /// (a sample read in file order) and cannot travel to a cluster. `ctx` itself when local.
    pub local: SessionContext,
    pub placement: Placement,
    pub datasets: Vec<RegisteredDataset>,
    /// The memory pool and the private spill directory, which lives as long as the engine.
    pub runtime: Runtime,
}

/// The setting that overrides fairmark's choice of when to skip partial aggregation.
const SKIP_PARTIAL_AGGREGATION: &str =
    "DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_RATIO_THRESHOLD";

impl Engine {
    /// Registers `functions`, then every configured dataset and its canonical view. With
    /// `[engine] cluster`, queries run on that Ballista cluster.
    pub async fn open(config: &Config, functions: Functions) -> Result<Engine> {
        Engine::open_only(config, functions, |_| true).await
    }

    /// [`Engine::open`] with only the datasets whose role `wanted` accepts: registering one
    /// reads all of it (rows counted and checked, every byte hashed for the report), which a
    /// command that reads two of four datasets should not pay for the other two.
    pub async fn open_only(
        config: &Config,
        functions: Functions,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Engine> {
        // DATAFUSION_* environment variables (the partition count, say) apply, so that runs
        // at other settings can be compared; outputs must not depend on them.
        let mut session = SessionConfig::from_env()?.with_information_schema(false);
        if std::env::var_os(SKIP_PARTIAL_AGGREGATION).is_none() {
            // A grouping with a group for every few rows (orders by customer and order, the
            // price histogram's strata) gains little from a partial aggregate per partition,
            // and the partial and final tables are in memory together: at 1M customers they
            // were the audit's peak. Rows of a grouping that reduces less than tenfold in
            // its first 100k rows go straight to the final aggregate.
            session
                .options_mut()
                .execution
                .skip_partial_aggregation_probe_ratio_threshold = 0.1;
        }
        let runtime = Runtime::new(config)?;
        let state = SessionStateBuilder::new()
            .with_config(session.clone())
            .with_runtime_env(runtime.env.clone())
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(compact::CompactBeforeBuffering))
            .build();
        let local = SessionContext::new_with_state(state);
        let (ctx, placement) = match &config.engine.cluster {
            None => (local.clone(), Placement::Local),
            Some(scheduler) => {
                let address = cluster::scheduler_http_url(scheduler)
                    .map_err(|e| Error::config(&config.file, format!("[engine] cluster: {e}")))?;
                let token = cluster_door::ClusterToken::load(config)?;
                let state = cluster::client_state(
                    address,
                    session,
                    runtime.env.clone(),
                    functions.keys.clone(),
                    token.as_ref(),
                )?;
                let placement = Placement::Ballista {
                    scheduler: scheduler.clone(),
                };
                (SessionContext::new_with_state(state), placement)
            }
        };
        for function in functions.scalar {
            if placement != Placement::Local {
                local.register_udf(function.clone());
            }
            ctx.register_udf(function);
        }
        // Both sessions share the runtime, and so its object stores.
        storage::register_buckets(&runtime.env, config)?;
        let mut engine = Engine {
            ctx,
            local,
            placement,
            datasets: Vec::new(),
            runtime,
        };
        for dataset in config.dataset_configs() {
            if wanted(dataset.role()) {
                let registered = engine.register(config, dataset).await?;
                engine.datasets.push(registered);
            }
        }
        if let (Some(customers), Some(registered)) =
            (&config.datasets.customers, engine.dataset("customers"))
        {
            let view = customers_view_sql(customers, registered);
            engine
                .create_view("fm_customers", &view, "customers")
                .await?;
        }
        if let (Some(orders), Some(registered)) =
            (&config.datasets.orders, engine.dataset("orders"))
        {
            let view = orders_view_sql(orders, registered);
            engine.create_view("fm_orders", &view, "orders").await?;
        }
        if let (Some(quotes), Some(registered)) =
            (&config.datasets.quotes, engine.dataset("quotes"))
        {
            let view = quotes_view_sql(quotes, registered);
            engine.create_view("fm_quotes", &view, "quotes").await?;
        }
        Ok(engine)
    }

    pub fn dataset(&self, role: &str) -> Option<&RegisteredDataset> {
        self.datasets.iter().find(|d| d.role == role)
    }

    /// Runs SQL; engine errors are attributed to `role`'s dataset.
    pub async fn sql(&self, sql: &str, role: &str) -> Result<DataFrame> {
        self.ctx.sql(sql).await.map_err(self.in_dataset(role))
    }

    /// Turns an engine error into one attributed to `role`'s dataset (its location, when it is
    /// a registered dataset).
    fn in_dataset<'a>(
        &self,
        role: &'a str,
    ) -> impl Fn(datafusion::error::DataFusionError) -> Error + 'a {
        let location = self
            .dataset(role)
            .map_or_else(|| role.to_string(), |d| dataset_path(&d.location));
        move |e| Error::from(e).in_dataset(role, &location)
    }

    /// Collects a small result (aggregates, class counts), attributing errors to `role`.
    pub async fn collect(
        &self,
        sql: &str,
        role: &str,
    ) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>> {
        self.collect_in(&self.ctx, sql, role).await
    }

    /// Runs a query whose result is large and hands each batch to `keep` as it arrives, so that
    /// the engine's batches are let go as `keep` turns them into what it holds.
    pub async fn for_each_batch<T>(
        &self,
        sql: &str,
        role: &str,
        mut keep: impl FnMut(&datafusion::arrow::record_batch::RecordBatch) -> Result<T>,
    ) -> Result<Vec<T>> {
        use futures::StreamExt;
        let in_dataset = self.in_dataset(role);
        let mut stream = self
            .sql(sql, role)
            .await?
            .execute_stream()
            .await
            .map_err(&in_dataset)?;
        let mut kept = Vec::new();
        while let Some(batch) = stream.next().await {
            kept.push(keep(&batch.map_err(&in_dataset)?)?);
        }
        Ok(kept)
    }

    /// [`Engine::collect`] in this process, over tables registered in [`Engine::local`].
    pub async fn collect_local(
        &self,
        sql: &str,
        role: &str,
    ) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>> {
        self.collect_in(&self.local, sql, role).await
    }

    async fn collect_in(
        &self,
        ctx: &SessionContext,
        sql: &str,
        role: &str,
    ) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>> {
        let in_dataset = self.in_dataset(role);
        let frame = ctx.sql(sql).await.map_err(&in_dataset)?;
        frame.collect().await.map_err(in_dataset)
    }

    /// Registers a sample of about `rows` rows of a dataset, holding only `columns`, as a table
    /// of its own in [`Engine::local`] and returns its name. A row is sampled when a hash of its position in file
    /// order falls in one k-th of the range (k: the dataset's rows over `rows`, rounded up):
    /// the sample reaches into every file and row group, does not alias with data that repeats
    /// every k rows, and is the same on every run whatever the partition count. Rows are read
    /// once, in one stream; only the sampled ones are kept.
    pub async fn register_sample(
        &self,
        dataset: &RegisteredDataset,
        columns: &[String],
        rows: u64,
    ) -> Result<String> {
        use datafusion::arrow::array::BooleanArray;
        use datafusion::arrow::compute::filter_record_batch;
        use futures::StreamExt;

        let in_dataset = |e: datafusion::error::DataFusionError| {
            Error::from(e).in_dataset(dataset.role, &dataset_path(&dataset.location))
        };
        let ctx = file_order_session(self.stores()).map_err(in_dataset)?;
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut stream = read(
            &ctx,
            &dataset.sources,
            dataset.file_format,
            Some(dataset.schema.as_ref()),
        )
        .await
        .and_then(|frame| frame.select_columns(&columns))
        .map_err(in_dataset)?
        .execute_stream()
        .await
        .map_err(in_dataset)?;
        let stride = dataset.rows.div_ceil(rows.max(1)).max(1);
        let mut sample = Vec::new();
        let mut row = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(in_dataset)?;
            let picked: BooleanArray = (row..row + batch.num_rows() as u64)
                .map(|r| Some(mix(r).is_multiple_of(stride)))
                .collect();
            sample.push(owned_views(&filter_record_batch(&batch, &picked)?)?);
            row += batch.num_rows() as u64;
        }
        let table = datafusion::datasource::MemTable::try_new(stream.schema(), vec![sample])
            .map_err(in_dataset)?;
        // A sample taken again (another sample size, a second run in one session) replaces it.
        let name = format!("sample_{}", dataset.role);
        self.local
            .deregister_table(name.as_str())
            .map_err(in_dataset)?;
        self.local
            .register_table(name.as_str(), Arc::new(table))
            .map_err(in_dataset)?;
        Ok(name)
    }

    /// The object stores datasets are read from: the local file system and every bucket.
    fn stores(&self) -> Arc<dyn ObjectStoreRegistry> {
        self.ctx.runtime_env().object_store_registry.clone()
    }

    async fn create_view(&self, name: &str, select: &str, role: &str) -> Result<()> {
        let frame = self.sql(select, role).await?;
        self.ctx.register_table(name, frame.into_view())?;
        Ok(())
    }

    async fn register(
        &self,
        config: &Config,
        dataset: &dyn DatasetConfig,
    ) -> Result<RegisteredDataset> {
        let role = dataset.role();
        let location = dataset.path().to_string();
        // Errors name the path only when it reads as one: a secret pasted there stays out.
        let named = dataset_path(&location);
        let stores = self.stores();
        let (files, format) = storage::resolve(stores.as_ref(), config, dataset).await?;
        let in_dataset =
            |e: datafusion::error::DataFusionError| Error::from(e).in_dataset(role, &named);
        let in_file = |message: String| Error::input(role, &named, message);
        let batch_rows = self.ctx.copied_config().batch_size();
        for file in &files {
            limits::check_file(
                stores.as_ref(),
                file,
                format,
                self.runtime.memory_limit,
                batch_rows,
            )
            .await
            .map_err(in_file)?;
        }
        let mapped = dataset.mapped_columns();
        // Schema inference reads the first rows of every file: a malformed record fails here.
        let frame = match read(&self.ctx, &files, format, None).await {
            Ok(frame) => frame,
            Err(e) => {
                let located = match format {
                    Format::Csv => locate_inference_error(stores.as_ref(), &files, &mapped).await,
                    _ => None,
                };
                return Err(match located {
                    Some(message) => in_file(message),
                    None => in_dataset(e),
                });
            }
        };
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        // NDJSON has no header to count before its schema is inferred; its columns are held
        // to the same cap before anything is planned over them.
        if format == Format::Ndjson {
            limits::check_columns(&named, schema.fields().len()).map_err(in_file)?;
        }
        let raw_table = format!("raw_{role}");
        self.ctx
            .register_table(raw_table.as_str(), frame.into_view())
            .map_err(in_dataset)?;
        check_present(&schema, &mapped, format)
            .map_err(|message| Error::input(role, &named, message))?;
        let rows = match FileOrderScan::plan(&schema, format, &mapped) {
            Some(scan) => scan
                .run(&stores, &files, format)
                .await
                .map_err(|message| Error::input(role, &named, message))?,
            None => self
                .ctx
                .table(raw_table.as_str())
                .await
                .map_err(in_dataset)?
                .count()
                .await
                .map_err(in_dataset)? as u64,
        };
        if rows == 0 {
            return Err(Error::input(
                role,
                &named,
                "has no rows; point `path` at the data, or remove the dataset from the config",
            ));
        }
        // Types are checked after counting: the columns of an empty CSV have no type to check.
        for column in &mapped {
            check_column(&schema, column).map_err(|message| Error::input(role, &named, message))?;
        }
        let mut described = Vec::with_capacity(files.len());
        for file in &files {
            described.push(
                storage::describe(stores.as_ref(), file)
                    .await
                    .map_err(in_file)?,
            );
        }
        Ok(RegisteredDataset {
            role,
            location,
            format: format.name(),
            rows,
            files: described,
            raw_table,
            schema,
            sources: files,
            file_format: format,
        })
    }
}

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

/// A session that reads files in one partition, so that rows arrive in file order (to name
/// the row of a bad cell, or to take the same sample whatever the machine).
fn file_order_session(
    stores: Arc<dyn ObjectStoreRegistry>,
) -> datafusion::error::Result<SessionContext> {
    let session = SessionConfig::new()
        .with_target_partitions(1)
        .with_repartition_file_scans(false);
    reading_session(stores, session)
}

/// A session of its own that reads from `stores`, outside the engine's memory pool.
fn reading_session(
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
fn owned_views(
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
fn mix(position: u64) -> u64 {
    crate::stats::SplitMix::new(position).next_u64()
}

/// Reads `files` as one table; with `schema`, under that schema instead of an inferred one.
async fn read(
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
fn csv_delimiter(first: &DataFile) -> u8 {
    let tab_separated = Path::new(first.name())
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    if tab_separated { b'\t' } else { b',' }
}

/// Where CSV schema inference failed, in the terms of the data. DataFusion infers from a file
/// in chunks and the reader counts lines per chunk, so the files are read again, each in one
/// piece and only on this error path, to find the file and the row.
async fn locate_inference_error(
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

fn is_text(data_type: &DataType) -> bool {
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
fn check_present(
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
fn missing_column(schema: &SchemaRef, column: &MappedColumn) -> String {
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
fn header_looks_like_data(names: &[&str]) -> bool {
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
fn check_column(schema: &SchemaRef, column: &MappedColumn) -> std::result::Result<(), String> {
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

/// How many records schema inference reads. A later cell that does not fit the type inferred
/// from them is found by [`FileOrderScan`].
const SCHEMA_INFER_MAX_RECORDS: usize = 10_000;

/// The read that counts a dataset's rows, made to find what would otherwise fail a check
/// half-way with no row to point at: a text timestamp that `to_timestamp` cannot parse and, in
/// CSV and NDJSON, a cell that does not fit the type inferred from the first rows. Parquet
/// columns are typed, so only its text timestamps are read.
struct FileOrderScan<'a> {
    schema: &'a SchemaRef,
    mapped: &'a [MappedColumn],
    /// Mapped timestamp columns stored as text.
    text_timestamps: Vec<&'a MappedColumn>,
    /// The columns read, in schema order.
    projection: Vec<&'a str>,
}

impl<'a> FileOrderScan<'a> {
    /// `None` when there is nothing to check (a Parquet file with typed timestamps).
    fn plan(
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
    async fn run(
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
fn locate_csv_error(
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

/// `frame` computed once and held in memory, as [`DataFrame::cache`] does, with its string
/// views compacted: a view column taken out of a join or an aggregate still holds the whole
/// buffers it was taken from (the features table's customer ids referenced 286 MiB of buffers
/// for 19 MiB of ids at 1M customers). On a Ballista cluster the session's own cache factory decides
/// (Ballista's keeps the plan, to be recomputed where it is read).
pub async fn cache(frame: DataFrame) -> datafusion::error::Result<DataFrame> {
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::collect_partitioned;
    let (state, plan) = frame.into_parts();
    let frame = DataFrame::new(state.clone(), plan);
    if state.cache_factory().is_some() {
        return frame.cache().await;
    }
    let task = Arc::new(frame.task_ctx());
    let physical = frame.create_physical_plan().await?;
    let partitions = collect_partitioned(physical.clone(), task)
        .await?
        .iter()
        .map(|partition| partition.iter().map(owned_views).collect())
        .collect::<datafusion::error::Result<Vec<Vec<_>>>>()?;
    let table = MemTable::try_new(physical.schema(), partitions)?;
    SessionContext::new_with_state(state).read_table(Arc::new(table))
}

/// Runs `sql` and registers its (small) result in memory as `name`, replacing any table of that
/// name: for derived tables that many later queries read. The schema comes from the plan, so an
/// empty result is still a table with its columns.
///
/// On a cluster nothing is held: a table in this process's memory cannot travel in a plan, so
/// Ballista's `cache` leaves the query in place and each reader runs it again.
pub async fn materialize(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
) -> datafusion::error::Result<()> {
    let frame = cache(ctx.sql(sql).await?).await?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, frame.into_view())?;
    Ok(())
}

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

fn customers_view_sql(
    customers: &crate::config::CustomersDataset,
    dataset: &RegisteredDataset,
) -> String {
    let mut select = vec![format!(
        "CAST({} AS VARCHAR) AS customer_id",
        ident(&customers.id)
    )];
    if let Some(signup) = &customers.signup_at {
        select.push(format!(
            "{} AS signup_at",
            timestamp_expr(signup, &dataset.schema)
        ));
    }
    for column in customers.quasi_identifiers.keys() {
        select.push(format!(
            "CAST({} AS VARCHAR) AS {}",
            ident(column),
            ident(&quasi_column(column))
        ));
    }
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

fn orders_view_sql(orders: &crate::config::OrdersDataset, dataset: &RegisteredDataset) -> String {
    let number = |column: &Option<String>| {
        column
            .as_ref()
            .map(|c| format!("CAST({} AS DOUBLE)", ident(c)))
    };
    let quantity = number(&orders.quantity).unwrap_or_else(|| "1.0".to_string());
    // What the line cost the customer: the stated total, else a unit price times quantity,
    // preferring what was paid over what was offered over the list price.
    let unit_prices = [
        &orders.paid_price,
        &orders.offered_price,
        &orders.list_price,
    ];
    let mut line_amount: Vec<String> = number(&orders.amount).into_iter().collect();
    line_amount.extend(
        unit_prices
            .iter()
            .filter_map(|p| number(p))
            .map(|p| format!("{p} * {quantity}")),
    );
    let line_amount = match line_amount.len() {
        0 => "CAST(NULL AS DOUBLE)".to_string(),
        1 => line_amount.remove(0),
        _ => format!("COALESCE({})", line_amount.join(", ")),
    };
    let ordered_at = timestamp_expr(&orders.ordered_at, &dataset.schema);
    let order_key = match &orders.id {
        Some(id) => format!("CAST({} AS VARCHAR)", ident(id)),
        None => format!("CAST({ordered_at} AS VARCHAR)"),
    };
    let mut select = vec![
        format!(
            "CAST({} AS VARCHAR) AS customer_id",
            ident(&orders.customer)
        ),
        format!("{order_key} AS order_key"),
        format!("{ordered_at} AS ordered_at"),
        format!("{quantity} AS quantity"),
        format!("{line_amount} AS line_amount"),
    ];
    let text = |column: &Option<String>| {
        column.as_ref().map_or_else(
            || "CAST(NULL AS VARCHAR)".to_string(),
            |c| format!("CAST({} AS VARCHAR)", ident(c)),
        )
    };
    select.push(format!("{} AS sku", text(&orders.sku)));
    select.push(format!("{} AS category", text(&orders.category)));
    select.push(format!("{} AS device_os", text(&orders.device_os)));
    select.push(format!(
        "{} AS offered_unit_price",
        number(&orders.offered_price).unwrap_or_else(|| "CAST(NULL AS DOUBLE)".to_string())
    ));
    // The catalogue price the rules start from: the list price, else what was offered, else
    // what the line cost per unit.
    let list_candidates: Vec<String> = [
        number(&orders.list_price),
        number(&orders.offered_price),
        number(&orders.paid_price),
    ]
    .into_iter()
    .flatten()
    .collect();
    let list_price = match list_candidates.len() {
        0 => format!("({line_amount}) / {quantity}"),
        _ => format!(
            "COALESCE({}, ({line_amount}) / {quantity})",
            list_candidates.join(", ")
        ),
    };
    select.push(format!("{list_price} AS list_unit_price"));
    select.extend(condition_columns(&orders.conditions));
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

/// The column under which the canonical views expose a trading-condition column.
pub fn condition_column(column: &str) -> String {
    format!("cond_{column}")
}

fn condition_columns(conditions: &[String]) -> Vec<String> {
    conditions
        .iter()
        .map(|c| {
            format!(
                "CAST({} AS VARCHAR) AS {}",
                ident(c),
                ident(&condition_column(c))
            )
        })
        .collect()
}

fn quotes_view_sql(quotes: &crate::config::QuotesDataset, dataset: &RegisteredDataset) -> String {
    let mut select = vec![
        format!(
            "CAST({} AS VARCHAR) AS customer_id",
            ident(&quotes.customer)
        ),
        format!(
            "{} AS ordered_at",
            timestamp_expr(&quotes.quoted_at, &dataset.schema)
        ),
        format!(
            "{} AS quantity",
            quotes.quantity.as_ref().map_or_else(
                || "1.0".to_string(),
                |q| format!("CAST({} AS DOUBLE)", ident(q))
            )
        ),
        format!("CAST({} AS VARCHAR) AS sku", ident(&quotes.sku)),
        format!(
            "{} AS device_os",
            quotes.device_os.as_ref().map_or_else(
                || "CAST(NULL AS VARCHAR)".to_string(),
                |c| format!("CAST({} AS VARCHAR)", ident(c))
            )
        ),
        format!(
            "CAST({} AS DOUBLE) AS offered_unit_price",
            ident(&quotes.offered_price)
        ),
    ];
    select.extend(condition_columns(&quotes.conditions));
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("price", DataType::Utf8, true),
            Field::new("qty", DataType::Int64, true),
        ]))
    }

    #[test]
    fn a_text_price_column_is_refused_by_name() {
        let column = MappedColumn {
            key: "offered_price".into(),
            column: "price".into(),
            kind: ColumnKind::Number,
        };
        let message = check_column(&schema(), &column).unwrap_err();
        assert!(
            message.contains("`price`")
                && message.contains("offered_price")
                && message.contains("expected a number"),
            "{message}"
        );
    }

    #[test]
    fn a_sampled_view_row_holds_its_own_bytes_only() {
        use datafusion::arrow::array::{Array, BooleanArray, StringViewArray};
        use datafusion::arrow::compute::filter_record_batch;
        use datafusion::arrow::record_batch::RecordBatch;
        let long = "a value longer than twelve bytes, kept out of line".repeat(20);
        let column: StringViewArray = (0..10_000).map(|_| Some(long.as_str())).collect();
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8View, true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(column)]).unwrap();
        let one: BooleanArray = (0..10_000).map(|i| Some(i == 7)).collect();
        let picked = filter_record_batch(&batch, &one).unwrap();
        let whole = picked.column(0).get_buffer_memory_size();
        let owned = owned_views(&picked).unwrap();
        assert!(
            whole > 10_000_000,
            "the filtered view still holds the batch: {whole}"
        );
        assert!(owned.column(0).get_buffer_memory_size() < 4096);
        assert_eq!(owned, picked);
    }

    #[test]
    fn a_missing_column_lists_what_is_there() {
        let column = MappedColumn {
            key: "customer".into(),
            column: "uid".into(),
            kind: ColumnKind::Key,
        };
        let message = check_column(&schema(), &column).unwrap_err();
        assert!(
            message.contains("`uid`") && message.contains("price, qty"),
            "{message}"
        );
    }

    fn mapped(key: &str, column: &str, kind: ColumnKind) -> MappedColumn {
        MappedColumn {
            key: key.into(),
            column: column.into(),
            kind,
        }
    }

    fn local_stores() -> Arc<dyn ObjectStoreRegistry> {
        Arc::new(DefaultObjectStoreRegistry::new())
    }

    /// Scans one CSV file, whose columns are `id` (text), `n` (an integer) and `at` (a text
    /// timestamp mapped as `signup_at`), in file order.
    async fn scan_csv(text: &[u8]) -> std::result::Result<u64, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("customers.csv");
        std::fs::write(&file, text).unwrap();
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("at", DataType::Utf8, true),
        ]));
        let mapped = [mapped("signup_at", "at", ColumnKind::Timestamp)];
        let scan = FileOrderScan::plan(&schema, Format::Csv, &mapped).expect("something to scan");
        let file = DataFile::local(&file, dir.path()).unwrap();
        scan.run(&local_stores(), &[file], Format::Csv).await
    }

    #[tokio::test]
    async fn the_scan_names_column_and_row_of_each_reader_failure() {
        let ok = "id,n,at\nA,1,2024-05-01 12:00:00\nB,2,2024-05-02T08:00:00Z\nC,,\n";
        assert_eq!(scan_csv(ok.as_bytes()).await, Ok(3));
        let cases: [(&[u8], &str); 4] = [
            (
                b"id,n,at\nA,1,2024-05-01\nB,2,13800138000\nC,3,x\n",
                "column `at` (mapped as `signup_at`), row 2: not a timestamp",
            ),
            (
                b"id,n,at\nA,1,2024-05-01\nB,2,2024-05-01\nC,Hannah,2024-05-01\n",
                "column `n`, row 3: not an integer",
            ),
            (
                b"id,n,at\nA,1,2024-05-01\nB,2,2024-05-01\nC,3\n",
                "row 3 has 2 fields where the header has 3",
            ),
            (
                b"id,n,at\nA,1,2024-05-01\nB\xff,2,2024-05-01\n",
                "column `id`, row 2: not valid UTF-8",
            ),
        ];
        // Rows of a later batch are counted on from the first.
        let mut long = b"id,n,at\n".to_vec();
        for row in 1..=9000 {
            long.extend(format!("C{row},{row},2024-05-01\n").bytes());
        }
        let mut bad_utf8 = long.clone();
        bad_utf8.extend(b"C\xff,1,2024-05-01\n");
        let mut short = long.clone();
        short.extend(b"C,1\n");
        let mut bad_integer = long.clone();
        bad_integer.extend(b"C,x,2024-05-01\n");
        for (text, expected) in [
            (bad_utf8, "column `id`, row 9001: not valid UTF-8"),
            (short, "row 9001 has 2 fields"),
            (bad_integer, "column `n`, row 9001: not an integer"),
        ] {
            let message = scan_csv(&text).await.unwrap_err();
            assert!(message.starts_with(expected), "{message}");
        }
        for (text, expected) in cases {
            let message = scan_csv(text).await.unwrap_err();
            eprintln!("{message}");
            assert!(message.starts_with(expected), "{message}");
            for value in ["13800138000", "Hannah", "\u{fffd}"] {
                assert!(!message.contains(value), "{message}");
            }
        }
    }

    #[tokio::test]
    async fn in_parquet_only_text_timestamps_are_scanned() {
        use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("at", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![
                    Some("2024-05-01"),
                    None,
                    Some("li.na@example.cn"),
                ])),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("consents.parquet");
        let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&file).unwrap(),
            schema.clone(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let typed = [mapped("amount", "n", ColumnKind::Number)];
        assert!(FileOrderScan::plan(&schema, Format::Parquet, &typed).is_none());
        let mapped = [mapped("at", "at", ColumnKind::Timestamp)];
        let scan = FileOrderScan::plan(&schema, Format::Parquet, &mapped).unwrap();
        assert_eq!(scan.projection, ["at"]);
        let file = DataFile::local(&file, dir.path()).unwrap();
        let message = scan
            .run(&local_stores(), &[file], Format::Parquet)
            .await
            .unwrap_err();
        assert_eq!(
            message,
            "column `at` (mapped as `at`), row 3: not a timestamp (expected e.g. 2024-05-01 12:00:00)"
        );
    }

    #[test]
    fn a_header_of_values_is_recognised_and_a_real_one_is_not() {
        let headerless = [
            "U1000002",
            "Hannah Miller",
            "16833450482",
            "hannah.miller1487@example.cn",
            "1994",
            "上海",
            "2026-06-06T13:33:02",
        ];
        assert!(header_looks_like_data(&headerless));
        assert!(header_looks_like_data(&["Hannah Miller", "2024-05-01"]));
        assert!(header_looks_like_data(&["U1000002", "M", "false"]));
        let header = [
            "uid",
            "name",
            "phone",
            "email",
            "birth_year",
            "city",
            "registered_at",
        ];
        assert!(!header_looks_like_data(&header));
        assert!(!header_looks_like_data(&["用户", "手机号", "注册时间"]));
        assert!(!header_looks_like_data(&["sku", "2024", "name", "city"]));
    }

    #[test]
    fn a_headerless_csv_is_said_plainly_and_names_no_cell() {
        let schema: SchemaRef = Arc::new(Schema::new(
            [
                "U1000002",
                "Hannah Miller",
                "16833450482",
                "2026-06-06T13:33:02",
            ]
            .map(|name| Field::new(name, DataType::Utf8, true))
            .to_vec(),
        ));
        let mapped = [mapped("id", "uid", ColumnKind::Key)];
        let message = check_present(&schema, &mapped, Format::Csv).unwrap_err();
        assert!(
            message.starts_with("the first row looks like data, not column names")
                && message.contains("`uid`"),
            "{message}"
        );
        let message = check_present(&schema, &mapped, Format::Parquet).unwrap_err();
        assert!(
            message.ends_with("columns are: 4 whose names are not shown (they could be data)"),
            "{message}"
        );
        for cell in ["U1000002", "Hannah", "16833450482", "2026"] {
            assert!(!message.contains(cell), "{message}");
        }
    }

    #[test]
    fn a_missing_column_counts_the_names_it_does_not_show() {
        let schema: SchemaRef = Arc::new(Schema::new(
            ["uid", "phone", "13800138000", "Zhang Wei"]
                .map(|name| Field::new(name, DataType::Utf8, true))
                .to_vec(),
        ));
        let message = missing_column(&schema, &mapped("id", "user_id", ColumnKind::Key));
        assert!(
            message.ends_with("columns are: uid, phone, and 2 more not shown"),
            "{message}"
        );
    }

    #[test]
    fn identifiers_are_quoted_safely() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("o'k"), "'o''k'");
    }
}
