//! The library's error type, and the one redactor on the error path. Every variant names what
//! a person must fix (file, key, column, row, expected type) and never carries a raw data
//! value: engine messages pass through [`redact`] when they become an [`Error`], names taken
//! from the data are shown only when [`printable_name`] allows, and the binary passes the
//! whole line through [`for_terminal`] before printing it.

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
    /// A data file read on its own, before any dataset names it (by `fairmark init`), cannot
    /// be read; the message says where in the file, as a dataset's would.
    #[error("{}: {message}", path.display())]
    DataFile { path: PathBuf, message: String },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The query engine failed; the message is already redacted.
    #[error("query engine: {0}")]
    Engine(String),
    /// A plan needed more memory than the pool allows and could not spill it; the message
    /// names the largest consumers (operators, never values).
    #[error(
        "the engine needs more memory than [engine] memory_limit allows ({0}); raise memory_limit or set it to \"unlimited\""
    )]
    MemoryBudget(String),
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
        if let datafusion::error::DataFusionError::ResourcesExhausted(detail) = error.find_root() {
            // "Additional allocation failed for ExternalSorter[0] with top memory consumers …":
            // the operator that ran out is what a person can act on.
            let operator = detail.split(" with top memory").next().unwrap_or(detail);
            return Error::MemoryBudget(redact(operator));
        }
        Error::Engine(redact(&error.to_string()))
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(error: datafusion::arrow::error::ArrowError) -> Self {
        Error::Engine(redact(&error.to_string()))
    }
}

impl From<datafusion::parquet::errors::ParquetError> for Error {
    fn from(error: datafusion::parquet::errors::ParquetError) -> Self {
        Error::Engine(redact(&error.to_string()))
    }
}

/// An engine message on one line. DataFusion puts the cause of a failure on the lines after
/// its context ("Error when processing CSV file …", "caused by", "Arrow error: …"), and the
/// cause is what says where.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "caused by")
        .collect::<Vec<_>>()
        .join(": ")
}

/// Removes anything from an engine message that may be a data value, and puts it on one line.
///
/// Arrow and DataFusion quote offending values ("Error parsing '13800138000' as Float64") and
/// some readers append whole rows ("Row data: [...]"). Column names are quoted the same way,
/// so everything quoted goes; the message keeps the line number and the expected type, which
/// is what a person needs to find the cell themselves.
pub fn redact(message: &str) -> String {
    let message = one_line(message);
    let without_rows = match message.find("Row data") {
        Some(at) => format!("{}<row redacted>", &message[..at]),
        None => message,
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

/// The last pass before an error is printed: one line, and any identifier the PII recognizers
/// know masked, whatever path the message took.
pub fn for_terminal(message: &str) -> String {
    let one_line = message.lines().collect::<Vec<_>>().join(" ");
    crate::pii::mask_spans(&one_line, "<redacted>")
}

/// Whether a name taken from the data (a CSV header cell, a value of a vocabulary column) reads
/// as a name a person wrote, so that a message may show it: ASCII, starting with a letter or
/// `_`, made of letters, digits, `_`, `-` and `.`, at most 64 characters and 4 digits, and
/// nothing the PII recognizers know. Anything else may be a customer's value and is counted,
/// not shown. Names a person wrote in the config are always shown.
pub fn printable_name(name: &str) -> bool {
    name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.chars().filter(char::is_ascii_digit).count() <= 4
        && crate::pii::kind_mask(name) == 0
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

    #[test]
    fn redact_drops_the_value_of_a_timestamp_parse_error() {
        let clean = redact(
            "Arrow error: Parser error: Error parsing timestamp from 'Hannah Miller': error parsing date",
        );
        assert_eq!(
            clean,
            "Arrow error: Parser error: Error parsing timestamp from <value>: error parsing date"
        );
        let nested = redact(
            "Error when processing CSV file a.csv\ncaused by\nArrow error: Csv error: incorrect number of fields for line 3",
        );
        assert_eq!(
            nested,
            "Error when processing CSV file a.csv: Arrow error: Csv error: incorrect number of fields for line 3",
            "the cause stays, on the same line"
        );
    }

    #[test]
    fn the_terminal_pass_masks_identifiers_on_every_path_and_joins_lines() {
        let line = for_terminal(
            "dataset customers (customers.csv): unexpected 13800138000\nand li.na@example.cn",
        );
        assert_eq!(
            line,
            "dataset customers (customers.csv): unexpected <redacted> and <redacted>"
        );
        let plain = "dataset customers (customers.csv): column `registered_at` (mapped as `signup_at`), row 6: not a timestamp (expected e.g. 2024-05-01 12:00:00)";
        assert_eq!(for_terminal(plain), plain, "dates, rows and names survive");
    }

    #[test]
    fn printable_names_are_names_not_values() {
        for name in [
            "uid",
            "registered_at",
            "list_unit_price",
            "address_line_2",
            "opt-out",
            "TD",
        ] {
            assert!(printable_name(name), "{name}");
        }
        for value in [
            "U1000002",
            "13800138000",
            "hannah.miller1487@example.cn",
            "310101199407095896",
            "Hannah Miller",
            "上海",
            "2026-06-06T13:33:02",
            "0.96",
            "1994",
            "",
        ] {
            assert!(!printable_name(value), "{value}");
        }
    }
}
