//! The interfaces between cluster roles (Flink's `*Gateway`s). Everything crossing them is
//! plain data, so a network transport can carry it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::MetricsSnapshot;
use serde::{Deserialize, Serialize};

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

/// What SHOW JOBS and DESCRIBE JOB report about a job.
#[derive(Debug, Clone)]
pub struct JobDetails {
    pub job_id: JobId,
    pub name: String,
    pub status: JobStatus,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    /// The first error that failed the job.
    pub error: Option<String>,
    /// Parallelism of each vertex, in vertex order.
    pub parallelism: Vec<u32>,
    /// Summed over all subtasks.
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
}

/// A slot granted to a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotAllocation {
    pub task_executor: String,
    pub slot_index: u32,
}

/// The ResourceManager's interface: TaskExecutors register their slots, JobMasters ask
/// for slots.
#[async_trait]
pub trait ResourceManagerGateway: Send + Sync {
    /// A TaskExecutor offers its slots.
    async fn register_task_executor(
        &self,
        id: String,
        num_slots: u32,
        gateway: Arc<dyn TaskExecutorGateway>,
    ) -> Result<()>;
    /// Grants `count` free slots to a job, or fails without granting any.
    async fn request_slots(&self, job_id: &str, count: usize) -> Result<Vec<SlotAllocation>>;
    /// Returns a job's slots.
    async fn release_slots(&self, job_id: &str) -> Result<()>;
    /// The gateway of a registered TaskExecutor.
    async fn task_executor(&self, id: &str) -> Result<Arc<dyn TaskExecutorGateway>>;
    /// Registered TaskExecutors with their total and free slots.
    async fn task_executors(&self) -> Result<Vec<(String, u32, u32)>>;
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionState {
    Deploying,
    Running,
    Finished,
    Canceled,
    Failed(String),
}

/// A state change of a subtask, reported to its JobMaster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskExecutionState {
    pub attempt: ExecutionAttemptId,
    pub state: ExecutionState,
    pub metrics: MetricsSnapshot,
}

/// The TaskExecutor's interface.
#[async_trait]
pub trait TaskExecutorGateway: Send + Sync {
    /// Deploys and starts a subtask; its state changes go to `job_master`.
    async fn submit_task(
        &self,
        tdd: TaskDeploymentDescriptor,
        job_master: Arc<dyn JobMasterGateway>,
    ) -> Result<()>;
    /// Asks a subtask to stop.
    async fn cancel_task(&self, attempt: &ExecutionAttemptId) -> Result<()>;
    /// Current counters of a job's subtasks on this TaskExecutor.
    async fn job_metrics(&self, job_id: &str) -> Result<MetricsSnapshot>;
    /// Releases what the TaskExecutor keeps for a job once it has ended.
    async fn release_job(&self, job_id: &str) -> Result<()>;
}

/// The JobMaster's interface towards TaskExecutors.
pub trait JobMasterGateway: Send + Sync {
    /// A subtask changed state.
    fn update_task_execution_state(&self, state: TaskExecutionState);
}
