//! `fairmark pseudonymize`: a tokenized, generalized copy of one dataset.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use fairmark::checks::privacy::k_anonymity;
use fairmark::engine::Engine;
use fairmark::functions;
use fairmark::output::{Staging, write_parquet};

use super::audit::Prepared;

pub async fn run(config_path: &Path, role: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let prepared = Prepared::load(config_path)?;
    let engine = Engine::open(&prepared.config, functions::all(prepared.key.clone())).await?;
    let settings: k_anonymity::Settings = prepared.policy.settings(k_anonymity::ID)?;
    let (frame, anonymity) =
        fairmark::pseudonymize::copy(&engine, &prepared.config, role, &settings.requirement())
            .await?;
    let file_name = out
        .file_name()
        .context("--out must name a file")?
        .to_string_lossy()
        .into_owned();
    let directory = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut staging = Staging::new(directory)?;
    let rows = write_parquet(frame, &staging.path(&file_name)).await?;
    staging.commit()?;
    println!(
        "Wrote {rows} rows to {} (key id {}).",
        out.display(),
        prepared.key.id()
    );
    if let Some(report) = anonymity {
        println!(
            "k-anonymity: required {}, achieved {}; {} rows suppressed ({:.2}% of quasi-identifier cells).",
            report.k_required,
            report.k_achieved,
            report.suppressed_rows,
            100.0 * report.suppressed_cell_share
        );
    }
    Ok(ExitCode::SUCCESS)
}
