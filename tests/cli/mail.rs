//! The marketing-contact audit on hand-built mail logs with known answers, including the edge
//! cases of consent as of the send time (events at exactly the send time, sends of one instant),
//! grace periods, midnight, daylight-saving time and push recipients tokenized by channel.

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
    write_log(dir, policies, SENDS, consents)
}

fn write_log(dir: &Path, policies: &str, sends: &str, consents: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("sends.csv"), sends).unwrap();
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

/// `report.json`'s `mail` breakdown: campaign → (channel, [messages, consented, no consent,
/// after opt-out, quiet hours]).
fn breakdown(report: &serde_json::Value) -> BTreeMap<String, (String, [u64; 5])> {
    report["mail"]["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let n = |key: &str| c[key].as_u64().unwrap();
            (
                c["campaign"].as_str().unwrap().to_string(),
                (
                    c["channel"].as_str().unwrap().to_string(),
                    [
                        n("messages"),
                        n("consented"),
                        n("no_consent"),
                        n("after_opt_out"),
                        n("quiet_hours"),
                    ],
                ),
            )
        })
        .collect()
}

fn campaigns(rows: &[(&str, &str, [u64; 5])]) -> BTreeMap<String, (String, [u64; 5])> {
    rows.iter()
        .map(|(campaign, channel, counts)| (campaign.to_string(), (channel.to_string(), *counts)))
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
    // Every message once, in the first that applies: after an opt-out, without consent, in
    // quiet hours, consented; the same counts as the checks' findings.
    assert_eq!(
        breakdown(&report),
        campaigns(&[
            ("daily", "email", [6, 6, 0, 0, 0]),
            ("flash", "sms", [5, 2, 0, 0, 3]),
            ("spring", "email", [8, 5, 1, 2, 0]),
            ("us-sms", "sms", [2, 1, 0, 0, 1]),
        ])
    );
    assert!(report["mail"].get("not_judged").is_none(), "cn judges all");
    // The SMS regulation is cited on SMS findings, never on e-mail ones.
    for finding in report["findings"].as_array().unwrap() {
        let cites_sms_order = finding["legal_bases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == "miit-31");
        match finding["subject"]["channel"].as_str() {
            Some("email") => assert!(!cites_sms_order, "{finding:#}"),
            Some("sms") if finding["check"] != "mail.frequency-cap" => {
                assert!(cites_sms_order, "{finding:#}")
            }
            _ => {}
        }
    }
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
    // Erin needs no opt-in for e-mail, Bob's and Carol's opt-outs are in their grace.
    assert_eq!(
        breakdown(&report),
        campaigns(&[
            ("daily", "email", [6, 6, 0, 0, 0]),
            ("flash", "sms", [5, 4, 0, 0, 1]),
            ("spring", "email", [8, 8, 0, 0, 0]),
            ("us-sms", "sms", [2, 1, 0, 0, 1]),
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

// One instant, 2026-03-04T10:00:00 (18:00 in Shanghai): frank opts out at exactly the time of
// two sends (f1, f2; f3 a second earlier is lawful); gina and jack opt in and out at that
// instant, written in either order; hank re-subscribes at that instant (h1 lawful, h2 an hour
// earlier is not). ivy gets five messages at one instant, three of `burst-a` and two of
// `burst-b`.
const SAME_INSTANT_CONSENTS: &str = "address,chan,what,when
frank@example.com,email,subscribe,2026-03-01T00:00:00
frank@example.com,email,unsubscribe,2026-03-04T10:00:00
gina@example.com,email,subscribe,2026-03-04T10:00:00
gina@example.com,email,unsubscribe,2026-03-04T10:00:00
jack@example.com,email,unsubscribe,2026-03-04T10:00:00
jack@example.com,email,subscribe,2026-03-04T10:00:00
hank@example.com,email,unsubscribe,2026-03-01T00:00:00
hank@example.com,email,subscribe,2026-03-04T10:00:00
ivy@example.com,email,subscribe,2026-03-01T00:00:00
";

const SAME_INSTANT_SENDS: &str = "msg,to,chan,campaign,sent,unsub,sender,tz
f1,frank@example.com,email,edge,2026-03-04T10:00:00,true,Shop Ltd,Asia/Shanghai
f2,frank@example.com,email,edge,2026-03-04T10:00:00,true,Shop Ltd,Asia/Shanghai
f3,frank@example.com,email,edge,2026-03-04T09:59:59,true,Shop Ltd,Asia/Shanghai
g1,gina@example.com,email,edge,2026-03-04T10:00:00,true,Shop Ltd,Asia/Shanghai
j1,jack@example.com,email,edge,2026-03-04T10:00:00,true,Shop Ltd,Asia/Shanghai
h1,hank@example.com,email,edge,2026-03-04T10:00:00,true,Shop Ltd,Asia/Shanghai
h2,hank@example.com,email,edge,2026-03-04T09:00:00,true,Shop Ltd,Asia/Shanghai
i1,ivy@example.com,email,burst-b,2026-03-05T02:00:00,true,Shop Ltd,Asia/Shanghai
i2,ivy@example.com,email,burst-a,2026-03-05T02:00:00,true,Shop Ltd,Asia/Shanghai
i3,ivy@example.com,email,burst-b,2026-03-05T02:00:00,true,Shop Ltd,Asia/Shanghai
i4,ivy@example.com,email,burst-a,2026-03-05T02:00:00,true,Shop Ltd,Asia/Shanghai
i5,ivy@example.com,email,burst-a,2026-03-05T02:00:00,true,Shop Ltd,Asia/Shanghai
";

fn audit_report(dir: &Path, config: &Path, code: i32) -> serde_json::Value {
    let out = dir.join("report");
    fairmark()
        .args(["audit", "--config"])
        .arg(config)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(code);
    report_json(&out)
}

fn suppression_reasons(dir: &Path) -> BTreeMap<String, usize> {
    let mut reasons = BTreeMap::new();
    for row in parquet_rows(&dir.join("report").join("suppression.parquet")) {
        *reasons.entry(row["reason"].clone().unwrap()).or_default() += 1;
    }
    reasons
}

#[test]
fn an_event_at_exactly_the_send_time_counts_and_sends_of_one_instant_are_judged_alike() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(
        dir.path(),
        "\"cn\"",
        SAME_INSTANT_SENDS,
        SAME_INSTANT_CONSENTS,
    );
    let report = audit_report(dir.path(), &config, 1);
    // after-opt-out: f1 and f2 (the opt-out at their instant is in force, with no grace), g1
    // and j1 (opt-in and opt-out at one instant resolve to the opt-out, whatever the file
    // order), h2 (before hank's re-subscription). Five messages at one instant to ivy under a
    // cap of four: one excess, charged to the campaign last by name.
    assert_eq!(
        counts(&report),
        expected(&[
            ("mail.after-opt-out", "edge", 5),
            ("mail.frequency-cap", "burst-b", 1),
        ])
    );
    let reasons = suppression_reasons(dir.path());
    assert_eq!(reasons, BTreeMap::from([("opted_out".to_string(), 3)]));
}

#[test]
fn the_frequency_cap_counts_every_message_of_one_instant() {
    // Four at one instant is at the cap, not over it; a fifth a minute later is the excess.
    let sends = SAME_INSTANT_SENDS
        .replace(
            "i1,ivy@example.com,email,burst-b,2026-03-05T02:00:00",
            "i1,ivy@example.com,email,burst-b,2026-03-05T02:01:00",
        )
        .replace(
            "i3,ivy@example.com,email,burst-b,2026-03-05T02:00:00",
            "i3,ivy@example.com,email,burst-a,2026-03-05T02:00:00",
        );
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"cn\"", &sends, SAME_INSTANT_CONSENTS);
    let report = audit_report(dir.path(), &config, 1);
    assert_eq!(
        counts(&report),
        expected(&[
            ("mail.after-opt-out", "edge", 5),
            ("mail.frequency-cap", "burst-b", 1),
        ])
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "mail.frequency-cap")
        .unwrap();
    assert_eq!(finding["evidence"]["first_sent_at"], "2026-03-05T02:01:00");
}

// Push recipients are device ids: trimmed, nothing else. The sms consent and send share a
// number written two ways; the push consent `13800000002` is a device id that only looks like
// a phone number, so the push send to `+86 138-0000-0002` is another device.
const PUSH_CONSENTS: &str = "address,chan,what,when
Dev-ABC,push,subscribe,2026-03-01T00:00:00
13800000002,push,subscribe,2026-03-01T00:00:00
13800000002,sms,subscribe,2026-03-01T00:00:00
";

const PUSH_SENDS: &str = "msg,to,chan,campaign,sent,unsub,sender,tz
p1,Dev-ABC,push,app,2026-03-04T02:00:00,true,Shop Ltd,Asia/Shanghai
p2, Dev-ABC ,Push,app,2026-03-04T02:00:00,true,Shop Ltd,Asia/Shanghai
p3,dev-abc,push,app,2026-03-04T02:00:00,true,Shop Ltd,Asia/Shanghai
p4,13800000002,push,app,2026-03-04T02:00:00,true,Shop Ltd,Asia/Shanghai
p5,+86 138-0000-0002,push,app,2026-03-04T02:00:00,true,Shop Ltd,Asia/Shanghai
s1,+86 138-0000-0002,sms,text,2026-03-04T02:00:00,true,Shop Ltd,Asia/Shanghai
";

#[test]
fn push_recipients_are_opaque_device_ids_matched_by_channel() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"cn\"", PUSH_SENDS, PUSH_CONSENTS);
    let report = audit_report(dir.path(), &config, 1);
    // p3 differs in case, p5 in spelling: two devices without consent. p1, p2 (spaces) and p4
    // match their consents; s1 matches the sms consent after phone normalization.
    assert_eq!(counts(&report), expected(&[("mail.no-consent", "app", 2)]));
    assert_eq!(
        suppression_reasons(dir.path()),
        BTreeMap::from([("no_consent".to_string(), 2)])
    );
}

// Keys: a passphrase is refused wherever it comes from, without being echoed; a key file of
// raw random bytes is accepted. (Beside the mail tests because their fixture is the smallest
// complete config; the key is the same for every dataset.)
const PASSPHRASE: &str = "Tr0ub4dor&3 is my favourite shop passphrase of all time";

#[test]
fn a_passphrase_key_exits_2_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"cn\"", PUSH_SENDS, PUSH_CONSENTS);
    let out = dir.path().join("report");
    let refused = |command: &mut assert_cmd::Command, origin: &str| {
        let output = command
            .args(["audit", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(origin), "{stderr}");
        assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
        assert!(
            !stderr.contains("Tr0ub4dor"),
            "the passphrase is never shown"
        );
        assert!(!out.exists());
    };
    std::fs::write(dir.path().join("test.key"), PASSPHRASE).unwrap();
    refused(&mut fairmark(), "test.key");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "key = { file = \"test.key\" }",
            "key = { env = \"FAIRMARK_TEST_PASSPHRASE\" }",
        ),
    )
    .unwrap();
    refused(
        fairmark().env("FAIRMARK_TEST_PASSPHRASE", PASSPHRASE),
        "environment variable FAIRMARK_TEST_PASSPHRASE",
    );
    // 62 hex digits are 248 bits: short.
    refused(
        fairmark().env("FAIRMARK_TEST_PASSPHRASE", "ab".repeat(31)),
        "FAIRMARK_TEST_PASSPHRASE",
    );
}

