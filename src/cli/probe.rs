//! `fairmark probe`: ask the pricing service of `[probe]` for quotes to matched twins, judge
//! them with the probe checks, write the report, exit 0/1/2 as `audit` does.

use std::path::Path;
use std::process::ExitCode;

use fairmark::checks::{self, Context, Need, Table};
use fairmark::config::Lang;
use fairmark::engine::Engine;
use fairmark::error::Error;
use fairmark::escape::terminal_line;
use fairmark::findings::Severity;
use fairmark::output::Staging;
use fairmark::report::{self, PackReference, Report, Tool};

use super::audit::{Prepared, REPORT_FILES, exit_code_number, write_reports};
use super::progress::Progress;

pub struct Request<'a> {
    pub config: &'a Path,
    pub out: &'a Path,
    pub fail_on: Severity,
    pub lang: Option<Lang>,
}

pub async fn run(request: Request<'_>) -> anyhow::Result<ExitCode> {
    let Prepared {
        config,
        policy,
        key,
    } = Prepared::load(request.config)?;
    let Some(probe) = &config.probe else {
        return Err(Error::config(
            &config.file,
            "no [probe] section: name the pricing service to probe (endpoint = \"http://…\" or command = […]) and its request template",
        )
        .into());
    };
    if config.datasets.orders.is_none() {
        return Err(Error::config(
            &config.file,
            "[probe] builds its twins on the customer features, which need [datasets.orders] (and, for attributes, [datasets.customers])",
        )
        .into());
    }
    let progress = Progress::start();
    let phase = |name: &str| progress.phase(name);
    phase("reading datasets");
    let engine = Engine::open(&config, fairmark::functions::all(key.clone())).await?;
    let cx = Context::new(&config, &policy, None, Some(&engine), &phase);
    cx.table(Table::CustomerFeatures).await?;
    phase("asking the pricing service");
    let probed = fairmark::probe::run(&engine, &config, &policy, probe, &|done, total| {
        progress.count("asking the pricing service", done, total)
    })
    .await?;
    let cx = cx.with_probe(&probed.answers);
    let (findings, checks) = checks::run(&cx, |check| check.needs().contains(&Need::Probe)).await?;
    phase("writing outputs");
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        engine: engine.placement.clone(),
        config: request
            .config
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        key_id: key.id().to_string(),
        policies: policy.packs.iter().map(PackReference::from).collect(),
        inputs: engine.datasets.clone(),
        outcome: Report::outcome(&findings, request.fail_on, false),
        checks,
        findings,
        baseline: None,
        waivers_judged_on: None,
        segmentation: None,
        mail: None,
        probe: Some(probed.summary),
        outputs: REPORT_FILES.map(String::from).to_vec(),
        lang: request.lang.unwrap_or(config.lang),
    };
    let mut staging = Staging::run(request.out)?;
    write_reports(&mut staging, &report)?;
    staging.commit()?;
    drop(progress);
    print!("{}", report::table::render(&report));
    let summary = report.probe.as_ref().expect("a probe report");
    println!(
        "Probed {} in {:.1} s: {} requests made ({} retried, {} failed, {} malformed), {} of {} twin pairs answered.",
        terminal_line(&summary.service),
        summary.seconds,
        summary.requests_made,
        summary.requests_retried,
        summary.requests_failed,
        summary.requests_malformed,
        summary.pairs_answered,
        summary.pairs_planned
    );
    if !summary.complete {
        eprintln!(
            "fairmark: the probe is incomplete: {} of {} pairs lack a price{}; run it again with the same log ({}) to ask only those",
            summary.pairs_planned - summary.pairs_answered,
            summary.pairs_planned,
            if summary.stopped_by_budget {
                format!(" (the budget of {} requests ran out)", summary.budget)
            } else {
                String::new()
            },
            terminal_line(&summary.log)
        );
    }
    println!(
        "Report written to {}",
        request.out.join("report.md").display()
    );
    Ok(ExitCode::from(exit_code_number(&report)))
}
