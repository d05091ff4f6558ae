//! `fairmark check-rules`: the CI gate on pricing rules. Static analysis, plus the simulation
//! when the config has datasets; with a base (a file or a git revision), only findings the
//! change introduces can fail the build.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::ValueEnum;
use fairmark::checks::{self, Need};
use fairmark::config::Config;
use fairmark::engine::Engine;
use fairmark::escape::terminal;
use fairmark::findings::{Finding, Severity};
use fairmark::policy::EffectivePolicy;
use fairmark::pricing::{self, rules::RulesFile};
use fairmark::pseudonym::Key;
use fairmark::report::junit;
use fairmark::report::sarif::{self, BaselineState};
use serde_json::json;
use tabled::settings::Style;
use tabled::{Table, Tabled};

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

#[derive(Tabled)]
struct Row {
    change: &'static str,
    severity: String,
    check: String,
    #[tabled(rename = "where")]
    location: String,
    finding: String,
}

/// The findings of the checks that judge a rules file (those that need one), on the rules of
/// `cx`; a check whose data is missing (the simulation without datasets) does not run.
/// The pricing-rule checks' findings, and how each of those checks ran.
async fn rule_findings(
    cx: &checks::Context<'_>,
) -> anyhow::Result<(Vec<Finding>, Vec<checks::CheckRun>)> {
    let reads_rules = |check: &dyn checks::Check| check.needs().contains(&Need::PricingRules);
    let (findings, runs) = checks::run(cx, reads_rules).await?;
    let runs = runs
        .into_iter()
        .filter(|run| checks::find(run.id).is_some_and(reads_rules))
        .collect();
    Ok((findings, runs))
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

    // The simulation needs the datasets (and so the key); without an orders dataset the gate is
    // static analysis only.
    let engine = match &config.datasets.orders {
        Some(_) => {
            let key = std::sync::Arc::new(Key::load(&config.key, &config.base_dir)?);
            // The simulation reads customers and orders; the mail datasets are not opened.
            Some(
                Engine::open_only(&config, fairmark::functions::all(key), |role| {
                    role == "customers" || role == "orders"
                })
                .await?,
            )
        }
        None => None,
    };
    let quiet = |_: &str| {};
    let mut cx = checks::Context::new(&config, &policy, Some(&head), engine.as_ref(), &quiet);
    // The gate's checks read the features only through the rules' conditions.
    let names_totals = |rules: &RulesFile| rules.names_any(pricing::ORDER_TOTALS);
    if !names_totals(&head) && !base.as_ref().is_some_and(names_totals) {
        cx = cx.without_order_totals();
    }
    let (head_findings, head_runs) = rule_findings(&cx).await?;
    let base_findings = match &base {
        Some(base) => {
            let base = retarget(base, &shown_path);
            Some(rule_findings(&cx.with_rules(Some(&base))).await?.0)
        }
        None => None,
    };

    let states = compare(&head_findings, base_findings.as_deref());
    let fails = |finding: &Finding, state: Option<BaselineState>| {
        finding.severity >= arguments.fail_on
            && state != Some(BaselineState::Absent)
            && state != Some(BaselineState::Unchanged)
    };
    let failing = states.iter().filter(|(f, state)| fails(f, *state)).count();
    match arguments.format {
        Format::Sarif => print!("{}", sarif::render(&states)),
        Format::Junit => {
            let current: Vec<Finding> = states
                .iter()
                .filter(|(_, state)| *state != Some(BaselineState::Absent))
                .map(|(f, _)| f.clone())
                .collect();
            let state_of = |finding: &Finding| {
                states
                    .iter()
                    .find(|(f, _)| f.fingerprint == finding.fingerprint)
                    .and_then(|(_, state)| *state)
            };
            print!(
                "{}",
                junit::render_runs(&head_runs, &current, |f| fails(f, state_of(f)))
            );
        }
        Format::Json => {
            let group = |wanted: Option<BaselineState>| {
                states
                    .iter()
                    .filter(|(_, s)| *s == wanted)
                    .map(|(f, _)| f)
                    .collect::<Vec<_>>()
            };
            let document = json!({
                "schema_version": fairmark::report::SCHEMA_VERSION,
                "rules": shown_path,
                "fail_on": arguments.fail_on,
                "failing_findings": failing,
                "introduced": if base.is_some() { json!(group(Some(BaselineState::New))) } else { json!(group(None)) },
                "kept": group(Some(BaselineState::Unchanged)),
                "resolved": group(Some(BaselineState::Absent)),
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
        }
        Format::Table => {
            let rows: Vec<Row> = states
                .iter()
                .map(|(f, state)| Row {
                    change: match state {
                        None => "",
                        Some(BaselineState::New) => "introduced",
                        Some(BaselineState::Unchanged) => "kept",
                        Some(BaselineState::Absent) => "resolved",
                    },
                    severity: f.severity.to_string(),
                    check: terminal(&f.check).into_owned(),
                    location: f.location.as_ref().map_or_else(String::new, |l| {
                        terminal(&format!("{}:{}:{}", l.file, l.line, l.column)).into_owned()
                    }),
                    finding: terminal(&f.title).into_owned(),
                })
                .collect();
            if rows.is_empty() {
                println!("No findings.");
            } else {
                println!("{}", Table::new(rows).with(Style::rounded()));
            }
            let scope = if base.is_some() {
                "introduced by this change "
            } else {
                ""
            };
            println!(
                "{failing} finding(s) {scope}at or above {}.",
                arguments.fail_on
            );
        }
    }
    Ok(if failing > 0 {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

/// Base findings point at the head's file name, so that resolved findings read naturally.
fn retarget(base: &RulesFile, path: &str) -> RulesFile {
    RulesFile {
        path: path.to_string(),
        rules: base.rules.clone(),
    }
}

/// Pairs head findings with their state against the base (by fingerprint), and appends the
/// base findings the change resolves.
fn compare(head: &[Finding], base: Option<&[Finding]>) -> Vec<(Finding, Option<BaselineState>)> {
    let Some(base) = base else {
        return head.iter().map(|f| (f.clone(), None)).collect();
    };
    let base_prints: BTreeSet<&str> = base.iter().map(|f| f.fingerprint.as_str()).collect();
    let head_prints: BTreeSet<&str> = head.iter().map(|f| f.fingerprint.as_str()).collect();
    let mut states: Vec<(Finding, Option<BaselineState>)> = head
        .iter()
        .map(|f| {
            let state = if base_prints.contains(f.fingerprint.as_str()) {
                BaselineState::Unchanged
            } else {
                BaselineState::New
            };
            (f.clone(), Some(state))
        })
        .collect();
    states.extend(
        base.iter()
            .filter(|f| !head_prints.contains(f.fingerprint.as_str()))
            .map(|f| (f.clone(), Some(BaselineState::Absent))),
    );
    states
}
