//! The engine's plans on an Apache Ballista cluster: the client's session, the scheduler and
//! executor processes with fairmark's functions and physical node, their services behind the
//! cluster's door ([`super::cluster_door`]), and the codecs that carry plans across, which on
//! an executor let through only the stages its [`PlanGuard`] accepts.
//!
//! A keyed function (a pseudonym) travels as its name and the public id of the key it computes
//! under, never the key: the scheduler plans with a stand-in that cannot run, and each executor
//! binds the function to the key it loaded itself, refusing a plan whose key id differs. Every
//! other function of fairmark's travels by name, as DataFusion's own do.

use std::net::SocketAddr;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use ballista_core::ConfigProducer;
use ballista_core::config::{BALLISTA_SCHEDULER_SHARE_FILE_STATISTICS_CACHE, TaskSchedulingPolicy};
use ballista_core::error::BallistaError;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use ballista_core::utils::{GrpcServerConfig, create_grpc_server, default_session_builder};
use ballista_executor::ArrowFlightServerProvider;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_executor::flight_service::BallistaFlightService;
use ballista_executor::shutdown::Shutdown;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::create_scheduler;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tonic::service::interceptor::InterceptedService;

use super::cluster_door::{ClusterToken, Door};
use super::compact::{CompactBeforeBuffering, CompactSlicesExec};
use super::plan_guard::PlanGuard;
use crate::pseudonym::KeyBinding;

/// What a keyed function's definition is on the wire: this tag, then its binding.
const KEYED_FUNCTION_TAG: &[u8] = b"fairmark-keyed-function:";
/// What [`CompactSlicesExec`] is on the wire (a protobuf message never starts with `f`, so
/// Ballista's own nodes cannot be mistaken for it).
const COMPACT_SLICES_TAG: &[u8] = b"fairmark-compact-slices";

fn encode_keyed(keys: &dyn KeyBinding, function: &ScalarUDF, buf: &mut Vec<u8>) {
    if let Some(id) = keys.binding_of(function) {
        buf.extend_from_slice(KEYED_FUNCTION_TAG);
        buf.extend_from_slice(id.as_bytes());
    }
}

/// `None`: not a keyed function's definition, to be found by name as any other.
fn decode_keyed(keys: &dyn KeyBinding, name: &str, buf: &[u8]) -> Option<Result<Arc<ScalarUDF>>> {
    let id = buf.strip_prefix(KEYED_FUNCTION_TAG)?;
    Some(match std::str::from_utf8(id) {
        Ok(id) => keys.bind(name, id),
        Err(_) => Err(DataFusionError::Plan(format!(
            "the plan's definition of {name} is not a key binding"
        ))),
    })
}

/// Ballista's logical codec, with keyed functions carried by key id.
#[derive(Debug)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
    keys: Arc<dyn KeyBinding>,
}

impl LogicalCodec {
    pub fn new(keys: Arc<dyn KeyBinding>) -> LogicalCodec {
        LogicalCodec {
            ballista: BallistaLogicalExtensionCodec::default(),
            keys,
        }
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        self.ballista
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_keyed(self.keys.as_ref(), name, buf)
            .unwrap_or_else(|| self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, function: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_keyed(self.keys.as_ref(), function, buf);
        Ok(())
    }
}

/// Ballista's physical codec, with keyed functions carried by key id and fairmark's own node;
/// on an executor, every stage it decodes passes its [`PlanGuard`] first.
#[derive(Debug)]
pub struct PhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
    keys: Arc<dyn KeyBinding>,
    guard: Option<Arc<PlanGuard>>,
}

impl PhysicalCodec {
    pub fn new(keys: Arc<dyn KeyBinding>) -> PhysicalCodec {
        PhysicalCodec {
            ballista: BallistaPhysicalExtensionCodec::default(),
            keys,
            guard: None,
        }
    }

    /// An executor's codec: it decodes only stages `guard` lets run.
    pub fn guarded(keys: Arc<dyn KeyBinding>, guard: Arc<PlanGuard>) -> PhysicalCodec {
        PhysicalCodec {
            guard: Some(guard),
            ..PhysicalCodec::new(keys)
        }
    }
}

