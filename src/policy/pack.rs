//! A policy pack as loaded: its legal bases, attribute classes and per-check entries, from a
//! built-in pack or a file, validated against the check registry with errors that name the
//! pack's line and column.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config_errors::{path_or, shown_or, toml_message};
use crate::error::{Error, Result};
use crate::findings::{Citation, Severity};
use crate::pseudonym::hex;

/// The packs compiled into the binary: (name, TOML text).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("cn", include_str!("../../policies/cn.toml")),
    ("eu", include_str!("../../policies/eu.toml")),
    ("us", include_str!("../../policies/us.toml")),
];

/// What loading a pack needs to know of a check. The check registry provides it, so that this
/// module knows no check and packs are validated by the checks' own settings types.
#[derive(Debug, Clone, Copy)]
pub struct CheckSpec {
    pub default_severity: Severity,
    /// Validates a pack's settings table for the check (keys, types, ranges).
    pub validate_settings: fn(&toml::Table) -> std::result::Result<(), String>,
}

/// The checks a pack may configure.
pub trait CheckCatalog {
    /// The check of this id, if there is one.
    fn lookup(&self, id: &str) -> Option<CheckSpec>;
}

/// The `source` of a pack compiled into the binary.
pub(super) const BUILT_IN_SOURCE: &str = "built-in";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    pub id: String,
    pub citation: String,
    pub gist: String,
    /// The instrument's Chinese title and article, as `--lang zh-CN` cites it.
    #[serde(default)]
    pub citation_zh: Option<String>,
    #[serde(default)]
    pub gist_zh: Option<String>,
    /// The message channels the provision governs (`["sms"]` for an SMS regulation); empty
    /// when it is not about one channel. A mail finding cites it only on those channels.
    #[serde(default)]
    pub channels: Vec<String>,
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
    /// `file:line:col` of the pack's `name`, for errors about packs that clash.
    pub(super) name_at: String,
}

