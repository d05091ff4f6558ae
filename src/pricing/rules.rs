//! The company's pricing-rules file: each rule a SQL condition (`when`), an adjustment, an
//! optional SKU/category scope and whether the price is disclosed as a labelled offer.
//!
//! Conditions are parsed once into a [`Condition`]; the static checks read that tree and the
//! simulation runs the SQL printed from it. Every attribute a condition names is located
//! (file:line:column) so that findings and parse errors point at the exact spot, in the terminal
//! and in SARIF.

use std::collections::BTreeSet;

use serde::Deserialize;

pub use super::condition::Position;
use super::condition::{BinaryOp, Condition, Literal};
use crate::config_errors::{line_and_column, quoted_or, toml_error};
use crate::error::{Error, Result};

/// How a rule changes the price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjustment {
    /// `+8%`, `-5%`
    Percent(f64),
    /// `-10`, `+3.5` per unit
    Absolute(f64),
    /// `=99.00`
    Fixed(f64),
}

impl Adjustment {
    pub fn parse(text: &str) -> std::result::Result<Adjustment, String> {
        let trimmed = text.trim();
        let number = |t: &str| t.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let parsed = if let Some(rest) = trimmed.strip_prefix('=') {
            number(rest).map(Adjustment::Fixed)
        } else if let Some(rest) = trimmed.strip_suffix('%') {
            number(rest)
                .filter(|_| trimmed.starts_with(['+', '-']))
                .map(|p| Adjustment::Percent(p / 100.0))
        } else {
            number(trimmed)
                .filter(|_| trimmed.starts_with(['+', '-']))
                .map(Adjustment::Absolute)
        };
        parsed.ok_or_else(|| {
            "`adjust` is not one of \"+8%\", \"-5%\", \"-10\" (per unit) or \"=99.00\"".to_string()
        })
    }

    /// Whether the rule raises the price: `Some(true)` up, `Some(false)` down, `None` for a
    /// fixed price, which may go either way.
    pub fn raises(self) -> Option<bool> {
        match self {
            Adjustment::Percent(p) | Adjustment::Absolute(p) => Some(p > 0.0),
            Adjustment::Fixed(_) => None,
        }
    }

    /// The SQL expression of `price` after this adjustment where `applies` holds. `price`
    /// appears once, so that chaining many rules grows the expression linearly.
    pub fn apply_sql(self, price: &str, applies: &str) -> String {
        match self {
            Adjustment::Percent(p) => format!(
                "({price}) * CASE WHEN {applies} THEN {} ELSE 1.0 END",
                1.0 + p
            ),
            Adjustment::Absolute(a) => {
                format!("greatest(({price}) + CASE WHEN {applies} THEN {a} ELSE 0.0 END, 0.0)")
            }
            Adjustment::Fixed(v) => {
                format!("CASE WHEN {applies} THEN CAST({v} AS DOUBLE) ELSE ({price}) END")
            }
        }
    }

