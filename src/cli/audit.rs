//! `fairmark audit`: run every check, write the report and the sanitized segmentation, print
//! the summary table, exit 1 when a finding reaches `--fail-on`.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use fairmark::audit::Options;
use fairmark::baseline::Baseline;
use fairmark::config::{Config, Lang};
use fairmark::findings::Severity;
use fairmark::output::{Staging, write_parquet};
use fairmark::policy::EffectivePolicy;
use fairmark::pseudonym::Key;
use fairmark::report::{self, PackReference, Report, Tool};
use fairmark::segment::SegmentSummary;

use super::exit::EXIT_FINDINGS;
use super::progress::Progress;

/// One `fairmark audit` as the command line asked for it.
pub struct Request<'a> {
    pub config: &'a Path,
    pub out: &'a Path,
    pub fail_on: Severity,
    pub fail_on_new: bool,
    pub baseline: Option<&'a Path>,
    /// The day waivers are judged on; today (UTC) when not given.
    pub today: Option<NaiveDate>,
    /// The language of the table, report.md and report.html; the config's when not given.
    pub lang: Option<Lang>,
    /// A Ballista scheduler to run the queries on, over the config's `[engine] cluster`.
    pub cluster: Option<String>,
}

impl<'a> Request<'a> {
    /// An audit with no baseline, judged today, as `demo` and `bench` run it.
    pub fn plain(config: &'a Path, out: &'a Path) -> Request<'a> {
        Request {
            config,
            out,
            fail_on: Severity::High,
            fail_on_new: false,
            baseline: None,
            today: None,
            lang: None,
            cluster: None,
        }
    }
}

pub async fn run(request: Request<'_>) -> anyhow::Result<ExitCode> {
    let progress = Progress::start();
    let out = request.out;
    let Audited { report, spills } = execute(request, &|phase| progress.phase(phase)).await?;
    drop(progress);
    print!("{}", report::table::render(&report));
    println!("Report written to {}", out.join("report.md").display());
    if let Some(spills) = spills {
        eprintln!("fairmark: {spills}");
    }
    Ok(exit_code(&report))
}

pub fn exit_code_number(report: &Report) -> u8 {
    if report.failed() { EXIT_FINDINGS } else { 0 }
}

fn exit_code(report: &Report) -> ExitCode {
    ExitCode::from(exit_code_number(report))
}

/// Everything an audit needs before it touches data: config, policy packs, key.
pub struct Prepared {
    pub config: Config,
    pub policy: EffectivePolicy,
    pub key: Arc<Key>,
}

impl Prepared {
    pub fn load(config_path: &Path) -> anyhow::Result<Prepared> {
        let config = Config::load(config_path)?;
        let policy = EffectivePolicy::for_config(&config, &fairmark::checks::Registry)?;
        let key = Arc::new(Key::load(&config.key, &config.base_dir)?);
        Ok(Prepared {
            config,
            policy,
            key,
        })
    }
}

/// What an audit wrote, and whether it had to spill to disk to stay within its memory limit.
pub struct Audited {
    pub report: Report,
    /// A sentence on the spill files, when there were any.
    pub spills: Option<String>,
}

