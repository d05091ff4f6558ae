//! What checks produce: findings with severity, subject, evidence and legal basis. Evidence
//! holds numbers, column names and tokens — never a raw value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pseudonym::hex;

pub mod evidence;

pub use evidence::Evidence;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.name() == s)
            .ok_or_else(|| {
                format!("unknown severity `{s}`; expected info, low, medium, high or critical")
            })
    }
}

/// A legal provision as a pack cites it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Citation {
    pub pack: String,
    pub id: String,
    pub citation: String,
    pub gist: String,
    /// The Chinese title and article, for `--lang zh-CN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gist_zh: Option<String>,
    /// The message channels the provision governs; empty when it governs all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

impl Citation {
    /// Whether the provision governs messages on `channel`.
    pub fn governs(&self, channel: &str) -> bool {
        self.channels.is_empty()
            || self
                .channels
                .iter()
                .any(|c| c.eq_ignore_ascii_case(channel))
    }
}

/// What a finding is about. Only the fields that fit are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// A waiver in the config, as the waiver findings name it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
}

impl Subject {
    pub fn dataset(name: &str) -> Subject {
        Subject {
            dataset: Some(name.to_string()),
            ..Subject::default()
        }
    }

    pub fn column(dataset: &str, column: &str) -> Subject {
        Subject {
            column: Some(column.to_string()),
            ..Subject::dataset(dataset)
        }
    }
}

impl Subject {
    /// The fields that are set, each with its name, in the order reports show them.
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("dataset", &self.dataset),
            ("column", &self.column),
            ("sku", &self.sku),
            ("campaign", &self.campaign),
            ("channel", &self.channel),
            ("rule", &self.rule),
            ("waiver", &self.waiver),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .parts()
            .map(|(name, value)| match name {
                // The dataset needs no label: it leads, and its name says what it is.
                "dataset" => value.to_string(),
                _ => format!("{name} {value}"),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// A place in a file the finding points at (a pricing rule's condition), for editors and SARIF.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

/// How a finding compares with the baseline audit (`audit --baseline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineStatus {
    /// Not in the baseline.
    New,
    /// In the baseline too (same fingerprint).
    Persisting,
}

/// The waiver that accepts a finding's risk until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    pub reason: String,
    pub owner: String,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub subject: Subject,
    /// Numbers, shares, column names and tokens that back the finding.
    pub evidence: Evidence,
    pub legal_bases: Vec<Citation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// Same issue in the next run → same fingerprint: hashed from the check, the subject and
    /// a discriminator the check chooses, never from the numbers, which move run to run.
    pub fingerprint: String,
    /// Set when the audit was compared with a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineStatus>,
    /// Set when a waiver in force covers the finding: it is reported but does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedWaiver>,
}

impl Finding {
    pub fn new(
        check: &str,
        severity: Severity,
        subject: Subject,
        discriminator: &str,
        title: String,
        message: String,
    ) -> Finding {
        let subject_key = serde_json::to_string(&subject).expect("subjects serialize");
        let digest = Sha256::new()
            .chain_update(check)
            .chain_update([0])
            .chain_update(subject_key)
            .chain_update([0])
            .chain_update(discriminator)
            .finalize();
        Finding {
            check: check.to_string(),
            severity,
            title,
            message,
            subject,
            evidence: Evidence::default(),
            legal_bases: Vec::new(),
            location: None,
            fingerprint: hex(&digest[..8]),
            baseline: None,
            waiver: None,
        }
    }

    pub fn with_evidence(mut self, evidence: impl Into<Evidence>) -> Finding {
        self.evidence = evidence.into();
        self
    }

    pub fn at(mut self, location: SourceLocation) -> Finding {
        self.location = Some(location);
        self
    }

    pub fn with_legal_bases(mut self, bases: &[Citation]) -> Finding {
        self.legal_bases = bases.to_vec();
        self
    }
}

/// Sorts findings for output: most severe first, then by check and subject, so reports are
/// byte-identical run to run.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
}

/// Rounds a share for evidence: four decimals are honest for match rates over sampled data.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    crate::stats::round4(part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_numbers_and_follow_subjects() {
        let make = |column: &str, rate: f64| {
            Finding::new(
                "privacy.undeclared-pii",
                Severity::High,
                Subject::column("customers", column),
                "cn-mobile",
                "t".into(),
                "m".into(),
            )
            .with_evidence(evidence::UndeclaredPii {
                column: column.to_string(),
                non_empty_cells: 100,
                kinds: vec![evidence::KindCells {
                    kind: crate::pii::PiiKind::CnMobile,
                    cells: (100.0 * rate) as u64,
                    rate,
                }],
            })
        };
        assert_eq!(
            make("notes", 0.1).fingerprint,
            make("notes", 0.2).fingerprint
        );
        assert_ne!(
            make("notes", 0.1).fingerprint,
            make("memo", 0.1).fingerprint
        );
    }

    #[test]
    fn a_finding_read_back_from_its_report_is_written_back_unchanged() {
        let finding = Finding::new(
            "pricing.rule-surcharge",
            Severity::High,
            Subject::dataset("rules"),
            "device_os",
            "t".into(),
            "m".into(),
        )
        .with_evidence(evidence::SurchargeRule {
            attribute: "device_os".into(),
            attribute_class: "profiling".into(),
            adjust: "+5%".into(),
            condition: "device_os = 'iOS'".into(),
        });
        let written = serde_json::to_string_pretty(&finding).unwrap();
        let read: Finding = serde_json::from_str(&written).unwrap();
        assert_eq!(serde_json::to_string_pretty(&read).unwrap(), written);
        assert_eq!(read.evidence.fields(), finding.evidence.fields());
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!("medium".parse::<Severity>(), Ok(Severity::Medium));
        assert!("urgent".parse::<Severity>().is_err());
    }
}
