//! `fairmark.toml`: which datasets play which role, how their columns map onto fairmark's
//! concepts, which policy packs apply and where the key comes from.
//!
//! Parsing is strict (unknown keys are errors with line and column) because a misspelled
//! key that is silently ignored is a check that silently does not run.
//!
//! Here: [`Config`] itself, its loading and the checks across its tables. Beside it: the
//! datasets and their column mappings ([`datasets`]), the engine, storage and cluster
//! settings ([`engine`]), the waivers ([`waiver`]) and the probe of a pricing service
//! ([`probe`]).

mod datasets;
mod engine;
pub mod probe;
mod waiver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::config_errors::{self, toml_error};
use crate::error::{Error, Result};
use crate::pseudonym::KeySource;

pub use datasets::{
    ColumnKind, ConsentActions, ConsentsDataset, CustomersDataset, DatasetConfig, DatasetLocation,
    Datasets, Format, MailSendsDataset, MappedColumn, OrdersDataset, QuotesDataset, url_scheme,
};
pub use engine::{ClusterConfig, EngineConfig, MemoryLimit, StorageConfig};
pub use waiver::Waiver;

use waiver::{WaiverFile, validate_waivers};

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
