//! The previous audit as a baseline: which findings are new, which persist and which were
//! resolved (by fingerprint), and how many customers moved between segments (by token).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::{DataFrame, ParquetReadOptions};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Placement};
use crate::error::{Error, Result};
use crate::findings::{BaselineStatus, Finding};

/// A previous audit's report, and its segments when they are beside it.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// As the user gave it, for messages and the report.
    pub source: String,
    pub key_id: String,
    pub findings: Vec<Finding>,
    pub segments: Option<PathBuf>,
}

#[derive(Deserialize)]
struct PreviousReport {
    schema_version: String,
    key_id: String,
    findings: Vec<Finding>,
}

impl Baseline {
    /// Reads `path`: a `report.json`, or the output directory of a previous audit, whose
    /// schema must have the major version of `schema_version` (this build's report schema).
    pub fn load(path: &Path, schema_version: &str) -> Result<Baseline> {
        let source = path.display().to_string();
        let report = if path.is_dir() {
            path.join("report.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&report).map_err(|e| Error::io(&report, e))?;
        // serde_json's messages quote the offending value; only where it is goes out.
        let previous: PreviousReport = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "--baseline {source}: not a fairmark report.json (line {}, column {}); give the report.json or the output directory of a previous audit",
                e.line(),
                e.column()
            ))
        })?;
        let major = previous
            .schema_version
            .split('.')
            .next()
            .unwrap_or_default();
        if major != schema_version.split('.').next().unwrap_or_default() {
            let previous_version = if crate::error::printable_name(&previous.schema_version) {
                previous.schema_version.as_str()
            } else {
                "(unreadable)"
            };
            return Err(Error::Usage(format!(
                "--baseline {source}: report schema {previous_version} cannot be compared with {schema_version}"
            )));
        }
        let segments = report
            .parent()
            .map(|dir| dir.join("segments.parquet"))
            .filter(|p| p.is_file());
        Ok(Baseline {
            source,
            key_id: previous.key_id,
            findings: previous.findings,
            segments,
        })
    }

    /// Marks each finding new or persisting, and returns the baseline's findings that are no
    /// longer there (resolved), in report order.
    pub fn compare(&self, findings: &mut [Finding]) -> Vec<Finding> {
        compare(&self.findings, findings)
    }
}

/// Marks each of `findings` new or persisting against `before` (by fingerprint), and returns the
/// findings of `before` that are no longer there (resolved), in report order. The one
/// comparison behind `audit --baseline` and `check-rules --base`.
pub fn compare(before: &[Finding], findings: &mut [Finding]) -> Vec<Finding> {
    let earlier: BTreeSet<&str> = before.iter().map(|f| f.fingerprint.as_str()).collect();
    for finding in findings.iter_mut() {
        finding.baseline = Some(if earlier.contains(finding.fingerprint.as_str()) {
            BaselineStatus::Persisting
        } else {
            BaselineStatus::New
        });
    }
    let now: BTreeSet<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
    let mut resolved: Vec<Finding> = before
        .iter()
        .filter(|f| !now.contains(f.fingerprint.as_str()))
        .cloned()
        .map(|mut f| {
            f.baseline = None;
            f.waiver = None;
            f
        })
        .collect();
    crate::findings::sort(&mut resolved);
    resolved
}

/// What changed since the baseline, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineSummary {
    pub source: String,
    pub new: usize,
    pub persisting: usize,
    pub resolved: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_shift: Option<SegmentShift>,
    /// Why the segment shift is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_shift_skipped: Option<String>,
}

/// Customers by segment in the baseline and now, matched by token.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SegmentShift {
    /// In both, in the same segment.
    pub stayed: u64,
    /// In both, in another segment.
    pub moved: u64,
    /// Only in this audit.
    pub entered: u64,
    /// Only in the baseline.
    pub left: u64,
    /// Every pair of segments with customers moving between them, most customers first.
    pub moves: Vec<SegmentMove>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentMove {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

/// Counts customers by (segment then, segment now) over the tokens of both segmentations.
/// Tokens only match under the same key, which the caller checks. The baseline is a file on
/// this machine, so the count runs here: on a cluster, the current tokens and segments are
/// brought here first (the segmentation streams back to be written anyway).
pub async fn segment_shift(
    engine: &Engine,
    current: &DataFrame,
    baseline_segments: &Path,
) -> Result<SegmentShift> {
    let location = baseline_segments.display().to_string();
    let in_baseline = |e: datafusion::error::DataFusionError| {
        Error::from(e).in_dataset("baseline segments", &location)
    };
    let ctx = &engine.local;
    let current = match engine.placement {
        Placement::Local => current.clone(),
        Placement::Ballista { .. } => {
            let selected = current
                .clone()
                .select_columns(&["customer_token", "segment"])?;
            let schema = Arc::new(selected.schema().as_arrow().clone());
            let batches = selected.collect().await?;
            ctx.read_table(Arc::new(MemTable::try_new(schema, vec![batches])?))?
        }
    };
    ctx.register_parquet(
        "fm_baseline_segments",
        &location,
        ParquetReadOptions::default(),
    )
    .await
    .map_err(in_baseline)?;
    ctx.register_table("fm_current_segments", current.into_view())?;
    let frame = ctx
        .sql(
            "SELECT CAST(b.segment AS VARCHAR) AS before, CAST(c.segment AS VARCHAR) AS now,
                CAST(count(*) AS BIGINT) AS customers
             FROM fm_baseline_segments b FULL JOIN fm_current_segments c
                ON b.customer_token = c.customer_token
             GROUP BY 1, 2",
        )
        .await
        .map_err(in_baseline)?;
    let batches = frame.collect().await.map_err(in_baseline)?;
    let mut shift = SegmentShift::default();
    for batch in &batches {
        let before = cast(batch.column(0), &DataType::Utf8)?;
        let before = before.as_string::<i32>();
        let now = cast(batch.column(1), &DataType::Utf8)?;
        let now = now.as_string::<i32>();
        let customers = batch.column(2).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            let count = customers.value(row) as u64;
            match (before.is_null(row), now.is_null(row)) {
                (true, _) => shift.entered += count,
                (_, true) => shift.left += count,
                _ if before.value(row) == now.value(row) => shift.stayed += count,
                _ => {
                    shift.moved += count;
                    // Segment names are fairmark's own words; a baseline file edited to hold
                    // anything else does not get it into the report.
                    let name = |value: &str| {
                        if crate::error::printable_name(value) {
                            value.to_string()
                        } else {
                            "(unreadable)".to_string()
                        }
                    };
                    shift.moves.push(SegmentMove {
                        from: name(before.value(row)),
                        to: name(now.value(row)),
                        customers: count,
                    });
                }
            }
        }
    }
    shift.moves.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });
    ctx.deregister_table("fm_baseline_segments")?;
    ctx.deregister_table("fm_current_segments")?;
    Ok(shift)
}
