//! Bad input: exit 2, one line on stderr naming the culprit (file, column, row, expected
//! type), no raw value in it, and no output left behind.

use std::collections::BTreeMap;

use crate::support::{Fixture, assert_no_raw_values, csv_fields, fairmark, raw_identifiers};

/// Runs the audit expecting failure; returns stderr.
fn fails_cleanly(fixture: &Fixture) -> String {
    let out = fixture.out("report");
    let assert = fairmark()
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("fairmark: error: "), "{stderr}");
    assert!(!out.exists(), "no output directory is left behind");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Fails if `stderr` holds any of the `raw` identifiers.
fn assert_no_leak(raw: &[String], stderr: &str) {
    let outputs = BTreeMap::from([("stderr".to_string(), stderr.as_bytes().to_vec())]);
    assert_no_raw_values(raw, &outputs);
}

#[test]
fn a_csv_without_a_header_row_is_said_plainly() {
    let fixture = Fixture::small();
    let raw = raw_identifiers(&fixture.data.customers_csv);
    let text = std::fs::read_to_string(&fixture.data.customers_csv).unwrap();
    let (_header, rows) = text.split_once('\n').unwrap();
    std::fs::write(&fixture.data.customers_csv, rows).unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("customers.csv")
            && stderr.contains("the first row looks like data, not column names")
            && stderr.contains("add a header row"),
        "{stderr}"
    );
    assert_no_leak(&raw, &stderr);
}

#[test]
fn a_phone_number_in_a_date_column_names_column_and_row() {
    let fixture = Fixture::small();
    let raw = raw_identifiers(&fixture.data.customers_csv);
    let text = std::fs::read_to_string(&fixture.data.customers_csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = csv_fields(&lines[0]);
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Row 6 counts from the first row after the header.
    let row = csv_fields(&lines[6]);
    let (registered_at, phone) = (&row[at("registered_at")], &row[at("phone")]);
    assert_eq!(lines[6].matches(registered_at.as_str()).count(), 1);
    lines[6] = lines[6].replace(registered_at.as_str(), phone);
    std::fs::write(&fixture.data.customers_csv, lines.join("\n") + "\n").unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("dataset customers (customers.csv)")
            && stderr.contains("column `registered_at` (mapped as `signup_at`), row 6: not a timestamp (expected e.g. 2024-05-01 12:00:00)"),
        "{stderr}"
    );
    assert_no_leak(&raw, &stderr);
}

#[test]
fn a_cell_that_breaks_the_inferred_type_names_column_and_row() {
    let fixture = Fixture::small();
    let orders = fixture.input("orders.csv");
    let mut text = String::from("txn,uid,at,price\n");
    for row in 1..=10_000 {
        text.push_str(&format!("T{row},U1000000,2026-01-02T10:00:00,12.50\n"));
    }
    text.push_str("T10001,U1000000,2026-01-02T10:00:00,Hannah Miller\n");
    std::fs::write(&orders, text).unwrap();
    let config = std::fs::read_to_string(&fixture.data.config).unwrap();
    let customers_only = &config[..config.find("[datasets.orders]").unwrap()];
    let orders = "[datasets.orders]\npath = \"orders.csv\"\nid = \"txn\"\ncustomer = \"uid\"\nordered_at = \"at\"\noffered_price = \"price\"\n";
    let config =
        format!("{customers_only}{orders}").replace("pricing_rules = \"rules.toml\"\n", "");
    std::fs::write(&fixture.data.config, config).unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("dataset orders (orders.csv)")
            && stderr
                .contains("column `price` (mapped as `offered_price`), row 10001: not a number"),
        "{stderr}"
    );
    assert!(!stderr.contains("Hannah"), "{stderr}");
}

#[test]
fn an_email_address_in_the_consent_action_column_is_counted_not_shown() {
    let fixture = Fixture::small();
    let raw = raw_identifiers(&fixture.data.customers_csv);
    let consents = fixture.input("consents.csv");
    let text = std::fs::read_to_string(&consents).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let by_mail = (1..lines.len())
        .find(|&i| csv_fields(&lines[i])[1] == "email")
        .unwrap();
    let fields = csv_fields(&lines[by_mail]);
    let (recipient, action) = (&fields[0], &fields[2]);
    lines[by_mail] = lines[by_mail].replacen(&format!(",{action},"), &format!(",{recipient},"), 1);
    std::fs::write(&consents, lines.join("\n") + "\n").unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("dataset consents (consents.csv)")
            && stderr.contains("1 row(s) of column `action`")
            && stderr.contains("a value not shown"),
        "{stderr}"
    );
    assert_no_leak(&raw, &stderr);
    assert!(!stderr.contains(&recipient.to_lowercase()), "{stderr}");
}

#[test]
fn a_corrupt_parquet_file_is_named() {
    let fixture = Fixture::small();
    std::fs::write(
        &fixture.data.orders_parquet,
        b"PAR1 this is not really parquet PAR1",
    )
    .unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("orders") && stderr.contains("orders.parquet"),
        "{stderr}"
    );
}

#[test]
fn invalid_utf8_in_a_csv_is_named() {
    let fixture = Fixture::small();
    let mut bytes = std::fs::read(&fixture.data.customers_csv).unwrap();
    let at = bytes.len() - 3;
    bytes.splice(at..at, [0xff, 0xfe, 0xfd]);
    std::fs::write(&fixture.data.customers_csv, bytes).unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(stderr.contains("customers.csv"), "{stderr}");
}

