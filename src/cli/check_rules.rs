//! `fairmark check-rules`: the CI gate on pricing rules. Finds the head and base rules (a file
//! or a git revision), runs [`fairmark::gate`] on them and prints the result in the format
//! asked; with a base, only findings new in the change can fail the build.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::ValueEnum;
use fairmark::checks;
use fairmark::config::Config;
use fairmark::findings::Severity;
use fairmark::policy::EffectivePolicy;
use fairmark::pricing;
use fairmark::report;

use super::exit::EXIT_FINDINGS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    /// JUnit XML for GitLab, Jenkins and Azure test reports.
    Junit,
}

pub struct Arguments {
    pub config: PathBuf,
    pub rules: Option<PathBuf>,
    pub base: Option<PathBuf>,
    pub base_rev: Option<String>,
    pub format: Format,
    pub fail_on: Severity,
}

/// The rules file to check: `--rules`, else the config's `pricing_rules`. Returns its path as
/// shown in findings (relative to the config where it can be) and its location on disk.
fn rules_path(config: &Config, override_path: Option<&Path>) -> anyhow::Result<(String, PathBuf)> {
    match (override_path, &config.pricing_rules) {
        (Some(path), _) => Ok((path.display().to_string(), path.to_path_buf())),
        (None, Some(relative)) => Ok((relative.clone(), config.base_dir.join(relative))),
        (None, None) => bail!(
            "{}: no pricing_rules file is configured; pass --rules FILE",
            config.file
        ),
    }
}

/// The base version of the rules: from a file, or from git at a revision (absent there means
/// no rules, so every finding is introduced).
fn base_text(arguments: &Arguments, rules_on_disk: &Path) -> anyhow::Result<Option<String>> {
    if let Some(path) = &arguments.base {
        return std::fs::read_to_string(path)
            .map(Some)
            .with_context(|| format!("cannot read --base {}", path.display()));
    }
    let Some(revision) = &arguments.base_rev else {
        return Ok(None);
    };
    let directory = rules_on_disk
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = rules_on_disk
        .file_name()
        .context("the rules path names no file")?
        .to_string_lossy()
        .into_owned();
    let output = Command::new("git")
        .arg("-C")
        .arg(directory)
        .args(["show", &format!("{revision}:./{file_name}")])
        .output()
        .context("cannot run git for --base-rev")?;
    if output.status.success() {
        return Ok(Some(
            String::from_utf8(output.stdout).context("the base rules are not UTF-8")?,
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("does not exist") || stderr.contains("exists on disk, but not in") {
        return Ok(Some(String::new()));
    }
    bail!(
        "git show {revision}:{file_name} failed: {}",
        stderr.lines().next().unwrap_or("unknown error")
    )
}

pub async fn run(arguments: Arguments) -> anyhow::Result<ExitCode> {
    let config = Config::load(&arguments.config)?;
    let policy = EffectivePolicy::for_config(&config, &checks::Registry)?;
    let (shown_path, on_disk) = rules_path(&config, arguments.rules.as_deref())?;
    let text = std::fs::read_to_string(&on_disk)
        .with_context(|| format!("cannot read the pricing rules {}", on_disk.display()))?;
    let head = pricing::parse_rules(&config, &text, &shown_path)?;
    let base = base_text(&arguments, &on_disk)?
        .map(|t| pricing::parse_rules(&config, &t, &format!("{shown_path} (base)")))
        .transpose()?;
    let gate =
        fairmark::gate::run(&config, &policy, &head, base.as_ref(), arguments.fail_on).await?;
    let rendered = match arguments.format {
        Format::Table => report::table::render_gate(&gate),
        Format::Json => report::json::render_gate(&gate),
        Format::Sarif => report::sarif::render(&gate.findings, &gate.resolved),
        Format::Junit => {
            report::junit::render_runs(&gate.checks, &gate.findings, |f| gate.fails(f))
        }
    };
    print!("{rendered}");
    Ok(if gate.failing_findings > 0 {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}
