//! The cohorts the pricing checks compare, shared by the simulation and the observed-price
//! checks: long- against short-tenure customers, iOS against Android, and each group of each
//! protected attribute against the rest.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use crate::config::Config;
use crate::engine::{Engine, ident, literal};
use crate::error::Result;
use crate::policy::{AttributeClass, EffectivePolicy, within};
use crate::pricing::FEATURES_TABLE;
use crate::segment::generalize::GeneralizeUdf;

/// The most tenure a pack may ask for: a century.
const MAX_TENURE_DAYS: i64 = 36_500;

/// Long-tenure customers have more than `old` days, new ones at most `new`: the cohorts are
/// disjoint only while `new <= old`.
pub fn validate_tenure(old: i64, new: i64) -> std::result::Result<(), String> {
    within("old_tenure_days", old, 1..=MAX_TENURE_DAYS)?;
    within("new_tenure_days", new, 0..=MAX_TENURE_DAYS)?;
    if new > old {
        return Err(format!(
            "new_tenure_days = {new} must be at most old_tenure_days = {old}: the cohorts would overlap"
        ));
    }
    Ok(())
}

/// Two packs' (old, new) tenure thresholds merged into broader cohorts: the smaller `old`, the
/// larger `new`, but never past `old` (the cohorts stay disjoint). Equal to the same rule over
/// all packs at once, so the order packs merge in does not matter.
pub fn strictest_tenure(a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
    let old = a.0.min(b.0);
    (old, a.1.max(b.1).min(old))
}

/// Which comparison a pair belongs to; each observed-price check takes one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortKind {
    Tenure,
    Device,
    Protected,
}

/// Two cohorts to compare: the one that may be disadvantaged, and the reference.
#[derive(Debug, Clone)]
pub struct CohortPair {
    pub kind: CohortKind,
    pub name: String,
    /// Who the first cohort is, and who the second, in words.
    pub treated_label: String,
    pub reference_label: String,
    pub treated: String,
    pub reference: String,
    /// Protected groups are flagged whichever way the gap goes.
    pub two_sided: bool,
}

/// The cohort pairs to compare: tenure, device, and each group of each protected attribute
/// present in the customer features.
pub async fn cohort_pairs(
    engine: &Engine,
    config: &Config,
    policy: &EffectivePolicy,
    old_days: i64,
    new_days: i64,
    tenure: &str,
) -> Result<Vec<CohortPair>> {
    let mut pairs = vec![CohortPair {
        name: format!("tenure > {old_days} days vs <= {new_days} days"),
        treated_label: format!("customers of more than {old_days} days"),
        reference_label: format!("customers of at most {new_days} days"),
        treated: format!("{tenure} > {old_days}"),
        reference: format!("{tenure} <= {new_days}"),
        two_sided: false,
        kind: CohortKind::Tenure,
    }];
    if crate::pricing::has_device(config) {
        pairs.push(CohortPair {
            name: "iOS vs Android".into(),
            treated_label: "iOS customers".into(),
            reference_label: "Android customers".into(),
            treated: "lower(device_os) LIKE '%ios%'".into(),
            reference: "lower(device_os) LIKE '%android%'".into(),
            two_sided: false,
            kind: CohortKind::Device,
        });
    }
    let Some(customers) = &config.datasets.customers else {
        return Ok(pairs);
    };
    let attributes: Vec<(String, Option<crate::quasi_kind::QuasiKind>)> = customers
        .quasi_identifiers
        .iter()
        .map(|(c, k)| (c.to_lowercase(), Some(*k)))
        .chain(
            customers
                .attributes
                .iter()
                .map(|a| (a.to_lowercase(), None)),
        )
        .collect();
    for (attribute, kind) in attributes {
        if policy.attribute_class(&attribute) != Some(AttributeClass::Protected) {
            continue;
        }
        let group = protected_group_expr(&attribute, kind);
        let sql = format!(
            "SELECT DISTINCT {group} AS g FROM {FEATURES_TABLE} WHERE {} IS NOT NULL ORDER BY g LIMIT 13",
            ident(&attribute)
        );
        let batches = engine.collect(&sql, "customers").await?;
        let mut groups = Vec::new();
        for batch in &batches {
            let values = cast(batch.column(0), &DataType::Utf8)?;
            let values = values.as_string::<i32>();
            groups.extend(
                (0..values.len())
                    .filter(|i| !values.is_null(*i))
                    .map(|i| values.value(i).to_string()),
            );
        }
        // A "protected attribute" with a dozen or more values is not a set of groups to compare.
        if groups.len() < 2 || groups.len() > 12 {
            continue;
        }
        for value in groups {
            pairs.push(CohortPair {
                name: format!("{attribute} = {value} vs other {attribute}"),
                treated_label: format!("customers with {attribute} = {value}"),
                reference_label: format!("customers with another {attribute}"),
                treated: format!("{group} = {}", literal(&value)),
                reference: format!("{group} <> {}", literal(&value)),
                two_sided: true,
                kind: CohortKind::Protected,
            });
        }
    }
    Ok(pairs)
}

/// Birth years and ages are compared in ten-year bands; other attributes by value.
pub fn protected_group_expr(attribute: &str, kind: Option<crate::quasi_kind::QuasiKind>) -> String {
    use crate::quasi_kind::QuasiKind;
    match kind {
        Some(k @ (QuasiKind::BirthYear | QuasiKind::Age)) => format!(
            "{}({}, {}, 1)",
            GeneralizeUdf::NAME,
            ident(attribute),
            literal(k.name())
        ),
        _ => format!("CAST({} AS VARCHAR)", ident(attribute)),
    }
}
