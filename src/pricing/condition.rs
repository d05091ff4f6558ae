//! A pricing rule's `when` condition as fairmark understands it: a small, closed expression
//! language, parsed once into [`Condition`]. The static checks analyse that tree, and every SQL
//! fragment the simulation runs is printed from the same tree by [`Condition::to_sql`], never
//! pasted from the rule author's text: what is analysed is what runs.
//!
//! The author's text is tokenized and parsed with DataFusion's SQL parser, then converted node by
//! node; anything outside the grammar below is refused with its position, so a condition cannot
//! smuggle in a second clause (`channel = 'app') OR (tenure_days > 365`), a comment that hides
//! code, a second statement, a subquery or an arbitrary function.
//!
//! Grammar: attribute names; number, string, boolean and NULL literals; `AND`, `OR`, `NOT`;
//! `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`; `+`, `-`, `*`, `/`, `%`, `||`; `IS [NOT] NULL`,
//! `IS [NOT] TRUE|FALSE`; `[NOT] IN (list)`; `[NOT] BETWEEN`; `[NOT] LIKE|ILIKE`; `CASE`;
//! `CAST(x AS BIGINT|DOUBLE|VARCHAR|BOOLEAN)` (and `x::type`); and the functions in
//! [`Function`].

use std::fmt::Write as _;

use datafusion::sql::sqlparser::ast::{
    self, BinaryOperator, CastKind, CeilFloorKind, DateTimeField, Expr, FunctionArg,
    FunctionArgExpr, FunctionArguments, ObjectNamePart, Spanned, UnaryOperator, Value,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer, Whitespace};

use crate::config_errors::quoted_or;

/// A position inside the condition text (1-based line and column).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl From<Location> for Position {
    fn from(location: Location) -> Self {
        Position {
            line: location.line,
            column: location.column,
        }
    }
}

/// Why a condition was refused, and where in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub message: String,
    pub position: Position,
}

impl ConditionError {
    fn at(position: impl Into<Position>, message: impl Into<String>) -> Self {
        ConditionError {
            message: message.into(),
            position: position.into(),
        }
    }
}

type Parsed<T> = std::result::Result<T, ConditionError>;

/// The most tokens a condition may have (found by fuzzing: thousands of `AND`s overflowed the
/// stack while converting).
const MAX_TOKENS: usize = 256;
/// The deepest a condition may nest: its printed SQL, wrapped by the simulation, must stay within
/// the SQL parser's limit of 50 levels (found by fuzzing: `1+1+…+1` fifty times).
const MAX_DEPTH: usize = 24;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// As written (digits, `.`, exponent): printed back unchanged.
    Number(String),
    Text(String),
    Boolean(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    And,
    Or,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
    Concat,
}

impl BinaryOp {
    fn sql(self) -> &'static str {
        match self {
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Plus => "+",
            BinaryOp::Minus => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulo => "%",
            BinaryOp::Concat => "||",
        }
    }

    /// The comparison with its operands swapped: `365 < x` is `x > 365`.
    pub fn mirrored(self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            other => other,
        }
    }

    fn from_sql(op: &BinaryOperator) -> Option<BinaryOp> {
        Some(match op {
            BinaryOperator::And => BinaryOp::And,
            BinaryOperator::Or => BinaryOp::Or,
            BinaryOperator::Eq => BinaryOp::Eq,
            BinaryOperator::NotEq => BinaryOp::NotEq,
            BinaryOperator::Lt => BinaryOp::Lt,
            BinaryOperator::LtEq => BinaryOp::LtEq,
            BinaryOperator::Gt => BinaryOp::Gt,
            BinaryOperator::GtEq => BinaryOp::GtEq,
            BinaryOperator::Plus => BinaryOp::Plus,
            BinaryOperator::Minus => BinaryOp::Minus,
            BinaryOperator::Multiply => BinaryOp::Multiply,
            BinaryOperator::Divide => BinaryOp::Divide,
            BinaryOperator::Modulo => BinaryOp::Modulo,
            BinaryOperator::StringConcat => BinaryOp::Concat,
            _ => return None,
        })
    }
}

/// The types a condition may cast to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastType {
    Integer,
    Double,
    Text,
    Boolean,
}

