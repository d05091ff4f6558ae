#![doc = include_str!("undeclared_pii.md")]

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use serde::Deserialize;

use crate::checks::Outcome;
use crate::config::Config;
use crate::engine::{Engine, RegisteredDataset, ident};
use crate::error::Result;
use crate::findings::{Finding, Severity, Subject, share};
use crate::pii::{PiiKind, PiiMaskUdf};
use crate::policy::{EffectiveCheck, EffectivePolicy, Strictest, Validate, within};
use crate::pseudonym::IdentifierClass;

pub const ID: &str = "privacy.undeclared-pii";

check_info!(
    INFO,
    ID,
    "privacy",
    "Personal identifiers in undeclared columns",
    Severity::High,
    "undeclared_pii.md",
    Settings
);

/// One random 16–19 digit number in ten passes Luhn, so a column of order numbers would look
/// like 10% bank cards; real card columns and card-bearing notes sit far above this.
const BANK_CARD_MIN_RATE: f64 = 0.3;
/// Below this share of declared-kind values, a declared identifier column is mis-mapped.
const DECLARED_MIN_RATE: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Minimum share of a column's non-empty cells that must match for a finding.
    pub min_match_rate: f64,
    /// Minimum number of matching cells for a finding.
    pub min_matches: u64,
    /// Rows scanned in the first, sampling pass.
    pub sample_rows: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_match_rate: 0.005,
            min_matches: 3,
            sample_rows: 50_000,
        }
    }
}

impl Strictest for Settings {
    fn strictest(self, other: Self) -> Self {
        Settings {
            min_match_rate: self.min_match_rate.min(other.min_match_rate),
            min_matches: self.min_matches.min(other.min_matches),
            sample_rows: self.sample_rows.max(other.sample_rows),
        }
    }
}

/// A rate is a share in [0, 1]; a count and a sample are at least 1.
impl Validate for Settings {
    fn validate(&self) -> std::result::Result<(), String> {
        within("min_match_rate", self.min_match_rate, 0.0..=1.0)?;
        within("min_matches", self.min_matches, 1..)?;
        within("sample_rows", self.sample_rows, 1..)
    }
}

/// Matching cells per kind in one column, and how many cells were looked at.
#[derive(Debug, Default, Clone, PartialEq)]
struct ColumnScan {
    non_empty: u64,
    matches: BTreeMap<PiiKind, u64>,
}

// Every configured dataset is scanned, whichever there are.
check!(
    UndeclaredPii,
    INFO,
    needs: &[],
    run: |cx, check| {
        let findings = scan(cx.engine()?, cx.config, cx.policy, check).await?;
        Ok(Outcome::Findings(findings))
    }
);

async fn scan(
    engine: &Engine,
    config: &Config,
    policy: &EffectivePolicy,
    check: &EffectiveCheck,
) -> Result<Vec<Finding>> {
    let settings: Settings = policy.settings(ID)?;
    let mut findings = Vec::new();
    for dataset in &engine.datasets {
        let declared = declared_identifiers(config, dataset.role);
        let scans = scan_dataset(engine, dataset, settings.sample_rows).await?;
        for (column, scan) in scans {
            // A mis-mapped column is a config error, not an exposure: at most medium.
            let finding = match declared.get(&column) {
                Some(class) => mismatch_finding(
                    dataset,
                    &column,
                    *class,
                    &scan,
                    Severity::Medium.min(check.severity),
                ),
                None => undeclared_finding(dataset, &column, &scan, &settings, check.severity),
            };
            findings.extend(finding.map(|f| f.with_legal_bases(&check.legal_bases)));
        }
    }
    Ok(findings)
}

/// Columns the config declares as identifiers (the key columns count), with what they hold.
fn declared_identifiers(config: &Config, role: &str) -> BTreeMap<String, IdentifierClass> {
    let mut declared = BTreeMap::new();
    match role {
        "customers" => {
            if let Some(c) = &config.datasets.customers {
                declared.insert(c.id.clone(), IdentifierClass::CustomerId);
                declared.extend(
                    c.identifiers
                        .iter()
                        .map(|(col, class)| (col.clone(), *class)),
                );
            }
        }
        "orders" => {
            if let Some(o) = &config.datasets.orders {
                declared.insert(o.customer.clone(), IdentifierClass::CustomerId);
                if let Some(id) = &o.id {
                    declared.insert(id.clone(), IdentifierClass::Other);
                }
            }
        }
        "quotes" => {
            if let Some(q) = &config.datasets.quotes {
                declared.insert(q.customer.clone(), IdentifierClass::CustomerId);
            }
        }
        "mail_sends" => {
            if let Some(m) = &config.datasets.mail_sends {
                declared.insert(m.recipient.clone(), IdentifierClass::Other);
            }
        }
        "consents" => {
            if let Some(c) = &config.datasets.consents {
                declared.insert(c.recipient.clone(), IdentifierClass::Other);
            }
        }
        _ => {}
    }
    declared
}

