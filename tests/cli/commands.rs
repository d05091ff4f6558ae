//! The other commands, and configurations with less data.

use crate::support::{Fixture, fairmark, parquet_rows, report_json};

#[test]
fn demo_runs_end_to_end_and_says_where_the_report_is() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let assert = fairmark()
        .args(["demo", "--customers", "300", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("throw-away key"), "{stdout}");
    assert!(stdout.contains("report.md"), "{stdout}");
    for file in [
        "report.json",
        "report.md",
        "report.html",
        "segments.parquet",
        "segment_summary.csv",
    ] {
        assert!(out.join("report").join(file).exists(), "{file}");
    }
}

#[test]
fn demo_generates_the_volume_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let assert = fairmark()
        .args([
            "demo",
            "--customers",
            "300",
            "--orders",
            "9000",
            "--messages",
            "4000",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let count = |what: &str| -> u64 {
        let before = stdout.split(what).next().unwrap();
        before.split_whitespace().last().unwrap().parse().unwrap()
    };
    let (lines, messages) = (count(" order lines"), count(" marketing messages"));
    // Order lines come from purchase habits scaled to the target: about, not exactly.
    assert!((6_000..12_000).contains(&lines), "{stdout}");
    assert!(messages >= 4000, "{stdout}");
    assert_eq!(
        parquet_rows(&out.join("input").join("sends.parquet")).len(),
        messages as usize
    );
}

#[test]
fn fail_on_sets_the_exit_code() {
    let fixture = Fixture::small();
    // Without the mail log, the worst findings are high (the planted pricing), none critical.
    fixture.without_mail();
    fixture.audit("strict").code(1);
    fairmark()
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(fixture.out("lenient"))
        .args(["--fail-on", "critical"])
        .assert()
        .code(0);
    let report = report_json(&fixture.out("lenient"));
    assert_eq!(report["outcome"]["fail_on"], "critical");
    assert_eq!(report["schema_version"], fairmark::report::SCHEMA_VERSION);
}

#[test]
fn orders_with_only_customer_date_and_amount_still_give_segments() {
    let fixture = Fixture::small();
    let orders = fixture.input("minimal.csv");
    let mut csv = String::from("buyer,day,total\n");
    for customer in 0..40 {
        for order in 0..(customer % 5 + 1) {
            csv.push_str(&format!(
                "C{customer:03},2026-0{}-1{}T12:00:00,{}.50\n",
                order % 9 + 1,
                customer % 10,
                10 + customer * order
            ));
        }
    }
    std::fs::write(&orders, csv).unwrap();
    std::fs::write(
        &fixture.data.config,
        "policies = [\"cn\"]\nkey = { file = \"demo.key\" }\n[datasets.orders]\npath = \"minimal.csv\"\ncustomer = \"buyer\"\nordered_at = \"day\"\namount = \"total\"\n",
    )
    .unwrap();
    fixture.audit("report").code(0);
    let report = report_json(&fixture.out("report"));
    assert_eq!(report["segmentation"]["customers"], 40);
    let checks = report["checks"].as_array().unwrap();
    let k_anonymity = checks
        .iter()
        .find(|c| c["id"] == "privacy.k-anonymity")
        .unwrap();
    assert_eq!(k_anonymity["status"], "skipped");
    let rows = parquet_rows(&fixture.out("report").join("segments.parquet"));
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter()
            .all(|r| r["segment"].is_some() && r["monetary"].is_some())
    );
}

#[test]
fn checks_explain_and_policies_print_their_documentation() {
    let checks = fairmark().arg("checks").assert().success();
    let text = String::from_utf8(checks.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("privacy.undeclared-pii") && text.contains("cn (high)"),
        "{text}"
    );

    let explain = fairmark()
        .args(["explain", "privacy.k-anonymity"])
        .assert()
        .success();
    let text = String::from_utf8(explain.get_output().stdout.clone()).unwrap();
    assert_eq!(
        text,
        fairmark::checks::find("privacy.k-anonymity")
            .unwrap()
            .info()
            .doc
    );

    fairmark()
        .args(["explain", "privacy.nope"])
        .assert()
        .code(2);

    let list = fairmark().args(["policy", "list"]).assert().success();
    let text = String::from_utf8(list.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("cn") && text.contains("eu") && text.contains("us"),
        "{text}"
    );
    let show = fairmark().args(["policy", "show", "cn"]).assert().success();
    let text = String::from_utf8(show.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("pipl-51") && text.contains("k = 10"),
        "{text}"
    );
}

#[test]
fn a_malformed_policy_pack_is_refused_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // (setting, check, column of the setting at fault, what the message says)
    let cases = [
        (
            "window_days = 0",
            "mail.frequency-cap",
            1,
            "window_days = 0 must be between 1 and 366",
        ),
        (
            "timezone = \"Asia/Atlantis\"",
            "mail.quiet-hours",
            1,
            "is not an IANA time zone",
        ),
        (
            "quiet = { sms = [\"25:00\", \"08:00\"] }",
            "mail.quiet-hours",
            11,
            "\"25:00\" is not a time of day",
        ),
    ];
    for (i, (setting, check, column, says)) in cases.into_iter().enumerate() {
        let pack = format!("bad-{i}.toml");
        std::fs::write(
            dir.path().join(&pack),
            format!(
                "name = \"bad\"\ntitle = \"A malformed pack\"\n\n[checks.\"{check}\"]\n{setting}\n"
            ),
        )
        .unwrap();
        let config = dir.path().join(format!("fairmark-{i}.toml"));
        std::fs::write(
            &config,
            format!("policies = [\"cn\", \"{pack}\"]\nkey = {{ file = \"demo.key\" }}\n[datasets.orders]\npath = \"orders.csv\"\ncustomer = \"buyer\"\nordered_at = \"day\"\namount = \"total\"\n"),
        )
        .unwrap();
        let shown = fairmark()
            .current_dir(dir.path())
            .args(["policy", "show", &pack])
            .assert()
            .code(2);
        let audited = fairmark()
            .args(["audit", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join("report"))
            .assert()
            .code(2);
        let in_config_dir = dir.path().join(&pack).display().to_string();
        for (run, file) in [(shown, pack.clone()), (audited, in_config_dir)] {
            let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
            let at = format!("{file}:5:{column}: checks.\"{check}\".");
            assert!(stderr.contains(&at), "{at} in {stderr}");
            assert!(stderr.contains(says), "{says} in {stderr}");
        }
    }
}
