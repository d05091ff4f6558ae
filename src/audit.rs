//! One audit, and one probe, from a config to the files they write. [`run`] opens the engine on
//! the configured datasets, runs every check of the registry (each runs if a pack enables it
//! and what it needs is there) and returns the findings, what ran and what was skipped, the
//! segmentation and the suppression list; [`execute`] and [`probe`] add the baseline, assemble
//! the [`Report`] and write every output at once. Nothing here prints: the commands (`audit`,
//! `demo`, `bench`, `probe`) render the summary and choose the exit code.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::prelude::col;

use crate::baseline::{Baseline, BaselineSummary, segment_shift};
use crate::checks::{self, CheckRun, Context, Need, Table, mail};
use crate::comparison::Comparison;
use crate::config::{Config, Lang};
use crate::derived::mail_breakdown::MailBreakdown;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::findings::{BaselineStatus, Finding, Severity};
use crate::output::{Staging, write_parquet};
use crate::policy::EffectivePolicy;
use crate::pricing;
use crate::pseudonym::Key;
use crate::report::{self, PackReference, Report, Tool};
use crate::segment::Segmentation;

/// Everything a run needs before it touches data: config, policy packs, key.
pub struct Prepared {
    pub config: Config,
    pub policy: EffectivePolicy,
    pub key: Arc<Key>,
}

impl Prepared {
    pub fn load(config_path: &Path) -> Result<Prepared> {
        let config = Config::load(config_path)?;
        let policy = EffectivePolicy::for_config(&config, &checks::Registry)?;
        let key = Arc::new(Key::load(&config.key, &config.base_dir)?);
        Ok(Prepared {
            config,
            policy,
            key,
        })
    }

    /// A report of this run with the parts every report has; the caller adds the rest.
    fn report(
        &self,
        engine: &Engine,
        findings: Vec<Finding>,
        checks: Vec<CheckRun>,
        outcome: report::Outcome,
        lang: Option<Lang>,
    ) -> Report {
        Report {
            schema_version: report::SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            engine: engine.placement.clone(),
            config: Path::new(&self.config.file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            key_id: self.key.id().to_string(),
            policies: self.policy.packs.iter().map(PackReference::from).collect(),
            inputs: engine.datasets.clone(),
            outcome,
            checks,
            findings,
            baseline: None,
            waivers_judged_on: None,
            segmentation: None,
            mail: None,
            probe: None,
            coverage: Vec::new(),
            comparisons: Vec::new(),
            outputs: report::write::FILES.map(String::from).to_vec(),
            lang: lang.unwrap_or(self.config.lang),
        }
    }
}

/// One `fairmark audit`: where its config is and its outputs go, and how it judges.
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

/// What an audit wrote, and whether it had to spill to disk to stay within its memory limit.
pub struct Audited {
    pub report: Report,
    /// A sentence on the spill files, when there were any.
    pub spills: Option<String>,
}

/// Runs the audit and writes its outputs into `out`, all or nothing; `progress` hears each phase.
pub async fn execute(request: Request<'_>, progress: &(dyn Fn(&str) + Sync)) -> Result<Audited> {
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
    let audit = run(
        &prepared.config,
        prepared.key.clone(),
        &prepared.policy,
        Options { baseline, today },
        progress,
    )
    .await?;
    progress("writing outputs");
    let mut staging = Staging::run(out)?;
    let mut outputs = write_tables(&audit, &mut staging).await?;
    outputs.extend(report::write::FILES.map(String::from));
    let Audit {
        engine,
        findings,
        baseline,
        checks,
        comparisons,
        segmentation,
        mail,
        ..
    } = audit;
    let outcome = Report::outcome(&findings, fail_on, fail_on_new);
    let report = Report {
        baseline,
        waivers_judged_on: (!prepared.config.waivers.is_empty())
            .then(|| today.format("%Y-%m-%d").to_string()),
        segmentation: segmentation.map(|s| s.summary),
        mail,
        coverage: crate::comparison::coverage(&comparisons),
        comparisons,
        outputs,
        ..prepared.report(&engine, findings, checks, outcome, lang)
    };
    report::write::write_all(&mut staging, &report)?;
    staging.commit()?;
    let spills = engine.runtime.spill_note();
    Ok(Audited { report, spills })
}

/// Stages the audit's tables (the sanitized segmentation, its summary, the suppression list)
/// and returns their file names.
async fn write_tables(audit: &Audit, staging: &mut Staging) -> Result<Vec<String>> {
    let mut outputs = Vec::new();
    if let Some(segmentation) = &audit.segmentation {
        let sorted = segmentation
            .rows
            .clone()
            .sort_by(vec![col("customer_token")])?;
        write_parquet(sorted, &staging.path("segments.parquet")).await?;
        staging.write(
            "segment_summary.csv",
            report::segment_csv::render(&segmentation.summary.segments).as_bytes(),
        )?;
        outputs.extend([
            "segments.parquet".to_string(),
            "segment_summary.csv".to_string(),
        ]);
    }
    if let Some(suppression) = &audit.suppression {
        write_parquet(suppression.clone(), &staging.path("suppression.parquet")).await?;
        outputs.push("suppression.parquet".to_string());
    }
    Ok(outputs)
}

/// One `fairmark probe`: where its config is and its report goes, and how it judges.
pub struct ProbeRequest<'a> {
    pub config: &'a Path,
    pub out: &'a Path,
    pub fail_on: Severity,
    pub lang: Option<Lang>,
}

