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
    /// A Ballista cluster cannot run the audit: unreachable, or an executor under another key.
    #[error("cluster: {0}")]
    Cluster(String),
}

/// What a cluster's server answers a request that does not present the cluster's token (see
/// [`crate::engine::cluster_door`]); the audit finds it in Ballista's error by this wording.
pub const CLUSTER_TOKEN_REFUSED: &str =
    "fairmark cluster: this request does not carry the cluster's token";

/// How an executor refuses a plan made under another key or by another build of fairmark.
/// The refusal reaches the audit inside Ballista's job failure, whose text is never shown; the
/// audit finds it by this wording (see [`cluster_failure`]), so the two must not drift apart.
pub fn key_mismatch(
    plan_key: &str,
    plan_version: &str,
    executor_key: &str,
    executor_version: &str,
) -> String {
    format!(
        "executor key mismatch: plan key {plan_key} of fairmark {plan_version}, executor key {executor_key} of fairmark {executor_version}"
    )
}

/// A cluster's failure, said plainly: an executor that refused the plan's key (key ids are
/// public, they begin every token) or a stage (by the rule's code, see
/// [`crate::engine::plan_guard::Refusal`]), a scheduler or executor that did not answer, or a task
/// that failed on an executor. A task's error comes back as the Debug text of the executor's
/// error, where a value's own quotes are escaped, so redaction cannot be trusted with it: only
/// what it is, never its text, is shown.
fn cluster_failure(message: &str) -> Option<String> {
    static MISMATCH: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"executor key mismatch: plan key (k[0-9a-f]{5}) of fairmark ([0-9A-Za-z.+-]+), executor key (k[0-9a-f]{5}) of fairmark ([0-9A-Za-z.+-]+)",
        )
        .expect("a valid pattern")
    });
    if let Some(ids) = MISMATCH.captures(message) {
        return Some(format!(
            "an executor holds key {} (fairmark {}) and this audit makes tokens with key {} (fairmark {}); start every executor from the audit's fairmark build, with the config (the [key] settings) the audit uses",
            &ids[3], &ids[4], &ids[1], &ids[2]
        ));
    }
    if message.contains(CLUSTER_TOKEN_REFUSED) {
        return Some("the scheduler or an executor refused this audit: it does not hold the cluster's token; give the audit's config the [cluster] token the scheduler and executors were started with".into());
    }
    static REFUSAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"refused the stage \(([a-z-]+)\)").expect("a valid pattern")
    });
    if let Some(code) = REFUSAL.captures(message) {
        return Some(format!(
            "an executor refused a stage of this audit ({}): executors run only the audit's own plans over the datasets their config names; start every executor with the config the audit uses",
            &code[1]
        ));
    }
    if message.contains("tonic::transport::Error") && message.contains("ConnectError") {
        return Some("the scheduler or an executor refused the connection; check that `fairmark scheduler` and its executors are running and reachable at the addresses they were given".into());
    }
    let task_failed = message.contains("Job failed due to stage")
        || message.contains("rejected by executor")
        || message.contains("Task failed");
    if !task_failed {
        return None;
    }
    const STORE_CODES: [&str; 6] = [
        "NoSuchKey",
        "NoSuchBucket",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
    ];
    Some(if message.contains("ResourcesExhausted") {
        "an executor ran out of memory; give the executors more memory ([engine] memory_limit in their config) or more executors".into()
    } else if let Some(code) = STORE_CODES.iter().find(|code| message.contains(*code)) {
        format!(
            "an executor could not read a dataset from object storage ({code}); check the credentials and endpoint in every executor's environment and config"
        )
    } else {
        "a task failed on an executor; its cause is not shown, since it may quote the data: run the same audit without --cluster to see it".into()
    })
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
        if let Some(message) = storage_failure(&error) {
            return Error::Engine(message);
        }
        if let Some(message) = cluster_failure(&error.to_string()) {
            return Error::Cluster(message);
        }
        if let datafusion::error::DataFusionError::ResourcesExhausted(detail) = error.find_root() {
            // "Additional allocation failed for ExternalSorter[0] with top memory consumers
            // (across reservations) as:\n  HashJoinInput#3(can spill: false) consumed 5.0 GB,
            // peak 5.0 GB,\n …\nError: …": the operator that ran out, and the operators
            // holding the pool, which is where the memory went.
            let (operator, holders) = match detail.split_once(" with top memory consumers") {
                Some((operator, rest)) => {
                    let list = rest.split_once("as:").map_or("", |(_, list)| list);
                    let list = list.split("\nError:").next().unwrap_or("");
                    let holders: Vec<&str> = list
                        .split(",\n")
                        .map(|h| h.trim().trim_end_matches('.'))
                        .filter(|h| !h.is_empty())
                        .collect();
                    (operator, holders.join("; "))
                }
                None => (detail.as_str(), String::new()),
            };
            let message = if holders.is_empty() {
                operator.to_string()
            } else {
                format!("{operator}; the pool's largest holders: {holders}")
            };
            return Error::MemoryBudget(redact(&message));
        }
        Error::Engine(redact(&error.to_string()))
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(error: datafusion::arrow::error::ArrowError) -> Self {
        Error::Engine(storage_failure(&error).unwrap_or_else(|| redact(&error.to_string())))
    }
}

