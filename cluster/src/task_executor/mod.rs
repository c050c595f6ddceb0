//! The TaskExecutor: runs subtasks in its slots, one thread per subtask, and reports their
//! state changes to the JobMaster named in each deployment.

mod task;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use eddy_runtime::checkpoint::TaskCommand;
use eddy_runtime::connector::{ConnectorResolver, SourceSplit};
use eddy_runtime::exchange::LocalChannelRegistry;
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::{MetricsSnapshot, TaskMetrics};

use crate::error::Result;
use crate::gateway::{
    ExecutionAttemptId, ExecutionState, Failure, JobMasterGateway, RpcService, SlotAllocation,
    TaskExecutionState, TaskExecutorGateway,
};
use crate::shuffle::NetworkEnvironment;

/// Everything a TaskExecutor needs to run one subtask (Flink's
/// `TaskDeploymentDescriptor`). In process the job graph is shared; over gRPC it travels as
/// `JobGraph::to_bytes`.
#[derive(Debug, Clone)]
pub struct TaskDeploymentDescriptor {
    pub attempt: ExecutionAttemptId,
    pub job_graph: Arc<JobGraph>,
    pub slot_index: u32,
    /// Source splits assigned to this subtask when its chain starts with a source.
    pub splits: Vec<SourceSplit>,
    /// Every slot of the job: slot i runs subtask i of each vertex, so this says where
    /// each upstream and downstream subtask runs.
    pub slots: Vec<SlotAllocation>,
    /// Where to report state changes.
    pub job_master_address: String,
    /// The checkpoint state this subtask restores, if the job restores one.
    pub restore: Option<crate::checkpoint::TaskRestore>,
}

struct RunningTask {
    metrics: Arc<TaskMetrics>,
}

/// How to stop a subtask whose thread still runs.
struct LiveTask {
    cancel: Arc<AtomicBool>,
    /// Checkpoint triggers and notices for the task.
    commands: crossbeam_channel::Sender<TaskCommand>,
    /// Set when the TaskExecutor stops the task itself (shutdown, lost registration): it
    /// then fails with this reason instead of ending cancelled.
    stop_reason: Arc<OnceLock<String>>,
}

type LiveTasks = Arc<Mutex<HashMap<ExecutionAttemptId, LiveTask>>>;

/// How long a final state report is retried before it is left to the heartbeat, which
/// carries it to the JobManager (a lost one would leave the job waiting for this subtask).
const FINAL_REPORT_PATIENCE: Duration = Duration::from_secs(30);

/// Final states not yet delivered, for the next heartbeat.
type Undelivered = Arc<Mutex<Vec<TaskExecutionState>>>;

/// A TaskExecutor.
pub struct TaskExecutor {
    id: String,
    resolver: Arc<dyn ConnectorResolver>,
    rpc: Arc<dyn RpcService>,
    channels: Arc<LocalChannelRegistry>,
    /// For channels to other TaskManagers; none in the embedded cluster.
    network: Option<Arc<NetworkEnvironment>>,
    channel_capacity: usize,
    /// Counters of deployed subtasks, until their job is released. Touched on deploy,
    /// cancel and metrics requests only.
    tasks: Mutex<HashMap<ExecutionAttemptId, RunningTask>>,
    /// Subtasks whose threads run; each removes itself after its final report.
    live: LiveTasks,
    undelivered: Undelivered,
}

impl TaskExecutor {
    /// A TaskExecutor building connectors with `resolver` and reaching JobMasters through
    /// `rpc`.
    pub fn new(
        id: String,
        resolver: Arc<dyn ConnectorResolver>,
        rpc: Arc<dyn RpcService>,
        network: Option<Arc<NetworkEnvironment>>,
        channel_capacity: usize,
    ) -> Self {
        Self {
            id,
            resolver,
            rpc,
            channels: Arc::new(LocalChannelRegistry::default()),
            network,
            channel_capacity,
            tasks: Mutex::new(HashMap::new()),
            live: LiveTasks::default(),
            undelivered: Undelivered::default(),
        }
    }

    /// Final states no report could deliver, taken for a heartbeat to carry.
    pub fn take_undelivered(&self) -> Vec<TaskExecutionState> {
        std::mem::take(&mut *lock(&self.undelivered))
    }

    /// Puts back states a heartbeat could not deliver either.
    pub fn return_undelivered(&self, states: Vec<TaskExecutionState>) {
        lock(&self.undelivered).extend(states);
    }

