//! `fairmark.toml`: which datasets play which role, how their columns map onto fairmark's
//! concepts, which policy packs apply and where the key comes from.
//!
//! Parsing is strict (unknown keys are errors with line and column) because a misspelled
//! key that is silently ignored is a check that silently does not run.

pub mod probe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::config_errors::{self, toml_error};
use crate::error::{Error, Result};
use crate::pseudonym::{IdentifierClass, KeySource};
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

/// The whole configuration, as parsed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Built-in pack names (`cn`, `eu`, `us`) or paths to policy files.
    #[serde(default)]
    pub policies: Vec<String>,
    pub key: KeySource,
    /// Recency is measured to this date (`"YYYY-MM-DD"`); default: the date of the last order.
    #[serde(default, deserialize_with = "iso_date")]
    pub reference_date: Option<NaiveDate>,
    #[serde(default)]
    pub segmentation: SegmentationConfig,
    /// The company's pricing-rules file, relative to the config file.
    pub pricing_rules: Option<String>,
    #[serde(default)]
    pub datasets: Datasets,
    #[serde(default)]
    pub engine: EngineConfig,
    /// How datasets on `s3://` paths are reached. Credentials never come from here.
    #[serde(default)]
    pub storage: StorageConfig,
    /// The language of the terminal table, report.md and report.html: `en` (default) or
    /// `zh-CN`. report.json and SARIF keep English keys.
    #[serde(default)]
    pub lang: Lang,
    /// Accepted risks: `[[waiver]]` tables here, and those of the file `waivers` names.
    #[serde(default, rename = "waiver")]
    pub waivers: Vec<Waiver>,
    /// A file of `[[waiver]]` tables, relative to the config file.
    #[serde(default, rename = "waivers")]
    pub waivers_file: Option<String>,
    /// How `fairmark probe` asks a pricing service for quotes.
    #[serde(default)]
    pub probe: Option<probe::ProbeConfig>,
    /// How the processes of a Ballista cluster (`fairmark scheduler`, `fairmark executor`,
    /// `audit --cluster`) know one another.
    #[serde(default)]
    pub cluster: Option<ClusterConfig>,
    /// The directory the config file is in; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file's path as the user gave it, for messages.
    #[serde(skip)]
    pub file: String,
}

/// `[cluster]`: what a process of a cluster shows the others, and asks of them.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The secret every process of the cluster holds, from the environment or a file as the
    /// key is (`{ env = "VAR" }` or `{ file = "path" }`): requests without it are refused.
    pub token: KeySource,
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

/// Marketing-segment thresholds. Business choices, not law, so they live in the config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentationConfig {
    pub at_risk_after_days: u32,
    pub dormant_after_days: u32,
    pub new_within_days: u32,
    pub periodic_min_orders: u32,
    pub periodic_max_cv: f64,
}

impl Default for SegmentationConfig {
    fn default() -> Self {
        SegmentationConfig {
            at_risk_after_days: 90,
            dormant_after_days: 180,
            new_within_days: 60,
            periodic_min_orders: 4,
            periodic_max_cv: 0.35,
        }
    }
}

/// An accepted risk: a finding, matched by fingerprint or by check and subject, that is
/// reported but does not fail the run until `expires`. Who accepted it and why are required,
/// as an auditor will ask.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub fingerprint: Option<String>,
    pub check: Option<String>,
    pub dataset: Option<String>,
    pub column: Option<String>,
    pub sku: Option<String>,
    pub campaign: Option<String>,
    pub channel: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver is in force (`2026-12-31`, a TOML date or a string).
    #[serde(deserialize_with = "waiver_date")]
    pub expires: NaiveDate,
}

impl Waiver {
    /// How reports name the waiver: by what it matches, which stays the same run to run.
    pub fn describe(&self) -> String {
        if let Some(fingerprint) = &self.fingerprint {
            return format!("fingerprint {fingerprint}");
        }
        let mut parts = vec![self.check.clone().unwrap_or_default()];
        for (name, value) in self.subject_fields() {
            if let Some(value) = value {
                parts.push(format!("{name} {value}"));
            }
        }
        parts.join(", ")
    }

