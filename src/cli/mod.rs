//! Command-line interface: one file per subcommand. Each turns validated arguments into
//! library calls, writes files and prints; the library itself never prints.

mod audit;
mod bench;
mod check_rules;
mod checks;
mod cluster;
mod demo;
mod exit;
mod init;
mod policy;
mod probe;
mod progress;
mod pseudonymize;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fairmark::demo::{Confounders, Scenario};
use fairmark::findings::Severity;

pub use exit::EXIT_ERROR;

/// Audits precision-marketing data against privacy, fair-pricing and anti-spam law, and
/// writes k-anonymous, pseudonymized customer segments.
///
/// Exit codes: 0 no finding at or above --fail-on; 1 there are; 2 usage, config or input error.
#[derive(Debug, Parser)]
#[command(name = "fairmark", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a realistic demo data set, audit it and print where the report is.
    Demo {
        /// Directory for the demo's input data and report.
        #[arg(long, default_value = "fairmark-demo")]
        out: PathBuf,
        /// Number of customers to generate.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
        customers: u32,
        #[command(flatten)]
        volume: Volume,
        /// Seed of the generator; the same seed gives the same data.
        #[arg(long, default_value_t = 20261123)]
        seed: u64,
        /// Plant nothing: the same shop with its legal price dynamics (promotions, tiers,
        /// member and payment discounts, coupons, cohort-blind price tests) and no cohort
        /// pricing, so that every pricing finding is a false alarm. For measuring them.
        #[arg(long, conflicts_with = "serve")]
        fair: bool,
        /// Instead of auditing, serve the demo's pricing (its rules and planted surcharges) as
        /// an HTTP price API on 127.0.0.1, for `fairmark probe`, until stopped.
        #[arg(long)]
        serve: bool,
        /// The port to serve on (0: any free port).
        #[arg(long, default_value_t = 8787, requires = "serve")]
        port: u16,
    },
    /// Measure the audit on a generated data set, phase by phase, and the core query side by
    /// side with DuckDB.
    Bench {
        #[arg(long, default_value = "fairmark-bench")]
        out: PathBuf,
        #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
        customers: u32,
        #[command(flatten)]
        volume: Volume,
        #[arg(long, default_value_t = 20261123)]
        seed: u64,
    },
    /// Propose a commented fairmark.toml for the data files in DIR, from statistics of their
    /// columns (no value is written).
    Init {
        /// The directory holding the data files.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The config to write (default: DIR/fairmark.toml).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite the config if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Audit the datasets of a config against its policy packs.
    Audit {
        /// The fairmark.toml to use.
        #[arg(long, default_value = "fairmark.toml")]
        config: PathBuf,
        /// Directory for the reports (JSON, Markdown, HTML, SARIF, JUnit), segments.parquet,
        /// segment_summary.csv and suppression.parquet.
        #[arg(long)]
        out: PathBuf,
        /// Exit 1 when any finding (not waived) is at or above this severity.
        #[arg(long, default_value = "high", value_parser = parse_severity)]
        fail_on: Severity,
        /// A previous audit (its report.json or output directory): every finding is marked new,
        /// persisting or resolved, and the report shows how customers moved between segments.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Fail only on findings new since --baseline.
        #[arg(long, requires = "baseline")]
        fail_on_new: bool,
        /// The day waivers are judged on, YYYY-MM-DD (default: today, UTC).
        #[arg(long, value_parser = parse_date)]
        today: Option<chrono::NaiveDate>,
        /// The language of the table, report.md and report.html: en or zh-CN (default: the
        /// config's `lang`, else en). report.json, SARIF and JUnit keep English keys.
        #[arg(long)]
        lang: Option<fairmark::config::Lang>,
        /// Run the queries on a Ballista cluster: its scheduler, df://HOST:PORT (started with
        /// `fairmark scheduler`; default: the config's `[engine] cluster`, else this process).
        #[arg(long, value_name = "df://HOST:PORT", value_parser = parse_cluster)]
        cluster: Option<String>,
    },
    /// Run a Ballista scheduler for `audit --cluster`, until stopped. It plans the audit's
    /// queries and hands them to the executors; it never holds the key.
    Scheduler {
        /// The config the audits use: the scheduler lists their datasets' files.
        #[arg(long, default_value = "fairmark.toml")]
        config: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// The host executors and audits reach this scheduler at (default: the bound address).
        #[arg(long)]
        external_host: Option<String>,
    },
    /// Run a Ballista executor for `audit --cluster`, until stopped: it runs the queries'
    /// tasks, reading the datasets itself, and makes tokens with the key it loads from the
    /// config, refusing plans made under another key.
    Executor {
        /// The config the audits use: its key and its datasets' object stores.
        #[arg(long, default_value = "fairmark.toml")]
        config: PathBuf,
        /// The scheduler, HOST:PORT or df://HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// The host the scheduler and audits reach this executor at (default: --bind-host).
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port, where results and shuffle data are fetched. The executor
        /// listens on no other: it polls the scheduler for tasks.
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Tasks run at once (0: one per core).
        #[arg(long, default_value_t = 0)]
        vcores: usize,
    },
    /// Probe a live pricing service with matched twins (profiles identical but for tenure,
    /// device or a protected attribute) and judge its quotes; the config's [probe] says how.
    Probe {
        #[arg(long, default_value = "fairmark.toml")]
        config: PathBuf,
        /// Directory for the reports (JSON, Markdown, HTML, SARIF, JUnit).
        #[arg(long)]
        out: PathBuf,
        /// Exit 1 when any finding is at or above this severity.
        #[arg(long, default_value = "high", value_parser = parse_severity)]
        fail_on: Severity,
        /// The language of the table, report.md and report.html: en or zh-CN.
        #[arg(long)]
        lang: Option<fairmark::config::Lang>,
    },
    /// Print a shell completion script: `fairmark completions bash > /etc/bash_completion.d/fairmark`.
    Completions { shell: clap_complete::Shell },
    /// Write a copy of a dataset with identifiers tokenized, quasi-identifiers generalized to
    /// k-anonymity and unmapped columns (free text) dropped.
    Pseudonymize {
        #[arg(long, default_value = "fairmark.toml")]
        config: PathBuf,
        /// The dataset role to copy: customers or orders.
        #[arg(long)]
        dataset: String,
        /// The Parquet file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Gate a change to the pricing rules: static analysis, and simulation on the configured
    /// customer base; with a base, only findings the change introduces fail.
    CheckRules {
        #[arg(long, default_value = "fairmark.toml")]
        config: PathBuf,
        /// The rules file to check (default: the config's pricing_rules).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The rules file before the change.
        #[arg(long, conflicts_with = "base_rev")]
        base: Option<PathBuf>,
        /// The git revision holding the rules before the change (e.g. origin/main).
        #[arg(long)]
        base_rev: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: check_rules::Format,
        /// Exit 1 when any (introduced) finding is at or above this severity.
        #[arg(long, default_value = "high", value_parser = parse_severity)]
        fail_on: Severity,
    },
    /// List or show policy packs.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// List every check with its default severity and the packs that enable it.
    Checks,
    /// Print a check's documentation: what it detects, why it matters, an example, legal basis.
    Explain {
        /// A check id, e.g. privacy.undeclared-pii.
        id: String,
    },
}

/// How much data to generate beyond the customers.
#[derive(Debug, clap::Args)]
struct Volume {
    /// About this many order lines (default: about 11 per customer, as the demo's habits give).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    orders: Option<u64>,
    /// At least this many marketing messages (default: the demo's five campaigns, about one
    /// per customer); the rest are a consented newsletter.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    messages: Option<u64>,
}

impl Volume {
    fn for_customers(&self, customers: u32) -> fairmark::demo::Volume {
        fairmark::demo::Volume::about(customers as usize, self.orders, self.messages)
    }
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// List the built-in packs.
    List,
    /// Show a pack's legal bases and check settings.
    Show {
        /// A built-in pack name or a path to a pack file.
        name: String,
    },
}

fn parse_cluster(text: &str) -> Result<String, String> {
    fairmark::engine::cluster::scheduler_address(text).map(|_| text.to_string())
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "expected YYYY-MM-DD".into())
}

