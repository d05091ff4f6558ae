//! What an executor agrees to run: stages of fairmark's own audit, over the datasets its own
//! config names, and nothing else.
//!
//! A Ballista executor runs whatever stage its scheduler hands it, and the scheduler plans
//! whatever a client sends: a plan built by anyone else can scan any file the executor can read
//! (the key file, `/etc/passwd`), write files where it likes (`COPY TO`), or read another job's
//! shuffle files. Every stage an executor receives is checked here once it is decoded and
//! before it runs: its operators must be ones the audit's plans are made of, every file it
//! scans must belong to a dataset of the executor's config (and never be the key file), and its
//! shuffle reads must stay inside the executor's work directory. A refusal names the rule it
//! broke, never a path or a value.

use std::path::{Component, Path, PathBuf};

use ballista_core::execution_plans::{RangeShuffleReaderExec, ShuffleReaderExec};
use ballista_core::serde::scheduler::PartitionLocation;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_plan::ExecutionPlan;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;

use super::storage::{is_glob, is_hidden};
use crate::config::{Config, DatasetLocation};
use crate::error::{Error, Result};

/// The operators an audit's stage may hold: DataFusion's relational operators that read
/// nothing but their inputs, Ballista's shuffles and the nodes its planner adds, and
/// fairmark's own. Which join, sort or repartition the planners pick depends on the data's
/// size, so every read-only relational operator is here, not only those a small audit shows.
/// Not here: writers (`DataSinkExec`), sources other than file scans and a plan's own values,
/// Ballista's fault-injection node, recursive queries and EXPLAIN, none of which an audit
/// builds.
const AUDIT_OPERATORS: &[&str] = &[
    // DataFusion
    "AggregateExec",
    "BoundedWindowAggExec",
    "BufferExec",
    "CoalesceBatchesExec",
    "CoalescePartitionsExec",
    "CooperativeExec",
    "CrossJoinExec",
    "DataSourceExec",
    "EmptyExec",
    "FilterExec",
    "GlobalLimitExec",
    "HashJoinExec",
    "InterleaveExec",
    "LocalLimitExec",
    "NestedLoopJoinExec",
    "PartialSortExec",
    "PlaceholderRowExec",
    "ProjectionExec",
    "RepartitionExec",
    "SortExec",
    // a sort with a limit names itself so
    "SortExec(TopK)",
    "SortMergeJoinExec",
    "SortPreservingMergeExec",
    "UnionExec",
    "UnnestExec",
    "WindowAggExec",
    // Ballista: the shuffles at a stage's ends and the operators its planner inserts
    "OrderedRangeRepartitionExec",
    "PartitionedBoundedWindowAggExec",
    "PerPartitionFilterExec",
    "PrefixMergeExec",
    "RangeFilterExec",
    "RangeShuffleReaderExec",
    "RangeShuffleWriterExec",
    "RuntimeStatsExec",
    "ShuffleReaderExec",
    "ShuffleWriterExec",
    "SortShuffleWriterExec",
    "UnorderedRangeRepartitionExec",
    // fairmark
    "CompactSlicesExec",
];

/// Why an executor refused a stage. The audit reads the code back from Ballista's job failure
/// (see [`crate::error`]), so the codes are stable; the words never hold a path or a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "refused the stage (writes-files): {0} writes files, which an audit never asks of an executor"
    )]
    WritesFiles(String),
    #[error("refused the stage (unknown-operator): {0} is not an operator of the audit's plans")]
    UnknownOperator(String),
    #[error(
        "refused the stage (other-source): it reads a source other than files and the plan's own values"
    )]
    OtherSource,
    #[error(
        "refused the stage (file-outside-datasets): it scans a file that is not one of the datasets this executor's config names"
    )]
    FileOutsideDatasets,
    #[error(
        "refused the stage (shuffle-outside-work-dir): it reads shuffle files outside the executor's work directory"
    )]
    ShuffleOutsideWorkDir,
}

/// The checks of one executor: the dataset locations of its config, the files never read
/// whatever those say, and its shuffle work directory.
#[derive(Debug)]
pub struct PlanGuard {
    datasets: Vec<Dataset>,
    never: Vec<PathBuf>,
    work_dir: PathBuf,
}

/// A dataset's location as the guard compares files with it: a local pattern made absolute.
#[derive(Debug)]
struct Dataset {
    location: DatasetLocation,
    glob: bool,
}