/// The nodes a stage an executor runs is rooted at: Ballista's executor runs no other root
/// (its execution engine refuses one), and decodes a node's inputs before the node, so a
/// stage checked when its writer is decoded is checked whole.
const STAGE_ROOTS: [&str; 3] = [
    "ShuffleWriterExec",
    "SortShuffleWriterExec",
    "RangeShuffleWriterExec",
];

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if buf == COMPACT_SLICES_TAG {
            let [input] = inputs else {
                return Err(DataFusionError::Plan(
                    "CompactSlicesExec arrived without its one input".into(),
                ));
            };
            return Ok(Arc::new(CompactSlicesExec::new(input.clone())));
        }
        let node = self
            .ballista
            .try_decode(buf, inputs, ctx, proto_converter)?;
        if let Some(guard) = &self.guard
            && STAGE_ROOTS.contains(&node.name())
            && let Err(refusal) = guard.check(node.as_ref())
        {
            // The executor's only trace of it: Ballista's own log is not set up, and the task's
            // error goes back to whoever sent the plan. The refusal holds no path or value.
            eprintln!("fairmark executor: {refusal}");
            return Err(DataFusionError::Plan(refusal.to_string()));
        }
        Ok(node)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if node.downcast_ref::<CompactSlicesExec>().is_some() {
            buf.extend_from_slice(COMPACT_SLICES_TAG);
            return Ok(());
        }
        self.ballista.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_keyed(self.keys.as_ref(), name, buf)
            .unwrap_or_else(|| self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, function: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_keyed(self.keys.as_ref(), function, buf);
        Ok(())
    }
}

/// The client's session: `config` and `runtime`, with queries planned and run by the scheduler
/// at `scheduler` (its gRPC address, see [`scheduler_http_url`]). Functions are registered
/// afterwards, because Ballista's upgrade replaces the state's function list.
pub fn client_state(
    scheduler: String,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    keys: Arc<dyn KeyBinding>,
    token: Option<&ClusterToken>,
) -> Result<SessionState> {
    let mut config = config
        .upgrade_for_ballista()
        .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::new(keys.clone())))
        .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::new(keys)));
    if let Some(token) = token {
        // Both the scheduler's channel and those to the executors' Flight services.
        config =
            config.with_ballista_override_create_grpc_client_endpoint(token.endpoint_override());
    }
    // Joins are hash joins, as in one process. Ballista 55 defaults to sort-merge joins, and a
    // window over a sort-merge join's output, planned on the join's ordering, fails on the
    // executor once the stage is decoded ("Expects PARTITION BY expression to be ordered", the
    // error of apache/datafusion-ballista#1296): the mail frequency cap is such a window.
    config.options_mut().optimizer.prefer_hash_join = true;
    // The scheduler would otherwise keep files' statistics across jobs, keyed by path, size and
    // modification time: a dataset rewritten in place within the same second would be planned
    // on the old file's row counts and min/max values.
    let config = config.set_bool(BALLISTA_SCHEDULER_SHARE_FILE_STATISTICS_CACHE, false);
    SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build()
        .upgrade_for_ballista(scheduler)
}

/// `df://host:port` (or `http://`, or `host:port`) as the scheduler's host and port; the error
/// says how to write it.
pub fn scheduler_address(url: &str) -> std::result::Result<(String, u16), String> {
    let address = url.split_once("://").map_or(url, |(_, rest)| rest);
    address
        .trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .filter(|(host, _)| !host.is_empty())
        .map(|(host, port)| (host.to_string(), port))
        .ok_or_else(|| "write the scheduler as df://HOST:PORT, e.g. df://127.0.0.1:50050".into())
}

/// [`scheduler_address`] as the URL of the scheduler's gRPC service.
pub fn scheduler_http_url(url: &str) -> std::result::Result<String, String> {
    scheduler_address(url).map(|(host, port)| format!("http://{host}:{port}"))
}

/// A scheduler's settings.
pub struct SchedulerSettings {
    /// Where it listens for clients and executors.
    pub bind: SocketAddr,
    /// The host executors and clients reach it at.
    pub external_host: String,
    /// The cluster's token, which every request must present; `None` admits every request.
    pub token: Option<ClusterToken>,
}

