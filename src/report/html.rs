//! `report.html`: a self-contained page (no scripts, no external assets) for sharing.

use std::fmt::Write;

use super::{Report, evidence_text};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(report: &Report) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fairmark audit report</title>\n<style>\
body{font:15px/1.5 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}\
.sev{font-weight:bold;text-transform:uppercase}.critical,.high{color:#b00}.medium{color:#b60}.low{color:#555}.info{color:#367}\
code{background:#f4f4f4;padding:0 .2rem}</style></head><body>\n",
    );
    let verdict = if report.failed() { "FAIL" } else { "PASS" };
    let _ = writeln!(
        html,
        "<h1>fairmark audit report</h1><p><strong>{verdict}</strong>: {} finding(s) at or above <code>{}</code>. Key id <code>{}</code>, schema {}.</p>",
        report.outcome.failing_findings,
        report.outcome.fail_on,
        escape(&report.key_id),
        report.schema_version
    );
    let _ = writeln!(html, "<h2>Findings</h2>");
    if report.findings.is_empty() {
        let _ = writeln!(html, "<p>No findings.</p>");
    }
    for finding in &report.findings {
        let severity = finding.severity.name();
        let _ = writeln!(
            html,
            "<section><h3><span class=\"sev {severity}\">{severity}</span> {}</h3><p><code>{}</code> · {} · fingerprint <code>{}</code></p><p>{}</p>",
            escape(&finding.title),
            escape(&finding.check),
            escape(&finding.subject.to_string()),
            finding.fingerprint,
            escape(&finding.message)
        );
        if !finding.evidence.is_empty() {
            let _ = write!(html, "<table><tr><th>evidence</th><th>value</th></tr>");
            for (name, value) in &finding.evidence {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(name),
                    escape(&evidence_text(value))
                );
            }
            let _ = writeln!(html, "</table>");
        }
        let _ = write!(html, "<ul>");
        for basis in &finding.legal_bases {
            let _ = write!(
                html,
                "<li><strong>{}</strong> ({}:{}): {}</li>",
                escape(&basis.citation),
                escape(&basis.pack),
                escape(&basis.id),
                escape(&basis.gist)
            );
        }
        let _ = writeln!(html, "</ul></section>");
    }
    if let Some(probe) = &report.probe {
        let _ = writeln!(html, "<h2>Probe</h2>");
        for sentence in super::probe_sentences(probe) {
            let _ = writeln!(html, "<p>{}</p>", escape(&sentence));
        }
    }
    if let Some(segmentation) = &report.segmentation {
        let _ = writeln!(
            html,
            "<h2>Segmentation</h2><p>As of {}: {} customers.</p><table><tr><th>segment</th><th>customers</th><th>share</th></tr>",
            segmentation.reference_date, segmentation.customers
        );
        for s in &segmentation.segments {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
                escape(&s.segment),
                s.customers,
                100.0 * s.share
            );
        }
        let _ = writeln!(html, "</table>");
    }
    html.push_str("</body></html>\n");
    html
}