impl PlanGuard {
    /// The guard of an executor started with `config`, writing shuffle files to `work_dir`.
    pub fn for_executor(config: &Config, work_dir: &Path) -> Result<PlanGuard> {
        let datasets = config
            .dataset_configs()
            .into_iter()
            .map(|dataset| config.location(dataset))
            .collect::<Result<Vec<_>>>()?;
        // The key's file, and the cluster token's: secrets, whatever directory they are in.
        let secrets = [
            config.key.file.as_ref(),
            config.cluster.as_ref().and_then(|c| c.token.file.as_ref()),
        ];
        let never = secrets
            .into_iter()
            .flatten()
            .map(|file| config.base_dir.join(file))
            .collect();
        PlanGuard::new(datasets, never, work_dir)
    }

    /// A guard over `datasets` that never lets a stage read the files `never`.
    pub fn new(
        datasets: Vec<DatasetLocation>,
        never: Vec<PathBuf>,
        work_dir: &Path,
    ) -> Result<PlanGuard> {
        let absolute = |path: &Path| {
            std::path::absolute(path)
                .map(|path| normalized(&path))
                .map_err(|e| Error::io(path, e))
        };
        let datasets = datasets
            .into_iter()
            .map(|location| {
                Ok(match location {
                    DatasetLocation::Local(pattern) => Dataset {
                        glob: is_glob(&pattern.to_string_lossy()),
                        location: DatasetLocation::Local(absolute(&pattern)?),
                    },
                    DatasetLocation::S3 { bucket, key } => Dataset {
                        glob: is_glob(&key),
                        location: DatasetLocation::S3 { bucket, key },
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PlanGuard {
            datasets,
            never: never
                .iter()
                .map(|path| absolute(path))
                .collect::<Result<_>>()?,
            work_dir: absolute(work_dir)?,
        })
    }

    /// Whether `stage` may run here: every operator in it, depth first.
    pub fn check(&self, stage: &dyn ExecutionPlan) -> std::result::Result<(), Refusal> {
        let name = stage.name();
        if name == "DataSinkExec" {
            return Err(Refusal::WritesFiles(name.to_string()));
        }
        if !AUDIT_OPERATORS.contains(&name) {
            return Err(Refusal::UnknownOperator(name.to_string()));
        }
        if let Some(source) = stage.downcast_ref::<DataSourceExec>() {
            self.check_source(source)?;
        }
        let shuffle_reads = stage
            .downcast_ref::<ShuffleReaderExec>()
            .map(|reader| &reader.partition)
            .or_else(|| {
                stage
                    .downcast_ref::<RangeShuffleReaderExec>()
                    .map(|reader| &reader.partition)
            });
        if let Some(partitions) = shuffle_reads {
            let outside = partitions.iter().flatten().any(|l| !self.in_work_dir(l));
            if outside {
                return Err(Refusal::ShuffleOutsideWorkDir);
            }
        }
        stage
            .children()
            .into_iter()
            .try_for_each(|child| self.check(child.as_ref()))
    }

    fn check_source(&self, source: &DataSourceExec) -> std::result::Result<(), Refusal> {
        let source = source.data_source();
        if source.downcast_ref::<MemorySourceConfig>().is_some() {
            return Ok(());
        }
        let Some(scan) = source.downcast_ref::<FileScanConfig>() else {
            return Err(Refusal::OtherSource);
        };
        let files = scan.file_groups.iter().flat_map(|group| group.iter());
        for file in files {
            if !self.holds(&scan.object_store_url, &file.object_meta.location) {
                return Err(Refusal::FileOutsideDatasets);
            }
        }
        Ok(())
    }

    /// Whether the file `location` in the store `store` belongs to a dataset, judged as
    /// [`super::storage::resolve`] lists a dataset's files: the file itself, the visible files
    /// directly in a directory (or under a prefix), or what a glob matches.
    fn holds(&self, store: &ObjectStoreUrl, location: &ObjectPath) -> bool {
        if *store == ObjectStoreUrl::local_filesystem() {
            // The path the local store will open: a location's parts are percent-decoded on the
            // way, so `%2E%2E` can become `..`, which no dataset file's path holds.
            let Ok(path) = LocalFileSystem::new().path_to_filesystem(location) else {
                return false;
            };
            let plain = path
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            return plain
                && !self.never.contains(&path)
                && self.datasets.iter().any(|dataset| match &dataset.location {
                    DatasetLocation::Local(pattern) => local_holds(pattern, dataset.glob, &path),
                    DatasetLocation::S3 { .. } => false,
                });
        }
        let Some(bucket) = store
            .as_str()
            .strip_prefix("s3://")
            .map(|rest| rest.trim_end_matches('/'))
        else {
            return false;
        };
        self.datasets.iter().any(|dataset| match &dataset.location {
            DatasetLocation::S3 { bucket: b, key } if b == bucket => {
                object_holds(key, dataset.glob, location.as_ref())
            }
            _ => false,
        })
    }

    fn in_work_dir(&self, location: &PartitionLocation) -> bool {
        // The path is the work directory joined with the job id the plan gives: a job id
        // that is absolute or holds `..` would point anywhere.
        location
            .path(&self.work_dir.to_string_lossy())
            .is_ok_and(|path| {
                path.strip_prefix(&self.work_dir)
                    .is_ok_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))))
            })
    }
}

