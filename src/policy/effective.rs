//! The packs in force for one run combined into one [`EffectivePolicy`], by the strictest
//! reading of each check across them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::DeserializeOwned;

use super::pack::{AttributeClass, BUILT_IN_SOURCE, CheckCatalog, PolicyPack};
use super::settings::Strictest;
use crate::config::Config;
use crate::config_errors::{quoted_or, toml_problem};
use crate::error::{Error, Result};
use crate::findings::{Citation, Severity};
use crate::quasi_kind::QuasiKind;

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
pub(super) fn merge_settings<T>(id: &str, tables: &[(String, toml::Table)]) -> Result<T>
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
