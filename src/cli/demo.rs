//! `fairmark demo`: generate the demo data set, audit it, say where everything is.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use fairmark::demo::{Scenario, Volume};
use fairmark::report;

pub async fn run(
    out: &Path,
    customers: u32,
    volume: Volume,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let input = out.join("input");
    let scenario = Scenario {
        volume,
        ..Scenario::demo(customers as usize, seed)
    };
    let data = fairmark::demo::generate(&input, &scenario)?;
    println!(
        "Generated {} customers, {} order lines and {} marketing messages in {} (seed {seed}).",
        data.customers,
        data.order_lines,
        data.mail_sends,
        input.display()
    );
    println!(
        "The demo uses a throw-away key derived from the seed ({}); it protects nothing. Use your own key for real data.",
        data.key_file.display()
    );
    let report_dir = out.join("report");
    let progress = super::progress::Progress::start();
    let report = super::audit::execute(
        super::audit::Request::plain(&data.config, &report_dir),
        &|phase| progress.phase(phase),
    )
    .await?
    .report;
    drop(progress);
    print!("{}", report::table::render(&report));
    println!(
        "Report: {} (report.json, report.html, segments.parquet, segment_summary.csv and suppression.parquet beside it).",
        report_dir.join("report.md").display()
    );
    println!(
        "In CI, `fairmark audit --config {} --out DIR` would exit {} on these findings.",
        data.config.display(),
        super::audit::exit_code_number(&report)
    );
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
