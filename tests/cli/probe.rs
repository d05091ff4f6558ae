//! `fairmark probe` against pricing services started here, on 127.0.0.1 (threads of this test
//! process, random ports) or as a command: a hidden tenure surcharge is found on exactly its
//! SKUs; a fair service and a cohort-blind noisy one give no finding; a flaky, slow service
//! gives the same findings through retries; a service answering garbage ends the probe with one
//! line and no report; a probe stopped by its budget resumes from its log; and the demo's own
//! price service is found out. No output holds a raw identifier.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fairmark::demo::{IOS_SURCHARGE_SKUS, TENURE_OVERCHARGE_SKUS};
use fairmark::probe::server::{PriceServer, Reply};
use serde_json::{Value, json};

use crate::support::{
    Fixture, assert_no_raw_values, fairmark, outputs_to_scan, raw_identifiers, report_json,
    validate_sarif,
};

const SKUS: [&str; 4] = ["SKU10000", "SKU10001", "SKU10002", "SKU10003"];
/// The SKUs the surcharging services charge long-standing customers 5% more on.
const SURCHARGED: [&str; 2] = ["SKU10001", "SKU10003"];

/// The catalogue price of a SKU, the same in every service here (and in the script).
fn base_price(sku: &str) -> f64 {
    100.0 + (sku.bytes().map(u64::from).sum::<u64>() * 37 % 900) as f64
}

/// The price a shop with a hidden 5% tenure surcharge on [`SURCHARGED`] quotes.
fn surcharging_price(request: &Value) -> Option<f64> {
    let sku = request["item"].as_str()?;
    let tenure = request["days"].as_i64().unwrap_or(0);
    let surcharge = if SURCHARGED.contains(&sku) && tenure > 365 {
        1.05
    } else {
        1.0
    };
    Some((base_price(sku) * surcharge * 100.0).round() / 100.0)
}

fn answer(price: Option<f64>) -> Reply {
    match price {
        Some(price) => Reply::json(200, json!({ "price": price, "currency": "CNY" })),
        None => Reply::json(400, json!({ "error": "no item" })),
    }
}

fn serve(handler: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> PriceServer {
    PriceServer::start(0, 4, move |body| {
        match serde_json::from_slice::<Value>(body) {
            Ok(request) => handler(&request),
            Err(_) => Reply::json(400, json!({ "error": "not JSON" })),
        }
    })
    .unwrap()
}

/// A fixture without mail, whose config probes `service` (an `endpoint = …` or `command = …`
/// line) with `extra` settings.
fn shop(service: &str, extra: &str) -> Fixture {
    let fixture = Fixture::small();
    fixture.without_mail();
    let skus: Vec<String> = SKUS.iter().map(|s| format!("\"{s}\"")).collect();
    let mut config = std::fs::read_to_string(&fixture.data.config).unwrap();
    config.push_str(&format!(
        r#"
[probe]
{service}
request = {{ item = "sku", days = "tenure_days", os = "device_os", sex = "gender", channel = "channel", currency = "CNY" }}
skus = [{}]
base_profiles = 10
attributes = ["tenure", "device", "protected"]
max_rps = 2000
concurrency = 4
timeout_ms = 2000
retries = 4
seed = 3
{extra}
"#,
        skus.join(", ")
    ));
    std::fs::write(&fixture.data.config, config).unwrap();
    fixture
}

fn endpoint(server: &PriceServer) -> String {
    format!("endpoint = \"{}\"", server.url())
}

fn probe(fixture: &Fixture, out: &str) -> assert_cmd::assert::Assert {
    fairmark()
        .args(["probe", "--config"])
        .arg(&fixture.data.config)
        .arg("--out")
        .arg(fixture.out(out))
        .assert()
}

/// (check, SKU, comparison) of every finding above info.
fn flagged(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"]["sku"].as_str().unwrap().to_string(),
                f["evidence"]["comparison"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn tenure_findings(skus: &[&str]) -> BTreeSet<(String, String, String)> {
    skus.iter()
        .map(|sku| {
            (
                "pricing.probe-tenure".to_string(),
                sku.to_string(),
                "tenure_days 730 vs 30".to_string(),
            )
        })
        .collect()
}

#[test]
fn a_hidden_tenure_surcharge_is_found_on_exactly_its_skus() {
    let server = serve(|request| answer(surcharging_price(request)));
    let fixture = shop(&endpoint(&server), "");
    let run = probe(&fixture, "probe").code(1);
    let report = report_json(&fixture.out("probe"));
    assert_eq!(flagged(&report), tenure_findings(&SURCHARGED));

    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"]["sku"] == "SKU10001")
        .unwrap();
    let evidence = &finding["evidence"];
    assert_eq!(evidence["pairs_asked"], 10);
    assert_eq!(evidence["pairs_answered"], 10);
    assert_eq!(evidence["median_gap"], 0.05);
    assert!(evidence["q_value"].as_f64().unwrap() < 0.05);
    let examples = evidence["examples"].as_array().unwrap();
    // Distinct examples only: this service prices every profile alike.
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0]["first_twin"], "730");
    assert!(
        examples[0]["first_price"].as_f64().unwrap()
            > examples[0]["second_price"].as_f64().unwrap()
    );
    assert!(!finding["legal_bases"].as_array().unwrap().is_empty());

    // Only the probe checks, and the probe's own account.
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "pricing.probe-device",
            "pricing.probe-protected",
            "pricing.probe-tenure"
        ]
    );
    let summary = &report["probe"];
    // tenure, device and gender × 4 SKUs × 10 profiles.
    assert_eq!(summary["pairs_planned"], 120);
    assert_eq!(summary["requests_made"], 240);
    assert_eq!(summary["requests_failed"], 0);
    assert_eq!(summary["complete"], true);
    // birth_year is protected but not sent: said, not silently skipped.
    let notes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "info")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|m| m.contains("`birth_year`")),
        "{notes:?}"
    );
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(fixture.out("probe").join("report.sarif")).unwrap())
            .unwrap();
    validate_sarif(&sarif);
    let markdown = std::fs::read_to_string(fixture.out("probe").join("report.md")).unwrap();
    assert!(markdown.contains("## Probe"), "{markdown}");

    // Nothing that identifies a customer, in the outputs, the log, stdout or stderr.
    let output = run.get_output();
    let mut outputs = outputs_to_scan(&fixture.out("probe"), &output.stdout, &output.stderr);
    outputs.insert(
        "probe-log.jsonl".into(),
        std::fs::read(fixture.input("probe-log.jsonl")).unwrap(),
    );
    assert_no_raw_values(&raw_identifiers(&fixture.data.customers_csv), &outputs);
}

