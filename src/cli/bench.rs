//! `fairmark bench`: measures the audit on a generated data set of any size, phase by phase,
//! and runs the core queries side by side in DataFusion and, when it is installed, DuckDB, on
//! the same files. Speed is measured here, never asserted in tests.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::Instant;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use fairmark::demo::Scenario;
use fairmark::findings::Severity;

/// The same query in both engines: one aggregate over every order line, one as-of lookup of
/// the consent in force at each send.
const RFM_SQL: &str = "SELECT uid, count(DISTINCT txn_id) AS frequency, sum(paid_unit_price * qty) AS monetary, max(ordered_at) AS last_order FROM orders GROUP BY uid";

pub async fn run(out: &Path, customers: u32, seed: u64) -> anyhow::Result<ExitCode> {
    let input = out.join("input");
    let generated = Instant::now();
    let data = fairmark::demo::generate(&input, &Scenario::demo(customers as usize, seed))?;
    println!(
        "Data: {} customers, {} order lines, {} messages (generated in {:.1} s).",
        data.customers,
        data.order_lines,
        data.mail_sends,
        generated.elapsed().as_secs_f64()
    );

    let phases: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let report = super::audit::execute(
        &data.config,
        &out.join("report"),
        Severity::High,
        &|phase: &str| {
            phases
                .lock()
                .expect("not poisoned")
                .push((phase.to_string(), Instant::now()));
        },
    )
    .await?;
    let total = started.elapsed();
    let mut phases = phases.into_inner().expect("not poisoned");
    phases.push(("(end)".to_string(), started + total));
    println!(
        "\nfairmark audit: {:.2} s in all, {} findings.",
        total.as_secs_f64(),
        report.findings.len()
    );
    for pair in phases.windows(2) {
        println!(
            "  {:<40} {:>8.2} s",
            pair[0].0,
            (pair[1].1 - pair[0].1).as_secs_f64()
        );
    }

    println!("\nSide by side, the same SQL on the same Parquet file ({RFM_SQL}):");
    let ctx = SessionContext::new();
    ctx.register_parquet(
        "orders",
        data.orders_parquet.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await?;
    let mut fastest = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let rows: usize = ctx
            .sql(RFM_SQL)
            .await?
            .collect()
            .await?
            .iter()
            .map(|b| b.num_rows())
            .sum();
        fastest = fastest.min(started.elapsed().as_secs_f64());
        let _ = rows;
    }
    println!(
        "  DataFusion (fairmark's engine): {:>8.1} ms (best of 3)",
        1000.0 * fastest
    );
    match duckdb_time(&data.orders_parquet) {
        Ok(ms) => println!("  DuckDB:                         {ms:>8.1} ms (best of 3)"),
        Err(reason) => {
            println!("  DuckDB: not measured ({reason}); `pip install duckdb` to compare.")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Times the query in DuckDB through its Python module, best of three.
fn duckdb_time(orders: &Path) -> Result<f64, String> {
    let script = format!(
        "import duckdb, time\ncon = duckdb.connect()\ncon.execute(\"CREATE VIEW orders AS SELECT * FROM read_parquet('{}')\")\nbest = 1e9\nfor _ in range(3):\n    t = time.perf_counter()\n    con.execute(\"{RFM_SQL}\").fetchall()\n    best = min(best, time.perf_counter() - t)\nprint(best * 1000)\n",
        orders.display().to_string().replace('\'', "")
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        return Err("the duckdb Python module is not installed".into());
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| "unexpected output".into())
}
