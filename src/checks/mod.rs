//! The check registry: every check's stable id, family, default severity and documentation.
//! Ids are never reused or renamed: waivers, fingerprints and CI gates refer to them.
//!
//! A check reads the registered datasets and its policy settings and returns findings. It
//! never prints, exits or writes files.

/// Declares a check's registry entry: its id, family, title, default severity, the Markdown
/// file beside the module that documents it, and the settings type that validates packs.
macro_rules! check_info {
    ($name:ident, $id:expr, $family:literal, $title:literal, $severity:expr, $doc:literal, $settings:ty) => {
        pub static $name: $crate::checks::CheckInfo = $crate::checks::CheckInfo {
            id: $id,
            family: $family,
            title: $title,
            default_severity: $severity,
            doc: include_str!($doc),
            validate_settings: $crate::policy::validate_as::<$settings>,
        };
    };
}

pub mod mail;
pub mod pricing;
pub mod privacy;

use serde::{Deserialize, Serialize};

use crate::findings::Severity;

/// What the registry knows of a check.
#[derive(Debug)]
pub struct CheckInfo {
    pub id: &'static str,
    pub family: &'static str,
    pub title: &'static str,
    pub default_severity: Severity,
    /// The check's documentation, the same text its module carries as its doc comment, in
    /// ruff's sections: what it does, why it matters, example, legal basis.
    pub doc: &'static str,
    /// Validates a pack's settings table for this check.
    pub validate_settings: fn(&toml::Table) -> Result<(), String>,
}

/// The settings of a check without thresholds: refuses misspelled keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

/// Every check, in the order they run.
pub const ALL: &[&CheckInfo] = &[
    &privacy::undeclared_pii::INFO,
    &privacy::k_anonymity::INFO,
    &pricing::rule_analysis::SURCHARGE,
    &pricing::rule_analysis::NEW_CUSTOMER_DISCOUNT,
    &pricing::rule_analysis::PROTECTED_ATTRIBUTE,
    &pricing::rule_analysis::UNCLASSIFIED_ATTRIBUTE,
    &pricing::simulated_disparity::INFO,
    &pricing::observed::TENURE,
    &pricing::observed::DEVICE,
    &pricing::observed::PROTECTED,
    &mail::NO_CONSENT,
    &mail::AFTER_OPT_OUT,
    &mail::FREQUENCY_CAP,
    &mail::QUIET_HOURS,
    &mail::MISSING_UNSUBSCRIBE,
    &mail::MISSING_SENDER_ID,
    &mail::UNSOLICITED_BULK,
];

pub fn find(id: &str) -> Option<&'static CheckInfo> {
    ALL.iter().copied().find(|c| c.id == id)
}

/// Whether a check ran in this audit, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum CheckStatus {
    Ran { findings: usize },
    Skipped { reason: String },
    Disabled { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    pub id: &'static str,
    #[serde(flatten)]
    pub status: CheckStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_docs_have_every_section() {
        let mut ids: Vec<_> = ALL.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for check in ALL {
            assert!(
                check.id.starts_with(&format!("{}.", check.family)),
                "{}",
                check.id
            );
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Legal basis",
            ] {
                assert!(check.doc.contains(section), "{} lacks {section}", check.id);
            }
        }
    }
}
