//! The DataFusion session: datasets registered by role, checked against their column mapping,
//! and exposed as canonical views (`fm_customers`, `fm_orders`) whose column names are
//! fairmark's concepts, whatever the company called them. Every check and the segmentation
//! query these views; all scans, joins, aggregates and windows run as DataFusion plans.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::{
    CsvReadOptions, DataFrame, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{ColumnKind, Config, DatasetConfig, Format, MappedColumn};
use crate::error::{Error, Result};
use crate::pii::PiiMaskUdf;
use crate::pseudonym::{IdentifierClass, Key, TokenUdf};
use crate::segment::generalize::GeneralizeUdf;

/// One input file, for the report's provenance.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// As reached from the config file's directory.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

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

pub struct Engine {
    pub ctx: SessionContext,
    pub key: Arc<Key>,
    pub datasets: Vec<RegisteredDataset>,
}

impl Engine {
    /// Registers every configured dataset and its canonical view.
    pub async fn open(config: &Config, key: Arc<Key>) -> Result<Engine> {
        let session = SessionConfig::new().with_information_schema(false);
        let ctx = SessionContext::new_with_config(session);
        for class in IdentifierClass::ALL {
            ctx.register_udf(TokenUdf::udf(class, key.clone()));
        }
        ctx.register_udf(TokenUdf::recipient_udf(key.clone()));
        ctx.register_udf(GeneralizeUdf::udf());
        ctx.register_udf(crate::mail::time::LocalMinuteUdf::udf());
        ctx.register_udf(crate::mail::time::BusinessDeadlineUdf::udf());
        ctx.register_udf(PiiMaskUdf::udf());
        let mut engine = Engine {
            ctx,
            key,
            datasets: Vec::new(),
        };
        for dataset in config.dataset_configs() {
            let registered = engine.register(config, dataset).await?;
            engine.datasets.push(registered);
        }
        if let Some(customers) = &config.datasets.customers {
            let view = customers_view_sql(
                customers,
                engine.dataset("customers").expect("registered above"),
            );
            engine
                .create_view("fm_customers", &view, "customers")
                .await?;
        }
        if let Some(orders) = &config.datasets.orders {
            let view = orders_view_sql(orders, engine.dataset("orders").expect("registered above"));
            engine.create_view("fm_orders", &view, "orders").await?;
        }
        if let Some(quotes) = &config.datasets.quotes {
            let view = quotes_view_sql(quotes, engine.dataset("quotes").expect("registered above"));
            engine.create_view("fm_quotes", &view, "quotes").await?;
        }
        Ok(engine)
    }

    pub fn dataset(&self, role: &str) -> Option<&RegisteredDataset> {
        self.datasets.iter().find(|d| d.role == role)
    }

    /// Runs SQL; engine errors are attributed to `role`'s dataset.
    pub async fn sql(&self, sql: &str, role: &str) -> Result<DataFrame> {
        let location = self
            .dataset(role)
            .map_or_else(|| role.to_string(), |d| d.location.clone());
        self.ctx
            .sql(sql)
            .await
            .map_err(|e| Error::from(e).in_dataset(role, &location))
    }

    /// Collects a small result (aggregates, class counts), attributing errors to `role`.
    pub async fn collect(
        &self,
        sql: &str,
        role: &str,
    ) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>> {
        let location = self
            .dataset(role)
            .map_or_else(|| role.to_string(), |d| d.location.clone());
        let frame = self.sql(sql, role).await?;
        frame
            .collect()
            .await
            .map_err(|e| Error::from(e).in_dataset(role, &location))
    }

    async fn create_view(&self, name: &str, select: &str, role: &str) -> Result<()> {
        let frame = self.sql(select, role).await?;
        self.ctx.register_table(name, frame.into_view())?;
        Ok(())
    }

