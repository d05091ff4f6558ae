//! What fairmark publishes: no raw identifier anywhere, tokens that depend on the key,
//! byte-identical reruns, and a segmentation that is k-anonymous when read back.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{
    Fixture, assert_no_raw_values, fairmark, files_below, outputs_to_scan, parquet_rows,
    raw_identifiers, report_json,
};

#[test]
fn no_output_or_message_holds_a_raw_identifier() {
    let fixture = Fixture::small();
    let raw = raw_identifiers(&fixture.data.customers_csv);
    assert!(
        raw.len() > 1000,
        "every customer's identifiers are looked for"
    );
    let audit = fixture.audit("report").code(1);
    let output = audit.get_output();
    assert_no_raw_values(
        &raw,
        &outputs_to_scan(&fixture.out("report"), &output.stdout, &output.stderr),
    );

    for dataset in ["customers", "orders"] {
        let out = fixture.out(&format!("copy-{dataset}"));
        let copy = fairmark()
            .args(["pseudonymize", "--config"])
            .arg(&fixture.data.config)
            .args(["--dataset", dataset, "--out"])
            .arg(out.join("copy.parquet"))
            .assert()
            .success();
        let output = copy.get_output();
        assert_no_raw_values(&raw, &outputs_to_scan(&out, &output.stdout, &output.stderr));
    }
}

#[test]
fn the_same_input_and_key_give_byte_identical_outputs() {
    let fixture = Fixture::small();
    fixture.audit("first").code(1);
    fixture.audit("second").code(1);
    let first = files_below(&fixture.out("first"));
    let second = files_below(&fixture.out("second"));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first {
        assert!(
            bytes == &second[name],
            "{} differs between runs",
            name.display()
        );
    }
}

fn tokens(path: &std::path::Path) -> BTreeSet<String> {
    parquet_rows(path)
        .into_iter()
        .map(|row| row["customer_token"].clone().unwrap())
        .collect()
}

#[test]
fn another_key_gives_unrelated_tokens() {
    let fixture = Fixture::small();
    fixture.audit("key-a").code(1);
    std::fs::write(&fixture.data.key_file, "f".repeat(64)).unwrap();
    fixture.audit("key-b").code(1);
    let a = tokens(&fixture.out("key-a").join("segments.parquet"));
    let b = tokens(&fixture.out("key-b").join("segments.parquet"));
    assert_eq!(a.len(), b.len());
    assert!(a.is_disjoint(&b), "no token survives a change of key");
    let key_id = |t: &String| t.split('_').next().unwrap().to_string();
    assert_ne!(key_id(a.first().unwrap()), key_id(b.first().unwrap()));
}

#[test]
fn published_segments_are_k_anonymous_when_read_back() {
    let fixture = Fixture::small();
    fixture.audit("report").code(1);
    let rows = parquet_rows(&fixture.out("report").join("segments.parquet"));
    let report = report_json(&fixture.out("report"));
    let k = report["segmentation"]["anonymity"]["k_required"]
        .as_u64()
        .unwrap();
    assert_eq!(k, 10, "the cn pack asks for k = 10");
    let quasi = ["birth_year", "gender", "city"];
    let mut classes: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for row in &rows {
        let key = quasi
            .iter()
            .map(|q| {
                row[*q]
                    .clone()
                    .expect("published quasi-identifiers are never null")
            })
            .collect();
        *classes.entry(key).or_default() += 1;
    }
    let smallest = classes.values().min().copied().unwrap();
    assert!(
        smallest >= k,
        "a class of {smallest} customers is published"
    );
    assert_eq!(
        report["segmentation"]["anonymity"]["k_achieved"].as_u64(),
        Some(smallest)
    );
    assert_eq!(
        rows.len() as u64,
        report["segmentation"]["customers"].as_u64().unwrap()
    );

    let columns: BTreeSet<&String> = rows[0].keys().collect();
    let expected: BTreeSet<String> = [
        "customer_token",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
        "next_purchase_expected",
        "birth_year",
        "gender",
        "city",
    ]
    .map(String::from)
    .into_iter()
    .collect();
    assert_eq!(
        columns,
        expected.iter().collect(),
        "segments.parquet holds these columns and nothing else"
    );
}