impl Cli {
    /// Whether the command only reads local files and prints (no object storage, cluster or
    /// price service).
    pub fn only_prints(&self) -> bool {
        matches!(
            self.command,
            Command::Checks
                | Command::Explain { .. }
                | Command::Policy { .. }
                | Command::Completions { .. }
                | Command::Init { .. }
        )
    }

    /// Whether SIGINT and SIGTERM end the process through fairmark's handler, which removes
    /// the private directories first. Not a scheduler or an executor: Ballista stops those
    /// itself, and an executor's directory goes when its runtime is dropped.
    pub fn cleans_up_on_signal(&self) -> bool {
        !matches!(
            self.command,
            Command::Scheduler { .. } | Command::Executor { .. }
        )
    }
}

impl Command {
    /// The command's file and directory arguments: all local. Only dataset paths, in the
    /// config, may be on object storage.
    fn local_paths(&self) -> Vec<(&'static str, &std::path::Path)> {
        fn optional<'a>(
            flag: &'static str,
            path: &'a Option<PathBuf>,
        ) -> Option<(&'static str, &'a std::path::Path)> {
            path.as_deref().map(|p| (flag, p))
        }
        match self {
            Command::Demo { out, .. } | Command::Bench { out, .. } => vec![("--out", out)],
            Command::Init { dir, out, .. } => {
                [Some(("DIR", dir.as_path())), optional("--out", out)]
                    .into_iter()
                    .flatten()
                    .collect()
            }
            Command::Audit {
                config,
                out,
                baseline,
                ..
            } => [
                Some(("--config", config.as_path())),
                Some(("--out", out.as_path())),
                optional("--baseline", baseline),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Command::Probe { config, out, .. } | Command::Pseudonymize { config, out, .. } => {
                vec![("--config", config), ("--out", out)]
            }
            Command::Scheduler { config, .. } | Command::Executor { config, .. } => {
                vec![("--config", config)]
            }
            Command::CheckRules {
                config,
                rules,
                base,
                ..
            } => [
                Some(("--config", config.as_path())),
                optional("--rules", rules),
                optional("--base", base),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Command::Completions { .. }
            | Command::Checks
            | Command::Explain { .. }
            | Command::Policy { .. } => Vec::new(),
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some((flag, path)) = cli
        .command
        .local_paths()
        .into_iter()
        .find(|(_, path)| fairmark::config::url_scheme(&path.to_string_lossy()).is_some())
    {
        return Err(fairmark::error::Error::Usage(format!(
            "{flag} {}: a local path is expected here; only the datasets' `path` in fairmark.toml may be on object storage (s3://)",
            path.display()
        ))
        .into());
    }
    match cli.command {
        Command::Demo {
            out,
            customers,
            volume,
            seed,
            fair,
            serve,
            port,
        } => {
            let scenario = if fair {
                Scenario::fair(customers as usize, seed, Confounders::ALL)
            } else {
                Scenario::demo(customers as usize, seed)
            };
            with_runtime(demo::run(
                &out,
                Scenario {
                    volume: volume.for_customers(customers),
                    ..scenario
                },
                serve.then_some(port),
            ))
        }
        Command::Bench {
            out,
            customers,
            volume,
            seed,
        } => with_runtime(bench::run(
            &out,
            customers,
            volume.for_customers(customers),
            seed,
        )),
        Command::Init { dir, out, force } => with_runtime(init::run(&dir, out.as_deref(), force)),
        Command::Audit {
            config,
            out,
            fail_on,
            baseline,
            fail_on_new,
            today,
            lang,
            cluster,
        } => with_runtime(audit::run(fairmark::audit::Request {
            config: &config,
            out: &out,
            fail_on,
            fail_on_new,
            baseline: baseline.as_deref(),
            today,
            lang,
            cluster,
        })),
        Command::Scheduler {
            config,
            bind,
            external_host,
        } => with_runtime(cluster::scheduler(&config, bind, external_host)),
        Command::Executor {
            config,
            scheduler,
            bind_host,
            external_host,
            port,
            vcores,
        } => with_runtime(cluster::executor(cluster::ExecutorRequest {
            config: &config,
            scheduler: &scheduler,
            bind_host,
            external_host,
            flight_port: port,
            vcores,
        })),
        Command::Probe {
            config,
            out,
            fail_on,
            lang,
        } => with_runtime(probe::run(fairmark::audit::ProbeRequest {
            config: &config,
            out: &out,
            fail_on,
            lang,
        })),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "fairmark",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Pseudonymize {
            config,
            dataset,
            out,
        } => with_runtime(pseudonymize::run(&config, &dataset, &out)),
        Command::CheckRules {
            config,
            rules,
            base,
            base_rev,
            format,
            fail_on,
        } => with_runtime(check_rules::run(check_rules::Arguments {
            config,
            rules,
            base,
            base_rev,
            format,
            fail_on,
        })),
        Command::Policy {
            command: PolicyCommand::List,
        } => policy::list(),
        Command::Policy {
            command: PolicyCommand::Show { name },
        } => policy::show(&name),
        Command::Checks => checks::list(),
        Command::Explain { id } => checks::explain(&id),
    }
}

fn with_runtime(work: impl Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(work)
}
