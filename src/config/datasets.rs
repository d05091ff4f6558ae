//! The `[datasets.*]` tables: each role's file, format and column mapping, and what every
//! dataset offers the engine ([`DatasetConfig`]: its path and the columns it maps, each with
//! the kind of value it must hold).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::pseudonym::IdentifierClass;
use crate::quasi_kind::QuasiKind;

/// The file formats fairmark reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Parquet,
    Csv,
    Ndjson,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    pub fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

/// The datasets by role. Every role is optional; checks that need a missing role are skipped
/// and the report says so.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datasets {
    pub customers: Option<CustomersDataset>,
    pub orders: Option<OrdersDataset>,
    pub quotes: Option<QuotesDataset>,
    pub mail_sends: Option<MailSendsDataset>,
    pub consents: Option<ConsentsDataset>,
}

/// Marketing messages sent: one row per message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSendsDataset {
    pub path: String,
    pub format: Option<Format>,
    pub id: Option<String>,
    /// E-mail address or phone number.
    pub recipient: String,
    /// `email`, `sms` or `push` (case-insensitive).
    pub channel: String,
    pub campaign: String,
    /// Time zone-aware timestamps are exact; naive ones are read as UTC.
    pub sent_at: String,
    /// Whether the message carried a way to unsubscribe.
    pub has_unsubscribe: Option<String>,
    /// Whether a bulk e-mail carried one-click `List-Unsubscribe` (RFC 8058).
    pub one_click_unsubscribe: Option<String>,
    /// The sender's identification (name, address) as stated in the message.
    pub sender_id: Option<String>,
    /// Whether an e-mail carried the sender's physical postal address (CAN-SPAM).
    pub postal_address: Option<String>,
    /// The recipient's IANA time zone (`America/Chicago`), for quiet hours.
    pub recipient_timezone: Option<String>,
}