impl CastType {
    fn sql(self) -> &'static str {
        match self {
            CastType::Integer => "BIGINT",
            CastType::Double => "DOUBLE",
            CastType::Text => "VARCHAR",
            CastType::Boolean => "BOOLEAN",
        }
    }

    fn from_sql(data_type: &ast::DataType) -> Option<CastType> {
        use ast::DataType as T;
        Some(match data_type {
            T::Int(None) | T::Integer(None) | T::BigInt(None) | T::Int64 => CastType::Integer,
            T::Double(ast::ExactNumberInfo::None)
            | T::Float(ast::ExactNumberInfo::None)
            | T::Float64
            | T::Real => CastType::Double,
            T::Varchar(None) | T::Text | T::String(None) => CastType::Text,
            T::Boolean | T::Bool => CastType::Boolean,
            _ => return None,
        })
    }
}

/// The functions a condition may call: deterministic, row-local and free of side effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Lower,
    Upper,
    Trim,
    Length,
    Substr,
    Coalesce,
    Nullif,
    Abs,
    Round,
    Floor,
    Ceil,
    Least,
    Greatest,
}

impl Function {
    pub const ALL: [Function; 13] = [
        Function::Lower,
        Function::Upper,
        Function::Trim,
        Function::Length,
        Function::Substr,
        Function::Coalesce,
        Function::Nullif,
        Function::Abs,
        Function::Round,
        Function::Floor,
        Function::Ceil,
        Function::Least,
        Function::Greatest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Lower => "lower",
            Function::Upper => "upper",
            Function::Trim => "trim",
            Function::Length => "length",
            Function::Substr => "substr",
            Function::Coalesce => "coalesce",
            Function::Nullif => "nullif",
            Function::Abs => "abs",
            Function::Round => "round",
            Function::Floor => "floor",
            Function::Ceil => "ceil",
            Function::Least => "least",
            Function::Greatest => "greatest",
        }
    }

    /// How many arguments it takes: (at least, at most).
    fn arity(self) -> (usize, usize) {
        match self {
            Function::Lower
            | Function::Upper
            | Function::Trim
            | Function::Length
            | Function::Abs
            | Function::Floor
            | Function::Ceil => (1, 1),
            Function::Round => (1, 2),
            Function::Substr => (2, 3),
            Function::Nullif => (2, 2),
            Function::Coalesce | Function::Least | Function::Greatest => (1, 16),
        }
    }

    fn named(name: &str) -> Option<Function> {
        let name = name.to_lowercase();
        let name = match name.as_str() {
            "char_length" | "character_length" => "length",
            "substring" => "substr",
            "ceiling" => "ceil",
            other => other,
        };
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    fn allowed_list() -> String {
        Function::ALL.map(Function::name).join(", ")
    }
}

/// A parsed condition. Attribute names are lower case, as SQL folds unquoted names and as
/// fairmark's feature tables name their columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Attribute {
        name: String,
        position: Position,
    },
    Literal(Literal),
    Not(Box<Condition>),
    Negate(Box<Condition>),
    Binary {
        op: BinaryOp,
        left: Box<Condition>,
        right: Box<Condition>,
    },
    IsNull {
        expr: Box<Condition>,
        negated: bool,
    },
    /// `IS TRUE` (`value` true), `IS FALSE`, and their negations.
    IsBoolean {
        expr: Box<Condition>,
        value: bool,
        negated: bool,
    },
    InList {
        expr: Box<Condition>,
        list: Vec<Condition>,
        negated: bool,
    },
    Between {
        expr: Box<Condition>,
        low: Box<Condition>,
        high: Box<Condition>,
        negated: bool,
    },
    Like {
        expr: Box<Condition>,
        pattern: Box<Condition>,
        negated: bool,
        case_insensitive: bool,
    },
    Case {
        operand: Option<Box<Condition>>,
        branches: Vec<(Condition, Condition)>,
        otherwise: Option<Box<Condition>>,
    },
    Cast {
        expr: Box<Condition>,
        to: CastType,
    },
    Call {
        function: Function,
        args: Vec<Condition>,
    },
}

