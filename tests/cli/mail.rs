//! The marketing-contact audit on a hand-built mail log with known answers, including the edge
//! cases of consent as of the send time, grace periods, midnight and daylight-saving time.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{assert_no_raw_values, fairmark, outputs_to_scan, parquet_rows, report_json};

const CONSENTS: &str = "address,chan,what,when
alice@example.com,email,subscribe,2026-03-01T00:00:00
bob@example.com,email,subscribe,2026-03-01T00:00:00
bob@example.com,email,unsubscribe,2026-03-05T00:00:00
carol@example.com,email,unsubscribe,2026-03-02T00:00:00
carol@example.com,email,subscribe,2026-03-03T00:00:00
dave@example.com,email,subscribe,2026-03-04T09:00:00
13800000001,SMS,subscribe,2026-03-01T00:00:00
+14155550100,sms,subscribe,2026-03-01T00:00:00
";

// spring: a later opt-out (bob, legal before it), a send after an opt-out (bob, carol), a
// re-subscription (carol), a consent at exactly the send time (dave), no consent at all (erin),
// a differently spelled address (alice). daily: five messages to alice in a week. flash: SMS
// around and across midnight in Shanghai. us-sms: the same local time before and after the US
// switch to daylight-saving time.
const SENDS: &str = "msg,to,chan,campaign,sent,unsub,sender,tz
s1,alice@example.com,email,spring,2026-03-02T10:00:00,true,Shop Ltd,
s2,bob@example.com,email,spring,2026-03-04T10:00:00,true,,
s3,bob@example.com,email,spring,2026-03-06T10:00:00,true,Shop Ltd,
s4,carol@example.com,email,spring,2026-03-02T10:00:00,true,Shop Ltd,
s5,carol@example.com,email,spring,2026-03-04T10:00:00,true,Shop Ltd,
s6,dave@example.com,email,spring,2026-03-04T09:00:00,true,Shop Ltd,
s7,erin@example.com,email,spring,2026-03-04T10:00:00,false,Shop Ltd,
s8, Alice@Example.com ,email,spring,2026-03-03T10:00:00,true,Shop Ltd,
d1,alice@example.com,email,daily,2026-03-10T10:00:00,true,Shop Ltd,
d2,alice@example.com,email,daily,2026-03-11T10:00:00,true,Shop Ltd,
d3,alice@example.com,email,daily,2026-03-12T10:00:00,true,Shop Ltd,
d4,alice@example.com,email,daily,2026-03-13T10:00:00,true,Shop Ltd,
d5,alice@example.com,email,daily,2026-03-14T10:00:00,true,Shop Ltd,
d6,alice@example.com,email,daily,2026-03-20T10:00:00,true,Shop Ltd,
m1,13800000001,sms,flash,2026-03-01T13:30:00,true,Shop Ltd,
m2,+86 138-0000-0001,sms,flash,2026-03-01T15:59:00,true,Shop Ltd,
m3,13800000001,sms,flash,2026-03-01T16:30:00,true,Shop Ltd,
m4,13800000001,sms,flash,2026-03-02T00:30:00,true,Shop Ltd,
m5,13800000001,sms,flash,2026-03-01T12:59:00,true,Shop Ltd,
u1,+14155550100,sms,us-sms,2026-03-07T01:30:00,true,Shop Ltd,America/New_York
u2,+14155550100,sms,us-sms,2026-03-14T01:30:00,true,Shop Ltd,America/New_York
";

const CONFIG: &str = r#"policies = [POLICIES]
key = { file = "test.key" }

[datasets.mail_sends]
path = "sends.csv"
id = "msg"
recipient = "to"
channel = "chan"
campaign = "campaign"
sent_at = "sent"
has_unsubscribe = "unsub"
sender_id = "sender"
recipient_timezone = "tz"

[datasets.consents]
path = "consents.csv"
recipient = "address"
channel = "chan"
action = "what"
at = "when"
actions = { opt_in = ["subscribe"], opt_out = ["unsubscribe", "STOP"] }
"#;

const BULK_PACK: &str = "name = \"bulk-test\"\ntitle = \"a low spam threshold for a small log\"\n[checks.\"mail.unsolicited-bulk\"]\nmin_messages = 3\n";

