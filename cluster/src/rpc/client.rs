//! gRPC clients of roles in other processes, behind the same gateway traits as in-process
//! roles. Every call has a deadline except waiting for a job's result, which the SQL
//! client bounds itself (statement_timeout, cancel).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eddy_runtime::checkpoint::TaskCommand;
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::MetricsSnapshot;
use tonic::transport::{Channel, Endpoint};
use tonic::Request;

use super::convert::{error_of, tdd_to_proto, PROTOCOL_VERSION};
use super::proto;
use super::proto::job_manager_client::JobManagerClient;
use super::proto::task_executor_client::TaskExecutorClient;
use crate::checkpoint::CheckpointReport;
use crate::error::{ClusterError, Result};
use crate::gateway::{
    DispatcherGateway, ExecutionAttemptId, JobDetails, JobId, JobMasterGateway, RpcService,
    TaskExecutionState, TaskExecutorGateway, TaskExecutorInfo, TaskExecutorRegistration,
};
use crate::task_executor::TaskDeploymentDescriptor;

/// Deadline of an ordinary call.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily connecting channel to `address` (host:port) that notices a dead peer by HTTP/2
/// keep-alive.
pub fn channel(address: &str) -> Result<Channel> {
    let endpoint =
        Endpoint::from_shared(format!("http://{address}")).map_err(|e| ClusterError::Rpc {
            address: address.to_string(),
            message: format!("not a valid address: {e}"),
        })?;
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true)
        .connect_lazy())
}

fn request<T>(message: T) -> Request<T> {
    let mut r = Request::new(message);
    r.set_timeout(RPC_TIMEOUT);
    r
}

/// An [`RpcService`] reaching every address over gRPC; channels are cached per address.
#[derive(Default)]
pub struct GrpcRpcService {
    channels: Mutex<HashMap<String, Channel>>,
}

impl GrpcRpcService {
    fn channel(&self, address: &str) -> Result<Channel> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(address) {
            return Ok(c.clone());
        }
        let c = channel(address)?;
        map.insert(address.to_string(), c.clone());
        Ok(c)
    }
}

impl RpcService for GrpcRpcService {
    fn task_executor(&self, address: &str) -> Result<Arc<dyn TaskExecutorGateway>> {
        Ok(Arc::new(GrpcTaskExecutor {
            client: TaskExecutorClient::new(self.channel(address)?),
            address: address.to_string(),
        }))
    }

    fn job_master(&self, address: &str) -> Result<Arc<dyn JobMasterGateway>> {
        Ok(Arc::new(GrpcJobManager::new(
            self.channel(address)?,
            address,
        )))
    }

    fn forget(&self, address: &str) {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(address);
    }
}

/// A TaskExecutor in another process.
pub struct GrpcTaskExecutor {
    client: TaskExecutorClient<Channel>,
    address: String,
}

#[async_trait]
impl TaskExecutorGateway for GrpcTaskExecutor {
    async fn submit_task(&self, tdd: TaskDeploymentDescriptor) -> Result<()> {
        let message = tdd_to_proto(&tdd)?;
        self.client
            .clone()
            .submit_task(request(message))
            .await
            .map_err(|s| error_of(s, &self.address))?;
        Ok(())
    }

    async fn task_command(
        &self,
        job_id: &str,
        target: Option<&ExecutionAttemptId>,
        command: TaskCommand,
    ) -> Result<()> {
        let command = serde_json::to_vec(&command).map_err(|e| {
            ClusterError::Runtime(eddy_runtime::RuntimeError::Internal(e.to_string()))
        })?;
        self.client
            .clone()
            .task_command(request(proto::TaskCommandRequest {
                job_id: job_id.to_string(),
                attempt: target.map(Into::into),
                command,
            }))
            .await
            .map_err(|s| error_of(s, &self.address))?;
        Ok(())
    }

    async fn cancel_task(&self, attempt: &ExecutionAttemptId) -> Result<()> {
        self.client
            .clone()
            .cancel_task(request(proto::ExecutionAttempt::from(attempt)))
            .await
            .map_err(|s| error_of(s, &self.address))?;
        Ok(())
    }

    async fn job_metrics(&self, job_id: &str) -> Result<Vec<(u32, MetricsSnapshot)>> {
        let m = self
            .client
            .clone()
            .job_metrics(request(proto::JobIdMessage {
                job_id: job_id.to_string(),
            }))
            .await
            .map_err(|s| error_of(s, &self.address))?;
        Ok(m.into_inner()
            .vertices
            .into_iter()
            .map(|v| (v.vertex_id, v.metrics.map(Into::into).unwrap_or_default()))
            .collect())
    }

    async fn release_job(&self, job_id: &str, up_to_attempt: u32) -> Result<()> {
        self.client
            .clone()
            .release_job(request(proto::ReleaseJobRequest {
                job_id: job_id.to_string(),
                up_to_attempt,
            }))
            .await
            .map_err(|s| error_of(s, &self.address))?;
        Ok(())
    }
}

/// The JobManager process as seen from a TaskManager or a gateway: its JobMasters, its
/// Dispatcher and its ResourceManager's registration.
#[derive(Clone)]
pub struct GrpcJobManager {
    client: JobManagerClient<Channel>,
    address: String,
}

impl GrpcJobManager {
    /// A client of the JobManager at `address` (host:port).
    pub fn new(channel: Channel, address: &str) -> Self {
        Self {
            client: JobManagerClient::new(channel)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
            address: address.to_string(),
        }
    }

