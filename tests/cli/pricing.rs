//! The pricing audit on generated shops with known answers: planted overcharges are found with
//! their statistics, legitimate price structure is not mistaken for one, and `check-rules`
//! gates a rules change in CI with valid SARIF.

use std::collections::BTreeSet;

use fairmark::demo::{
    Confounders, FREQUENCY_OVERCHARGE_SKU, GENDER_SURCHARGE_SKU, IOS_SURCHARGE_SKUS, Scenario,
    SurchargeDays, TENURE_OVERCHARGE_SKUS,
};

use crate::support::{Fixture, fairmark, report_json, validate_sarif};

const OBSERVED: [&str; 3] = [
    "pricing.tenure-overcharge",
    "pricing.device-overcharge",
    "pricing.protected-overcharge",
];

/// SKUs flagged by `check` in the report.
fn flagged(report: &serde_json::Value, check: &str) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .filter_map(|f| f["subject"]["sku"].as_str().map(String::from))
        .collect()
}

/// Observed-price findings other than the "lacked data" summary.
fn overcharges(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| OBSERVED.contains(&f["check"].as_str().unwrap()) && f["severity"] != "info")
        .map(|f| format!("{} {}", f["check"], f["subject"]))
        .collect()
}

fn audit_without_rules(fixture: &Fixture) -> serde_json::Value {
    audit_report(fixture, 0)
}

