//! The company's pricing-rules file: each rule a SQL condition (`when`), an adjustment, an
//! optional SKU/category scope and whether the price is disclosed as a labelled offer.
//!
//! Conditions are parsed with DataFusion's SQL parser and later evaluated by DataFusion itself.
//! Every attribute a condition names is located (file:line:column) so that findings and parse
//! errors point at the exact spot, in the terminal and in SARIF.

use std::collections::BTreeSet;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, UnaryOperator,
    Value,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use serde::Deserialize;

use crate::error::{Error, Result};

/// A position in the rules file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

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
        parsed.ok_or_else(|| format!("adjust = \"{trimmed}\" is not one of \"+8%\", \"-5%\", \"-10\" (per unit) or \"=99.00\""))
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
    /// Equality, ranges, functions: could select either.
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
    pub when: String,
    pub adjust: Adjustment,
    pub scope: Scope,
    pub disclosed: bool,
    /// Where the `when` text starts.
    pub position: Position,
    pub uses: Vec<AttributeUse>,
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
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.chars().rev().take_while(|c| *c != '\n').count() as u64 + 1;
    Position { line, column }
}

impl RulesFile {
    /// Parses rules text; `path` names it in messages; every attribute must be in `known`
    /// (lower case).
    pub fn parse(text: &str, path: &str, known: &BTreeSet<String>) -> Result<RulesFile> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| position_at(text, s.start))
                .map(|p| format!(":{}:{}", p.line, p.column))
                .unwrap_or_default();
            Error::config(format!("{path}{at}"), e.message().replace('\n', " "))
        })?;
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
            if !seen.insert(raw_rule.id.clone()) {
                return Err(Error::config(
                    at(position),
                    format!(
                        "rule id `{}` is used twice; ids must be unique",
                        raw_rule.id
                    ),
                ));
            }
            let adjust = Adjustment::parse(raw_rule.adjust.get_ref()).map_err(|m| {
                Error::config(
                    at(position_at(text, raw_rule.adjust.span().start + 1)),
                    format!("rule `{}`: {m}", raw_rule.id),
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
            let expr = Parser::new(&GenericDialect {})
                .try_with_sql(&when)
                .and_then(|mut parser| parser.parse_expr())
                .map_err(|e| {
                    Error::config(
                        at(position),
                        format!(
                            "rule `{}`: `when` is not a SQL condition: {}",
                            raw_rule.id,
                            e.to_string().replace('\n', " ")
                        ),
                    )
                })?;
            let mut uses = Vec::new();
            collect_uses(&expr, false, &mut uses).map_err(|(message, p)| {
                Error::config(at(in_file(p)), format!("rule `{}`: {message}", raw_rule.id))
            })?;
            for used in &mut uses {
                used.position = in_file(used.position);
                if !known.contains(&used.attribute) {
                    let names: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(Error::config(
                        at(used.position),
                        format!(
                            "rule `{}`: unknown attribute `{}`; known attributes: {}",
                            raw_rule.id,
                            used.attribute,
                            names.join(", ")
                        ),
                    ));
                }
            }
            rules.push(Rule {
                id: raw_rule.id,
                description: raw_rule.description,
                when,
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

type WalkError = (String, Position);

fn ident_position(ident: &Ident) -> Position {
    Position {
        line: ident.span.start.line,
        column: ident.span.start.column,
    }
}

fn use_of(ident: &Ident, direction: Direction) -> AttributeUse {
    AttributeUse {
        attribute: ident.value.to_lowercase(),
        position: ident_position(ident),
        direction,
    }
}

fn column_of(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Identifier(ident) => Some(ident),
        Expr::Nested(inner) => column_of(inner),
        _ => None,
    }
}

fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Value(_) => true,
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => is_literal(expr),
        Expr::Nested(inner) => is_literal(inner),
        _ => false,
    }
}

fn literal_bool(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => Some(*b),
            _ => None,
        },
        Expr::Nested(inner) => literal_bool(inner),
        _ => None,
    }
}

