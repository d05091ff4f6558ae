//! Bad input that must be refused quickly, not only plainly: what each refusal says is in the
//! input errors snapshot (snapshots.rs).

use crate::support::{Fixture, fails_cleanly};

#[test]
fn a_csv_of_ten_thousand_columns_is_refused_before_it_is_read() {
    let fixture = Fixture::small();
    let columns = 10_000;
    let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    let mut text = header.join(",") + "\n";
    for row in 0..10 {
        text.push_str(&vec![row.to_string(); columns].join(","));
        text.push('\n');
    }
    std::fs::write(&fixture.data.customers_csv, text).unwrap();
    let started = std::time::Instant::now();
    let (_, stderr) = fails_cleanly(&fixture);
    // Planning over every column took 13 s and 3.1 GB in a release build.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        stderr.contains(
            "dataset customers (customers.csv): customers.csv has 10000 columns; fairmark reads at most 1024 columns per table"
        ),
        "{stderr}"
    );
}
