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
    ExecutionState, JobMasterGateway, JobStatus, ResourceManagerGateway, SlotAllocation,
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
}

/// Forwards TaskExecutor reports into the JobMaster's mailbox.
struct MailboxGateway(mpsc::UnboundedSender<JobMasterMessage>);

impl JobMasterGateway for MailboxGateway {
    fn update_task_execution_state(&self, state: TaskExecutionState) {
        // A closed mailbox means the JobMaster has already ended; nothing to tell.
        let _ = self.0.send(JobMasterMessage::TaskState(state));
    }
}

/// Runs one job to its end.
pub struct JobMaster {
    job_id: String,
    graph: Arc<JobGraph>,
    record: Arc<JobRecord>,
    resource_manager: Arc<dyn ResourceManagerGateway>,
    resolver: Arc<dyn ConnectorResolver>,
    mailbox: mpsc::UnboundedReceiver<JobMasterMessage>,
    self_sender: mpsc::UnboundedSender<JobMasterMessage>,
}

impl JobMaster {
    /// Creates the JobMaster and the sender through which the job can be cancelled.
    pub fn new(
        job_id: String,
        graph: JobGraph,
        record: Arc<JobRecord>,
        resource_manager: Arc<dyn ResourceManagerGateway>,
        resolver: Arc<dyn ConnectorResolver>,
    ) -> (Self, mpsc::UnboundedSender<JobMasterMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                job_id,
                graph: Arc::new(graph),
                record,
                resource_manager,
                resolver,
                mailbox: rx,
                self_sender: tx.clone(),
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
        let slots = match self.schedule().await {
            Ok(slots) => slots,
            Err(ClusterError::Runtime(eddy_runtime::RuntimeError::Cancelled)) => {
                self.record.transition(JobStatus::Cancelling);
                self.record.transition(JobStatus::Canceled);
                self.cleanup(&[]).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "job could not be scheduled");
                self.record.set_error(e.to_string());
                self.record.transition(JobStatus::Failed);
                self.cleanup(&[]).await;
                return;
            }
        };
        if !self.record.transition(JobStatus::Running) {
            // Cancelled while scheduling.
            self.cancel_all(&slots).await;
        }
        let mut graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        while let Some(msg) = self.mailbox.recv().await {
            match msg {
                JobMasterMessage::Cancel => {
                    if self.record.transition(JobStatus::Cancelling) {
                        self.cancel_all(&slots).await;
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
                    if let Some(error) = failed {
                        if self.record.error().is_none() {
                            tracing::warn!(%error, "task failed; failing the job");
                            self.record.set_error(error);
                        }
                        let status = self.record.status();
                        if status == JobStatus::Running {
                            self.record.transition(JobStatus::Failing);
                            self.cancel_all(&slots).await;
                        }
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
                .set_error("a task was cancelled unexpectedly".to_string());
        }
        if end == JobStatus::Failed && self.record.status() == JobStatus::Running {
            // A running job fails through FAILING, as the state machine says.
            self.record.transition(JobStatus::Failing);
        }
        if !self.record.transition(end) {
            tracing::error!(from = %self.record.status(), to = %end, "job cannot end: no such transition");
        }
        self.cleanup(&slots).await;
        tracing::info!(status = %end, "job ended");
    }

    /// Gets slots, assigns splits and deploys every subtask. Slot sharing as in Flink: a
    /// job needs as many slots as its largest vertex parallelism, and slot i runs subtask
    /// i of every vertex.
    async fn schedule(&mut self) -> Result<Vec<SlotAllocation>> {
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
                let source = self.resolver.create_source(&spec.connector)?;
                let all = source.enumerate_splits(v.parallelism)?;
                splits.insert(v.id, assign_splits(all, v.parallelism));
            }
        }
        let slots = self.request_slots(needed).await?;
        let gateway: Arc<dyn JobMasterGateway> = Arc::new(MailboxGateway(self.self_sender.clone()));
        let graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        for ev in graph.vertices() {
            let slot = slots
                .get(ev.attempt.subtask_index as usize)
                .cloned()
                .ok_or(ClusterError::NotEnoughSlots {
                    required: needed,
                    available: slots.len(),
                })?;
            let task_splits = splits
                .get(&ev.attempt.vertex_id)
                .and_then(|s: &Vec<Vec<SourceSplit>>| s.get(ev.attempt.subtask_index as usize))
                .cloned()
                .unwrap_or_default();
            let executor = self
                .resource_manager
                .task_executor(&slot.task_executor)
                .await?;
            executor
                .submit_task(
                    TaskDeploymentDescriptor {
                        attempt: ev.attempt.clone(),
                        job_graph: self.graph.clone(),
                        slot,
                        splits: task_splits,
                    },
                    gateway.clone(),
                )
                .await?;
        }
        Ok(slots)
    }

    /// Waits for `needed` free slots, as Flink's scheduler does, up to
    /// `slot.request.timeout`; fails at once when the cluster has fewer slots in total.
    async fn request_slots(&mut self, needed: usize) -> Result<Vec<SlotAllocation>> {
        let timeout = self
            .graph
            .config
            .get_duration(&eddy_runtime::config::task_manager::SLOT_REQUEST_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self
                .resource_manager
                .request_slots(&self.job_id, needed)
                .await
            {
                Ok(slots) => return Ok(slots),
                Err(ClusterError::NotEnoughSlots {
                    required,
                    available,
                }) => {
                    let total: usize = self
                        .resource_manager
                        .task_executors()
                        .await?
                        .iter()
                        .map(|(_, total, _)| *total as usize)
                        .sum();
                    if total < required || tokio::time::Instant::now() >= deadline {
                        return Err(ClusterError::NotEnoughSlots {
                            required,
                            available: if total < required { total } else { available },
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

    async fn cancel_all(&self, slots: &[SlotAllocation]) {
        let graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        for ev in graph.vertices() {
            if let Some(slot) = slots.get(ev.attempt.subtask_index as usize) {
                if let Ok(te) = self
                    .resource_manager
                    .task_executor(&slot.task_executor)
                    .await
                {
                    let _ = te.cancel_task(&ev.attempt).await;
                }
            }
        }
        // Dropping channels no task took yet unblocks senders waiting on them.
        self.release_executors(slots).await;
    }

    async fn release_executors(&self, slots: &[SlotAllocation]) {
        let mut seen = std::collections::BTreeSet::new();
        for slot in slots {
            if seen.insert(slot.task_executor.clone()) {
                if let Ok(te) = self
                    .resource_manager
                    .task_executor(&slot.task_executor)
                    .await
                {
                    let _ = te.release_job(&self.job_id).await;
                }
            }
        }
    }

    async fn cleanup(&self, slots: &[SlotAllocation]) {
        self.release_executors(slots).await;
        let _ = self.resource_manager.release_slots(&self.job_id).await;
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
