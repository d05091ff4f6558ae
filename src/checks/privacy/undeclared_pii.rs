#![doc = include_str!("undeclared_pii.md")]

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use serde::Deserialize;

use crate::checks::check::Outcome;
use crate::config::Config;
use crate::engine::{Engine, RegisteredDataset, ident};
use crate::error::{Result, data_column_name, data_column_phrase};
use crate::findings::evidence::{self, DeclaredMismatch, KindCells};
use crate::findings::{Finding, Severity, Subject, share};
use crate::pii::{PiiKind, PiiMaskUdf, names_documents};
use crate::policy::{EffectiveCheck, EffectivePolicy, Strictest, Validate, within};
use crate::pseudonym::IdentifierClass;

pub const ID: &str = "privacy.undeclared-pii";

check_info!(
    INFO,
    ID,
    "privacy",
    "Personal identifiers in undeclared columns",
    "未声明的列中含有个人标识信息",
    Severity::High,
    "undeclared_pii.md",
    Settings
);

/// One random 16–19 digit number in ten passes Luhn, so a column of order numbers would look
/// like 10% bank cards; real card columns and card-bearing notes sit far above this.
const BANK_CARD_MIN_RATE: f64 = 0.3;
/// Below this share of declared-kind values, a declared identifier column is mis-mapped.
const DECLARED_MIN_RATE: f64 = 0.5;
/// A document number without a context word counts only in a column named for documents where
/// at least this share of the values is nothing but that number's shape: a column of passport
/// numbers. A few `E12345678` among other values are product codes, and a column of
/// `M00000001` named `message_id` holds message ids.
const SHAPE_ONLY_MIN_RATE: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Minimum share of a column's non-empty cells that must match for a finding.
    pub min_match_rate: f64,
    /// Minimum number of matching cells for a finding.
    pub min_matches: u64,
    /// Rows in the first, sampling pass: every k-th row, across all files and row groups.
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
    /// Cells that are nothing but a document number's shape, with no context word, per kind
    /// (see [`PiiKind::SHAPE_ONLY`]).
    shape_only: BTreeMap<PiiKind, u64>,
}

impl ColumnScan {
    /// Matches per kind, counting shape-only cells where `column` is named for documents and
    /// most of it has that shape.
    fn effective_matches(&self, column: &str) -> BTreeMap<PiiKind, u64> {
        let mut matches = self.matches.clone();
        for (kind, count) in &self.shape_only {
            if names_documents(column) && share(*count, self.non_empty) >= SHAPE_ONLY_MIN_RATE {
                *matches.entry(*kind).or_default() += count;
            }
        }
        matches
    }

    /// Whether the column is worth counting over all rows: anything found, or document shapes
    /// in a column named for documents.
    fn has_hit(&self, column: &str) -> bool {
        !self.matches.is_empty() || (names_documents(column) && !self.shape_only.is_empty())
    }
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

/// Counts matches per column and kind: first over a sample spread across the whole dataset,
/// then, for the columns with a hit, over every row. A dataset no bigger than the sample is
/// read once, whole.
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
        return count_matches(engine, dataset, &columns, &Table::Dataset).await;
    }
    let sample = engine
        .register_sample(dataset, &columns, sample_rows)
        .await?;
    let sampled = count_matches(engine, dataset, &columns, &Table::Sample(sample)).await?;
    let hit: Vec<String> = sampled
        .into_iter()
        .filter(|(column, s)| s.has_hit(column))
        .map(|(c, _)| c)
        .collect();
    if hit.is_empty() {
        return Ok(BTreeMap::new());
    }
    count_matches(engine, dataset, &hit, &Table::Dataset).await
}

/// What [`count_matches`] reads.
enum Table {
    /// The whole dataset, wherever the engine runs its queries.
    Dataset,
    /// A sample, which lives in this process (see [`Engine::register_sample`]).
    Sample(String),
}

/// The most columns one aggregate of [`count_chunk`] counts. Planning an aggregate costs more
/// than linearly in its expressions (about fifteen a column): in a debug build a table of 128
/// columns took 3.5 s to audit, 256 took 20 s and 1,024 took 441 s, nearly all of it planning.
/// Tables of up to this many columns are still read once; a wider one once per chunk.
const COLUMNS_PER_QUERY: usize = 64;

