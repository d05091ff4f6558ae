//! `[[waivers]]`: accepted risks, each matched by fingerprint or by check and subject, with who
//! accepted it, why, and until when; checked for completeness when the config loads.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::error::{Error, Result};

/// An accepted risk: a finding, matched by fingerprint or by check and subject, that is
/// reported but does not fail the run until `expires`. Who accepted it and why are required,
/// as an auditor will ask.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub fingerprint: Option<String>,
    pub check: Option<String>,
    pub dataset: Option<String>,
    pub column: Option<String>,
    pub sku: Option<String>,
    pub campaign: Option<String>,
    pub channel: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver is in force (`2026-12-31`, a TOML date or a string).
    #[serde(deserialize_with = "waiver_date")]
    pub expires: NaiveDate,
}

impl Waiver {
    /// How reports name the waiver: by what it matches, which stays the same run to run.
    pub fn describe(&self) -> String {
        if let Some(fingerprint) = &self.fingerprint {
            return format!("fingerprint {fingerprint}");
        }
        let mut parts = vec![self.check.clone().unwrap_or_default()];
        for (name, value) in self.subject_fields() {
            if let Some(value) = value {
                parts.push(format!("{name} {value}"));
            }
        }
        parts.join(", ")
    }

    /// The subject fields the waiver names, in the order findings show them.
    pub fn subject_fields(&self) -> [(&'static str, &Option<String>); 6] {
        [
            ("dataset", &self.dataset),
            ("column", &self.column),
            ("sku", &self.sku),
            ("campaign", &self.campaign),
            ("channel", &self.channel),
            ("rule", &self.rule),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WaiverFile {
    #[serde(default)]
    pub(super) waiver: Vec<Waiver>,
}

fn waiver_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Date(toml::value::Datetime),
        Text(String),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::Date(date) => date.to_string(),
        Written::Text(text) => text,
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        serde::de::Error::custom("`expires` is not a date; write expires = 2026-12-31")
    })
}

pub(super) fn validate_waivers(waivers: &[Waiver], file: &str) -> Result<()> {
    for (i, waiver) in waivers.iter().enumerate() {
        let number = i + 1;
        if waiver.reason.trim().is_empty() || waiver.owner.trim().is_empty() {
            return Err(Error::config(
                file,
                format!(
                    "waiver {number}: `reason` and `owner` must not be empty; say why the risk is accepted and who accepted it"
                ),
            ));
        }
        let names_subject = waiver.subject_fields().iter().any(|(_, v)| v.is_some());
        match (&waiver.fingerprint, &waiver.check) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    file,
                    format!("waiver {number}: give `fingerprint` or `check`, not both"),
                ));
            }
            (Some(_), None) if names_subject => {
                return Err(Error::config(
                    file,
                    format!(
                        "waiver {number}: a fingerprint names one finding already; drop the subject fields"
                    ),
                ));
            }
            (None, None) => {
                return Err(Error::config(
                    file,
                    format!(
                        "waiver {number}: name the finding by `fingerprint`, or by `check` and its subject (sku, campaign, …)"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
