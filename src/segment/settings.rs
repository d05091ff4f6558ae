//! The k-anonymity settings of the packs (`[checks."privacy.k-anonymity"]`): the k, the
//! suppression budget and the starting generalization the published segmentation is enforced
//! to. They live beside the segmentation, which every audit builds and which reads them first;
//! the check `privacy.k-anonymity` reports against the same settings.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::anonymity::Requirement;
use crate::policy::{Strictest, Validate, within};
use crate::quasi_kind::QuasiKind;

/// The id of the check whose settings these are.
pub const K_ANONYMITY_CHECK: &str = "privacy.k-anonymity";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnonymitySettings {
    pub k: u64,
    pub max_suppression: f64,
    /// Starting generalization level per quasi-identifier kind.
    pub generalization: BTreeMap<QuasiKind, u8>,
}

impl Default for AnonymitySettings {
    fn default() -> Self {
        AnonymitySettings {
            k: 10,
            max_suppression: 0.05,
            generalization: [
                (QuasiKind::BirthYear, 1),
                (QuasiKind::Age, 1),
                (QuasiKind::City, 1),
            ]
            .into_iter()
            .collect(),
        }
    }
}

impl Strictest for AnonymitySettings {
    fn strictest(self, other: Self) -> Self {
        let mut generalization = self.generalization;
        for (kind, level) in other.generalization {
            let entry = generalization.entry(kind).or_insert(level);
            *entry = (*entry).max(level);
        }
        AnonymitySettings {
            k: self.k.max(other.k),
            max_suppression: self.max_suppression.min(other.max_suppression),
            generalization,
        }
    }
}

/// `k` ≥ 2 (k = 1 is no anonymity at all); `max_suppression` a share in [0, 1]; each
/// generalization level at most the kind's top level (every value `*`).
impl Validate for AnonymitySettings {
    fn validate(&self) -> Result<(), String> {
        within("k", self.k, 2..)?;
        within("max_suppression", self.max_suppression, 0.0..=1.0)?;
        for (kind, level) in &self.generalization {
            let key = format!("generalization.{}", kind.name());
            within(&key, *level, 0..=kind.top_level())?;
        }
        Ok(())
    }
}

impl AnonymitySettings {
    pub fn requirement(&self) -> Requirement {
        Requirement {
            k: self.k.max(1),
            max_suppression: self.max_suppression,
            initial_levels: self.generalization.clone(),
        }
    }
}