    /// The subject fields the waiver names, in the order findings show them.
    pub fn subject_fields(&self) -> [(&'static str, &Option<String>); 6] {
        [
            ("dataset", &self.dataset),
            ("column", &self.column),
            ("sku", &self.sku),
            ("campaign", &self.campaign),
            ("channel", &self.channel),
            ("rule", &self.rule),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    waiver: Vec<Waiver>,
}

fn waiver_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Date(toml::value::Datetime),
        Text(String),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::Date(date) => date.to_string(),
        Written::Text(text) => text,
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        serde::de::Error::custom("`expires` is not a date; write expires = 2026-12-31")
    })
}

/// The language reports are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Lang, String> {
        match text {
            "en" => Ok(Lang::En),
            "zh-CN" | "zh-cn" | "zh" => Ok(Lang::ZhCn),
            _ => Err("expected en or zh-CN".into()),
        }
    }
}

/// How much the engine may hold in memory, and where it spills the rest.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// `"auto"` (the default: half the machine's memory), `"unlimited"`, or a size such as
    /// `"2GiB"` or `"512MB"`. Sorts, aggregates and joins that would exceed it spill to disk.
    #[serde(default)]
    pub memory_limit: MemoryLimit,
    /// Where the private spill directory is created (default: the system's temporary
    /// directory), relative to the config file.
    pub spill_dir: Option<String>,
    /// A Ballista scheduler (`df://HOST:PORT`) that runs the audit's plans on its executors;
    /// `audit --cluster` overrides it. Default: this process runs them.
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemoryLimit {
    #[default]
    Auto,
    Unlimited,
    Bytes(u64),
}

impl MemoryLimit {
    /// `"auto"`, `"unlimited"`, or a number with an optional unit (B, KB, MB, GB, KiB, MiB,
    /// GiB; decimal units are powers of 1000).
    pub fn parse(text: &str) -> std::result::Result<MemoryLimit, String> {
        let text = text.trim();
        match text.to_ascii_lowercase().as_str() {
            "auto" => return Ok(MemoryLimit::Auto),
            "unlimited" | "none" => return Ok(MemoryLimit::Unlimited),
            _ => {}
        }
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let unit_bytes: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            _ => {
                return Err(
                    "memory_limit: unknown unit; write \"auto\", \"unlimited\" or a size such as \"2GiB\" or \"512MB\""
                        .to_string(),
                );
            }
        };
        let number: f64 = number.parse().map_err(|_| {
            "memory_limit: not a size; write \"auto\", \"unlimited\" or a size such as \"2GiB\""
                .to_string()
        })?;
        let bytes = (number * unit_bytes).round();
        if bytes < (16 << 20) as f64 {
            return Err("memory_limit: below the 16 MiB the engine needs to run at all".into());
        }
        Ok(MemoryLimit::Bytes(bytes as u64))
    }
}