impl Condition {
    /// Parses a whole condition: the text must be exactly one expression of the grammar, with
    /// no comment and no `;`.
    pub fn parse(text: &str) -> Parsed<Condition> {
        let dialect = GenericDialect {};
        let tokens = Tokenizer::new(&dialect, text)
            .tokenize_with_location()
            .map_err(|e| {
                ConditionError::at(e.location, format!("not a SQL condition: {}", e.message))
            })?;
        for token in &tokens {
            match &token.token {
                Token::Whitespace(
                    Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
                ) => {
                    return Err(ConditionError::at(
                        token.span.start,
                        "comments are not allowed in a condition (they can hide what runs)",
                    ));
                }
                Token::SemiColon => {
                    return Err(ConditionError::at(
                        token.span.start,
                        "`;` is not allowed: a condition is one expression",
                    ));
                }
                _ => {}
            }
        }
        // Bounds that keep conversion (recursive) off the stack's edge and the printed SQL,
        // one parenthesis per node, within the SQL parser's nesting limit of 50.
        let significant = tokens
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
            .count();
        if significant > MAX_TOKENS {
            return Err(ConditionError::at(
                Position { line: 1, column: 1 },
                format!(
                    "the condition has {significant} tokens; at most {MAX_TOKENS} are allowed (split it into several rules)"
                ),
            ));
        }
        if significant == 0 {
            return Err(ConditionError::at(
                Position { line: 1, column: 1 },
                "the condition is empty",
            ));
        }
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
        let expr = parser.parse_expr().map_err(|e| {
            ConditionError::at(
                Position { line: 1, column: 1 },
                format!("not a SQL condition: {}", without_found(&e.to_string())),
            )
        })?;
        let next = parser.peek_token();
        if next.token != Token::EOF {
            return Err(ConditionError::at(
                next.span.start,
                "unexpected text after the end of the condition (unbalanced parentheses?)",
            ));
        }
        let condition = convert(&expr)?;
        if condition.depth() > MAX_DEPTH {
            return Err(ConditionError::at(
                Position { line: 1, column: 1 },
                format!(
                    "the condition nests {} levels deep; at most {MAX_DEPTH} are allowed (split it into several rules)",
                    condition.depth()
                ),
            ));
        }
        Ok(condition)
    }

    /// How deeply the tree nests (a leaf is 1).
    pub fn depth(&self) -> usize {
        1 + self.children().iter().map(|c| c.depth()).max().unwrap_or(0)
    }

