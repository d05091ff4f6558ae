//! Snapshots of the stable text outputs, so that a change to any of them is reviewed as a
//! diff: report.md (English and Chinese), the table `audit` prints, report.sarif and
//! report.junit.xml of one small audit; and every configuration and input error message, one
//! line each with its exit code, for many broken fixtures. The snapshots are in
//! tests/cli/snapshots/; only the tool's version and temporary paths are redacted.
//!
//! A changed or missing snapshot fails its test with the diff; nothing needs setting for the
//! snapshots to pass. Outside CI, insta leaves the new output beside the snapshot as a
//! `.snap.new` file: review them one by one with `cargo insta review` (from `cargo install
//! cargo-insta`), or accept every change with `INSTA_UPDATE=always cargo test --locked
//! snapshots`, then read `git diff tests/cli/snapshots` before committing.

use std::collections::BTreeMap;

use crate::support::{
    Fixture, assert_no_raw_values, csv_fields, fails_cleanly, fairmark, raw_identifiers,
};

/// The redactions: the tool's version and the temporary directories the fixtures live in.
/// Data, dates, counts and hashes are deterministic and stay; these outputs hold no clock time
/// or duration.
fn redacted() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let temp = regex::escape(&std::env::temp_dir().display().to_string());
    settings.add_filter(
        &format!(r"{}/\.tmp[A-Za-z0-9]+", temp.trim_end_matches('/')),
        "[TMP]",
    );
    settings.add_filter(
        &format!(r"\b{}\b", regex::escape(env!("CARGO_PKG_VERSION"))),
        "[VERSION]",
    );
    settings
}