/// The report of an audit without rules or mail run with `--fail-on critical`, which must exit
/// with `code`.
fn audit_report(fixture: &Fixture, code: i32) -> serde_json::Value {
    fixture.edit_config("pricing_rules = \"rules.toml\"\n", "");
    fixture.without_mail();
    let out = fixture.out("report");
    fairmark()
        .args(["audit", "--fail-on", "critical", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(code);
    report_json(&out)
}

#[test]
fn the_demo_flags_every_planted_sku_and_no_other() {
    let fixture = Fixture::new(5000, 20261123);
    fixture.audit("report").code(1);
    let report = report_json(&fixture.out("report"));
    // The frequent buyers the demo overcharges on one SKU are long-standing customers, so that
    // SKU's surcharge is also a gap between long-standing and new customers: both findings
    // are true, and the frequency finding names the cohort the shop targets.
    let planted_tenure: BTreeSet<String> = TENURE_OVERCHARGE_SKUS
        .iter()
        .map(|(sku, _)| sku.to_string())
        .chain(std::iter::once(FREQUENCY_OVERCHARGE_SKU.to_string()))
        .collect();
    let planted_ios: BTreeSet<String> = IOS_SURCHARGE_SKUS
        .iter()
        .map(|sku| sku.to_string())
        .collect();
    assert_eq!(
        flagged(&report, "pricing.tenure-overcharge"),
        planted_tenure
    );
    assert_eq!(flagged(&report, "pricing.device-overcharge"), planted_ios);
    assert_eq!(
        flagged(&report, "pricing.frequency-overcharge"),
        BTreeSet::from([FREQUENCY_OVERCHARGE_SKU.to_string()])
    );
    assert!(flagged(&report, "pricing.protected-overcharge").is_empty());

    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"]["sku"] == "SKU10002" && f["check"] == "pricing.tenure-overcharge")
        .unwrap();
    let evidence = &finding["evidence"];
    for key in [
        "matched_strata",
        "n_first_cohort",
        "n_second_cohort",
        "gap_estimate",
        "gap_ci_low",
        "gap_ci_high",
        "p_value",
        "q_value",
    ] {
        assert!(evidence.get(key).is_some(), "evidence lacks {key}");
    }
    let (low, high) = (
        evidence["gap_ci_low"].as_f64().unwrap(),
        evidence["gap_ci_high"].as_f64().unwrap(),
    );
    assert!(
        low > 0.02 && high <= 0.16,
        "15% on two days in three: CI {low}..{high}"
    );
    assert!(evidence["q_value"].as_f64().unwrap() < 0.05);
}

#[test]
fn legitimate_price_structure_alone_is_never_an_overcharge() {
    let only = |edit: fn(&mut Confounders)| {
        let mut confounders = Confounders::NONE;
        edit(&mut confounders);
        confounders
    };
    let cases: [(&str, Confounders); 7] = [
        ("price drift and promotions", only(|c| c.price_drift = true)),
        ("quantity tiers", only(|c| c.quantity_tiers = true)),
        (
            "payment-channel discounts",
            only(|c| c.payment_discount = true),
        ),
        ("member discounts", only(|c| c.member_discount = true)),
        ("customer coupons", only(|c| c.coupons = true)),
        ("random price tests", only(|c| c.price_test = true)),
        (
            "a random price test on four days",
            only(|c| c.clustered_price_test = true),
        ),
    ];
    for (name, confounders) in cases {
        let fixture = Fixture::of(&Scenario::fair(2500, 11, confounders));
        let report = audit_without_rules(&fixture);
        assert_eq!(
            overcharges(&report),
            Vec::<String>::new(),
            "{name} was mistaken for an overcharge"
        );
        let tenure = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "pricing.tenure-overcharge")
            .unwrap();
        assert_eq!(tenure["status"], "ran", "{name}");
    }
}

#[test]
fn an_overcharge_near_the_threshold_is_found_and_one_below_it_is_not() {
    for (surcharge, expected) in [(0.03, true), (0.01, false)] {
        let scenario = Scenario {
            tenure_surcharges: if surcharge > 0.02 {
                &[("SKU10000", 0.03)]
            } else {
                &[("SKU10000", 0.01)]
            },
            surcharge_days: SurchargeDays::Every,
            ..Scenario::fair(8000, 5, Confounders::ALL)
        };
        let fixture = Fixture::of(&scenario);
        let report = audit_without_rules(&fixture);
        let found = flagged(&report, "pricing.tenure-overcharge");
        assert_eq!(
            found.contains("SKU10000"),
            expected,
            "a {surcharge} surcharge; flagged {found:?}"
        );
        assert!(found.iter().all(|sku| sku == "SKU10000"), "{found:?}");
    }
}

#[test]
fn check_rules_fails_on_an_added_tenure_surcharge_and_passes_a_channel_discount_edit() {
    let fixture = Fixture::small();
    let rules = std::fs::read_to_string(&fixture.data.rules_file).unwrap();
    let base = fixture.input("base.toml");

    // The change adds `loyal-uplift`: the base is the file without it.
    let start = rules.find("[[rule]]\nid = \"loyal-uplift\"").unwrap();
    let end = start + rules[start..].find("\n\n").unwrap() + 2;
    std::fs::write(&base, format!("{}{}", &rules[..start], &rules[end..])).unwrap();
    let output = fairmark()
        .args(["check-rules", "--format", "sarif", "--config"])
        .arg(&fixture.data.config)
        .arg("--base")
        .arg(&base)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let when_at = start + rules[start..].find("when = ").unwrap();
    let added_line = rules[..when_at].lines().count() as u64 + 1;
    let new_results: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["baselineState"] == "new")
        .collect();
    assert!(
        new_results
            .iter()
            .any(|r| r["ruleId"] == "pricing.rule-surcharge"
                && r["locations"][0]["physicalLocation"]["region"]["startLine"] == added_line),
        "a new surcharge result at line {added_line}: {new_results:#?}"
    );
    validate_sarif(&sarif);

    // The same gate as JUnit: a failing test case for each new finding at the gate,
    // the persisting ones passing.
    let junit = fairmark()
        .args(["check-rules", "--format", "junit", "--config"])
        .arg(&fixture.data.config)
        .arg("--base")
        .arg(&base)
        .output()
        .unwrap();
    assert_eq!(junit.status.code(), Some(1));
    let junit = String::from_utf8(junit.stdout).unwrap();
    let failing = new_results.iter().filter(|r| r["level"] == "error").count();
    assert_eq!(junit.matches("<failure ").count(), failing, "{junit}");
    assert!(
        junit.contains("name=\"pricing.rule-surcharge [rule loyal-uplift]\"><failure"),
        "{junit}"
    );

    // The change only deepens the app discount: nothing is new.
    let edited = rules.replace("adjust = \"-2%\"", "adjust = \"-3%\"");
    std::fs::write(&base, &rules).unwrap();
    std::fs::write(&fixture.data.rules_file, edited).unwrap();
    fairmark()
        .args(["check-rules", "--config"])
        .arg(&fixture.data.config)
        .arg("--base")
        .arg(&base)
        .assert()
        .code(0);
}

