//! The JobMaster: one per job. Expands the `JobGraph` into an [`ExecutionGraph`], gets
//! slots from the ResourceManager, assigns source splits, deploys subtasks to
//! TaskExecutors and follows their states to decide the job's status.

pub mod execution_graph;
mod job_record;
pub mod states;

use std::collections::BTreeMap;
use std::sync::Arc;

use eddy_runtime::connector::{ConnectorResolver, SourceSplit};
use eddy_runtime::jobgraph::{JobGraph, OperatorSpec};
use tokio::sync::mpsc;

pub use execution_graph::ExecutionGraph;
pub use job_record::JobRecord;

use crate::error::{ClusterError, Result};
use crate::gateway::{
    ExecutionState, Failure, JobStatus, ResourceManagerGateway, RpcService, SlotAllocation,
    TaskExecutionState,
};
use crate::task_executor::TaskDeploymentDescriptor;

/// Messages a JobMaster reacts to.
#[derive(Debug)]
pub enum JobMasterMessage {
    /// A subtask changed state.
    TaskState(TaskExecutionState),
    /// The user asked to cancel the job.
    Cancel,
    /// A TaskExecutor holding some of the job's slots is gone; its subtasks are lost.
    TaskExecutorLost { id: String, reason: String },
}

/// What a JobMaster works with besides its job.
#[derive(Clone)]
pub struct JobMasterServices {
    pub resource_manager: Arc<dyn ResourceManagerGateway>,
    pub resolver: Arc<dyn ConnectorResolver>,
    pub rpc: Arc<dyn RpcService>,
    /// Where TaskExecutors report this JobManager's subtasks' states.
    pub address: String,
}

/// Runs one job to its end.
pub struct JobMaster {
    job_id: String,
    graph: Arc<JobGraph>,
    record: Arc<JobRecord>,
    services: JobMasterServices,
    mailbox: mpsc::UnboundedReceiver<JobMasterMessage>,
    /// For telling itself of a TaskExecutor it could not reach.
    self_sender: mpsc::UnboundedSender<JobMasterMessage>,
    /// The slots granted, once scheduling got them (slot i runs subtask i of each vertex).
    slots: Vec<SlotAllocation>,
}

