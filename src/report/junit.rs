//! JUnit XML for CI systems that show test reports (GitLab, Jenkins, Azure): one test suite per
//! check family, one test case per check that ran clean or was skipped, and one failing test
//! case per finding that fails the run. Findings below the gate, and waived ones, pass with
//! their message as output, so the CI page still lists them.

use std::fmt::Write;

use super::Report;
use crate::checks::{CheckRun, CheckStatus};
use crate::escape::xml as escape;
use crate::findings::Finding;

/// The JUnit report of an audit.
pub fn render(report: &Report) -> String {
    render_runs(&report.checks, &report.findings, |f| report.fails(f))
}

/// JUnit for `checks` and their `findings`; `fails` says which findings fail the gate.
pub fn render_runs(
    checks: &[CheckRun],
    findings: &[Finding],
    fails: impl Fn(&Finding) -> bool,
) -> String {
    let mut families: Vec<&str> = checks
        .iter()
        .map(|c| c.id.split('.').next().unwrap_or(c.id))
        .chain(findings.iter().map(|f| family(&f.check)))
        .collect();
    families.sort_unstable();
    families.dedup();
    let mut suites = String::new();
    let (mut all_tests, mut all_failures, mut all_skipped) = (0, 0, 0);
    for family_name in families {
        let mut cases = String::new();
        let (mut tests, mut failures, mut skipped) = (0, 0, 0);
        let in_family = checks
            .iter()
            .filter(|c| family(c.id) == family_name)
            .map(|c| (c.id, Some(&c.status)))
            .chain(
                // Checks that run outside the registry's list (the waiver checks).
                findings
                    .iter()
                    .filter(|f| family(&f.check) == family_name)
                    .filter(|f| !checks.iter().any(|c| c.id == f.check))
                    .map(|f| (f.check.as_str(), None)),
            );
        let mut seen: Vec<&str> = Vec::new();
        for (id, status) in in_family {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let of_check: Vec<&Finding> = findings.iter().filter(|f| f.check == id).collect();
            if let Some(CheckStatus::Skipped { reason } | CheckStatus::Disabled { reason }) = status
            {
                tests += 1;
                skipped += 1;
                let _ = writeln!(
                    cases,
                    r#"    <testcase classname="{}" name="{}"><skipped message="{}"/></testcase>"#,
                    escape(family_name),
                    escape(id),
                    escape(reason)
                );
                continue;
            }
            if of_check.is_empty() {
                tests += 1;
                let _ = writeln!(
                    cases,
                    r#"    <testcase classname="{}" name="{}"/>"#,
                    escape(family_name),
                    escape(id)
                );
            }
            for finding in of_check {
                tests += 1;
                let name = format!("{id} [{}]", finding.subject);
                if fails(finding) {
                    failures += 1;
                    let _ = writeln!(
                        cases,
                        r#"    <testcase classname="{}" name="{}"><failure type="{}" message="{}">{}</failure></testcase>"#,
                        escape(family_name),
                        escape(&name),
                        finding.severity,
                        escape(&finding.title),
                        escape(&details(finding))
                    );
                } else {
                    let _ = writeln!(
                        cases,
                        r#"    <testcase classname="{}" name="{}"><system-out>{}</system-out></testcase>"#,
                        escape(family_name),
                        escape(&name),
                        escape(&details(finding))
                    );
                }
            }
        }
        all_tests += tests;
        all_failures += failures;
        all_skipped += skipped;
        let _ = write!(
            suites,
            "  <testsuite name=\"fairmark.{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n",
            escape(family_name)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"fairmark\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\" skipped=\"{all_skipped}\">\n{suites}</testsuites>\n"
    )
}

fn family(check: &str) -> &str {
    check.split('.').next().unwrap_or(check)
}

fn details(finding: &Finding) -> String {
    let mut text = format!(
        "{} ({}, fingerprint {})",
        finding.message, finding.severity, finding.fingerprint
    );
    if let Some(waiver) = &finding.waiver {
        let _ = write!(
            text,
            "; waived until {} by {}: {}",
            waiver.expires, waiver.owner, waiver.reason
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_leave_the_document_well_formed() {
        let runs = [];
        let mut finding = crate::findings::Finding::new(
            "pricing.rule-hostile",
            crate::findings::Severity::High,
            crate::findings::Subject {
                campaign: Some("\u{fffe}<x>\u{1b}]0;t\u{7}".into()),
                ..Default::default()
            },
            "t",
            "a \"title\" & <b>".into(),
            "message\u{0}".into(),
        );
        finding.fingerprint = "f".into();
        let xml = render_runs(&runs, &[finding], |_| true);
        assert!(!xml.chars().any(crate::escape::is_hidden), "{xml}");
        assert!(
            xml.contains("\\x1b]0;t\\x07") && xml.contains("&lt;b&gt;"),
            "{xml}"
        );
    }
}
