//! Waivers: accepted risks from the config, applied to an audit's findings. A waiver in force
//! marks the findings it matches (they stay in the report and do not fail the run); an expired
//! waiver stops waiving and is reported ([`expired`]), and one in force that matches nothing is
//! reported too ([`unmatched`]). These two checks judge the config, not the data, so they are
//! not in [`super::ALL`]: they run after every other check, on its findings.

pub mod expired;
pub mod unmatched;

use chrono::NaiveDate;

use crate::config::Waiver;
use crate::findings::evidence::{ExpiredWaiver, UnmatchedWaiver};
use crate::findings::{AppliedWaiver, Finding, Subject};

/// The registry entries of the waiver checks, for `explain` and SARIF.
pub const INFOS: [&super::check::CheckInfo; 2] = [&expired::INFO, &unmatched::INFO];

/// Marks the findings that waivers in force on `today` cover, and returns the findings about
/// the waivers themselves. A waiver is in force through its `expires` day.
pub fn apply(findings: &mut [Finding], waivers: &[Waiver], today: NaiveDate) -> Vec<Finding> {
    let mut about_waivers = Vec::new();
    for waiver in waivers {
        let expires = waiver.expires.format("%Y-%m-%d").to_string();
        let matched: Vec<usize> = (0..findings.len())
            .filter(|&i| matches(waiver, &findings[i]))
            .collect();
        let subject = Subject {
            waiver: Some(waiver.describe()),
            ..Subject::default()
        };
        if waiver.expires < today {
            about_waivers.push(
                Finding::new(
                    expired::INFO.id,
                    expired::INFO.default_severity,
                    subject,
                    "",
                    format!("Waiver for {} expired on {expires}", waiver.describe()),
                    format!(
                        "The waiver owned by {} for {} expired on {expires}; the {} finding(s) it matched count again. Renew it with a new reason and date, or fix the issue and delete it.",
                        waiver.owner,
                        waiver.describe(),
                        matched.len()
                    ),
                )
                .with_evidence(ExpiredWaiver {
                    owner: waiver.owner.clone(),
                    expires,
                    matched_findings: matched.len(),
                }),
            );
            continue;
        }
        if matched.is_empty() {
            about_waivers.push(
                Finding::new(
                    unmatched::INFO.id,
                    unmatched::INFO.default_severity,
                    subject,
                    "",
                    format!("Waiver for {} matches no finding", waiver.describe()),
                    format!(
                        "The waiver owned by {} for {} matches no finding of this audit: delete it if the issue is fixed, or correct what it names.",
                        waiver.owner,
                        waiver.describe()
                    ),
                )
                .with_evidence(UnmatchedWaiver {
                    owner: waiver.owner.clone(),
                    expires,
                }),
            );
            continue;
        }
        for i in matched {
            // The first waiver in the config that matches is the one recorded.
            findings[i].waiver.get_or_insert_with(|| AppliedWaiver {
                reason: waiver.reason.clone(),
                owner: waiver.owner.clone(),
                expires: expires.clone(),
            });
        }
    }
    about_waivers
}

fn matches(waiver: &Waiver, finding: &Finding) -> bool {
    if let Some(fingerprint) = &waiver.fingerprint {
        return *fingerprint == finding.fingerprint;
    }
    let subject = &finding.subject;
    let actual = [
        &subject.dataset,
        &subject.column,
        &subject.sku,
        &subject.campaign,
        &subject.channel,
        &subject.rule,
    ];
    waiver.check.as_deref() == Some(finding.check.as_str())
        && waiver
            .subject_fields()
            .iter()
            .zip(actual)
            .all(|((_, wanted), actual)| wanted.as_ref().is_none_or(|w| Some(w) == actual.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;

    fn finding(check: &str, sku: &str) -> Finding {
        Finding::new(
            check,
            Severity::High,
            Subject {
                sku: Some(sku.into()),
                ..Subject::dataset("orders")
            },
            "",
            "t".into(),
            "m".into(),
        )
    }

    fn waiver(check: &str, sku: &str, expires: &str) -> Waiver {
        Waiver {
            fingerprint: None,
            check: Some(check.into()),
            dataset: None,
            column: None,
            sku: Some(sku.into()),
            campaign: None,
            channel: None,
            rule: None,
            reason: "agreed".into(),
            owner: "pricing".into(),
            expires: expires.parse().unwrap(),
        }
    }

    #[test]
    fn a_waiver_in_force_marks_its_findings_through_its_last_day() {
        let mut findings = vec![
            finding("pricing.tenure-overcharge", "A"),
            finding("pricing.tenure-overcharge", "B"),
        ];
        let waivers = [waiver("pricing.tenure-overcharge", "A", "2026-11-30")];
        let about = apply(&mut findings, &waivers, "2026-11-30".parse().unwrap());
        assert!(about.is_empty());
        assert_eq!(findings[0].waiver.as_ref().unwrap().owner, "pricing");
        assert!(findings[1].waiver.is_none());
    }

    #[test]
    fn expired_and_unmatched_waivers_are_findings() {
        let mut findings = vec![finding("pricing.tenure-overcharge", "A")];
        let waivers = [
            waiver("pricing.tenure-overcharge", "A", "2026-11-29"),
            waiver("pricing.tenure-overcharge", "Z", "2027-01-31"),
        ];
        let about = apply(&mut findings, &waivers, "2026-11-30".parse().unwrap());
        assert!(
            findings[0].waiver.is_none(),
            "an expired waiver stops waiving"
        );
        let ids: Vec<&str> = about.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(ids, ["waiver.expired", "waiver.unmatched"]);
        assert_eq!(
            about[1].subject.waiver.as_deref(),
            Some("pricing.tenure-overcharge, sku Z")
        );
    }

    #[test]
    fn fingerprints_match_exactly() {
        let mut findings = vec![finding("mail.quiet-hours", "A")];
        let mut by_fingerprint = waiver("x", "y", "2027-01-01");
        by_fingerprint.check = None;
        by_fingerprint.sku = None;
        by_fingerprint.fingerprint = Some(findings[0].fingerprint.clone());
        assert!(
            apply(
                &mut findings,
                &[by_fingerprint],
                "2026-01-01".parse().unwrap()
            )
            .is_empty()
        );
        assert!(findings[0].waiver.is_some());
    }
}