impl JobMaster {
    /// Creates the JobMaster and the sender through which the job can be cancelled.
    pub fn new(
        job_id: String,
        graph: JobGraph,
        record: Arc<JobRecord>,
        services: JobMasterServices,
    ) -> (Self, mpsc::UnboundedSender<JobMasterMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                job_id,
                graph: Arc::new(graph),
                record,
                services,
                mailbox: rx,
                self_sender: tx.clone(),
                slots: Vec::new(),
            },
            tx,
        )
    }

    /// Schedules the job and follows it until it ends.
    pub async fn run(self) {
        let span = tracing::info_span!("job", job = %self.job_id);
        // Instrumented, not entered: an entered span would leak into every task that later
        // runs on the same thread across the awaits below.
        tracing::Instrument::instrument(self.run_in_span(), span).await
    }

    async fn run_in_span(mut self) {
        let mut graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        match self.schedule().await {
            Ok(()) => {}
            Err(ClusterError::Runtime(eddy_runtime::RuntimeError::Cancelled)) => {
                self.cleanup().await;
                self.record.transition(JobStatus::Cancelling);
                self.record.transition(JobStatus::Canceled);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "job could not be scheduled");
                // Subtasks already deployed must not outlive the job.
                self.cancel_all().await;
                self.cleanup().await;
                self.record.set_error(failure_of(&e));
                self.record.transition(JobStatus::Failed);
                return;
            }
        }
        if !self.record.transition(JobStatus::Running) {
            // Cancelled while scheduling.
            self.cancel_all().await;
        }
        while let Some(msg) = self.mailbox.recv().await {
            match msg {
                JobMasterMessage::Cancel => {
                    if self.record.transition(JobStatus::Cancelling) {
                        self.cancel_all().await;
                    }
                }
                JobMasterMessage::TaskState(update) => {
                    let failed = match &update.state {
                        ExecutionState::Failed(e) => Some(e.clone()),
                        _ => None,
                    };
                    if !graph.update(&update.attempt, update.state, update.metrics) {
                        continue;
                    }
                    self.record.set_vertices(graph.vertex_summary());
                    if let Some(error) = failed {
                        self.fail(error).await;
                    }
                }
                JobMasterMessage::TaskExecutorLost { id, reason } => {
                    let lost: Vec<_> = graph
                        .vertices()
                        .filter(|v| {
                            self.slots
                                .get(v.attempt.subtask_index as usize)
                                .is_some_and(|s| s.task_executor == id)
                        })
                        .map(|v| v.attempt.clone())
                        .collect();
                    let failure = Failure::external(reason);
                    let mut any = false;
                    for attempt in lost {
                        any |= graph.update(
                            &attempt,
                            ExecutionState::Failed(failure.clone()),
                            Default::default(),
                        );
                    }
                    if any {
                        self.record.set_vertices(graph.vertex_summary());
                        self.fail(failure).await;
                    }
                }
            }
            if graph.all_terminal() {
                break;
            }
        }
        self.record.set_final_metrics(graph.final_metrics());
        // Tasks that ended cancelled without a request and without any failure stopped
        // because their consumer went away (a streaming SELECT's client left, and the
        // gateway's cancel request may still be on its way): the job was cancelled.
        if self.record.status() == JobStatus::Running
            && !graph.all_finished()
            && self.record.error().is_none()
        {
            self.record.transition(JobStatus::Cancelling);
        }
        let end = match self.record.status() {
            JobStatus::Running if graph.all_finished() => JobStatus::Finished,
            JobStatus::Cancelling if self.record.error().is_none() => JobStatus::Canceled,
            JobStatus::Cancelling | JobStatus::Failing | JobStatus::Running => JobStatus::Failed,
            other => other,
        };
        if end == JobStatus::Failed && self.record.error().is_none() {
            self.record
                .set_error(Failure::internal("a task was cancelled unexpectedly"));
        }
        if end == JobStatus::Failed && self.record.status() == JobStatus::Running {
            // A running job fails through FAILING, as the state machine says.
            self.record.transition(JobStatus::Failing);
        }
        // Slots go back before the end is published: whoever sees the job ended sees its
        // slots free.
        self.cleanup().await;
        if !self.record.transition(end) {
            tracing::error!(from = %self.record.status(), to = %end, "job cannot end: no such transition");
        }
        tracing::info!(status = %end, "job ended");
    }

    /// Records the job's first failure and cancels its other subtasks. A job the user is
    /// cancelling stays cancelled, as in Flink: what fails on the way down is only logged.
    async fn fail(&mut self, error: Failure) {
        if self.record.status() == JobStatus::Cancelling {
            tracing::info!(error = %error, "a task failed while the job was being cancelled");
            return;
        }
        if self.record.error().is_none() {
            tracing::warn!(error = %error, "task failed; failing the job");
            self.record.set_error(error);
        }
        if self.record.status() == JobStatus::Running {
            self.record.transition(JobStatus::Failing);
            self.cancel_all().await;
        }
    }

    /// Gets slots, assigns splits and deploys every subtask. Slot sharing as in Flink: a
    /// job needs as many slots as its largest vertex parallelism, and slot i runs subtask
    /// i of every vertex.
    async fn schedule(&mut self) -> Result<()> {
        self.graph.validate()?;
        let needed = self
            .graph
            .vertices
            .iter()
            .map(|v| v.parallelism as usize)
            .max()
            .unwrap_or(0);
        let mut splits = BTreeMap::new();
        for v in &self.graph.vertices {
            if let Some(OperatorSpec::Source(spec)) = v.operators.first() {
                let source = self.services.resolver.create_source(&spec.connector)?;
                let all = source.enumerate_splits(v.parallelism)?;
                splits.insert(v.id, assign_splits(all, v.parallelism));
            }
        }
        self.slots = self.request_slots(needed).await?;
        let graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        for ev in graph.vertices() {
            let slot = self
                .slots
                .get(ev.attempt.subtask_index as usize)
                .cloned()
                .ok_or(ClusterError::NotEnoughSlots {
                    required: needed,
                    available: self.slots.len(),
                })?;
            let task_splits = splits
                .get(&ev.attempt.vertex_id)
                .and_then(|s: &Vec<Vec<SourceSplit>>| s.get(ev.attempt.subtask_index as usize))
                .cloned()
                .unwrap_or_default();
            let executor = self.services.rpc.task_executor(&slot.rpc_address)?;
            executor
                .submit_task(TaskDeploymentDescriptor {
                    attempt: ev.attempt.clone(),
                    job_graph: self.graph.clone(),
                    slot_index: slot.slot_index,
                    splits: task_splits,
                    slots: self.slots.clone(),
                    job_master_address: self.services.address.clone(),
                })
                .await?;
        }
        Ok(())
    }

    /// Waits for `needed` free slots, as Flink's scheduler does, up to
    /// `slot.request.timeout`; fails at once when the cluster has fewer slots in total.
    async fn request_slots(&mut self, needed: usize) -> Result<Vec<SlotAllocation>> {
        let timeout = self
            .graph
            .config
            .get_duration(&eddy_runtime::config::task_manager::SLOT_REQUEST_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        let rm = self.services.resource_manager.clone();
        loop {
            match rm.request_slots(&self.job_id, needed).await {
                Ok(slots) => return Ok(slots),
                Err(ClusterError::NotEnoughSlots {
                    required,
                    available,
                }) => {
                    let total: usize = rm
                        .task_executors()
                        .await?
                        .iter()
                        .map(|t| t.num_slots as usize)
                        .sum();
                    // An embedded cluster gets no more slots than it has; a standalone one
                    // may, when a TaskManager registers while the job waits.
                    let hopeless = total < required && !rm.accepts_registrations();
                    if hopeless || tokio::time::Instant::now() >= deadline {
                        return Err(ClusterError::NotEnoughSlots {
                            required,
                            available: available.min(total),
                        });
                    }
                    // A STOP JOB while waiting ends the wait.
                    while let Ok(msg) = self.mailbox.try_recv() {
                        if matches!(msg, JobMasterMessage::Cancel) {
                            return Err(ClusterError::Runtime(
                                eddy_runtime::RuntimeError::Cancelled,
                            ));
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn cancel_all(&self) {
        let graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        let mut unreachable = std::collections::BTreeSet::new();
        for ev in graph.vertices() {
            let Some(slot) = self.slots.get(ev.attempt.subtask_index as usize) else {
                continue;
            };
            if unreachable.contains(&slot.task_executor) {
                continue;
            }
            let Ok(te) = self.services.rpc.task_executor(&slot.rpc_address) else {
                continue;
            };
            if let Err(e) = te.cancel_task(&ev.attempt).await {
                tracing::debug!(error = %e, task_executor = %slot.task_executor, "cannot cancel a task");
                if matches!(e, ClusterError::Rpc { .. }) {
                    // Its subtasks will never report: count them lost now rather than at
                    // the heartbeat timeout, and have the ResourceManager drop it, so that
                    // if it is alive after all its next heartbeat makes it stop its tasks.
                    unreachable.insert(slot.task_executor.clone());
                    let reason = format!(
                        "TaskManager {} at {} cannot be reached: {e}",
                        slot.task_executor, slot.rpc_address
                    );
                    let _ = self
                        .services
                        .resource_manager
                        .disconnect_task_executor(&slot.task_executor, &reason)
                        .await;
                    let _ = self.self_sender.send(JobMasterMessage::TaskExecutorLost {
                        id: slot.task_executor.clone(),
                        reason,
                    });
                }
            }
        }
        // Dropping channels no task took yet unblocks senders waiting on them.
        self.release_executors().await;
    }

    async fn release_executors(&self) {
        let mut seen = std::collections::BTreeSet::new();
        for slot in &self.slots {
            if seen.insert(slot.rpc_address.clone()) {
                if let Ok(te) = self.services.rpc.task_executor(&slot.rpc_address) {
                    let _ = te.release_job(&self.job_id).await;
                }
            }
        }
    }

    async fn cleanup(&self) {
        self.release_executors().await;
        let _ = self
            .services
            .resource_manager
            .release_slots(&self.job_id)
            .await;
    }
}

/// The failure a scheduling error stands for.
fn failure_of(e: &ClusterError) -> Failure {
    match e {
        ClusterError::Runtime(r) => Failure::from_runtime(r),
        ClusterError::Remote(f) => f.clone(),
        ClusterError::NotEnoughSlots { .. } => Failure {
            message: e.to_string(),
            class: eddy_runtime::error::ErrorClass::User,
            sqlstate: "53000".to_string(),
        },
        other => Failure::external(other.to_string()),
    }
}

/// Distributes splits round-robin over `parallelism` subtasks.
pub fn assign_splits(splits: Vec<SourceSplit>, parallelism: u32) -> Vec<Vec<SourceSplit>> {
    let mut out = vec![Vec::new(); parallelism.max(1) as usize];
    for (i, s) in splits.into_iter().enumerate() {
        out[i % parallelism.max(1) as usize].push(s);
    }
    out
}
