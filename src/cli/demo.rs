//! `fairmark demo`: generate the demo data set, audit it, say where everything is; or, with
//! `--serve`, serve the demo's pricing as an HTTP price API for `fairmark probe`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use fairmark::demo::Scenario;
use fairmark::demo::serve::{DemoPricing, probe_config as probe_config_text};
use fairmark::probe::server::PriceServer;
use fairmark::report;

pub async fn run(out: &Path, scenario: Scenario, serve: Option<u16>) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let input = out.join("input");
    let seed = scenario.seed;
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
    if let Some(port) = serve {
        return serve_prices(out, &data.config, port).await;
    }
    let report_dir = out.join("report");
    let progress = super::progress::Progress::start();
    let report = fairmark::audit::execute(
        fairmark::audit::Request::plain(&data.config, &report_dir),
        &|phase| progress.phase(phase),
    )
    .await?
    .report;
    drop(progress);
    print!("{}", report::table::render(&report));
    let beside: Vec<&str> = report
        .outputs
        .iter()
        .map(String::as_str)
        .filter(|name| *name != "report.md")
        .collect();
    println!(
        "Report: {} ({} beside it).",
        report_dir.join("report.md").display(),
        beside.join(", ")
    );
    println!(
        "In CI, `fairmark audit --config {} --out DIR` would exit {} on these findings.",
        data.config.display(),
        super::audit::exit_code_number(&report)
    );
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// Serves the demo's prices on 127.0.0.1:`port` until the process is stopped, after writing
/// `probe.toml` (the demo config with a `[probe]` section pointing at the service).
async fn serve_prices(out: &Path, config: &Path, port: u16) -> anyhow::Result<ExitCode> {
    let prepared = fairmark::audit::Prepared::load(config)?;
    let rules = fairmark::pricing::load_rules(&prepared.config)?
        .ok_or_else(|| anyhow::anyhow!("the demo config names no pricing rules"))?;
    let engine = fairmark::engine::Engine::open(
        &prepared.config,
        fairmark::functions::all(prepared.key.clone()),
    )
    .await?;
    let pricing = DemoPricing::load(&engine, &rules).await?;
    drop(engine);
    let server = PriceServer::start(port, 4, move |body| pricing.quote(body))?;
    let probe_config = out.join("input").join("probe.toml");
    std::fs::write(&probe_config, probe_config_text(&server.url()))
        .with_context(|| format!("writing {}", probe_config.display()))?;
    println!(
        "Serving the demo's prices at {} (POST a JSON object of attribute values with a sku; the demo rules and its planted tenure and iOS surcharges apply). Stop with Ctrl-C.",
        server.url()
    );
    println!(
        "Probe it: fairmark probe --config {} --out {}",
        probe_config.display(),
        out.join("probe").display()
    );
    tokio::task::block_in_place(|| server.wait());
    Ok(ExitCode::SUCCESS)
}
