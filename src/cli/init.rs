//! `fairmark init [DIR]`: writes a proposed `fairmark.toml` for the data files in DIR and says
//! what it found.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use fairmark::error::Error;
use fairmark::escape::terminal_line;

pub async fn run(dir: &Path, out: Option<&Path>, force: bool) -> anyhow::Result<ExitCode> {
    let out = out.map_or_else(|| dir.join("fairmark.toml"), Path::to_path_buf);
    // Refused before any file is read: the answer does not depend on the data.
    if out.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists; pass --force to overwrite it, or --out to write elsewhere",
            out.display()
        ))
        .into());
    }
    let proposal = fairmark::init::propose(dir, &out).await?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .create(force)
        .create_new(!force)
        .open(&out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    file.write_all(proposal.text.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    let summary = proposal.summary;
    println!(
        "Wrote {}: a proposal to review, each setting with why it was chosen.",
        out.display()
    );
    let width = summary
        .datasets
        .iter()
        .map(|d| d.path.len())
        .max()
        .unwrap_or(0);
    for dataset in &summary.datasets {
        let files = match dataset.files {
            1 => String::new(),
            n => format!(" ({n} files)"),
        };
        let unmapped = match dataset.unmapped.len() {
            0 => String::new(),
            n => format!("; {n} left unmapped: {}", dataset.unmapped.join(", ")),
        };
        println!(
            "  {:<10}  {:<width$}  {} columns mapped{}{files}",
            dataset.role,
            terminal_line(&dataset.path),
            dataset.mapped,
            terminal_line(&unmapped)
        );
    }
    match &summary.pricing_rules {
        Some(rules) => println!(
            "Pricing rules: {}. Key: {}.",
            terminal_line(rules),
            terminal_line(&summary.key)
        ),
        None => println!(
            "Pricing rules: none found. Key: {}.",
            terminal_line(&summary.key)
        ),
    }
    for note in &summary.not_used {
        println!("Not used: {}", terminal_line(note));
    }
    Ok(ExitCode::SUCCESS)
}