    /// The condition as SQL for DataFusion: every attribute quoted in lower case, every compound
    /// sub-expression parenthesized, so precedence cannot differ from the tree.
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        self.write_sql(&mut out);
        out
    }

    fn write_sql(&self, out: &mut String) {
        match self {
            Condition::Attribute { name, .. } => {
                let _ = write!(out, "\"{}\"", name.replace('"', "\"\""));
            }
            Condition::Literal(Literal::Number(n)) => out.push_str(n),
            Condition::Literal(Literal::Text(t)) => {
                let _ = write!(out, "'{}'", t.replace('\'', "''"));
            }
            Condition::Literal(Literal::Boolean(b)) => {
                out.push_str(if *b { "TRUE" } else { "FALSE" })
            }
            Condition::Literal(Literal::Null) => out.push_str("NULL"),
            Condition::Not(inner) => {
                out.push_str("(NOT ");
                inner.write_sql(out);
                out.push(')');
            }
            Condition::Negate(inner) => {
                out.push_str("(- ");
                inner.write_sql(out);
                out.push(')');
            }
            Condition::Binary { op, left, right } => {
                out.push('(');
                left.write_sql(out);
                let _ = write!(out, " {} ", op.sql());
                right.write_sql(out);
                out.push(')');
            }
            Condition::IsNull { expr, negated } => {
                out.push('(');
                expr.write_sql(out);
                out.push_str(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            Condition::IsBoolean {
                expr,
                value,
                negated,
            } => {
                out.push('(');
                expr.write_sql(out);
                let _ = write!(
                    out,
                    " IS {}{})",
                    if *negated { "NOT " } else { "" },
                    if *value { "TRUE" } else { "FALSE" }
                );
            }
            Condition::InList {
                expr,
                list,
                negated,
            } => {
                out.push('(');
                expr.write_sql(out);
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                write_list(list, out);
                out.push_str("))");
            }
            Condition::Between {
                expr,
                low,
                high,
                negated,
            } => {
                out.push('(');
                expr.write_sql(out);
                out.push_str(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                low.write_sql(out);
                out.push_str(" AND ");
                high.write_sql(out);
                out.push(')');
            }
            Condition::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                out.push('(');
                expr.write_sql(out);
                let _ = write!(
                    out,
                    " {}{} ",
                    if *negated { "NOT " } else { "" },
                    if *case_insensitive { "ILIKE" } else { "LIKE" }
                );
                pattern.write_sql(out);
                out.push(')');
            }
            Condition::Case {
                operand,
                branches,
                otherwise,
            } => {
                out.push_str("(CASE");
                if let Some(operand) = operand {
                    out.push(' ');
                    operand.write_sql(out);
                }
                for (when, then) in branches {
                    out.push_str(" WHEN ");
                    when.write_sql(out);
                    out.push_str(" THEN ");
                    then.write_sql(out);
                }
                if let Some(otherwise) = otherwise {
                    out.push_str(" ELSE ");
                    otherwise.write_sql(out);
                }
                out.push_str(" END)");
            }
            Condition::Cast { expr, to } => {
                out.push_str("CAST(");
                expr.write_sql(out);
                let _ = write!(out, " AS {})", to.sql());
            }
            Condition::Call { function, args } => {
                let _ = write!(out, "{}(", function.name());
                write_list(args, out);
                out.push(')');
            }
        }
    }

    /// The direct sub-expressions, for walks that do not care about the node's kind.
    pub fn children(&self) -> Vec<&Condition> {
        match self {
            Condition::Attribute { .. } | Condition::Literal(_) => Vec::new(),
            Condition::Not(e)
            | Condition::Negate(e)
            | Condition::IsNull { expr: e, .. }
            | Condition::IsBoolean { expr: e, .. }
            | Condition::Cast { expr: e, .. } => vec![e],
            Condition::Binary { left, right, .. } => vec![left, right],
            Condition::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            Condition::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            Condition::Like { expr, pattern, .. } => vec![expr, pattern],
            Condition::Case {
                operand,
                branches,
                otherwise,
            } => operand
                .as_deref()
                .into_iter()
                .chain(branches.iter().flat_map(|(w, t)| [w, t]))
                .chain(otherwise.as_deref())
                .collect(),
            Condition::Call { args, .. } => args.iter().collect(),
        }
    }

    /// Every attribute the condition names, in the order written.
    pub fn attributes(&self) -> Vec<(&str, Position)> {
        let mut found = Vec::new();
        self.visit_attributes(&mut found);
        found
    }

    fn visit_attributes<'a>(&'a self, found: &mut Vec<(&'a str, Position)>) {
        if let Condition::Attribute { name, position } = self {
            found.push((name, *position));
        }
        for child in self.children() {
            child.visit_attributes(found);
        }
    }

    /// The literal value, looking through a unary minus on a number.
    pub fn literal(&self) -> Option<&Literal> {
        match self {
            Condition::Literal(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_constant(&self) -> bool {
        match self {
            Condition::Literal(_) => true,
            Condition::Negate(inner) => inner.is_constant(),
            _ => false,
        }
    }
}

impl Condition {
    /// The tree with every attribute position zeroed: two parses of the same condition written
    /// differently compare equal by this (the round-trip invariant of the tests and fuzzer).
    pub fn without_positions(&self) -> Condition {
        match self {
            Condition::Attribute { name, .. } => Condition::Attribute {
                name: name.clone(),
                position: Position::default(),
            },
            other => other.map_children(Condition::without_positions),
        }
    }

    /// The same node with `f` applied to each direct sub-expression.
    fn map_children(&self, f: fn(&Condition) -> Condition) -> Condition {
        let c = self;
        let b = |e: &Condition| Box::new(f(e));
        match c {
            Condition::Attribute { .. } | Condition::Literal(_) => c.clone(),
            Condition::Not(e) => Condition::Not(b(e)),
            Condition::Negate(e) => Condition::Negate(b(e)),
            Condition::Binary { op, left, right } => Condition::Binary {
                op: *op,
                left: b(left),
                right: b(right),
            },
            Condition::IsNull { expr, negated } => Condition::IsNull {
                expr: b(expr),
                negated: *negated,
            },
            Condition::IsBoolean {
                expr,
                value,
                negated,
            } => Condition::IsBoolean {
                expr: b(expr),
                value: *value,
                negated: *negated,
            },
            Condition::InList {
                expr,
                list,
                negated,
            } => Condition::InList {
                expr: b(expr),
                list: list.iter().map(f).collect(),
                negated: *negated,
            },
            Condition::Between {
                expr,
                low,
                high,
                negated,
            } => Condition::Between {
                expr: b(expr),
                low: b(low),
                high: b(high),
                negated: *negated,
            },
            Condition::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Condition::Like {
                expr: b(expr),
                pattern: b(pattern),
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Condition::Case {
                operand,
                branches,
                otherwise,
            } => Condition::Case {
                operand: operand.as_deref().map(b),
                branches: branches.iter().map(|(w, t)| (f(w), f(t))).collect(),
                otherwise: otherwise.as_deref().map(b),
            },
            Condition::Cast { expr, to } => Condition::Cast {
                expr: b(expr),
                to: *to,
            },
            Condition::Call { function, args } => Condition::Call {
                function: *function,
                args: args.iter().map(f).collect(),
            },
        }
    }
}

/// A parser message without the text it found (`Expected: an expression, found: …`): the
/// position says where, and what was written there may be anything (a credential pasted into
/// the wrong field).
fn without_found(message: &str) -> String {
    let message = message.replace('\n', " ");
    match message.find(", found") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

fn write_list(items: &[Condition], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_sql(out);
    }
}

fn boxed(expr: &Expr) -> Parsed<Box<Condition>> {
    convert(expr).map(Box::new)
}

fn refuse<T>(expr: &Expr, what: &str) -> Parsed<T> {
    Err(ConditionError::at(
        expr.span().start,
        format!(
            "{what} is not allowed in a condition; use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS [NOT] NULL, CASE, CAST and the functions {}",
            Function::allowed_list()
        ),
    ))
}

/// Converts the parser's tree into a [`Condition`], refusing every construct outside the
/// grammar.
fn convert(expr: &Expr) -> Parsed<Condition> {
    Ok(match expr {
        Expr::Identifier(ident) => Condition::Attribute {
            name: ident.value.to_lowercase(),
            position: ident.span.start.into(),
        },
        Expr::CompoundIdentifier(parts) => {
            let at = parts.last().map_or(expr.span().start, |p| p.span.start);
            return Err(ConditionError::at(
                at,
                "qualified names are not supported; name the attribute alone",
            ));
        }
        Expr::Value(value) => Condition::Literal(match &value.value {
            Value::Number(n, false) => Literal::Number(n.to_string()),
            Value::SingleQuotedString(s) => Literal::Text(s.clone()),
            Value::Boolean(b) => Literal::Boolean(*b),
            Value::Null => Literal::Null,
            _ => return refuse(expr, "this kind of literal"),
        }),
        Expr::Nested(inner) => convert(inner)?,
        Expr::UnaryOp { op, expr: inner } => match op {
            UnaryOperator::Not => Condition::Not(boxed(inner)?),
            UnaryOperator::Minus => Condition::Negate(boxed(inner)?),
            UnaryOperator::Plus => convert(inner)?,
            _ => return refuse(expr, "this operator"),
        },
        Expr::BinaryOp { left, op, right } => match BinaryOp::from_sql(op) {
            Some(op) => Condition::Binary {
                op,
                left: boxed(left)?,
                right: boxed(right)?,
            },
            None => return refuse(expr, &format!("the operator `{op}`")),
        },
        Expr::IsNull(inner) => Condition::IsNull {
            expr: boxed(inner)?,
            negated: false,
        },
        Expr::IsNotNull(inner) => Condition::IsNull {
            expr: boxed(inner)?,
            negated: true,
        },
        Expr::IsTrue(inner) => is_boolean(inner, true, false)?,
        Expr::IsNotTrue(inner) => is_boolean(inner, true, true)?,
        Expr::IsFalse(inner) => is_boolean(inner, false, false)?,
        Expr::IsNotFalse(inner) => is_boolean(inner, false, true)?,
        Expr::InList {
            expr: inner,
            list,
            negated,
        } => {
            if list.is_empty() {
                return refuse(expr, "an empty IN list");
            }
            Condition::InList {
                expr: boxed(inner)?,
                list: list.iter().map(convert).collect::<Parsed<_>>()?,
                negated: *negated,
            }
        }
        Expr::Between {
            expr: inner,
            negated,
            low,
            high,
        } => Condition::Between {
            expr: boxed(inner)?,
            low: boxed(low)?,
            high: boxed(high)?,
            negated: *negated,
        },
        Expr::Like {
            negated,
            any: false,
            expr: inner,
            pattern,
            escape_char: None,
        } => like(inner, pattern, *negated, false)?,
        Expr::ILike {
            negated,
            any: false,
            expr: inner,
            pattern,
            escape_char: None,
        } => like(inner, pattern, *negated, true)?,
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => Condition::Case {
            operand: operand.as_deref().map(boxed).transpose()?,
            branches: conditions
                .iter()
                .map(|case| Ok((convert(&case.condition)?, convert(&case.result)?)))
                .collect::<Parsed<_>>()?,
            otherwise: else_result.as_deref().map(boxed).transpose()?,
        },
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            expr: inner,
            data_type,
            array: false,
            format: None,
        } => match CastType::from_sql(data_type) {
            Some(to) => Condition::Cast {
                expr: boxed(inner)?,
                to,
            },
            None => {
                return refuse(
                    expr,
                    &format!("a cast to {data_type} (allowed: BIGINT, DOUBLE, VARCHAR, BOOLEAN)"),
                );
            }
        },
        Expr::Ceil { expr: inner, field } | Expr::Floor { expr: inner, field } => {
            if !matches!(
                field,
                CeilFloorKind::DateTimeField(DateTimeField::NoDateTime)
            ) {
                return refuse(expr, "CEIL/FLOOR with a unit or scale");
            }
            let function = if matches!(expr, Expr::Ceil { .. }) {
                Function::Ceil
            } else {
                Function::Floor
            };
            Condition::Call {
                function,
                args: vec![convert(inner)?],
            }
        }
        Expr::Trim {
            trim_where: None,
            trim_what: None,
            expr: inner,
            trim_characters: None,
        } => Condition::Call {
            function: Function::Trim,
            args: vec![convert(inner)?],
        },
        Expr::Substring {
            expr: inner,
            substring_from: Some(from),
            substring_for,
            ..
        } => {
            let mut args = vec![convert(inner)?, convert(from)?];
            if let Some(length) = substring_for {
                args.push(convert(length)?);
            }
            Condition::Call {
                function: Function::Substr,
                args,
            }
        }
        Expr::Function(call) => function_call(expr, call)?,
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            return refuse(expr, "a subquery");
        }
        _ => return refuse(expr, "this construct"),
    })
}

fn is_boolean(inner: &Expr, value: bool, negated: bool) -> Parsed<Condition> {
    Ok(Condition::IsBoolean {
        expr: boxed(inner)?,
        value,
        negated,
    })
}

fn like(inner: &Expr, pattern: &Expr, negated: bool, case_insensitive: bool) -> Parsed<Condition> {
    Ok(Condition::Like {
        expr: boxed(inner)?,
        pattern: boxed(pattern)?,
        negated,
        case_insensitive,
    })
}

fn function_call(expr: &Expr, call: &ast::Function) -> Parsed<Condition> {
    let name = match call.name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => ident.value.as_str(),
        _ => return refuse(expr, "a qualified function name"),
    };
    let Some(function) = Function::named(name) else {
        return Err(ConditionError::at(
            expr.span().start,
            format!(
                "the function {} is not allowed in a condition; allowed: {}",
                quoted_or(&name.to_lowercase(), "(name not shown)"),
                Function::allowed_list()
            ),
        ));
    };
    let plain = !call.uses_odbc_syntax
        && matches!(call.parameters, FunctionArguments::None)
        && call.filter.is_none()
        && call.null_treatment.is_none()
        && call.over.is_none()
        && call.within_group.is_empty();
    let FunctionArguments::List(list) = &call.args else {
        return refuse(expr, "a function call without an argument list");
    };
    if !plain || list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return refuse(expr, "a window, filter or aggregate clause");
    }
    let args = list
        .args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => convert(e),
            _ => refuse(expr, "a named or wildcard function argument"),
        })
        .collect::<Parsed<Vec<_>>>()?;
    let (at_least, at_most) = function.arity();
    if args.len() < at_least || args.len() > at_most {
        return Err(ConditionError::at(
            expr.span().start,
            format!(
                "`{}` takes {} argument(s), not {}",
                function.name(),
                if at_least == at_most {
                    at_least.to_string()
                } else {
                    format!("{at_least} to {at_most}")
                },
                args.len()
            ),
        ));
    }
    Ok(Condition::Call { function, args })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Printing and re-parsing gives the same tree: the SQL that runs is the tree analysed.
    pub fn assert_round_trip(text: &str) {
        let parsed = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let sql = parsed.to_sql();
        let again = Condition::parse(&sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(
            parsed.without_positions(),
            again.without_positions(),
            "{text} -> {sql}"
        );
    }

    fn refused(text: &str) -> ConditionError {
        Condition::parse(text).expect_err(text)
    }

    #[test]
    fn the_bypass_by_unbalanced_parentheses_is_refused_where_it_starts() {
        let error = refused("channel = 'app') OR (tenure_days > 365");
        assert_eq!(
            error.position,
            Position {
                line: 1,
                column: 16
            }
        );
        assert!(error.message.contains("after the end"), "{error:?}");
    }

    #[test]
    fn comments_statements_subqueries_and_foreign_functions_are_refused() {
        assert!(
            refused("channel = 'app' -- OR tenure_days > 365")
                .message
                .contains("comment")
        );
        assert!(
            refused("channel = 'app' /* x */")
                .message
                .contains("comment")
        );
        assert!(refused("channel = 'app'; SELECT 1").message.contains("`;`"));
        assert!(
            refused("channel IN (SELECT channel FROM raw_orders)")
                .message
                .contains("subquery")
        );
        assert!(refused("EXISTS (SELECT 1)").message.contains("subquery"));
        assert!(refused("random() < 0.5").message.contains("`random`"));
        assert!(
            refused("fm_token_phone(channel) = 'x'")
                .message
                .contains("not allowed")
        );
        assert!(refused("t.tenure_days > 1").message.contains("qualified"));
        assert!(
            refused("count(tenure_days) OVER () > 1")
                .message
                .contains("not allowed")
                || refused("count(tenure_days) OVER () > 1")
                    .message
                    .contains("window")
        );
        assert!(
            refused("lower(channel, channel) = 'x'")
                .message
                .contains("argument")
        );
        assert!(refused("   ").message.contains("empty"));
        let long_sum = vec!["1"; 50].join("+");
        assert!(
            refused(&format!("{long_sum} > 3"))
                .message
                .contains("levels deep")
        );
        let many = vec!["quantity > 1"; 4000].join(" AND ");
        assert!(refused(&many).message.contains("tokens"));
        assert!(
            refused("CAST(channel AS DATE) IS NULL")
                .message
                .contains("cast")
        );
    }

    #[test]
    fn allowed_constructs_round_trip() {
        for text in [
            "tenure_days > 365 AND price_sensitivity < 0.3",
            "(channel = 'app') OR (tenure_days > 365)",
            "NOT (NOT is_new)",
            "\"Tenure_Days\" >= 365",
            "COALESCE(tenure_days, 0) > 365",
            "CASE WHEN tenure_days > 365 THEN true ELSE false END",
            "CASE channel WHEN 'app' THEN 1 WHEN 'web' THEN 2 END = 1",
            "tenure_days BETWEEN 366 AND 100000",
            "channel NOT IN ('app', 'web') OR is_new IS NOT TRUE",
            "CAST(tenure_days AS DOUBLE) / 365.25 >= 1.0",
            "tenure_days::int > 365",
            "lower(trim(channel)) LIKE 'ap%' AND upper(channel) NOT ILIKE 'W%'",
            "-tenure_days < -365 AND abs(-1) = 1 AND floor(1.5) = ceil(0.5)",
            "substring(channel FROM 1 FOR 2) = 'ap' AND substr(channel, 1) = 'app'",
            "greatest(tenure_days, order_count) > 10 AND nullif(channel, '') IS NULL",
            "channel || 'x' = 'appx' AND 'it''s' <> channel",
            "round(total_spend, 2) % 2 = 0 AND tenure_days * 2 - 1 + 3 > 7",
        ] {
            assert_round_trip(text);
        }
    }

    #[test]
    fn printed_sql_quotes_lower_case_attributes_and_parenthesizes() {
        let c = Condition::parse("\"Tenure_Days\" > 365 OR channel = 'a''b' AND x").unwrap();
        assert_eq!(
            c.to_sql(),
            "((\"tenure_days\" > 365) OR ((\"channel\" = 'a''b') AND \"x\"))"
        );
        let names: Vec<&str> = c.attributes().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["tenure_days", "channel", "x"]);
    }

    fn arbitrary_condition() -> impl Strategy<Value = Condition> {
        let leaf = prop_oneof![
            "[a-z_][a-z0-9_]{0,6}".prop_map(|name| Condition::Attribute {
                name,
                position: Position::default()
            }),
            (0u32..100_000).prop_map(|n| Condition::Literal(Literal::Number(n.to_string()))),
            "[ -~]{0,6}".prop_map(|t| Condition::Literal(Literal::Text(t))),
            any::<bool>().prop_map(|b| Condition::Literal(Literal::Boolean(b))),
            Just(Condition::Literal(Literal::Null)),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            let op = prop_oneof![
                Just(BinaryOp::And),
                Just(BinaryOp::Or),
                Just(BinaryOp::Eq),
                Just(BinaryOp::NotEq),
                Just(BinaryOp::Lt),
                Just(BinaryOp::GtEq),
                Just(BinaryOp::Plus),
                Just(BinaryOp::Minus),
                Just(BinaryOp::Multiply),
                Just(BinaryOp::Divide),
                Just(BinaryOp::Modulo),
                Just(BinaryOp::Concat),
            ];
            prop_oneof![
                inner.clone().prop_map(|e| Condition::Not(Box::new(e))),
                inner.clone().prop_map(|e| Condition::Negate(Box::new(e))),
                (op, inner.clone(), inner.clone()).prop_map(|(op, l, r)| Condition::Binary {
                    op,
                    left: Box::new(l),
                    right: Box::new(r)
                }),
                (inner.clone(), any::<bool>()).prop_map(|(e, negated)| Condition::IsNull {
                    expr: Box::new(e),
                    negated
                }),
                (inner.clone(), any::<bool>(), any::<bool>()).prop_map(|(e, value, negated)| {
                    Condition::IsBoolean {
                        expr: Box::new(e),
                        value,
                        negated,
                    }
                }),
                (
                    inner.clone(),
                    prop::collection::vec(inner.clone(), 1..3),
                    any::<bool>()
                )
                    .prop_map(|(e, list, negated)| Condition::InList {
                        expr: Box::new(e),
                        list,
                        negated
                    }),
                (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(
                    |(e, low, high, negated)| Condition::Between {
                        expr: Box::new(e),
                        low: Box::new(low),
                        high: Box::new(high),
                        negated,
                    }
                ),
                (inner.clone(), inner.clone(), any::<bool>(), any::<bool>()).prop_map(
                    |(e, p, negated, case_insensitive)| Condition::Like {
                        expr: Box::new(e),
                        pattern: Box::new(p),
                        negated,
                        case_insensitive,
                    }
                ),
                (
                    prop::option::of(inner.clone()),
                    prop::collection::vec((inner.clone(), inner.clone()), 1..3),
                    prop::option::of(inner.clone())
                )
                    .prop_map(|(operand, branches, otherwise)| Condition::Case {
                        operand: operand.map(Box::new),
                        branches,
                        otherwise: otherwise.map(Box::new),
                    }),
                (inner.clone(), 0usize..4).prop_map(|(e, t)| Condition::Cast {
                    expr: Box::new(e),
                    to: [
                        CastType::Integer,
                        CastType::Double,
                        CastType::Text,
                        CastType::Boolean
                    ][t],
                }),
                (prop::collection::vec(inner.clone(), 1..3), 0usize..13).prop_map(
                    |(mut args, f)| {
                        let function = Function::ALL[f];
                        let (at_least, at_most) = function.arity();
                        args.truncate(at_most);
                        while args.len() < at_least {
                            args.push(Condition::Literal(Literal::Number("1".into())));
                        }
                        Condition::Call { function, args }
                    }
                ),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Any tree of the grammar prints as SQL that parses back into the same tree.
        #[test]
        fn every_tree_prints_as_sql_that_parses_back_to_it(c in arbitrary_condition()) {
            let sql = c.to_sql();
            let again = Condition::parse(&sql);
            prop_assert!(again.is_ok(), "{} does not parse: {:?}", sql, again);
            let again = again.unwrap();
            prop_assert_eq!(again.without_positions(), c.without_positions());
        }

        /// Whatever text is accepted, its printed SQL parses back to the same tree.
        #[test]
        fn accepted_text_round_trips(text in "[a-z_ ()'<>=!0-9.,%|*/+-]{0,40}") {
            if let Ok(parsed) = Condition::parse(&text) {
                let again = Condition::parse(&parsed.to_sql()).unwrap();
                prop_assert_eq!(again.without_positions(), parsed.without_positions());
            }
        }
    }
}
