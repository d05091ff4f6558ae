//! k-anonymity enforcement over the quasi-identifier columns of a table, by full-domain
//! generalization (each column at one level for all rows) and then suppression of the classes
//! still smaller than k — the Datafly heuristic (Sweeney 2002), as GB/T 37964 describes it.
//!
//! Each round counts equivalence classes with one DataFusion aggregate. While more rows sit in
//! classes smaller than k than the suppression budget allows, the column with the most distinct
//! published values is generalized one level further. What remains below k is suppressed (`*` in
//! every quasi-identifier cell); if the suppressed rows are themselves fewer than k, the smallest
//! compliant classes join them, so the all-`*` class is k-anonymous too.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::common::DFSchemaRef;
use datafusion::logical_expr::{EmptyRelation, Expr, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::prelude::DataFrame;
use serde::Serialize;

use super::generalize::{GeneralizeUdf, SUPPRESSED};
use crate::engine::{Engine, ident, literal};
use crate::error::Result;
use crate::quasi_kind::QuasiKind;

/// A quasi-identifier column: where it is read and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiColumn {
    /// The published column name.
    pub name: String,
    /// The column of the source table holding the raw value.
    pub source: String,
    pub kind: QuasiKind,
}

/// What the policy asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub k: u64,
    /// Share of rows that may be suppressed before generalizing further.
    pub max_suppression: f64,
    /// Starting level per kind; kinds not listed start at 0.
    pub initial_levels: BTreeMap<QuasiKind, u8>,
}

/// How one quasi-identifier is published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedColumn {
    pub column: String,
    pub kind: QuasiKind,
    pub level: u8,
    pub published_as: &'static str,
    pub distinct_values: usize,
}

/// What enforcement achieved, for the report and for `privacy.k-anonymity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnonymityReport {
    pub k_required: u64,
    /// The smallest equivalence class in the published data.
    pub k_achieved: u64,
    pub rows: u64,
    pub classes: usize,
    pub suppressed_rows: u64,
    /// Quasi-identifier cells published as `*` (suppressed rows, and whole columns generalized
    /// to the top), over all quasi-identifier cells.
    pub suppressed_cell_share: f64,
    /// In the raw data: rows whose exact quasi-identifier combination is unique.
    pub raw_unique_rows: u64,
    /// In the raw data: rows in classes smaller than k.
    pub raw_rows_below_k: u64,
    pub columns: Vec<PublishedColumn>,
}

/// The enforcement decision, ready to apply to the source table.
#[derive(Debug, Clone)]
pub struct Anonymization {
    columns: Vec<QuasiColumn>,
    levels: Vec<u8>,
    suppressed: Vec<Vec<String>>,
    pub report: AnonymityReport,
}

type Classes = Vec<(Vec<String>, u64)>;

/// Decides levels and suppression for `columns` of `table`.
pub async fn enforce(
    engine: &Engine,
    table: &str,
    role: &str,
    columns: &[QuasiColumn],
    requirement: &Requirement,
) -> Result<Anonymization> {
    let (raw_unique_rows, raw_rows_below_k) =
        raw_risk(engine, table, role, columns, requirement.k).await?;
    let mut levels: Vec<u8> = columns
        .iter()
        .map(|c| {
            requirement
                .initial_levels
                .get(&c.kind)
                .copied()
                .unwrap_or(0)
                .min(c.kind.top_level())
        })
        .collect();
    let mut classes = count_classes(engine, table, role, columns, &levels).await?;
    let rows: u64 = classes.iter().map(|(_, n)| n).sum();
    let budget = (requirement.max_suppression * rows as f64).floor() as u64;
    loop {
        let below_k: u64 = classes
            .iter()
            .filter(|(_, n)| *n < requirement.k)
            .map(|(_, n)| n)
            .sum();
        if below_k <= budget {
            break;
        }
        let Some(widest) = widest_generalizable(columns, &levels, &classes) else {
            break;
        };
        levels[widest] += 1;
        classes = count_classes(engine, table, role, columns, &levels).await?;
    }
    let suppressed = choose_suppression(&mut classes, requirement.k);
    let report = summarize(
        columns,
        &levels,
        &classes,
        &suppressed,
        requirement,
        raw_unique_rows,
        raw_rows_below_k,
    );
    Ok(Anonymization {
        columns: columns.to_vec(),
        levels,
        suppressed,
        report,
    })
}

/// The column with the most distinct published values that can still be generalized.
fn widest_generalizable(
    columns: &[QuasiColumn],
    levels: &[u8],
    classes: &Classes,
) -> Option<usize> {
    (0..columns.len())
        .filter(|&i| levels[i] < columns[i].kind.top_level())
        .max_by_key(|&i| {
            let distinct: std::collections::BTreeSet<&String> =
                classes.iter().map(|(key, _)| &key[i]).collect();
            (distinct.len(), std::cmp::Reverse(i))
        })
}