#[test]
fn a_missing_column_is_named_with_its_key() {
    let fixture = Fixture::small();
    fixture.edit_config("customer = \"uid\"", "customer = \"user_id\"");
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("`user_id`")
            && stderr.contains("customer")
            && stderr.contains("orders.parquet"),
        "{stderr}"
    );
}

#[test]
fn a_price_column_of_strings_is_refused() {
    let fixture = Fixture::small();
    let orders = fixture.input("orders.csv");
    std::fs::write(&orders, "txn,uid,at,price\nT1,U1000000,2026-01-02T10:00:00,¥12.50\nT2,U1000000,2026-02-02T10:00:00,¥13.00\n").unwrap();
    let config = std::fs::read_to_string(&fixture.data.config).unwrap();
    let customers_only = &config[..config.find("[datasets.orders]").unwrap()];
    let orders = "[datasets.orders]\npath = \"orders.csv\"\nid = \"txn\"\ncustomer = \"uid\"\nordered_at = \"at\"\noffered_price = \"price\"\n";
    let config =
        format!("{customers_only}{orders}").replace("pricing_rules = \"rules.toml\"\n", "");
    std::fs::write(&fixture.data.config, config).unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("`price`")
            && stderr.contains("offered_price")
            && stderr.contains("expected a number"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("12.50"),
        "no cell value in the message: {stderr}"
    );
}

#[test]
fn an_empty_dataset_is_refused() {
    let fixture = Fixture::small();
    let text = std::fs::read_to_string(&fixture.data.customers_csv).unwrap();
    std::fs::write(
        &fixture.data.customers_csv,
        text.lines().next().unwrap().to_string() + "\n",
    )
    .unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("customers") && stderr.contains("no rows"),
        "{stderr}"
    );
}

#[test]
fn a_short_key_is_refused() {
    let fixture = Fixture::small();
    std::fs::write(&fixture.data.key_file, "short-key").unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("demo.key") && stderr.contains("at least 32"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short-key"),
        "the key itself is never printed"
    );
}

#[test]
fn a_missing_key_variable_is_named() {
    let fixture = Fixture::small();
    fixture.edit_config(
        "key = { file = \"demo.key\" }",
        "key = { env = \"FAIRMARK_TEST_UNSET_KEY\" }",
    );
    let stderr = fails_cleanly(&fixture);
    assert!(stderr.contains("FAIRMARK_TEST_UNSET_KEY"), "{stderr}");
}

#[test]
fn a_malformed_config_names_file_line_and_column() {
    let fixture = Fixture::small();
    fixture.edit_config("policies = [\"cn\"]", "policies = [\"cn\"\n");
    let stderr = fails_cleanly(&fixture);
    assert!(stderr.contains("fairmark.toml:"), "{stderr}");
}

#[test]
fn an_unknown_config_key_is_named() {
    let fixture = Fixture::small();
    fixture.edit_config("sku = \"item_code\"", "skuu = \"item_code\"");
    let stderr = fails_cleanly(&fixture);
    assert!(stderr.contains("skuu"), "{stderr}");
}

#[test]
fn an_attribute_kind_no_pack_classifies_is_refused() {
    let fixture = Fixture::small();
    fixture.edit_config(
        "attributes = [\"os\", \"vip\", \"price_sensitivity\"]",
        "attributes = [\"os\", \"vip\", \"price_sensitivity\"]\nattribute_kinds = { vip = \"ethnicty\" }",
    );
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("attribute_kinds")
            && stderr.contains("`vip`")
            && stderr.contains("ethnicty"),
        "{stderr}"
    );
}

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
    let stderr = fails_cleanly(&fixture);
    // Planning over every column took 13 s and 3.1 GB in a release build.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        stderr.contains(
            "dataset customers (customers.csv): customers.csv has 10000 columns; fairmark reads at most 1024 columns per table"
        ),
        "{stderr}"
    );
}

#[test]
fn a_csv_whose_first_line_never_ends_is_refused_after_a_bounded_read() {
    let fixture = Fixture::small();
    std::fs::write(&fixture.data.customers_csv, "c,".repeat(1 << 20)).unwrap();
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr.contains("customers.csv: the first line does not end within 1 MiB"),
        "{stderr}"
    );
}

#[test]
fn a_parquet_file_that_decodes_past_the_memory_limit_is_refused_from_its_footer() {
    use std::sync::Arc;

    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;

    let fixture = Fixture::small();
    // 10,000 rows of one 8 KiB note: 80 MiB decoded from a file of a few kilobytes, 64 MiB of
    // it in the first batch of 8,192 rows.
    let schema = Arc::new(Schema::new(vec![
        Field::new("txn", DataType::Utf8, false),
        Field::new("note", DataType::Utf8, false),
    ]));
    let note = "n".repeat(8 << 10);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                (0..10_000).map(|i| format!("T{i}")),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..10_000).map(|_| note.as_str()),
            )),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(&fixture.data.orders_parquet).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    assert!(
        std::fs::metadata(&fixture.data.orders_parquet)
            .unwrap()
            .len()
            < 1 << 20
    );
    fixture.edit_config(
        "pricing_rules = \"rules.toml\"",
        "pricing_rules = \"rules.toml\"\n[engine]\nmemory_limit = \"32MiB\"",
    );
    let stderr = fails_cleanly(&fixture);
    assert!(
        stderr
            .contains("dataset orders (orders.parquet): row group 1 of orders.parquet needs about")
            && stderr.contains("where [engine] memory_limit is 32 MiB; raise memory_limit above"),
        "{stderr}"
    );
}
