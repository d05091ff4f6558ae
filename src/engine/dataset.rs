//! A dataset as registered ([`RegisteredDataset`]): where it came from, its files, rows and
//! schema, for the checks and the report's provenance.

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use serde::Serialize;

use super::storage::{DataFile, InputFile};
use super::validate::is_text;
use crate::config::Format;

/// A dataset as registered: where it came from, how big it is, what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredDataset {
    pub role: &'static str,
    /// `path` as written in the config.
    pub location: String,
    pub format: &'static str,
    pub rows: u64,
    pub files: Vec<InputFile>,
    /// The table holding the dataset as read, under its own column names.
    #[serde(skip)]
    pub raw_table: String,
    #[serde(skip)]
    pub schema: SchemaRef,
    /// The files, in the order they were resolved.
    #[serde(skip)]
    pub sources: Vec<DataFile>,
    #[serde(skip)]
    pub file_format: Format,
}

impl RegisteredDataset {
    /// Columns that can hold identifiers: text, and integers long enough to be phone numbers.
    pub fn scannable_columns(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .filter(|f| {
                is_text(f.data_type())
                    || matches!(f.data_type(), DataType::Int64 | DataType::UInt64)
            })
            .map(|f| f.name().clone())
            .collect()
    }
}
