//! The interfaces between cluster roles (Flink's `*Gateway`s). Everything crossing them is
//! plain data, so a network transport can carry it: roles name each other by address and
//! an [`RpcService`] turns an address into a gateway, in process or over gRPC.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eddy_runtime::error::ErrorClass;
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::MetricsSnapshot;
use eddy_runtime::RuntimeError;
use serde::{Deserialize, Serialize};

use eddy_runtime::checkpoint::TaskCommand;

use crate::checkpoint::CheckpointReport;
use crate::error::Result;
use crate::task_executor::TaskDeploymentDescriptor;

/// A job's id: 32 hex digits, as Flink's.
pub type JobId = String;

/// Where a job is in its lifecycle. The allowed edges are listed in
/// [`crate::jobmaster::states`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Created,
    Running,
    /// A failed job waits for its restart strategy's delay, then runs again from its
    /// latest completed checkpoint.
    Restarting,
    Failing,
    Failed,
    Cancelling,
    Canceled,
    Finished,
}

impl JobStatus {
    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished
        )
    }

    /// Flink's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "CREATED",
            JobStatus::Running => "RUNNING",
            JobStatus::Restarting => "RESTARTING",
            JobStatus::Failing => "FAILING",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Canceled => "CANCELED",
            JobStatus::Finished => "FINISHED",
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a subtask or a job failed. Keeps its class and SQLSTATE across processes, so a user
/// error in a task reaches the SQL client as the user error it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub class: ErrorClass,
    pub sqlstate: String,
}

impl Failure {
    /// The failure a runtime error stands for.
    pub fn from_runtime(e: &RuntimeError) -> Self {
        Self {
            message: e.to_string(),
            class: e.class(),
            sqlstate: e.sqlstate().to_string(),
        }
    }

    /// A failure of Eddy or of the cluster itself (a lost TaskManager, a panic).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            class: ErrorClass::Internal,
            sqlstate: "XX000".to_string(),
        }
    }

    /// A failure of something outside Eddy's control (a lost connection or machine).
    pub fn external(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            class: ErrorClass::External,
            sqlstate: "58000".to_string(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What SHOW JOBS and DESCRIBE JOB report about a job.
#[derive(Debug, Clone)]
pub struct JobDetails {
    pub job_id: JobId,
    pub name: String,
    pub status: JobStatus,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    /// The first error that failed the job.
    pub error: Option<Failure>,
    /// Parallelism of each vertex, in vertex order.
    pub parallelism: Vec<u32>,
    /// Summed over all subtasks.
    pub metrics: MetricsSnapshot,
    /// Each vertex (operator chain), as Flink's REST API lists them.
    pub vertices: Vec<VertexDetails>,
    /// How many times the job restarted after a failure.
    pub restarts: u32,
    /// Its checkpoints.
    pub checkpoints: crate::checkpoint::CheckpointStats,
}

/// One vertex of a job: its subtasks' common status and their summed counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexDetails {
    pub id: u32,
    pub name: String,
    pub parallelism: u32,
    /// Flink's execution state names: CREATED, DEPLOYING, RUNNING, FINISHED, CANCELED, FAILED.
    pub status: String,
    pub metrics: MetricsSnapshot,
}

/// The Dispatcher's interface: what the SQL gateway and REST API use.
#[async_trait]
pub trait DispatcherGateway: Send + Sync {
    /// Submits a job; returns its id once it is accepted (not when it finishes).
    async fn submit_job(&self, job: JobGraph) -> Result<JobId>;
    /// Every job this dispatcher knows, oldest first.
    async fn list_jobs(&self) -> Result<Vec<JobDetails>>;
    /// One job.
    async fn job_details(&self, job_id: &str) -> Result<JobDetails>;
    /// Cancels a job; returns once cancellation was requested.
    async fn cancel_job(&self, job_id: &str) -> Result<()>;
    /// Waits until the job has ended and returns its final details.
    async fn request_job_result(&self, job_id: &str) -> Result<JobDetails>;
    /// Registered TaskExecutors.
    async fn task_executors(&self) -> Result<Vec<TaskExecutorInfo>>;
    /// Takes a savepoint into `target` (or `state.savepoints.dir`); with `stop` the job then
    /// stops (with `drain`, after its final watermark). Returns the savepoint's location.
    async fn trigger_savepoint(
        &self,
        job_id: &str,
        target: Option<String>,
        stop: bool,
        drain: bool,
    ) -> Result<String>;
}

/// A slot granted to a job, with where its TaskExecutor can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotAllocation {
    pub task_executor: String,
    pub slot_index: u32,
    /// The TaskExecutor's RPC address.
    pub rpc_address: String,
    /// Its data exchange address (empty for an in-process TaskExecutor).
    pub data_address: String,
}

