//! Policy packs: one TOML file per jurisdiction, listing legal bases and, per check, whether
//! it runs, its severity, the provisions it cites and its thresholds. Built-in packs are
//! compiled into the binary from `policies/`; any other pack is loaded from a path.
//!
//! A pack is validated when it loads: unknown checks and keys, undefined citations, and
//! thresholds outside their range (each settings type's [`Validate`]) are errors that name the
//! pack file, line and column.
//!
//! Several packs combine into one [`EffectivePolicy`] by taking the strictest reading: a
//! check runs if any pack enables it, at the highest severity any pack gives it, citing every
//! pack's provisions, with thresholds merged by the check's own notion of "stricter"
//! ([`Strictest`]). The result does not depend on the order the packs are given in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::ops::{Bound, Range, RangeBounds};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::Config;
use crate::config_errors::{path_or, quoted_or, shown_or, toml_message, toml_problem};
use crate::error::{Error, Result};
use crate::findings::{Citation, Severity};
use crate::pseudonym::hex;
use crate::quasi_kind::QuasiKind;

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

/// The settings of a check without thresholds: refuses misspelled keys.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

/// The `source` of a pack compiled into the binary.
const BUILT_IN_SOURCE: &str = "built-in";

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
    name_at: String,
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
fn built_in_file(name: &str) -> String {
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

/// One check as all packs together configure it.
#[derive(Debug, Clone)]
pub struct EffectiveCheck {
    pub enabled: bool,
    pub severity: Severity,
    /// Every enabling pack's citations, each once: packs by name, each pack's in the order it
    /// lists them (the author's order of relevance).
    pub legal_bases: Vec<Citation>,
    /// Each enabling pack's settings table, in pack order (by name).
    pub settings: Vec<(String, toml::Table)>,
}

/// The packs in force for one run.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    /// Sorted by name (then content), each pack once.
    pub packs: Vec<PolicyPack>,
    checks: BTreeMap<String, EffectiveCheck>,
    /// Column (lower case) → the kind the config declares it holds.
    declared_kinds: BTreeMap<String, String>,
}

/// How a check's thresholds combine across packs.
///
/// The merge must be commutative and associative, so that packs combine to the same settings
/// in any order; where "stricter" has no single answer (two quiet windows, two time zones) the
/// impl picks one by a fixed rule and says which. The README's "Policy packs" table lists them.
pub trait Strictest: Sized {
    /// The stricter of two readings, threshold by threshold.
    fn strictest(self, other: Self) -> Self;
}

/// Range checks on one pack's settings for a check, run when the pack loads: a threshold no
/// statistic can use (a zero-day window, an alpha of 2, a zone that does not exist) is an
/// error at the pack's line, not a check that silently never fires or floods.
pub trait Validate {
    /// The first setting out of range, as `key must be …` (the key first, so that the pack
    /// loader can point at it; never the value, which the pack's line and column locate).
    fn validate(&self) -> std::result::Result<(), String>;
}

impl Strictest for NoSettings {
    fn strictest(self, _: Self) -> Self {
        self
    }
}

impl Validate for NoSettings {
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// `key must be …` unless `value` lies in `range`. NaN lies in no range.
pub fn within<T: PartialOrd + Display>(
    key: &str,
    value: T,
    range: impl RangeBounds<T>,
) -> std::result::Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    use Bound::{Excluded, Included, Unbounded};
    let bounds = match (range.start_bound(), range.end_bound()) {
        (Included(low), Unbounded) => format!("at least {low}"),
        (Excluded(low), Unbounded) => format!("greater than {low}"),
        (Unbounded, Included(high)) => format!("at most {high}"),
        (Unbounded, Excluded(high)) => format!("less than {high}"),
        (Included(low), Included(high)) => format!("between {low} and {high}"),
        (Excluded(low), Excluded(high)) => format!("strictly between {low} and {high}"),
        (Included(low), Excluded(high)) => format!("at least {low} and less than {high}"),
        (Excluded(low), Included(high)) => format!("greater than {low} and at most {high}"),
        (Unbounded, Unbounded) => "a number".to_string(),
    };
    Err(format!("{key} must be {bounds}"))
}