impl<'de> Deserialize<'de> for MemoryLimit {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<MemoryLimit, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Bytes(u64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Bytes(bytes) => MemoryLimit::parse(&bytes.to_string()),
            Written::Text(text) => MemoryLimit::parse(&text),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// How `s3://` dataset paths are reached, over the standard AWS environment variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ALLOW_HTTP`, …), which a setting here overrides.
/// There is no place for credentials: they come from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, web identity) or the instance's role, so a
/// config file can be committed and shared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// An S3-compatible service (MinIO, Alibaba OSS, …): `https://host[:port]`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Whether an `http://` endpoint may be used: requests, and data, travel unencrypted.
    pub allow_http: Option<bool>,
    /// `https://bucket.host/key` rather than the default path style `https://host/bucket/key`.
    pub virtual_hosted_style_request: Option<bool>,
}

impl StorageConfig {
    fn validate(&self) -> std::result::Result<(), String> {
        let Some(endpoint) = &self.endpoint else {
            return Ok(());
        };
        let scheme = endpoint.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("https") => Ok(()),
            Some("http") if self.allow_http == Some(true) => Ok(()),
            Some("http") => Err(
                "[storage] endpoint is http://; set allow_http = true to reach it without TLS, or use https://".into(),
            ),
            _ => Err("[storage] endpoint: write a URL, e.g. \"https://minio.example.com:9000\"".into()),
        }
    }
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

fn mapped(key: impl Into<String>, column: &str, kind: ColumnKind) -> MappedColumn {
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

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&file, format!("cannot read: {e}")))?;
        let mut config = Config::parse(&text, &file)?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(waivers) = &config.waivers_file {
            let path = config.base_dir.join(waivers);
            let file = config_errors::named_file(&path, &config.file, "waivers");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::config(&file, format!("cannot read the waivers file: {e}")))?;
            let listed: WaiverFile =
                toml::from_str(&text).map_err(|e| toml_error(&file, &text, &e))?;
            validate_waivers(&listed.waiver, &file)?;
            config.waivers.extend(listed.waiver);
        }
        Ok(config)
    }

    /// The kinds the customers dataset declares for its columns (none without one).
    pub fn declared_kinds(&self) -> BTreeMap<String, String> {
        self.datasets
            .customers
            .as_ref()
            .map(CustomersDataset::declared_kinds)
            .unwrap_or_default()
    }

    /// Parses config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
        config.file = file.to_string();
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        validate_waivers(&self.waivers, &self.file)?;
        if let Some(probe) = &self.probe {
            probe.validate(&self.file)?;
        }
        if self.policies.is_empty() {
            return Err(Error::config(
                &self.file,
                "`policies` is empty; name at least one pack, e.g. policies = [\"cn\"]",
            ));
        }
        self.storage
            .validate()
            .map_err(|message| Error::config(&self.file, message))?;
        for dataset in self.dataset_configs() {
            DatasetLocation::parse(dataset.path(), &self.base_dir).map_err(|message| {
                Error::config(
                    &self.file,
                    format!("[datasets.{}] {message}", dataset.role()),
                )
            })?;
        }
        let local_only = [
            ("pricing_rules", self.pricing_rules.as_deref()),
            ("waivers", self.waivers_file.as_deref()),
            ("key.file", self.key.file.as_deref()),
            (
                "[cluster] token.file",
                self.cluster.as_ref().and_then(|c| c.token.file.as_deref()),
            ),
            ("[engine] spill_dir", self.engine.spill_dir.as_deref()),
        ];
        if let Some((key, _)) = local_only
            .iter()
            .find(|(_, value)| value.is_some_and(|v| url_scheme(v).is_some()))
        {
            return Err(Error::config(
                &self.file,
                format!("{key}: only datasets are read from object storage; give a local path"),
            ));
        }
        if self.dataset_configs().is_empty() {
            return Err(Error::config(
                &self.file,
                "[datasets] declares no dataset; add [datasets.customers], [datasets.orders] or [datasets.mail_sends]",
            ));
        }
        if self.datasets.consents.is_some() && self.datasets.mail_sends.is_none() {
            return Err(Error::config(
                &self.file,
                "[datasets.consents] needs [datasets.mail_sends]: consents are judged against the messages sent",
            ));
        }
        for dataset in self.dataset_configs() {
            let mut seen = BTreeMap::new();
            // Conditions and attributes may reuse a column mapped elsewhere (quantity is both a
            // measure and a trading condition); the other roles are one column each.
            let exclusive = dataset
                .mapped_columns()
                .into_iter()
                .filter(|c| c.key != "conditions" && c.key != "attributes");
            for column in exclusive {
                if let Some(previous) = seen.insert(column.column.clone(), column.key.clone()) {
                    return Err(Error::config(
                        &self.file,
                        format!(
                            "[datasets.{}]: column {} is mapped twice (as `{previous}` and as `{}`); a column plays one part",
                            dataset.role(),
                            config_errors::quoted_or(&column.column, "(name not shown)"),
                            column.key
                        ),
                    ));
                }
            }
        }
        if let Some(customers) = &self.datasets.customers
            && let Some(column) = customers
                .attribute_kinds
                .keys()
                .find(|c| !customers.attributes.contains(c))
        {
            return Err(Error::config(
                &self.file,
                format!(
                    "[datasets.customers]: `attribute_kinds` names {}, which is not in `attributes`; list the column there too",
                    config_errors::quoted_or(column, "a column (name not shown)")
                ),
            ));
        }
        if let (Some(quotes), Some(orders)) = (&self.datasets.quotes, &self.datasets.orders)
            && quotes.conditions != orders.conditions
        {
            return Err(Error::config(
                &self.file,
                "[datasets.quotes]: `conditions` must name the same columns as [datasets.orders], so quotes and orders are compared under the same trading conditions",
            ));
        }
        if self.datasets.quotes.is_some() && self.datasets.orders.is_none() {
            return Err(Error::config(
                &self.file,
                "[datasets.quotes] needs [datasets.orders]: quotes are compared with order prices",
            ));
        }
        let s = &self.segmentation;
        if s.at_risk_after_days >= s.dormant_after_days {
            return Err(Error::config(
                &self.file,
                "[segmentation]: at_risk_after_days must be less than dormant_after_days",
            ));
        }
        Ok(())
    }

    /// The configured datasets, customers first.
    pub fn dataset_configs(&self) -> Vec<&dyn DatasetConfig> {
        let mut all: Vec<&dyn DatasetConfig> = Vec::new();
        if let Some(c) = &self.datasets.customers {
            all.push(c);
        }
        if let Some(o) = &self.datasets.orders {
            all.push(o);
        }
        if let Some(q) = &self.datasets.quotes {
            all.push(q);
        }
        if let Some(m) = &self.datasets.mail_sends {
            all.push(m);
        }
        if let Some(c) = &self.datasets.consents {
            all.push(c);
        }
        all
    }

    /// Where `dataset`'s `path` points (checked when the config was loaded).
    pub fn location(&self, dataset: &dyn DatasetConfig) -> Result<DatasetLocation> {
        DatasetLocation::parse(dataset.path(), &self.base_dir).map_err(|message| {
            let path = config_errors::dataset_path(dataset.path());
            Error::input(dataset.role(), path, message)
        })
    }
}