    async fn register(
        &self,
        config: &Config,
        dataset: &dyn DatasetConfig,
    ) -> Result<RegisteredDataset> {
        let role = dataset.role();
        let location = dataset.path().to_string();
        let (files, format) = config.resolve_files(dataset)?;
        let in_dataset =
            |e: datafusion::error::DataFusionError| Error::from(e).in_dataset(role, &location);
        if format == Format::Parquet {
            for file in &files {
                check_parquet_envelope(file)
                    .map_err(|message| Error::input(role, &location, message))?;
            }
        }
        let paths: Vec<String> = files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let frame = read(&self.ctx, paths, format, &files[0])
            .await
            .map_err(in_dataset)?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let raw_table = format!("raw_{role}");
        self.ctx
            .register_table(raw_table.as_str(), frame.into_view())
            .map_err(in_dataset)?;
        let rows = self
            .ctx
            .table(raw_table.as_str())
            .await
            .map_err(in_dataset)?
            .count()
            .await
            .map_err(in_dataset)? as u64;
        if rows == 0 {
            return Err(Error::input(
                role,
                &location,
                "has no rows; point `path` at the data, or remove the dataset from the config",
            ));
        }
        // Checked after counting: the columns of an empty CSV have no type to check.
        for column in dataset.mapped_columns() {
            check_column(&schema, &column)
                .map_err(|message| Error::input(role, &location, message))?;
        }
        let files = files
            .iter()
            .map(|file| describe_file(file, &config.base_dir))
            .collect::<Result<Vec<_>>>()?;
        Ok(RegisteredDataset {
            role,
            location,
            format: format.name(),
            rows,
            files,
            raw_table,
            schema,
        })
    }
}

async fn read(
    ctx: &SessionContext,
    paths: Vec<String>,
    format: Format,
    first: &Path,
) -> datafusion::error::Result<DataFrame> {
    match format {
        Format::Parquet => {
            let options = ParquetReadOptions {
                file_extension: "",
                ..Default::default()
            };
            ctx.read_parquet(paths, options).await
        }
        Format::Csv => {
            let tab_separated = first
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            let options = CsvReadOptions::new()
                .has_header(true)
                .delimiter(if tab_separated { b'\t' } else { b',' })
                .file_extension("")
                .schema_infer_max_records(10_000);
            ctx.read_csv(paths, options).await
        }
        Format::Ndjson => {
            let options = JsonReadOptions {
                file_extension: "",
                schema_infer_max_records: 10_000,
                ..Default::default()
            };
            ctx.read_json(paths, options).await
        }
    }
}

/// Checks a Parquet file's magic bytes and footer length before the reader sees it: some
/// malformed footers make the reader panic instead of returning an error.
fn check_parquet_envelope(path: &Path) -> std::result::Result<(), String> {
    use std::io::{Seek, SeekFrom};
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let corrupt = |what: &str| format!("{name} is not a readable Parquet file ({what})");
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let size = file
        .metadata()
        .map_err(|e| format!("cannot stat {name}: {e}"))?
        .len();
    if size < 12 {
        return Err(corrupt("too short"));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    file.read_exact(&mut head)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    file.seek(SeekFrom::End(-8))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if &head != b"PAR1" || &tail[4..] != b"PAR1" {
        return Err(corrupt(
            "no PAR1 magic bytes; encrypted footers are not supported",
        ));
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer + 12 > size {
        return Err(corrupt("corrupt footer length"));
    }
    Ok(())
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_scalar(data_type: &DataType) -> bool {
    !data_type.is_nested()
        && !matches!(
            data_type,
            DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_)
                | DataType::Null
        )
}

/// Checks that `column` exists and can hold what its mapping says.
fn check_column(schema: &SchemaRef, column: &MappedColumn) -> std::result::Result<(), String> {
    let Ok(field) = schema.field_with_name(&column.column) else {
        let available: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(format!(
            "column `{}` (mapped as `{}`) is not in the data; columns are: {}",
            column.column,
            column.key,
            available.join(", ")
        ));
    };
    let data_type = field.data_type();
    let fits = match column.kind {
        ColumnKind::Key | ColumnKind::Text => is_scalar(data_type),
        ColumnKind::Number => data_type.is_numeric(),
        ColumnKind::Timestamp => {
            is_text(data_type)
                || matches!(
                    data_type,
                    DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
                )
        }
    };
    if fits {
        return Ok(());
    }
    let found = if is_text(data_type) {
        "text".to_string()
    } else {
        data_type.to_string()
    };
    Err(format!(
        "column `{}` (mapped as `{}`) holds {found}; expected {}",
        column.column,
        column.key,
        column.kind.expected()
    ))
}

fn describe_file(path: &Path, base_dir: &Path) -> Result<InputFile> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(|e| Error::io(path, e))?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        hasher.update(&buffer[..read]);
    }
    let shown: PathBuf = path
        .strip_prefix(base_dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf());
    Ok(InputFile {
        path: shown.to_string_lossy().into_owned(),
        bytes,
        sha256: crate::pseudonym::hex(&hasher.finalize()),
    })
}

