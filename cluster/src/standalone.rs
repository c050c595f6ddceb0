//! The processes of a standalone cluster (Flink's standalone mode): a JobManager holding
//! the Dispatcher, the JobMasters and the ResourceManager behind one RPC endpoint, and
//! TaskManagers that register their slots with it, heartbeat, and run what it deploys.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_runtime::config::{cluster, task_manager, Configuration};
use eddy_runtime::connector::ConnectorResolver;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::dispatcher::{Dispatcher, JobStoreLimits};
use crate::error::{ClusterError, Result};
use crate::gateway::TaskExecutorRegistration;
use crate::jobmaster::JobMasterServices;
use crate::resource_manager::ResourceManager;
use crate::rpc::client::{GrpcJobManager, GrpcRpcService};
use crate::rpc::results::{GrpcRemoteCollect, ResultCollectorServer, ResultCollectorService};
use crate::rpc::server::{
    JobManagerServer, JobManagerService, TaskExecutorServer, TaskExecutorService,
};
use crate::shuffle::NetworkEnvironment;
use crate::task_executor::TaskExecutor;

/// Largest RPC message accepted (a deployment carries its whole job graph).
const MAX_MESSAGE: usize = 256 << 20;

/// A running JobManager.
pub struct JobManager {
    pub dispatcher: Arc<Dispatcher>,
    /// Where its RPC endpoint listens.
    pub rpc_address: SocketAddr,
    /// Its RPC endpoint as other processes reach it (also the result endpoint of the
    /// gateway in its process).
    pub advertised_address: String,
}

/// Serves a gateway's result endpoint alone (for `eddy gateway`) on `listener`.
pub fn serve_results(listener: TcpListener) {
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(
                ResultCollectorServer::new(ResultCollectorService)
                    .max_decoding_message_size(MAX_MESSAGE),
            )
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the gateway's result endpoint stopped");
        }
    });
}

/// Starts the JobManager roles and their RPC endpoint on `listener`.
pub async fn start_job_manager(
    config: &Configuration,
    resolver: Arc<dyn ConnectorResolver>,
    listener: TcpListener,
) -> Result<JobManager> {
    let rpc_address = listener
        .local_addr()
        .map_err(|e| ClusterError::Runtime(eddy_runtime::RuntimeError::io("RPC endpoint", e)))?;
    let (lost_tx, lost_rx) = tokio::sync::mpsc::unbounded_channel();
    let resource_manager = Arc::new(ResourceManager::standalone(lost_tx));
    let advertised = format!(
        "{}:{}",
        config.get_string(&cluster::JOBMANAGER_RPC_ADDRESS),
        rpc_address.port()
    );
    let dispatcher = Arc::new(Dispatcher::new(
        JobMasterServices {
            resource_manager: resource_manager.clone(),
            resolver,
            rpc: Arc::new(GrpcRpcService::default()),
            address: advertised.clone(),
            defaults: config.clone(),
        },
        JobStoreLimits::from_config(config),
    ));
    let interval = config.get_duration(&cluster::HEARTBEAT_INTERVAL);
    let timeout = config.get_duration(&cluster::HEARTBEAT_TIMEOUT);
    let rm = resource_manager.clone();
    tokio::spawn(async move { rm.monitor_heartbeats(interval / 2, timeout).await });
    let d = dispatcher.clone();
    tokio::spawn(async move { d.follow_lost_task_executors(lost_rx).await });
    let service = JobManagerServer::new(JobManagerService {
        dispatcher: dispatcher.clone(),
        resource_manager,
    })
    .max_decoding_message_size(MAX_MESSAGE)
    .max_encoding_message_size(MAX_MESSAGE);
    // The gateway in this process takes a streaming SELECT's rows on the same endpoint.
    let results =
        ResultCollectorServer::new(ResultCollectorService).max_decoding_message_size(MAX_MESSAGE);
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .add_service(results)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the JobManager's RPC endpoint stopped");
        }
    });
    tracing::info!(address = %rpc_address, "JobManager RPC endpoint listening");
    Ok(JobManager {
        dispatcher,
        rpc_address,
        advertised_address: advertised,
    })
}

