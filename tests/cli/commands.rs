//! The other commands, and configurations with less data.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{
    Fixture, assert_no_raw_values, fairmark, parquet_rows, raw_identifiers, report_json,
};

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
            "window_days must be between 1 and 366",
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

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let output = fairmark().args(["completions", shell]).assert().success();
        let script = String::from_utf8_lossy(&output.get_output().stdout).into_owned();
        for command in ["audit", "pseudonymize", "check-rules", "explain"] {
            assert!(script.contains(command), "{shell}: {command} missing");
        }
        assert!(script.contains("fail-on-new"), "{shell}");
    }
}

/// What an audit found, as the next run would recognize it: the findings' fingerprints, and
/// each check's status.
fn outcome(report: &serde_json::Value) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let fingerprints = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    let statuses = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (fingerprints, statuses)
}

#[test]
fn init_proposes_a_config_that_audits_like_the_demos_own() {
    let fixture = Fixture::small();
    let input = fixture.dir.path().join("input");
    let proposed = fixture.input("init.toml");
    let init = fairmark()
        .arg("init")
        .arg(&input)
        .arg("--out")
        .arg(&proposed)
        .assert()
        .success();
    let stdout = String::from_utf8(init.get_output().stdout.clone()).unwrap();
    for said in [
        "customers.csv",
        "1 left unmapped: notes",
        "orders.parquet",
        "mail_sends",
        "consents",
        "Pricing rules: rules.toml",
    ] {
        assert!(stdout.contains(said), "{said} in {stdout}");
    }
    let text = std::fs::read_to_string(&proposed).unwrap();
    fairmark::config::Config::load(&proposed).expect("the proposal loads strictly");
    let raw = raw_identifiers(&fixture.data.customers_csv);
    let output = init.get_output();
    assert_no_raw_values(
        &raw,
        &BTreeMap::from([
            ("stdout".to_string(), output.stdout.clone()),
            ("stderr".to_string(), output.stderr.clone()),
            ("init.toml".to_string(), text.clone().into_bytes()),
        ]),
    );

    // Written once, the proposal is kept unless --force says otherwise.
    let again = fairmark()
        .arg("init")
        .arg(&input)
        .arg("--out")
        .arg(&proposed)
        .assert()
        .code(2);
    let stderr = String::from_utf8(again.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.lines().count() == 1 && stderr.contains("exists; pass --force"),
        "{stderr}"
    );
    fairmark()
        .arg("init")
        .arg(&input)
        .arg("--out")
        .arg(&proposed)
        .arg("--force")
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&proposed).unwrap(), text);

    fixture.audit("with-demo-config").code(1);
    fairmark()
        .args(["audit", "--config"])
        .arg(&proposed)
        .arg("--out")
        .arg(fixture.out("with-init-config"))
        .assert()
        .code(1);
    let (demo_findings, demo_checks) = outcome(&report_json(&fixture.out("with-demo-config")));
    let (init_findings, init_checks) = outcome(&report_json(&fixture.out("with-init-config")));
    assert!(!demo_findings.is_empty());
    assert_eq!(init_findings, demo_findings);
    assert_eq!(init_checks, demo_checks);
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `fairmark checks | head -1`: the reader goes away after its first line.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fairmark"))
        .arg("checks")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