/// A UDF argument read as text, whatever its type: Parquet strings arrive as `Utf8View`, CSV
/// identifiers sometimes as integers.
pub fn text_argument(
    value: &datafusion::logical_expr::ColumnarValue,
    rows: usize,
) -> datafusion::common::Result<datafusion::arrow::array::StringArray> {
    use datafusion::arrow::array::AsArray;
    let text = datafusion::arrow::compute::cast(&value.to_array(rows)?, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().clone())
}

/// A quoted SQL identifier, so column names keep their case and may hold any character.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The expression turning a mapped time column into a timestamp.
pub fn timestamp_expr(column: &str, schema: &SchemaRef) -> String {
    let quoted = ident(column);
    match schema
        .field_with_name(column)
        .map(|f| f.data_type().clone())
    {
        Ok(data_type) if is_text(&data_type) => format!("to_timestamp({quoted})"),
        _ => format!("CAST({quoted} AS TIMESTAMP)"),
    }
}

/// The column under which `fm_customers` exposes a quasi-identifier.
pub fn quasi_column(column: &str) -> String {
    format!("qi_{column}")
}

fn customers_view_sql(
    customers: &crate::config::CustomersDataset,
    dataset: &RegisteredDataset,
) -> String {
    let mut select = vec![format!(
        "CAST({} AS VARCHAR) AS customer_id",
        ident(&customers.id)
    )];
    if let Some(signup) = &customers.signup_at {
        select.push(format!(
            "{} AS signup_at",
            timestamp_expr(signup, &dataset.schema)
        ));
    }
    for column in customers.quasi_identifiers.keys() {
        select.push(format!(
            "CAST({} AS VARCHAR) AS {}",
            ident(column),
            ident(&quasi_column(column))
        ));
    }
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

fn orders_view_sql(orders: &crate::config::OrdersDataset, dataset: &RegisteredDataset) -> String {
    let number = |column: &Option<String>| {
        column
            .as_ref()
            .map(|c| format!("CAST({} AS DOUBLE)", ident(c)))
    };
    let quantity = number(&orders.quantity).unwrap_or_else(|| "1.0".to_string());
    // What the line cost the customer: the stated total, else a unit price times quantity,
    // preferring what was paid over what was offered over the list price.
    let unit_prices = [
        &orders.paid_price,
        &orders.offered_price,
        &orders.list_price,
    ];
    let mut line_amount: Vec<String> = number(&orders.amount).into_iter().collect();
    line_amount.extend(
        unit_prices
            .iter()
            .filter_map(|p| number(p))
            .map(|p| format!("{p} * {quantity}")),
    );
    let line_amount = match line_amount.len() {
        0 => "CAST(NULL AS DOUBLE)".to_string(),
        1 => line_amount.remove(0),
        _ => format!("COALESCE({})", line_amount.join(", ")),
    };
    let ordered_at = timestamp_expr(&orders.ordered_at, &dataset.schema);
    let order_key = match &orders.id {
        Some(id) => format!("CAST({} AS VARCHAR)", ident(id)),
        None => format!("CAST({ordered_at} AS VARCHAR)"),
    };
    let mut select = vec![
        format!(
            "CAST({} AS VARCHAR) AS customer_id",
            ident(&orders.customer)
        ),
        format!("{order_key} AS order_key"),
        format!("{ordered_at} AS ordered_at"),
        format!("{quantity} AS quantity"),
        format!("{line_amount} AS line_amount"),
    ];
    let text = |column: &Option<String>| {
        column.as_ref().map_or_else(
            || "CAST(NULL AS VARCHAR)".to_string(),
            |c| format!("CAST({} AS VARCHAR)", ident(c)),
        )
    };
    select.push(format!("{} AS sku", text(&orders.sku)));
    select.push(format!("{} AS category", text(&orders.category)));
    select.push(format!("{} AS device_os", text(&orders.device_os)));
    select.push(format!(
        "{} AS offered_unit_price",
        number(&orders.offered_price).unwrap_or_else(|| "CAST(NULL AS DOUBLE)".to_string())
    ));
    // The catalogue price the rules start from: the list price, else what was offered, else
    // what the line cost per unit.
    let list_candidates: Vec<String> = [
        number(&orders.list_price),
        number(&orders.offered_price),
        number(&orders.paid_price),
    ]
    .into_iter()
    .flatten()
    .collect();
    let list_price = match list_candidates.len() {
        0 => format!("({line_amount}) / {quantity}"),
        _ => format!(
            "COALESCE({}, ({line_amount}) / {quantity})",
            list_candidates.join(", ")
        ),
    };
    select.push(format!("{list_price} AS list_unit_price"));
    select.extend(condition_columns(&orders.conditions));
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

/// The column under which the canonical views expose a trading-condition column.
pub fn condition_column(column: &str) -> String {
    format!("cond_{column}")
}

fn condition_columns(conditions: &[String]) -> Vec<String> {
    conditions
        .iter()
        .map(|c| {
            format!(
                "CAST({} AS VARCHAR) AS {}",
                ident(c),
                ident(&condition_column(c))
            )
        })
        .collect()
}

fn quotes_view_sql(quotes: &crate::config::QuotesDataset, dataset: &RegisteredDataset) -> String {
    let mut select = vec![
        format!(
            "CAST({} AS VARCHAR) AS customer_id",
            ident(&quotes.customer)
        ),
        format!(
            "{} AS ordered_at",
            timestamp_expr(&quotes.quoted_at, &dataset.schema)
        ),
        format!(
            "{} AS quantity",
            quotes.quantity.as_ref().map_or_else(
                || "1.0".to_string(),
                |q| format!("CAST({} AS DOUBLE)", ident(q))
            )
        ),
        format!("CAST({} AS VARCHAR) AS sku", ident(&quotes.sku)),
        format!(
            "{} AS device_os",
            quotes.device_os.as_ref().map_or_else(
                || "CAST(NULL AS VARCHAR)".to_string(),
                |c| format!("CAST({} AS VARCHAR)", ident(c))
            )
        ),
        format!(
            "CAST({} AS DOUBLE) AS offered_unit_price",
            ident(&quotes.offered_price)
        ),
    ];
    select.extend(condition_columns(&quotes.conditions));
    format!("SELECT {} FROM {}", select.join(", "), dataset.raw_table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("price", DataType::Utf8, true),
            Field::new("qty", DataType::Int64, true),
        ]))
    }

    #[test]
    fn a_text_price_column_is_refused_by_name() {
        let column = MappedColumn {
            key: "offered_price".into(),
            column: "price".into(),
            kind: ColumnKind::Number,
        };
        let message = check_column(&schema(), &column).unwrap_err();
        assert!(
            message.contains("`price`")
                && message.contains("offered_price")
                && message.contains("expected a number"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_column_lists_what_is_there() {
        let column = MappedColumn {
            key: "customer".into(),
            column: "uid".into(),
            kind: ColumnKind::Key,
        };
        let message = check_column(&schema(), &column).unwrap_err();
        assert!(
            message.contains("`uid`") && message.contains("price, qty"),
            "{message}"
        );
    }

    #[test]
    fn identifiers_are_quoted_safely() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("o'k"), "'o''k'");
    }
}
