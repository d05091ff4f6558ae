//! `[probe]`: how `fairmark probe` asks a pricing service for quotes: where the service is (an
//! HTTP endpoint or a command speaking JSON lines), how a request is written, which SKUs,
//! profiles and attributes to probe, and how politely to ask.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config_errors::shown_or;
use crate::error::{Error, Result};

/// The attributes a probe can vary between twins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeAttribute {
    /// Long against short tenure (`tenure_days`, with `is_new` following it).
    Tenure,
    /// iOS against Android (`device_os`).
    Device,
    /// Each protected attribute's groups (gender, birth decade, …).
    Protected,
    /// The `is_new` flag alone, tenure held equal.
    IsNew,
}

impl ProbeAttribute {
    pub fn name(self) -> &'static str {
        match self {
            ProbeAttribute::Tenure => "tenure",
            ProbeAttribute::Device => "device",
            ProbeAttribute::Protected => "protected",
            ProbeAttribute::IsNew => "is_new",
        }
    }
}

/// One field of the request template: a fairmark attribute (a bare string naming one) or a
/// literal sent as written (any other scalar, or `{ literal = … }` for text that would read as
/// an attribute).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TemplateValue {
    Literal { literal: toml::Value },
    Written(toml::Value),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// `http://host:port/path`: one JSON POST per quote.
    pub endpoint: Option<String>,
    /// A program and its arguments: one JSON request per line on its stdin, one JSON answer
    /// per line on its stdout, in order.
    pub command: Option<Vec<String>>,
    /// The service's JSON field → a fairmark attribute name, or a literal.
    #[serde(default)]
    pub request: BTreeMap<String, TemplateValue>,
    /// The answer's field holding the price (`data.price` for a nested one).
    #[serde(default = "default_price_field")]
    pub price_field: String,
    /// The SKUs to probe; without them, the `top_skus` most ordered.
    pub skus: Option<Vec<String>>,
    pub top_skus: Option<usize>,
    /// How many real customers' features the twins are built on.
    #[serde(default = "default_base_profiles")]
    pub base_profiles: usize,
    #[serde(default = "default_attributes")]
    pub attributes: Vec<ProbeAttribute>,
    /// The tenure of the short- and the long-tenure twin, in days.
    #[serde(default = "default_tenure_days")]
    pub tenure_days: [i64; 2],
    /// Requests per second, at most, over all connections.
    #[serde(default = "default_max_rps")]
    pub max_rps: f64,
    /// Requests in flight at once (pairs asked at once; a command runs this many copies).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of a request after a 429, a 5xx, a timeout or a connection error.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Requests this run may send, retries included.
    #[serde(default = "default_budget")]
    pub budget: u64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The resumable log (JSON lines), relative to the config file.
    #[serde(default = "default_log")]
    pub log: String,
    /// Above this share of failed or malformed requests the probe ends with an error.
    #[serde(default = "default_max_error_share")]
    pub max_error_share: f64,
    /// Which redirects the probe follows: `"none"` (the default) or `"same-origin"`.
    #[serde(default)]
    pub follow_redirects: FollowRedirects,
}

/// Which redirects an HTTP probe follows. A redirect is the service choosing where the probe's
/// next request goes; one to another host or port could send the twins' profiles (and the
/// probe's traffic) to a machine nobody chose, so none is followed unless the config allows
/// redirects within the endpoint's own origin (scheme, host and port). A redirect not followed
/// is a failed request of class `redirect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowRedirects {
    #[default]
    None,
    SameOrigin,
}

fn default_price_field() -> String {
    "price".into()
}
fn default_base_profiles() -> usize {
    20
}
fn default_attributes() -> Vec<ProbeAttribute> {
    vec![
        ProbeAttribute::Tenure,
        ProbeAttribute::Device,
        ProbeAttribute::Protected,
        ProbeAttribute::IsNew,
    ]
}
fn default_tenure_days() -> [i64; 2] {
    [30, 730]
}
fn default_max_rps() -> f64 {
    20.0
}
fn default_concurrency() -> usize {
    4
}
fn default_timeout_ms() -> u64 {
    5000
}
fn default_retries() -> u32 {
    3
}
fn default_budget() -> u64 {
    10_000
}
fn default_seed() -> u64 {
    1
}
fn default_log() -> String {
    "probe-log.jsonl".into()
}
fn default_max_error_share() -> f64 {
    0.05
}

/// Without `skus` or `top_skus`, the ten most ordered SKUs are probed.
pub const DEFAULT_TOP_SKUS: usize = 10;

