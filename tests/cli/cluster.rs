//! The audit on a Ballista cluster: a scheduler and two executors, processes of the built
//! binary on loopback, audit the demo data and write what the audit in one process writes, byte
//! for byte, apart from report.json's field naming the engine. An executor that loaded another
//! key refuses the plan, and the audit ends in one line that says so.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Fixture, fairmark, files_below, raw_identifiers};

/// A process of the built binary, killed when dropped (also when a test fails); its stderr
/// goes to a file, to be read for raw values afterwards.
struct Daemon {
    process: Child,
    name: String,
    stderr: PathBuf,
}

/// Stopped as an operator would stop it (SIGTERM), so that an executor removes its private
/// directory; killed if it has not exited within 30 s.
impl Drop for Daemon {
    fn drop(&mut self) {
        if !matches!(self.process.try_wait(), Ok(None)) {
            return;
        }
        // SAFETY: signals a child this test started and has not reaped.
        unsafe {
            libc::kill(self.process.id() as i32, libc::SIGTERM);
        }
        let started = Instant::now();
        while matches!(self.process.try_wait(), Ok(None)) {
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.process.kill();
                let _ = self.process.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Daemon {
    fn start(name: &str, dir: &Path, args: &[String], env: &[(&str, String)]) -> Daemon {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_fairmark"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        let process = command
            .envs(env.iter().map(|(name, value)| (name, value)))
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {name}: {e}"));
        Daemon {
            process,
            name: name.to_string(),
            stderr,
        }
    }

    /// Waits until the process listens on `port`.
    fn wait_for(&mut self, port: u16) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.process.try_wait() {
                panic!(
                    "the {} exited ({status}): {}",
                    self.name,
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the {} did not listen on port {port} within 60 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A scheduler and one executor per config in `executors`, all on 127.0.0.1, with the
/// environment `env` (and no other AWS setting).
pub struct Cluster {
    pub url: String,
    /// Each executor's Arrow Flight port, its only one.
    flight_ports: Vec<u16>,
    daemons: Vec<Daemon>,
}

/// Gives `config` the cluster token of a file beside it, `cluster.token` (written once): the
/// scheduler, executors and audits started with it admit one another and nobody else.
fn with_cluster_token(config: &Path) {
    let token = config.with_file_name("cluster.token");
    if !token.exists() {
        std::fs::write(&token, format!("{}\n", "5c".repeat(32))).unwrap();
    }
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(
        config,
        format!("{text}\n[cluster]\ntoken = {{ file = \"cluster.token\" }}\n"),
    )
    .unwrap();
}

impl Cluster {
    pub fn start(
        dir: &Path,
        scheduler_config: &Path,
        executors: &[&Path],
        env: &[(&str, String)],
    ) -> Cluster {
        let port = free_port();
        let mut scheduler = Daemon::start(
            "scheduler",
            dir,
            &[
                "scheduler".into(),
                "--config".into(),
                scheduler_config.display().to_string(),
                "--bind".into(),
                format!("127.0.0.1:{port}"),
            ],
            env,
        );
        scheduler.wait_for(port);
        let mut daemons = vec![scheduler];
        let mut flight_ports = Vec::new();
        for (i, config) in executors.iter().enumerate() {
            let flight = free_port();
            let mut executor = Daemon::start(
                &format!("executor-{i}"),
                dir,
                &[
                    "executor".into(),
                    "--config".into(),
                    config.display().to_string(),
                    "--scheduler".into(),
                    format!("127.0.0.1:{port}"),
                    "--port".into(),
                    flight.to_string(),
                    "--vcores".into(),
                    "2".into(),
                ],
                env,
            );
            executor.wait_for(flight);
            daemons.push(executor);
            flight_ports.push(flight);
        }
        Cluster {
            url: format!("df://127.0.0.1:{port}"),
            flight_ports,
            daemons,
        }
    }

    /// Stops the executors, then the scheduler (see [`Daemon`]'s drop).
    fn terminate(&mut self) {
        while let Some(daemon) = self.daemons.pop() {
            drop(daemon);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl Cluster {
    /// Everything the cluster's processes printed.
    fn stderr(&self) -> BTreeMap<String, Vec<u8>> {
        self.daemons
            .iter()
            .map(|d| (d.name.clone(), std::fs::read(&d.stderr).unwrap_or_default()))
            .collect()
    }
}

fn audit_on(cluster: &Cluster, config: &Path, out: &Path) -> assert_cmd::assert::Assert {
    fairmark()
        .args(["audit", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(["--cluster", &cluster.url])
        .timeout(Duration::from_secs(600))
        .assert()
}

/// report.json without the field naming where the queries ran.
fn without_engine(report: &[u8]) -> serde_json::Value {
    let mut report: serde_json::Value = serde_json::from_slice(report).unwrap();
    report.as_object_mut().unwrap().remove("engine");
    report
}

/// The same files with the same bytes, report.json's `engine` apart.
pub fn assert_same_outputs(
    local: &BTreeMap<PathBuf, Vec<u8>>,
    other: &BTreeMap<PathBuf, Vec<u8>>,
    what: &str,
) {
    assert_eq!(
        other.keys().collect::<Vec<_>>(),
        local.keys().collect::<Vec<_>>()
    );
    let report = Path::new("report.json");
    assert_eq!(
        without_engine(&other[report]),
        without_engine(&local[report])
    );
    for (name, bytes) in local.iter().filter(|(name, _)| *name != report) {
        assert!(
            bytes == &other[name],
            "{} differs between the local audit and {what}",
            name.display()
        );
    }
}

#[test]
fn an_audit_on_a_cluster_of_two_executors_writes_what_the_local_audit_writes() {
    let fixture = Fixture::small();
    // Every process's private directory (spill and shuffle files) under one root, to be
    // found empty once they have stopped.
    let spill_root = fixture.out("spill");
    std::fs::create_dir(&spill_root).unwrap();
    let text = std::fs::read_to_string(&fixture.data.config).unwrap();
    std::fs::write(
        &fixture.data.config,
        format!(
            "{text}\n[engine]\nspill_dir = \"{}\"\n",
            spill_root.display()
        ),
    )
    .unwrap();
    let local = fixture.audit("local").code(1);
    let config = fixture.data.config.clone();
    with_cluster_token(&config);
    let mut cluster = Cluster::start(fixture.dir.path(), &config, &[&config, &config], &[]);
    let run = audit_on(&cluster, &config, &fixture.out("cluster")).code(1);
    assert_eq!(
        String::from_utf8_lossy(&run.get_output().stdout).replace("/cluster/", "/local/"),
        String::from_utf8_lossy(&local.get_output().stdout),
        "the summary differs"
    );

    let cluster_files = files_below(&fixture.out("cluster"));
    let report: serde_json::Value =
        serde_json::from_slice(&cluster_files[Path::new("report.json")]).unwrap();
    assert_eq!(report["engine"]["kind"], "ballista");
    assert_eq!(report["engine"]["scheduler"], cluster.url.as_str());
    assert_eq!(
        crate::support::report_json(&fixture.out("local"))["engine"]["kind"],
        "local"
    );
    assert_same_outputs(
        &files_below(&fixture.out("local")),
        &cluster_files,
        "the cluster audit",
    );

    // A monthly audit against the last one: the baseline is a file on this machine.
    let baseline = fixture.out("local");
    let again = |out: &str, cluster: Option<&str>| {
        let mut command = fairmark();
        command
            .args(["audit", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(fixture.out(out))
            .arg("--baseline")
            .arg(&baseline);
        if let Some(url) = cluster {
            command.args(["--cluster", url]);
        }
        command.timeout(Duration::from_secs(600)).assert().code(1);
        files_below(&fixture.out(out))
    };
    assert_same_outputs(
        &again("local-again", None),
        &again("cluster-again", Some(&cluster.url)),
        "the cluster audit against a baseline",
    );

    // What the cluster's processes printed holds no customer's identifier either.
    let raw = raw_identifiers(&fixture.input("customers.csv"));
    let mut printed = cluster.stderr();
    printed.insert("audit stderr".into(), run.get_output().stderr.clone());
    crate::support::assert_no_raw_values(&raw, &printed);

    // The executors' shuffle files held rows as read: gone with the executors.
    let held = std::fs::read_dir(&spill_root).unwrap().count();
    assert!(
        held > 0,
        "each executor keeps a private directory while it runs"
    );
    cluster.terminate();
    let left: Vec<_> = std::fs::read_dir(&spill_root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind after SIGTERM: {left:?}");
}

#[test]
fn an_executor_holding_another_key_refuses_the_plan() {
    let fixture = Fixture::small();
    fixture.without_mail();
    let config = fixture.data.config.clone();
    std::fs::write(fixture.input("other.key"), format!("{}\n", "7e".repeat(32))).unwrap();
    let other = fixture.input("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&config).unwrap().replacen(
            "file = \"demo.key\"",
            "file = \"other.key\"",
            1,
        ),
    )
    .unwrap();
    let cluster = Cluster::start(fixture.dir.path(), &config, &[&other], &[]);
    let out = fixture.out("cluster");
    let run = audit_on(&cluster, &config, &out).code(2);
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("an executor holds key k") && stderr.contains("start every executor"),
        "{stderr}"
    );
    assert!(!out.exists(), "a failed audit leaves no output");
}

#[test]
fn a_cluster_that_cannot_be_reached_or_named_is_one_line_and_exit_2() {
    let fixture = Fixture::small();
    fixture.without_mail();
    for (cluster, expected) in [
        (
            format!("df://127.0.0.1:{}", free_port()),
            "error: cluster: the scheduler or an executor refused the connection",
        ),
        (
            "df://127.0.0.1".to_string(),
            "write the scheduler as df://HOST:PORT",
        ),
    ] {
        let out = fixture.out("unreachable");
        let run = fairmark()
            .args(["audit", "--config"])
            .arg(&fixture.data.config)
            .arg("--out")
            .arg(&out)
            .args(["--cluster", &cluster])
            .timeout(Duration::from_secs(120))
            .assert()
            .code(2);
        let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!out.exists(), "a failed audit leaves no output");
    }
}

#[test]
fn a_process_listening_on_every_interface_must_be_told_its_name() {
    let fixture = Fixture::small();
    for args in [
        vec!["scheduler", "--bind", "0.0.0.0:0"],
        vec!["executor", "--bind-host", "0.0.0.0"],
    ] {
        let run = fairmark()
            .args(&args)
            .arg("--config")
            .arg(&fixture.data.config)
            .timeout(Duration::from_secs(60))
            .assert()
            .code(2);
        let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--external-host: required"), "{stderr}");
    }
}

/// A client that is not fairmark: DataFusion and Ballista's own client, registering `tables`
/// (CSV files without a header) and running `sql` through the scheduler at `url`, as the
/// security review's Python client did. It presents the cluster token of `token_from` (a
/// fairmark config), if given. The rows it got back, or its error's text.
fn foreign_query(
    url: &str,
    token_from: Option<&Path>,
    tables: &[(&str, &Path)],
    sql: &str,
) -> Result<usize, String> {
    use ballista_core::extension::{SessionConfigExt, SessionStateExt};
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{CsvReadOptions, SessionConfig, SessionContext};
    use fairmark::engine::cluster_door::ClusterToken;

    let mut config = SessionConfig::new_with_ballista();
    if let Some(path) = token_from {
        let token = ClusterToken::load(&fairmark::config::Config::load(path).unwrap())
            .unwrap()
            .expect("the config has a [cluster] token");
        config =
            config.with_ballista_override_create_grpc_client_endpoint(token.endpoint_override());
    }
    let scheduler = url.replacen("df://", "http://", 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build()
            .upgrade_for_ballista(scheduler)
            .map_err(|e| e.to_string())?;
        let ctx = SessionContext::new_with_state(state);
        for (name, path) in tables {
            let extension = path.extension().unwrap().to_str().unwrap();
            let options = CsvReadOptions::new()
                .has_header(false)
                .file_extension(extension);
            ctx.register_csv(*name, path.to_str().unwrap(), options)
                .await
                .map_err(|e| e.to_string())?;
        }
        let batches = ctx
            .sql(sql)
            .await
            .map_err(|e| e.to_string())?
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(batches.iter().map(|b| b.num_rows()).sum())
    })
}

/// What a client without the token gets from an executor's Flight service, asked directly.
fn flight_without_token(port: u16) -> tonic::Status {
    use arrow_flight::flight_service_client::FlightServiceClient;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .expect("the executor's Flight port accepts connections");
        let mut client = FlightServiceClient::new(channel);
        client
            .list_actions(arrow_flight::Empty {})
            .await
            .expect_err("served without the token")
    })
}

#[test]
fn a_cluster_serves_only_holders_of_its_token_and_only_the_audits_own_plans() {
    let fixture = Fixture::small();
    fixture.without_mail();
    let config = fixture.data.config.clone();
    with_cluster_token(&config);
    let elsewhere = fixture.out("elsewhere.csv");
    std::fs::write(&elsewhere, "not,a,dataset\n").unwrap();
    let key = std::fs::read_to_string(fixture.input("demo.key")).unwrap();
    let token = std::fs::read_to_string(fixture.input("cluster.token")).unwrap();
    let secrets = [key.trim(), token.trim()];
    let cluster = Cluster::start(fixture.dir.path(), &config, &[&config], &[]);

    // Without the token: the scheduler refuses the query, the executor's Flight service
    // refuses any request.
    let customers = fixture.input("customers.csv");
    let refused = foreign_query(
        &cluster.url,
        None,
        &[("c", customers.as_path())],
        "SELECT * FROM c",
    )
    .expect_err("the scheduler served a client without the token");
    assert!(
        refused.contains("does not carry the cluster's token"),
        "{refused}"
    );
    let status = flight_without_token(cluster.flight_ports[0]);
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");

    // With the token but a plan of its own: the key file, the token file, a file outside the
    // datasets, a write. The executor refuses each stage, with the rule it broke, nothing read.
    let written = fixture.out("written.csv");
    let attempts = [
        (
            vec![("k", fixture.input("demo.key"))],
            "SELECT * FROM k".to_string(),
            "refused the stage (file-outside-datasets)",
        ),
        (
            vec![("t", fixture.input("cluster.token"))],
            "SELECT * FROM t".to_string(),
            "refused the stage (file-outside-datasets)",
        ),
        (
            vec![("e", elsewhere.clone())],
            "SELECT * FROM e".to_string(),
            "refused the stage (file-outside-datasets)",
        ),
        (
            vec![],
            format!(
                "COPY (SELECT 1 AS x) TO '{}' STORED AS CSV",
                written.display()
            ),
            "refused the stage (writes-files)",
        ),
    ];
    for (tables, sql, refusal) in &attempts {
        let tables: Vec<(&str, &Path)> = tables.iter().map(|(n, p)| (*n, p.as_path())).collect();
        let error = foreign_query(&cluster.url, Some(&config), &tables, sql).expect_err(sql);
        assert!(error.contains(refusal), "{sql}: {error}");
        for secret in secrets {
            assert!(!error.contains(secret), "a secret in the error of {sql}");
        }
    }
    assert!(!written.exists(), "COPY TO wrote its file");

    // The executor said so, one line a refusal, without a path or a secret.
    let printed = cluster.stderr();
    let executor = String::from_utf8_lossy(&printed["executor-0"]);
    let refusals: Vec<&str> = executor
        .lines()
        .filter(|line| line.contains("refused the stage"))
        .collect();
    assert!(refusals.len() >= attempts.len(), "{executor}");
    for line in &refusals {
        assert!(
            line.starts_with("fairmark executor: refused the stage ("),
            "{line}"
        );
        assert!(!line.contains('/'), "a path in {line}");
    }
    for (_, _, refusal) in &attempts {
        assert!(
            refusals.iter().any(|line| line.contains(refusal)),
            "{refusal}: {executor}"
        );
    }
    for (process, text) in &printed {
        let text = String::from_utf8_lossy(text);
        for secret in secrets {
            assert!(!text.contains(secret), "a secret on the {process}'s stderr");
        }
    }

    // The audit, holding the token, is served by the same cluster; one holding another token
    // is refused in one line.
    audit_on(&cluster, &config, &fixture.out("cluster")).code(1);
    std::fs::write(
        fixture.input("other.token"),
        format!("{}\n", "e7".repeat(32)),
    )
    .unwrap();
    let other = fixture.input("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("cluster.token", "other.token"),
    )
    .unwrap();
    let out = fixture.out("other");
    let run = audit_on(&cluster, &other, &out).code(2);
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("[cluster] token"), "{stderr}");
    assert!(!out.exists(), "a refused audit leaves no output");
}

#[test]
fn a_process_listening_beyond_loopback_needs_the_cluster_token() {
    let fixture = Fixture::small();
    for args in [
        vec![
            "scheduler",
            "--bind",
            "0.0.0.0:0",
            "--external-host",
            "sched",
        ],
        vec![
            "executor",
            "--bind-host",
            "0.0.0.0",
            "--external-host",
            "exec",
        ],
    ] {
        let run = fairmark()
            .args(&args)
            .arg("--config")
            .arg(&fixture.data.config)
            .timeout(Duration::from_secs(60))
            .assert()
            .code(2);
        let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("listening beyond this machine needs the cluster's token"),
            "{stderr}"
        );
    }
}