/// What a TaskExecutor tells the ResourceManager when it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExecutorRegistration {
    pub id: String,
    pub num_slots: u32,
    pub rpc_address: String,
    pub data_address: String,
}

/// A registered TaskExecutor as the ResourceManager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExecutorInfo {
    pub id: String,
    pub num_slots: u32,
    pub free_slots: u32,
    pub rpc_address: String,
    pub data_address: String,
    pub since_heartbeat: Duration,
}

/// The ResourceManager's interface: TaskExecutors register their slots and heartbeat,
/// JobMasters ask for slots.
#[async_trait]
pub trait ResourceManagerGateway: Send + Sync {
    /// A TaskExecutor offers its slots (again, after a restart: its old slots are dropped).
    async fn register_task_executor(&self, registration: TaskExecutorRegistration) -> Result<()>;
    /// A TaskExecutor is alive; false when it is not registered (it must register again).
    async fn heartbeat(&self, id: &str) -> Result<bool>;
    /// Drops a TaskExecutor that cannot be reached; the jobs with slots on it are told it
    /// is lost, and its next heartbeat (if it is alive) makes it stop its tasks.
    async fn disconnect_task_executor(&self, id: &str, reason: &str) -> Result<()>;
    /// Grants `count` free slots to a job, or fails without granting any.
    async fn request_slots(&self, job_id: &str, count: usize) -> Result<Vec<SlotAllocation>>;
    /// Returns a job's slots.
    async fn release_slots(&self, job_id: &str) -> Result<()>;
    /// One registered TaskExecutor.
    async fn task_executor(&self, id: &str) -> Result<TaskExecutorInfo>;
    /// Registered TaskExecutors with their total and free slots.
    async fn task_executors(&self) -> Result<Vec<TaskExecutorInfo>>;
    /// Whether TaskExecutors may still register (a standalone cluster), so that a job
    /// short of slots should wait rather than fail at once.
    fn accepts_registrations(&self) -> bool;
}

/// Identifies one run of one subtask.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExecutionAttemptId {
    pub job_id: JobId,
    pub vertex_id: u32,
    pub subtask_index: u32,
    pub attempt: u32,
}

/// A subtask's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionState {
    Deploying,
    Running,
    Finished,
    Canceled,
    Failed(Failure),
}

/// A state change of a subtask, reported to its JobMaster.
#[derive(Debug, Clone)]
pub struct TaskExecutionState {
    pub attempt: ExecutionAttemptId,
    pub state: ExecutionState,
    pub metrics: MetricsSnapshot,
}

/// The TaskExecutor's interface.
#[async_trait]
pub trait TaskExecutorGateway: Send + Sync {
    /// Deploys and starts a subtask; its state changes go to the JobMaster the descriptor
    /// names.
    async fn submit_task(&self, tdd: TaskDeploymentDescriptor) -> Result<()>;
    /// Asks a subtask to stop.
    async fn cancel_task(&self, attempt: &ExecutionAttemptId) -> Result<()>;
    /// Current counters of a job's subtasks on this TaskExecutor, summed per vertex.
    async fn job_metrics(&self, job_id: &str) -> Result<Vec<(u32, MetricsSnapshot)>>;
    /// Releases what the TaskExecutor keeps for a job's attempts up to `up_to_attempt`:
    /// all of them once the job has ended, the failed ones when it restarts.
    async fn release_job(&self, job_id: &str, up_to_attempt: u32) -> Result<()>;
    /// Passes a checkpoint command to one running subtask, or to every running subtask of
    /// the job when `target` is `None`. Fails when the one subtask is not running.
    async fn task_command(
        &self,
        job_id: &str,
        target: Option<&ExecutionAttemptId>,
        command: TaskCommand,
    ) -> Result<()>;
}

/// The JobMaster's interface towards TaskExecutors. One address serves every JobMaster of
/// a JobManager; reports are routed by job id.
#[async_trait]
pub trait JobMasterGateway: Send + Sync {
    /// A subtask changed state. Fails when the JobMaster cannot be reached or no longer
    /// runs the job.
    async fn update_task_execution_state(&self, state: TaskExecutionState) -> Result<()>;
    /// A subtask acknowledged or declined a checkpoint, or reported its final snapshot.
    async fn report_checkpoint(&self, report: CheckpointReport) -> Result<()>;
}

/// Turns addresses into gateways (Flink's `RpcService`): in process for the embedded
/// cluster, over gRPC between processes.
pub trait RpcService: Send + Sync {
    /// The TaskExecutor at `address`.
    fn task_executor(&self, address: &str) -> Result<Arc<dyn TaskExecutorGateway>>;
    /// The JobMasters at `address`.
    fn job_master(&self, address: &str) -> Result<Arc<dyn JobMasterGateway>>;
    /// Drops what is kept for a peer that is gone (a lost TaskManager's connection).
    fn forget(&self, _address: &str) {}
}