impl ProbeConfig {
    /// Checks what can be checked without the data; `file` names the config in errors.
    pub fn validate(&self, file: &str) -> Result<()> {
        let refuse = |message: String| Err(Error::config(file, format!("[probe]: {message}")));
        match (&self.endpoint, &self.command) {
            (Some(_), Some(_)) => return refuse("give `endpoint` or `command`, not both".into()),
            (None, None) => {
                return refuse(
                    "name the service: endpoint = \"http://…\" or command = [\"program\", …]"
                        .into(),
                );
            }
            (Some(endpoint), None) => {
                if endpoint.starts_with("https://") {
                    return refuse("https endpoints are not supported yet (fairmark is built without TLS); probe the service over http (a staging deployment on a private network, or through a local TLS-terminating proxy)".into());
                }
                if !endpoint.starts_with("http://") {
                    return refuse("`endpoint` must be an http:// URL".into());
                }
            }
            (None, Some(command)) if command.is_empty() => {
                return refuse("`command` is empty; name the program to run".into());
            }
            _ => {}
        }
        if self.skus.is_some() && self.top_skus.is_some() {
            return refuse("give `skus` or `top_skus`, not both".into());
        }
        if self.skus.as_ref().is_some_and(Vec::is_empty) || self.top_skus == Some(0) {
            return refuse("no SKU to probe; list `skus` or set `top_skus` ≥ 1".into());
        }
        if !(1..=100_000).contains(&self.base_profiles) {
            return refuse("`base_profiles` must be between 1 and 100000".into());
        }
        if self.attributes.is_empty() {
            return refuse(
                "`attributes` is empty; name at least one of tenure, device, protected, is_new"
                    .into(),
            );
        }
        let [short, long] = self.tenure_days;
        if !(0 <= short && short < long && long <= 36_500) {
            return refuse("`tenure_days` = [short, long] with 0 ≤ short < long ≤ 36500".into());
        }
        if !(self.max_rps.is_finite() && self.max_rps > 0.0) {
            return refuse("`max_rps` must be a positive number".into());
        }
        if !(1..=256).contains(&self.concurrency) {
            return refuse("`concurrency` must be between 1 and 256".into());
        }
        if self.timeout_ms == 0 {
            return refuse("`timeout_ms` must be positive".into());
        }
        if self.retries > 20 {
            return refuse("`retries` must be at most 20".into());
        }
        if self.budget < 2 {
            return refuse("`budget` must allow at least one pair (2 requests)".into());
        }
        if !(0.0..1.0).contains(&self.max_error_share) {
            return refuse("`max_error_share` must be at least 0 and below 1".into());
        }
        if self.price_field.is_empty() {
            return refuse("`price_field` is empty".into());
        }
        for (field, value) in &self.request {
            let scalar =
                |v: &toml::Value| !matches!(v, toml::Value::Array(_) | toml::Value::Table(_));
            let ok = match value {
                TemplateValue::Literal { literal } => scalar(literal),
                TemplateValue::Written(written) => scalar(written),
            };
            if !ok {
                return refuse(format!(
                    "request.{}: expected an attribute name, a number, a boolean, text, or {{ literal = … }}",
                    shown_or(field, "(a field not shown)")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_errors::toml_error;

    fn parse(text: &str) -> Result<ProbeConfig> {
        let config: ProbeConfig =
            toml::from_str(text).map_err(|e| toml_error("f.toml", text, &e))?;
        config.validate("f.toml")?;
        Ok(config)
    }

    #[test]
    fn an_endpoint_probe_takes_the_defaults() {
        let config = parse(
            "endpoint = \"http://127.0.0.1:8080/price\"\nrequest = { sku = \"sku\", currency = \"CNY\", qty = 1, note = { literal = \"channel\" } }\n",
        )
        .unwrap();
        assert_eq!(config.base_profiles, 20);
        assert_eq!(config.max_error_share, 0.05);
        assert_eq!(config.attributes.len(), 4);
        assert!(matches!(
            config.request["note"],
            TemplateValue::Literal { .. }
        ));
    }

    #[test]
    fn https_and_two_services_are_refused_with_the_reason() {
        let https = parse("endpoint = \"https://shop.example/price\"").unwrap_err();
        assert!(
            https
                .to_string()
                .contains("https endpoints are not supported yet")
        );
        let both = parse("endpoint = \"http://a/\"\ncommand = [\"x\"]").unwrap_err();
        assert!(both.to_string().contains("not both"));
        let unknown: std::result::Result<ProbeConfig, _> =
            toml::from_str("endpoint = \"http://a/\"\nretry = 3");
        assert!(unknown.is_err());
    }

    #[test]
    fn redirects_are_not_followed_unless_to_the_same_origin_and_configured() {
        let endpoint = "endpoint = \"http://127.0.0.1:8080/price\"\n";
        assert_eq!(
            parse(endpoint).unwrap().follow_redirects,
            FollowRedirects::None
        );
        let same_origin = format!("{endpoint}follow_redirects = \"same-origin\"\n");
        assert_eq!(
            parse(&same_origin).unwrap().follow_redirects,
            FollowRedirects::SameOrigin
        );
        let any = format!("{endpoint}follow_redirects = \"any\"\n");
        let message = parse(&any).unwrap_err().to_string();
        assert!(
            message.contains("expected `none` or `same-origin`"),
            "{message}"
        );
        assert!(!message.contains("any"), "{message}");
    }
}