/// Runs a scheduler until the process is stopped. It plans with `functions` (those without a
/// key) and stand-ins for the keyed ones, and reads data through `runtime`'s object stores
/// (it lists the files of every dataset when it plans).
pub async fn run_scheduler(
    settings: SchedulerSettings,
    functions: Vec<ScalarUDF>,
    keys: Arc<dyn KeyBinding>,
    runtime: Arc<RuntimeEnv>,
) -> Result<()> {
    let functions = Arc::new(functions);
    let session_builder = Arc::new(move |config: SessionConfig| {
        let mut state = SessionStateBuilder::new_from_existing(default_session_builder(config)?)
            .with_runtime_env(runtime.clone())
            .with_physical_optimizer_rule(Arc::new(CompactBeforeBuffering))
            .build();
        for function in functions.iter() {
            state.register_udf(Arc::new(function.clone()))?;
        }
        Ok(state)
    });
    let config = SchedulerConfig {
        bind_host: settings.bind.ip().to_string(),
        bind_port: settings.bind.port(),
        external_host: settings.external_host,
        // Executors poll for tasks: in push mode each would run a gRPC service of Ballista's
        // that no check can be put in front of (see `cluster_door`).
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        override_session_builder: Some(session_builder),
        override_logical_codec: Some(Arc::new(LogicalCodec::new(keys.clone()))),
        override_physical_codec: Some(Arc::new(PhysicalCodec::new(keys))),
        ..Default::default()
    };
    config.validate().map_err(ballista_error)?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(ballista_error)?;
    let max_message_size = config.grpc_server_max_decoding_message_size as usize;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(ballista_error)?;
    // Ballista's own `start_server` mounts the gRPC service without a place for a check, and
    // health routes beside it; this serves the scheduler's gRPC service alone, behind the door.
    let service = SchedulerGrpcServer::new(scheduler)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size);
    create_grpc_server(&GrpcServerConfig::default())
        .add_service(InterceptedService::new(service, Door::new(settings.token)))
        .serve(settings.bind)
        .await
        .map_err(|e| ballista_error(BallistaError::TonicError(e)))
}

/// An executor's settings.
pub struct ExecutorSettings {
    pub bind_host: String,
    /// The host the scheduler and clients reach it at.
    pub external_host: String,
    /// Arrow Flight: where results and shuffle data are fetched.
    pub flight_port: u16,
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Tasks run at once; 0 for one per core.
    pub vcores: usize,
    /// Where shuffle files are written: they hold rows as read, so a private directory.
    pub work_dir: String,
    /// The memory pool of all the executor's tasks, in bytes (`[engine] memory_limit`);
    /// `None` for no limit. Ballista replaces the runtime's own pool with one of this size.
    pub memory_limit: Option<u64>,
    /// The cluster's token: presented to the scheduler and other executors, and asked of
    /// every request to this executor's Flight service. `None` on loopback only.
    pub token: Option<ClusterToken>,
}

/// Runs an executor until the process is stopped or the scheduler lets it go. Tasks run with
/// DataFusion's functions and `functions`; keyed functions are bound by `keys` when a plan
/// arrives, never looked up by name; a stage runs only when `guard` lets it. `runtime` gives
/// the object stores and the private spill directory.
pub async fn run_executor(
    settings: ExecutorSettings,
    functions: Vec<ScalarUDF>,
    keys: Arc<dyn KeyBinding>,
    guard: Arc<PlanGuard>,
    runtime: Arc<RuntimeEnv>,
) -> Result<()> {
    let mut state = default_session_builder(SessionConfig::new_with_ballista())?;
    for function in functions {
        state.register_udf(Arc::new(function))?;
    }
    let endpoint_override = settings.token.as_ref().map(ClusterToken::endpoint_override);
    // A task's session starts from this config (the client's settings are applied over it),
    // so its shuffle reads from other executors present the token too.
    let task_config = endpoint_override.clone().map(|presents_token| {
        Arc::new(move || {
            SessionConfig::new_with_ballista()
                .with_ballista_override_create_grpc_client_endpoint(presents_token.clone())
        }) as ConfigProducer
    });
    let door = Door::new(settings.token);
    let mut config = ExecutorProcessConfig {
        bind_host: settings.bind_host,
        external_host: Some(settings.external_host),
        port: settings.flight_port,
        scheduler_host: settings.scheduler_host,
        scheduler_port: settings.scheduler_port,
        vcores: settings.vcores,
        // It polls the scheduler for tasks and so runs no gRPC service (see `cluster_door`).
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        override_create_grpc_client_endpoint: endpoint_override,
        override_config_producer: task_config,
        work_dir: Some(settings.work_dir),
        // Ballista reads 0 as "no limit".
        memory_pool_size: Some(settings.memory_limit.unwrap_or(0)),
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_runtime_producer: Some(Arc::new(move |_config: &SessionConfig| {
            Ok(runtime.clone())
        })),
        override_physical_codec: Some(Arc::new(PhysicalCodec::guarded(keys, guard))),
        ..Default::default()
    };
    let max_message_size = config.grpc_max_decoding_message_size as usize;
    config.override_arrow_flight_service = Some(flight_service(door, max_message_size));
    start_executor_process(Arc::new(config))
        .await
        .map_err(ballista_error)
}

