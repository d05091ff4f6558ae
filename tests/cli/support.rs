//! Fixtures and output readers shared by the CLI tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tempfile::TempDir;

pub const SMALL: usize = 400;

/// Installs what the tests need beyond Rust one at a time, on first use: `cargo test` passes on
/// a machine with only Rust (and Debian's apt, Python's pip).
static PROVISIONING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Runs `command`, as root through sudo unless this is root already; true when it succeeded.
fn as_root(command: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let (program, args) = if root {
        (command[0], &command[1..])
    } else {
        ("sudo", command)
    };
    std::process::Command::new(program)
        .args(args)
        .status()
        .is_ok_and(|status| status.success())
}

/// The `chromium` on `PATH`, installed from Debian's packages when missing.
pub fn chromium() -> PathBuf {
    let _one_at_a_time = PROVISIONING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = on_path("chromium") {
        return path;
    }
    as_root(&["apt-get", "update", "-qq"]);
    as_root(&[
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-qq",
        "chromium",
    ]);
    on_path("chromium").unwrap_or_else(|| {
        panic!(
            "chromium is not installed and `apt-get install chromium` failed; the report.html \
             test needs a browser: install it, then run the tests again"
        )
    })
}

/// The moto the object storage tests are known to pass with: under moto 5.2.6 a read-only key
/// is denied the reads its policy allows once signatures are checked.
const MOTO: &str = "5.1.22";

/// moto's S3 server for Python, at [`MOTO`], installed with pip when missing or another version.
pub fn moto() {
    let _one_at_a_time = PROVISIONING.lock().unwrap_or_else(|p| p.into_inner());
    let importable = || {
        std::process::Command::new("python3")
            .args([
                "-c",
                &format!("import moto.server, boto3; assert moto.__version__ == '{MOTO}'"),
            ])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if importable() {
        return;
    }
    let pip = |extra: &[&str]| {
        std::process::Command::new("python3")
            .args(["-m", "pip", "install", "--quiet"])
            .args(extra)
            .arg(format!("moto[server]=={MOTO}"))
            .status()
            .is_ok_and(|status| status.success())
    };
    // Debian's own Python refuses pip installs outside a virtual environment (PEP 668).
    let _ = pip(&[]) || pip(&["--break-system-packages"]);
    assert!(
        importable(),
        "moto {MOTO} is not installed and `pip install 'moto[server]=={MOTO}'` failed; the \
         object storage tests need it: install it, then run the tests again"
    );
}

pub fn fairmark() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fairmark"))
}

/// A generated demo data set in a temporary directory.
pub struct Fixture {
    pub dir: TempDir,
    pub data: fairmark::demo::DemoData,
}

impl Fixture {
    pub fn new(customers: usize, seed: u64) -> Fixture {
        Fixture::of(&fairmark::demo::Scenario::demo(customers, seed))
    }

    pub fn of(scenario: &fairmark::demo::Scenario) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = fairmark::demo::generate(&dir.path().join("input"), scenario)
            .expect("demo data generates");
        Fixture { dir, data }
    }

    pub fn small() -> Fixture {
        Fixture::new(SMALL, 7)
    }

    pub fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn input(&self, name: &str) -> PathBuf {
        self.dir.path().join("input").join(name)
    }

    /// Rewrites the config with `from` replaced by `to`.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.data.config).unwrap();
        assert!(text.contains(from), "config has no {from:?}");
        std::fs::write(&self.data.config, text.replacen(from, to, 1)).unwrap();
    }

    /// Drops the marketing datasets from the config, for tests about other parts.
    pub fn without_mail(&self) {
        let text = std::fs::read_to_string(&self.data.config).unwrap();
        let end = text
            .find("\n[datasets.mail_sends]")
            .expect("the demo config has mail sends");
        std::fs::write(&self.data.config, &text[..=end]).unwrap();
    }

    pub fn audit(&self, out: &str) -> assert_cmd::assert::Assert {
        fairmark()
            .args(["audit", "--config"])
            .arg(&self.data.config)
            .arg("--out")
            .arg(self.out(out))
            .assert()
    }
}

