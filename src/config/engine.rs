//! How and where the engine runs: `[engine]` (memory limit, spill directory, threads),
//! `[storage]` (object-storage options, never credentials) and `[cluster]`.

use serde::Deserialize;

use crate::pseudonym::KeySource;

/// `[cluster]`: what a process of a cluster shows the others, and asks of them.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The secret every process of the cluster holds, from the environment or a file as the
    /// key is (`{ env = "VAR" }` or `{ file = "path" }`): requests without it are refused.
    pub token: KeySource,
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
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
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