#[test]
fn a_key_file_of_random_bytes_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"cn\"", PUSH_SENDS, PUSH_CONSENTS);
    // As `head -c 32 /dev/urandom` writes it: bytes, not text (0xff never occurs in UTF-8).
    let bytes: Vec<u8> = (0..32u8).map(|i| 0xff ^ i.wrapping_mul(37)).collect();
    std::fs::write(dir.path().join("test.key"), bytes).unwrap();
    let report = audit_report(dir.path(), &config, 1);
    assert!(report["key_id"].as_str().unwrap().starts_with('k'));
}

// Footers of one e-mail campaign: n2 and n4 lost the sender's postal address (`false`, `no`),
// n1 and n3 carry it (`true`, `yes`). t1 is a text whose flag is false: CAN-SPAM asks the
// address of commercial e-mail only.
const POSTAL_SENDS: &str = "msg,to,chan,campaign,sent,unsub,sender,tz,postal
n1,alice@example.com,email,news,2026-03-02T10:00:00,true,Shop Ltd,America/New_York,true
n2,bob@example.com,email,news,2026-03-02T10:00:00,true,Shop Ltd,America/New_York,false
n3,carol@example.com,email,news,2026-03-02T10:00:00,true,Shop Ltd,America/New_York,yes
n4,dave@example.com,email,news,2026-03-04T10:00:00,true,Shop Ltd,America/New_York,no
t1,+14155550100,sms,text,2026-03-02T16:00:00,true,Shop Ltd,America/New_York,false
";