    /// A client of the JobManager at `address` (host:port).
    pub fn connect(address: &str) -> Result<Self> {
        Ok(Self::new(channel(address)?, address))
    }

    fn err(&self) -> impl Fn(tonic::Status) -> ClusterError + '_ {
        move |s| error_of(s, &self.address)
    }

    /// Registers a TaskExecutor's slots.
    pub async fn register_task_executor(&self, r: &TaskExecutorRegistration) -> Result<()> {
        self.client
            .clone()
            .register_task_executor(request(proto::RegisterTaskExecutorRequest {
                protocol_version: PROTOCOL_VERSION,
                build_version: env!("CARGO_PKG_VERSION").to_string(),
                id: r.id.clone(),
                num_slots: r.num_slots,
                rpc_address: r.rpc_address.clone(),
                data_address: r.data_address.clone(),
            }))
            .await
            .map_err(self.err())?;
        Ok(())
    }

    /// Heartbeats, carrying final task states not reported yet; false when the JobManager
    /// does not know the TaskExecutor.
    pub async fn heartbeat(
        &self,
        id: &str,
        undelivered: &[TaskExecutionState],
        timeout: Duration,
    ) -> Result<bool> {
        let mut r = Request::new(proto::HeartbeatRequest {
            id: id.to_string(),
            undelivered: undelivered.iter().map(Into::into).collect(),
        });
        r.set_timeout(timeout);
        let resp = self.client.clone().heartbeat(r).await.map_err(self.err())?;
        Ok(resp.into_inner().known)
    }
}

#[async_trait]
impl JobMasterGateway for GrpcJobManager {
    async fn update_task_execution_state(&self, state: TaskExecutionState) -> Result<()> {
        self.client
            .clone()
            .update_task_execution_state(request(proto::TaskExecutionState::from(&state)))
            .await
            .map_err(self.err())?;
        Ok(())
    }

    async fn report_checkpoint(&self, report: CheckpointReport) -> Result<()> {
        let report = serde_json::to_vec(&report).map_err(|e| {
            ClusterError::Runtime(eddy_runtime::RuntimeError::Internal(e.to_string()))
        })?;
        self.client
            .clone()
            .report_checkpoint(request(proto::CheckpointReportMessage { report }))
            .await
            .map_err(self.err())?;
        Ok(())
    }
}

#[async_trait]
impl DispatcherGateway for GrpcJobManager {
    async fn trigger_savepoint(
        &self,
        job_id: &str,
        target: Option<String>,
        stop: bool,
        drain: bool,
    ) -> Result<String> {
        // A savepoint may take as long as a checkpoint: no deadline of the usual RPCs.
        let r = self
            .client
            .clone()
            .trigger_savepoint(Request::new(proto::SavepointRequest {
                job_id: job_id.to_string(),
                target,
                stop,
                drain,
            }))
            .await
            .map_err(self.err())?;
        Ok(r.into_inner().path)
    }

    async fn submit_job(&self, job: JobGraph) -> Result<JobId> {
        let r = self
            .client
            .clone()
            .submit_job(request(proto::SubmitJobRequest {
                job_graph: job.to_bytes()?,
            }))
            .await
            .map_err(self.err())?;
        Ok(r.into_inner().job_id)
    }

    async fn list_jobs(&self) -> Result<Vec<JobDetails>> {
        let r = self
            .client
            .clone()
            .list_jobs(request(proto::Empty {}))
            .await
            .map_err(self.err())?;
        r.into_inner()
            .jobs
            .into_iter()
            .map(|j| JobDetails::try_from(j).map_err(self.err()))
            .collect()
    }

    async fn job_details(&self, job_id: &str) -> Result<JobDetails> {
        let r = self
            .client
            .clone()
            .get_job_details(request(proto::JobIdMessage {
                job_id: job_id.to_string(),
            }))
            .await
            .map_err(self.err())?;
        JobDetails::try_from(r.into_inner()).map_err(self.err())
    }

    async fn cancel_job(&self, job_id: &str) -> Result<()> {
        self.client
            .clone()
            .cancel_job(request(proto::JobIdMessage {
                job_id: job_id.to_string(),
            }))
            .await
            .map_err(self.err())?;
        Ok(())
    }

    async fn request_job_result(&self, job_id: &str) -> Result<JobDetails> {
        // No deadline: a job may run for days; the caller drops the future to stop waiting.
        let r = self
            .client
            .clone()
            .request_job_result(Request::new(proto::JobIdMessage {
                job_id: job_id.to_string(),
            }))
            .await
            .map_err(self.err())?;
        JobDetails::try_from(r.into_inner()).map_err(self.err())
    }

    async fn task_executors(&self) -> Result<Vec<TaskExecutorInfo>> {
        let r = self
            .client
            .clone()
            .list_task_executors(request(proto::Empty {}))
            .await
            .map_err(self.err())?;
        Ok(r.into_inner()
            .task_executors
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channels_are_cached_per_address_until_forgotten() {
        let rpc = GrpcRpcService::default();
        let count = |rpc: &GrpcRpcService| rpc.channels.lock().unwrap().len();
        rpc.task_executor("127.0.0.1:1").unwrap();
        rpc.task_executor("127.0.0.1:1").unwrap();
        rpc.job_master("127.0.0.1:2").unwrap();
        assert_eq!(count(&rpc), 2);
        rpc.forget("127.0.0.1:1");
        assert_eq!(count(&rpc), 1);
        // An address that is not host:port is an error, not a panic.
        assert!(rpc.task_executor("not an address\n").is_err());
    }
}
