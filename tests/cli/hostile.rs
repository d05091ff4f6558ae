//! Hostile text in the data and the config: campaign names, a pack's title and citations, a
//! rule's id and description, and a column header that is a customer's phone number. Every output
//! stays well-formed and inert, the terminal gets no control character, and the header is not
//! repeated anywhere.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use pulldown_cmark::{Event, Options, Parser, Tag};

use crate::support::{Fixture, csv_fields, fairmark, outputs_to_scan, report_json};

/// Campaign names, rule ids and config texts an attacker might choose: live HTML, a script link, an
/// image beacon, terminal sequences (retitle, clear screen, cursor up), XML's forbidden
/// characters, a right-to-left override.
const PAYLOADS: [&str; 5] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>[go](javascript:alert(1))",
    "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[1A",
    "bad\u{fffe}\u{1}|x|![p](http://tracker.invalid/p.png)",
    "\u{202e}fdp.exe<javascript:alert(1)>",
];

/// A customer's phone number, as the header of a column that holds phone numbers.
const PHONE_HEADER: &str = "13912345678";

/// Rewrites the campaign column of the demo's sends: each campaign becomes a payload.
fn hostile_campaigns(path: &std::path::Path) {
    let file = std::fs::File::open(path).unwrap();
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let schema = batches[0].schema();
    let at = schema.index_of("campaign").unwrap();
    let mut names: Vec<String> = Vec::new();
    let rewritten: Vec<RecordBatch> = batches
        .iter()
        .map(|batch| {
            let campaigns = cast(batch.column(at), &DataType::Utf8).unwrap();
            let campaigns = campaigns
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .iter()
                .map(|c| {
                    let c = c.unwrap().to_string();
                    let i = names.iter().position(|n| *n == c).unwrap_or_else(|| {
                        names.push(c);
                        names.len() - 1
                    });
                    Some(PAYLOADS[i % PAYLOADS.len()])
                })
                .collect::<StringArray>();
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            columns[at] = Arc::new(campaigns);
            // The demo writes campaigns as UTF-8 already, so the schema stands.
            RecordBatch::try_new(schema.clone(), columns).unwrap()
        })
        .collect();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        rewritten[0].schema(),
        None,
    )
    .unwrap();
    for batch in &rewritten {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
}

/// Appends a column headed by a phone number and holding each customer's phone.
fn phone_header_column(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let phone = csv_fields(header)
        .iter()
        .position(|h| h == "phone")
        .unwrap();
    let mut out = format!("{header},{PHONE_HEADER}\n");
    for line in lines {
        let fields = csv_fields(line);
        out.push_str(&format!("{line},{}\n", fields[phone]));
    }
    std::fs::write(path, out).unwrap();
}

fn hostile_fixture() -> Fixture {
    let fixture = Fixture::small();
    hostile_campaigns(&fixture.input("sends.parquet"));
    phone_header_column(&fixture.data.customers_csv);
    let toml_text = |s: &str| toml::Value::String(s.to_string()).to_string();
    std::fs::write(
        fixture.input("hostile.toml"),
        format!(
            "name = \"hostile\"\ntitle = {}\n[[legal_basis]]\nid = \"x\"\ncitation = {}\ngist = {}\n[checks.\"privacy.undeclared-pii\"]\nlegal_bases = [\"x\"]\n",
            toml_text(PAYLOADS[0]),
            toml_text(PAYLOADS[1]),
            toml_text(PAYLOADS[2]),
        ),
    )
    .unwrap();
    fixture.edit_config(
        "policies = [\"cn\"]",
        "policies = [\"cn\", \"hostile.toml\"]",
    );
    let rules = std::fs::read_to_string(&fixture.data.rules_file).unwrap();
    let rules = rules
        .replacen(
            "description = \"App orders get 2% off\"",
            &format!("description = {}", toml_text(PAYLOADS[2])),
            1,
        )
        .replacen(
            "id = \"ios-premium\"",
            &format!("id = {}", toml_text(&format!("ios{}", PAYLOADS[2]))),
            1,
        );
    std::fs::write(&fixture.data.rules_file, rules).unwrap();
    fixture
}

fn assert_markdown_inert(md: &str) {
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("report.md holds raw HTML: {h:?}"),
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                panic!("report.md holds a link to {dest_url:?}")
            }
            _ => {}
        }
    }
}

fn assert_xml_well_formed(name: &str, xml: &str) {
    assert!(
        !xml.chars()
            .any(|c| (c.is_control() && !matches!(c, '\t' | '\n'))
                || matches!(c, '\u{fffe}' | '\u{ffff}')),
        "{name} holds a character XML 1.0 forbids"
    );
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Err(e) => panic!("{name} is not well-formed XML: {e}"),
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
        }
    }
}

fn assert_no_control_bytes(name: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && !matches!(c, '\t' | '\n')) || c == '\u{202e}'),
        "{name} would send control characters to the terminal"
    );
}

#[test]
fn hostile_names_stay_text_in_every_output_and_a_phone_header_is_not_repeated() {
    let fixture = hostile_fixture();
    let audit = fixture.audit("report").code(1);
    let output = audit.get_output();
    let dir = fixture.out("report");

    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert_markdown_inert(&md);
    assert!(
        md.contains("&lt;script&gt;"),
        "the payload is shown as text"
    );
    assert_xml_well_formed(
        "report.junit.xml",
        &std::fs::read_to_string(dir.join("report.junit.xml")).unwrap(),
    );
    let report = report_json(&dir);
    serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.join("report.sarif")).unwrap())
        .unwrap();
    assert_no_control_bytes("stdout", &output.stdout);
    assert_no_control_bytes("stderr", &output.stderr);

    // The column headed by a phone number is reported, by position.
    let undeclared: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "privacy.undeclared-pii")
        .filter(|f| {
            f["subject"]["column"]
                .as_str()
                .is_some_and(|c| c.starts_with('#'))
        })
        .collect();
    assert_eq!(undeclared.len(), 1, "the phone column is found");
    for (name, bytes) in outputs_to_scan(&dir, &output.stdout, &output.stderr) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(PHONE_HEADER),
            "{name} repeats the header that is a phone number"
        );
    }
}

#[test]
fn check_rules_prints_no_control_character() {
    let fixture = hostile_fixture();
    let run = fairmark()
        .args(["check-rules", "--config"])
        .arg(&fixture.data.config)
        .assert();
    let output = run.get_output();
    assert_no_control_bytes("stdout", &output.stdout);
    assert_no_control_bytes("stderr", &output.stderr);
    let junit = fairmark()
        .args(["check-rules", "--format", "junit", "--config"])
        .arg(&fixture.data.config)
        .assert();
    assert_xml_well_formed(
        "check-rules --format junit",
        &String::from_utf8_lossy(&junit.get_output().stdout),
    );
}
