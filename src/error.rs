//! The library's error type. Every variant names what a person must fix (file, key, column)
//! and never carries a raw data value: engine messages pass through [`redact`] first.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `fairmark.toml` or a rules file is malformed or inconsistent.
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// A policy pack is malformed or unknown.
    #[error("policy {pack}: {message}")]
    Policy { pack: String, message: String },
    /// The pseudonymization key is missing, too short or unreadable.
    #[error("key: {0}")]
    Key(String),
    /// A dataset cannot be read or does not match its declared mapping.
    #[error("dataset {role} ({location}): {message}")]
    Input {
        role: String,
        location: String,
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The query engine failed; the message is already redacted.
    #[error("query engine: {0}")]
    Engine(String),
    /// The command line asks for something that cannot be done.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn config(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            file: file.into(),
            message: message.into(),
        }
    }

    pub fn input(role: &str, location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            role: role.to_string(),
            location: location.into(),
            message: message.into(),
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Attaches dataset context to an engine failure, so that a parse error deep in a scan
    /// still names the dataset and its files.
    pub fn in_dataset(self, role: &str, location: &str) -> Self {
        match self {
            Error::Engine(message) => Error::input(role, location, message),
            other => other,
        }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        Error::Engine(redact(&first_line(&error.to_string())))
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(error: datafusion::arrow::error::ArrowError) -> Self {
        Error::Engine(redact(&first_line(&error.to_string())))
    }
}

impl From<datafusion::parquet::errors::ParquetError> for Error {
    fn from(error: datafusion::parquet::errors::ParquetError) -> Self {
        Error::Engine(redact(&first_line(&error.to_string())))
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_string()
}

/// Removes anything from an engine message that may be a data value.
///
/// Arrow and DataFusion quote offending values ("Error parsing '13800138000' as Float64") and
/// some readers append whole rows ("Row data: [...]"). Column names are quoted the same way,
/// so everything quoted goes; the message keeps the line number and the expected type, which
/// is what a person needs to find the cell themselves.
pub fn redact(message: &str) -> String {
    let without_rows = match message.find("Row data") {
        Some(at) => format!("{}<row redacted>", &message[..at]),
        None => message.to_string(),
    };
    let mut redacted = String::with_capacity(without_rows.len());
    let mut chars = without_rows.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let closing = chars.clone().position(|next| next == c);
            if let Some(length) = closing {
                for _ in 0..=length {
                    chars.next();
                }
                redacted.push_str("<value>");
                continue;
            }
        }
        redacted.push(c);
    }
    crate::pii::mask_spans(&redacted, "<redacted>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_quoted_values_rows_and_pii() {
        let message = "Parser error: Error while parsing value '13800138000' for column 2 at line 7. Row data: [13800138000, a@b.cn]";
        let clean = redact(message);
        assert!(!clean.contains("13800138000"), "{clean}");
        assert!(clean.contains("line 7"));
        let bare = redact("bad value 13912345678 and mail zhang.wei@example.cn here");
        assert!(
            !bare.contains("13912345678") && !bare.contains("zhang.wei"),
            "{bare}"
        );
    }
}