    pub fn describe(self) -> String {
        match self {
            Adjustment::Percent(p) => format!("{:+}%", (p * 10_000.0).round() / 100.0),
            Adjustment::Absolute(a) => format!("{a:+} per unit"),
            Adjustment::Fixed(v) => format!("fixed price {v}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scope {
    pub sku: Vec<String>,
    pub category: Vec<String>,
}

/// Which way a condition on a loyalty attribute points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Selects long-standing customers (`tenure_days > 365`, `NOT is_new`).
    Old,
    /// Selects new customers (`is_new`, `tenure_days < 30`).
    New,
    /// Equality, ranges, functions, arithmetic: could select either, so every check treats it as
    /// possibly selecting the cohort it guards (fail closed).
    Unknown,
}

/// One attribute a condition uses, where, and which way it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeUse {
    pub attribute: String,
    pub position: Position,
    pub direction: Direction,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    /// As the author wrote it, for messages.
    pub when: String,
    /// What the analysis read and what the simulation runs (via [`Condition::to_sql`]).
    pub condition: Condition,
    pub adjust: Adjustment,
    pub scope: Scope,
    pub disclosed: bool,
    /// Where the `when` text starts.
    pub position: Position,
    pub uses: Vec<AttributeUse>,
}

impl Rule {
    /// The SQL of `price` after this rule, where `outcome` (the condition's outcome, as SQL)
    /// holds within the rule's scope.
    pub fn adjusted_sql(&self, price: &str, outcome: String) -> String {
        let listed = |column: &str, values: &[String]| {
            let values: Vec<String> = values.iter().map(|v| crate::engine::literal(v)).collect();
            format!("{column} IN ({})", values.join(", "))
        };
        let mut applies = vec![outcome];
        if !self.scope.sku.is_empty() {
            applies.push(listed("sku", &self.scope.sku));
        }
        if !self.scope.category.is_empty() {
            applies.push(listed("category", &self.scope.category));
        }
        self.adjust
            .apply_sql(price, &format!("({})", applies.join(" AND ")))
    }
}

#[derive(Debug, Clone)]
pub struct RulesFile {
    /// As the user named it (relative to the config file), for messages and SARIF.
    pub path: String,
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    description: String,
    when: toml::Spanned<String>,
    adjust: toml::Spanned<String>,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    disclosed: bool,
}

/// Attributes whose larger values mean a longer or richer relationship.
const GROWS_WITH_LOYALTY: &[&str] = &["tenure_days", "order_count", "total_spend"];
/// Boolean attributes that are true for new customers.
const TRUE_WHEN_NEW: &[&str] = &["is_new"];

fn position_at(text: &str, offset: usize) -> Position {
    let (line, column) = line_and_column(text, offset);
    Position {
        line: line as u64,
        column: column as u64,
    }
}

impl RulesFile {
    /// The SQL of the price every rule, in file order, makes of `base_price` for a row holding
    /// the attributes, `sku` and `category`. A condition that is NULL (an attribute missing)
    /// does not apply. Printed from the analysed trees, as the simulation's is.
    pub fn price_sql(&self, base_price: &str) -> String {
        self.rules
            .iter()
            .fold(base_price.to_string(), |price, rule| {
                rule.adjusted_sql(
                    &price,
                    format!("COALESCE({}, false)", rule.condition.to_sql()),
                )
            })
    }

    /// Whether some rule's condition names one of `attributes` (in any case).
    pub fn names_any(&self, attributes: &[&str]) -> bool {
        self.rules.iter().any(|rule| {
            rule.condition.attributes().iter().any(|(name, _)| {
                attributes
                    .iter()
                    .any(|attribute| attribute.eq_ignore_ascii_case(name))
            })
        })
    }

    /// Parses rules text; `path` names it in messages; every attribute must be in `known`
    /// (lower case).
    pub fn parse(text: &str, path: &str, known: &BTreeSet<String>) -> Result<RulesFile> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let mut rules = Vec::new();
        let mut seen = BTreeSet::new();
        for raw_rule in raw.rule {
            let when_start = raw_rule.when.span().start;
            // The expression starts after the opening quote (three for multi-line strings).
            let quote = if text[when_start..].starts_with("\"\"\"")
                || text[when_start..].starts_with("'''")
            {
                3
            } else {
                1
            };
            let position = position_at(text, when_start + quote);
            let at = |p: Position| format!("{path}:{}:{}", p.line, p.column);
            // Ids are the author's names, shown unless they read as something pasted in.
            let rule = format!("rule {}", quoted_or(&raw_rule.id, "(id not shown)"));
            if !seen.insert(raw_rule.id.clone()) {
                return Err(Error::config(
                    at(position),
                    format!("{rule}: the id is used twice; ids must be unique"),
                ));
            }
            let adjust = Adjustment::parse(raw_rule.adjust.get_ref()).map_err(|m| {
                Error::config(
                    at(position_at(text, raw_rule.adjust.span().start + 1)),
                    format!("{rule}: {m}"),
                )
            })?;
            let when = raw_rule.when.into_inner();
            let in_file = |p: Position| {
                if p.line <= 1 {
                    Position {
                        line: position.line,
                        column: position.column + p.column.saturating_sub(1),
                    }
                } else {
                    Position {
                        line: position.line + p.line - 1,
                        column: p.column,
                    }
                }
            };
            let condition = Condition::parse(&when).map_err(|e| {
                Error::config(
                    at(in_file(e.position)),
                    format!("{rule}: `when`: {}", e.message),
                )
            })?;
            let mut uses = Vec::new();
            collect_uses(&condition, false, &mut uses);
            for used in &mut uses {
                used.position = in_file(used.position);
                if !known.contains(&used.attribute) {
                    let names: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(Error::config(
                        at(used.position),
                        format!(
                            "{rule}: unknown attribute {}; known attributes: {}",
                            quoted_or(&used.attribute, "(name not shown)"),
                            names.join(", ")
                        ),
                    ));
                }
            }
            rules.push(Rule {
                id: raw_rule.id,
                description: raw_rule.description,
                when,
                condition,
                adjust,
                scope: raw_rule.scope,
                disclosed: raw_rule.disclosed,
                position,
                uses,
            });
        }
        Ok(RulesFile {
            path: path.to_string(),
            rules,
        })
    }
}

