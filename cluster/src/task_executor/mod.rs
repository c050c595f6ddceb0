//! The TaskExecutor: runs subtasks in its slots, one thread per subtask, and reports their
//! state changes to the JobMaster.

mod task;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eddy_runtime::connector::{ConnectorResolver, SourceSplit};
use eddy_runtime::exchange::LocalChannelRegistry;
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::{MetricsSnapshot, TaskMetrics};

use crate::error::Result;
use crate::gateway::{
    ExecutionAttemptId, ExecutionState, JobMasterGateway, SlotAllocation, TaskExecutionState,
    TaskExecutorGateway,
};

/// Everything a TaskExecutor needs to run one subtask (Flink's
/// `TaskDeploymentDescriptor`). The job graph is shared in process; the network
/// transport will ship `JobGraph::to_bytes` instead.
#[derive(Debug, Clone)]
pub struct TaskDeploymentDescriptor {
    pub attempt: ExecutionAttemptId,
    pub job_graph: Arc<JobGraph>,
    pub slot: SlotAllocation,
    /// Source splits assigned to this subtask when its chain starts with a source.
    pub splits: Vec<SourceSplit>,
}

struct RunningTask {
    cancel: Arc<AtomicBool>,
    metrics: Arc<TaskMetrics>,
}

/// An in-process TaskExecutor.
pub struct TaskExecutor {
    id: String,
    resolver: Arc<dyn ConnectorResolver>,
    channels: Arc<LocalChannelRegistry>,
    channel_capacity: usize,
    /// Task bookkeeping, touched on deploy, cancel and metrics requests only.
    tasks: Mutex<HashMap<ExecutionAttemptId, RunningTask>>,
}

impl TaskExecutor {
    /// A TaskExecutor building connectors with `resolver`.
    pub fn new(id: String, resolver: Arc<dyn ConnectorResolver>, channel_capacity: usize) -> Self {
        Self {
            id,
            resolver,
            channels: Arc::new(LocalChannelRegistry::default()),
            channel_capacity,
            tasks: Mutex::new(HashMap::new()),
        }
    }

    /// This TaskExecutor's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionAttemptId, RunningTask>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl TaskExecutorGateway for TaskExecutor {
    async fn submit_task(
        &self,
        tdd: TaskDeploymentDescriptor,
        job_master: Arc<dyn JobMasterGateway>,
    ) -> Result<()> {
        let cancel = Arc::new(AtomicBool::new(false));
        let metrics = Arc::new(TaskMetrics::default());
        self.tasks().insert(
            tdd.attempt.clone(),
            RunningTask {
                cancel: cancel.clone(),
                metrics: metrics.clone(),
            },
        );
        let attempt = tdd.attempt.clone();
        let env = task::TaskEnvironment {
            resolver: self.resolver.clone(),
            channels: self.channels.clone(),
            channel_capacity: self.channel_capacity,
            cancel,
            metrics: metrics.clone(),
        };
        let name = format!(
            "{}-v{}-{}",
            &attempt.job_id[..8.min(attempt.job_id.len())],
            attempt.vertex_id,
            attempt.subtask_index
        );
        let report = job_master.clone();
        let spawned = std::thread::Builder::new()
            .name(name)
            .stack_size(eddy_runtime::limits::THREAD_STACK_SIZE)
            .spawn(move || {
                report.update_task_execution_state(TaskExecutionState {
                    attempt: tdd.attempt.clone(),
                    state: ExecutionState::Running,
                    metrics: MetricsSnapshot::default(),
                });
                // A panic in an operator fails this subtask (and so its job) with the panic's
                // message; the thread, the TaskExecutor and other jobs go on.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    task::run_task(&tdd, env)
                }));
                let state = match outcome {
                    Ok(Ok(())) => ExecutionState::Finished,
                    Ok(Err(eddy_runtime::RuntimeError::Cancelled)) => ExecutionState::Canceled,
                    Ok(Err(e)) => ExecutionState::Failed(e.to_string()),
                    Err(payload) => {
                        let msg = eddy_runtime::error::panic_message(payload.as_ref());
                        tracing::error!(task = ?tdd.attempt, panic = %msg, "a subtask panicked");
                        ExecutionState::Failed(format!("subtask panicked: {msg}"))
                    }
                };
                report.update_task_execution_state(TaskExecutionState {
                    attempt: tdd.attempt.clone(),
                    state,
                    metrics: metrics.snapshot(),
                });
            });
        if let Err(e) = spawned {
            job_master.update_task_execution_state(TaskExecutionState {
                attempt,
                state: ExecutionState::Failed(format!("cannot start task thread: {e}")),
                metrics: MetricsSnapshot::default(),
            });
        }
        Ok(())
    }

    async fn cancel_task(&self, attempt: &ExecutionAttemptId) -> Result<()> {
        if let Some(t) = self.tasks().get(attempt) {
            t.cancel.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn job_metrics(&self, job_id: &str) -> Result<MetricsSnapshot> {
        let mut total = MetricsSnapshot::default();
        for (a, t) in self.tasks().iter() {
            if a.job_id == job_id {
                total += t.metrics.snapshot();
            }
        }
        Ok(total)
    }

    async fn release_job(&self, job_id: &str) -> Result<()> {
        self.tasks().retain(|a, _| a.job_id != job_id);
        self.channels.release_job(job_id);
        Ok(())
    }
}
