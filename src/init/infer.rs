//! From column statistics to a proposed mapping: which column fills each key of a role's
//! config section, and why. Names say what a column is meant to hold, statistics what it holds;
//! where they disagree the statistics win (a `contact` column of phone numbers is a phone
//! identifier, a `notes` column with numbers in its text is free text, left unmapped so that
//! `privacy.undeclared-pii` reports it).

use std::collections::BTreeSet;

use chrono::Datelike;

use super::profile::{ColumnProfile, TableProfile};
use super::vocabulary::{
    Action, USUAL_OPT_IN, USUAL_OPT_OUT, action_of, all_channels, all_flags, all_genders,
    all_operating_systems, named, named_all,
};
use crate::error::printable_name;
use crate::pii::{PiiKind, names_documents};
use crate::pseudonym::IdentifierClass;
use crate::quasi_kind::QuasiKind;

/// The dataset roles of `fairmark.toml`, in the order its sections are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Customers,
    Orders,
    Quotes,
    MailSends,
    Consents,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Customers,
        Role::Orders,
        Role::Quotes,
        Role::MailSends,
        Role::Consents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Customers => "customers",
            Role::Orders => "orders",
            Role::Quotes => "quotes",
            Role::MailSends => "mail_sends",
            Role::Consents => "consents",
        }
    }

    /// Words in a file's name that say it plays this role.
    pub fn file_words(self) -> &'static [&'static str] {
        match self {
            Role::Customers => &[
                "customer",
                "customers",
                "member",
                "members",
                "user",
                "users",
                "client",
                "clients",
                "people",
            ],
            Role::Orders => &[
                "order",
                "orders",
                "transaction",
                "transactions",
                "txn",
                "sales",
                "purchases",
                "lines",
            ],
            Role::Quotes => &[
                "quote",
                "quotes",
                "offer",
                "offers",
                "impression",
                "impressions",
                "shown",
            ],
            Role::MailSends => &[
                "send",
                "sends",
                "sent",
                "mail",
                "mails",
                "message",
                "messages",
                "sms",
                "outbox",
                "deliveries",
            ],
            Role::Consents => &[
                "consent",
                "consents",
                "subscription",
                "subscriptions",
                "optin",
                "optins",
                "preferences",
            ],
        }
    }
}

/// One key of the proposed config, what it is set to, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub key: String,
    pub value: Value,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A column, or a word of the config's own vocabulary (an identifier class, a kind).
    Text(String),
    /// Columns, each with why it is listed.
    Columns(Vec<(String, String)>),
    /// Consent-action words.
    Words(Vec<String>),
}

/// A column left unmapped: its name when a name may be shown, else its position; and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    pub label: String,
    pub why: String,
}

/// One role's section as proposed.
#[derive(Debug, Clone)]
pub struct DatasetProposal {
    pub role: Role,
    /// Keys set to a value or a list, in the order they are written.
    pub lines: Vec<Line>,
    /// Sub-tables (`identifiers`, `quasi_identifiers`, `actions`) and their lines.
    pub tables: Vec<(&'static str, Vec<Line>)>,
    pub unmapped: Vec<Unmapped>,
    /// How many distinct columns the section names.
    pub mapped: usize,
}

impl DatasetProposal {
    /// The column a key is set to.
    pub fn column(&self, key: &str) -> Option<&str> {
        column_of(&self.lines, key)
    }

    /// The columns a list key names.
    pub fn columns(&self, key: &str) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.key == key)
            .flat_map(|l| match &l.value {
                Value::Columns(columns) => columns.iter().map(|(c, _)| c.clone()).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    pub fn table(&self, name: &str) -> &[Line] {
        self.tables
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, lines)| lines.as_slice())
    }
}

fn column_of<'a>(lines: &'a [Line], key: &str) -> Option<&'a str> {
    lines
        .iter()
        .find(|l| l.key == key)
        .and_then(|l| match &l.value {
            Value::Text(column) => Some(column.as_str()),
            _ => None,
        })
}

/// What mapping one file may use of the others'.
#[derive(Debug, Default)]
pub struct Context<'a> {
    /// The customers' id column, which the orders and quotes refer to.
    pub customer_ids: Option<&'a ColumnProfile>,
    /// Whether the orders carry the device of each order: then a customer's OS column is an
    /// attribute, since the device checks compare orders.
    pub orders_have_device: bool,
    /// The orders' trading conditions, which the quotes must name alike.
    pub order_conditions: Option<Vec<String>>,
}

/// A column is taken for what most of its values are: an identifier or a timestamp column
/// when this share of its values is one.
const MOST: f64 = 0.8;
/// With a name that says so, a smaller share suffices.
const MOST_WHEN_NAMED: f64 = 0.5;
/// Names read as Chinese names only in part (the name recognizer knows Chinese names, not
/// others), so a smaller share of them marks a name column.
const NAMES: f64 = 0.6;
/// Free text: this share of values with spaces, or longer than a name.
const FREE_TEXT: f64 = 0.2;

/// Maps `table` as `role`, or `None` when a key the role needs has no column.
pub fn map(role: Role, table: &TableProfile, context: &Context) -> Option<DatasetProposal> {
    let mut mapper = Mapper::new(table);
    match role {
        Role::Customers => map_customers(&mut mapper, context)?,
        Role::Orders => map_orders(&mut mapper, context)?,
        Role::Quotes => map_quotes(&mut mapper, context)?,
        Role::MailSends => map_mail_sends(&mut mapper)?,
        Role::Consents => map_consents(&mut mapper)?,
    }
    Some(mapper.finish(role))
}

struct Mapper<'a> {
    columns: &'a [ColumnProfile],
    rows: usize,
    taken: BTreeSet<usize>,
    lines: Vec<Line>,
    tables: Vec<(&'static str, Vec<Line>)>,
}

