//! The monthly audit: a baseline (new, persisting, resolved findings; customers moving between
//! segments), `--fail-on-new`, waivers with an owner and an expiry, and the CI formats.

use std::collections::BTreeSet;
use std::io::Write;

use crate::support::{Fixture, fairmark, parquet_rows, report_json, validate_sarif};

fn fingerprints(findings: &serde_json::Value) -> BTreeSet<(String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"].to_string(),
            )
        })
        .collect()
}

fn audit(fixture: &Fixture, out: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    fairmark()
        .args(["audit", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(fixture.out(out))
        .args(extra)
        .assert()
}

/// The month between two audits: the sms campaign bought from a list gets its recipients'
/// opt-ins on record, and a new rule surcharges electronics for long-standing customers.
fn a_month_passes(fixture: &Fixture) {
    let recipients: BTreeSet<String> = parquet_rows(&fixture.input("sends.parquet"))
        .into_iter()
        .filter(|row| row["campaign"].as_deref() == Some("list-buy"))
        .map(|row| row["recipient"].clone().unwrap())
        .collect();
    assert!(!recipients.is_empty());
    let mut consents = std::fs::OpenOptions::new()
        .append(true)
        .open(fixture.input("consents.csv"))
        .unwrap();
    for recipient in recipients {
        writeln!(consents, "{recipient},sms,subscribe,2026-01-02T00:00:00").unwrap();
    }
    let mut rules = std::fs::OpenOptions::new()
        .append(true)
        .open(fixture.input("rules.toml"))
        .unwrap();
    write!(
        rules,
        "\n[[rule]]\nid = \"loyalty-tax\"\ndescription = \"Regulars pay more for phones\"\nwhen = \"tenure_days > 730\"\nadjust = \"+4%\"\nscope = {{ category = [\"electronics\"] }}\n"
    )
    .unwrap();
}

#[test]
fn a_second_audit_reports_what_is_new_what_persists_and_what_was_resolved() {
    let fixture = Fixture::small();
    audit(&fixture, "october", &[]).code(1);
    let october = report_json(&fixture.out("october"));
    a_month_passes(&fixture);
    let october_dir = fixture.out("october");
    audit(
        &fixture,
        "november",
        &["--baseline", october_dir.to_str().unwrap()],
    )
    .code(1);
    let november = report_json(&fixture.out("november"));
    // `--baseline` takes the output directory or the report.json itself.
    let october_json = october_dir.join("report.json");
    audit(
        &fixture,
        "november-again",
        &["--baseline", october_json.to_str().unwrap()],
    )
    .code(1);
    let again = report_json(&fixture.out("november-again"));
    assert_eq!(again["findings"], november["findings"]);
    assert_eq!(
        again["baseline"]["resolved"],
        november["baseline"]["resolved"]
    );
    let baseline = &november["baseline"];
    let resolved = fingerprints(&baseline["resolved"]);
    assert_eq!(
        resolved,
        BTreeSet::from([(
            "mail.no-consent".to_string(),
            r#"{"campaign":"list-buy","channel":"sms","dataset":"mail_sends"}"#.to_string()
        )]),
        "the fixed campaign is resolved, nothing else"
    );
    let findings = november["findings"].as_array().unwrap();
    let new: BTreeSet<(String, String)> = findings
        .iter()
        .filter(|f| f["baseline"] == "new")
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"].to_string(),
            )
        })
        .collect();
    assert!(
        new.contains(&(
            "pricing.rule-surcharge".to_string(),
            r#"{"rule":"loyalty-tax"}"#.to_string()
        )),
        "{new:?}"
    );
    assert!(
        new.iter()
            .all(|(_, subject)| subject.contains("loyalty-tax")),
        "only the new rule's findings are new: {new:?}"
    );
    assert_eq!(baseline["new"].as_u64().unwrap() as usize, new.len());
    let persisting = findings
        .iter()
        .filter(|f| f["baseline"] == "persisting")
        .count();
    assert_eq!(
        persisting,
        october["findings"].as_array().unwrap().len() - resolved.len()
    );
    // Same customers, same orders: nobody changed segment.
    let shift = &baseline["segment_shift"];
    assert_eq!(shift["moved"], 0, "{shift}");
    assert!(shift["stayed"].as_u64().unwrap() > 300, "{shift}");

    let markdown = std::fs::read_to_string(fixture.out("november").join("report.md")).unwrap();
    assert!(markdown.contains("## Since the baseline"), "{markdown}");
    let sarif: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture.out("november").join("report.sarif")).unwrap(),
    )
    .unwrap();
    validate_sarif(&sarif);
    let states: BTreeSet<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["baselineState"].as_str().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from(["new", "unchanged", "absent"]));

    // Failing only on what is new: the new rule surcharge is high, so the gate still fails;
    // against November itself nothing is new, and the same findings pass the gate.
    let november_dir = fixture.out("november");
    let baseline_arg = [
        "--baseline",
        november_dir.to_str().unwrap(),
        "--fail-on-new",
    ];
    audit(&fixture, "december", &baseline_arg).code(0);
    audit(&fixture, "december-all", &baseline_arg[..2]).code(1);
    let december = report_json(&fixture.out("december"));
    assert_eq!(december["outcome"]["failing_findings"], 0);
    assert_eq!(december["outcome"]["fail_on_new"], true);
}