fn validate_waivers(waivers: &[Waiver], file: &str) -> Result<()> {
    for (i, waiver) in waivers.iter().enumerate() {
        let number = i + 1;
        if waiver.reason.trim().is_empty() || waiver.owner.trim().is_empty() {
            return Err(Error::config(
                file,
                format!(
                    "waiver {number}: `reason` and `owner` must not be empty; say why the risk is accepted and who accepted it"
                ),
            ));
        }
        let names_subject = waiver.subject_fields().iter().any(|(_, v)| v.is_some());
        match (&waiver.fingerprint, &waiver.check) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    file,
                    format!("waiver {number}: give `fingerprint` or `check`, not both"),
                ));
            }
            (Some(_), None) if names_subject => {
                return Err(Error::config(
                    file,
                    format!(
                        "waiver {number}: a fingerprint names one finding already; drop the subject fields"
                    ),
                ));
            }
            (None, None) => {
                return Err(Error::config(
                    file,
                    format!(
                        "waiver {number}: name the finding by `fingerprint`, or by `check` and its subject (sku, campaign, …)"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn iso_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<NaiveDate>, D::Error> {
    let text = String::deserialize(deserializer)?;
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| serde::de::Error::custom("not a date; write reference_date = \"YYYY-MM-DD\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
policies = ["cn"]
key = { env = "FAIRMARK_KEY" }
[datasets.orders]
path = "orders.csv"
customer = "uid"
ordered_at = "ts"
amount = "total"
"#;

    #[test]
    fn dataset_paths_on_s3_parse_and_other_urls_are_refused_by_key() {
        let on_s3 = MINIMAL.replace("orders.csv", "s3://shop-data/orders/*.parquet");
        let config = Config::parse(&on_s3, "fairmark.toml").unwrap();
        let orders = config.datasets.orders.as_ref().unwrap();
        assert_eq!(
            config.location(orders).unwrap(),
            DatasetLocation::S3 {
                bucket: "shop-data".into(),
                key: "orders/*.parquet".into()
            }
        );
        assert_eq!(
            DatasetLocation::parse("data/orders.csv", Path::new("/srv")),
            Ok(DatasetLocation::Local(PathBuf::from(
                "/srv/data/orders.csv"
            )))
        );
        let refused = |text: String| {
            Config::parse(&text, "fairmark.toml")
                .unwrap_err()
                .to_string()
        };
        let message = refused(MINIMAL.replace("orders.csv", "gs://shop-data/orders.csv"));
        assert!(
            message.starts_with("fairmark.toml: [datasets.orders] `path`: gs:// is not read"),
            "{message}"
        );
        let message = refused(MINIMAL.replace("orders.csv", "s3:///orders.csv"));
        assert!(message.contains("name the bucket after s3://"), "{message}");
        let message = refused(format!(
            "pricing_rules = \"s3://shop-data/rules.toml\"\n{MINIMAL}"
        ));
        assert!(
            message.contains("pricing_rules: only datasets are read from object storage"),
            "{message}"
        );
        let message = refused(format!(
            "{MINIMAL}[storage]\nendpoint = \"http://127.0.0.1:9000\"\n"
        ));
        assert!(message.contains("set allow_http = true"), "{message}");
        let allowed = format!(
            "{MINIMAL}[storage]\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\n"
        );
        assert_eq!(
            Config::parse(&allowed, "fairmark.toml")
                .unwrap()
                .storage
                .allow_http,
            Some(true)
        );
        // No key holds a credential, and a refused one is named without its value.
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let message = refused(format!(
            "{MINIMAL}[storage]\nsecret_access_key = \"{secret}\"\n"
        ));
        assert!(
            message.contains("unknown field `secret_access_key`"),
            "{message}"
        );
        assert!(!message.contains(secret), "{message}");
    }

    #[test]
    fn minimal_orders_only_config_parses() {
        let config = Config::parse(MINIMAL, "fairmark.toml").unwrap();
        let orders = config.datasets.orders.unwrap();
        assert_eq!(orders.amount.as_deref(), Some("total"));
        assert!(config.datasets.customers.is_none());
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = MINIMAL.replace("amount = \"total\"", "amount = \"total\"\nammount = \"x\"");
        let message = Config::parse(&text, "fairmark.toml")
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("fairmark.toml:9:1:"), "{message}");
        assert!(message.contains("ammount"), "{message}");
        assert_eq!(message.lines().count(), 1);
    }

    #[test]
    fn memory_limits_read_as_sizes() {
        assert_eq!(MemoryLimit::parse("auto"), Ok(MemoryLimit::Auto));
        assert_eq!(MemoryLimit::parse("Unlimited"), Ok(MemoryLimit::Unlimited));
        assert_eq!(
            MemoryLimit::parse("2GiB"),
            Ok(MemoryLimit::Bytes(2 * 1024 * 1024 * 1024))
        );
        assert_eq!(
            MemoryLimit::parse("1.5 GB"),
            Ok(MemoryLimit::Bytes(1_500_000_000))
        );
        assert_eq!(
            MemoryLimit::parse("67108864"),
            Ok(MemoryLimit::Bytes(64 << 20))
        );
        assert!(MemoryLimit::parse("2 GiBs").is_err());
        assert!(MemoryLimit::parse("1MB").unwrap_err().contains("16 MiB"));
        let text = format!("{MINIMAL}[engine]\nmemory_limit = \"lots\"\n");
        let message = Config::parse(&text, "f.toml").unwrap_err().to_string();
        assert!(message.starts_with("f.toml:10:"), "{message}");
        assert!(message.contains("memory_limit: unknown unit"), "{message}");
        assert!(
            MemoryLimit::parse("GiB")
                .unwrap_err()
                .contains("not a size")
        );
        let text = format!("{MINIMAL}[engine]\nmemory_limit = 100000000\n");
        let config = Config::parse(&text, "f.toml").unwrap();
        assert_eq!(config.engine.memory_limit, MemoryLimit::Bytes(100_000_000));
    }

    #[test]
    fn a_column_mapped_twice_is_refused() {
        let text = MINIMAL.replace("amount = \"total\"", "amount = \"ts\"");
        let message = Config::parse(&text, "f.toml").unwrap_err().to_string();
        assert!(message.contains("`ts` is mapped twice"), "{message}");
    }

    #[test]
    fn reference_dates_are_iso_dates() {
        let text = MINIMAL.replace("key = {", "reference_date = \"2026-10-31\"\nkey = {");
        let config = Config::parse(&text, "f.toml").unwrap();
        assert_eq!(config.reference_date, NaiveDate::from_ymd_opt(2026, 10, 31));
        let bad = MINIMAL.replace("key = {", "reference_date = \"31/10/2026\"\nkey = {");
        let message = Config::parse(&bad, "f.toml").unwrap_err().to_string();
        assert!(message.contains("YYYY-MM-DD"), "{message}");
    }
}