#[test]
fn the_gate_simulates_alike_whether_or_not_a_rule_names_an_order_total() {
    // Without a rule on order counts or spend the features are built without those totals;
    // a rule that names one (and never applies) brings them back. The simulated disparities
    // of the demo's rules must not tell the two runs apart.
    let fixture = Fixture::small();
    let rules = std::fs::read_to_string(&fixture.data.rules_file).unwrap();
    let disparities = |rules_text: &str| {
        std::fs::write(&fixture.data.rules_file, rules_text).unwrap();
        let output = fairmark()
            .args(["check-rules", "--format", "json", "--config"])
            .arg(&fixture.data.config)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let found: Vec<serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "pricing.simulated-disparity")
            .cloned()
            .collect();
        assert!(!found.is_empty(), "{report:#}");
        found
    };
    let never = "\n[[rule]]\nid = \"big-spenders\"\nwhen = \"total_spend < 0 AND order_count < 0\"\nadjust = \"-1%\"\ndisclosed = true\n";
    assert_eq!(disparities(&rules), disparities(&format!("{rules}{never}")));
}

#[test]
fn a_rule_that_does_not_parse_names_its_line_and_column() {
    let fixture = Fixture::small();
    std::fs::write(
        &fixture.data.rules_file,
        "[[rule]]\nid = \"x\"\nwhen = \"tenure_dayz > 3\"\nadjust = \"+1%\"\n",
    )
    .unwrap();
    let output = fairmark()
        .args(["check-rules", "--config"])
        .arg(&fixture.data.config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("rules.toml:3:9") && stderr.contains("tenure_dayz"),
        "{stderr}"
    );
}

#[test]
fn check_rules_takes_the_base_from_a_git_revision() {
    let fixture = Fixture::small();
    let input = fixture.dir.path().join("input");
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(&input)
            .args([
                "-c",
                "user.name=fairmark-test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "rules.toml"]);
    git(&["commit", "-q", "-m", "base rules"]);
    // Unchanged rules: every finding persists, nothing fails.
    fairmark()
        .args(["check-rules", "--base-rev", "HEAD", "--config"])
        .arg(&fixture.data.config)
        .assert()
        .code(0);
    // A new surcharge on device brand is new.
    let mut rules = std::fs::read_to_string(&fixture.data.rules_file).unwrap();
    rules.push_str("\n[[rule]]\nid = \"android-premium\"\nwhen = \"device_os = 'Android'\"\nadjust = \"+3%\"\n");
    std::fs::write(&fixture.data.rules_file, rules).unwrap();
    let output = fairmark()
        .args([
            "check-rules",
            "--base-rev",
            "HEAD",
            "--format",
            "json",
            "--config",
        ])
        .arg(&fixture.data.config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // The gate speaks the audit's baseline vocabulary: each finding new or persisting.
    let standing = |rule: &str| -> Vec<&str> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["subject"]["rule"] == rule)
            .filter_map(|f| f["baseline"].as_str())
            .collect()
    };
    assert!(standing("android-premium").contains(&"new"), "{report:#}");
    assert!(
        standing("ios-premium").contains(&"persisting"),
        "{report:#}"
    );
    assert!(!standing("ios-premium").contains(&"new"), "{report:#}");
    assert_eq!(report["resolved"], serde_json::json!([]), "{report:#}");
}

#[test]
fn quotes_join_the_observations() {
    let fixture = Fixture::small();
    fixture.without_mail();
    // Prices shown without a purchase: here the order file itself, read as a quotes log.
    let config = std::fs::read_to_string(&fixture.data.config).unwrap();
    let quotes = "\n[datasets.quotes]\npath = \"orders.parquet\"\ncustomer = \"uid\"\nsku = \"item_code\"\nquoted_at = \"ordered_at\"\noffered_price = \"offered_unit_price\"\nquantity = \"qty\"\ndevice_os = \"device_os\"\nconditions = [\"channel\", \"pay_method\", \"qty\", \"member\"]\n";
    std::fs::write(&fixture.data.config, format!("{config}{quotes}")).unwrap();
    fixture.audit("report").code(1);
    let report = report_json(&fixture.out("report"));
    let roles: Vec<&str> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"quotes"), "{roles:?}");
    let tenure = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "pricing.tenure-overcharge")
        .unwrap();
    assert_eq!(tenure["status"], "ran");
}

