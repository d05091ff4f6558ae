//! Statistics of the sampled columns of one data file: what `fairmark init` infers a mapping
//! from. Values are read here and only counted: shares of values the PII recognizers know,
//! that parse as timestamps, that are numbers, and hashes of values to count distinct ones and
//! to see which column of one file refers to another's. The one exception is a text column
//! with few distinct values, whose vocabulary is kept to recognize channel, consent-action,
//! gender and flag words; it leaves `init` only as consent-action words the config may name.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::cast_utils::string_to_datetime;
use datafusion::arrow::datatypes::{DataType, Float64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::pii::{PiiKind, find_spans, names_documents, scan_mask};

/// How many rows of each file are read: as many as CSV type inference reads, so every sampled
/// cell fits the type the audit will read it as.
pub const SAMPLE_ROWS: usize = 10_000;

/// A text column with at most this many distinct values keeps them, to be read as a
/// vocabulary (channels, consent actions, genders, flags).
pub const VOCABULARY_MAX: usize = 24;

/// A label announcing a person's name: the name recognizer finds names only where text says
/// one follows, and a column of bare names says so by being a column.
const NAME_LABEL: &str = "姓名：";

/// Text longer than this is not read as a person's name.
const NAME_MAX_CHARS: usize = 12;

/// One sampled file.
#[derive(Debug)]
pub struct TableProfile {
    pub rows: usize,
    pub columns: Vec<ColumnProfile>,
}

/// One sampled column, as counts.
#[derive(Debug)]
pub struct ColumnProfile {
    pub name: String,
    /// Counted from 1, to name a column whose name is not shown.
    pub position: usize,
    pub data_type: DataType,
    pub rows: usize,
    pub non_null: usize,
    /// Values that are, whole, one identifier of a kind (nothing else but punctuation).
    pub whole: BTreeMap<PiiKind, usize>,
    /// Values holding an identifier of any kind anywhere.
    pub holding_pii: usize,
    /// Values holding an identifier of a kind anywhere, by kind.
    pub holding: BTreeMap<PiiKind, usize>,
    /// Values with nothing but a document number's shape, in a column named for documents.
    pub document_shaped: usize,
    /// Values that read as a Chinese personal name once a label announces one.
    pub person_names: usize,
    /// Values that parse as a timestamp (typed timestamps and dates all do).
    pub timestamps: usize,
    /// Text values with a space inside: words, not codes.
    pub with_spaces: usize,
    /// Text values longer than a name could be.
    pub long_text: usize,
    /// Text values with a digit.
    pub with_digits: usize,
    /// Numeric columns: the least and greatest value and whether every value is whole.
    pub numbers: Option<Numbers>,
    /// Hashes of the values as text: how many distinct, and which other column's values these
    /// are among.
    pub hashes: HashSet<u64>,
    /// The distinct values, when there are at most [`VOCABULARY_MAX`] and the column is text.
    pub vocabulary: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Numbers {
    pub min: f64,
    pub max: f64,
    pub integers: bool,
}

impl ColumnProfile {
    fn new(name: &str, position: usize, data_type: &DataType) -> ColumnProfile {
        ColumnProfile {
            name: name.to_string(),
            position,
            data_type: data_type.clone(),
            rows: 0,
            non_null: 0,
            whole: BTreeMap::new(),
            holding_pii: 0,
            holding: BTreeMap::new(),
            document_shaped: 0,
            person_names: 0,
            timestamps: 0,
            with_spaces: 0,
            long_text: 0,
            with_digits: 0,
            numbers: None,
            hashes: HashSet::new(),
            vocabulary: Some(BTreeSet::new()),
        }
    }

    /// `count` as a share of the non-null values (0 for an empty column).
    pub fn share(&self, count: usize) -> f64 {
        if self.non_null == 0 {
            0.0
        } else {
            count as f64 / self.non_null as f64
        }
    }

    /// The share of values that are wholly of one of `kinds`.
    pub fn whole_share(&self, kinds: &[PiiKind]) -> f64 {
        self.share(kinds.iter().filter_map(|k| self.whole.get(k)).sum())
    }

    pub fn distinct(&self) -> usize {
        self.hashes.len()
    }

    /// Every non-null value differs from the others.
    pub fn unique(&self) -> bool {
        self.non_null > 0 && self.distinct() == self.non_null && self.non_null == self.rows
    }

    pub fn is_text(&self) -> bool {
        matches!(
            self.data_type,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    }

    pub fn is_integer(&self) -> bool {
        self.data_type.is_integer()
    }

    pub fn is_numeric(&self) -> bool {
        self.data_type.is_numeric()
    }

    pub fn is_boolean(&self) -> bool {
        self.data_type == DataType::Boolean
    }

    /// Text or integers: what can be a key.
    pub fn is_key_type(&self) -> bool {
        self.is_text() || self.is_integer()
    }

    pub fn is_typed_time(&self) -> bool {
        matches!(
            self.data_type,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
    }

    /// The vocabulary, lower-cased and trimmed, when the column keeps one.
    pub fn words(&self) -> Option<BTreeSet<String>> {
        self.vocabulary
            .as_ref()
            .map(|v| v.iter().map(|w| w.trim().to_lowercase()).collect())
    }

    /// Share of this column's distinct values that are among `other`'s.
    pub fn found_in(&self, other: &ColumnProfile) -> f64 {
        if self.hashes.is_empty() {
            return 0.0;
        }
        let found = self.hashes.intersection(&other.hashes).count();
        found as f64 / self.hashes.len() as f64
    }
}

/// Counts what `batches` hold, column by column.
pub fn profile(schema: &SchemaRef, batches: &[RecordBatch]) -> TableProfile {
    let mut columns: Vec<ColumnProfile> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| ColumnProfile::new(f.name(), i + 1, f.data_type()))
        .collect();
    for batch in batches {
        for (column, values) in columns.iter_mut().zip(batch.columns()) {
            observe(column, values);
        }
    }
    for column in &mut columns {
        if !column.is_text() {
            column.vocabulary = None;
        }
    }
    TableProfile {
        rows: batches.iter().map(RecordBatch::num_rows).sum(),
        columns,
    }
}

fn observe(column: &mut ColumnProfile, values: &dyn Array) {
    column.rows += values.len();
    column.non_null += values.len() - values.null_count();
    if column.data_type.is_numeric()
        && let Ok(numbers) = cast(values, &DataType::Float64)
    {
        for value in numbers.as_primitive::<Float64Type>().iter().flatten() {
            let seen = column.numbers.get_or_insert(Numbers {
                min: value,
                max: value,
                integers: true,
            });
            seen.min = seen.min.min(value);
            seen.max = seen.max.max(value);
            seen.integers &= value.fract() == 0.0;
        }
    }
    if column.is_typed_time() {
        column.timestamps += values.len() - values.null_count();
    }
    // Nested and binary columns have no text form; they stay unmapped.
    let Ok(text) = cast(values, &DataType::Utf8) else {
        return;
    };
    let is_text = column.is_text();
    let scanned = is_text || matches!(column.data_type, DataType::Int64 | DataType::UInt64);
    let documents = names_documents(&column.name);
    for value in text.as_string::<i32>().iter().flatten() {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        column.hashes.insert(hasher.finish());
        if let Some(vocabulary) = &mut column.vocabulary {
            vocabulary.insert(value.to_string());
            if vocabulary.len() > VOCABULARY_MAX {
                column.vocabulary = None;
            }
        }
        if scanned {
            observe_identifiers(column, value, documents);
        }
        if is_text {
            observe_text(column, value);
        }
    }
}

fn observe_identifiers(column: &mut ColumnProfile, value: &str, documents: bool) {
    let spans = find_spans(value);
    if spans.is_empty() {
        return;
    }
    column.holding_pii += 1;
    // Whole: what is left outside the spans is punctuation and spaces at most.
    let mut rest = value.to_string();
    let mut sorted = spans.clone();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.start));
    for span in &sorted {
        rest.replace_range(span.start..span.end, " ");
    }
    let kinds: BTreeSet<PiiKind> = spans.iter().map(|s| s.kind).collect();
    for kind in &kinds {
        *column.holding.entry(*kind).or_default() += 1;
    }
    if kinds.len() == 1 && !rest.chars().any(char::is_alphanumeric) {
        *column.whole.entry(spans[0].kind).or_default() += 1;
    }
    if documents
        && PiiKind::SHAPE_ONLY
            .iter()
            .any(|k| scan_mask(value) & k.shape_only_bit() != 0)
    {
        column.document_shaped += 1;
    }
}

fn observe_text(column: &mut ColumnProfile, value: &str) {
    let value = value.trim();
    let chars = value.chars().count();
    if value.contains(char::is_whitespace) {
        column.with_spaces += 1;
    }
    let digits = value.contains(|c: char| c.is_ascii_digit());
    if digits {
        column.with_digits += 1;
    }
    if chars > NAME_MAX_CHARS {
        column.long_text += 1;
    } else if !value.is_empty() && !digits {
        let labelled = format!("{NAME_LABEL}{value}");
        let named = find_spans(&labelled).iter().any(|s| {
            s.kind == PiiKind::PersonName && s.start == NAME_LABEL.len() && s.end == labelled.len()
        });
        if named {
            column.person_names += 1;
        }
    }
    match string_to_datetime(&chrono::Utc, value) {
        Ok(time) if time.timestamp_nanos_opt().is_some() => column.timestamps += 1,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn text_profile(values: &[Option<&str>]) -> ColumnProfile {
        let schema = Arc::new(Schema::new(vec![Field::new("c", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(values.to_vec()))],
        )
        .unwrap();
        profile(&schema, &[batch]).columns.remove(0)
    }

    #[test]
    fn whole_identifiers_are_told_from_identifiers_inside_text() {
        let phones = text_profile(&[
            Some("13800138000"),
            Some("+86 138-0013-8001"),
            Some("139 0013 8002"),
            None,
        ]);
        assert_eq!(phones.non_null, 3);
        assert_eq!(phones.whole_share(&[PiiKind::CnMobile]), 1.0);
        let notes = text_profile(&[
            Some("call back on 13800138000"),
            Some("gift wrap requested"),
            Some("prefers weekend delivery"),
        ]);
        assert_eq!(notes.holding_pii, 1);
        assert_eq!(notes.whole_share(&[PiiKind::CnMobile]), 0.0);
        assert_eq!(notes.with_spaces, 3);
    }

    #[test]
    fn bare_chinese_names_read_as_names_and_brands_do_not() {
        let names = text_profile(&[Some("张伟"), Some("欧阳娜娜"), Some("李军"), Some("王老吉")]);
        assert_eq!(names.person_names, 3);
        assert_eq!(names.holding_pii, 0, "a bare name holds no identifier");
    }

    #[test]
    fn vocabularies_are_kept_only_while_small() {
        let channels = text_profile(&[Some("email"), Some("sms"), Some("email")]);
        assert_eq!(channels.distinct(), 2);
        assert_eq!(
            channels.words().unwrap(),
            BTreeSet::from(["email".to_string(), "sms".to_string()])
        );
        let many: Vec<String> = (0..=VOCABULARY_MAX).map(|i| format!("w{i}")).collect();
        let many: Vec<Option<&str>> = many.iter().map(|w| Some(w.as_str())).collect();
        assert!(text_profile(&many).vocabulary.is_none());
    }

    #[test]
    fn timestamps_numbers_and_overlaps_are_counted() {
        let times = text_profile(&[Some("2024-05-01T12:00:00"), Some("2024-05-02"), Some("x")]);
        assert_eq!(times.timestamps, 2);
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![Some(3), None, Some(1990)]))],
        )
        .unwrap();
        let numbers = profile(&schema, &[batch]).columns.remove(0);
        assert_eq!(
            numbers.numbers,
            Some(Numbers {
                min: 3.0,
                max: 1990.0,
                integers: true
            })
        );
        assert!(numbers.vocabulary.is_none(), "only text keeps a vocabulary");
        let ids = text_profile(&[Some("U1"), Some("U2"), Some("U3"), Some("U4")]);
        let refs = text_profile(&[Some("U1"), Some("U1"), Some("U9")]);
        assert_eq!(refs.found_in(&ids), 0.5);
        assert!(ids.unique() && !refs.unique());
    }
}