/// Which way `attribute <op> literal` points, `negated` being the number of NOTs above it (odd).
fn direction_of(attribute: &str, op: &BinaryOperator, literal: &Expr, negated: bool) -> Direction {
    let attribute = attribute.to_lowercase();
    let flip = |d: Direction| match (d, negated) {
        (Direction::Old, true) => Direction::New,
        (Direction::New, true) => Direction::Old,
        (d, _) => d,
    };
    if GROWS_WITH_LOYALTY.contains(&attribute.as_str()) {
        return flip(match op {
            BinaryOperator::Gt | BinaryOperator::GtEq => Direction::Old,
            BinaryOperator::Lt | BinaryOperator::LtEq => Direction::New,
            _ => Direction::Unknown,
        });
    }
    if TRUE_WHEN_NEW.contains(&attribute.as_str()) {
        let selects_new = match (op, literal_bool(literal)) {
            (BinaryOperator::Eq, Some(b)) => Some(b),
            (BinaryOperator::NotEq, Some(b)) => Some(!b),
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

fn mirrored(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        other => other.clone(),
    }
}

fn bare_boolean(ident: &Ident, selects_true: bool) -> AttributeUse {
    let attribute = ident.value.to_lowercase();
    let direction = if TRUE_WHEN_NEW.contains(&attribute.as_str()) {
        if selects_true {
            Direction::New
        } else {
            Direction::Old
        }
    } else {
        Direction::Unknown
    };
    use_of(ident, direction)
}

/// Collects every attribute `expr` uses, with its direction where the shape of the condition
/// tells it (NOTs pushed down: `NOT is_new` selects old customers).
fn collect_uses(
    expr: &Expr,
    negated: bool,
    out: &mut Vec<AttributeUse>,
) -> std::result::Result<(), WalkError> {
    match expr {
        Expr::Identifier(ident) => out.push(bare_boolean(ident, !negated)),
        Expr::CompoundIdentifier(parts) => {
            let last = parts.last().expect("a compound identifier has parts");
            return Err((
                "qualified names are not supported; name the attribute alone".to_string(),
                ident_position(last),
            ));
        }
        Expr::Value(_) => {}
        Expr::Nested(inner) => collect_uses(inner, negated, out)?,
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => collect_uses(expr, !negated, out)?,
        Expr::UnaryOp { expr, .. } => collect_uses(expr, negated, out)?,
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And | BinaryOperator::Or,
            right,
        } => {
            collect_uses(left, negated, out)?;
            collect_uses(right, negated, out)?;
        }
        Expr::BinaryOp { left, op, right } => match (column_of(left), column_of(right)) {
            (Some(ident), None) if is_literal(right) => out.push(use_of(
                ident,
                direction_of(&ident.value, op, right, negated),
            )),
            (None, Some(ident)) if is_literal(left) => out.push(use_of(
                ident,
                direction_of(&ident.value, &mirrored(op), left, negated),
            )),
            _ => {
                collect_unknown(left, out)?;
                collect_unknown(right, out)?;
            }
        },
        Expr::IsTrue(inner) | Expr::IsNotFalse(inner) => match column_of(inner) {
            Some(ident) => out.push(bare_boolean(ident, !negated)),
            None => collect_unknown(inner, out)?,
        },
        Expr::IsFalse(inner) | Expr::IsNotTrue(inner) => match column_of(inner) {
            Some(ident) => out.push(bare_boolean(ident, negated)),
            None => collect_unknown(inner, out)?,
        },
        _ => collect_unknown(expr, out)?,
    }
    Ok(())
}

/// Collects the attributes of a sub-expression whose direction cannot be read off its shape.
fn collect_unknown(expr: &Expr, out: &mut Vec<AttributeUse>) -> std::result::Result<(), WalkError> {
    let mut recurse = |e: &Expr| collect_unknown(e, out);
    match expr {
        Expr::Identifier(ident) => {
            out.push(use_of(ident, Direction::Unknown));
            Ok(())
        }
        Expr::Value(_) => Ok(()),
        Expr::Nested(e)
        | Expr::UnaryOp { expr: e, .. }
        | Expr::IsNull(e)
        | Expr::IsNotNull(e)
        | Expr::IsTrue(e)
        | Expr::IsFalse(e)
        | Expr::IsNotTrue(e)
        | Expr::IsNotFalse(e) => recurse(e),
        Expr::Cast { expr, .. } => recurse(expr),
        Expr::BinaryOp { left, right, .. } => {
            recurse(left)?;
            recurse(right)
        }
        Expr::InList { expr, list, .. } => {
            recurse(expr)?;
            list.iter().try_for_each(recurse)
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            recurse(expr)?;
            recurse(low)?;
            recurse(high)
        }
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            recurse(expr)?;
            recurse(pattern)
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                recurse(o)?;
            }
            for case in conditions {
                recurse(&case.condition)?;
                recurse(&case.result)?;
            }
            else_result.as_deref().map_or(Ok(()), recurse)
        }
        Expr::Function(function) => match &function.args {
            FunctionArguments::List(list) => list.args.iter().try_for_each(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => recurse(e),
                _ => Ok(()),
            }),
            _ => Ok(()),
        },
        other => {
            use datafusion::sql::sqlparser::ast::Spanned;
            let start = other.span().start;
            Err(("unsupported construct in `when`; use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS [NOT] NULL, CASE and function calls".to_string(), Position { line: start.line, column: start.column }))
        }
    }
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