impl EffectivePolicy {
    /// Loads and combines packs; two different packs may not share a name, since citations
    /// name the pack they come from.
    pub fn load(
        references: &[String],
        base_dir: &Path,
        catalog: &dyn CheckCatalog,
    ) -> Result<EffectivePolicy> {
        let mut packs = references
            .iter()
            .map(|r| PolicyPack::load(r, base_dir, catalog))
            .collect::<Result<Vec<_>>>()?;
        sort_packs(&mut packs);
        for pair in packs.windows(2) {
            let (first, second) = (&pair[0], &pair[1]);
            if first.name == second.name && first.sha256 != second.sha256 {
                // Blame the pack file rather than a built-in pack.
                let (kept, clashing) = if second.source == BUILT_IN_SOURCE {
                    (second, first)
                } else {
                    (first, second)
                };
                return Err(Error::Policy {
                    pack: clashing.name_at.clone(),
                    message: format!(
                        "pack name {} is already the name of {}; citations name their pack, so give this pack a name of its own",
                        quoted_or(&clashing.name, "(not shown)"),
                        kept.name_at
                    ),
                });
            }
        }
        Ok(EffectivePolicy::combine(packs))
    }

    /// Combines packs by the strictest reading. The order of `packs` does not matter: they are
    /// sorted, and the same pack given twice counts once.
    pub fn combine(mut packs: Vec<PolicyPack>) -> EffectivePolicy {
        sort_packs(&mut packs);
        packs.dedup_by(|later, earlier| {
            later.name == earlier.name && later.sha256 == earlier.sha256
        });
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
        for check in checks.values_mut() {
            let mut seen = BTreeSet::new();
            check
                .legal_bases
                .retain(|citation| seen.insert(citation.clone()));
        }
        EffectivePolicy {
            packs,
            checks,
            declared_kinds: BTreeMap::new(),
        }
    }

    /// The packs `config` names, knowing the kinds the config declares for its columns (`born`
    /// holds a `birth_year`), so that a column is classified by what it holds, not only by what
    /// it is called. A declared attribute kind that no pack classifies is refused: a typo would
    /// otherwise leave a protected attribute unclassified without a word.
    pub fn for_config(config: &Config, catalog: &dyn CheckCatalog) -> Result<EffectivePolicy> {
        let mut policy = EffectivePolicy::load(&config.policies, &config.base_dir, catalog)?;
        if let Some(customers) = &config.datasets.customers
            && let Some((column, kind)) = customers.attribute_kinds.iter().find(|(_, kind)| {
                QuasiKind::from_name(kind).is_none() && policy.kind_class(kind).is_none()
            })
        {
            return Err(Error::config(
                &config.file,
                format!(
                    "[datasets.customers] attribute_kinds: {} is declared {}, a kind no policy pack classifies; use one of the kinds the packs list under [attributes] (e.g. gender, age, ethnicity)",
                    quoted_or(column, "a column (name not shown)"),
                    quoted_or(kind, "a kind (not shown)")
                ),
            ));
        }
        policy.declared_kinds = config.declared_kinds();
        Ok(policy)
    }

    /// The most sensitive class any pack gives the name `kind`.
    fn kind_class(&self, kind: &str) -> Option<AttributeClass> {
        self.packs
            .iter()
            .filter_map(|p| p.attributes.class_of(kind))
            .max()
    }

    /// The most sensitive class any pack gives `attribute`, by its name or by the kind the
    /// config declares it holds.
    pub fn attribute_class(&self, attribute: &str) -> Option<AttributeClass> {
        let by_kind = self
            .declared_kinds
            .get(&attribute.to_lowercase())
            .and_then(|kind| self.kind_class(kind));
        self.kind_class(attribute).max(by_kind)
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
        match self.check(id) {
            Some(check) => merge_settings(id, &check.settings),
            None => Ok(T::default()),
        }
    }
}

