//! Policy packs: one TOML file per jurisdiction, listing legal bases and, per check, whether
//! it runs, its severity, the provisions it cites and its thresholds. Built-in packs are
//! compiled into the binary from `policies/`; any other pack is loaded from a path.
//!
//! Several packs combine into one [`EffectivePolicy`] by taking the strictest reading: a
//! check runs if any pack enables it, at the highest severity any pack gives it, citing every
//! pack's provisions, with thresholds merged by the check's own notion of "stricter".

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::checks;
use crate::error::{Error, Result};
use crate::findings::{Citation, Severity};
use crate::pseudonym::hex;

/// The packs compiled into the binary: (name, TOML text).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("cn", include_str!("../../policies/cn.toml")),
    ("eu", include_str!("../../policies/eu.toml")),
    ("us", include_str!("../../policies/us.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    pub id: String,
    pub citation: String,
    pub gist: String,
}

/// Unknown keys are caught by the check's own settings type: `flatten` collects them, and
/// serde cannot combine it with `deny_unknown_fields`.
#[derive(Debug, Clone, Deserialize)]
struct RawCheckPolicy {
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    severity: Option<Severity>,
    #[serde(default)]
    legal_bases: Vec<String>,
    #[serde(flatten)]
    settings: toml::Table,
}

fn enabled_by_default() -> bool {
    true
}

/// How a pack classifies the attributes pricing rules and cohorts may use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeClasses {
    /// Customer history: tenure, order count, spend, recency, newness.
    pub loyalty: Vec<String>,
    /// Inferred traits: price sensitivity, device brand or OS, city tier, …
    pub profiling: Vec<String>,
    /// Attributes no price may depend on: gender, age, ethnicity, …
    pub protected: Vec<String>,
    /// The legitimate "trading conditions": channel, payment method, quantity, coupon, membership.
    pub trading: Vec<String>,
}

/// The class of an attribute, from the least to the most sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeClass {
    Trading,
    Loyalty,
    Profiling,
    Protected,
}

impl AttributeClass {
    pub fn name(self) -> &'static str {
        match self {
            AttributeClass::Trading => "trading condition",
            AttributeClass::Loyalty => "loyalty/history",
            AttributeClass::Profiling => "profiling",
            AttributeClass::Protected => "protected",
        }
    }
}

impl AttributeClasses {
    /// The most sensitive class this pack gives `attribute` (names compare case-insensitively).
    pub fn class_of(&self, attribute: &str) -> Option<AttributeClass> {
        let listed = |names: &[String]| names.iter().any(|n| n.eq_ignore_ascii_case(attribute));
        [
            (AttributeClass::Protected, &self.protected),
            (AttributeClass::Profiling, &self.profiling),
            (AttributeClass::Loyalty, &self.loyalty),
            (AttributeClass::Trading, &self.trading),
        ]
        .into_iter()
        .find(|(_, names)| listed(names))
        .map(|(class, _)| class)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    attributes: AttributeClasses,
    #[serde(default, rename = "legal_basis")]
    legal_bases: Vec<LegalBasis>,
    #[serde(default)]
    checks: BTreeMap<String, RawCheckPolicy>,
}

/// One pack's reading of one check.
#[derive(Debug, Clone)]
pub struct CheckPolicy {
    pub enabled: bool,
    pub severity: Severity,
    pub legal_bases: Vec<Citation>,
    pub settings: toml::Table,
}

/// A loaded, validated pack.
#[derive(Debug, Clone)]
pub struct PolicyPack {
    pub name: String,
    pub title: String,
    pub description: String,
    /// `built-in` or the file it came from.
    pub source: String,
    pub sha256: String,
    pub legal_bases: Vec<LegalBasis>,
    pub attributes: AttributeClasses,
    pub checks: BTreeMap<String, CheckPolicy>,
}

impl PolicyPack {
    /// A built-in pack by name, or a pack file by path (relative to `base_dir`).
    pub fn load(reference: &str, base_dir: &Path) -> Result<PolicyPack> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(name, _)| *name == reference) {
            return PolicyPack::parse(text, "built-in", reference);
        }
        let looks_like_path = reference.contains(['/', '\\', '.']);
        if !looks_like_path {
            let known: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            return Err(Error::Policy {
                pack: reference.to_string(),
                message: format!(
                    "no built-in pack of that name (built-in: {}); give a path to load a pack file",
                    known.join(", ")
                ),
            });
        }
        let path = base_dir.join(reference);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Policy {
            pack: reference.to_string(),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        PolicyPack::parse(&text, &path.display().to_string(), reference)
    }