/// The status of one check in report.json: `(status, reason)`.
fn check_status(report: &serde_json::Value, id: &str) -> (String, Option<String>) {
    let run = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    (
        run["status"].as_str().unwrap().to_string(),
        run["reason"].as_str().map(String::from),
    )
}

#[test]
fn the_us_pack_flags_e_mail_without_the_senders_postal_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"us\"", POSTAL_SENDS, CONSENTS);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "sender_id = \"sender\"\n",
            "sender_id = \"sender\"\npostal_address = \"postal\"\n",
        ),
    )
    .unwrap();
    let report = audit_report(dir.path(), &config, 0);
    assert_eq!(
        counts(&report),
        expected(&[("mail.missing-postal-address", "news", 2)])
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "mail.missing-postal-address")
        .unwrap();
    assert_eq!(finding["evidence"]["campaign_messages"], 4);
    assert_eq!(finding["evidence"]["last_sent_at"], "2026-03-04T10:00:00");
}

#[test]
fn the_postal_address_check_is_skipped_when_the_sends_do_not_map_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"us\"", POSTAL_SENDS, CONSENTS);
    let report = audit_report(dir.path(), &config, 0);
    assert_eq!(
        check_status(&report, "mail.missing-postal-address"),
        (
            "skipped".to_string(),
            Some("the sends map no postal_address".to_string())
        )
    );
    // The cn pack cites no provision that asks for a postal address in each message.
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"cn\"", POSTAL_SENDS, CONSENTS);
    let report = audit_report(dir.path(), &config, 1);
    assert_eq!(
        check_status(&report, "mail.missing-postal-address").0,
        "disabled"
    );
}

