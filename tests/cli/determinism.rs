//! Determinism across partitions and file layouts: the demo data split over several files per
//! dataset (directories and globs), with some customers listed twice in different files, gives
//! byte-identical outputs whatever the number of DataFusion partitions, and the same results
//! whatever the order in which its rows and files are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::support::{Fixture, files_below, report_json};

/// Files per dataset.
const PARTS: usize = 4;
/// Every this many customers is listed a second time, in the next file.
const DUPLICATE_EVERY: usize = 25;

/// How the rows of a dataset are dealt over its files.
#[derive(Clone, Copy)]
enum Layout {
    /// Row i goes to file `i % PARTS`, in input order.
    Dealt,
    /// The same files' rows, each file's rows in reverse, and the files' contents swapped end
    /// for end: every row is read in another order and from another file.
    Reversed,
}

impl Layout {
    fn file_of(self, row: usize) -> usize {
        match self {
            Layout::Dealt => row % PARTS,
            Layout::Reversed => PARTS - 1 - row % PARTS,
        }
    }

    fn arrange<T>(self, mut rows: Vec<T>) -> Vec<T> {
        if let Layout::Reversed = self {
            rows.reverse();
        }
        rows
    }
}

/// Splits the fixture's customers, orders, sends and consents over `PARTS` files each, with
/// duplicate customer rows, and points the config at a directory or a glob for each.
fn split(fixture: &Fixture, layout: Layout) {
    split_csv(
        &fixture.input("customers.csv"),
        &fixture.input("customers"),
        layout,
        Some(DUPLICATE_EVERY),
    );
    split_csv(
        &fixture.input("consents.csv"),
        &fixture.input("consents"),
        layout,
        None,
    );
    split_parquet(
        &fixture.input("orders.parquet"),
        &fixture.input("orders"),
        layout,
    );
    split_parquet(
        &fixture.input("sends.parquet"),
        &fixture.input("sends"),
        layout,
    );
    fixture.edit_config("path = \"customers.csv\"", "path = \"customers\"");
    fixture.edit_config("path = \"orders.parquet\"", "path = \"orders/*.parquet\"");
    fixture.edit_config("path = \"sends.parquet\"", "path = \"sends\"");
    fixture.edit_config("path = \"consents.csv\"", "path = \"consents/*.csv\"");
}

fn part(dir: &Path, index: usize, extension: &str) -> PathBuf {
    dir.join(format!("part-{index}.{extension}"))
}

/// One CSV per part, each with the header; the fixtures hold no newline inside a field.
fn split_csv(source: &Path, dir: &Path, layout: Layout, duplicate_every: Option<usize>) {
    let text = std::fs::read_to_string(source).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut parts: Vec<Vec<&str>> = vec![Vec::new(); PARTS];
    for (row, line) in lines.enumerate() {
        parts[layout.file_of(row)].push(line);
        if duplicate_every.is_some_and(|every| row % every == 0) {
            parts[layout.file_of(row + 1)].push(line);
        }
    }
    std::fs::create_dir(dir).unwrap();
    for (index, rows) in parts.into_iter().enumerate() {
        let mut csv = format!("{header}\n");
        for line in layout.arrange(rows) {
            csv.push_str(line);
            csv.push('\n');
        }
        std::fs::write(part(dir, index, "csv"), csv).unwrap();
    }
    std::fs::remove_file(source).unwrap();
}

fn split_parquet(source: &Path, dir: &Path, layout: Layout) {
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(source).unwrap()).unwrap();
    let schema = reader.schema().clone();
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
    let all = concat_batches(&schema, &batches).unwrap();
    std::fs::create_dir(dir).unwrap();
    for index in 0..PARTS {
        let rows: Vec<u32> = (0..all.num_rows())
            .filter(|row| layout.file_of(*row) == index)
            .map(|row| row as u32)
            .collect();
        let indices = UInt32Array::from(layout.arrange(rows));
        let batch = take_record_batch(&all, &indices).unwrap();
        let file = std::fs::File::create(part(dir, index, "parquet")).unwrap();
        let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    std::fs::remove_file(source).unwrap();
}

/// Runs `audit` into `out` with DataFusion's partition count set through the environment
/// (`fairmark` builds its session from `DATAFUSION_*` variables).
fn audit(fixture: &Fixture, out: &str, partitions: usize) {
    crate::support::fairmark()
        .env(
            "DATAFUSION_EXECUTION_TARGET_PARTITIONS",
            partitions.to_string(),
        )
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(fixture.out(out))
        .assert()
        .code(1);
}

fn assert_identical(
    first: &BTreeMap<PathBuf, Vec<u8>>,
    second: &BTreeMap<PathBuf, Vec<u8>>,
    what: &str,
) {
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in first {
        assert!(bytes == &second[name], "{} differs {what}", name.display());
    }
}

#[test]
fn split_data_with_duplicate_customers_gives_identical_outputs_at_any_partition_count() {
    let fixture = Fixture::small();
    split(&fixture, Layout::Dealt);
    audit(&fixture, "one-partition", 1);
    // More partitions than this machine has cores, so rows interleave differently.
    audit(&fixture, "seven-partitions", 7);

    let report = report_json(&fixture.out("seven-partitions"));
    let customers = &report["inputs"][0];
    assert_eq!(customers["role"], "customers");
    assert_eq!(
        customers["files"].as_array().unwrap().len(),
        PARTS,
        "customers are read from every file"
    );
    let duplicates = crate::support::SMALL.div_ceil(DUPLICATE_EVERY);
    assert_eq!(
        customers["rows"].as_u64().unwrap() as usize,
        crate::support::SMALL + duplicates
    );
    assert_identical(
        &files_below(&fixture.out("seven-partitions")),
        &files_below(&fixture.out("one-partition")),
        "between seven partitions and one",
    );
}

/// Report files without the provenance of the inputs (their files' sizes and hashes), which
/// differ when the same rows are laid out differently; everything else is compared.
fn without_input_provenance(files: BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<PathBuf, Vec<u8>> {
    files
        .into_iter()
        .map(|(name, bytes)| {
            let bytes = match name.to_str() {
                Some("report.json") => {
                    let mut report: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    report.as_object_mut().unwrap().remove("inputs");
                    serde_json::to_vec_pretty(&report).unwrap()
                }
                Some("report.md") => String::from_utf8(bytes)
                    .unwrap()
                    .lines()
                    .filter(|line| {
                        !["customers", "orders", "mail_sends", "consents"]
                            .iter()
                            .any(|role| line.starts_with(&format!("| {role} | ")))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
                Some("report.html") => {
                    let html = String::from_utf8(bytes).unwrap();
                    let start = html.find("<section id=\"inputs\">").unwrap();
                    let end = start + html[start..].find("</section>").unwrap();
                    format!("{}{}", &html[..start], &html[end..]).into_bytes()
                }
                _ => bytes,
            };
            (name, bytes)
        })
        .collect()
}

#[test]
fn the_same_rows_in_another_order_and_other_files_give_the_same_outputs() {
    let dealt = Fixture::small();
    split(&dealt, Layout::Dealt);
    audit(&dealt, "report", 3);
    let reversed = Fixture::small();
    split(&reversed, Layout::Reversed);
    audit(&reversed, "report", 2);
    assert_identical(
        &without_input_provenance(files_below(&dealt.out("report"))),
        &without_input_provenance(files_below(&reversed.out("report"))),
        "when the rows are read in another order",
    );
}