/// How well a column fits a key, and why; the best score wins, the first column on a tie.
type Judgement = Option<(f64, String)>;

impl<'a> Mapper<'a> {
    fn new(table: &'a TableProfile) -> Mapper<'a> {
        Mapper {
            columns: &table.columns,
            rows: table.rows,
            taken: BTreeSet::new(),
            lines: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// Columns not yet mapped whose names may be written into the config.
    fn free(&self) -> impl Iterator<Item = &'a ColumnProfile> + '_ {
        let columns = self.columns;
        columns
            .iter()
            .filter(|c| !self.taken.contains(&c.position) && printable_name(&c.name))
    }

    fn best(
        &self,
        judge: impl Fn(&ColumnProfile) -> Judgement,
    ) -> Option<(&'a ColumnProfile, String)> {
        let mut best: Option<(f64, &'a ColumnProfile, String)> = None;
        for column in self.free() {
            if let Some((score, why)) = judge(column)
                && best.as_ref().is_none_or(|(top, _, _)| score > *top)
            {
                best = Some((score, column, why));
            }
        }
        best.map(|(_, column, why)| (column, why))
    }

    /// Sets `key` to the best column, if any fits.
    fn set(
        &mut self,
        key: &str,
        judge: impl Fn(&ColumnProfile) -> Judgement,
    ) -> Option<&'a ColumnProfile> {
        let (column, why) = self.best(judge)?;
        self.taken.insert(column.position);
        self.lines.push(Line {
            key: key.to_string(),
            value: Value::Text(column.name.clone()),
            why,
        });
        Some(column)
    }

    /// Every free column `judge` accepts, in file order, with what it says; marked as mapped.
    fn take_all<T>(&mut self, judge: impl Fn(&ColumnProfile) -> Option<T>) -> Vec<(String, T)> {
        let found: Vec<(usize, String, T)> = self
            .free()
            .filter_map(|c| judge(c).map(|said| (c.position, c.name.clone(), said)))
            .collect();
        found
            .into_iter()
            .map(|(position, name, said)| {
                self.taken.insert(position);
                (name, said)
            })
            .collect()
    }

    /// A sub-table of every free column `judge` gives a value and a reason, keyed by column.
    fn take_table(
        &mut self,
        name: &'static str,
        judge: impl Fn(&ColumnProfile) -> Option<(String, String)>,
    ) {
        let lines: Vec<Line> = self
            .take_all(judge)
            .into_iter()
            .map(|(column, (value, why))| Line {
                key: column,
                value: Value::Text(value),
                why,
            })
            .collect();
        if !lines.is_empty() {
            self.tables.push((name, lines));
        }
    }

    /// The column `key` is set to so far.
    fn column(&self, key: &str) -> Option<&str> {
        column_of(&self.lines, key)
    }

    fn list(&mut self, key: &str, why: &str, columns: Vec<(String, String)>) {
        if !columns.is_empty() {
            self.lines.push(Line {
                key: key.to_string(),
                value: Value::Columns(columns),
                why: why.to_string(),
            });
        }
    }

    fn finish(self, role: Role) -> DatasetProposal {
        let unmapped = self
            .columns
            .iter()
            .filter(|c| !self.taken.contains(&c.position))
            .map(|c| Unmapped {
                label: label(c),
                why: why_unmapped(c, role),
            })
            .collect();
        DatasetProposal {
            role,
            lines: self.lines,
            tables: self.tables,
            unmapped,
            mapped: self.taken.len(),
        }
    }
}

/// A column as a message names it: by name when the name cannot be a value, else by position.
fn label(column: &ColumnProfile) -> String {
    if printable_name(&column.name) {
        column.name.clone()
    } else {
        format!("column {} (its name is not shown)", column.position)
    }
}

/// A share as a whole percentage that says 100% and 0% only when exact.
fn percent(share: f64) -> String {
    let whole = (share * 100.0).round();
    let whole = if share < 1.0 { whole.min(99.0) } else { whole };
    let whole = if share > 0.0 { whole.max(1.0) } else { whole };
    format!("{whole:.0}%")
}

fn is_time(c: &ColumnProfile) -> bool {
    c.non_null > 0 && c.share(c.timestamps) >= MOST
}

fn is_free_text(c: &ColumnProfile) -> bool {
    c.is_text()
        && c.vocabulary.is_none()
        && (c.share(c.with_spaces) >= FREE_TEXT || c.share(c.long_text) >= FREE_TEXT)
}

fn is_flag(c: &ColumnProfile) -> bool {
    c.is_boolean()
        || c.words().is_some_and(|w| all_flags(&w))
        || (c.is_integer() && c.numbers.is_some_and(|n| n.min >= 0.0 && n.max <= 1.0))
}

/// Text or integers that hold no identifier and are not times: what can be a key.
fn is_key(c: &ColumnProfile) -> bool {
    c.is_key_type() && c.holding_pii == 0 && !is_time(c) && !is_free_text(c)
}

/// A small set of values: a flag, or text with a kept vocabulary.
fn is_category(c: &ColumnProfile) -> bool {
    c.non_null > 0
        && c.holding_pii == 0
        && !is_time(c)
        && (c.is_boolean() || c.vocabulary.is_some())
}

fn describe_category(c: &ColumnProfile) -> String {
    if c.is_boolean() {
        "true/false".to_string()
    } else {
        format!("text with {} distinct values", c.distinct())
    }
}

const PRICE_WORDS: [&str; 8] = [
    "price", "prices", "amount", "total", "paid", "cost", "subtotal", "revenue",
];
/// Words that make a number about prices something other than a price.
const NOT_PRICE_WORDS: [&str; 11] = [
    "sensitivity",
    "elasticity",
    "score",
    "rate",
    "ratio",
    "share",
    "index",
    "level",
    "tier",
    "band",
    "rank",
];

fn is_price(c: &ColumnProfile) -> bool {
    c.is_numeric()
        && named(&c.name, &PRICE_WORDS)
        && !named(&c.name, &NOT_PRICE_WORDS)
        && c.numbers.is_none_or(|n| n.min >= 0.0)
}

/// What a PII kind is, as a reason says it.
fn kind_words(kind: PiiKind) -> &'static str {
    match kind {
        PiiKind::Email => "e-mail addresses",
        PiiKind::CnMobile => "mainland mobile numbers",
        PiiKind::CnLandline => "mainland landline numbers",
        PiiKind::InternationalPhone => "international phone numbers",
        PiiKind::CnResidentId => "resident ID numbers with a valid check character",
        PiiKind::CnPermanentResidentId => "permanent residence ID numbers",
        PiiKind::Passport => "passport numbers",
        PiiKind::TravelPermit => "travel permit numbers",
        PiiKind::BankCard => "bank card numbers (Luhn check passed)",
        PiiKind::IpAddress => "IP addresses",
        PiiKind::PersonName => "Chinese personal names",
        PiiKind::PostalAddress => "postal addresses",
    }
}

/// The identifier classes read from values, the PII kinds that make them, and the words of a
/// column name that announce them.
const IDENTIFIERS: [(IdentifierClass, &[PiiKind], &[&str]); 6] = [
    (
        IdentifierClass::Phone,
        &[
            PiiKind::CnMobile,
            PiiKind::CnLandline,
            PiiKind::InternationalPhone,
        ],
        &[
            "phone",
            "mobile",
            "tel",
            "telephone",
            "cell",
            "cellphone",
            "msisdn",
        ],
    ),
    (
        IdentifierClass::Email,
        &[PiiKind::Email],
        &["email", "mail"],
    ),
    (
        IdentifierClass::NationalId,
        &[
            PiiKind::CnResidentId,
            PiiKind::CnPermanentResidentId,
            PiiKind::Passport,
            PiiKind::TravelPermit,
        ],
        &[
            "national", "identity", "idcard", "resident", "passport", "permit", "ssn",
        ],
    ),
    (
        IdentifierClass::BankCard,
        &[PiiKind::BankCard],
        &["card", "bank", "iban"],
    ),
    (IdentifierClass::Ip, &[PiiKind::IpAddress], &["ip"]),
    (
        IdentifierClass::Address,
        &[PiiKind::PostalAddress],
        &["address", "addr", "street"],
    ),
];

/// What identifier a column holds, how surely, and why.
fn identifier(c: &ColumnProfile) -> Option<(IdentifierClass, f64, String)> {
    let by_value = IDENTIFIERS.iter().filter_map(|(class, kinds, hints)| {
        let mut share = c.whole_share(kinds);
        if *class == IdentifierClass::NationalId && names_documents(&c.name) {
            share = share.max(c.share(c.document_shaped));
        }
        let hinted = named(&c.name, hints);
        let threshold = if hinted { MOST_WHEN_NAMED } else { MOST };
        if share < threshold {
            return None;
        }
        let (kind, _) = kinds
            .iter()
            .map(|k| (*k, c.whole.get(k).copied().unwrap_or(0)))
            .max_by_key(|(_, n)| *n)?;
        let kind = if c.whole.contains_key(&kind) {
            kind_words(kind)
        } else {
            "identity document numbers"
        };
        Some((
            *class,
            share,
            format!("{} of sampled values read as {kind}", percent(share)),
        ))
    });
    by_value
        .chain(person_name(c))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Words of a name column's name, and words that make "name" the name of something else.
const NAME_WORDS: [&str; 4] = ["name", "fullname", "realname", "surname"];
const THING_NAME_WORDS: [&str; 12] = [
    "product", "item", "sku", "goods", "campaign", "shop", "store", "brand", "file", "company",
    "category", "city",
];

fn person_name(c: &ColumnProfile) -> Option<(IdentifierClass, f64, String)> {
    if !c.is_text() {
        return None;
    }
    let share = c.share(c.person_names);
    let chinese = format!(
        "{} of sampled values read as Chinese personal names",
        percent(share)
    );
    if share >= NAMES {
        return Some((IdentifierClass::Name, share, chinese));
    }
    // Names in other scripts have no recognizer: a column named for names, of short text
    // without digits, mostly distinct, holds them.
    let named_so = named(&c.name, &NAME_WORDS) && !named(&c.name, &THING_NAME_WORDS);
    let looks_so = c.with_digits == 0
        && c.long_text == 0
        && c.holding_pii == 0
        && c.distinct() * 2 >= c.non_null;
    (named_so && looks_so && c.non_null > 0).then(|| {
        (
            IdentifierClass::Name,
            MOST_WHEN_NAMED,
            format!("named for names; short, mostly distinct text without digits ({chinese})"),
        )
    })
}

/// What quasi-identifier a column holds, and why.
fn quasi_identifier(c: &ColumnProfile) -> Option<(QuasiKind, String)> {
    let this_year = f64::from(chrono::Utc::now().year());
    let years = c.is_integer()
        && c.numbers
            .is_some_and(|n| n.min >= 1900.0 && n.max <= this_year);
    if named(
        &c.name,
        &["birth", "born", "birthyear", "yob", "dob", "birthday"],
    ) && (years || is_time(c))
    {
        let what = if years { "a plausible year" } else { "a date" };
        return Some((
            QuasiKind::BirthYear,
            format!("named for a birth year or date; every sampled value is {what}"),
        ));
    }
    if named(&c.name, &["age"])
        && c.is_integer()
        && c.numbers.is_some_and(|n| n.min >= 0.0 && n.max <= 120.0)
    {
        return Some((
            QuasiKind::Age,
            "named for an age; whole numbers a human age can be".into(),
        ));
    }
    if let Some(words) = c.words() {
        if all_genders(&words) {
            return Some((
                QuasiKind::Gender,
                format!("every sampled value is one of {} gender words", words.len()),
            ));
        }
        if named(&c.name, &["gender", "sex"]) && words.len() <= 4 {
            return Some((
                QuasiKind::Gender,
                format!("named for a gender; {} distinct values", words.len()),
            ));
        }
    }
    if !c.is_key_type() || is_free_text(c) || c.holding_pii > 0 {
        return None;
    }
    let places = [
        (QuasiKind::City, &["city", "town"][..], "a city"),
        (
            QuasiKind::Postcode,
            &["zip", "zipcode", "postcode", "postal"][..],
            "a postcode",
        ),
        (
            QuasiKind::Other,
            &[
                "province",
                "region",
                "district",
                "county",
                "state",
                "prefecture",
            ][..],
            "a region",
        ),
    ];
    places.into_iter().find_map(|(kind, hints, what)| {
        named(&c.name, hints).then(|| {
            (
                kind,
                format!("named for {what}; {} distinct short values", c.distinct()),
            )
        })
    })
}

const ID_WORDS: [&str; 7] = ["id", "uid", "key", "no", "number", "code", "num"];
const CUSTOMER_WORDS: [&str; 13] = [
    "customer",
    "cust",
    "uid",
    "user",
    "userid",
    "member",
    "buyer",
    "client",
    "account",
    "shopper",
    "consumer",
    "customerid",
    "memberid",
];

fn map_customers(m: &mut Mapper, context: &Context) -> Option<()> {
    m.take_table("identifiers", |c| {
        identifier(c).map(|(class, _, why)| (class.domain().to_string(), why))
    });
    let rows = m.rows;
    m.set("id", |c| {
        (is_key(c) && c.unique()).then(|| {
            let named_id = named(&c.name, &ID_WORDS) || named(&c.name, &CUSTOMER_WORDS);
            let why = format!(
                "unique in all {rows} sampled rows and holds no identifier{}",
                if named_id { "; named as an id" } else { "" }
            );
            (1.0 + f64::from(u8::from(named_id)), why)
        })
    })?;
    let times = m.free().filter(|c| is_time(c)).count();
    m.set("signup_at", |c| {
        if !is_time(c) {
            return None;
        }
        let hinted = named(
            &c.name,
            &[
                "registered",
                "register",
                "registration",
                "signup",
                "sign",
                "signed",
                "joined",
                "join",
                "created",
                "since",
                "enrolled",
                "opened",
            ],
        );
        let parsed = format!(
            "{} of sampled values read as timestamps",
            percent(c.share(c.timestamps))
        );
        match (hinted, times) {
            (true, _) => Some((2.0, format!("{parsed}; named for a sign-up"))),
            (false, 1) => Some((1.0, format!("{parsed}; the only timestamp column"))),
            _ => None,
        }
    });
    m.take_table("quasi_identifiers", |c| {
        quasi_identifier(c).map(|(kind, why)| (kind.name().to_string(), why))
    });
    if !context.orders_have_device {
        m.set("device_os", |c| {
            operating_systems(c).map(|why| (1.0, format!("{why}; the orders carry no device")))
        });
    }
    let attributes = m.take_all(|c| {
        if let Some(why) = operating_systems(c) {
            return Some(format!(
                "{why}; an attribute, since the device checks compare the device of each order"
            ));
        }
        if is_category(c) {
            return Some(describe_category(c));
        }
        // Unique whole numbers are keys; unique decimals are just measured finely.
        let measure = c.is_numeric() && c.holding_pii == 0 && !(c.is_integer() && c.unique());
        measure.then(|| {
            if c.numbers.is_some_and(|n| n.integers) {
                "whole numbers".to_string()
            } else {
                "numbers".to_string()
            }
        })
    });
    m.list(
        "attributes",
        "other columns, usable in cohorts and pricing conditions",
        attributes,
    );
    Some(())
}

fn operating_systems(c: &ColumnProfile) -> Option<String> {
    let words = c.words()?;
    all_operating_systems(&words).then(|| {
        format!(
            "every sampled value is one of {} device operating systems",
            words.len()
        )
    })
}

/// The column that refers to a customer: the customers' id column by name, by the share of
/// its values that are customers' ids, or by a name that says so.
fn customer_reference(c: &ColumnProfile, context: &Context) -> Judgement {
    if !is_key(c) {
        return None;
    }
    let mut score = 0.0;
    let mut reasons = Vec::new();
    if let Some(ids) = context.customer_ids {
        let found = c.found_in(ids);
        if c.name == ids.name {
            score += 2.0;
            reasons.push("named as the customers' id".to_string());
        }
        if found >= MOST_WHEN_NAMED {
            score += 2.0 * found;
            reasons.push(format!(
                "{} of its sampled values are customers' ids",
                percent(found)
            ));
        }
    }
    if named(&c.name, &CUSTOMER_WORDS) {
        score += 1.0;
        if reasons.is_empty() {
            reasons.push("named for a customer".to_string());
        }
    }
    (score > 0.0).then(|| (score, reasons.join("; ")))
}

/// A timestamp column, preferring names with `first` words, then `other` words.
fn timestamp(c: &ColumnProfile, first: &[&str], other: &[&str]) -> Judgement {
    if !is_time(c) {
        return None;
    }
    let parsed = format!(
        "{} of sampled values read as timestamps",
        percent(c.share(c.timestamps))
    );
    if named(&c.name, first) {
        Some((3.0, format!("{parsed}; named for it")))
    } else if named(&c.name, other) {
        Some((2.0, parsed))
    } else {
        Some((1.0, parsed))
    }
}

const TIME_WORDS: [&str; 6] = ["at", "time", "date", "ts", "timestamp", "datetime"];

const PRICE_KINDS: [(&str, &[&str]); 4] = [
    (
        "list_price",
        &[
            "list",
            "catalog",
            "catalogue",
            "original",
            "msrp",
            "regular",
            "base",
            "rrp",
        ],
    ),
    (
        "offered_price",
        &[
            "offered",
            "offer",
            "quoted",
            "shown",
            "personal",
            "personalised",
            "personalized",
        ],
    ),
    ("paid_price", &["paid", "actual", "final", "net", "charged"]),
    ("amount", &["amount", "total", "subtotal", "revenue"]),
];

fn map_orders(m: &mut Mapper, context: &Context) -> Option<()> {
    m.set("customer", |c| customer_reference(c, context))?;
    m.set("ordered_at", |c| {
        timestamp(
            c,
            &["order", "ordered", "purchase", "purchased", "placed"],
            &TIME_WORDS,
        )
    })?;
    let rows = m.rows;
    m.set("id", |c| {
        let named_so = named(
            &c.name,
            &[
                "order",
                "txn",
                "transaction",
                "trade",
                "receipt",
                "invoice",
                "basket",
                "purchase",
            ],
        );
        (is_key(c) && named_so).then(|| {
            (
                1.0,
                format!(
                    "named for an order; {} distinct values in {rows} sampled lines",
                    c.distinct()
                ),
            )
        })
    });
    m.set("sku", sku);
    m.set("category", |c| {
        let named_so = named(&c.name, &["category", "cat", "department", "dept", "class"]);
        (is_category(c) && named_so).then(|| {
            (
                1.0,
                format!("named for a category; {}", describe_category(c)),
            )
        })
    });
    m.set("device_os", |c| operating_systems(c).map(|why| (1.0, why)));
    let quantity = m.set("quantity", quantity).map(|c| c.name.clone());
    let mut priced = false;
    for (key, words) in PRICE_KINDS {
        priced |= m
            .set(key, |c| {
                (is_price(c) && named(&c.name, words))
                    .then(|| (1.0, "a non-negative number named for it".to_string()))
            })
            .is_some();
    }
    // A price named for no kind (`price`, `unit_price`) is what was paid when nothing else
    // says so, else the price between the list price and what was paid: the one offered.
    let generic = if m.column("paid_price").is_none() && m.column("amount").is_none() {
        ["paid_price", "what was paid"]
    } else {
        ["offered_price", "the price offered"]
    };
    if m.column(generic[0]).is_none() {
        priced |= m
            .set(generic[0], |c| {
                is_price(c).then(|| {
                    (
                        1.0,
                        format!(
                            "a non-negative number named for a price; read as {}",
                            generic[1]
                        ),
                    )
                })
            })
            .is_some();
    }
    if !priced {
        return None;
    }
    let mut conditions = Vec::new();
    if let Some(quantity) = quantity {
        conditions.push((
            quantity,
            "quantity tiers are a trading condition: prices are compared at equal quantities"
                .to_string(),
        ));
    }
    conditions.extend(m.take_all(|c| {
        is_category(c).then(|| {
            format!(
                "{}: a trading condition, prices are compared only between orders alike in it",
                describe_category(c)
            )
        })
    }));
    m.list(
        "conditions",
        "what makes up the same trading conditions",
        conditions,
    );
    Some(())
}

fn sku(c: &ColumnProfile) -> Judgement {
    let named_so = named(
        &c.name,
        &[
            "sku", "item", "product", "goods", "article", "spu", "asin", "ean", "upc",
        ],
    );
    (is_key(c) && named_so).then(|| {
        (
            1.0,
            format!("named for a product; {} distinct values", c.distinct()),
        )
    })
}

fn quantity(c: &ColumnProfile) -> Judgement {
    let named_so = named(
        &c.name,
        &[
            "qty",
            "quantity",
            "quantities",
            "units",
            "count",
            "pieces",
            "pcs",
        ],
    );
    let counts = c.is_integer() && c.numbers.is_none_or(|n| n.min >= 0.0);
    (named_so && counts).then(|| {
        (
            1.0,
            "non-negative whole numbers named for a quantity".into(),
        )
    })
}

fn map_quotes(m: &mut Mapper, context: &Context) -> Option<()> {
    m.set("customer", |c| customer_reference(c, context))?;
    m.set("sku", sku)?;
    m.set("quoted_at", |c| {
        timestamp(
            c,
            &["quoted", "shown", "seen", "viewed", "displayed", "quote"],
            &TIME_WORDS,
        )
    })?;
    m.set("offered_price", |c| {
        is_price(c).then(|| {
            let named_so = named(&c.name, PRICE_KINDS[1].1);
            (
                1.0 + f64::from(u8::from(named_so)),
                "a non-negative number named for a price".to_string(),
            )
        })
    })?;
    m.set("quantity", quantity);
    m.set("device_os", |c| operating_systems(c).map(|why| (1.0, why)));
    // The config compares quotes and orders under the same conditions, by name.
    let conditions = context.order_conditions.clone().unwrap_or_default();
    let mut listed = Vec::new();
    for name in conditions {
        let column = m.columns.iter().find(|c| c.name == name)?;
        m.taken.insert(column.position);
        listed.push((
            name,
            "the orders' trading condition of this name".to_string(),
        ));
    }
    m.list(
        "conditions",
        "the orders' trading conditions, which quotes are compared under",
        listed,
    );
    Some(())
}

/// A column of message recipients: e-mail addresses and phone numbers, or named so (push
/// device ids have no recognizer).
fn recipient(c: &ColumnProfile) -> Judgement {
    if !c.is_key_type() {
        return None;
    }
    let share = c.whole_share(&[
        PiiKind::Email,
        PiiKind::CnMobile,
        PiiKind::CnLandline,
        PiiKind::InternationalPhone,
    ]);
    let named_so = named(
        &c.name,
        &[
            "recipient",
            "to",
            "address",
            "target",
            "destination",
            "contact",
            "device",
            "token",
        ],
    );
    let why = format!(
        "{} of sampled values read as e-mail addresses or phone numbers",
        percent(share)
    );
    if share >= MOST {
        Some((1.0 + share, why))
    } else if named_so {
        Some((1.0, format!("named for a recipient; {why}")))
    } else {
        None
    }
}

fn channel(c: &ColumnProfile) -> Judgement {
    let words = c.words()?;
    all_channels(&words).then(|| {
        (
            1.0,
            format!(
                "every sampled value is a channel fairmark knows (email, sms, push): {} of them",
                words.len()
            ),
        )
    })
}

fn map_mail_sends(m: &mut Mapper) -> Option<()> {
    m.set("channel", channel)?;
    m.set("recipient", recipient)?;
    m.set("sent_at", |c| {
        timestamp(c, &["sent", "send", "delivered", "delivery"], &TIME_WORDS)
    })?;
    m.set("campaign", |c| {
        let actions = c
            .words()
            .is_some_and(|words| words.iter().any(|w| action_of(w).is_some()));
        if !is_key(c) || actions || c.unique() {
            return None;
        }
        if named(
            &c.name,
            &[
                "campaign",
                "campaigns",
                "promotion",
                "promo",
                "activity",
                "newsletter",
            ],
        ) {
            Some((
                2.0,
                format!("named for a campaign; {} distinct values", c.distinct()),
            ))
        } else {
            c.vocabulary.is_some().then(|| {
                (
                    1.0,
                    format!(
                        "text with {} distinct values, read as campaigns",
                        c.distinct()
                    ),
                )
            })
        }
    })?;
    m.set("id", |c| {
        let named_so = named(&c.name, &["message", "msg", "id", "send", "mail"]);
        (is_key(c) && c.unique() && named_so).then(|| {
            (
                1.0,
                "unique in every sampled row; named as an id".to_string(),
            )
        })
    });
    m.set("one_click_unsubscribe", |c| {
        let named_so = named_all(&c.name, &["one", "click"])
            || named(&c.name, &["oneclick", "rfc8058"])
            || named_all(&c.name, &["unsubscribe", "post"]);
        (is_flag(c) && named_so).then(|| (1.0, "a true/false flag named for it".to_string()))
    });
    m.set("has_unsubscribe", |c| {
        let named_so = named(
            &c.name,
            &["unsubscribe", "unsub", "optout", "unsubscribable"],
        ) || named_all(&c.name, &["opt", "out"]);
        (is_flag(c) && named_so).then(|| (1.0, "a true/false flag named for it".to_string()))
    });
    m.set("postal_address", |c| {
        (is_flag(c) && named(&c.name, &["postal", "address"]))
            .then(|| (1.0, "a true/false flag named for it".to_string()))
    });
    m.set("sender_id", |c| {
        (c.is_text() && named(&c.name, &["sender", "from", "signature"]))
            .then(|| (1.0, "text named for the sender".to_string()))
    });
    m.set("recipient_timezone", |c| {
        (c.is_text()
            && (named(&c.name, &["tz", "timezone"]) || named_all(&c.name, &["time", "zone"])))
        .then(|| (1.0, "text named for a time zone".to_string()))
    });
    Some(())
}

fn map_consents(m: &mut Mapper) -> Option<()> {
    m.set("channel", channel)?;
    m.set("recipient", recipient)?;
    let action = m.set("action", |c| {
        let words = c.words()?;
        let actions = words.iter().filter(|w| action_of(w).is_some()).count();
        (actions > 0 && actions * 2 >= words.len()).then(|| {
            (
                actions as f64,
                format!(
                    "{actions} of its {} distinct sampled values are opt-in or opt-out words",
                    words.len()
                ),
            )
        })
    })?;
    m.set("at", |c| {
        timestamp(
            c,
            &["at", "time", "date", "ts"],
            &["created", "updated", "changed", "occurred"],
        )
    })?;
    m.tables.push(("actions", consent_actions(action)));
    Some(())
}

/// The `actions` table: the action words seen, on the side each means, and the usual
/// spellings beside them. Only words that read as names are written (the config's
/// vocabulary, not a customer's value); the others are counted.
fn consent_actions(column: &ColumnProfile) -> Vec<Line> {
    let seen = column.vocabulary.clone().unwrap_or_default();
    let mut unread = 0;
    let mut hidden = 0;
    let mut sides: [(Action, Vec<String>, &[&str]); 2] = [
        (Action::OptIn, Vec::new(), &USUAL_OPT_IN),
        (Action::OptOut, Vec::new(), &USUAL_OPT_OUT),
    ];
    for word in seen.iter().map(|w| w.trim()) {
        match action_of(word) {
            Some(_) if !printable_name(word) => hidden += 1,
            Some(action) => {
                let side = sides
                    .iter_mut()
                    .find(|(a, ..)| *a == action)
                    .expect("both sides");
                side.1.push(word.to_string());
            }
            None => unread += 1,
        }
    }
    let mut caveats = Vec::new();
    if unread > 0 {
        caveats.push(format!(
            "{unread} other value(s) seen are neither; list them on the side they mean, or the audit refuses their rows"
        ));
    }
    if hidden > 0 {
        caveats.push(format!(
            "{hidden} action value(s) seen are not written here (not plain ASCII words); add them by hand"
        ));
    }
    sides
        .into_iter()
        .map(|(action, seen, usual)| {
            let key = match action {
                Action::OptIn => "opt_in",
                Action::OptOut => "opt_out",
            };
            let mut why = format!(
                "{} seen in the sample; the usual spellings added so that later rows spelled so are read",
                seen.len()
            );
            if action == Action::OptOut {
                for caveat in &caveats {
                    why.push_str("; ");
                    why.push_str(caveat);
                }
            }
            let mut words = seen;
            for word in usual {
                if !words.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                    words.push(word.to_string());
                }
            }
            Line {
                key: key.to_string(),
                value: Value::Words(words),
                why,
            }
        })
        .collect()
}

fn why_unmapped(c: &ColumnProfile, role: Role) -> String {
    let identifiers = || {
        let kinds: Vec<&str> = c.holding.keys().map(|k| k.name()).collect();
        format!(
            "{} of sampled values hold identifiers ({})",
            percent(c.share(c.holding_pii)),
            kinds.join(", ")
        )
    };
    if !printable_name(&c.name) {
        let mut why =
            "its name could be a value, so it is not written here; map it by hand if it matters"
                .to_string();
        if c.holding_pii > 0 {
            why = format!("{why}; {}", identifiers());
        }
        return why;
    }
    if c.holding_pii > 0 {
        let what = if is_free_text(c) { "free text; " } else { "" };
        return format!(
            "{what}{}: left unmapped, so privacy.undeclared-pii reports it",
            identifiers()
        );
    }
    if c.non_null == 0 {
        return "empty in the sample".to_string();
    }
    if is_time(c) {
        return format!("a timestamp the {} section has no key for", role.name());
    }
    if is_free_text(c) {
        return "free text without identifiers in the sample".to_string();
    }
    if c.unique() {
        return "unique in every sampled row, a key this section has no place for".to_string();
    }
    format!("nothing the {} section reads", role.name())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;

    use super::super::profile::profile;
    use super::*;

    /// A table of text columns, `rows` rows, each column's values cycling through its list.
    fn table(rows: usize, columns: &[(&str, &[&str])]) -> TableProfile {
        let arrays: Vec<(&str, ArrayRef)> = columns
            .iter()
            .map(|(name, values)| {
                let array: ArrayRef = Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| values[i % values.len()]),
                ));
                (*name, array)
            })
            .collect();
        profiled(arrays)
    }

    fn profiled(arrays: Vec<(&str, ArrayRef)>) -> TableProfile {
        let schema = Arc::new(Schema::new(
            arrays
                .iter()
                .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let batch =
            RecordBatch::try_new(schema.clone(), arrays.into_iter().map(|(_, a)| a).collect())
                .unwrap();
        profile(&schema, &[batch])
    }

    fn ids(prefix: &str, rows: usize) -> Vec<String> {
        (0..rows).map(|i| format!("{prefix}{}", 1000 + i)).collect()
    }

    const PHONES: [&str; 4] = [
        "13800138000",
        "+86 139-0013-8001",
        "15012345678",
        "18600001111",
    ];
    const EMAILS: [&str; 2] = ["li.na@example.cn", "wang.wei@example.com"];

    #[test]
    fn a_column_of_phone_numbers_is_a_phone_identifier_whatever_its_name() {
        let uids = ids("U", 40);
        let uids: Vec<&str> = uids.iter().map(String::as_str).collect();
        let customers = table(
            40,
            &[
                ("uid", &uids),
                ("contact", &PHONES),
                (
                    "notes",
                    &[
                        "call back on 13800138000",
                        "gift wrap requested",
                        "prefers weekend delivery",
                        "asked about invoice",
                        "size issue, returned one",
                        "left at the door",
                        "fragile items inside",
                        "second order this month",
                    ],
                ),
                ("tier", &["gold", "silver"]),
                ("name", &["张伟", "李娜", "王芳", "刘洋", "陈静"]),
            ],
        );
        let proposal = map(Role::Customers, &customers, &Context::default()).unwrap();
        assert_eq!(proposal.column("id"), Some("uid"));
        let identifiers = proposal.table("identifiers");
        let contact = identifiers.iter().find(|l| l.key == "contact").unwrap();
        assert_eq!(contact.value, Value::Text("phone".into()));
        assert!(
            contact
                .why
                .contains("100% of sampled values read as mainland mobile numbers"),
            "{}",
            contact.why
        );
        let name = identifiers.iter().find(|l| l.key == "name").unwrap();
        assert_eq!(name.value, Value::Text("name".into()));
        assert_eq!(proposal.columns("attributes"), ["tier"]);
        let notes = proposal
            .unmapped
            .iter()
            .find(|u| u.label == "notes")
            .unwrap();
        assert!(
            notes.why.contains("privacy.undeclared-pii"),
            "{}",
            notes.why
        );
        assert_eq!(proposal.mapped, 4);
    }

    #[test]
    fn a_column_whose_name_could_be_data_is_named_by_position_and_left_unmapped() {
        let uids = ids("U", 10);
        let uids: Vec<&str> = uids.iter().map(String::as_str).collect();
        let customers = table(
            10,
            &[("uid", &uids), ("13800138000", &PHONES), ("email", &EMAILS)],
        );
        let proposal = map(Role::Customers, &customers, &Context::default()).unwrap();
        assert_eq!(proposal.unmapped.len(), 1);
        assert_eq!(
            proposal.unmapped[0].label,
            "column 2 (its name is not shown)"
        );
        let written = format!("{proposal:?}");
        assert!(!written.contains("13800138000"), "{written}");
    }

    #[test]
    fn quasi_identifiers_and_signup_are_read_by_name_and_values() {
        let uids = ids("C", 30);
        let uids: Vec<&str> = uids.iter().map(String::as_str).collect();
        let text = table(
            30,
            &[
                ("customer_id", &uids),
                ("email", &EMAILS),
                ("sex", &["F", "M"]),
                ("city", &["上海", "北京", "杭州"]),
                (
                    "created_at",
                    &["2024-05-01T10:00:00", "2024-06-01 09:00:00"],
                ),
            ],
        );
        let proposal = map(Role::Customers, &text, &Context::default()).unwrap();
        assert_eq!(proposal.column("signup_at"), Some("created_at"));
        let quasi: Vec<(String, Value)> = proposal
            .table("quasi_identifiers")
            .iter()
            .map(|l| (l.key.clone(), l.value.clone()))
            .collect();
        assert_eq!(
            quasi,
            [
                ("sex".to_string(), Value::Text("gender".into())),
                ("city".to_string(), Value::Text("city".into())),
            ]
        );
        let years: ArrayRef = Arc::new(Int64Array::from_iter_values((0..30).map(|i| 1960 + i)));
        let score: ArrayRef = Arc::new(Float64Array::from_iter_values(
            (0..30).map(|i| f64::from(i) / 30.0),
        ));
        let id: ArrayRef = Arc::new(StringArray::from_iter_values(ids("C", 30)));
        let mail: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..30).map(|i| EMAILS[i % 2]),
        ));
        let typed = profiled(vec![
            ("id", id),
            ("mail", mail),
            ("birth_year", years),
            ("price_sensitivity", score),
        ]);
        let proposal = map(Role::Customers, &typed, &Context::default()).unwrap();
        assert_eq!(
            proposal.table("quasi_identifiers")[0].value,
            Value::Text("birth_year".into())
        );
        assert_eq!(proposal.columns("attributes"), ["price_sensitivity"]);
    }

    #[test]
    fn orders_refer_to_customers_and_list_their_trading_conditions() {
        let uids = ids("U", 20);
        let uid_refs: Vec<&str> = uids.iter().map(String::as_str).collect();
        let customers = table(20, &[("uid", &uid_refs), ("email", &EMAILS)]);
        let customer_ids = &customers.columns[0];
        let rows = 60;
        let orders = profiled(vec![
            (
                "line",
                Arc::new(Int64Array::from_iter_values(0..rows as i64)) as ArrayRef,
            ),
            (
                "buyer_ref",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| uids[i % 20].clone()),
                )),
            ),
            (
                "item_code",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("SKU{}", i % 7)),
                )),
            ),
            (
                "ts",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("2025-01-{:02}T10:00:00", 1 + i % 28)),
                )),
            ),
            (
                "qty",
                Arc::new(Int64Array::from_iter_values(
                    (0..rows as i64).map(|i| 1 + i % 3),
                )),
            ),
            (
                "price",
                Arc::new(Float64Array::from_iter_values(
                    (0..rows).map(|i| 9.5 + i as f64),
                )),
            ),
            (
                "device",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| ["iOS", "Android"][i % 2]),
                )),
            ),
            (
                "pay_method",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| ["card", "alipay", "wechat_pay"][i % 3]),
                )),
            ),
            (
                "coupon",
                Arc::new(BooleanArray::from_iter((0..rows).map(|i| Some(i % 4 == 0)))),
            ),
        ]);
        let context = Context {
            customer_ids: Some(customer_ids),
            ..Context::default()
        };
        let proposal = map(Role::Orders, &orders, &context).unwrap();
        assert_eq!(proposal.column("customer"), Some("buyer_ref"));
        let customer = proposal.lines.iter().find(|l| l.key == "customer").unwrap();
        assert!(
            customer
                .why
                .contains("100% of its sampled values are customers' ids"),
            "{}",
            customer.why
        );
        assert_eq!(proposal.column("ordered_at"), Some("ts"));
        assert_eq!(proposal.column("sku"), Some("item_code"));
        assert_eq!(proposal.column("quantity"), Some("qty"));
        assert_eq!(proposal.column("paid_price"), Some("price"));
        assert_eq!(proposal.column("device_os"), Some("device"));
        assert_eq!(proposal.column("id"), None, "a line number is no order id");
        assert_eq!(
            proposal.columns("conditions"),
            ["qty", "pay_method", "coupon"]
        );
        assert!(map(Role::Orders, &customers, &Context::default()).is_none());
    }

    #[test]
    fn messages_and_consents_are_told_apart_by_their_vocabularies() {
        let recipients = ["li.na@example.cn", "13800138000"];
        let sends = table(
            12,
            &[
                ("to", &recipients),
                ("channel", &["email", "sms"]),
                ("campaign", &["spring", "flash-sale", "weekly"]),
                ("sent_at", &["2026-03-31T02:00:00"]),
                ("has_unsubscribe", &["yes", "no"]),
            ],
        );
        let mail = map(Role::MailSends, &sends, &Context::default()).unwrap();
        assert_eq!(mail.column("recipient"), Some("to"));
        assert_eq!(mail.column("campaign"), Some("campaign"));
        assert_eq!(mail.column("has_unsubscribe"), Some("has_unsubscribe"));
        assert!(map(Role::Consents, &sends, &Context::default()).is_none());
        let consents = table(
            12,
            &[
                ("address", &recipients),
                ("via", &["EMAIL", "sms"]),
                ("event", &["Subscribe", "unsubscribe", "TD", "bounce"]),
                ("at", &["2026-03-31T02:00:00"]),
            ],
        );
        let proposal = map(Role::Consents, &consents, &Context::default()).unwrap();
        assert_eq!(proposal.column("action"), Some("event"));
        assert_eq!(proposal.column("channel"), Some("via"));
        let actions = proposal.table("actions");
        assert_eq!(
            actions[0].value,
            Value::Words(vec!["Subscribe".into(), "opt_in".into()])
        );
        assert_eq!(
            actions[1].value,
            Value::Words(vec![
                "TD".into(),
                "unsubscribe".into(),
                "opt_out".into(),
                "STOP".into()
            ])
        );
        assert!(
            actions[1].why.contains("1 other value(s) seen are neither"),
            "{}",
            actions[1].why
        );
        assert!(
            !format!("{actions:?}").contains("bounce"),
            "an unread value is counted, not shown"
        );
    }

    #[test]
    fn percentages_say_all_and_none_only_when_exact() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.999), "99%");
        assert_eq!(percent(0.001), "1%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.8149), "81%");
    }
}