/// `path` without `.` components and with each `..` taken back, as a dataset's files are named.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn glob_matches(pattern: &str, candidate: &str) -> bool {
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches_with(candidate, options))
}

fn local_holds(pattern: &Path, glob: bool, file: &Path) -> bool {
    let visible = file
        .file_name()
        .is_some_and(|name| !is_hidden(&name.to_string_lossy()));
    if glob {
        glob_matches(&pattern.to_string_lossy(), &file.to_string_lossy())
    } else if pattern.is_dir() {
        visible && file.parent() == Some(pattern)
    } else {
        file == pattern
    }
}

fn object_holds(key: &str, glob: bool, object: &str) -> bool {
    let directly_under = |prefix: &str| {
        object
            .strip_prefix(prefix)
            .is_some_and(|name| !name.is_empty() && !name.contains('/') && !is_hidden(name))
    };
    if key.is_empty() {
        directly_under("")
    } else if key.ends_with('/') {
        directly_under(key)
    } else if glob {
        glob_matches(key, object)
    } else {
        // An object, or a prefix written without its `/`.
        object == key || directly_under(&format!("{key}/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{CsvReadOptions, SessionContext};
    use std::sync::Arc;

    /// A directory with a customers dataset, the key beside the config, and a file elsewhere.
    struct Layout {
        dir: tempfile::TempDir,
    }

    impl Layout {
        fn new() -> Layout {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("customers")).unwrap();
            std::fs::create_dir(dir.path().join("work")).unwrap();
            for (file, text) in [
                ("customers/part-1.csv", "id,phone\n1,13800000000\n"),
                ("customers/part-2.csv", "id,phone\n2,13900000000\n"),
                ("orders.csv", "order_id,customer_id\n7,1\n"),
                ("demo.key", "00112233\n"),
                ("elsewhere.csv", "secret\nvalue\n"),
            ] {
                std::fs::write(dir.path().join(file), text).unwrap();
            }
            Layout { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn guard(&self) -> PlanGuard {
            PlanGuard::new(
                vec![
                    DatasetLocation::Local(self.path("customers")),
                    DatasetLocation::Local(self.path("orders.csv")),
                ],
                vec![self.path("demo.key")],
                &self.path("work"),
            )
            .unwrap()
        }

        /// The physical plan of `sql`, with `table` read from `file` as CSV.
        async fn plan(&self, tables: &[(&str, &str)], sql: &str) -> Arc<dyn ExecutionPlan> {
            let ctx = SessionContext::new();
            for (table, file) in tables {
                let options = CsvReadOptions::new().file_extension(
                    Path::new(file)
                        .extension()
                        .map_or("", |e| e.to_str().unwrap()),
                );
                ctx.register_csv(*table, self.path(file).to_str().unwrap(), options)
                    .await
                    .unwrap();
            }
            ctx.sql(sql)
                .await
                .unwrap()
                .create_physical_plan()
                .await
                .unwrap()
        }
    }

    #[tokio::test]
    async fn an_audit_shaped_plan_over_the_datasets_passes() {
        let layout = Layout::new();
        let plan = layout
            .plan(
                &[("customers", "customers"), ("orders", "orders.csv")],
                "SELECT c.id, count(o.order_id) AS orders, \
                 row_number() OVER (PARTITION BY c.id ORDER BY c.phone) AS rank \
                 FROM customers c LEFT JOIN orders o ON o.customer_id = c.id \
                 WHERE c.phone IS NOT NULL GROUP BY c.id, c.phone ORDER BY c.id LIMIT 10",
            )
            .await;
        assert_eq!(layout.guard().check(plan.as_ref()), Ok(()));
    }

    #[tokio::test]
    async fn a_csv_scan_outside_the_datasets_is_refused() {
        let layout = Layout::new();
        for (file, _) in [("elsewhere.csv", ""), ("demo.key", "")] {
            let plan = layout
                .plan(&[("stolen", file)], "SELECT * FROM stolen")
                .await;
            assert_eq!(
                layout.guard().check(plan.as_ref()),
                Err(Refusal::FileOutsideDatasets),
                "{file}"
            );
        }
    }

    #[tokio::test]
    async fn the_key_file_is_refused_even_inside_a_dataset_directory() {
        let layout = Layout::new();
        std::fs::write(layout.path("customers/demo.key"), "00112233\n").unwrap();
        let guard = PlanGuard::new(
            vec![DatasetLocation::Local(layout.path("customers"))],
            vec![layout.path("customers/demo.key")],
            &layout.path("work"),
        )
        .unwrap();
        let plan = layout
            .plan(&[("stolen", "customers/demo.key")], "SELECT * FROM stolen")
            .await;
        assert_eq!(
            guard.check(plan.as_ref()),
            Err(Refusal::FileOutsideDatasets)
        );
    }

    #[tokio::test]
    async fn a_copy_to_is_refused_as_a_write() {
        let layout = Layout::new();
        let target = layout.path("written.csv");
        let plan = layout
            .plan(
                &[("customers", "customers")],
                &format!(
                    "COPY (SELECT * FROM customers) TO '{}' STORED AS CSV",
                    target.display()
                ),
            )
            .await;
        assert_eq!(
            layout.guard().check(plan.as_ref()),
            Err(Refusal::WritesFiles("DataSinkExec".into()))
        );
        assert!(!target.exists());
    }

    #[tokio::test]
    async fn an_operator_the_audit_never_builds_is_refused() {
        let layout = Layout::new();
        let plan = layout
            .plan(&[], "SELECT * FROM generate_series(1, 3)")
            .await;
        assert!(
            matches!(
                layout.guard().check(plan.as_ref()),
                Err(Refusal::UnknownOperator(_))
            ),
            "{:?}",
            layout.guard().check(plan.as_ref())
        );
    }

    #[test]
    fn shuffle_reads_stay_in_the_work_directory() {
        use ballista_core::serde::protobuf;
        use ballista_core::serde::scheduler::{
            ExecutorMetadata, ExecutorSpecification, PartitionId, PartitionStats,
        };

        let layout = Layout::new();
        let guard = layout.guard();
        let location = |job_id: &str| PartitionLocation {
            map_partition_id: 0,
            partition_id: PartitionId {
                job_id: job_id.into(),
                stage_id: 1,
                partition_id: 0,
            },
            executor_meta: ExecutorMetadata {
                id: "executor".into(),
                host: "127.0.0.1".into(),
                port: 50051,
                grpc_port: 50052,
                specification: ExecutorSpecification::default(),
                os_info: protobuf::ExecutorOperatingSystemSpecification::default().into(),
            },
            partition_stats: PartitionStats::default(),
            file_id: None,
            is_sort_shuffle: false,
        };
        assert!(guard.in_work_dir(&location("5kGbTbH8000")));
        // A job id is joined to the work directory as it comes in the plan.
        for escape in ["../..", "/etc", "a/../../b"] {
            assert!(!guard.in_work_dir(&location(escape)), "{escape}");
        }
    }

    #[test]
    fn dataset_locations_hold_what_their_listing_would_list() {
        let layout = Layout::new();
        let guard = layout.guard();
        let local = ObjectStoreUrl::local_filesystem();
        let file = |path: &Path| ObjectPath::from_absolute_path(path).unwrap();
        assert!(guard.holds(&local, &file(&layout.path("customers/part-1.csv"))));
        assert!(guard.holds(&local, &file(&layout.path("orders.csv"))));
        for outside in ["customers/.hidden.csv", "elsewhere.csv", "demo.key"] {
            assert!(
                !guard.holds(&local, &file(&layout.path(outside))),
                "{outside}"
            );
        }
        // `..` smuggled in as an encoded part of the location.
        let escaped = ObjectPath::parse(format!(
            "{}/%2E%2E/elsewhere.csv",
            file(&layout.path("customers"))
        ))
        .unwrap();
        assert!(!guard.holds(&local, &escaped));

        let s3 = |key: &str| DatasetLocation::S3 {
            bucket: "audit".into(),
            key: key.into(),
        };
        let guard = PlanGuard::new(
            vec![s3("customers/"), s3("orders/*.parquet"), s3("quotes")],
            vec![],
            &layout.path("work"),
        )
        .unwrap();
        let bucket = |name: &str| ObjectStoreUrl::parse(format!("s3://{name}")).unwrap();
        for (store, key, held) in [
            ("audit", "customers/part-1.csv", true),
            ("audit", "customers/deeper/part-1.csv", false),
            ("audit", "customers/_SUCCESS", false),
            ("audit", "orders/2026.parquet", true),
            ("audit", "orders/2026/x.parquet", false),
            ("audit", "quotes", true),
            ("audit", "quotes/part-1.csv", true),
            ("audit", "keys/demo.key", false),
            ("other", "customers/part-1.csv", false),
        ] {
            assert_eq!(
                guard.holds(&bucket(store), &ObjectPath::from(key)),
                held,
                "s3://{store}/{key}"
            );
        }
    }
}
