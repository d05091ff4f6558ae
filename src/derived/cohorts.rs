//! The cohorts the pricing checks compare, shared by the simulation and the observed-price
//! checks: long- against short-tenure customers, iOS against Android, each group of each
//! protected attribute against the rest, and (observed prices only) frequent against occasional
//! buyers.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};

use crate::config::Config;
use crate::engine::{Engine, ident, literal};
use crate::error::Result;
use crate::policy::{AttributeClass, EffectivePolicy, within};
use crate::pricing::FEATURES_TABLE;
use crate::quasi_kind::QuasiKind;
use crate::segment::generalize::GeneralizeUdf;

/// The most tenure a pack may ask for: a century.
const MAX_TENURE_DAYS: i64 = 36_500;

/// Long-tenure customers have more than `old` days, new ones at most `new`: the cohorts are
/// disjoint only while `new <= old`.
pub fn validate_tenure(old: i64, new: i64) -> std::result::Result<(), String> {
    within("old_tenure_days", old, 1..=MAX_TENURE_DAYS)?;
    within("new_tenure_days", new, 0..=MAX_TENURE_DAYS)?;
    if new > old {
        return Err(
            "new_tenure_days must be at most old_tenure_days: the cohorts would overlap".into(),
        );
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

/// The most purchase days a year has.
const MAX_DAYS_A_YEAR: u32 = 365;

/// Frequent buyers bought on at least `frequent` days of the year before an order, occasional
/// ones on at most `occasional`: the cohorts are disjoint only while `occasional < frequent`.
pub fn validate_frequency(frequent: u32, occasional: u32) -> std::result::Result<(), String> {
    within("frequent_days", frequent, 1..=MAX_DAYS_A_YEAR)?;
    within("occasional_days", occasional, 0..=MAX_DAYS_A_YEAR)?;
    if occasional >= frequent {
        return Err(
            "occasional_days must be below frequent_days: the cohorts would overlap".into(),
        );
    }
    Ok(())
}

/// Two packs' (frequent, occasional) thresholds merged into broader cohorts, as
/// [`strictest_tenure`] does: the smaller `frequent`, the larger `occasional`, but always below
/// `frequent`.
pub fn strictest_frequency(a: (u32, u32), b: (u32, u32)) -> (u32, u32) {
    let frequent = a.0.min(b.0);
    (frequent, a.1.max(b.1).min(frequent - 1))
}

/// Which comparison a pair belongs to; each observed-price check takes one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortKind {
    Tenure,
    Device,
    Protected,
    Frequency,
}

/// The check that compares frequent with occasional buyers: the strata count prior orders only
/// when a pack enables it. Its id lives here, with the cohort it reads, so that the strata need
/// not import the check.
pub const FREQUENCY_CHECK: &str = "pricing.frequency-overcharge";

/// Frequent against occasional buyers, by the days they bought on in the 365 days before each
/// order (purchase occasions: several orders or lines on one day are one occasion, and cheaper
/// to count than distinct orders at ten million lines).
/// Both cohorts are customers of at least a year, who had the whole year to buy in: otherwise
/// new customers, who cannot have bought often yet, would make it a tenure comparison.
/// `tenure_at_order` and `purchase_days_prior_year` are columns of the observations.
pub fn frequency_pair(frequent: u32, occasional: u32) -> CohortPair {
    let full_year = "tenure_at_order >= 365";
    CohortPair {
        name: format!("{frequent}+ purchase days in the prior year vs <= {occasional}"),
        treated_label: format!(
            "customers who bought on {frequent} or more days in the year before the order"
        ),
        reference_label: format!(
            "customers who bought on at most {occasional} days in the year before the order"
        ),
        treated: format!("{full_year} AND purchase_days_prior_year >= {frequent}"),
        reference: format!("{full_year} AND purchase_days_prior_year <= {occasional}"),
        two_sided: false,
        kind: CohortKind::Frequency,
    }
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

/// A protected attribute that could not be compared, and why: reported, never dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedAttribute {
    pub attribute: String,
    pub reason: String,
}

/// The cohort pairs to compare, and which protected attributes were compared (with their
/// number of groups) and which could not be.
#[derive(Debug, Clone, Default)]
pub struct Cohorts {
    pub pairs: Vec<CohortPair>,
    pub compared: Vec<(String, usize)>,
    pub skipped: Vec<SkippedAttribute>,
}

/// A protected attribute with more groups than this is not a set of groups to compare (an
/// exact birth date, a free-text field): it is reported as skipped.
pub const MAX_PROTECTED_GROUPS: usize = 12;
/// Groups with fewer customers than this are left out of the comparison (and said to be).
pub const MIN_GROUP_CUSTOMERS: i64 = 20;

/// The cohort pairs to compare: tenure, device, and each protected attribute present in the
/// customer features (recognized by its name or by the kind the config declares). A
/// two-valued attribute is one comparison; with more values, each group is compared with the
/// rest.
pub async fn cohort_pairs(
    engine: &Engine,
    config: &Config,
    policy: &EffectivePolicy,
    old_days: i64,
    new_days: i64,
    tenure: &str,
) -> Result<Cohorts> {
    let mut cohorts = Cohorts::default();
    cohorts.pairs.push(CohortPair {
        name: format!("tenure > {old_days} days vs <= {new_days} days"),
        treated_label: format!("customers of more than {old_days} days"),
        reference_label: format!("customers of at most {new_days} days"),
        treated: format!("{tenure} > {old_days}"),
        reference: format!("{tenure} <= {new_days}"),
        two_sided: false,
        kind: CohortKind::Tenure,
    });
    if crate::pricing::has_device(config) {
        cohorts.pairs.push(CohortPair {
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
        return Ok(cohorts);
    };
    let attributes = customers.attributes_with_kinds();
    for (attribute, kind) in attributes {
        if policy.attribute_class(&attribute) != Some(AttributeClass::Protected) {
            continue;
        }
        let group = protected_group_expr(&attribute, kind);
        let sql = format!(
            "SELECT {group} AS g, count(*) AS customers FROM {FEATURES_TABLE} WHERE {} IS NOT NULL GROUP BY {group} ORDER BY g LIMIT {}",
            ident(&attribute),
            MAX_PROTECTED_GROUPS + 1
        );
        let batches = engine.collect(&sql, "customers").await?;
        let mut groups: Vec<(String, i64)> = Vec::new();
        for batch in &batches {
            let values = cast(batch.column(0), &DataType::Utf8)?;
            let values = values.as_string::<i32>();
            let sizes = cast(batch.column(1), &DataType::Int64)?;
            let sizes = sizes.as_primitive::<Int64Type>();
            groups.extend(
                (0..values.len())
                    .filter(|i| !values.is_null(*i))
                    .map(|i| (values.value(i).to_string(), sizes.value(i))),
            );
        }
        let skip = |reason: String| SkippedAttribute {
            attribute: attribute.clone(),
            reason,
        };
        if groups.len() > MAX_PROTECTED_GROUPS {
            cohorts.skipped.push(skip(format!(
                "more than {MAX_PROTECTED_GROUPS} distinct values: not a set of groups to compare (band it, or declare its kind so that fairmark bands it)"
            )));
            continue;
        }
        let small = groups
            .iter()
            .filter(|(_, n)| *n < MIN_GROUP_CUSTOMERS)
            .count();
        groups.retain(|(_, n)| *n >= MIN_GROUP_CUSTOMERS);
        if groups.len() < 2 {
            cohorts.skipped.push(skip(format!(
                "fewer than two groups of at least {MIN_GROUP_CUSTOMERS} customers"
            )));
            continue;
        }
        if small > 0 {
            cohorts.skipped.push(skip(format!(
                "{small} of its groups {} fewer than {MIN_GROUP_CUSTOMERS} customers and {} left out; the other {} were compared",
                if small == 1 { "has" } else { "have" },
                if small == 1 { "was" } else { "were" },
                groups.len()
            )));
        }
        cohorts.compared.push((attribute.clone(), groups.len()));
        let words = |value: &str| group_in_words(&attribute, kind, value);
        if let [(first, _), (second, _)] = groups.as_slice() {
            cohorts.pairs.push(CohortPair {
                name: format!("{} vs {}", words(first), words(second)),
                treated_label: format!("customers {}", words(first)),
                reference_label: format!("customers {}", words(second)),
                treated: format!("{group} = {}", literal(first)),
                reference: format!("{group} = {}", literal(second)),
                two_sided: true,
                kind: CohortKind::Protected,
            });
            continue;
        }
        let compared: Vec<String> = groups.iter().map(|(v, _)| literal(v)).collect();
        for (value, _) in &groups {
            cohorts.pairs.push(CohortPair {
                name: format!("{} vs the rest", words(value)),
                treated_label: format!("customers {}", words(value)),
                reference_label: format!("the other customers with a known {attribute}"),
                treated: format!("{group} = {}", literal(value)),
                reference: format!(
                    "{group} <> {} AND {group} IN ({})",
                    literal(value),
                    compared.join(", ")
                ),
                two_sided: true,
                kind: CohortKind::Protected,
            });
        }
    }
    Ok(cohorts)
}

/// A protected group in words: `born 1980-1989`, `aged 30-39`, `with gender f`.
pub fn group_in_words(attribute: &str, kind: Option<QuasiKind>, value: &str) -> String {
    match kind {
        Some(QuasiKind::BirthYear) => format!("born {value}"),
        Some(QuasiKind::Age) => format!("aged {value}"),
        _ => format!("with {attribute} {value}"),
    }
}

/// Birth years and ages are compared in ten-year bands, genders in their normal spelling;
/// other attributes by value.
pub fn protected_group_expr(attribute: &str, kind: Option<QuasiKind>) -> String {
    match kind {
        Some(k @ (QuasiKind::BirthYear | QuasiKind::Age)) => format!(
            "{}({}, {}, 1)",
            GeneralizeUdf::NAME,
            ident(attribute),
            literal(k.name())
        ),
        Some(QuasiKind::Gender) => format!(
            "{}({}, {}, 0)",
            GeneralizeUdf::NAME,
            ident(attribute),
            literal(QuasiKind::Gender.name())
        ),
        _ => format!("CAST({} AS VARCHAR)", ident(attribute)),
    }
}