/// A 6% surcharge on long-standing customers, spelled so that a gate reading the text naively
/// could miss it. Each either fails the gate with a finding at the rule's own line, or is refused
/// as a condition outside the grammar (exit 2, naming the rule); none passes.
const FLAGGED_SPELLINGS: &[(&str, &str)] = &[
    ("parenthesized", "(channel = 'app') OR (tenure_days > 365)"),
    (
        "quoted-name",
        "channel = 'app' OR \\\"TENURE_DAYS\\\" > 365",
    ),
    (
        "nested-functions",
        "channel = 'app' OR lower(trim(CAST(abs(tenure_days) AS VARCHAR))) >= '366'",
    ),
    (
        "case",
        "CASE WHEN tenure_days > 365 THEN TRUE ELSE FALSE END",
    ),
    (
        "case-operand",
        "CASE channel WHEN 'app' THEN tenure_days > 365 ELSE FALSE END",
    ),
    ("coalesce", "COALESCE(tenure_days, 0) > 365"),
    ("between", "tenure_days BETWEEN 366 AND 100000"),
    ("not-in", "NOT (tenure_days NOT IN (400, 500, 600))"),
    ("computed-boolean", "is_new = (1 = 0)"),
    ("double-negation", "NOT NOT NOT is_new AND channel = 'app'"),
    ("arithmetic", "tenure_days / 365 >= 1"),
    ("cast", "tenure_days::double > 365.0"),
];

const REFUSED_SPELLINGS: &[(&str, &str)] = &[
    ("unbalanced", "channel = 'app') OR (tenure_days > 365"),
    ("line-comment", "channel = 'app' -- OR tenure_days > 365"),
    (
        "block-comment",
        "channel = 'app' /* */ OR tenure_days > 365",
    ),
    ("semicolon", "channel = 'app'; SELECT 1"),
    (
        "subquery",
        "channel IN (SELECT channel FROM raw_orders) OR tenure_days > 365",
    ),
    (
        "foreign-function",
        "channel = 'app' OR fm_token_customer_id(channel) > ''",
    ),
    (
        "window",
        "channel = 'app' OR max(tenure_days) OVER () > 365",
    ),
];

fn surcharge_rule(id: &str, when: &str) -> String {
    format!("\n[[rule]]\nid = \"{id}\"\nwhen = \"{when}\"\nadjust = \"+6%\"\n")
}

#[test]
fn no_spelling_of_a_tenure_surcharge_passes_the_gate() {
    let fixture = Fixture::small();
    let rules = std::fs::read_to_string(&fixture.data.rules_file).unwrap();
    let base = fixture.input("base.toml");
    std::fs::write(&base, &rules).unwrap();

    // Every flagged spelling at once: each must be new at its own `when` line, and the
    // simulation must run the SQL printed from each.
    let mut changed = rules.clone();
    let mut lines = Vec::new();
    for (id, when) in FLAGGED_SPELLINGS {
        changed.push_str(&surcharge_rule(id, when));
        lines.push((*id, changed.lines().count() as u64 - 1));
    }
    std::fs::write(&fixture.data.rules_file, &changed).unwrap();
    let output = fairmark()
        .args(["check-rules", "--format", "json", "--config"])
        .arg(&fixture.data.config)
        .arg("--base")
        .arg(&base)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for (id, line) in lines {
        let found = report["findings"].as_array().unwrap().iter().any(|f| {
            f["baseline"] == "new"
                && f["subject"]["rule"] == id
                && f["check"] == "pricing.rule-surcharge"
                && f["location"]["line"] == line
        });
        assert!(found, "{id} is not flagged at line {line}: {report:#}");
    }

    for (id, when) in REFUSED_SPELLINGS {
        std::fs::write(
            &fixture.data.rules_file,
            format!("{rules}{}", surcharge_rule(id, when)),
        )
        .unwrap();
        let output = fairmark()
            .args(["check-rules", "--config"])
            .arg(&fixture.data.config)
            .arg("--base")
            .arg(&base)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{id}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{id}: {stderr}");
        assert!(stderr.contains(&format!("rule `{id}`")), "{id}: {stderr}");
    }
}

