//! `fairmark bench`: measures the audit on a generated data set of any size, phase by phase
//! (time and peak memory), and the same work done by DuckDB on the same files, when its
//! Python module is installed (`benches/duckdb/`: one SQL file per phase, each saying where it
//! differs). Speed is measured here, never asserted in tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context as _;

use fairmark::demo::{Scenario, Volume};

/// What a generated data set was generated with: a bench on the same settings reuses it, since
/// generating ten million orders takes longer than auditing them.
fn generation_stamp(customers: u32, volume: Volume, seed: u64) -> String {
    format!(
        "fairmark {} customers={customers} order_density={} min_messages={} seed={seed}\n",
        env!("CARGO_PKG_VERSION"),
        volume.order_density,
        volume.min_messages
    )
}

pub async fn run(
    out: &Path,
    customers: u32,
    volume: Volume,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let input = out.join("input");
    let stamp_file = input.join("generated-with.txt");
    let stamp = generation_stamp(customers, volume, seed);
    let config = input.join("fairmark.toml");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        println!("Data: reusing {} (same settings).", input.display());
    } else {
        let generated = Instant::now();
        let scenario = Scenario {
            volume,
            ..Scenario::demo(customers as usize, seed)
        };
        let data = fairmark::demo::generate(&input, &scenario)?;
        std::fs::write(&stamp_file, &stamp)?;
        println!(
            "Data: {} customers, {} order lines, {} messages (generated in {:.1} s).",
            data.customers,
            data.order_lines,
            data.mail_sends,
            generated.elapsed().as_secs_f64()
        );
        // Measured in a fresh process: the generator's memory is not the audit's.
        let status = Command::new(std::env::current_exe()?)
            .args(std::env::args_os().skip(1))
            .status()
            .context("could not start fairmark again to measure")?;
        return Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        });
    }

    let phases = Phases::default();
    let started = Instant::now();
    phases.start("opening the datasets");
    let report_dir = out.join("report");
    let audited = fairmark::audit::execute(
        fairmark::audit::Request::plain(&config, &report_dir),
        &|phase| phases.start(phase),
    )
    .await?;
    let report = audited.report;
    if let Some(spills) = audited.spills {
        println!("The audit {spills}.");
    }
    phases.start("pseudonymize --dataset orders");
    let audit_seconds = started.elapsed().as_secs_f64();
    super::pseudonymize::run(&config, "orders", &out.join("orders.pseudonymized.parquet")).await?;
    phases.start("(end)");
    let phases = phases.finished();
    println!(
        "\nfairmark audit: {audit_seconds:.2} s in all, {} findings. Phase by phase:",
        report.findings.len()
    );
    for phase in &phases {
        println!(
            "  {:<40} {:>8.2} s {:>9}",
            phase.name,
            phase.seconds,
            phase
                .peak_mib
                .map_or_else(String::new, |mib| format!("{mib} MiB"))
        );
    }

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("\nThe same work in DuckDB ({threads} threads, the same files; benches/duckdb/):");
    let duckdb = match duckdb_phases(out, &input, threads) {
        Ok(phases) => phases,
        Err(reason) => {
            println!("  not measured: {reason:#}. `pip install duckdb` to compare.");
            return Ok(ExitCode::SUCCESS);
        }
    };
    print!("{}", side_by_side(&phases, &duckdb));
    Ok(ExitCode::SUCCESS)
}

/// What the DuckDB runner measured of one phase.
#[derive(Debug, Clone, serde::Deserialize)]
struct DuckdbPhase {
    phase: String,
    seconds: Option<f64>,
    peak_mib: Option<u64>,
    error: Option<String>,
}

/// The runner and the SQL, as built into the binary, so that `fairmark bench` measures the
/// same SQL wherever it runs.
const DUCKDB_FILES: &[(&str, &str)] = &[
    (
        "run_phases.py",
        include_str!("../../benches/duckdb/run_phases.py"),
    ),
    (
        "common.sql",
        include_str!("../../benches/duckdb/common.sql"),
    ),
    (
        "features.sql",
        include_str!("../../benches/duckdb/features.sql"),
    ),
    (
        "pricing_strata.sql",
        include_str!("../../benches/duckdb/pricing_strata.sql"),
    ),
    (
        "pricing_simulation.sql",
        include_str!("../../benches/duckdb/pricing_simulation.sql"),
    ),
    ("mail.sql", include_str!("../../benches/duckdb/mail.sql")),
    (
        "segmentation.sql",
        include_str!("../../benches/duckdb/segmentation.sql"),
    ),
    (
        "privacy_scan.sql",
        include_str!("../../benches/duckdb/privacy_scan.sql"),
    ),
    (
        "pseudonymize_orders.sql",
        include_str!("../../benches/duckdb/pseudonymize_orders.sql"),
    ),
];

