//! The probe's resumable log: one JSON line per request asked, written as each is answered or
//! given up on (request key, comparison, SKU, which twin, the attributes sent, the status, the
//! price or the error class — never an identifier, since requests carry none). A probe run
//! again with the same log takes every answered request from it and asks only the rest.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub comparison: String,
    pub sku: String,
    /// `treated` (the twin that may be disadvantaged) or `reference`.
    pub twin: String,
    pub sent: Value,
    /// The HTTP status of the last attempt (200 for a command's answer), if one came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Why there is no price: `HTTP 500`, `timeout`, `connection error`, `malformed answer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub attempts: u32,
}

pub struct Log {
    path: PathBuf,
    file: Mutex<File>,
}

impl Log {
    /// Opens (or creates) the log at `path` for appending, and returns the price of every
    /// request it holds an answer for (the last line of a key wins). A line cut short by a
    /// killed run is skipped, and the next entry starts on a line of its own.
    pub fn open(path: &Path) -> Result<(Log, HashMap<String, f64>)> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| Error::io(path, e))?;
        let mut answered = HashMap::new();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<Entry>(line) else {
                continue;
            };
            match entry.price {
                Some(price) => answered.insert(entry.key, price),
                None => answered.remove(&entry.key),
            };
        }
        if !text.is_empty() && !text.ends_with('\n') {
            file.seek(SeekFrom::End(0))
                .and_then(|_| file.write_all(b"\n"))
                .map_err(|e| Error::io(path, e))?;
        }
        Ok((
            Log {
                path: path.to_path_buf(),
                file: Mutex::new(file),
            },
            answered,
        ))
    }

    /// Appends one entry, flushed, so a run stopped at any point leaves every answer so far.
    pub fn record(&self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_string(entry).expect("an entry serializes");
        line.push('\n');
        let mut file = self.file.lock().expect("the log lock is not poisoned");
        file.write_all(line.as_bytes())
            .and_then(|_| file.flush())
            .map_err(|e| Error::io(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, price: Option<f64>) -> Entry {
        Entry {
            key: key.into(),
            comparison: "tenure_days 730 vs 30".into(),
            sku: "SKU1".into(),
            twin: "treated".into(),
            sent: serde_json::json!({"days": 730}),
            status: price.map(|_| 200),
            price,
            error: price.is_none().then(|| "HTTP 500".to_string()),
            attempts: 1,
        }
    }

    #[test]
    fn a_reopened_log_knows_its_answers_and_survives_a_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probe-log.jsonl");
        {
            let (log, answered) = Log::open(&path).unwrap();
            assert!(answered.is_empty());
            log.record(&entry("a", Some(10.0))).unwrap();
            log.record(&entry("b", None)).unwrap();
            log.record(&entry("c", Some(12.5))).unwrap();
        }
        // A run killed half-way through a line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"key\":\"d\",\"compa").unwrap();
        drop(file);
        let (log, answered) = Log::open(&path).unwrap();
        assert_eq!(answered.len(), 2);
        assert_eq!(answered["c"], 12.5);
        log.record(&entry("b", Some(11.0))).unwrap();
        let (_, answered) = Log::open(&path).unwrap();
        assert_eq!(answered["b"], 11.0);
        assert_eq!(answered.len(), 3);
    }
}