#[test]
fn a_discount_whose_condition_cannot_be_read_is_reported_not_passed() {
    let fixture = Fixture::small();
    std::fs::write(
        &fixture.data.rules_file,
        "[[rule]]\nid = \"first-order\"\nwhen = \"order_count = 0\"\nadjust = \"-10%\"\n",
    )
    .unwrap();
    let output = fairmark()
        .args(["check-rules", "--format", "json", "--config"])
        .arg(&fixture.data.config)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert!(
        checks.contains(&"pricing.rule-new-customer-discount"),
        "{report:#}"
    );
}

/// The finding of `check` on `sku`.
fn finding<'r>(report: &'r serde_json::Value, check: &str, sku: &str) -> &'r serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check && f["subject"]["sku"] == sku)
        .unwrap_or_else(|| panic!("no {check} finding on {sku}"))
}

#[test]
fn an_overcharge_on_one_day_in_five_is_found_with_its_episodes() {
    for channel in [None, Some("app")] {
        let scenario = Scenario {
            tenure_surcharges: &[("SKU10001", 0.10)],
            surcharge_days: SurchargeDays::OneInFive,
            surcharge_channel: channel,
            // Day by day, new customers are few: a year of a 20,000-customer shop gives the
            // SKU about 200 matched strata, a fifth of them on surcharge days.
            ..Scenario::fair(20_000, 17, Confounders::ALL)
        };
        let fixture = Fixture::of(&scenario);
        let report = audit_without_rules(&fixture);
        assert_eq!(
            overcharges(&report),
            vec![format!(
                "\"pricing.tenure-overcharge\" {}",
                serde_json::json!({"dataset": "orders", "sku": "SKU10001"})
            )],
            "{channel:?}"
        );
        let evidence = &finding(&report, "pricing.tenure-overcharge", "SKU10001")["evidence"];
        let episodes = evidence["episodes"].as_array().expect("episodes listed");
        assert!(!episodes.is_empty());
        // Episodes are the surcharge days (offsets 2, 7, 12, … of the year), but for a
        // consistent-looking cell of the four-day random price test now and then.
        let mut off_days = 0;
        for episode in episodes {
            let text = episode.as_str().unwrap();
            let day = chrono::NaiveDate::parse_from_str(&text[..10], "%Y-%m-%d").unwrap();
            let (year, month, first) = fairmark::demo::FIRST_DAY;
            let start = chrono::NaiveDate::from_ymd_opt(year, month, first).unwrap();
            let offset = (day - start).num_days();
            if offset % 5 != 2 {
                assert!(
                    fairmark::demo::CLUSTERED_TEST_DAYS.contains(&offset),
                    "{text} is neither a surcharge day nor a price-test day ({channel:?})"
                );
                off_days += 1;
            }
            // Confined to the app: no episode in another channel (a day whose only matched
            // strata were in the app is an episode of the whole day).
            if channel.is_some() && offset % 5 == 2 {
                assert!(
                    !text.contains("channel = web") && !text.contains("channel = mini_program"),
                    "{text}"
                );
            }
        }
        assert!(
            off_days * 10 <= episodes.len(),
            "{off_days} of {episodes:?}"
        );
        let gap = evidence["episode_gap"].as_f64().unwrap();
        assert!((0.08..=0.12).contains(&gap), "episode gap {gap}");
        let share = evidence["episode_share"].as_f64().unwrap();
        assert!(share > 0.0 && share <= 0.25, "share {share}");
    }
}