#[test]
fn a_fair_service_and_cohort_blind_noise_give_no_finding() {
    let fair = serve(|request| answer(request["item"].as_str().map(base_price)));
    let fixture = shop(&endpoint(&fair), "");
    probe(&fixture, "probe").code(0);
    assert_eq!(
        flagged(&report_json(&fixture.out("probe"))),
        BTreeSet::new()
    );

    // Each quote ±5% by a hash of a request id the service draws: blind to every attribute.
    // One request at a time, so the ids follow the seeded order and the run repeats exactly.
    let ids = Arc::new(AtomicU64::new(0));
    let noisy = serve(move |request| {
        let id = ids.fetch_add(1, Ordering::SeqCst);
        let mut rng = fairmark::stats::SplitMix::new(id ^ 0x5eed);
        let noise = (rng.next_u64() % 10_001) as f64 / 100_000.0 - 0.05;
        answer(
            request["item"]
                .as_str()
                .map(|sku| (base_price(sku) * (1.0 + noise) * 100.0).round() / 100.0),
        )
    });
    let fixture = shop(&endpoint(&noisy), "");
    fixture.edit_config("concurrency = 4", "concurrency = 1");
    probe(&fixture, "probe").code(0);
    let report = report_json(&fixture.out("probe"));
    assert_eq!(flagged(&report), BTreeSet::new());
    assert_eq!(report["probe"]["pairs_answered"], 120);
}

#[test]
fn a_flaky_slow_service_is_retried_to_the_same_findings() {
    // Every tenth request fails (500 and 429 in turn), and every answer takes 5 ms.
    let calls = Arc::new(AtomicU64::new(0));
    let server = serve(move |request| {
        std::thread::sleep(Duration::from_millis(5));
        let call = calls.fetch_add(1, Ordering::SeqCst);
        match call % 20 {
            9 => Reply::json(500, json!({ "error": "overloaded" })),
            19 => Reply::json(429, json!({ "error": "slow down" })),
            _ => answer(surcharging_price(request)),
        }
    });
    let fixture = shop(&endpoint(&server), "");
    probe(&fixture, "probe").code(1);
    let report = report_json(&fixture.out("probe"));
    assert_eq!(flagged(&report), tenure_findings(&SURCHARGED));
    let summary = &report["probe"];
    assert!(
        summary["requests_retried"].as_u64().unwrap() >= 20,
        "{summary}"
    );
    assert_eq!(summary["requests_failed"], 0);
    assert_eq!(summary["requests_answered"], 240);
    assert_eq!(summary["complete"], true);
}