#[test]
fn phone_numbers_in_free_text_are_reported() {
    let fixture = Fixture::small();
    fixture.audit("report").code(1);
    let report = report_json(&fixture.out("report"));
    let findings = report["findings"].as_array().unwrap();
    let notes = findings
        .iter()
        .find(|f| f["check"] == "privacy.undeclared-pii" && f["subject"]["column"] == "notes")
        .expect("the notes column is reported");
    assert_eq!(notes["severity"], "high");
    assert!(
        notes["evidence"]["detected_kinds"]
            .as_str()
            .unwrap()
            .contains("cn-mobile")
    );
    assert!(notes["evidence"]["cn-mobile_cells"].as_u64().unwrap() >= 10);
    assert!(!notes["legal_bases"].as_array().unwrap().is_empty());
    let flagged: Vec<&str> = findings
        .iter()
        .filter(|f| f["check"] == "privacy.undeclared-pii")
        .filter_map(|f| f["subject"]["column"].as_str())
        .collect();
    assert_eq!(
        flagged,
        ["notes"],
        "declared identifier columns and ordinary columns are not flagged"
    );
}

/// Points the fixture's `[engine] spill_dir` at a fresh empty directory, with `settings` (lines
/// of `[engine]`) before it; returns that directory.
fn spill_into_a_root_of_its_own(fixture: &Fixture, settings: &str) -> std::path::PathBuf {
    let spill_root = fixture.out("spill-root");
    std::fs::create_dir(&spill_root).unwrap();
    fixture.edit_config(
        "pricing_rules = \"rules.toml\"",
        &format!(
            "pricing_rules = \"rules.toml\"\n[engine]\n{settings}spill_dir = \"{}\"",
            spill_root.display()
        ),
    );
    spill_root
}

#[test]
fn an_audit_that_spills_leaves_nothing_on_disk_and_changes_no_output() {
    let fixture = Fixture::small();
    fixture.audit("in-memory").code(1);
    // 48 MiB is below what this audit holds at its peak (it spills twice at 44 to 56 MiB), and
    // above what its sorts need to merge what they spilled (it fails at 40 MiB since the
    // frequency cap counts sends per instant; it failed at 24 MiB before).
    let spill_root = spill_into_a_root_of_its_own(&fixture, "memory_limit = \"48MiB\"\n");
    let audit = fairmark()
        .env("DATAFUSION_EXECUTION_TARGET_PARTITIONS", "2")
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(fixture.out("spilled"))
        .assert()
        .code(1);
    let output = audit.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("spilled to disk"), "{stderr}");
    assert!(
        files_below(&spill_root).is_empty() && std::fs::read_dir(&spill_root).unwrap().count() == 0,
        "the private spill directory is removed"
    );
    let raw = raw_identifiers(&fixture.data.customers_csv);
    assert_no_raw_values(
        &raw,
        &outputs_to_scan(&fixture.out("spilled"), &output.stdout, &output.stderr),
    );
    let in_memory = files_below(&fixture.out("in-memory"));
    for (name, bytes) in files_below(&fixture.out("spilled")) {
        assert!(
            bytes == in_memory[&name],
            "{} differs from the audit that did not spill",
            name.display()
        );
    }
}

#[test]
fn an_audit_stopped_by_sigterm_removes_its_private_directory() {
    let fixture = Fixture::small();
    let spill_root = spill_into_a_root_of_its_own(&fixture, "");
    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_fairmark"))
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(fixture.out("stopped"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The directory is made when the engine opens, before any dataset is read: the audit is
    // stopped while it still holds it.
    let started = std::time::Instant::now();
    while std::fs::read_dir(&spill_root).unwrap().count() == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no private directory appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // SAFETY: a signal to the child this test started.
    unsafe {
        libc::kill(audit.id() as i32, libc::SIGTERM);
    }
    let output = audit.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&spill_root).unwrap().count(),
        0,
        "the private directory is removed"
    );
}
