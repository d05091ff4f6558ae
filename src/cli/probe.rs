//! `fairmark probe`: ask the pricing service of `[probe]` for quotes to matched twins and judge
//! them ([`fairmark::audit::probe`] writes the report), print the summary, exit 0/1/2 as
//! `audit` does.

use std::process::ExitCode;

use fairmark::audit::ProbeRequest;
use fairmark::escape::terminal_line;
use fairmark::report;

use super::audit::exit_code_number;
use super::progress::Progress;

pub async fn run(request: ProbeRequest<'_>) -> anyhow::Result<ExitCode> {
    let out = request.out;
    let progress = Progress::start();
    let report = fairmark::audit::probe(request, &|phase| progress.phase(phase), &|done, total| {
        progress.count("asking the pricing service", done, total)
    })
    .await?;
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
    println!("Report written to {}", out.join("report.md").display());
    Ok(ExitCode::from(exit_code_number(&report)))
}