/// Counts matches per column and kind: first over a sample, then, for the columns with a hit,
/// over every row.
async fn scan_dataset(
    engine: &Engine,
    dataset: &RegisteredDataset,
    sample_rows: u64,
) -> Result<BTreeMap<String, ColumnScan>> {
    let columns = dataset.scannable_columns();
    if columns.is_empty() {
        return Ok(BTreeMap::new());
    }
    if dataset.rows <= sample_rows {
        return count_matches(engine, dataset, &columns, &dataset.raw_table).await;
    }
    let sample = engine.register_head(dataset, sample_rows).await?;
    let sampled = count_matches(engine, dataset, &columns, &sample).await?;
    let hit: Vec<String> = sampled
        .into_iter()
        .filter(|(_, s)| !s.matches.is_empty())
        .map(|(c, _)| c)
        .collect();
    if hit.is_empty() {
        return Ok(BTreeMap::new());
    }
    count_matches(engine, dataset, &hit, &dataset.raw_table).await
}

async fn count_matches(
    engine: &Engine,
    dataset: &RegisteredDataset,
    columns: &[String],
    from: &str,
) -> Result<BTreeMap<String, ColumnScan>> {
    let mut select = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let mask = format!("{}({})", PiiMaskUdf::NAME, ident(column));
        select.push(format!("CAST(count({}) AS BIGINT) AS n{i}", ident(column)));
        for kind in PiiKind::ALL {
            select.push(format!(
                "CAST(sum(CASE WHEN ({mask} & {}) <> 0 THEN 1 ELSE 0 END) AS BIGINT) AS m{i}_{}",
                kind.bit(),
                kind.bit()
            ));
        }
    }
    let sql = format!("SELECT {} FROM {from}", select.join(", "));
    let batches = engine.collect(&sql, dataset.role).await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .expect("a global aggregate returns one row");
    let value = |name: &str| -> u64 {
        let array = batch
            .column_by_name(name)
            .expect("selected above")
            .as_primitive::<Int64Type>();
        if array.is_null(0) {
            0
        } else {
            array.value(0).max(0) as u64
        }
    };
    let mut scans = BTreeMap::new();
    for (i, column) in columns.iter().enumerate() {
        let mut scan = ColumnScan {
            non_empty: value(&format!("n{i}")),
            matches: BTreeMap::new(),
        };
        for kind in PiiKind::ALL {
            let count = value(&format!("m{i}_{}", kind.bit()));
            if count > 0 {
                scan.matches.insert(kind, count);
            }
        }
        scans.insert(column.clone(), scan);
    }
    Ok(scans)
}

fn undeclared_finding(
    dataset: &RegisteredDataset,
    column: &str,
    scan: &ColumnScan,
    settings: &Settings,
    severity: Severity,
) -> Option<Finding> {
    let significant: BTreeMap<PiiKind, u64> = scan
        .matches
        .iter()
        .filter(|(kind, count)| {
            let rate = **count as f64 / scan.non_empty.max(1) as f64;
            let min_rate = if **kind == PiiKind::BankCard {
                settings.min_match_rate.max(BANK_CARD_MIN_RATE)
            } else {
                settings.min_match_rate
            };
            **count >= settings.min_matches && rate >= min_rate
        })
        .map(|(k, c)| (*k, *c))
        .collect();
    if significant.is_empty() {
        return None;
    }
    let kinds: BTreeSet<&str> = significant.keys().map(|k| k.name()).collect();
    let kinds_text = kinds.iter().copied().collect::<Vec<_>>().join(", ");
    let summary: Vec<String> = significant
        .iter()
        .map(|(kind, count)| {
            format!(
                "{} in {count} cells ({:.2}%)",
                kind.name(),
                100.0 * share(*count, scan.non_empty)
            )
        })
        .collect();
    let mut finding = Finding::new(
        ID,
        severity,
        Subject::column(dataset.role, column),
        "undeclared",
        format!("Undeclared personal identifiers in {}.{column}", dataset.role),
        format!(
            "Column `{column}` of the {} dataset holds {} of its {} non-empty cells, but the config does not declare it under `identifiers`; every copy of this table carries those values. Declare it (so fairmark tokenizes it) or remove the values at the source.",
            dataset.role,
            summary.join(", "),
            scan.non_empty
        ),
    )
    .with_evidence("column", column)
    .with_evidence("detected_kinds", kinds_text)
    .with_evidence("non_empty_cells", scan.non_empty);
    for (kind, count) in &significant {
        finding = finding
            .with_evidence(&format!("{}_cells", kind.name()), *count)
            .with_evidence(
                &format!("{}_rate", kind.name()),
                share(*count, scan.non_empty),
            );
    }
    Some(finding)
}

