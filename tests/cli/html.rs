//! `report.html` in a real browser: headless Chromium opens the demo audit's report from disk,
//! and the test reads the DOM it ends with. The sections and every chart are there, the page's
//! own script ran to its end and raised nothing, no raw identifier is on the page, and a
//! screenshot is left for people to look at.
//!
//! Chromium is required: without it this test fails and says how to install it (`.ci/run`
//! installs it), rather than passing without having looked.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Fixture, chromium, raw_identifiers, report_json};

/// Runs headless `browser` on `page` with `args`, in a profile of its own under `scratch`.
fn headless(browser: &Path, scratch: &Path, page: &Path, args: &[&str]) -> Output {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("chromium-profile").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn the_html_report_renders_in_chromium_with_every_section_and_chart() {
    let browser = chromium();
    // Large enough that the planted iOS surcharges are flagged, with their episodes.
    let fixture = Fixture::new(2000, 7);
    fixture.audit("report").code(1);
    let report = report_json(&fixture.out("report"));
    let page = fixture.out("report").join("report.html");

    let run = headless(&browser, fixture.dir.path(), &page, &["--dump-dom"]);
    let dom = String::from_utf8(run.stdout).expect("the DOM is UTF-8");
    let log = String::from_utf8_lossy(&run.stderr);

    // The page's script ran to its end and nothing raised or logged.
    let root = &dom[dom.find("<html").expect("an html element")..];
    let root = &root[..root.find('>').unwrap()];
    assert!(
        root.contains("data-script=\"ran\""),
        "script did not finish: {root}"
    );
    assert!(!root.contains("data-script-error"), "script error: {root}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    for section in [
        "verdict",
        "contents",
        "area-pricing",
        "area-mail",
        "segments",
        "area-privacy",
        "checks",
        "inputs",
    ] {
        assert!(
            dom.contains(&format!(" id=\"{section}\"")),
            "no section {section}"
        );
    }
    assert!(dom.contains("<p class=\"badge\">FAIL</p>"));
    for chart in [
        "chart-areas",
        "chart-forest",
        "chart-episodes",
        "chart-mail",
        "chart-segments",
        "chart-rfm",
        "chart-anonymity",
    ] {
        assert_eq!(
            dom.matches(&format!("<svg id=\"{chart}\"")).count(),
            1,
            "chart {chart}"
        );
    }

    // A forest-plot row per finding with an interval, a mail bar per campaign.
    let findings = report["findings"].as_array().unwrap();
    let with_interval = findings
        .iter()
        .filter(|f| f["evidence"].get("gap_ci_low").is_some())
        .count();
    assert!(with_interval >= 2, "the iOS surcharges are flagged");
    assert_eq!(
        dom.matches("<g class=\"estimate sev-").count(),
        with_interval
    );
    let mail = &dom[dom.find("<svg id=\"chart-mail\"").unwrap()..];
    let mail = &mail[..mail.find("</svg>").unwrap()];
    for campaign in report["mail"]["campaigns"].as_array().unwrap() {
        let name = campaign["campaign"].as_str().unwrap();
        assert!(
            mail.contains(&format!(">{name}</text>")),
            "no bar for {name}"
        );
    }

    // The filters are shown, and count what is shown.
    assert!(
        dom.contains("<form id=\"filters\" class=\"filters\">"),
        "filters not shown"
    );
    let total = findings.len();
    assert!(
        dom.contains(&format!(">{total} of {total} findings shown</output>")),
        "filter count"
    );
    // Code spans in the checks' messages are <code>, not Markdown.
    for article in dom.split("<article class=\"finding").skip(1) {
        let article = &article[..article.find("</article>").unwrap()];
        assert!(!article.contains('`'), "a literal backtick in {article}");
    }

    // Nothing of the raw customers on the page.
    let raw = raw_identifiers(&fixture.input("customers.csv"));
    assert!(!raw.is_empty());
    for value in &raw {
        assert!(
            !dom.contains(value.as_str()),
            "report.html shows a raw identifier ({} characters)",
            value.chars().count()
        );
    }

    // A screenshot for people: in the test's directory, and kept under target/.
    let shot = fixture.dir.path().join("report.png");
    headless(
        &browser,
        fixture.dir.path(),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            "--hide-scrollbars",
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "{} bytes",
        png.len()
    );
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html.png");
    std::fs::write(&kept, &png).unwrap();
    println!("screenshot of report.html: {}", kept.display());
}