/// Asks the pricing service of `[probe]` for quotes to matched twins, judges them with the
/// probe checks and writes the report into `out`; `progress` hears each phase and `asked` how
/// many of the planned requests are done.
pub async fn probe(
    request: ProbeRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    asked: &(dyn Fn(u64, u64) + Sync),
) -> Result<Report> {
    let prepared = Prepared::load(request.config)?;
    let config = &prepared.config;
    let Some(service) = &config.probe else {
        return Err(Error::config(
            &config.file,
            "no [probe] section: name the pricing service to probe (endpoint = \"http://…\" or command = […]) and its request template",
        ));
    };
    if config.datasets.orders.is_none() {
        return Err(Error::config(
            &config.file,
            "[probe] builds its twins on the customer features, which need [datasets.orders] (and, for attributes, [datasets.customers])",
        ));
    }
    progress("reading datasets");
    let engine = Engine::open(config, crate::functions::all(prepared.key.clone())).await?;
    let cx = Context::new(config, &prepared.policy, None, Some(&engine), progress);
    cx.table(Table::CustomerFeatures).await?;
    progress("asking the pricing service");
    let probed = crate::probe::run(&engine, config, &prepared.policy, service, asked).await?;
    let cx = cx.with_probe(&probed.answers);
    let checks::Ran {
        findings,
        runs: checks,
        ..
    } = checks::run(&cx, |check| check.needs().contains(&Need::Probe)).await?;
    progress("writing outputs");
    let outcome = Report::outcome(&findings, request.fail_on, false);
    let report = Report {
        probe: Some(probed.summary),
        ..prepared.report(&engine, findings, checks, outcome, request.lang)
    };
    let mut staging = Staging::run(request.out)?;
    report::write::write_all(&mut staging, &report)?;
    staging.commit()?;
    Ok(report)
}

/// What an audit is compared with, and the day its waivers are judged on.
pub struct Options {
    pub baseline: Option<Baseline>,
    pub today: NaiveDate,
}

pub struct Audit {
    pub engine: Engine,
    /// The checks' findings, waived ones marked, and the findings about the waivers.
    pub findings: Vec<Finding>,
    pub baseline: Option<BaselineSummary>,
    pub checks: Vec<CheckRun>,
    /// The verdict on every SKU × cohort comparison, flagged or not.
    pub comparisons: Vec<Comparison>,
    pub segmentation: Option<Segmentation>,
    /// Recipient tokens not to contact, when the config has mail sends.
    pub suppression: Option<datafusion::prelude::DataFrame>,
    /// Every campaign's messages by consent and quiet hours, when consent can be judged.
    pub mail: Option<MailBreakdown>,
}

/// Runs the audit; `progress` hears the name of each phase as it starts.
pub async fn run(
    config: &Config,
    key: Arc<Key>,
    policy: &EffectivePolicy,
    options: Options,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Audit> {
    // Rules first: a rules file that does not parse is a config error, before any scan.
    let rules = pricing::load_rules(config)?;
    progress("reading datasets");
    let key_id = key.id().to_string();
    let engine = Engine::open(config, crate::functions::all(key)).await?;
    let cx = Context::new(config, policy, rules.as_ref(), Some(&engine), progress);
    // The probe checks judge a live service's quotes, which only `fairmark probe` asks for.
    let checks::Ran {
        mut findings,
        comparisons,
        runs: checks,
    } = checks::run(&cx, |check| !check.needs().contains(&checks::Need::Probe)).await?;
    let about_waivers = checks::waiver::apply(&mut findings, &config.waivers, options.today);
    findings.extend(about_waivers);
    crate::findings::sort(&mut findings);
    let suppression = match cx.unmet(&[checks::Need::Table(Table::JudgedSends)]) {
        None => {
            // The provider registers the sends and consents views the list is read from.
            cx.table(Table::JudgedSends).await?;
            let required = mail::opt_in_required(policy)?;
            Some(crate::derived::judged_sends::suppression(&engine, config, &required).await?)
        }
        Some(_) => None,
    };
    let mail = mail::breakdown::breakdown(&cx).await?;
    let segmentation = cx.published_segmentation().await?;
    let baseline = match &options.baseline {
        Some(baseline) => {
            progress("comparing with the baseline");
            let resolved = baseline.compare(&mut findings);
            let persisting = findings
                .iter()
                .filter(|f| f.baseline == Some(BaselineStatus::Persisting))
                .count();
            let (segment_shift, segment_shift_skipped) = match (&segmentation, &baseline.segments) {
                (None, _) => (None, Some("this audit has no segmentation".to_string())),
                (_, None) => (
                    None,
                    Some("the baseline has no segments.parquet beside its report".to_string()),
                ),
                _ if baseline.key_id != key_id => (
                    None,
                    Some(format!(
                        "the baseline was written under key {}, this audit under key {key_id}: tokens do not match across keys",
                        baseline.key_id
                    )),
                ),
                (Some(segmentation), Some(path)) => (
                    Some(segment_shift(&engine, &segmentation.rows, path).await?),
                    None,
                ),
            };
            Some(BaselineSummary {
                source: baseline.source.clone(),
                new: findings.len() - persisting,
                persisting,
                resolved,
                segment_shift,
                segment_shift_skipped,
            })
        }
        None => None,
    };
    Ok(Audit {
        engine,
        baseline,
        findings,
        checks,
        comparisons,
        segmentation,
        suppression,
        mail,
    })
}
