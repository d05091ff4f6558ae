//! SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps): one run, the checks as rules
//! with their documentation and legal basis as help, findings as results located at the
//! pricing rule they concern.

use serde_json::{Value, json};

use super::Report;
use crate::checks;
use crate::findings::{BaselineStatus, Finding, Severity};

/// SARIF's names for a finding's standing against a baseline (§3.27.24).
fn baseline_state(status: BaselineStatus) -> &'static str {
    match status {
        BaselineStatus::New => "new",
        BaselineStatus::Persisting => "unchanged",
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub orders alerts by this 0–10 score.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// The SARIF log of an audit: its findings, each `new` or `unchanged` when it was compared
/// with a baseline, and the baseline's resolved findings as `absent`.
pub fn render_report(report: &Report) -> String {
    let resolved = report.baseline.as_ref().map_or(&[][..], |b| &b.resolved);
    render(&report.findings, resolved)
}

/// The SARIF log of `findings` (each with its baseline state when a base was compared) and of
/// the `resolved` findings of that base, as `absent`.
pub fn render(findings: &[Finding], resolved: &[Finding]) -> String {
    let findings: Vec<(&Finding, Option<&str>)> = findings
        .iter()
        .map(|f| (f, f.baseline.map(baseline_state)))
        .chain(resolved.iter().map(|f| (f, Some("absent"))))
        .collect();
    let mut rule_ids: Vec<&str> = findings.iter().map(|(f, _)| f.check.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let info = checks::info(id);
            let doc = info.map_or("", |i| i.doc);
            let title = info.map_or(*id, |i| i.title);
            json!({
                "id": id,
                "name": id.replace(['.', '-'], "_"),
                "shortDescription": { "text": title },
                "fullDescription": { "text": doc.lines().find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or(title) },
                "help": { "text": doc, "markdown": doc },
                "defaultConfiguration": { "level": level(info.map_or(Severity::Medium, |i| i.default_severity)) },
                "properties": {
                    "tags": ["compliance", info.map_or("fairmark", |i| i.family)],
                    "security-severity": security_severity(info.map_or(Severity::Medium, |i| i.default_severity)),
                }
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|(finding, state)| {
            let legal: Vec<String> = finding.legal_bases.iter().map(|b| format!("{} ({}:{})", b.citation, b.pack, b.id)).collect();
            let mut result = json!({
                "ruleId": finding.check,
                "ruleIndex": rule_ids.iter().position(|id| *id == finding.check).expect("collected above"),
                "level": level(finding.severity),
                "message": { "text": crate::escape::sarif_text(&format!("{} Legal basis: {}.", finding.message, if legal.is_empty() { "see the rule help".to_string() } else { legal.join("; ") })) },
                "partialFingerprints": { "fairmark/v1": finding.fingerprint },
                "properties": {
                    "severity": finding.severity.name(),
                    "security-severity": security_severity(finding.severity),
                    "evidence": finding.evidence,
                },
            });
            if let Some(location) = &finding.location {
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": location.file.replace('\\', "/") },
                        "region": { "startLine": location.line, "startColumn": location.column }
                    }
                }]);
            }
            if let Some(state) = state {
                result["baselineState"] = json!(state);
            }
            if let Some(waiver) = &finding.waiver {
                // An external suppression: the justification lives in fairmark.toml, not in
                // the analysed source.
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": waiver.reason,
                    "properties": { "owner": waiver.owner, "expires": waiver.expires },
                }]);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "fairmark",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).expect("SARIF serializes");
    text.push('\n');
    text
}