fn use_of(name: &str, position: Position, direction: Direction) -> AttributeUse {
    AttributeUse {
        attribute: name.to_string(),
        position,
        direction,
    }
}

/// Which way `attribute <op> constant` points, `negated` telling whether an odd number of NOTs
/// sits above it.
fn direction_of(attribute: &str, op: BinaryOp, constant: &Condition, negated: bool) -> Direction {
    let flip = |d: Direction| match (d, negated) {
        (Direction::Old, true) => Direction::New,
        (Direction::New, true) => Direction::Old,
        (d, _) => d,
    };
    if GROWS_WITH_LOYALTY.contains(&attribute) {
        return flip(match op {
            BinaryOp::Gt | BinaryOp::GtEq => Direction::Old,
            BinaryOp::Lt | BinaryOp::LtEq => Direction::New,
            _ => Direction::Unknown,
        });
    }
    if TRUE_WHEN_NEW.contains(&attribute) {
        let selects_new = match (op, constant.literal()) {
            (BinaryOp::Eq, Some(Literal::Boolean(b))) => Some(*b),
            (BinaryOp::NotEq, Some(Literal::Boolean(b))) => Some(!b),
            _ => None,
        };
        return flip(match selects_new {
            Some(true) => Direction::New,
            Some(false) => Direction::Old,
            None => Direction::Unknown,
        });
    }
    Direction::Unknown
}

/// A boolean attribute used bare (`is_new`, `NOT is_new`, `is_new IS TRUE`).
fn bare_boolean(name: &str, position: Position, selects_true: bool) -> AttributeUse {
    let direction = match (TRUE_WHEN_NEW.contains(&name), selects_true) {
        (true, true) => Direction::New,
        (true, false) => Direction::Old,
        (false, _) => Direction::Unknown,
    };
    use_of(name, position, direction)
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq
    )
}

/// Collects every attribute the condition uses, with its direction where the shape tells it
/// (NOTs pushed down: `NOT is_new` selects old customers); everything else is
/// [`Direction::Unknown`].
fn collect_uses(condition: &Condition, negated: bool, out: &mut Vec<AttributeUse>) {
    match condition {
        Condition::Attribute { name, position } => {
            out.push(bare_boolean(name, *position, !negated))
        }
        Condition::Not(inner) => collect_uses(inner, !negated, out),
        Condition::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            left,
            right,
        } => {
            collect_uses(left, negated, out);
            collect_uses(right, negated, out);
        }
        Condition::Binary { op, left, right } if is_comparison(*op) => match (&**left, &**right) {
            (Condition::Attribute { name, position }, constant) if constant.is_constant() => out
                .push(use_of(
                    name,
                    *position,
                    direction_of(name, *op, constant, negated),
                )),
            (constant, Condition::Attribute { name, position }) if constant.is_constant() => out
                .push(use_of(
                    name,
                    *position,
                    direction_of(name, op.mirrored(), constant, negated),
                )),
            _ => collect_unknown(condition, out),
        },
        Condition::IsBoolean {
            expr,
            value,
            negated: is_not,
        } => match &**expr {
            // `x IS TRUE` and `x IS NOT FALSE` select the rows where x is true.
            Condition::Attribute { name, position } => out.push(bare_boolean(
                name,
                *position,
                (*value != *is_not) != negated,
            )),
            _ => collect_unknown(condition, out),
        },
        _ => collect_unknown(condition, out),
    }
}