/// Runs a TaskManager until `shutdown` completes: registers with the JobManager at
/// `job_manager` (host:port), heartbeats, and runs the subtasks deployed to it.
pub async fn run_task_manager(
    config: &Configuration,
    resolver: Arc<dyn ConnectorResolver>,
    job_manager: &str,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let io = |what: &'static str| {
        move |e: std::io::Error| ClusterError::Runtime(eddy_runtime::RuntimeError::io(what, e))
    };
    let bind = config.get_string(&cluster::TASKMANAGER_BIND_HOST);
    let host = config.get_string(&cluster::TASKMANAGER_HOST);
    let rpc_listener = TcpListener::bind((
        bind.as_str(),
        config.get_int(&cluster::TASKMANAGER_RPC_PORT) as u16,
    ))
    .await
    .map_err(io("cannot bind the TaskManager's RPC port"))?;
    let data_listener = TcpListener::bind((
        bind.as_str(),
        config.get_int(&cluster::TASKMANAGER_DATA_PORT) as u16,
    ))
    .await
    .map_err(io("cannot bind the TaskManager's data port"))?;
    let rpc_port = rpc_listener
        .local_addr()
        .map_err(io("TaskManager RPC port"))?
        .port();
    let (network, data_address) =
        NetworkEnvironment::start(data_listener).map_err(io("TaskManager data port"))?;
    let mut id = config.get_string(&cluster::TASKMANAGER_RESOURCE_ID);
    if id.is_empty() {
        id = format!(
            "{host}:{rpc_port}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
    }
    let registration = TaskExecutorRegistration {
        id: id.clone(),
        num_slots: config.get_int(&task_manager::NUM_TASK_SLOTS).max(1) as u32,
        rpc_address: format!("{host}:{rpc_port}"),
        data_address: format!("{host}:{}", data_address.port()),
    };
    let task_executor = Arc::new(TaskExecutor::new(
        id.clone(),
        resolver,
        Arc::new(GrpcRpcService::default()),
        Some(network),
        config.get_int(&task_manager::CHANNEL_CAPACITY).max(1) as usize,
    ));
    let service = TaskExecutorServer::new(TaskExecutorService {
        task_executor: task_executor.clone(),
    })
    .max_decoding_message_size(MAX_MESSAGE)
    .max_encoding_message_size(MAX_MESSAGE);
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(rpc_listener))
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the TaskManager's RPC endpoint stopped");
        }
    });
    tracing::info!(
        id = %id,
        rpc = %registration.rpc_address,
        data = %registration.data_address,
        slots = registration.num_slots,
        "TaskManager started"
    );
    eddy_connectors::collect::set_remote_collect(Arc::new(GrpcRemoteCollect {
        runtime: tokio::runtime::Handle::current(),
    }));
    let jm = GrpcJobManager::connect(job_manager)?;
    let interval = config.get_duration(&cluster::HEARTBEAT_INTERVAL);
    let timeout = config.get_duration(&cluster::HEARTBEAT_TIMEOUT);
    let run = keep_registered(&jm, &registration, &task_executor, interval, timeout);
    tokio::select! {
        r = run => r,
        _ = shutdown => {
            tracing::info!("TaskManager shutting down: cancelling its tasks");
            task_executor.fail_all(format!("TaskManager {id} was shut down"));
            // Give cancelled subtasks a moment to report; the JobManager fails the rest
            // when the heartbeats stop.
            let deadline = Instant::now() + Duration::from_secs(5);
            while task_executor.live_task_count() > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(())
        }
    }
}

/// How long a TaskManager tries to register before it gives up (Flink's
/// `taskmanager.registration.timeout`).
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(300);

async fn register(jm: &GrpcJobManager, registration: &TaskExecutorRegistration) -> Result<()> {
    let deadline = Instant::now() + REGISTRATION_TIMEOUT;
    let mut delay = Duration::from_millis(100);
    loop {
        match jm.register_task_executor(registration).await {
            Ok(()) => {
                tracing::info!(id = %registration.id, "registered with the JobManager");
                return Ok(());
            }
            // Another version will not become this one by retrying.
            Err(e @ ClusterError::Incompatible(_)) => return Err(e),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot register with the JobManager; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn keep_registered(
    jm: &GrpcJobManager,
    registration: &TaskExecutorRegistration,
    task_executor: &TaskExecutor,
    interval: Duration,
    timeout: Duration,
) -> Result<()> {
    register(jm, registration).await?;
    let mut last_ok = Instant::now();
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    loop {
        tick.tick().await;
        let undelivered = task_executor.take_undelivered();
        let beat = jm
            .heartbeat(
                &registration.id,
                &undelivered,
                interval.max(Duration::from_secs(1)),
            )
            .await;
        if beat.is_err() {
            task_executor.return_undelivered(undelivered);
        }
        match beat {
            Ok(true) => last_ok = Instant::now(),
            Ok(false) => {
                tracing::warn!("the JobManager no longer knows this TaskManager: cancelling its tasks and registering again");
                task_executor.fail_all(format!(
                    "TaskManager {} lost its registration with the JobManager",
                    registration.id
                ));
                register(jm, registration).await?;
                last_ok = Instant::now();
            }
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat to the JobManager failed");
                if last_ok.elapsed() > timeout {
                    // The JobManager has declared this TaskManager lost by now, and failed
                    // the jobs of its tasks.
                    task_executor.fail_all(format!(
                        "TaskManager {} lost the JobManager: no heartbeat answered for {} ms",
                        registration.id,
                        last_ok.elapsed().as_millis()
                    ));
                }
            }
        }
    }
}