#[test]
fn a_service_answering_garbage_ends_the_probe_with_one_line_and_no_report() {
    let server = PriceServer::start(0, 2, |_| Reply {
        status: 200,
        body: "<html>maintenance</html>".into(),
        retry_after: None,
    })
    .unwrap();
    let fixture = shop(&endpoint(&server), "");
    let run = probe(&fixture, "probe").code(2);
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("fairmark: error: probe: 100% of requests failed (malformed answer ×"),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("; the service is not answering reliably"),
        "{stderr}"
    );
    assert!(!fixture.out("probe").exists());
}

#[test]
fn a_template_naming_an_identifier_is_refused() {
    let fixture = shop("endpoint = \"http://127.0.0.1:9/price\"", "");
    fixture.edit_config("currency = \"CNY\"", "who = \"phone\"");
    let run = probe(&fixture, "probe").code(2);
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("request.who names `phone`, an identifier column"),
        "{stderr}"
    );
}

#[test]
fn a_command_speaking_json_lines_is_probed_like_an_endpoint() {
    let fixture = shop("command = [\"python3\", \"score.py\"]", "");
    std::fs::write(
        fixture.input("score.py"),
        format!(
            r#"import json, sys
SURCHARGED = {surcharged:?}
for line in sys.stdin:
    request = json.loads(line)
    sku = request["item"]
    price = 100.0 + (sum(sku.encode()) * 37 % 900)
    if sku in SURCHARGED and (request.get("days") or 0) > 365:
        price *= 1.05
    print(json.dumps({{"price": round(price, 2)}}), flush=True)
"#,
            surcharged = SURCHARGED
        ),
    )
    .unwrap();
    probe(&fixture, "probe").code(1);
    let report = report_json(&fixture.out("probe"));
    assert_eq!(flagged(&report), tenure_findings(&SURCHARGED));
    assert_eq!(report["probe"]["service"], "python3 score.py");
}

#[test]
fn a_probe_stopped_by_its_budget_resumes_from_its_log() {
    let server = serve(|request| answer(surcharging_price(request)));
    let fixture = shop(&endpoint(&server), "budget = 100\nlog = \"resumed.jsonl\"");
    let first = probe(&fixture, "first");
    let stderr = String::from_utf8(first.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("the probe is incomplete"), "{stderr}");
    let first = report_json(&fixture.out("first"));
    assert_eq!(first["probe"]["requests_made"], 100);
    assert_eq!(first["probe"]["stopped_by_budget"], true);
    assert_eq!(first["probe"]["complete"], false);

    fixture.edit_config("budget = 100", "budget = 10000");
    probe(&fixture, "second").code(1);
    let second = report_json(&fixture.out("second"));
    assert_eq!(
        second["probe"]["requests_made"], 140,
        "only what was not answered"
    );
    assert_eq!(second["probe"]["pairs_from_log"], 50);
    assert_eq!(second["probe"]["complete"], true);

    // The same findings, evidence and all, as one uninterrupted run.
    fixture.edit_config("log = \"resumed.jsonl\"", "log = \"whole.jsonl\"");
    probe(&fixture, "whole").code(1);
    let whole = report_json(&fixture.out("whole"));
    assert_eq!(second["findings"], whole["findings"]);
    assert_eq!(flagged(&whole), tenure_findings(&SURCHARGED));
}

/// The demo's price service, a child process stopped when dropped.
struct DemoService(Child);