/// By name, then content, then source: the order packs combine in, whatever order they came in.
fn sort_packs(packs: &mut [PolicyPack]) {
    packs.sort_by(|a, b| (&a.name, &a.sha256, &a.source).cmp(&(&b.name, &b.sha256, &b.source)));
}

/// Each pack's settings table read as `T`, merged in the order given.
fn merge_settings<T>(id: &str, tables: &[(String, toml::Table)]) -> Result<T>
where
    T: DeserializeOwned + Default + Strictest,
{
    let mut merged: Option<T> = None;
    for (pack, table) in tables {
        let parsed =
            T::deserialize(toml::Value::Table(table.clone())).map_err(|e| Error::Policy {
                pack: pack.clone(),
                message: format!("[checks.\"{id}\"]: {}", toml_problem(e.message())),
            })?;
        merged = Some(match merged {
            Some(previous) => previous.strictest(parsed),
            None => parsed,
        });
    }
    Ok(merged.unwrap_or_default())
}

/// Validates a settings table against `T` without keeping it, for [`CheckSpec`]: the
/// keys and types by deserializing, the ranges by [`Validate`].
pub fn validate_as<T: DeserializeOwned + Validate>(
    table: &toml::Table,
) -> std::result::Result<(), String> {
    T::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| toml_problem(e.message()))?
        .validate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{self, Registry, mail, pricing, privacy};

    #[test]
    fn built_in_packs_parse_and_cite_every_enabled_check() {
        for pack in PolicyPack::built_in(&Registry) {
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
    fn every_check_default_is_within_its_own_bounds() {
        for check in checks::ALL.iter().map(|c| c.info()) {
            (check.validate_settings)(&toml::Table::new())
                .unwrap_or_else(|e| panic!("{}: {e}", check.id));
        }
    }

    #[test]
    fn unknown_pack_names_and_checks_are_clear_errors() {
        let message = PolicyPack::load("mars", Path::new("."), &Registry)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("mars") && message.contains("cn, eu, us"),
            "{message}"
        );
        let text = "name = \"x\"\ntitle = \"x\"\n[checks.\"privacy.nope\"]\nseverity = \"high\"\n";
        let message = PolicyPack::parse(text, "x.toml", "x.toml", &Registry)
            .unwrap_err()
            .to_string();
        assert!(message.contains("x.toml:3:9"), "{message}");
        assert!(message.contains("privacy.nope"), "{message}");
    }

    const HEADER: &str = "name = \"custom\"\ntitle = \"Custom\"\n[[legal_basis]]\nid = \"x\"\ncitation = \"X\"\ngist = \"x\"\n";

    /// The error for a pack of `HEADER` (six lines) and `body`.
    fn error_for(body: &str) -> String {
        let text = format!("{HEADER}{body}");
        PolicyPack::parse(
            &text,
            "policies/custom.toml",
            "policies/custom.toml",
            &Registry,
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn out_of_range_settings_name_the_file_line_column_and_bound() {
        let cases = [
            (
                "[checks.\"mail.frequency-cap\"]\nlegal_bases = [\"x\"]\nwindow_days = 0\n",
                "policies/custom.toml:9:1: checks.\"mail.frequency-cap\".window_days must be between 1 and 366",
            ),
            (
                "[checks.\"mail.frequency-cap\"]\nmax_messages = 0\n",
                "custom.toml:8:1: checks.\"mail.frequency-cap\".max_messages must be at least 1",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\ntimezone = \"Asia/Atlantis\"\n",
                "custom.toml:8:1: checks.\"mail.quiet-hours\".timezone = \"Asia/Atlantis\" is not an IANA time zone",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\nquiet = { sms = [\"25:00\", \"08:00\"] }\n",
                "custom.toml:8:11: checks.\"mail.quiet-hours\".quiet.sms = [\"25:00\", \"08:00\"]: \"25:00\" is not a time of day",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\nquiet.email = [\"21:00\", \"21:00\"]\n",
                "custom.toml:8:7: checks.\"mail.quiet-hours\".quiet.email = [\"21:00\", \"21:00\"] is empty",
            ),
            (
                "[checks.\"mail.quiet-hours\"]\nquiet = { fax = [\"21:00\", \"08:00\"] }\n",
                "custom.toml:8:11: checks.\"mail.quiet-hours\".quiet.fax: channel `fax` must be one of email, sms, push",
            ),
            (
                "[checks.\"mail.no-consent\"]\nopt_in_required = [\"SMS\"]\n",
                "custom.toml:8:1: checks.\"mail.no-consent\".opt_in_required: channel `SMS` must be one of",
            ),
            (
                "[checks.\"mail.after-opt-out\"]\ngrace_days = 91\n",
                "custom.toml:8:1: checks.\"mail.after-opt-out\".grace_days must be between 0 and 90",
            ),
            (
                "[checks.\"mail.after-opt-out\"]\ngrace_business_days = -1\n",
                "custom.toml:8:1: checks.\"mail.after-opt-out\".grace_business_days must be between 0 and 90",
            ),
            (
                // A rule across two keys is reported at the check's header.
                "[checks.\"mail.after-opt-out\"]\ngrace_days = 3\ngrace_business_days = 3\n",
                "custom.toml:7:9: checks.\"mail.after-opt-out\": grace_days and grace_business_days are both set",
            ),
            (
                "[checks.\"mail.unsolicited-bulk\"]\nmin_share = 1.5\n",
                "custom.toml:8:1: checks.\"mail.unsolicited-bulk\".min_share must be between 0 and 1",
            ),
            (
                "[checks.\"mail.missing-unsubscribe\"]\none_click_min_messages = 0\n",
                "custom.toml:8:1: checks.\"mail.missing-unsubscribe\".one_click_min_messages must be at least 1",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nk = 1\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".k must be at least 2",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nmax_suppression = -0.1\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".max_suppression must be between 0 and 1",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\ngeneralization = { age = 1, city = 5 }\n",
                "custom.toml:8:29: checks.\"privacy.k-anonymity\".generalization.city must be between 0 and 2",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nk = \"ten\"\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".k: expected a whole number",
            ),
            (
                "[checks.\"privacy.k-anonymity\"]\nkk = 10\n",
                "custom.toml:8:1: checks.\"privacy.k-anonymity\".kk: unknown field `kk`",
            ),
            (
                "[checks.\"privacy.undeclared-pii\"]\nmin_matches = 0\n",
                "custom.toml:8:1: checks.\"privacy.undeclared-pii\".min_matches must be at least 1",
            ),
            (
                "[checks.\"pricing.tenure-overcharge\"]\nalpha = 1.0\n",
                "custom.toml:8:1: checks.\"pricing.tenure-overcharge\".alpha must be strictly between 0 and 1",
            ),
            (
                "[checks.\"pricing.device-overcharge\"]\nalpha = nan\n",
                "custom.toml:8:1: checks.\"pricing.device-overcharge\".alpha must be strictly between 0 and 1",
            ),
            (
                "[checks.\"pricing.protected-overcharge\"]\nmin_gap = 1.0\n",
                "custom.toml:8:1: checks.\"pricing.protected-overcharge\".min_gap must be at least 0 and less than 1",
            ),
            (
                "[checks.\"pricing.tenure-overcharge\"]\nmin_strata = 0\n",
                "custom.toml:8:1: checks.\"pricing.tenure-overcharge\".min_strata must be at least 1",
            ),
            (
                "[checks.\"pricing.simulated-disparity\"]\nold_tenure_days = 20\nnew_tenure_days = 10\ntolerance = -0.01\n",
                "custom.toml:10:1: checks.\"pricing.simulated-disparity\".tolerance must be at least 0 and less than 1",
            ),
            (
                // New customers of up to 400 days would overlap the default 365-day old cohort.
                "[checks.\"pricing.simulated-disparity\"]\nnew_tenure_days = 400\n",
                "custom.toml:8:1: checks.\"pricing.simulated-disparity\".new_tenure_days must be at most old_tenure_days",
            ),
            (
                "[checks.\"pricing.simulated-disparity\"]\nold_tenure_days = 200\nnew_tenure_days = 300\n",
                "custom.toml:7:9: checks.\"pricing.simulated-disparity\": new_tenure_days must be at most old_tenure_days",
            ),
            (
                "[checks.\"mail.frequency-cap\"]\nlegal_bases = [\"x\", \"y\"]\n",
                "custom.toml:8:21: [checks.\"mail.frequency-cap\"] cites `y`",
            ),
            (
                "[[legal_basis]]\nid = \"x\"\ncitation = \"again\"\ngist = \"\"\n",
                "custom.toml:8:1: [[legal_basis]] `x` is defined twice",
            ),
            (
                "[checks.\"mail.frequency-cap\"]\nseverity = \"dire\"\n",
                "custom.toml:8:12: `checks.mail.frequency-cap.severity`: not a value this key takes; expected one of",
            ),
            (
                "[checks.\"mail.frequency-cap\"\nwindow_days = 3\n",
                "custom.toml:7:",
            ),
        ];
        for (body, expected) in cases {
            let message = error_for(body);
            assert!(
                message.contains(expected),
                "{body}\n  expected: {expected}\n  got:      {message}"
            );
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn errors_in_a_built_in_pack_name_the_file_it_was_compiled_from() {
        let text = BUILT_IN[0].1.replace("window_days = 7", "window_days = 0");
        let message = PolicyPack::parse(&text, BUILT_IN_SOURCE, &built_in_file("cn"), &Registry)
            .unwrap_err()
            .to_string();
        let line = text.lines().position(|l| l == "window_days = 0").unwrap() + 1;
        assert!(
            message.starts_with(&format!("policy policies/cn.toml:{line}:1 (built-in): ")),
            "{message}"
        );
    }

    fn pack(text: &str) -> PolicyPack {
        PolicyPack::parse(text, "test.toml", "test.toml", &Registry).unwrap()
    }

    #[test]
    fn combining_packs_takes_the_highest_severity_and_all_citations() {
        let a = "name = \"a\"\ntitle = \"a\"\n[[legal_basis]]\nid = \"x\"\ncitation = \"X\"\ngist = \"x\"\n[checks.\"privacy.k-anonymity\"]\nseverity = \"low\"\nlegal_bases = [\"x\"]\nk = 5\n";
        let b = a
            .replace("name = \"a\"", "name = \"b\"")
            .replace("\"low\"", "\"high\"")
            .replace("k = 5", "k = 20");
        let policy = EffectivePolicy::combine(vec![pack(a), pack(&b)]);
        let check = policy.check("privacy.k-anonymity").unwrap();
        assert_eq!(check.severity, Severity::High);
        assert_eq!(check.legal_bases.len(), 2);
        let settings: privacy::k_anonymity::Settings =
            policy.settings("privacy.k-anonymity").unwrap();
        assert_eq!(settings.k, 20);
        // The same pack twice counts once: its citations are not repeated.
        let twice = EffectivePolicy::combine(vec![pack(a), pack(a)]);
        assert_eq!(twice.packs.len(), 1);
        assert_eq!(
            twice
                .check("privacy.k-anonymity")
                .unwrap()
                .legal_bases
                .len(),
            1
        );
    }

    #[test]
    fn two_different_packs_with_one_name_are_refused_and_one_pack_twice_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "title = \"Mine\"\nname = \"cn\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("cn-copy.toml"), BUILT_IN[0].1).unwrap();
        let references = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let message =
            EffectivePolicy::load(&references(&["mine.toml", "cn"]), dir.path(), &Registry)
                .unwrap_err()
                .to_string();
        let mine = dir.path().join("mine.toml").display().to_string();
        assert!(
            message.starts_with(&format!("policy {mine}:2:1: pack name `cn` is already the name of policies/cn.toml:5:1 (built-in)")),
            "{message}"
        );
        let policy =
            EffectivePolicy::load(&references(&["cn-copy.toml", "cn"]), dir.path(), &Registry)
                .unwrap();
        assert_eq!(policy.packs.len(), 1);
    }

    /// The built-in packs by name.
    fn built_in(names: &[&str]) -> Vec<PolicyPack> {
        PolicyPack::built_in(&Registry)
            .into_iter()
            .filter(|p| names.contains(&p.name.as_str()))
            .collect()
    }

    #[test]
    fn graces_in_days_and_business_days_merge_to_the_earliest_deadline() {
        let opt_out = |packs: Vec<PolicyPack>| -> mail::after_opt_out::Settings {
            EffectivePolicy::combine(packs)
                .settings(mail::after_opt_out::INFO.id)
                .unwrap()
        };
        let grace = |line: &str| {
            pack(&format!(
                "name = \"g{}\"\ntitle = \"g\"\n[checks.\"mail.after-opt-out\"]\n{line}\n",
                line.len()
            ))
        };
        // cn gives 0 calendar days, us 10 business days: the opt-out applies at once.
        let cn_us = opt_out(built_in(&["cn", "us"]));
        assert_eq!((cn_us.grace_days, cn_us.grace_business_days), (0, 0));
        // 5 calendar days end before 10 business days.
        let mixed = opt_out(vec![built_in(&["us"]).remove(0), grace("grace_days = 5")]);
        assert_eq!((mixed.grace_days, mixed.grace_business_days), (5, 0));
        // Business days against business days: the shorter.
        let business = opt_out(vec![
            built_in(&["us"]).remove(0),
            grace("grace_business_days = 3"),
        ]);
        assert_eq!((business.grace_days, business.grace_business_days), (0, 3));
    }

    #[test]
    fn quiet_hours_merge_to_the_longer_window_and_the_first_zone_by_name() {
        let quiet = |name: &str, zone: &str, window: &str| {
            pack(&format!(
                "name = \"{name}\"\ntitle = \"q\"\n[checks.\"mail.quiet-hours\"]\ntimezone = \"{zone}\"\nquiet = {{ sms = {window} }}\n"
            ))
        };
        let nested = quiet("a", "Europe/Paris", "[\"22:00\", \"7:00\"]");
        let wider = quiet("b", "America/New_York", "[\"21:00\", \"08:00\"]");
        let same_length = quiet("c", "Asia/Shanghai", "[\"20:00\", \"07:00\"]");
        for packs in [
            vec![nested.clone(), wider.clone()],
            vec![wider.clone(), nested.clone()],
        ] {
            let merged: mail::quiet_hours::Settings = EffectivePolicy::combine(packs)
                .settings(mail::quiet_hours::INFO.id)
                .unwrap();
            assert_eq!(merged.timezone, "America/New_York");
            assert_eq!(merged.quiet["sms"], ["21:00", "08:00"]);
        }
        // Two 11-hour windows: the earlier start, written HH:MM.
        let merged: mail::quiet_hours::Settings =
            EffectivePolicy::combine(vec![wider, same_length])
                .settings(mail::quiet_hours::INFO.id)
                .unwrap();
        assert_eq!(merged.quiet["sms"], ["20:00", "07:00"]);
    }

    #[test]
    fn tenure_cohorts_broaden_but_never_overlap() {
        let tenure = |name: &str, old: i64, new: i64| {
            pack(&format!(
                "name = \"{name}\"\ntitle = \"t\"\n[checks.\"pricing.simulated-disparity\"]\nold_tenure_days = {old}\nnew_tenure_days = {new}\n"
            ))
        };
        let merged: pricing::simulated_disparity::Settings =
            EffectivePolicy::combine(vec![tenure("a", 100, 90), tenure("b", 80, 10)])
                .settings(pricing::simulated_disparity::ID)
                .unwrap();
        assert_eq!((merged.old_tenure_days, merged.new_tenure_days), (80, 80));
    }
}