fn expected_kind(class: IdentifierClass) -> Option<PiiKind> {
    match class {
        IdentifierClass::Phone => Some(PiiKind::CnMobile),
        IdentifierClass::Email => Some(PiiKind::Email),
        IdentifierClass::NationalId => Some(PiiKind::CnResidentId),
        IdentifierClass::BankCard => Some(PiiKind::BankCard),
        IdentifierClass::Ip => Some(PiiKind::IpAddress),
        _ => None,
    }
}

/// A declared `phone`/`email`/… column in which most cells are not of that kind.
fn mismatch_finding(
    dataset: &RegisteredDataset,
    column: &str,
    class: IdentifierClass,
    scan: &ColumnScan,
    severity: Severity,
) -> Option<Finding> {
    let kind = expected_kind(class)?;
    // Phone numbers outside mainland China are valid phones the recognizer does not know.
    if kind == PiiKind::CnMobile || scan.non_empty == 0 {
        return None;
    }
    let matching = scan.matches.get(&kind).copied().unwrap_or(0);
    let rate = share(matching, scan.non_empty);
    if rate >= DECLARED_MIN_RATE {
        return None;
    }
    Some(
        Finding::new(
            ID,
            severity,
            Subject::column(dataset.role, column),
            "declared-mismatch",
            format!("Declared {} column {}.{column} mostly holds something else", class.domain(), dataset.role),
            format!(
                "Column `{column}` is declared as `{}`, but only {matching} of its {} non-empty cells ({:.1}%) look like a {}; check the mapping, or the pseudonyms will not join across tables.",
                class.domain(),
                scan.non_empty,
                100.0 * rate,
                kind.name()
            ),
        )
        .with_evidence("column", column)
        .with_evidence("declared_as", class.domain())
        .with_evidence("matching_cells", matching)
        .with_evidence("non_empty_cells", scan.non_empty),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset() -> RegisteredDataset {
        RegisteredDataset {
            role: "customers",
            location: "c.csv".into(),
            format: "csv",
            rows: 100,
            files: vec![],
            raw_table: "raw_customers".into(),
            schema: std::sync::Arc::new(datafusion::arrow::datatypes::Schema::empty()),
            paths: vec![],
            file_format: crate::config::Format::Csv,
        }
    }

    fn scan(non_empty: u64, matches: &[(PiiKind, u64)]) -> ColumnScan {
        ColumnScan {
            non_empty,
            matches: matches.iter().copied().collect(),
        }
    }

    #[test]
    fn phones_in_notes_fire_and_a_stray_match_does_not() {
        let settings = Settings::default();
        let fired = undeclared_finding(
            &dataset(),
            "notes",
            &scan(1000, &[(PiiKind::CnMobile, 40)]),
            &settings,
            Severity::High,
        )
        .unwrap();
        assert_eq!(fired.evidence["cn-mobile_cells"], 40);
        assert!(
            undeclared_finding(
                &dataset(),
                "notes",
                &scan(1000, &[(PiiKind::CnMobile, 2)]),
                &settings,
                Severity::High
            )
            .is_none()
        );
    }

    #[test]
    fn luhn_noise_in_an_id_column_is_not_a_bank_card_column() {
        let settings = Settings::default();
        assert!(
            undeclared_finding(
                &dataset(),
                "order_no",
                &scan(1000, &[(PiiKind::BankCard, 100)]),
                &settings,
                Severity::High
            )
            .is_none()
        );
        assert!(
            undeclared_finding(
                &dataset(),
                "card",
                &scan(1000, &[(PiiKind::BankCard, 990)]),
                &settings,
                Severity::High
            )
            .is_some()
        );
    }

    #[test]
    fn a_declared_email_column_without_emails_is_reported() {
        assert!(
            mismatch_finding(
                &dataset(),
                "email",
                IdentifierClass::Email,
                &scan(100, &[(PiiKind::Email, 10)]),
                Severity::Medium
            )
            .is_some()
        );
        assert!(
            mismatch_finding(
                &dataset(),
                "email",
                IdentifierClass::Email,
                &scan(100, &[(PiiKind::Email, 99)]),
                Severity::Medium
            )
            .is_none()
        );
    }
}
