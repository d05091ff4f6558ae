//! The answers of a probe of a pricing service (`fairmark probe` asks, see `crate::probe`):
//! the twin comparisons made and the quotes that came back, as the probe checks read them.

use std::collections::BTreeMap;

use super::cohorts::{CohortKind, SkippedAttribute};

/// One comparison the probe made: twins that differ in `attribute` only.
#[derive(Debug, Clone, PartialEq)]
pub struct TwinTest {
    pub kind: CohortKind,
    /// `tenure_days 730 vs 30`: stable, part of the findings' fingerprints.
    pub name: String,
    pub attribute: String,
    /// The twin that may be disadvantaged (longer tenure, iOS, the protected group), and the
    /// other, in words.
    pub treated_label: String,
    pub reference_label: String,
    /// The attribute's value for each twin, as sent (JSON text).
    pub treated_value: String,
    pub reference_value: String,
    /// Protected groups are flagged whichever way the gap goes.
    pub two_sided: bool,
}

/// Two quotes for one SKU to twins of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredPair {
    pub test: usize,
    pub sku: String,
    pub treated_price: f64,
    pub reference_price: f64,
}

/// An attribute the config asked to probe that could not be, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct NotProbed {
    pub kind: CohortKind,
    pub reason: String,
}

/// What a probe brought back for the checks.
#[derive(Debug, Clone, Default)]
pub struct ProbeAnswers {
    pub tests: Vec<TwinTest>,
    /// Pairs planned per (test, SKU), answered or not.
    pub planned: BTreeMap<(usize, String), usize>,
    /// Pairs with both quotes, in the order they were planned.
    pub pairs: Vec<AnsweredPair>,
    /// Protected attributes compared (with their number of groups) and skipped, and why.
    pub protected_compared: Vec<(String, usize)>,
    pub protected_skipped: Vec<SkippedAttribute>,
    pub not_probed: Vec<NotProbed>,
}

impl AnsweredPair {
    /// The log price ratio, treated twin over reference twin.
    pub fn log_gap(&self) -> f64 {
        (self.treated_price / self.reference_price).ln()
    }
}