/// Picks the classes to suppress: every class below k, plus the smallest others while the
/// suppressed rows together are fewer than k. Returns their keys, sorted.
fn choose_suppression(classes: &mut Classes, k: u64) -> Vec<Vec<String>> {
    classes.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut suppressed = Vec::new();
    let mut suppressed_rows = 0;
    for (key, n) in classes.iter() {
        let all_star = key.iter().all(|v| v == SUPPRESSED);
        if *n < k
            || (suppressed_rows > 0 && suppressed_rows < k)
            || (all_star && suppressed_rows > 0)
        {
            suppressed.push(key.clone());
            suppressed_rows += n;
        }
    }
    suppressed.sort();
    suppressed
}

fn summarize(
    columns: &[QuasiColumn],
    levels: &[u8],
    classes: &Classes,
    suppressed: &[Vec<String>],
    requirement: &Requirement,
    raw_unique_rows: u64,
    raw_rows_below_k: u64,
) -> AnonymityReport {
    let rows: u64 = classes.iter().map(|(_, n)| n).sum();
    let mut published: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for (key, n) in classes {
        let published_key = if suppressed.binary_search(key).is_ok() {
            vec![SUPPRESSED.to_string(); key.len()]
        } else {
            key.clone()
        };
        *published.entry(published_key).or_default() += n;
    }
    let star_cells: u64 = published
        .iter()
        .map(|(key, n)| key.iter().filter(|v| *v == SUPPRESSED).count() as u64 * n)
        .sum();
    let suppressed_rows: u64 = classes
        .iter()
        .filter(|(key, _)| suppressed.binary_search(key).is_ok())
        .map(|(_, n)| n)
        .sum();
    let total_cells = rows * columns.len() as u64;
    let published_columns = columns
        .iter()
        .enumerate()
        .map(|(i, column)| PublishedColumn {
            column: column.name.clone(),
            kind: column.kind,
            level: levels[i],
            published_as: column.kind.describe_level(levels[i]),
            distinct_values: published
                .keys()
                .map(|key| &key[i])
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        })
        .collect();
    AnonymityReport {
        k_required: requirement.k,
        k_achieved: published.values().copied().min().unwrap_or(0),
        rows,
        classes: published.len(),
        suppressed_rows,
        suppressed_cell_share: crate::findings::share(star_cells, total_cells),
        raw_unique_rows,
        raw_rows_below_k,
        columns: published_columns,
    }
}

fn generalized(column: &QuasiColumn, level: u8) -> String {
    format!(
        "{}({}, {}, {level})",
        GeneralizeUdf::NAME,
        ident(&column.source),
        literal(column.kind.name())
    )
}

async fn count_classes(
    engine: &Engine,
    table: &str,
    role: &str,
    columns: &[QuasiColumn],
    levels: &[u8],
) -> Result<Classes> {
    let keys: Vec<String> = (0..columns.len()).map(|i| format!("g{i}")).collect();
    let projected: Vec<String> = columns
        .iter()
        .zip(levels)
        .enumerate()
        .map(|(i, (c, l))| format!("{} AS g{i}", generalized(c, *l)))
        .collect();
    let sql = format!(
        "SELECT {keys}, CAST(count(*) AS BIGINT) AS n FROM (SELECT {projected} FROM {table}) GROUP BY {keys}",
        keys = keys.join(", "),
        projected = projected.join(", ")
    );
    let batches = engine.collect(&sql, role).await?;
    let mut classes = Vec::new();
    for batch in &batches {
        let key_columns: Vec<StringArray> = (0..columns.len())
            .map(|i| cast(batch.column(i), &DataType::Utf8).map(|a| a.as_string::<i32>().clone()))
            .collect::<std::result::Result<_, _>>()?;
        let counts = batch.column(columns.len()).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            let key = key_columns
                .iter()
                .map(|c| c.value(row).to_string())
                .collect();
            classes.push((key, counts.value(row) as u64));
        }
    }
    Ok(classes)
}

async fn raw_risk(
    engine: &Engine,
    table: &str,
    role: &str,
    columns: &[QuasiColumn],
    k: u64,
) -> Result<(u64, u64)> {
    let keys: Vec<String> = columns.iter().map(|c| ident(&c.source)).collect();
    let sql = format!(
        "SELECT CAST(COALESCE(sum(CASE WHEN n = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS unique_rows, \
         CAST(COALESCE(sum(CASE WHEN n < {k} THEN n ELSE 0 END), 0) AS BIGINT) AS rows_below_k \
         FROM (SELECT count(*) AS n FROM {table} GROUP BY {})",
        keys.join(", ")
    );
    let batches = engine.collect(&sql, role).await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .expect("a global aggregate returns one row");
    let value = |i: usize| batch.column(i).as_primitive::<Int64Type>().value(0).max(0) as u64;
    Ok((value(0), value(1)))
}