/// Per column, its non-null cells and its cells of each kind, counted in chunks of
/// [`COLUMNS_PER_QUERY`] columns.
async fn count_matches(
    engine: &Engine,
    dataset: &RegisteredDataset,
    columns: &[String],
    table: &Table,
) -> Result<BTreeMap<String, ColumnScan>> {
    let mut scans = BTreeMap::new();
    for chunk in columns.chunks(COLUMNS_PER_QUERY) {
        scans.extend(count_chunk(engine, dataset, chunk, table).await?);
    }
    Ok(scans)
}

/// One aggregate over `from`: per column, its non-null cells and the cells with each kind's
/// bit (and each shape-only bit) in `fm_pii_mask`, computed once per cell in a subquery.
async fn count_chunk(
    engine: &Engine,
    dataset: &RegisteredDataset,
    columns: &[String],
    table: &Table,
) -> Result<BTreeMap<String, ColumnScan>> {
    let from = match table {
        Table::Dataset => &dataset.raw_table,
        Table::Sample(name) => name,
    };
    let mut masks = Vec::new();
    let mut select = Vec::new();
    let count_bit = |select: &mut Vec<String>, i: usize, bit: u32, name: String| {
        select.push(format!(
            "CAST(sum(CASE WHEN (k{i} & {bit}) <> 0 THEN 1 ELSE 0 END) AS BIGINT) AS {name}"
        ));
    };
    for (i, column) in columns.iter().enumerate() {
        masks.push(format!(
            "{col} AS v{i}, {}({col}) AS k{i}",
            PiiMaskUdf::NAME,
            col = ident(column)
        ));
        select.push(format!("CAST(count(v{i}) AS BIGINT) AS n{i}"));
        for kind in PiiKind::ALL {
            count_bit(
                &mut select,
                i,
                u32::from(kind.bit()),
                format!("m{i}_{}", kind.bit()),
            );
        }
        for kind in PiiKind::SHAPE_ONLY {
            count_bit(
                &mut select,
                i,
                kind.shape_only_bit(),
                format!("s{i}_{}", kind.bit()),
            );
        }
    }
    let sql = format!(
        "SELECT {} FROM (SELECT {} FROM {from})",
        select.join(", "),
        masks.join(", ")
    );
    let batches = match table {
        Table::Dataset => engine.collect(&sql, dataset.role).await?,
        Table::Sample(_) => engine.collect_local(&sql, dataset.role).await?,
    };
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
    let counts = |prefix: &str, i: usize, kinds: &[PiiKind]| -> BTreeMap<PiiKind, u64> {
        kinds
            .iter()
            .map(|kind| (*kind, value(&format!("{prefix}{i}_{}", kind.bit()))))
            .filter(|(_, count)| *count > 0)
            .collect()
    };
    let mut scans = BTreeMap::new();
    for (i, column) in columns.iter().enumerate() {
        let scan = ColumnScan {
            non_empty: value(&format!("n{i}")),
            matches: counts("m", i, &PiiKind::ALL),
            shape_only: counts("s", i, &PiiKind::SHAPE_ONLY),
        };
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
        .effective_matches(column)
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
    // The header may itself be a customer's value (a phone number as a column name).
    let position = dataset.schema.index_of(column).ok();
    let shown = data_column_name(column, position);
    let finding = Finding::new(
        ID,
        severity,
        Subject::column(dataset.role, &shown),
        "undeclared",
        format!("Undeclared personal identifiers in {}.{shown}", dataset.role),
        format!(
            "Column {} of the {} dataset holds {} of its {} non-empty cells, but the config does not declare it under `identifiers`; every copy of this table carries those values. Declare it (so fairmark tokenizes it) or remove the values at the source.",
            data_column_phrase(column, position),
            dataset.role,
            summary.join(", "),
            scan.non_empty
        ),
    )
    .with_evidence(evidence::UndeclaredPii {
        column: shown,
        non_empty_cells: scan.non_empty,
        kinds: significant
            .iter()
            .map(|(kind, count)| KindCells {
                kind: *kind,
                cells: *count,
                rate: share(*count, scan.non_empty),
            })
            .collect(),
    });
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
        .with_evidence(DeclaredMismatch {
            column: column.to_string(),
            declared_as: class.domain().to_string(),
            matching_cells: matching,
            non_empty_cells: scan.non_empty,
        }),
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
            sources: vec![],
            file_format: crate::config::Format::Csv,
        }
    }

    fn scan(non_empty: u64, matches: &[(PiiKind, u64)]) -> ColumnScan {
        ColumnScan {
            non_empty,
            matches: matches.iter().copied().collect(),
            shape_only: BTreeMap::new(),
        }
    }

    fn cells(finding: &Finding, kind: PiiKind) -> Option<u64> {
        match &finding.evidence {
            crate::findings::Evidence::UndeclaredPii(e) => {
                e.kinds.iter().find(|k| k.kind == kind).map(|k| k.cells)
            }
            _ => None,
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
        assert_eq!(cells(&fired, PiiKind::CnMobile), Some(40));
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
    fn bare_document_numbers_count_only_where_most_of_the_column_has_their_shape() {
        let settings = Settings::default();
        let with_shape = |shape_only: u64| ColumnScan {
            non_empty: 1000,
            matches: BTreeMap::new(),
            shape_only: [(PiiKind::Passport, shape_only)].into_iter().collect(),
        };
        let passports = undeclared_finding(
            &dataset(),
            "passport_no",
            &with_shape(900),
            &settings,
            Severity::High,
        )
        .expect("a column of passport numbers");
        assert_eq!(cells(&passports, PiiKind::Passport), Some(900));
        assert!(
            undeclared_finding(
                &dataset(),
                "passport_no",
                &with_shape(100),
                &settings,
                Severity::High
            )
            .is_none(),
            "a few values of that shape are not the column's content"
        );
        assert!(
            undeclared_finding(
                &dataset(),
                "sku",
                &with_shape(900),
                &settings,
                Severity::High
            )
            .is_none(),
            "product codes of that shape are no passports"
        );
    }

    /// 50,000 customers in five files; only the last 10,000 rows carry a phone number in
    /// their notes, every tenth, so a sample of the first rows would see none, and neither
    /// would one of every tenth row starting at another.
    #[tokio::test]
    async fn the_sample_reaches_the_last_file_of_a_directory() {
        use crate::pseudonym::{Key, KeyOrigin};
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("customers");
        std::fs::create_dir(&files).unwrap();
        for part in 0..5 {
            let mut text = String::from("uid,notes\n");
            for row in part * 10_000..(part + 1) * 10_000 {
                let note = if row >= 40_000 && row % 10 == 3 {
                    format!("call back on 138{:08}", row)
                } else {
                    format!("order {row} delivered")
                };
                text.push_str(&format!("U{row},{note}\n"));
            }
            std::fs::write(files.join(format!("part-{part}.csv")), text).unwrap();
        }
        let config_path = dir.path().join("fairmark.toml");
        std::fs::write(
            &config_path,
            "policies = [\"cn\"]\nkey = { env = \"UNUSED\" }\n\
             [datasets.customers]\npath = \"customers\"\nformat = \"csv\"\nid = \"uid\"\n",
        )
        .unwrap();
        let config = Config::load(&config_path).unwrap();
        let key = Key::from_material("5a".repeat(32).as_bytes(), &KeyOrigin::Env("K".into()));
        let functions = crate::functions::all(std::sync::Arc::new(key.unwrap()));
        let engine = Engine::open(&config, functions).await.unwrap();
        let customers = engine.dataset("customers").unwrap();
        assert_eq!(customers.rows, 50_000);
        let first = scan_dataset(&engine, customers, 5_000).await.unwrap();
        let notes = &first["notes"];
        assert_eq!(
            notes.matches[&PiiKind::CnMobile],
            1_000,
            "confirmed over all rows"
        );
        assert_eq!(notes.non_empty, 50_000);
        let again = scan_dataset(&engine, customers, 5_000).await.unwrap();
        assert_eq!(first, again, "the same input gives the same scan");
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