/// Runs the audit expecting a refusal: exit 2, one line on stderr, no panic, and no output
/// directory left behind. Returns stdout and stderr.
pub fn fails_cleanly(fixture: &Fixture) -> (String, String) {
    let out = fixture.out("report");
    let assert = fixture.audit("report").code(2);
    let output = assert.get_output();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("fairmark: error: "), "{stderr}");
    assert!(!out.exists(), "no output directory is left behind");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (String::from_utf8(output.stdout.clone()).unwrap(), stderr)
}

/// Splits one CSV line (RFC 4180 quoting; the fixtures hold no newlines inside fields).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Every raw identifier of the fixture's customers, in the spellings that could leak: as
/// written, and normalized (digits of phones, lower-case mail), plus every identifier found
/// inside the free-text notes.
pub fn raw_identifiers(customers_csv: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(customers_csv).unwrap();
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap());
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (uid, name, phone, email, national_id, notes) = (
        at("uid"),
        at("name"),
        at("phone"),
        at("email"),
        at("national_id"),
        at("notes"),
    );
    let mut values = Vec::new();
    for line in lines {
        let row = csv_fields(line);
        values.extend([
            row[uid].clone(),
            row[name].clone(),
            row[phone].clone(),
            row[email].clone(),
            row[national_id].clone(),
        ]);
        let digits: String = row[phone].chars().filter(char::is_ascii_digit).collect();
        values.push(digits.trim_start_matches("86").to_string());
        values.push(row[email].to_lowercase());
        for span in fairmark::pii::find_spans(&row[notes]) {
            values.push(row[notes][span.start..span.end].to_string());
        }
    }
    values.retain(|v| v.chars().count() >= 2);
    values.sort();
    values.dedup();
    values
}

/// Every cell of a Parquet file as text.
pub fn parquet_cells(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut cells = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for column in batch.columns() {
            let text = cast(column, &DataType::Utf8).unwrap();
            let text = text.as_string::<i32>();
            cells.extend(
                (0..text.len())
                    .filter(|i| !text.is_null(*i))
                    .map(|i| text.value(i).to_string()),
            );
        }
    }
    cells
}

/// Rows of a Parquet file as column name → text value maps.
pub fn parquet_rows(path: &Path) -> Vec<BTreeMap<String, Option<String>>> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut map = BTreeMap::new();
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                let text = cast(column, &DataType::Utf8).unwrap();
                let text = text.as_string::<i32>();
                map.insert(
                    field.name().clone(),
                    (!text.is_null(row)).then(|| text.value(row).to_string()),
                );
            }
            rows.push(map);
        }
    }
    rows
}

/// Every file below `dir`, with its bytes.
pub fn files_below(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
        }
    }
    files
}

/// Panics naming the first raw value found in any output, byte for byte, or in the decoded
/// cells of any Parquet output (compression would hide it from a byte search).
pub fn assert_no_raw_values(raw: &[String], outputs: &BTreeMap<String, Vec<u8>>) {
    assert!(!raw.is_empty(), "there are raw values to look for");
    for (name, bytes) in outputs {
        for value in raw {
            let needle = value.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{name} contains a raw identifier ({} bytes long)",
                needle.len()
            );
        }
    }
}

/// The outputs of a run to scan: each file (Parquet also decoded), stdout and stderr.
pub fn outputs_to_scan(dir: &Path, stdout: &[u8], stderr: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut outputs = BTreeMap::new();
    for (path, bytes) in files_below(dir) {
        let name = path.display().to_string();
        if name.ends_with(".parquet") {
            outputs.insert(
                format!("{name} (decoded)"),
                parquet_cells(&dir.join(&path)).join("\n").into_bytes(),
            );
        }
        outputs.insert(name, bytes);
    }
    outputs.insert("stdout".into(), stdout.to_vec());
    outputs.insert("stderr".into(), stderr.to_vec());
    outputs
}

pub fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// Panics listing every violation of the OASIS SARIF 2.1.0 schema (vendored in tests/data).
pub fn validate_sarif(sarif: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../data/sarif-2.1.0-rtm.5.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations: {errors:#?}");
}