impl From<datafusion::parquet::errors::ParquetError> for Error {
    fn from(error: datafusion::parquet::errors::ParquetError) -> Self {
        Error::Engine(storage_failure(&error).unwrap_or_else(|| redact(&error.to_string())))
    }
}

/// An object store's failure (S3, or a local file read through the same interface), found
/// anywhere in `error`'s chain of causes, in words a person can act on; `None` when no object
/// store failed. The store's own text is never shown, only read for S3's error code: an S3
/// error body can echo the access key id and the request it signed.
pub fn storage_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(error);
    let mut failure = None;
    let mut unreachable = false;
    while let Some(error) = cause {
        // An I/O error hides the error it wraps from `source()`; DataFusion's CSV and JSON
        // readers wrap the store's failures so.
        let wrapped = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for error in std::iter::once(error).chain(wrapped) {
            if failure.is_none() {
                failure = error.downcast_ref::<object_store::Error>();
            }
            unreachable |= error
                .downcast_ref::<object_store::client::HttpError>()
                .is_some_and(|http| {
                    use object_store::client::HttpErrorKind;
                    matches!(http.kind(), HttpErrorKind::Connect | HttpErrorKind::Timeout)
                });
        }
        cause = error.source();
    }
    let failure = failure?;
    let text = full_text(failure);
    let object = |path: &str| match path.is_empty() {
        true => String::new(),
        false => format!(" (`{path}`)"),
    };
    let credentials_from_environment = [
        "AWS_ACCESS_KEY_ID",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some());
    let code = |code: &str| text.contains(code);
    Some(match failure {
        _ if code("NoSuchBucket") => {
            "no such bucket; check the bucket's name in `path`, and the endpoint and region it is in".to_string()
        }
        object_store::Error::NotFound { path, .. } => format!(
            "not found{}; check `path` (a prefix ends in /)",
            object(path)
        ),
        _ if code("InvalidAccessKeyId") => {
            "the store does not know the access key; check AWS_ACCESS_KEY_ID".to_string()
        }
        _ if code("SignatureDoesNotMatch") => {
            "the request's signature does not match; check AWS_SECRET_ACCESS_KEY for AWS_ACCESS_KEY_ID".to_string()
        }
        _ if code("ExpiredToken") || code("InvalidToken") => {
            "the session token is expired or invalid; renew AWS_SESSION_TOKEN".to_string()
        }
        _ if code("PermanentRedirect") || code("AuthorizationHeaderMalformed") => {
            "the bucket is in another region; set AWS_REGION or [storage] region".to_string()
        }
        // A HEAD request's refusal has no body, so no code says why.
        object_store::Error::PermissionDenied { path, .. }
        | object_store::Error::Unauthenticated { path, .. } => format!(
            "access denied{}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may s3:ListBucket and s3:GetObject",
            object(path)
        ),
        _ if unreachable && !credentials_from_environment => {
            "cannot connect: AWS_ACCESS_KEY_ID is not set, so credentials were asked of the instance metadata service, or the endpoint itself did not answer; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or check AWS_ENDPOINT_URL or [storage] endpoint".to_string()
        }
        _ if unreachable => {
            "cannot connect to the store; check AWS_ENDPOINT_URL or [storage] endpoint, and the network".to_string()
        }
        object_store::Error::Generic { store, source } if *store != "S3" => {
            format!("cannot read: {}", redact(&source.to_string()))
        }
        object_store::Error::Generic { .. } => {
            "the object store refused the request (its reply is not shown: it may echo credentials); check the endpoint, region and credentials".to_string()
        }
        other => format!(
            "the object store failed: {}",
            redact(&other.to_string())
        ),
    })
}

/// An error and every cause, as one text to search for an error code.
fn full_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
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