impl Anonymization {
    /// SQL selecting `keep` (expressions over the source table, aliased `b`) plus every
    /// quasi-identifier as published. Registers the suppression list it joins against.
    pub fn select_sql(&self, engine: &Engine, table: &str, keep: &[String]) -> Result<String> {
        let suppressed_table = format!("fm_suppressed_{table}");
        let mut fields: Vec<Field> = (0..self.columns.len())
            .map(|i| Field::new(format!("g{i}"), DataType::Utf8, false))
            .collect();
        fields.push(Field::new("hit", DataType::Boolean, false));
        let schema: DFSchemaRef = Arc::new(Schema::new(fields).try_into()?);
        // The list is part of the plan (a VALUES list, or an empty relation), not a table held
        // in this process, so that it travels with the plan to a cluster. It holds generalized
        // quasi-identifiers only.
        let plan = if self.suppressed.is_empty() {
            LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                schema,
            })
        } else {
            let rows: Vec<Vec<Expr>> = self
                .suppressed
                .iter()
                .map(|key| {
                    key.iter()
                        .map(|g| lit(g.as_str()))
                        .chain([lit(true)])
                        .collect()
                })
                .collect();
            // VALUES names its columns itself: renamed by position.
            let values = LogicalPlanBuilder::values_with_schema(rows, &schema)?.build()?;
            let renamed: Vec<Expr> = values
                .schema()
                .columns()
                .into_iter()
                .zip(schema.fields())
                .map(|(column, field)| Expr::Column(column).alias(field.name()))
                .collect();
            LogicalPlanBuilder::from(values).project(renamed)?.build()?
        };
        let list = DataFrame::new(engine.ctx.state(), plan);
        engine.ctx.deregister_table(suppressed_table.as_str())?;
        engine
            .ctx
            .register_table(suppressed_table.as_str(), list.into_view())?;

        let generalized_columns: Vec<String> = self
            .columns
            .iter()
            .zip(&self.levels)
            .enumerate()
            .map(|(i, (c, l))| format!("{} AS g{i}", generalized(c, *l)))
            .collect();
        let published: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "CASE WHEN s.hit IS NULL THEN b.g{i} ELSE {} END AS {}",
                    literal(SUPPRESSED),
                    ident(&c.name)
                )
            })
            .collect();
        let join: Vec<String> = (0..self.columns.len())
            .map(|i| format!("b.g{i} = s.g{i}"))
            .collect();
        let mut select = keep.to_vec();
        select.extend(published);
        Ok(format!(
            "SELECT {} FROM (SELECT *, {} FROM {table}) b LEFT JOIN {suppressed_table} s ON {}",
            select.join(", "),
            generalized_columns.join(", "),
            join.join(" AND ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(sizes: &[(&str, u64)]) -> Classes {
        sizes
            .iter()
            .map(|(k, n)| (vec![k.to_string()], *n))
            .collect()
    }

    #[test]
    fn suppression_takes_small_classes_and_tops_them_up_to_k() {
        let mut c = classes(&[("a", 2), ("b", 30), ("c", 12), ("d", 1)]);
        let suppressed = choose_suppression(&mut c, 10);
        // a and d hold 3 rows, fewer than k, so the smallest compliant class (c) joins them.
        assert_eq!(
            suppressed,
            vec![
                vec!["a".to_string()],
                vec!["c".to_string()],
                vec!["d".to_string()]
            ]
        );
    }

    #[test]
    fn nothing_is_suppressed_when_every_class_reaches_k() {
        let mut c = classes(&[("a", 10), ("b", 11)]);
        assert!(choose_suppression(&mut c, 10).is_empty());
    }

    #[test]
    fn the_published_minimum_class_is_reported_as_achieved_k() {
        let columns = [QuasiColumn {
            name: "city".into(),
            source: "qi_city".into(),
            kind: QuasiKind::City,
        }];
        let mut c = classes(&[("east", 2), ("north", 30), ("south", 12), ("west", 1)]);
        let suppressed = choose_suppression(&mut c, 10);
        let requirement = Requirement {
            k: 10,
            max_suppression: 0.05,
            initial_levels: BTreeMap::new(),
        };
        let report = summarize(&columns, &[1], &c, &suppressed, &requirement, 0, 0);
        assert_eq!(report.k_achieved, 15);
        assert_eq!(report.suppressed_rows, 15);
        assert_eq!(report.classes, 2);
    }

    proptest::proptest! {
        #[test]
        fn every_published_class_reaches_k_unless_there_are_fewer_than_k_rows(
            sizes in proptest::collection::vec(1u64..40, 1..30),
            k in 2u64..15,
        ) {
            let columns = [QuasiColumn { name: "q".into(), source: "q".into(), kind: QuasiKind::Other }];
            let mut c: Classes = sizes.iter().enumerate().map(|(i, n)| (vec![format!("v{i}")], *n)).collect();
            let suppressed = choose_suppression(&mut c, k);
            let requirement = Requirement { k, max_suppression: 0.0, initial_levels: BTreeMap::new() };
            let report = summarize(&columns, &[0], &c, &suppressed, &requirement, 0, 0);
            let rows: u64 = sizes.iter().sum();
            proptest::prop_assert_eq!(report.rows, rows);
            if rows >= k {
                proptest::prop_assert!(report.k_achieved >= k, "achieved {} < {}", report.k_achieved, k);
            } else {
                proptest::prop_assert_eq!(report.k_achieved, rows);
            }
        }
    }
}