/// Consent events: opt-ins and opt-outs per recipient and channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentsDataset {
    pub path: String,
    pub format: Option<Format>,
    pub recipient: String,
    pub channel: String,
    pub action: String,
    pub at: String,
    /// Which `action` values mean opt-in and which opt-out (compared case-insensitively).
    pub actions: ConsentActions,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentActions {
    pub opt_in: Vec<String>,
    pub opt_out: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomersDataset {
    pub path: String,
    pub format: Option<Format>,
    /// The customer key orders refer to.
    pub id: String,
    pub signup_at: Option<String>,
    /// The customer's device operating system, when it is a customer attribute.
    pub device_os: Option<String>,
    /// Column → what identifier it holds (`name`, `phone`, `email`, `national_id`, …).
    #[serde(default)]
    pub identifiers: BTreeMap<String, IdentifierClass>,
    /// Column → what quasi-identifier it holds (`birth_year`, `age`, `gender`, `city`, …).
    #[serde(default)]
    pub quasi_identifiers: BTreeMap<String, QuasiKind>,
    /// Other columns usable in cohorts and pricing conditions.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Attribute column → the kind it holds when its name does not say so (`xb = "gender"`,
    /// `minzu = "ethnicity"`): the policy packs classify it by its kind as well as its name.
    #[serde(default)]
    pub attribute_kinds: BTreeMap<String, String>,
}

impl CustomersDataset {
    /// The quasi-identifiers and the other attributes, lower-cased, each with the kind it
    /// holds when known. A kind declared under `attribute_kinds` is banded and spelled as the
    /// same kind under `quasi_identifiers` is.
    pub fn attributes_with_kinds(&self) -> Vec<(String, Option<QuasiKind>)> {
        self.quasi_identifiers
            .iter()
            .map(|(c, k)| (c.to_lowercase(), Some(*k)))
            .chain(
                self.attributes
                    .iter()
                    .filter(|a| !self.quasi_identifiers.contains_key(*a))
                    .map(|a| {
                        let kind = self.attribute_kinds.get(a);
                        (a.to_lowercase(), kind.and_then(|k| QuasiKind::from_name(k)))
                    }),
            )
            .collect()
    }
    /// Every attribute and quasi-identifier column with a declared kind, lower case, with the
    /// kind's name.
    pub fn declared_kinds(&self) -> BTreeMap<String, String> {
        self.quasi_identifiers
            .iter()
            .map(|(column, kind)| (column.to_lowercase(), kind.name().to_string()))
            .chain(
                self.attribute_kinds
                    .iter()
                    .map(|(column, kind)| (column.to_lowercase(), kind.to_lowercase())),
            )
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersDataset {
    pub path: String,
    pub format: Option<Format>,
    /// Order id; lines sharing it are one purchase. Without it, lines at the same timestamp are.
    pub id: Option<String>,
    pub customer: String,
    pub sku: Option<String>,
    pub category: Option<String>,
    pub ordered_at: String,
    /// The device the order was placed from (`iOS`, `Android`, …).
    pub device_os: Option<String>,
    pub quantity: Option<String>,
    pub list_price: Option<String>,
    pub offered_price: Option<String>,
    pub paid_price: Option<String>,
    pub amount: Option<String>,
    /// Columns that make up "the same trading conditions".
    #[serde(default)]
    pub conditions: Vec<String>,
}

/// Prices shown to customers without a purchase: compared with order prices by the
/// observed-price checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotesDataset {
    pub path: String,
    pub format: Option<Format>,
    pub customer: String,
    pub sku: String,
    pub quoted_at: String,
    pub offered_price: String,
    pub quantity: Option<String>,
    pub device_os: Option<String>,
    /// The same trading-condition columns as the orders (by name).
    #[serde(default)]
    pub conditions: Vec<String>,
}

/// Where a dataset's `path` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetLocation {
    /// A file, directory or glob on this machine, resolved against the config file's directory.
    Local(PathBuf),
    /// An object, a prefix (a "directory", ending in `/`) or a glob in an S3 bucket.
    S3 { bucket: String, key: String },
}

impl DatasetLocation {
    /// Reads `path` as written in the config: `s3://bucket/key`, or a local path.
    pub fn parse(path: &str, base_dir: &Path) -> std::result::Result<DatasetLocation, String> {
        let Some(scheme) = url_scheme(path) else {
            return Ok(DatasetLocation::Local(base_dir.join(path)));
        };
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(format!(
                "`path`: {scheme}:// is not read; a path is local, or s3://bucket/key on S3 or an S3-compatible store"
            ));
        }
        let rest = &path[scheme.len() + 3..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains(['*', '?', '[']) {
            return Err("`path`: name the bucket after s3://, e.g. s3://bucket/orders/".into());
        }
        Ok(DatasetLocation::S3 {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

/// The scheme of `text` when it is a URL (`s3://…`), `None` for a file path.
pub fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (starts_with_letter && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then_some(scheme)
}

/// What kind of value a mapped column must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Any scalar that can be read as text (keys, categories).
    Key,
    Text,
    Number,
    Timestamp,
}

impl ColumnKind {
    pub fn expected(self) -> &'static str {
        match self {
            ColumnKind::Key => "a key (text or integer)",
            ColumnKind::Text => "text or a scalar",
            ColumnKind::Number => "a number",
            ColumnKind::Timestamp => "a timestamp or date (ISO 8601 text is parsed)",
        }
    }
}

/// A mapped column: the config key that names it, the column, and what it must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedColumn {
    pub key: String,
    pub column: String,
    pub kind: ColumnKind,
}

/// What every dataset role shares: where its files are and which columns it maps.
pub trait DatasetConfig {
    fn role(&self) -> &'static str;
    fn path(&self) -> &str;
    fn format(&self) -> Option<Format>;
    fn mapped_columns(&self) -> Vec<MappedColumn>;
}

/// The parts of [`DatasetConfig`] every role implements alike.
macro_rules! dataset_source {
    ($role:literal) => {
        fn role(&self) -> &'static str {
            $role
        }
        fn path(&self) -> &str {
            &self.path
        }
        fn format(&self) -> Option<Format> {
            self.format
        }
    };
}

pub(super) fn mapped(key: impl Into<String>, column: &str, kind: ColumnKind) -> MappedColumn {
    MappedColumn {
        key: key.into(),
        column: column.to_string(),
        kind,
    }
}

impl DatasetConfig for CustomersDataset {
    dataset_source!("customers");
    fn mapped_columns(&self) -> Vec<MappedColumn> {
        let mut columns = vec![mapped("id", &self.id, ColumnKind::Key)];
        columns.extend(
            self.signup_at
                .iter()
                .map(|c| mapped("signup_at", c, ColumnKind::Timestamp)),
        );
        columns.extend(
            self.identifiers
                .keys()
                .map(|c| mapped("identifiers", c, ColumnKind::Key)),
        );
        columns.extend(
            self.quasi_identifiers
                .keys()
                .map(|c| mapped("quasi_identifiers", c, ColumnKind::Key)),
        );
        columns.extend(
            self.attributes
                .iter()
                .map(|c| mapped("attributes", c, ColumnKind::Text)),
        );
        columns
    }
}

impl DatasetConfig for OrdersDataset {
    dataset_source!("orders");
    fn mapped_columns(&self) -> Vec<MappedColumn> {
        let optional = [
            ("id", &self.id, ColumnKind::Key),
            ("sku", &self.sku, ColumnKind::Key),
            ("category", &self.category, ColumnKind::Text),
            ("device_os", &self.device_os, ColumnKind::Text),
            ("quantity", &self.quantity, ColumnKind::Number),
            ("list_price", &self.list_price, ColumnKind::Number),
            ("offered_price", &self.offered_price, ColumnKind::Number),
            ("paid_price", &self.paid_price, ColumnKind::Number),
            ("amount", &self.amount, ColumnKind::Number),
        ];
        let mut columns = vec![
            mapped("customer", &self.customer, ColumnKind::Key),
            mapped("ordered_at", &self.ordered_at, ColumnKind::Timestamp),
        ];
        for (key, column, kind) in optional {
            columns.extend(column.iter().map(|c| mapped(key, c, kind)));
        }
        columns.extend(
            self.conditions
                .iter()
                .map(|c| mapped("conditions", c, ColumnKind::Text)),
        );
        columns
    }
}

impl DatasetConfig for QuotesDataset {
    dataset_source!("quotes");
    fn mapped_columns(&self) -> Vec<MappedColumn> {
        let mut columns = vec![
            mapped("customer", &self.customer, ColumnKind::Key),
            mapped("sku", &self.sku, ColumnKind::Key),
            mapped("quoted_at", &self.quoted_at, ColumnKind::Timestamp),
            mapped("offered_price", &self.offered_price, ColumnKind::Number),
        ];
        columns.extend(
            self.quantity
                .iter()
                .map(|c| mapped("quantity", c, ColumnKind::Number)),
        );
        columns.extend(
            self.device_os
                .iter()
                .map(|c| mapped("device_os", c, ColumnKind::Text)),
        );
        columns.extend(
            self.conditions
                .iter()
                .map(|c| mapped("conditions", c, ColumnKind::Text)),
        );
        columns
    }
}

impl DatasetConfig for MailSendsDataset {
    dataset_source!("mail_sends");
    fn mapped_columns(&self) -> Vec<MappedColumn> {
        let mut columns = vec![
            mapped("recipient", &self.recipient, ColumnKind::Key),
            mapped("channel", &self.channel, ColumnKind::Text),
            mapped("campaign", &self.campaign, ColumnKind::Key),
            mapped("sent_at", &self.sent_at, ColumnKind::Timestamp),
        ];
        let optional = [
            ("id", &self.id, ColumnKind::Key),
            ("has_unsubscribe", &self.has_unsubscribe, ColumnKind::Text),
            (
                "one_click_unsubscribe",
                &self.one_click_unsubscribe,
                ColumnKind::Text,
            ),
            ("sender_id", &self.sender_id, ColumnKind::Text),
            ("postal_address", &self.postal_address, ColumnKind::Text),
            (
                "recipient_timezone",
                &self.recipient_timezone,
                ColumnKind::Text,
            ),
        ];
        for (key, column, kind) in optional {
            columns.extend(column.iter().map(|c| mapped(key, c, kind)));
        }
        columns
    }
}

impl DatasetConfig for ConsentsDataset {
    dataset_source!("consents");
    fn mapped_columns(&self) -> Vec<MappedColumn> {
        vec![
            mapped("recipient", &self.recipient, ColumnKind::Key),
            mapped("channel", &self.channel, ColumnKind::Text),
            mapped("action", &self.action, ColumnKind::Text),
            mapped("at", &self.at, ColumnKind::Timestamp),
        ]
    }
}