/// The last pass before an error is printed: one line, any identifier the PII recognizers know
/// masked, and control characters written out, whatever path the message took.
pub fn for_terminal(message: &str) -> String {
    let one_line = message.lines().collect::<Vec<_>>().join(" ");
    crate::escape::terminal(&crate::pii::mask_spans(&one_line, "<redacted>")).into_owned()
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

/// How any output (a finding, a report, a message) names a column read from the data: by its
/// name when [`printable_name`] allows, else by its position counting from 1 (`#4`), since the
/// header cell may be a customer's value. `None` when even the position is unknown.
pub fn data_column_name(name: &str, position: Option<usize>) -> String {
    if printable_name(name) {
        name.to_string()
    } else {
        position.map_or_else(|| "#?".to_string(), |i| format!("#{}", i + 1))
    }
}

/// A column read from the data as a sentence names it: `` `notes` ``, or `#4 (its header is
/// not shown: it could be data)`.
pub fn data_column_phrase(name: &str, position: Option<usize>) -> String {
    if printable_name(name) {
        format!("`{name}`")
    } else {
        format!(
            "{} (its header is not shown: it could be data)",
            data_column_name(name, position)
        )
    }
}

#[cfg(test)]
mod tests {

    /// The refusal arrives quoted inside Ballista's job failure, as the executor's error.
    #[test]
    fn a_cluster_failure_is_said_plainly() {
        let refused = format!(
            "Execution error: Job 038J failed: Job failed due to stage 3 failed: Task failed due to runtime execution error: DataFusionError(Plan({:?}))",
            super::key_mismatch("k95fa3", "0.1.0", "k1234a", "0.1.0")
        );
        let error = super::Error::from(datafusion::error::DataFusionError::Execution(refused));
        assert_eq!(
            error.to_string(),
            "cluster: an executor holds key k1234a (fairmark 0.1.0) and this audit makes tokens with key k95fa3 (fairmark 0.1.0); start every executor from the audit's fairmark build, with the config (the [key] settings) the audit uses"
        );
        // A value's own quote, escaped in the Debug text, must not let the rest of it out.
        let cast = r#"Execution error: Job 038K failed: Job failed due to stage 2 failed: Task failed due to runtime execution error: DataFusionError(ArrowError(CastError("Cannot cast string 'Li"Wang' to value of Int64 type")))"#;
        let error = super::Error::from(datafusion::error::DataFusionError::Execution(cast.into()));
        assert!(!error.to_string().contains("Wang"), "{error}");
        assert!(
            error
                .to_string()
                .contains("run the same audit without --cluster"),
            "{error}"
        );
        let unreachable = "tonic::transport::Error(Transport, ConnectError(ConnectError(\"tcp connect error\", 127.0.0.1:50999, Os { code: 111 })))";
        let error = super::Error::from(datafusion::error::DataFusionError::Execution(
            unreachable.into(),
        ));
        assert!(
            matches!(&error, super::Error::Cluster(m) if m.contains("refused the connection")),
            "{error}"
        );
    }

    #[test]
    fn running_out_of_memory_names_the_operator_and_the_pools_largest_holders() {
        let detail = "Additional allocation failed for ExternalSorter[1] with top memory consumers (across reservations) as:\n  GroupedHashAggregateStream[0]#7(can spill: true) consumed 9.1 GB, peak 9.3 GB,\n  HashJoinInput#3(can spill: false) consumed 2.0 GB, peak 2.0 GB.\nError: Failed to allocate additional 194.6 MB for ExternalSorter[1] with 0.0 B already allocated for this reservation";
        let error = Error::from(datafusion::error::DataFusionError::ResourcesExhausted(
            detail.into(),
        ));
        assert_eq!(
            error.to_string(),
            "the engine needs more memory than [engine] memory_limit allows (Additional allocation failed for ExternalSorter[1]; the pool's largest holders: GroupedHashAggregateStream[0]#7(can spill: true) consumed 9.1 GB, peak 9.3 GB; HashJoinInput#3(can spill: false) consumed 2.0 GB, peak 2.0 GB); raise memory_limit or set it to \"unlimited\""
        );
    }

    use super::*;

    #[test]
    fn a_store_failure_deep_in_an_engine_error_is_said_without_the_reply() {
        // S3's reply to a bad secret echoes the access key id and what was signed.
        let reply = "Server returned non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId></Error>";
        let store = object_store::Error::PermissionDenied {
            path: "crm/customers.csv".into(),
            source: reply.into(),
        };
        // As DataFusion's CSV reader passes it on: inside an I/O error, inside an Arrow error.
        let io = std::io::Error::other(store);
        let engine = datafusion::error::DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::ExternalError(
                Box::new(io),
            )),
            None,
        );
        let message = Error::from(engine)
            .in_dataset("customers", "s3://shop-data/crm/customers.csv")
            .to_string();
        assert_eq!(
            message,
            "dataset customers (s3://shop-data/crm/customers.csv): the request's signature does not match; check AWS_SECRET_ACCESS_KEY for AWS_ACCESS_KEY_ID"
        );
        let denied = object_store::Error::PermissionDenied {
            path: "crm/customers.csv".into(),
            source: "403 Forbidden: <Code>AccessDenied</Code>".into(),
        };
        assert_eq!(
            storage_failure(&denied).unwrap(),
            "access denied (`crm/customers.csv`); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may s3:ListBucket and s3:GetObject"
        );
        let not_found = object_store::Error::NotFound {
            path: "crm/customers.csv".into(),
            source: "404 Not Found: <Code>NoSuchKey</Code>".into(),
        };
        assert!(
            storage_failure(&not_found)
                .unwrap()
                .starts_with("not found (`crm/customers.csv`)")
        );
        let plain = datafusion::error::DataFusionError::Plan("no such column".into());
        assert_eq!(storage_failure(&plain), None);
    }

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
    fn a_data_column_is_named_by_position_when_its_name_could_be_data() {
        assert_eq!(data_column_name("notes", Some(3)), "notes");
        assert_eq!(data_column_name("13800138000", Some(3)), "#4");
        assert_eq!(data_column_phrase("notes", None), "`notes`");
        assert!(!data_column_phrase("<script>", Some(0)).contains("script"));
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
