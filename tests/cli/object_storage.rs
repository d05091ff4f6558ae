//! Datasets on S3: the demo data uploaded to a real S3 API on loopback (moto's server, from
//! PyPI: `pip install 'moto[server]'`, run as `python3 -m moto.server`) and audited from there
//! gives the outputs of the same audit of the local files, apart from the paths naming the
//! inputs; a missing object, a missing bucket, a refused key and an endpoint that does not
//! answer each end in one line that names the dataset and its location and shows no
//! credential.
//!
//! moto checks signatures only once told to, and then (moto 5.2) refuses every listing whose
//! query holds a `/` (a prefix or delimiter; boto3's own requests too), so the audits that list
//! run before authentication is turned on, and the refused keys are tried on a single object.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{Cluster, assert_same_outputs};
use crate::support::{Fixture, fairmark, files_below};

const BUCKET: &str = "fairmark-audit";

/// A moto S3 server on a free loopback port, stopped when dropped (also when a test fails).
struct MotoServer {
    process: Child,
    endpoint: String,
}

impl MotoServer {
    fn start() -> MotoServer {
        crate::support::moto();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 for moto's S3 server: {e}"));
        let mut server = MotoServer {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.process.try_wait() {
                panic!(
                    "moto's S3 server did not start ({status}): the object storage tests need it; install it with `pip install 'moto[server]'`"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto's S3 server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Creates the bucket, uploads `files` (local path, key), and returns an access key that
    /// may list and read only.
    fn upload(&self, files: &[(PathBuf, &str)]) -> AccessKey {
        let uploads: Vec<[String; 2]> = files
            .iter()
            .map(|(path, key)| [path.display().to_string(), key.to_string()])
            .collect();
        let output = Command::new("python3")
            .args(["-c", UPLOAD, &self.endpoint, BUCKET])
            .arg(serde_json::to_string(&uploads).unwrap())
            .output()
            .expect("python3 runs (boto3 comes with moto)");
        assert!(
            output.status.success(),
            "uploading to moto failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let (id, secret) = text.trim().split_once(' ').expect("an access key");
        AccessKey {
            id: id.to_string(),
            secret: secret.to_string(),
        }
    }

    /// From now on, every request must be signed by a key moto knows.
    fn require_signatures(&self) {
        // Not form-encoded: moto reads the request's raw body.
        let enforce = "import sys, urllib.request\nurllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/reset-auth', data=b'0', headers={'Content-Type': 'text/plain'}))";
        let status = Command::new("python3")
            .args(["-c", enforce, &self.endpoint])
            .status()
            .expect("python3 runs");
        assert!(status.success(), "moto did not turn on authentication");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

struct AccessKey {
    id: String,
    secret: String,
}

impl AccessKey {
    /// The standard AWS variables that hand the key to a process.
    fn environment(&self) -> [(&'static str, String); 2] {
        [
            ("AWS_ACCESS_KEY_ID", self.id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
        ]
    }
}

/// Sets up moto as an S3 account would be: a user allowed to list and read, its key, the
/// bucket and the objects.
const UPLOAD: &str = r#"
import json, sys
import boto3

endpoint, bucket, uploads = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
setup = dict(endpoint_url=endpoint, region_name="us-east-1",
             aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **setup)
iam.create_user(UserName="auditor")
iam.put_user_policy(UserName="auditor", PolicyName="read", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}],
}))
key = iam.create_access_key(UserName="auditor")["AccessKey"]
s3 = boto3.client("s3", **setup)
s3.create_bucket(Bucket=bucket)
for path, name in uploads:
    s3.upload_file(path, bucket, name)
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

/// The fixture's files in the bucket: customers and consents as single objects, orders under
/// a prefix (beside a `_SUCCESS` marker, which is not data), sends matched by a glob.
fn upload_fixture(server: &MotoServer, fixture: &Fixture) -> AccessKey {
    let marker = fixture.out("_SUCCESS");
    std::fs::write(&marker, b"").unwrap();
    server.upload(&[
        (fixture.input("customers.csv"), "shop/customers.csv"),
        (
            fixture.input("orders.parquet"),
            "shop/orders/part-0.parquet",
        ),
        (marker, "shop/orders/_SUCCESS"),
        (fixture.input("sends.parquet"), "shop/sends/2026-10.parquet"),
        (fixture.input("consents.csv"), "shop/consents.csv"),
    ])
}

/// Each dataset's local `path` in the demo config and where the S3 config points instead.
const S3_PATHS: [(&str, &str); 4] = [
    ("customers.csv", "shop/customers.csv"),
    ("orders.parquet", "shop/orders/"),
    ("sends.parquet", "shop/sends/*.parquet"),
    ("consents.csv", "shop/consents.csv"),
];

/// Writes `name` beside the demo config (so its key and rules files are found): `config` with
/// the datasets at `paths` instead, reached through `endpoint`.
fn s3_config(
    fixture: &Fixture,
    config: &str,
    name: &str,
    endpoint: &str,
    paths: &[(&str, String)],
) -> PathBuf {
    let mut text = config.to_string();
    for (local, remote) in paths {
        let from = format!("path = \"{local}\"");
        assert!(text.contains(&from), "the demo config has {from}");
        text = text.replacen(&from, &format!("path = \"{remote}\""), 1);
    }
    text.push_str(&format!(
        "\n[storage]\nendpoint = \"{endpoint}\"\nallow_http = true\nregion = \"us-east-1\"\n"
    ));
    let config = fixture.input(name);
    std::fs::write(&config, text).unwrap();
    config
}

fn all_on_s3() -> Vec<(&'static str, String)> {
    S3_PATHS
        .iter()
        .map(|(local, key)| (*local, format!("s3://{BUCKET}/{key}")))
        .collect()
}

/// `fairmark audit` with the AWS environment of a machine that holds `key` and nothing else.
fn audit(config: &Path, out: &Path, key: &AccessKey) -> assert_cmd::assert::Assert {
    audit_command(config, out, key).assert()
}

fn audit_command(config: &Path, out: &Path, key: &AccessKey) -> assert_cmd::Command {
    let mut command = fairmark();
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .envs(key.environment())
        .args(["audit", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out);
    command
}

/// The outputs with every S3 location replaced by the local path it stands for, and the
/// config's name (report.html shows it) by the local config's.
fn as_if_local(files: BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut replacements: Vec<(String, &str)> = vec![
        ("s3.toml".to_string(), "fairmark.toml"),
        (
            format!("s3://{BUCKET}/shop/orders/part-0.parquet"),
            "orders.parquet",
        ),
        (
            format!("s3://{BUCKET}/shop/sends/2026-10.parquet"),
            "sends.parquet",
        ),
    ];
    replacements.extend(
        all_on_s3()
            .into_iter()
            .map(|(local, remote)| (remote, local)),
    );
    // report.md escapes Markdown's punctuation (a glob's `*`) in locations.
    let escaped: Vec<(String, String)> = replacements
        .iter()
        .map(|(remote, local)| {
            (
                fairmark::escape::markdown(remote),
                fairmark::escape::markdown(local),
            )
        })
        .collect();
    files
        .into_iter()
        .map(|(name, bytes)| match String::from_utf8(bytes) {
            Ok(mut text) => {
                for (remote, local) in &replacements {
                    text = text.replace(remote.as_str(), local);
                }
                for (remote, local) in &escaped {
                    text = text.replace(remote.as_str(), local);
                }
                (name, text.into_bytes())
            }
            Err(binary) => (name, binary.into_bytes()),
        })
        .collect()
}

/// The small fixture audited locally (into `local`), uploaded to a moto server, and a config
/// `s3.toml` that reads every dataset from there.
fn audited_locally_and_uploaded() -> (Fixture, MotoServer, AccessKey, PathBuf) {
    let fixture = Fixture::small();
    fixture.audit("local").code(1);
    let server = MotoServer::start();
    let key = upload_fixture(&server, &fixture);
    let demo = std::fs::read_to_string(&fixture.data.config).unwrap();
    let config = s3_config(&fixture, &demo, "s3.toml", &server.endpoint, &all_on_s3());
    (fixture, server, key, config)
}

#[test]
fn an_audit_of_the_data_on_s3_writes_what_the_audit_of_the_local_files_writes() {
    let (fixture, _server, key, config) = audited_locally_and_uploaded();
    let run = audit(&config, &fixture.out("s3"), &key).code(1);
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    for secret in [&key.secret, &key.id] {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "a credential was printed"
        );
    }

    let report = crate::support::report_json(&fixture.out("s3"));
    let local = crate::support::report_json(&fixture.out("local"));
    let inputs = report["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 4);
    let orders = &inputs[1];
    assert_eq!(orders["location"], format!("s3://{BUCKET}/shop/orders/"));
    assert_eq!(
        orders["files"][0]["path"],
        format!("s3://{BUCKET}/shop/orders/part-0.parquet"),
        "the prefix is read without its _SUCCESS marker"
    );
    assert_eq!(orders["files"].as_array().unwrap().len(), 1);
    for (remote, local) in inputs.iter().zip(local["inputs"].as_array().unwrap()) {
        for (remote, local) in remote["files"]
            .as_array()
            .unwrap()
            .iter()
            .zip(local["files"].as_array().unwrap())
        {
            assert_eq!(remote["sha256"], local["sha256"], "the object's bytes hash");
            assert_eq!(remote["bytes"], local["bytes"]);
        }
        assert_eq!(remote["rows"], local["rows"]);
    }
    let fingerprints = |report: &serde_json::Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!fingerprints(&local).is_empty());
    assert_eq!(fingerprints(&report), fingerprints(&local));

    let local_files = files_below(&fixture.out("local"));
    let s3_files = as_if_local(files_below(&fixture.out("s3")));
    assert_eq!(
        s3_files.keys().collect::<Vec<_>>(),
        local_files.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &local_files {
        assert!(
            bytes == &s3_files[name],
            "{} differs between the local and the S3 audit",
            name.display()
        );
    }
}

/// The same S3 data audited through a scheduler and two executors on loopback, each process
/// reading the objects itself with the key from its environment: the local audit's outputs
/// again, apart from the locations and report.json's engine field.
#[test]
fn an_audit_of_the_data_on_s3_through_a_cluster_writes_what_the_local_audit_writes() {
    let (fixture, _server, key, config) = audited_locally_and_uploaded();
    let cluster = Cluster::start(
        fixture.dir.path(),
        &config,
        &[&config, &config],
        &key.environment(),
    );
    let out = fixture.out("s3-cluster");
    audit_command(&config, &out, &key)
        .args(["--cluster", &cluster.url])
        .timeout(std::time::Duration::from_secs(600))
        .assert()
        .code(1);
    let local_files = files_below(&fixture.out("local"));
    let cluster_files = as_if_local(files_below(&out));
    assert_same_outputs(
        &local_files,
        &cluster_files,
        "the S3 audit through the cluster",
    );
}

/// Runs the audit of `config` expecting exit 2, and returns its one line of stderr, which
/// names neither half of the access key.
fn refused(config: &Path, out: &Path, key: &AccessKey) -> String {
    let run = audit(config, out, key).code(2);
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains(&key.secret) && !stderr.contains(&key.id),
        "a credential was printed: {stderr}"
    );
    assert!(!out.exists(), "a failed audit leaves no output");
    stderr
}

#[test]
fn storage_failures_name_the_dataset_and_location_in_one_line_without_a_credential() {
    let fixture = Fixture::small();
    fixture.without_mail();
    let server = MotoServer::start();
    let key = upload_fixture(&server, &fixture);
    let on_s3 = |customers: &str| {
        vec![
            ("customers.csv", customers.to_string()),
            ("orders.parquet", format!("s3://{BUCKET}/shop/orders/")),
        ]
    };
    let demo = std::fs::read_to_string(&fixture.data.config).unwrap();
    let missing_object = s3_config(
        &fixture,
        &demo,
        "missing-object.toml",
        &server.endpoint,
        &on_s3(&format!("s3://{BUCKET}/shop/customers-2026.csv")),
    );
    let stderr = refused(&missing_object, &fixture.out("missing-object"), &key);
    assert!(
        stderr.starts_with(&format!(
            "fairmark: error: dataset customers (s3://{BUCKET}/shop/customers-2026.csv): not found"
        )),
        "{stderr}"
    );

    let missing_bucket = s3_config(
        &fixture,
        &demo,
        "missing-bucket.toml",
        &server.endpoint,
        &on_s3("s3://no-such-bucket/shop/customers.csv"),
    );
    let stderr = refused(&missing_bucket, &fixture.out("missing-bucket"), &key);
    assert!(
        stderr.starts_with(
            "fairmark: error: dataset customers (s3://no-such-bucket/shop/customers.csv): no such bucket"
        ),
        "{stderr}"
    );

    // From here on moto checks signatures; only single objects are read (see the top).
    server.require_signatures();
    // The rules name order attributes, so they go with the orders.
    let customers_only = demo[..=demo.find("\n[datasets.orders]").unwrap()]
        .replace("pricing_rules = \"rules.toml\"", "");
    let signed = s3_config(
        &fixture,
        &customers_only,
        "customers-only.toml",
        &server.endpoint,
        &[("customers.csv", format!("s3://{BUCKET}/shop/customers.csv"))],
    );
    let run = audit(&signed, &fixture.out("signed"), &key);
    assert_ne!(
        run.get_output().status.code(),
        Some(2),
        "moto accepts the key's signatures: {}",
        String::from_utf8_lossy(&run.get_output().stderr)
    );
    let wrong_secret = AccessKey {
        id: key.id.clone(),
        secret: "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY".to_string(),
    };
    let unknown_key = AccessKey {
        id: "AKIAIOSFODNN7EXAMPLE".to_string(),
        secret: key.secret.clone(),
    };
    for (refused_key, out) in [
        (&wrong_secret, "wrong-secret"),
        (&unknown_key, "unknown-key"),
    ] {
        let stderr = refused(&signed, &fixture.out(out), refused_key);
        assert!(
            stderr.starts_with(&format!(
                "fairmark: error: dataset customers (s3://{BUCKET}/shop/customers.csv): access denied (`shop/customers.csv`); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )),
            "{stderr}"
        );
    }

    // Nothing listens on the port a listener just gave back.
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let unreachable = s3_config(
        &fixture,
        &demo,
        "unreachable.toml",
        &format!("http://127.0.0.1:{closed}"),
        &on_s3(&format!("s3://{BUCKET}/shop/customers.csv")),
    );
    let stderr = refused(&unreachable, &fixture.out("unreachable"), &key);
    assert!(
        stderr
            .contains("cannot connect to the store; check AWS_ENDPOINT_URL or [storage] endpoint"),
        "{stderr}"
    );
}

#[test]
fn commands_refuse_a_url_where_they_read_or_write_a_local_path() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["init", "s3://shop-data/crm/"],
        vec![
            "audit",
            "--config",
            "fairmark.toml",
            "--out",
            "s3://shop-data/audits/2026-11",
        ],
    ] {
        let run = fairmark()
            .current_dir(dir.path())
            .args(&args)
            .assert()
            .code(2);
        let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("a local path is expected here; only the datasets' `path` in fairmark.toml may be on object storage"),
            "{stderr}"
        );
    }
}
