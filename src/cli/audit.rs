//! `fairmark audit`: run the audit ([`fairmark::audit::execute`] writes every output), print
//! the summary table, exit 1 when a finding reaches `--fail-on`.

use std::process::ExitCode;

use fairmark::audit::{Audited, Request, execute};
use fairmark::report::{self, Report};

use super::exit::EXIT_FINDINGS;
use super::progress::Progress;

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
    Ok(ExitCode::from(exit_code_number(&report)))
}

pub fn exit_code_number(report: &Report) -> u8 {
    if report.failed() { EXIT_FINDINGS } else { 0 }
}
