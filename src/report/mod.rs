//! The audit report as data, and its renderers. Renderers only render: every number they
//! show is computed before the [`Report`] is built.

pub mod html;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod table;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::CheckRun;
use crate::engine::RegisteredDataset;
use crate::findings::{Finding, Severity};
use crate::policy::PolicyPack;
use crate::segment::SegmentationSummary;

/// Bumped on any change a consumer of `report.json` could notice: major for removals and
/// renames, minor for additions.
pub const SCHEMA_VERSION: &str = "1.0.0";

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackReference {
    pub name: String,
    pub title: String,
    pub source: String,
    pub sha256: String,
}

impl From<&PolicyPack> for PackReference {
    fn from(pack: &PolicyPack) -> Self {
        PackReference {
            name: pack.name.clone(),
            title: pack.title.clone(),
            source: pack.source.clone(),
            sha256: pack.sha256.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub fail_on: Severity,
    /// Findings at or above `fail_on`; non-zero means exit code 1.
    pub failing_findings: usize,
    pub findings_by_severity: BTreeMap<Severity, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    pub config: String,
    pub key_id: String,
    pub policies: Vec<PackReference>,
    pub inputs: Vec<RegisteredDataset>,
    pub outcome: Outcome,
    pub checks: Vec<CheckRun>,
    pub findings: Vec<Finding>,
    pub segmentation: Option<SegmentationSummary>,
    /// The files written next to this report.
    pub outputs: Vec<String>,
}

impl Report {
    pub fn outcome(findings: &[Finding], fail_on: Severity) -> Outcome {
        let mut by_severity: BTreeMap<Severity, usize> =
            Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for finding in findings {
            *by_severity.entry(finding.severity).or_default() += 1;
        }
        Outcome {
            fail_on,
            failing_findings: findings.iter().filter(|f| f.severity >= fail_on).count(),
            findings_by_severity: by_severity,
        }
    }

    pub fn failed(&self) -> bool {
        self.outcome.failing_findings > 0
    }
}

/// Formats an evidence value for text renderers.
pub fn evidence_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