impl PolicyPack {
    /// A built-in pack by name, or a pack file by path (relative to `base_dir`).
    pub fn load(
        reference: &str,
        base_dir: &Path,
        catalog: &dyn CheckCatalog,
    ) -> Result<PolicyPack> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(name, _)| *name == reference) {
            return PolicyPack::parse(text, BUILT_IN_SOURCE, &built_in_file(reference), catalog);
        }
        let looks_like_path = reference.contains(['/', '\\', '.']);
        if !looks_like_path {
            let known: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            return Err(Error::Policy {
                pack: shown_or(reference, "(a name not shown)"),
                message: format!(
                    "no built-in pack of that name (built-in: {}); give a path to load a pack file",
                    known.join(", ")
                ),
            });
        }
        // Relative to the working directory, the path is the reference as written.
        let path = if base_dir == Path::new(".") {
            PathBuf::from(reference)
        } else {
            base_dir.join(reference)
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Policy {
            pack: shown_or(reference, "(a path not shown)"),
            message: format!("cannot read {}: {e}", path_or(&path, "the file")),
        })?;
        // The report records the pack as the config names it, so that the same audit run from
        // another directory gives the same report; messages name the file as opened.
        let file = path_or(&path, "(a pack file not shown)");
        PolicyPack::parse(&text, reference, &file, catalog)
    }

    /// Parses and validates pack text. `source` is `built-in` or the path it was read from;
    /// `file` is what errors name, with the line and column of what is wrong.
    pub fn parse(
        text: &str,
        source: &str,
        file: &str,
        catalog: &dyn CheckCatalog,
    ) -> Result<PolicyPack> {
        let pack_text = PackText::parse(text, file, source == BUILT_IN_SOURCE)?;
        let raw: RawPack =
            toml::from_str(text).map_err(|e| pack_text.error(e.span(), toml_message(&e)))?;
        let at = |path: &[Step]| pack_text.span(path);
        if raw.name.trim().is_empty() {
            return Err(pack_text.error(at(&[Step::Key("name")]), "`name` is empty"));
        }
        for (i, basis) in raw.legal_bases.iter().enumerate() {
            let id_at = at(&[Step::Key("legal_basis"), Step::Index(i), Step::Key("id")]);
            if basis.id.trim().is_empty() {
                return Err(pack_text.error(id_at, "[[legal_basis]] with an empty `id`"));
            }
            if raw.legal_bases[..i].iter().any(|b| b.id == basis.id) {
                return Err(pack_text.error(
                    id_at,
                    format!("[[legal_basis]] `{}` is defined twice", basis.id),
                ));
            }
        }
        let mut checks = BTreeMap::new();
        for (id, raw_check) in raw.checks {
            let check_at = [Step::Key("checks"), Step::Key(&id)];
            let info = catalog.lookup(&id).ok_or_else(|| {
                pack_text.error(
                    at(&check_at),
                    format!("[checks.\"{id}\"]: no such check (see `fairmark checks`)"),
                )
            })?;
            let legal_bases = raw_check
                .legal_bases
                .iter()
                .enumerate()
                .map(|(i, basis_id)| {
                    let basis = raw.legal_bases.iter().find(|b| &b.id == basis_id).ok_or_else(|| {
                        pack_text.error(
                            at(&[Step::Key("checks"), Step::Key(&id), Step::Key("legal_bases"), Step::Index(i)]),
                            format!("[checks.\"{id}\"] cites `{basis_id}`, which no [[legal_basis]] of this pack defines"),
                        )
                    })?;
                    Ok(Citation {
                        pack: raw.name.clone(),
                        id: basis.id.clone(),
                        citation: basis.citation.clone(),
                        gist: basis.gist.clone(),
                        citation_zh: basis.citation_zh.clone(),
                        gist_zh: basis.gist_zh.clone(),
                        channels: basis.channels.iter().map(|c| c.to_lowercase()).collect(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if let Err(message) = (info.validate_settings)(&raw_check.settings) {
                return Err(settings_error(
                    &pack_text,
                    &id,
                    info.validate_settings,
                    &raw_check.settings,
                    message,
                ));
            }
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
            name_at: pack_text.position(at(&[Step::Key("name")])),
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

    pub fn built_in(catalog: &dyn CheckCatalog) -> Vec<PolicyPack> {
        BUILT_IN
            .iter()
            .map(|(name, text)| {
                PolicyPack::parse(text, BUILT_IN_SOURCE, &built_in_file(name), catalog)
                    .expect("built-in packs are valid (tested)")
            })
            .collect()
    }
}

/// The file a built-in pack was compiled from, as errors name it.
pub(super) fn built_in_file(name: &str) -> String {
    format!("policies/{name}.toml")
}

/// One step of a path into a pack's TOML tree.
#[derive(Debug, Clone, Copy)]
enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// A pack's text with its spanned tree, to name `file:line:col` in every error about it.
struct PackText<'t> {
    text: &'t str,
    file: &'t str,
    built_in: bool,
    tree: Spanned<DeTable<'t>>,
}

impl<'t> PackText<'t> {
    fn parse(text: &'t str, file: &'t str, built_in: bool) -> Result<PackText<'t>> {
        // A syntax error has its own span; it needs the text and file, not the tree.
        let mut pack_text = PackText {
            text,
            file,
            built_in,
            tree: Spanned::new(0..0, DeTable::default()),
        };
        pack_text.tree =
            DeTable::parse(text).map_err(|e| pack_text.error(e.span(), toml_message(&e)))?;
        Ok(pack_text)
    }

    /// The span of the deepest step of `path` present in the pack: a key's own span, an array
    /// element's value. `None` when not even the first step is there.
    fn span(&self, path: &[Step]) -> Option<Range<usize>> {
        let mut found = None;
        let mut value: Option<&DeValue> = None;
        for step in path {
            let next = match (step, value) {
                (Step::Key(key), None) => entry(self.tree.get_ref(), key),
                (Step::Key(key), Some(DeValue::Table(table))) => entry(table, key),
                (Step::Index(i), Some(DeValue::Array(array))) => {
                    array.get(*i).map(|element| (element.span(), element))
                }
                _ => None,
            };
            let Some((span, next)) = next else { break };
            found = Some(span);
            value = Some(next.get_ref());
        }
        found
    }

    /// `file:line:col` (`file` alone without a span), marked `(built-in)` for compiled packs.
    fn position(&self, span: Option<Range<usize>>) -> String {
        let mut position = self.file.to_string();
        if let Some(span) = span {
            let before = &self.text[..span.start.min(self.text.len())];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            position = format!("{position}:{line}:{column}");
        }
        if self.built_in {
            position.push_str(" (built-in)");
        }
        position
    }

    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> Error {
        Error::Policy {
            pack: self.position(span),
            message: message.into(),
        }
    }
}

fn entry<'a, 't>(
    table: &'a DeTable<'t>,
    key: &str,
) -> Option<(Range<usize>, &'a Spanned<DeValue<'t>>)> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(k, v)| (k.span(), v))
}

type ValidateSettings = fn(&toml::Table) -> std::result::Result<(), String>;

/// The error for a settings table its check refuses, at the setting at fault.
///
/// The registry's validator sees a table, not the text, so the setting is found by validating
/// each key alone (the others at their defaults), descending into inline tables: the innermost
/// key that on its own fails with the same message is the one to fix. A rule across keys (a
/// grace in both days and business days) fails on no single key and is reported at the check's
/// header.
fn settings_error(
    pack_text: &PackText,
    id: &str,
    validate: ValidateSettings,
    table: &toml::Table,
    message: String,
) -> Error {
    let mut path = vec![Step::Key("checks"), Step::Key(id)];
    let Some(keys) = culprit(&validate, table, &message) else {
        return pack_text.error(pack_text.span(&path), format!("checks.\"{id}\": {message}"));
    };
    let dotted = keys.join(".");
    path.extend(keys.iter().map(|k| Step::Key(k)));
    // Range checks name their setting (`k must be …`); serde's messages do not.
    let message = if message.starts_with(&dotted) {
        message
    } else {
        format!("{dotted}: {message}")
    };
    pack_text.error(pack_text.span(&path), format!("checks.\"{id}\".{message}"))
}

/// The path of the innermost key of `table` that `validate` refuses on its own with `message`.
fn culprit(
    validate: &dyn Fn(&toml::Table) -> std::result::Result<(), String>,
    table: &toml::Table,
    message: &str,
) -> Option<Vec<String>> {
    table.iter().find_map(|(key, value)| {
        let alone = |value: toml::Value| toml::Table::from_iter([(key.clone(), value)]);
        if validate(&alone(value.clone())).err()? != message {
            return None;
        }
        let inner = match value {
            toml::Value::Table(inner) => culprit(
                &|sub: &toml::Table| validate(&alone(sub.clone().into())),
                inner,
                message,
            ),
            _ => None,
        };
        let mut keys = vec![key.clone()];
        keys.extend(inner.unwrap_or_default());
        Some(keys)
    })
}