    /// This TaskExecutor's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionAttemptId, RunningTask>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops every task, which then fails with `reason` (the TaskManager shuts down, or
    /// the JobManager no longer knows it).
    pub fn fail_all(&self, reason: String) {
        for t in lock(&self.live).values() {
            let _ = t.stop_reason.set(reason.clone());
            t.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// How many subtask threads have not yet made their final report.
    pub fn live_task_count(&self) -> usize {
        lock(&self.live).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reports a state change, retrying for up to `patience` while the JobMaster cannot be
/// reached. A JobMaster that no longer runs the job does not need the report. A final
/// state that could not be delivered goes to `undelivered`, for the heartbeat.
fn report(
    runtime: &tokio::runtime::Handle,
    job_master: &Arc<dyn JobMasterGateway>,
    state: TaskExecutionState,
    patience: Duration,
    undelivered: Option<&Undelivered>,
) {
    let deadline = std::time::Instant::now() + patience;
    let mut delay = Duration::from_millis(100);
    loop {
        match runtime.block_on(job_master.update_task_execution_state(state.clone())) {
            Ok(()) => return,
            Err(
                e @ (crate::error::ClusterError::JobNotFound(_)
                | crate::error::ClusterError::JobTerminated { .. }),
            ) => {
                tracing::debug!(task = ?state.attempt, error = %e, "the job has ended; report dropped");
                return;
            }
            Err(e) if std::time::Instant::now() >= deadline => {
                match undelivered {
                    Some(queue) => {
                        tracing::warn!(task = ?state.attempt, error = %e, "cannot report a final task state; the heartbeat will carry it");
                        lock(queue).push(state);
                    }
                    None => {
                        tracing::warn!(task = ?state.attempt, error = %e, "cannot report a task state; giving up")
                    }
                }
                return;
            }
            Err(e) => {
                tracing::warn!(task = ?state.attempt, error = %e, "cannot report a task state; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

#[async_trait]
impl TaskExecutorGateway for TaskExecutor {
    async fn submit_task(&self, tdd: TaskDeploymentDescriptor) -> Result<()> {
        let job_master = self.rpc.job_master(&tdd.job_master_address)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let metrics = Arc::new(TaskMetrics::default());
        let stop_reason = Arc::new(OnceLock::new());
        let (commands, command_rx) = crossbeam_channel::unbounded();
        self.tasks().insert(
            tdd.attempt.clone(),
            RunningTask {
                metrics: metrics.clone(),
            },
        );
        lock(&self.live).insert(
            tdd.attempt.clone(),
            LiveTask {
                cancel: cancel.clone(),
                commands,
                stop_reason: stop_reason.clone(),
            },
        );
        let live = self.live.clone();
        let undelivered = self.undelivered.clone();
        let attempt = tdd.attempt.clone();
        let env = task::TaskEnvironment {
            task_executor: self.id.clone(),
            resolver: self.resolver.clone(),
            channels: self.channels.clone(),
            network: self.network.clone(),
            channel_capacity: self.channel_capacity,
            cancel,
            metrics: metrics.clone(),
            commands: command_rx,
            job_master: job_master.clone(),
            runtime: tokio::runtime::Handle::current(),
        };
        let name = format!(
            "{}-v{}-{}",
            attempt.job_id.get(..8).unwrap_or("job"),
            attempt.vertex_id,
            attempt.subtask_index
        );
        let runtime = tokio::runtime::Handle::current();
        let reporter = job_master.clone();
        let spawned = std::thread::Builder::new()
            .name(name)
            .stack_size(eddy_runtime::limits::THREAD_STACK_SIZE)
            .spawn(move || {
                report(
                    &runtime,
                    &reporter,
                    TaskExecutionState {
                        attempt: tdd.attempt.clone(),
                        state: ExecutionState::Running,
                        metrics: MetricsSnapshot::default(),
                    },
                    Duration::from_secs(5),
                    None,
                );
                // A panic in an operator fails this subtask (and so its job) with the panic's
                // message; the thread, the TaskExecutor and other jobs go on.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    task::run_task(&tdd, env)
                }));
                let state = match outcome {
                    Ok(Ok(())) => ExecutionState::Finished,
                    Ok(Err(eddy_runtime::RuntimeError::Cancelled)) => match stop_reason.get() {
                        Some(reason) => ExecutionState::Failed(Failure::external(reason.clone())),
                        None => ExecutionState::Canceled,
                    },
                    Ok(Err(e)) => ExecutionState::Failed(Failure::from_runtime(&e)),
                    Err(payload) => {
                        let msg = eddy_runtime::error::panic_message(payload.as_ref());
                        tracing::error!(task = ?tdd.attempt, panic = %msg, "a subtask panicked");
                        ExecutionState::Failed(Failure::internal(format!(
                            "subtask panicked: {msg}"
                        )))
                    }
                };
                report(
                    &runtime,
                    &reporter,
                    TaskExecutionState {
                        attempt: tdd.attempt.clone(),
                        state,
                        metrics: metrics.snapshot(),
                    },
                    FINAL_REPORT_PATIENCE,
                    Some(&undelivered),
                );
                lock(&live).remove(&tdd.attempt);
            });
        if let Err(e) = spawned {
            self.tasks().remove(&attempt);
            lock(&self.live).remove(&attempt);
            job_master
                .update_task_execution_state(TaskExecutionState {
                    attempt,
                    state: ExecutionState::Failed(Failure::internal(format!(
                        "cannot start task thread: {e}"
                    ))),
                    metrics: MetricsSnapshot::default(),
                })
                .await?;
        }
        Ok(())
    }

    async fn cancel_task(&self, attempt: &ExecutionAttemptId) -> Result<()> {
        if let Some(t) = lock(&self.live).get(attempt) {
            t.cancel.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn job_metrics(&self, job_id: &str) -> Result<Vec<(u32, MetricsSnapshot)>> {
        let mut per_vertex = std::collections::BTreeMap::<u32, MetricsSnapshot>::new();
        for (a, t) in self.tasks().iter() {
            if a.job_id == job_id {
                *per_vertex.entry(a.vertex_id).or_default() += t.metrics.snapshot();
            }
        }
        Ok(per_vertex.into_iter().collect())
    }

    async fn task_command(
        &self,
        job_id: &str,
        target: Option<&ExecutionAttemptId>,
        command: TaskCommand,
    ) -> Result<()> {
        let live = lock(&self.live);
        match target {
            Some(attempt) => {
                let task = live.get(attempt).ok_or_else(|| {
                    crate::error::ClusterError::Runtime(eddy_runtime::RuntimeError::External(
                        format!(
                            "subtask {} of vertex {} is not running on TaskManager {}",
                            attempt.subtask_index, attempt.vertex_id, self.id
                        ),
                    ))
                })?;
                let _ = task.commands.send(command);
            }
            None => {
                for (attempt, task) in live.iter() {
                    if attempt.job_id == job_id {
                        let _ = task.commands.send(command.clone());
                    }
                }
            }
        }
        Ok(())
    }

    async fn release_job(&self, job_id: &str, up_to_attempt: u32) -> Result<()> {
        self.tasks()
            .retain(|a, _| a.job_id != job_id || a.attempt > up_to_attempt);
        self.channels.release_job(job_id, up_to_attempt);
        if let Some(n) = &self.network {
            n.release_job(job_id, up_to_attempt);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ClusterError;

    /// A JobManager that answers every report with one error.
    struct Answering(fn() -> ClusterError);

    #[async_trait]
    impl JobMasterGateway for Answering {
        async fn update_task_execution_state(&self, _: TaskExecutionState) -> Result<()> {
            Err((self.0)())
        }

        async fn report_checkpoint(&self, _: crate::checkpoint::CheckpointReport) -> Result<()> {
            Err((self.0)())
        }
    }

    fn finished() -> TaskExecutionState {
        TaskExecutionState {
            attempt: ExecutionAttemptId {
                job_id: "j".into(),
                vertex_id: 1,
                subtask_index: 0,
                attempt: 0,
            },
            state: ExecutionState::Finished,
            metrics: MetricsSnapshot::default(),
        }
    }

    /// A final state the JobManager cannot take is kept for the heartbeat; one whose job
    /// has ended is dropped.
    #[test]
    fn undeliverable_final_states_wait_for_the_heartbeat() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let queue = Undelivered::default();
        let unreachable: Arc<dyn JobMasterGateway> = Arc::new(Answering(|| ClusterError::Rpc {
            address: "jm:6123".into(),
            message: "connection refused".into(),
        }));
        report(
            runtime.handle(),
            &unreachable,
            finished(),
            Duration::ZERO,
            Some(&queue),
        );
        assert_eq!(lock(&queue).len(), 1);
        assert_eq!(lock(&queue)[0].state, ExecutionState::Finished);

        let ended: Arc<dyn JobMasterGateway> =
            Arc::new(Answering(|| ClusterError::JobNotFound("j".into())));
        report(
            runtime.handle(),
            &ended,
            finished(),
            Duration::ZERO,
            Some(&queue),
        );
        assert_eq!(
            lock(&queue).len(),
            1,
            "a report for an ended job is not kept"
        );
    }
}