impl Drop for DemoService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_service_is_found_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fairmark"))
        .args([
            "demo",
            "--serve",
            "--port",
            "0",
            "--customers",
            "600",
            "--out",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let service = DemoService(child);
    // Read on to the end, so the service never writes to a closed pipe.
    let (said, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = said.send(line);
        }
    });
    let serving = heard
        .iter()
        .find(|line| line.starts_with("Serving the demo's prices at "))
        .expect("the demo says where it serves");
    assert!(serving.contains("http://127.0.0.1:"), "{serving}");
    let config = dir.path().join("input").join("probe.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("base_profiles = 16", "base_profiles = 8")
            .replace(
                "attributes = [\"tenure\", \"device\", \"protected\", \"is_new\"]",
                "attributes = [\"tenure\", \"device\"]",
            ),
    )
    .unwrap();
    fairmark()
        .args(["probe", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("probe"))
        .assert()
        .code(1);
    drop(service);
    let report = report_json(&dir.path().join("probe"));
    let gap = |check: &str, sku: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["subject"]["sku"] == sku)
            .map(|f| f["evidence"]["median_gap"].as_f64().unwrap())
    };
    // The ios-premium rule (+5%) everywhere, and the planted 6% on top where it is planted.
    for sku in IOS_SURCHARGE_SKUS {
        let planted = gap("pricing.probe-device", sku).expect("flagged");
        assert!(
            (planted - 1.05 * 1.06 + 1.0).abs() < 0.002,
            "{sku}: {planted}"
        );
    }
    assert!((gap("pricing.probe-device", "SKU10003").unwrap() - 0.05).abs() < 0.002);
    // The welcome offer (-10% for new customers) everywhere, and the planted surcharge on top:
    // the 730-day twin pays (1 + surcharge), the 30-day twin 0.9, so 5%, 10% and 15% show as
    // gaps of 1.05 / 0.9 - 1 = 16.7%, 22.2% and 27.8%. The loyal-uplift rule (+8% for regulars
    // of low price sensitivity in electronics) widens some pairs, but fewer than half of the
    // base profiles are that insensitive, so the median pair keeps the planted size; rounding
    // quotes to cents moves it by less than 0.002.
    let welcome = 1.0 / 0.9 - 1.0;
    assert!((gap("pricing.probe-tenure", "SKU10003").unwrap() - welcome).abs() < 0.002);
    for (sku, surcharge) in TENURE_OVERCHARGE_SKUS {
        let planted = gap("pricing.probe-tenure", sku).expect("flagged");
        let size = (1.0 + surcharge) / 0.9 - 1.0;
        assert!((planted - size).abs() < 0.002, "{sku}: {planted} vs {size}");
    }
}

/// A service on 127.0.0.1 that answers every POST to `/price` with a 302 to `location` (given
/// the port it listens on), and one to any other path as [`surcharging_price`]. Stops when
/// the returned server is dropped and its thread sees the next request or `unblock`.
struct Redirecting {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    port: u16,
}

impl Redirecting {
    fn start(location: impl Fn(u16) -> String + Send + 'static) -> Redirecting {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let serving = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            while let Ok(mut request) = serving.recv() {
                let mut body = Vec::new();
                request.as_reader().read_to_end(&mut body).unwrap();
                let response = if request.url() == "/price" {
                    tiny_http::Response::from_string("")
                        .with_status_code(302)
                        .with_header(
                            tiny_http::Header::from_bytes("location", location(port)).unwrap(),
                        )
                } else {
                    let price = serde_json::from_slice(&body)
                        .ok()
                        .and_then(|request| surcharging_price(&request));
                    tiny_http::Response::from_string(answer(price).body).with_status_code(200)
                };
                let _ = request.respond(response);
            }
        });
        Redirecting {
            server,
            thread: Some(thread),
            port,
        }
    }

    fn endpoint(&self) -> String {
        format!("endpoint = \"http://127.0.0.1:{}/price\"", self.port)
    }
}

impl Drop for Redirecting {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A service that counts the requests it gets (and answers them fairly).
fn counting() -> (PriceServer, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&hits);
    let server = serve(move |request| {
        counted.fetch_add(1, Ordering::SeqCst);
        answer(surcharging_price(request))
    });
    (server, hits)
}

#[test]
fn a_redirect_to_another_port_is_not_followed_whatever_the_config_says() {
    let (elsewhere, hits) = counting();
    let target = elsewhere.url();
    for setting in ["", "follow_redirects = \"same-origin\""] {
        let target = target.clone();
        let service = Redirecting::start(move |_| target.clone());
        let fixture = shop(&service.endpoint(), setting);
        let run = probe(&fixture, "probe").code(2);
        let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        assert!(
            stderr.starts_with("fairmark: error: probe: 100% of requests failed (redirect ×"),
            "{setting}: {stderr}"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{setting}: the probe went elsewhere"
        );
    }
}

#[test]
fn a_redirect_within_the_origin_is_followed_only_when_configured() {
    let service = Redirecting::start(|port| format!("http://127.0.0.1:{port}/moved"));
    let not_configured = shop(&service.endpoint(), "");
    probe(&not_configured, "probe").code(2);
    let configured = shop(&service.endpoint(), "follow_redirects = \"same-origin\"");
    probe(&configured, "probe").code(1);
    let report = report_json(&configured.out("probe"));
    assert_eq!(flagged(&report), tenure_findings(&SURCHARGED));
    assert_eq!(report["probe"]["requests_failed"], 0);
}