/// The attributes of a sub-expression whose direction cannot be read off its shape.
fn collect_unknown(condition: &Condition, out: &mut Vec<AttributeUse>) {
    out.extend(
        condition
            .attributes()
            .into_iter()
            .map(|(name, position)| use_of(name, position, Direction::Unknown)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        [
            "tenure_days",
            "is_new",
            "price_sensitivity",
            "channel",
            "device_os",
            "gender",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    const RULES: &str = r#"
[[rule]]
id = "loyal-uplift"
when = "tenure_days > 365 AND price_sensitivity < 0.3"
adjust = "+8%"
scope = { category = ["electronics"] }

[[rule]]
id = "welcome"
when = "NOT (NOT is_new)"
adjust = "-10%"
"#;

    #[test]
    fn rules_parse_with_positions_and_directions() {
        let file = RulesFile::parse(RULES, "rules.toml", &known()).unwrap();
        let uplift = &file.rules[0];
        assert_eq!(uplift.position, Position { line: 4, column: 9 });
        assert_eq!(uplift.uses[0].attribute, "tenure_days");
        assert_eq!(uplift.uses[0].direction, Direction::Old);
        assert_eq!(
            uplift.uses[1].position,
            Position {
                line: 4,
                column: 31
            }
        );
        assert_eq!(uplift.adjust, Adjustment::Percent(0.08));
        assert_eq!(file.rules[1].uses[0].direction, Direction::New);
    }

    #[test]
    fn negations_flip_directions() {
        let text = "[[rule]]\nid = \"a\"\nwhen = \"NOT is_new AND NOT (tenure_days < 30)\"\nadjust = \"+1%\"\n";
        let file = RulesFile::parse(text, "r.toml", &known()).unwrap();
        let directions: Vec<Direction> = file.rules[0].uses.iter().map(|u| u.direction).collect();
        assert_eq!(directions, [Direction::Old, Direction::Old]);
        let text = "[[rule]]\nid = \"b\"\nwhen = \"365 < tenure_days\"\nadjust = \"+1%\"\n";
        assert_eq!(
            RulesFile::parse(text, "r.toml", &known()).unwrap().rules[0].uses[0].direction,
            Direction::Old
        );
    }

    #[test]
    fn unknown_attributes_and_bad_sql_point_at_file_line_and_column() {
        let text = "[[rule]]\nid = \"a\"\nwhen = \"channel = 'app' AND vip_level > 2\"\nadjust = \"-1%\"\n";
        let message = RulesFile::parse(text, "r.toml", &known())
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("r.toml:3:29:") && message.contains("vip_level"),
            "{message}"
        );
        let text = "[[rule]]\nid = \"a\"\nwhen = \"channel = = 'app'\"\nadjust = \"-1%\"\n";
        let message = RulesFile::parse(text, "r.toml", &known())
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("r.toml:3:9:") && message.contains("not a SQL condition"),
            "{message}"
        );
        let text = "[[rule]]\nid = \"a\"\nwhen = \"is_new\"\nadjust = \"8%\"\n";
        let message = RulesFile::parse(text, "r.toml", &known())
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("r.toml:4:11:"), "{message}");
    }

    #[test]
    fn adjustments_parse_and_apply() {
        assert_eq!(Adjustment::parse("-10"), Ok(Adjustment::Absolute(-10.0)));
        assert_eq!(Adjustment::parse("=99.00"), Ok(Adjustment::Fixed(99.0)));
        assert!(Adjustment::parse("8%").is_err() && Adjustment::parse("+x%").is_err());
        assert_eq!(Adjustment::Percent(-0.05).raises(), Some(false));
        assert_eq!(Adjustment::Fixed(1.0).raises(), None);
    }
}