fn write_inputs(dir: &Path, policies: &str, consents: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("sends.csv"), SENDS).unwrap();
    std::fs::write(dir.join("consents.csv"), consents).unwrap();
    std::fs::write(dir.join("test.key"), "ab".repeat(32)).unwrap();
    std::fs::write(dir.join("bulk-test.toml"), BULK_PACK).unwrap();
    let config = dir.join("fairmark.toml");
    std::fs::write(&config, CONFIG.replace("POLICIES", policies)).unwrap();
    config
}

/// (check, campaign) → messages flagged.
fn counts(report: &serde_json::Value) -> BTreeMap<(String, String), u64> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("mail."))
        .map(|f| {
            (
                (
                    f["check"].as_str().unwrap().to_string(),
                    f["subject"]["campaign"].as_str().unwrap().to_string(),
                ),
                f["evidence"]["messages"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expected(pairs: &[(&str, &str, u64)]) -> BTreeMap<(String, String), u64> {
    pairs
        .iter()
        .map(|(c, k, n)| ((c.to_string(), k.to_string()), *n))
        .collect()
}

#[test]
fn each_check_counts_exactly_under_the_cn_pack() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_inputs(dir.path(), "\"cn\", \"bulk-test.toml\"", CONSENTS);
    let out = dir.path().join("report");
    let run = fairmark()
        .args(["audit", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    let report = report_json(&out);
    assert_eq!(
        counts(&report),
        expected(&[
            ("mail.no-consent", "spring", 1),
            ("mail.after-opt-out", "spring", 2),
            ("mail.unsolicited-bulk", "spring", 3),
            ("mail.quiet-hours", "flash", 3),
            ("mail.quiet-hours", "us-sms", 1),
            ("mail.frequency-cap", "daily", 1),
            ("mail.frequency-cap", "flash", 1),
            ("mail.missing-unsubscribe", "spring", 1),
            ("mail.missing-sender-id", "spring", 1),
        ])
    );
    let suppression = parquet_rows(&out.join("suppression.parquet"));
    let reasons: Vec<&str> = suppression
        .iter()
        .map(|r| r["reason"].as_deref().unwrap())
        .collect();
    assert_eq!(
        reasons.len(),
        2,
        "bob opted out, erin never opted in: {reasons:?}"
    );
    assert!(reasons.contains(&"opted_out") && reasons.contains(&"no_consent"));

    let raw: Vec<String> = SENDS
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().trim().to_string())
        .chain(["13800000001".to_string(), "4155550100".to_string()])
        .collect();
    let output = run.get_output();
    let mut scanned = outputs_to_scan(&out, &output.stdout, &output.stderr);
    scanned.retain(|name, _| !name.ends_with(".csv"));
    assert_no_raw_values(&raw, &scanned);
}

#[test]
fn the_us_pack_allows_ten_business_days_and_follows_new_york_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_inputs(dir.path(), "\"us\"", CONSENTS);
    let out = dir.path().join("report");
    fairmark()
        .args(["audit", "--fail-on", "critical", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let report = report_json(&out);
    // E-mail needs no opt-in under CAN-SPAM; both opt-outs are within ten business days; in New
    // York only m5 (07:59 EST) and u2 (21:30 EDT) fall in quiet hours.
    assert_eq!(
        counts(&report),
        expected(&[
            ("mail.quiet-hours", "flash", 1),
            ("mail.quiet-hours", "us-sms", 1),
            ("mail.missing-unsubscribe", "spring", 1),
            ("mail.missing-sender-id", "spring", 1),
        ])
    );
}

fn fails_with(consents: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_inputs(dir.path(), "\"cn\"", consents);
    let out = dir.path().join("report");
    let output = fairmark()
        .args(["audit", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{part} in {stderr}");
    }
    assert!(!out.exists());
}

#[test]
fn a_bad_consents_file_is_an_error_not_zero_findings() {
    fails_with(
        &CONSENTS.replace(
            "dave@example.com,email,subscribe",
            "dave@example.com,email,resubscribe",
        ),
        &["consents", "`what`", "resubscribe"],
    );
    fails_with(
        &CONSENTS.replace("2026-03-04T09:00:00", "the fourth of March"),
        &["consents"],
    );
    fails_with(
        &CONSENTS.replace("dave@example.com,email", ",email"),
        &["consents", "without a recipient", "`address`"],
    );
}