/// Audits `fixture` with `args` into its `report` directory (findings at or above high: exit
/// 1), and returns what it printed.
fn audited(fixture: &Fixture, args: &[&str]) -> String {
    let out = fixture.out("report");
    let assert = fairmark()
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(&out)
        .args(args)
        .assert()
        .code(1);
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn read(fixture: &Fixture, file: &str) -> String {
    std::fs::read_to_string(fixture.out("report").join(file)).unwrap()
}

#[test]
fn the_english_report_the_table_sarif_and_junit() {
    let fixture = Fixture::small();
    let table = audited(&fixture, &[]);
    redacted().bind(|| {
        insta::assert_snapshot!("audit_table", table);
        insta::assert_snapshot!("report_md", read(&fixture, "report.md"));
        insta::assert_snapshot!("report_sarif", read(&fixture, "report.sarif"));
        insta::assert_snapshot!("report_junit_xml", read(&fixture, "report.junit.xml"));
    });
}

#[test]
fn the_chinese_report() {
    let fixture = Fixture::small();
    audited(&fixture, &["--lang", "zh-CN"]);
    redacted().bind(|| insta::assert_snapshot!("report_zh_cn_md", read(&fixture, "report.md")));
}

/// A way to break a fresh fixture, named for the snapshot. It returns the values it planted
/// that must not be echoed (a key, a password), besides the customers' raw identifiers.
struct Breakage {
    what: &'static str,
    breaks: fn(&Fixture) -> Vec<String>,
}

/// Each breakage on a fresh small fixture: exit 2 and one line on stderr, no output left, no
/// raw identifier and nothing planted in stdout or stderr. Returns the lines, one case each.
fn refusals(breakages: &[Breakage]) -> String {
    let mut lines = String::new();
    for breakage in breakages {
        let fixture = Fixture::small();
        let mut secrets = raw_identifiers(&fixture.data.customers_csv);
        secrets.extend((breakage.breaks)(&fixture));
        let (stdout, stderr) = fails_cleanly(&fixture);
        let said = BTreeMap::from([
            (format!("{}: stdout", breakage.what), stdout.into_bytes()),
            (
                format!("{}: stderr", breakage.what),
                stderr.clone().into_bytes(),
            ),
        ]);
        assert_no_raw_values(&secrets, &said);
        lines.push_str(&format!("{}\n  exit 2: {stderr}\n", breakage.what));
    }
    lines
}

/// 64 hex digits: what `openssl rand -hex 32` prints, pasted where its source belongs.
const PASTED_KEY: &str = "4f7d0c3b9e2a81f6d5c4b3a2918e7f6a5d4c3b2a1908f7e6d5c4b3a29180f7e6";
/// A password: nothing like a key, so only the type error catches it.
const PASSWORD: &str = "Tr0ub4dor&3 Sommer2026!";

/// Replaces the demo's key source with `written`.
fn key_written_as(fixture: &Fixture, written: &str) -> Vec<String> {
    fixture.edit_config("key = { file = \"demo.key\" }", written);
    vec![PASTED_KEY.to_string()]
}

/// Adds a policy pack file `house.toml` of `checks` to the config's packs.
fn house_pack(fixture: &Fixture, checks: &str) -> Vec<String> {
    std::fs::write(
        fixture.input("house.toml"),
        format!("name = \"house\"\ntitle = \"House rules\"\n{checks}"),
    )
    .unwrap();
    fixture.edit_config("policies = [\"cn\"]", "policies = [\"cn\", \"house.toml\"]");
    Vec::new()
}

/// Each names the file (with line and column where it has them) and the key, and never repeats
/// what was written there: a key pasted where its source belongs, or a secret in a field of the
/// wrong type, is refused without being shown.
#[test]
fn configuration_errors() {
    let breakages = [
        Breakage {
            what: "a malformed config",
            breaks: |f| {
                f.edit_config("policies = [\"cn\"]", "policies = [\"cn\"\n");
                Vec::new()
            },
        },
        Breakage {
            what: "an unknown key in a dataset table",
            breaks: |f| {
                f.edit_config("sku = \"item_code\"", "skuu = \"item_code\"");
                Vec::new()
            },
        },
        Breakage {
            what: "a password where a whole number belongs",
            breaks: |f| {
                let text = std::fs::read_to_string(&f.data.config).unwrap();
                let text = format!("{text}\n[segmentation]\nat_risk_after_days = \"{PASSWORD}\"\n");
                std::fs::write(&f.data.config, text).unwrap();
                vec![PASSWORD.to_string()]
            },
        },
        Breakage {
            what: "a password where the rules file has a boolean",
            breaks: |f| {
                let rules = std::fs::read_to_string(&f.data.rules_file).unwrap();
                let rules = rules.replacen(
                    "disclosed = true",
                    &format!("disclosed = \"{PASSWORD}\""),
                    1,
                );
                std::fs::write(&f.data.rules_file, rules).unwrap();
                vec![PASSWORD.to_string()]
            },
        },
        Breakage {
            what: "a key pasted as the key",
            breaks: |f| key_written_as(f, &format!("key = \"{PASTED_KEY}\"")),
        },
        Breakage {
            what: "a key pasted as the key's variable",
            breaks: |f| key_written_as(f, &format!("key = {{ env = \"{PASTED_KEY}\" }}")),
        },
        Breakage {
            what: "a key pasted as the key's file",
            breaks: |f| key_written_as(f, &format!("key = {{ file = \"{PASTED_KEY}\" }}")),
        },
        Breakage {
            what: "a key pasted as a table of attribute kinds",
            breaks: |f| {
                f.edit_config(
                    "price_sensitivity\"]",
                    &format!("price_sensitivity\"]\nattribute_kinds = \"{PASTED_KEY}\""),
                );
                vec![PASTED_KEY.to_string()]
            },
        },
        Breakage {
            what: "a key pasted as a dataset path",
            breaks: |f| {
                f.edit_config(
                    "path = \"customers.csv\"",
                    &format!("path = \"{PASTED_KEY}\""),
                );
                vec![PASTED_KEY.to_string()]
            },
        },
        Breakage {
            what: "a key pasted as the rules file",
            breaks: |f| {
                f.edit_config(
                    "pricing_rules = \"rules.toml\"",
                    &format!("pricing_rules = \"{PASTED_KEY}\""),
                );
                vec![PASTED_KEY.to_string()]
            },
        },
        Breakage {
            what: "a key pasted as a policy pack",
            breaks: |f| {
                f.edit_config(
                    "policies = [\"cn\"]",
                    &format!("policies = [\"{PASTED_KEY}\"]"),
                );
                vec![PASTED_KEY.to_string()]
            },
        },
        Breakage {
            what: "a key too short",
            breaks: |f| {
                std::fs::write(&f.data.key_file, "short-key").unwrap();
                vec!["short-key".to_string()]
            },
        },
        Breakage {
            what: "a key variable not set",
            breaks: |f| {
                f.edit_config(
                    "key = { file = \"demo.key\" }",
                    "key = { env = \"FAIRMARK_TEST_UNSET_KEY\" }",
                );
                Vec::new()
            },
        },
        Breakage {
            what: "a key file missing",
            breaks: |f| {
                f.edit_config(
                    "key = { file = \"demo.key\" }",
                    "key = { file = \"secrets/missing.key\" }",
                );
                Vec::new()
            },
        },
        Breakage {
            what: "a rules file missing",
            breaks: |f| {
                f.edit_config(
                    "pricing_rules = \"rules.toml\"",
                    "pricing_rules = \"gone.toml\"",
                );
                Vec::new()
            },
        },
        Breakage {
            what: "a dataset file missing",
            breaks: |f| {
                std::fs::remove_file(&f.data.customers_csv).unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a built-in pack that does not exist",
            breaks: |f| {
                f.edit_config("policies = [\"cn\"]", "policies = [\"cn\", \"mars\"]");
                Vec::new()
            },
        },
        Breakage {
            what: "an attribute kind no pack classifies",
            breaks: |f| {
                f.edit_config(
                    "attributes = [\"os\", \"vip\", \"price_sensitivity\"]",
                    "attributes = [\"os\", \"vip\", \"price_sensitivity\"]\nattribute_kinds = { vip = \"ethnicty\" }",
                );
                Vec::new()
            },
        },
        Breakage {
            what: "a pack's severity that is no severity",
            breaks: |f| house_pack(f, "[checks.\"mail.no-consent\"]\nseverity = \"urgent\"\n"),
        },
        Breakage {
            what: "a pack's setting out of its range",
            breaks: |f| house_pack(f, "[checks.\"mail.unsolicited-bulk\"]\nmin_share = 2.0\n"),
        },
        Breakage {
            what: "a pack's setting the check does not have",
            breaks: |f| house_pack(f, "[checks.\"mail.unsolicited-bulk\"]\nmin_mesages = 10\n"),
        },
        Breakage {
            what: "a pack enabling a check that does not exist",
            breaks: |f| house_pack(f, "[checks.\"mail.no-consnet\"]\nseverity = \"high\"\n"),
        },
    ];
    redacted().bind(|| insta::assert_snapshot!("configuration_errors", refusals(&breakages)));
}

/// Replaces the orders with `orders.csv` holding `text`, mapped in the config (the customers
/// stay; the rules go, as they read columns these orders lack).
fn orders_csv(fixture: &Fixture, text: &str) {
    std::fs::write(fixture.input("orders.csv"), text).unwrap();
    let config = std::fs::read_to_string(&fixture.data.config).unwrap();
    let customers_only = &config[..config.find("[datasets.orders]").unwrap()];
    let orders = "[datasets.orders]\npath = \"orders.csv\"\nid = \"txn\"\ncustomer = \"uid\"\nordered_at = \"at\"\noffered_price = \"price\"\n";
    let config =
        format!("{customers_only}{orders}").replace("pricing_rules = \"rules.toml\"\n", "");
    std::fs::write(&fixture.data.config, config).unwrap();
}

/// Each names the dataset and file, and the column, row and expected type where it can; a cell's
/// value is counted or described, never shown.
#[test]
fn input_errors() {
    let breakages = [
        Breakage {
            what: "a CSV without a header row",
            breaks: |f| {
                let text = std::fs::read_to_string(&f.data.customers_csv).unwrap();
                let (_header, rows) = text.split_once('\n').unwrap();
                std::fs::write(&f.data.customers_csv, rows).unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a CSV row with a field too many",
            breaks: |f| {
                let text = std::fs::read_to_string(&f.data.customers_csv).unwrap();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                lines[6].push_str(",extra");
                std::fs::write(&f.data.customers_csv, lines.join("\n") + "\n").unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a phone number in a date column",
            breaks: |f| {
                let text = std::fs::read_to_string(&f.data.customers_csv).unwrap();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                let header = csv_fields(&lines[0]);
                let at = |name: &str| header.iter().position(|h| h == name).unwrap();
                // Row 6 counts from the first row after the header.
                let row = csv_fields(&lines[6]);
                let (registered_at, phone) = (&row[at("registered_at")], &row[at("phone")]);
                assert_eq!(lines[6].matches(registered_at.as_str()).count(), 1);
                lines[6] = lines[6].replace(registered_at.as_str(), phone);
                std::fs::write(&f.data.customers_csv, lines.join("\n") + "\n").unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a name in a price column past the rows types are inferred from",
            breaks: |f| {
                let mut text = String::from("txn,uid,at,price\n");
                for row in 1..=10_000 {
                    text.push_str(&format!("T{row},U1000000,2026-01-02T10:00:00,12.50\n"));
                }
                text.push_str("T10001,U1000000,2026-01-02T10:00:00,Hannah Miller\n");
                orders_csv(f, &text);
                vec!["Hannah".to_string()]
            },
        },
        Breakage {
            what: "a price column of strings",
            breaks: |f| {
                orders_csv(
                    f,
                    "txn,uid,at,price\nT1,U1000000,2026-01-02T10:00:00,¥12.50\nT2,U1000000,2026-02-02T10:00:00,¥13.00\n",
                );
                vec!["12.50".to_string()]
            },
        },
        Breakage {
            what: "an e-mail address in the consent action column",
            breaks: |f| {
                let consents = f.input("consents.csv");
                let text = std::fs::read_to_string(&consents).unwrap();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                let by_mail = (1..lines.len())
                    .find(|&i| csv_fields(&lines[i])[1] == "email")
                    .unwrap();
                let fields = csv_fields(&lines[by_mail]);
                let (recipient, action) = (&fields[0], &fields[2]);
                lines[by_mail] =
                    lines[by_mail].replacen(&format!(",{action},"), &format!(",{recipient},"), 1);
                std::fs::write(&consents, lines.join("\n") + "\n").unwrap();
                vec![recipient.to_lowercase()]
            },
        },
        Breakage {
            what: "a column the config maps that the file lacks",
            breaks: |f| {
                f.edit_config("customer = \"uid\"", "customer = \"user_id\"");
                Vec::new()
            },
        },
        Breakage {
            what: "a dataset without rows",
            breaks: |f| {
                let text = std::fs::read_to_string(&f.data.customers_csv).unwrap();
                let header = text.lines().next().unwrap().to_string();
                std::fs::write(&f.data.customers_csv, header + "\n").unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "invalid UTF-8 in a CSV",
            breaks: |f| {
                let mut bytes = std::fs::read(&f.data.customers_csv).unwrap();
                let at = bytes.len() - 3;
                bytes.splice(at..at, [0xff, 0xfe, 0xfd]);
                std::fs::write(&f.data.customers_csv, bytes).unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a CSV whose first line never ends",
            breaks: |f| {
                std::fs::write(&f.data.customers_csv, "c,".repeat(1 << 20)).unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a corrupt Parquet file",
            breaks: |f| {
                std::fs::write(
                    &f.data.orders_parquet,
                    b"PAR1 this is not really parquet PAR1",
                )
                .unwrap();
                Vec::new()
            },
        },
        Breakage {
            what: "a Parquet file that decodes past the memory limit",
            breaks: |f| {
                notes_past_the_memory_limit(f);
                Vec::new()
            },
        },
    ];
    redacted().bind(|| insta::assert_snapshot!("input_errors", refusals(&breakages)));
}

/// Orders of 10,000 rows of one 8 KiB note: 80 MiB decoded from a file of a few kilobytes,
/// 64 MiB of it in the first batch of 8,192 rows, under a memory limit of 32 MiB.
fn notes_past_the_memory_limit(fixture: &Fixture) {
    use std::sync::Arc;

    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;

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
}
