//! `fairmark scheduler` and `fairmark executor`: Apache Ballista's two processes with
//! fairmark's functions and physical node built in, for `fairmark audit --cluster`. Both read
//! the same fairmark.toml as the audit: both for the cluster's token (`[cluster]`) and the
//! object stores they list or read datasets on, an executor also for the key, which it loads
//! itself and never receives, and for the datasets, the only files it lets a plan scan.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use fairmark::config::Config;
use fairmark::engine::Runtime;
use fairmark::engine::cluster::{self, ExecutorSettings, SchedulerSettings};
use fairmark::engine::cluster_door::ClusterToken;
use fairmark::engine::plan_guard::PlanGuard;
use fairmark::engine::storage::register_buckets;
use fairmark::pseudonym::{Key, TokenBinding};

/// The cluster's token from `config`; without one, the process may listen on loopback only,
/// where nobody but this machine's users can reach it. `flag` names the address's option.
fn door_for(config: &Config, bind_host: &str, flag: &str) -> anyhow::Result<Option<ClusterToken>> {
    let token = ClusterToken::load(config)?;
    let loopback = bind_host
        .parse::<std::net::IpAddr>()
        .map_or(bind_host == "localhost", |ip| ip.is_loopback());
    if token.is_none() && !loopback {
        // The address is not repeated: the error line masks anything shaped like an IP.
        return Err(fairmark::error::Error::Usage(format!(
            "{flag}: listening beyond this machine needs the cluster's token, or anyone who reaches the port can read the datasets through the cluster; add `[cluster] token = {{ env = \"FAIRMARK_CLUSTER_TOKEN\" }}` (or `{{ file = \"…\" }}`) to the config of the scheduler, every executor and the audits"
        ))
        .into());
    }
    Ok(token)
}

/// The host a process tells its peers to reach it at: `--external-host`, else the address it
/// binds, unless that is every interface (0.0.0.0), which no peer can connect to.
fn advertised(external_host: Option<String>, bind_host: &str) -> anyhow::Result<String> {
    match external_host {
        Some(host) => Ok(host),
        None if bind_host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified()) =>
        {
            // The address is not repeated: the error line masks anything shaped like an IP.
            Err(fairmark::error::Error::Usage(
                "--external-host: required when listening on every interface, an address peers cannot connect to; give the name or address they reach this machine at".into(),
            )
            .into())
        }
        None => Ok(bind_host.to_string()),
    }
}

pub async fn scheduler(
    config_path: &Path,
    bind: SocketAddr,
    external_host: Option<String>,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    // The scheduler lists files and reads footers, and runs no query: the object stores,
    // without a memory pool or a spill directory.
    let runtime = RuntimeEnvBuilder::new().build_arc()?;
    register_buckets(&runtime, &config)?;
    let external_host = advertised(external_host, &bind.ip().to_string())?;
    let token = door_for(&config, &bind.ip().to_string(), "--bind")?;
    eprintln!(
        "fairmark scheduler: listening on {bind} (Ballista 55, DataFusion {}); audit with --cluster df://{external_host}:{}",
        datafusion::DATAFUSION_VERSION,
        bind.port()
    );
    cluster::run_scheduler(
        SchedulerSettings {
            bind,
            external_host,
            token,
        },
        fairmark::functions::keyless(),
        Arc::new(TokenBinding::keyless()),
        runtime,
    )
    .await
    .context("the scheduler stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// An executor as the command line asked for it.
pub struct ExecutorRequest<'a> {
    pub config: &'a Path,
    pub scheduler: &'a str,
    pub bind_host: String,
    pub external_host: Option<String>,
    pub flight_port: u16,
    pub vcores: usize,
}

pub async fn executor(request: ExecutorRequest<'_>) -> anyhow::Result<ExitCode> {
    let config = Config::load(request.config)?;
    let key = Arc::new(Key::load(&config.key, &config.base_dir)?);
    // Tasks spill to the runtime's private directory, within `[engine] memory_limit`.
    let runtime = Runtime::new(&config)?;
    register_buckets(&runtime.env, &config)?;
    let (scheduler_host, scheduler_port) = cluster::scheduler_address(request.scheduler)
        .map_err(|e| fairmark::error::Error::Usage(format!("--scheduler: {e}")))?;
    // Shuffle files hold rows as read: they go to the runtime's private directory too.
    let work_dir = runtime.spill_dir().join("shuffle");
    std::fs::create_dir(&work_dir).map_err(|e| fairmark::error::Error::io(&work_dir, e))?;
    let external_host = advertised(request.external_host, &request.bind_host)?;
    let guard = Arc::new(PlanGuard::for_executor(&config, &work_dir)?);
    let token = door_for(&config, &request.bind_host, "--bind-host")?;
    eprintln!(
        "fairmark executor: key {}, flight port {}, joining the scheduler at {scheduler_host}:{scheduler_port}",
        key.id(),
        request.flight_port
    );
    cluster::run_executor(
        ExecutorSettings {
            bind_host: request.bind_host,
            external_host,
            flight_port: request.flight_port,
            scheduler_host,
            scheduler_port,
            vcores: request.vcores,
            work_dir: work_dir.to_string_lossy().into_owned(),
            memory_limit: runtime.memory_limit,
            token,
        },
        fairmark::functions::keyless(),
        Arc::new(TokenBinding::with_key(key)),
        guard,
        runtime.env.clone(),
    )
    .await
    .context("the executor stopped")?;
    // The runtime, and with it the private directory of spill and shuffle files, is dropped
    // only now.
    drop(runtime);
    Ok(ExitCode::SUCCESS)
}