/// Runs every phase through DuckDB's Python module, each in its own process.
fn duckdb_phases(out: &Path, input: &Path, threads: usize) -> anyhow::Result<Vec<DuckdbPhase>> {
    let dir = out.join("duckdb");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in DUCKDB_FILES {
        std::fs::write(dir.join(name), text)?;
    }
    let result = dir.join("result.json");
    let status = Command::new("python3")
        .arg(dir.join("run_phases.py"))
        .arg(input)
        .args(["--threads", &threads.to_string(), "--out-json"])
        .arg(&result)
        .stdout(std::process::Stdio::null())
        .status()
        .context("python3 could not be started")?;
    let text = std::fs::read_to_string(&result)
        .with_context(|| format!("the DuckDB runner ended with {status} and wrote no result"))?;
    #[derive(serde::Deserialize)]
    struct Result {
        phases: Vec<DuckdbPhase>,
    }
    Ok(serde_json::from_str::<Result>(&text)
        .context("the DuckDB runner's result does not read")?
        .phases)
}

/// Which DuckDB phase does the work of a fairmark phase, as fairmark announces them; `None`
/// for work DuckDB does not do (reading the files' metadata, writing the report).
fn duckdb_counterpart(phase: &str) -> Option<&'static str> {
    Some(match phase {
        "building customer features" => "features",
        "stratifying observed prices" => "pricing_strata",
        "judging marketing messages" => "mail",
        "segmenting customers" | "privacy.k-anonymity" => "segmentation",
        "privacy.undeclared-pii" => "privacy_scan",
        "pseudonymize --dataset orders" => "pseudonymize_orders",
        p if p.ends_with("-overcharge") => "pricing_strata",
        p if p.starts_with("pricing.") => "pricing_simulation",
        p if p.starts_with("mail.") => "mail",
        _ => return None,
    })
}

/// The side-by-side table: per DuckDB phase, fairmark's time and peak against DuckDB's, then the
/// whole audit (every phase but `pseudonymize`, fairmark's own reading and writing included).
fn side_by_side(fairmark: &[Phase], duckdb: &[DuckdbPhase]) -> String {
    let mut per_phase: BTreeMap<&str, (f64, u64)> = BTreeMap::new();
    let mut unmatched = (0.0, 0u64);
    for phase in fairmark {
        let slot = match duckdb_counterpart(&phase.name) {
            Some(name) => per_phase.entry(name).or_insert((0.0, 0)),
            None => &mut unmatched,
        };
        slot.0 += phase.seconds;
        slot.1 = slot.1.max(phase.peak_mib.unwrap_or(0));
    }
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}", a / b)
        } else {
            "-".into()
        }
    };
    let mut table = format!(
        "  {:<22} {:>11} {:>10} {:>11} {:>10} {:>7}\n",
        "phase", "fairmark", "peak", "DuckDB", "peak", "ratio"
    );
    let (mut ours, mut theirs, mut our_peak, mut their_peak) = (unmatched.0, 0.0, unmatched.1, 0);
    for phase in duckdb {
        let (seconds, peak) = per_phase
            .get(phase.phase.as_str())
            .copied()
            .unwrap_or((0.0, 0));
        let Some(their_seconds) = phase.seconds else {
            table.push_str(&format!(
                "  {:<22} {:>9.2} s {:>6} MiB   failed in DuckDB: {}\n",
                phase.phase,
                seconds,
                peak,
                phase.error.as_deref().unwrap_or("no time reported")
            ));
            continue;
        };
        let their_mib = phase.peak_mib.unwrap_or(0);
        table.push_str(&format!(
            "  {:<22} {:>9.2} s {:>6} MiB {:>9.2} s {:>6} MiB {:>7}\n",
            phase.phase,
            seconds,
            peak,
            their_seconds,
            their_mib,
            ratio(seconds, their_seconds)
        ));
        if phase.phase != "pseudonymize_orders" {
            ours += seconds;
            theirs += their_seconds;
            our_peak = our_peak.max(peak);
            their_peak = their_peak.max(their_mib);
        }
    }
    table.push_str(&format!(
        "  {:<22} {:>9.2} s {:>6} MiB {:>9.2} s {:>6} MiB {:>7}\n",
        "whole audit",
        ours,
        our_peak,
        theirs,
        their_peak,
        ratio(ours, theirs)
    ));
    table.push_str(&format!(
        "  (fairmark's whole audit includes {:.2} s of reading and writing with no DuckDB phase; pseudonymize_orders is not part of the audit.)\n",
        unmatched.0
    ));
    table
}

/// One measured phase: how long it ran, and the most memory the process held during it.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
    pub peak_mib: Option<u64>,
}

/// The phases of a run as the audit announces them. At each start the process's peak resident
/// memory is read and reset (Linux: `/proc/self/clear_refs`), so each phase has its own peak.
#[derive(Default)]
struct Phases {
    done: Mutex<Vec<Phase>>,
    current: Mutex<Option<(String, Instant)>>,
}

impl Phases {
    fn start(&self, name: &str) {
        let now = Instant::now();
        let peak_mib = peak_resident_mib();
        reset_peak_resident();
        let mut current = self.current.lock().expect("not poisoned");
        if let Some((previous, since)) = current.take() {
            self.done.lock().expect("not poisoned").push(Phase {
                name: previous,
                seconds: (now - since).as_secs_f64(),
                peak_mib,
            });
        }
        *current = Some((name.to_string(), now));
    }

    fn finished(self) -> Vec<Phase> {
        self.done.into_inner().expect("not poisoned")
    }
}

/// The process's peak resident set since the last reset, where the OS tells it.
fn peak_resident_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn reset_peak_resident() {
    // "5" resets the peak resident set (Linux 4.0 and later); elsewhere phases report the
    // peak so far, which only ever overstates.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