/// Runs the audit and writes its outputs into `out`, all or nothing; `progress` hears each phase.
pub async fn execute(
    request: Request<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Audited> {
    let Request {
        config: config_path,
        out,
        fail_on,
        fail_on_new,
        baseline,
        today,
        lang,
        cluster,
    } = request;
    let mut prepared = Prepared::load(config_path)?;
    if cluster.is_some() {
        prepared.config.engine.cluster = cluster;
    }
    let baseline = baseline
        .map(|path| Baseline::load(path, report::SCHEMA_VERSION))
        .transpose()?;
    let today = today.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let audit = fairmark::audit::run(
        &prepared.config,
        prepared.key.clone(),
        &prepared.policy,
        Options { baseline, today },
        progress,
    )
    .await?;
    progress("writing outputs");
    let mut staging = Staging::run(out)?;
    let mut outputs = Vec::new();
    if let Some(segmentation) = &audit.segmentation {
        let sorted = segmentation
            .rows
            .clone()
            .sort_by(vec![datafusion::prelude::col("customer_token")])?;
        write_parquet(sorted, &staging.path("segments.parquet"))
            .await
            .context("writing segments.parquet")?;
        staging.write(
            "segment_summary.csv",
            segment_summary_csv(&segmentation.summary.segments).as_bytes(),
        )?;
        outputs.extend([
            "segments.parquet".to_string(),
            "segment_summary.csv".to_string(),
        ]);
    }
    if let Some(suppression) = &audit.suppression {
        write_parquet(suppression.clone(), &staging.path("suppression.parquet"))
            .await
            .context("writing suppression.parquet")?;
        outputs.push("suppression.parquet".to_string());
    }
    outputs.extend(REPORT_FILES.map(String::from));
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        engine: audit.engine.placement.clone(),
        config: config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        key_id: prepared.key.id().to_string(),
        policies: prepared
            .policy
            .packs
            .iter()
            .map(PackReference::from)
            .collect(),
        inputs: audit.engine.datasets.clone(),
        outcome: Report::outcome(&audit.findings, fail_on, fail_on_new),
        checks: audit.checks,
        findings: audit.findings,
        baseline: audit.baseline,
        waivers_judged_on: (!prepared.config.waivers.is_empty())
            .then(|| today.format("%Y-%m-%d").to_string()),
        segmentation: audit.segmentation.map(|s| s.summary),
        mail: audit.mail,
        probe: None,
        outputs,
        lang: lang.unwrap_or(prepared.config.lang),
    };
    write_reports(&mut staging, &report)?;
    staging.commit()?;
    let spills = spill_note(&audit.engine.runtime);
    Ok(Audited { report, spills })
}

/// The report files every run that judges findings writes: JSON, Markdown, HTML, SARIF, JUnit.
pub const REPORT_FILES: [&str; 5] = [
    "report.json",
    "report.md",
    "report.html",
    "report.sarif",
    "report.junit.xml",
];

/// Stages the [`REPORT_FILES`] of `report`.
pub fn write_reports(staging: &mut Staging, report: &Report) -> anyhow::Result<()> {
    staging.write("report.json", report::json::render(report).as_bytes())?;
    staging.write("report.md", report::markdown::render(report).as_bytes())?;
    staging.write("report.html", report::html::render(report).as_bytes())?;
    staging.write(
        "report.sarif",
        report::sarif::render_report(report).as_bytes(),
    )?;
    staging.write("report.junit.xml", report::junit::render(report).as_bytes())?;
    Ok(())
}

/// Said after the run, when the engine is dropped and its spill directory with it.
pub fn spill_note(runtime: &fairmark::engine::Runtime) -> Option<String> {
    let by_purpose = runtime.spill_files();
    let files: u64 = by_purpose.values().sum();
    (files > 0).then(|| {
        let purposes = by_purpose
            .iter()
            .map(|(purpose, count)| format!("{purpose} {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        let limit = runtime
            .memory_limit
            .map_or_else(|| "none".to_string(), |bytes| format!("{} MiB", bytes >> 20));
        format!(
            "spilled to disk {files} times ({purposes}) to stay within the memory limit ({limit}); the private spill directory was removed"
        )
    })
}

fn segment_summary_csv(segments: &[SegmentSummary]) -> String {
    let mut csv = String::from(
        "segment,customers,share,median_recency_days,median_frequency,median_monetary\n",
    );
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.2}"));
    for s in segments {
        let _ = writeln!(
            csv,
            "{},{},{:.4},{},{},{}",
            fairmark::escape::csv_cell(&s.segment),
            s.customers,
            s.share,
            number(s.median_recency_days),
            number(s.median_frequency),
            number(s.median_monetary)
        );
    }
    csv
}