#[test]
fn waivers_accept_a_risk_until_they_expire_and_stale_ones_are_reported() {
    let fixture = Fixture::small();
    let config = std::fs::read_to_string(&fixture.data.config).unwrap();
    let waivers = r#"
[[waiver]]
check = "pricing.rule-surcharge"
rule = "ios-premium"
reason = "under review with counsel; the rule is removed in the January release"
owner = "pricing-team"
expires = 2026-12-31

[[waiver]]
check = "mail.quiet-hours"
campaign = "flash-sale"
reason = "the vendor's send window was fixed"
owner = "crm-team"
expires = "2026-10-31"

[[waiver]]
check = "pricing.tenure-overcharge"
sku = "SKU-NOT-SOLD"
reason = "a typo"
owner = "pricing-team"
expires = 2027-06-30
"#;
    // Top-level tables must come before the [datasets.*] tables.
    let (head, tail) = config.split_at(config.find("\n[datasets.").unwrap());
    std::fs::write(&fixture.data.config, format!("{head}\n{waivers}{tail}")).unwrap();
    audit(&fixture, "report", &["--today", "2026-11-24"]).code(1);
    let report = report_json(&fixture.out("report"));
    let findings = report["findings"].as_array().unwrap();
    let waived: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f.get("waiver").is_some())
        .collect();
    assert_eq!(waived.len(), 1, "{waived:?}");
    assert_eq!(waived[0]["check"], "pricing.rule-surcharge");
    assert_eq!(waived[0]["waiver"]["owner"], "pricing-team");
    assert_eq!(report["outcome"]["waived_findings"], 1);
    assert_eq!(report["waivers_judged_on"], "2026-11-24");
    let about = |check: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["check"] == check)
            .map(|f| f["subject"]["waiver"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        about("waiver.expired"),
        ["mail.quiet-hours, campaign flash-sale"]
    );
    assert_eq!(
        about("waiver.unmatched"),
        ["pricing.tenure-overcharge, sku SKU-NOT-SOLD"]
    );
    // The expired waiver stopped waiving.
    let quiet = findings
        .iter()
        .find(|f| f["check"] == "mail.quiet-hours")
        .unwrap();
    assert!(quiet.get("waiver").is_none());
    // A waived finding does not count towards the gate.
    let failing = findings
        .iter()
        .filter(|f| ["critical", "high"].contains(&f["severity"].as_str().unwrap()))
        .filter(|f| f.get("waiver").is_none())
        .count();
    assert_eq!(
        report["outcome"]["failing_findings"].as_u64().unwrap() as usize,
        failing
    );

    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture.out("report").join("report.sarif")).unwrap())
            .unwrap();
    validate_sarif(&sarif);
    let suppressed: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "under review with counsel; the rule is removed in the January release"
    );

    let junit = std::fs::read_to_string(fixture.out("report").join("report.junit.xml")).unwrap();
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert_eq!(
        junit.matches("<failure ").count(),
        report["outcome"]["failing_findings"].as_u64().unwrap() as usize
    );
    assert!(
        junit.contains(r#"<testsuite name="fairmark.waiver""#),
        "{junit}"
    );

    // A waiver without an owner is refused, with where it is.
    let text = std::fs::read_to_string(&fixture.data.config).unwrap();
    std::fs::write(
        &fixture.data.config,
        text.replacen("owner = \"crm-team\"\n", "", 1),
    )
    .unwrap();
    let refused = audit(&fixture, "refused", &[]).code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains("missing field `owner`"), "{stderr}");
}

#[test]
fn reports_in_chinese_cite_the_law_by_its_chinese_title_and_keep_the_json() {
    let fixture = Fixture::small();
    audit(&fixture, "en", &[]).code(1);
    let zh = audit(&fixture, "zh", &["--lang", "zh-CN"]).code(1);
    let stdout = String::from_utf8_lossy(&zh.get_output().stdout).into_owned();
    assert!(
        stdout.contains("未通过：") && stdout.contains("严重程度"),
        "{stdout}"
    );
    let markdown = std::fs::read_to_string(fixture.out("zh").join("report.md")).unwrap();
    assert!(markdown.starts_with("# fairmark 审计报告"), "{markdown}");
    // Each cited provision by its Chinese title and article, e.g. the Advertising Law's
    // consent rule for the campaigns sent without consent.
    assert!(
        markdown.contains("**《中华人民共和国广告法》第四十三条** (cn:adl-43)"),
        "{markdown}"
    );
    assert!(
        markdown.contains("《中华人民共和国个人信息保护法》第二十四条"),
        "{markdown}"
    );
    assert!(
        !markdown.contains("Personal Information Protection Law"),
        "{markdown}"
    );
    // The machine-readable outputs do not change with the language.
    for file in ["report.json", "report.sarif", "report.junit.xml"] {
        assert!(
            std::fs::read(fixture.out("en").join(file)).unwrap()
                == std::fs::read(fixture.out("zh").join(file)).unwrap(),
            "{file} differs between languages"
        );
    }
}