    /// Parses pack text; `source` and `label` name it in errors.
    pub fn parse(text: &str, source: &str, label: &str) -> Result<PolicyPack> {
        let fail = |message: String| Error::Policy {
            pack: label.to_string(),
            message,
        };
        let raw: RawPack =
            toml::from_str(text).map_err(|e| fail(e.message().replace('\n', " ")))?;
        let mut checks = BTreeMap::new();
        for (id, raw_check) in raw.checks {
            let info = checks::find(&id).ok_or_else(|| {
                fail(format!(
                    "[checks.\"{id}\"]: no such check (see `fairmark checks`)"
                ))
            })?;
            let legal_bases = raw_check
                .legal_bases
                .iter()
                .map(|basis_id| {
                    let basis = raw.legal_bases.iter().find(|b| &b.id == basis_id).ok_or_else(|| {
                        fail(format!("[checks.\"{id}\"] cites `{basis_id}`, which no [[legal_basis]] of this pack defines"))
                    })?;
                    Ok(Citation {
                        pack: raw.name.clone(),
                        id: basis.id.clone(),
                        citation: basis.citation.clone(),
                        gist: basis.gist.clone(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (info.validate_settings)(&raw_check.settings)
                .map_err(|message| fail(format!("[checks.\"{id}\"]: {message}")))?;
            checks.insert(
                id,
                CheckPolicy {
                    enabled: raw_check.enabled,
                    severity: raw_check.severity.unwrap_or(info.default_severity),
                    legal_bases,
                    settings: raw_check.settings,
                },
            );
        }
        Ok(PolicyPack {
            name: raw.name,
            title: raw.title,
            description: raw.description,
            source: source.to_string(),
            sha256: hex(&Sha256::digest(text.as_bytes())),
            legal_bases: raw.legal_bases,
            attributes: raw.attributes,
            checks,
        })
    }

    pub fn built_in() -> Vec<PolicyPack> {
        BUILT_IN
            .iter()
            .map(|(name, text)| {
                PolicyPack::parse(text, "built-in", name)
                    .expect("built-in packs are valid (tested)")
            })
            .collect()
    }
}

/// One check as all packs together configure it.
#[derive(Debug, Clone)]
pub struct EffectiveCheck {
    pub enabled: bool,
    pub severity: Severity,
    pub legal_bases: Vec<Citation>,
    /// Each enabling pack's settings table, in pack order.
    pub settings: Vec<(String, toml::Table)>,
}

/// The packs in force for one run.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    pub packs: Vec<PolicyPack>,
    checks: BTreeMap<String, EffectiveCheck>,
}

/// How a check's thresholds combine across packs.
pub trait Strictest: Sized {
    /// The stricter of two readings, threshold by threshold.
    fn strictest(self, other: Self) -> Self;
}

impl EffectivePolicy {
    pub fn load(references: &[String], base_dir: &Path) -> Result<EffectivePolicy> {
        let packs = references
            .iter()
            .map(|r| PolicyPack::load(r, base_dir))
            .collect::<Result<Vec<_>>>()?;
        Ok(EffectivePolicy::combine(packs))
    }

    pub fn combine(packs: Vec<PolicyPack>) -> EffectivePolicy {
        let mut checks: BTreeMap<String, EffectiveCheck> = BTreeMap::new();
        for pack in &packs {
            for (id, policy) in pack.checks.iter().filter(|(_, p)| p.enabled) {
                let entry = checks.entry(id.clone()).or_insert_with(|| EffectiveCheck {
                    enabled: true,
                    severity: policy.severity,
                    legal_bases: Vec::new(),
                    settings: Vec::new(),
                });
                entry.severity = entry.severity.max(policy.severity);
                entry.legal_bases.extend(policy.legal_bases.iter().cloned());
                entry
                    .settings
                    .push((pack.name.clone(), policy.settings.clone()));
            }
        }
        EffectivePolicy { packs, checks }
    }

    /// The most sensitive class any pack gives `attribute`.
    pub fn attribute_class(&self, attribute: &str) -> Option<AttributeClass> {
        self.packs
            .iter()
            .filter_map(|p| p.attributes.class_of(attribute))
            .max()
    }

    /// The check's configuration, or `None` when no pack enables it.
    pub fn check(&self, id: &str) -> Option<&EffectiveCheck> {
        self.checks.get(id).filter(|c| c.enabled)
    }

    /// The check's settings, strictest across packs (defaults where no pack sets them).
    pub fn settings<T>(&self, id: &str) -> Result<T>
    where
        T: DeserializeOwned + Default + Strictest,
    {
        let Some(check) = self.check(id) else {
            return Ok(T::default());
        };
        let mut merged: Option<T> = None;
        for (pack, table) in &check.settings {
            let parsed =
                T::deserialize(toml::Value::Table(table.clone())).map_err(|e| Error::Policy {
                    pack: pack.clone(),
                    message: format!("[checks.\"{id}\"]: {}", e.message().replace('\n', " ")),
                })?;
            merged = Some(match merged {
                Some(previous) => previous.strictest(parsed),
                None => parsed,
            });
        }
        Ok(merged.unwrap_or_default())
    }
}

/// Validates a settings table against `T` without keeping it, for [`checks::CheckInfo`].
pub fn validate_as<T: DeserializeOwned>(table: &toml::Table) -> std::result::Result<(), String> {
    T::deserialize(toml::Value::Table(table.clone()))
        .map(drop)
        .map_err(|e| e.message().replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_packs_parse_and_cite_every_enabled_check() {
        for pack in PolicyPack::built_in() {
            assert!(!pack.legal_bases.is_empty(), "{}", pack.name);
            for (id, check) in pack.checks.iter().filter(|(_, c)| c.enabled) {
                assert!(
                    !check.legal_bases.is_empty(),
                    "{}: {id} cites nothing",
                    pack.name
                );
            }
        }
    }

    #[test]
    fn unknown_pack_names_and_checks_are_clear_errors() {
        let message = PolicyPack::load("mars", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("mars") && message.contains("cn, eu, us"),
            "{message}"
        );
        let text = "name = \"x\"\ntitle = \"x\"\n[checks.\"privacy.nope\"]\nseverity = \"high\"\n";
        let message = PolicyPack::parse(text, "x.toml", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("privacy.nope"), "{message}");
    }

    #[test]
    fn combining_packs_takes_the_highest_severity_and_all_citations() {
        let a = "name = \"a\"\ntitle = \"a\"\n[[legal_basis]]\nid = \"x\"\ncitation = \"X\"\ngist = \"x\"\n[checks.\"privacy.k-anonymity\"]\nseverity = \"low\"\nlegal_bases = [\"x\"]\nk = 5\n";
        let b = a
            .replace("name = \"a\"", "name = \"b\"")
            .replace("\"low\"", "\"high\"")
            .replace("k = 5", "k = 20");
        let policy = EffectivePolicy::combine(vec![
            PolicyPack::parse(a, "a", "a").unwrap(),
            PolicyPack::parse(&b, "b", "b").unwrap(),
        ]);
        let check = policy.check("privacy.k-anonymity").unwrap();
        assert_eq!(check.severity, Severity::High);
        assert_eq!(check.legal_bases.len(), 2);
        let settings: crate::checks::privacy::k_anonymity::Settings =
            policy.settings("privacy.k-anonymity").unwrap();
        assert_eq!(settings.k, 20);
    }
}