/// Ballista's own Flight service of an executor (its results and shuffle files), behind `door`.
fn flight_service(door: Door, max_message_size: usize) -> Arc<ArrowFlightServerProvider> {
    Arc::new(
        move |work_dir: String,
              address: SocketAddr,
              mut shutdown: Shutdown,
              grpc_config: GrpcServerConfig| {
            let service = FlightServiceServer::new(BallistaFlightService::new(work_dir))
                .max_decoding_message_size(max_message_size)
                .max_encoding_message_size(max_message_size);
            let service = InterceptedService::new(service, door.clone());
            tokio::spawn(async move {
                create_grpc_server(&grpc_config)
                    .add_service(service)
                    .serve_with_shutdown(address, shutdown.recv())
                    .await
                    .map_err(BallistaError::TonicError)
            })
        },
    )
}

fn ballista_error(e: BallistaError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;
    use datafusion_proto::bytes::{
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    /// `upper` standing in for a keyed function, under key `id`.
    #[derive(Debug)]
    struct KeyedUpper {
        id: &'static str,
    }

    impl KeyBinding for KeyedUpper {
        fn binding_of(&self, function: &ScalarUDF) -> Option<String> {
            (function.name() == "upper").then(|| self.id.to_string())
        }

        fn bind(&self, name: &str, key_id: &str) -> Result<Arc<ScalarUDF>> {
            if key_id != self.id {
                return Err(DataFusionError::Plan(format!(
                    "{name}: key {key_id} refused"
                )));
            }
            Ok(datafusion::functions::string::upper())
        }
    }

    /// A plan with a keyed function under a sort, as the scheduler sends it to an executor.
    async fn sorted_upper_plan() -> Arc<dyn ExecutionPlan> {
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(CompactBeforeBuffering))
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.sql("SELECT upper(a) AS u FROM (VALUES ('x'), ('y')) t(a) ORDER BY u")
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap()
    }

    /// The plan's operators, depth first.
    fn names(plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
        let mut found = vec![plan.name().to_string()];
        for child in plan.children() {
            found.extend(names(child));
        }
        found
    }

    #[tokio::test]
    async fn a_plan_reaches_an_executor_with_its_node_and_its_keyed_function_bound_there() {
        let plan = sorted_upper_plan().await;
        assert!(names(&plan).contains(&"CompactSlicesExec".to_string()));
        let sent = PhysicalCodec::new(Arc::new(KeyedUpper { id: "k00001" }));
        let bytes = physical_plan_to_bytes_with_extension_codec(plan.clone(), &sent).unwrap();
        let task = SessionContext::new().task_ctx();

        let same_key = PhysicalCodec::new(Arc::new(KeyedUpper { id: "k00001" }));
        let decoded =
            physical_plan_from_bytes_with_extension_codec(&bytes, &task, &same_key).unwrap();
        assert_eq!(names(&decoded), names(&plan));

        let other_key = PhysicalCodec::new(Arc::new(KeyedUpper { id: "k00002" }));
        let refusal = physical_plan_from_bytes_with_extension_codec(&bytes, &task, &other_key)
            .unwrap_err()
            .to_string();
        assert!(refusal.contains("key k00001 refused"), "{refusal}");
    }

    #[test]
    fn scheduler_addresses_are_read_with_or_without_a_scheme() {
        assert_eq!(
            scheduler_http_url("df://127.0.0.1:50050").unwrap(),
            "http://127.0.0.1:50050"
        );
        assert_eq!(
            scheduler_http_url("sched.internal:7000/").unwrap(),
            "http://sched.internal:7000"
        );
        for wrong in ["df://127.0.0.1", "df://:50050", "df://host:port", ""] {
            assert!(scheduler_http_url(wrong).is_err(), "{wrong}");
        }
    }
}
