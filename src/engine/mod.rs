//! The DataFusion session: opened locally or on a cluster with fairmark's functions, datasets
//! registered by role, checked against their column mapping, and exposed as canonical views
//! (`fm_customers`, `fm_orders`) whose column names are fairmark's concepts, whatever the
//! company called them. Every check and the segmentation query these views; all scans, joins,
//! aggregates and windows run as DataFusion plans.
//!
//! This file opens the session and registers datasets; beside it: the readers ([`read`]), the
//! mapping checks ([`validate`]), the scan that names a bad cell's row ([`file_order`]), the
//! view SQL ([`views`]), SQL quoting ([`sql`]), and where files come from ([`storage`]).

pub mod cluster;
pub mod cluster_door;
mod compact;
mod dataset;
mod file_order;
mod head;
mod limits;
pub mod plan_guard;
mod read;
mod runtime;
mod sql;
pub mod storage;
mod validate;
mod views;

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

pub use dataset::RegisteredDataset;
pub use head::read_head;
pub use runtime::{Runtime, remove_private_dirs};
pub use sql::{ident, literal, quasi_column, timestamp_expr};
pub use storage::{DataFile, InputFile};
pub use views::{condition_column, consents_view_sql, sends_view_sql};

use file_order::{FileOrderScan, locate_inference_error};
use read::{file_order_session, mix, owned_views, read};
use validate::{check_column, check_present};
use views::{customers_view_sql, orders_view_sql, quotes_view_sql};

use crate::config::{Config, DatasetConfig, Format};
use crate::config_errors::dataset_path;
use crate::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::execution::object_store::DefaultObjectStoreRegistry;

    use super::validate::{header_looks_like_data, missing_column};
    use super::*;
    use crate::config::{ColumnKind, MappedColumn};

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