/// Renames the customers file's columns `from` to `to` (header only) in the CSV and config.
fn rename_customer_columns(fixture: &Fixture, renames: &[(&str, &str)]) {
    let csv = std::fs::read_to_string(&fixture.data.customers_csv).unwrap();
    let (header, rest) = csv.split_once('\n').unwrap();
    let header: Vec<String> = header
        .split(',')
        .map(|h| {
            renames
                .iter()
                .find(|(from, _)| *from == h)
                .map_or(h.to_string(), |(_, to)| to.to_string())
        })
        .collect();
    std::fs::write(
        &fixture.data.customers_csv,
        format!("{}\n{rest}", header.join(",")),
    )
    .unwrap();
}

/// The protected-overcharge note of which attributes were compared and which skipped.
fn coverage_note(report: &serde_json::Value) -> &serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["check"] == "pricing.protected-overcharge"
                && f["evidence"].get("attributes_compared").is_some()
        })
        .expect("a coverage note")
}

#[test]
fn protected_attributes_are_known_by_their_declared_kind_whatever_their_name() {
    let scenario = Scenario {
        plant_gender_surcharge: true,
        ..Scenario::fair(3000, 23, Confounders::ALL)
    };
    let fixture = Fixture::of(&scenario);
    rename_customer_columns(&fixture, &[("birth_year", "born"), ("gender", "xb")]);
    fixture.edit_config(
        "quasi_identifiers = { birth_year = \"birth_year\", gender = \"gender\", city = \"city\" }",
        "quasi_identifiers = { born = \"birth_year\", xb = \"gender\", city = \"city\" }",
    );
    let report = audit_report(&fixture, 1);
    // Two genders: one comparison, one finding.
    let protected: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "pricing.protected-overcharge" && f["severity"] != "info")
        .collect();
    assert_eq!(protected.len(), 1, "{protected:#?}");
    assert_eq!(protected[0]["subject"]["sku"], GENDER_SURCHARGE_SKU);
    let cohorts = protected[0]["evidence"]["cohorts"].as_str().unwrap();
    assert_eq!(cohorts, "with xb female vs with xb male");
    let gap = protected[0]["evidence"]["gap_estimate"].as_f64().unwrap();
    assert!((0.04..=0.08).contains(&gap), "gap {gap}");
    let coverage = coverage_note(&report);
    assert_eq!(coverage["severity"], "info");
    assert_eq!(
        coverage["evidence"]["attributes_compared"],
        serde_json::json!(["born", "xb"])
    );
}

#[test]
fn a_protected_attribute_with_forty_values_is_reported_as_skipped() {
    let fixture = Fixture::of(&Scenario::fair(1500, 29, Confounders::ALL));
    // `religion` (a protected name in every pack) with forty values, from the customer index.
    let csv = std::fs::read_to_string(&fixture.data.customers_csv).unwrap();
    let mut lines = csv.lines();
    let mut out = format!("{},religion\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        out.push_str(&format!("{line},r{}\n", i % 40));
    }
    std::fs::write(&fixture.data.customers_csv, out).unwrap();
    fixture.edit_config(
        "attributes = [\"os\", \"vip\", \"price_sensitivity\"]",
        "attributes = [\"os\", \"vip\", \"price_sensitivity\", \"religion\"]",
    );
    let report = audit_without_rules(&fixture);
    let coverage = coverage_note(&report);
    assert_eq!(coverage["severity"], "info");
    let skipped = coverage["evidence"]["attributes_skipped"]
        .as_array()
        .unwrap();
    assert!(
        skipped.contains(&serde_json::json!("religion")),
        "{skipped:?}"
    );
    let message = coverage["message"].as_str().unwrap();
    assert!(
        message.contains("`religion`: more than 12 distinct values"),
        "{message}"
    );
}