#[test]
fn twenty_thousand_messages_to_one_recipient_at_one_instant_are_capped_exactly() {
    // Two campaigns at one instant: burst-a's 12,000 messages are numbered 1 to 12,000 and
    // burst-b's 8,000 follow, so under a cap of four every message past the fourth of burst-a
    // is excess, and all of burst-b's.
    let mut sends = String::from("msg,to,chan,campaign,sent,unsub,sender,tz\n");
    for (campaign, messages) in [("burst-b", 8_000), ("burst-a", 12_000)] {
        for i in 0..messages {
            sends.push_str(&format!(
                "{campaign}-{i},ivy@example.com,email,{campaign},2026-03-05T02:00:00,true,Shop Ltd,Asia/Shanghai\n"
            ));
        }
    }
    let consents = "address,chan,what,when\nivy@example.com,email,subscribe,2026-03-01T00:00:00\n";
    let dir = tempfile::tempdir().unwrap();
    let config = write_log(dir.path(), "\"cn\"", &sends, consents);
    // Medium findings only: under the default --fail-on high the audit passes.
    let report = audit_report(dir.path(), &config, 0);
    let capped: BTreeMap<_, _> = counts(&report)
        .into_iter()
        .filter(|((check, _), _)| check == "mail.frequency-cap")
        .collect();
    assert_eq!(
        capped,
        expected(&[
            ("mail.frequency-cap", "burst-a", 11_996),
            ("mail.frequency-cap", "burst-b", 8_000),
        ])
    );
}
