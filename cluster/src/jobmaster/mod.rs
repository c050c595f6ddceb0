//! The JobMaster: one per job. Expands the `JobGraph` into an [`ExecutionGraph`], gets
//! slots from the ResourceManager, assigns source splits, deploys subtasks to
//! TaskExecutors and follows their states to decide the job's status. It drives the job's
//! checkpoint coordinator and, when a subtask fails, restarts the job from its latest
//! completed checkpoint as its [`restart::RestartStrategy`] allows.

pub mod execution_graph;
mod job_record;
pub mod restart;
pub mod states;

use std::collections::BTreeMap;
use std::sync::Arc;

use eddy_runtime::checkpoint::{operator_uids, CheckpointBarrier, TaskCommand};
use eddy_runtime::connector::{ConnectorResolver, SourceSplit};
use eddy_runtime::jobgraph::{JobGraph, OperatorSpec};
use eddy_runtime::RuntimeError;
use tokio::sync::mpsc;

pub use execution_graph::ExecutionGraph;
pub use job_record::JobRecord;

use crate::checkpoint::coordinator::{
    CheckpointCoordinator, CompletedCheckpoint, CoordinatorAction, CoordinatorSettings,
    SavepointRequest,
};
use crate::checkpoint::storage::CheckpointStorage;
use crate::checkpoint::{restore, CheckpointReport, CheckpointReportKind};
use crate::error::{ClusterError, Result};
use crate::gateway::{
    ExecutionAttemptId, ExecutionState, Failure, JobStatus, ResourceManagerGateway, RpcService,
    SlotAllocation, TaskExecutionState,
};
use crate::task_executor::TaskDeploymentDescriptor;
use restart::RestartStrategy;

/// Messages a JobMaster reacts to.
pub enum JobMasterMessage {
    /// A subtask changed state.
    TaskState(TaskExecutionState),
    /// The user asked to cancel the job.
    Cancel,
    /// A TaskExecutor holding some of the job's slots is gone; its subtasks are lost.
    TaskExecutorLost { id: String, reason: String },
    /// A subtask's checkpoint acknowledgement, decline or final snapshot (boxed: it is
    /// much larger than the other messages).
    Checkpoint(Box<CheckpointReport>),
    /// The user asked for a savepoint.
    Savepoint(SavepointRequest),
}

impl std::fmt::Debug for JobMasterMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobMasterMessage::TaskState(s) => write!(f, "TaskState({s:?})"),
            JobMasterMessage::Cancel => f.write_str("Cancel"),
            JobMasterMessage::TaskExecutorLost { id, .. } => write!(f, "TaskExecutorLost({id})"),
            JobMasterMessage::Checkpoint(r) => write!(f, "Checkpoint({r:?})"),
            JobMasterMessage::Savepoint(r) => write!(f, "Savepoint({:?})", r.target),
        }
    }
}

/// What a JobMaster works with besides its job.
#[derive(Clone)]
pub struct JobMasterServices {
    pub resource_manager: Arc<dyn ResourceManagerGateway>,
    pub resolver: Arc<dyn ConnectorResolver>,
    pub rpc: Arc<dyn RpcService>,
    /// Where TaskExecutors report this JobManager's subtasks' states.
    pub address: String,
    /// The JobManager's configuration: what a job that does not set `state.checkpoints.dir`
    /// or `state.savepoints.dir` gets.
    pub defaults: eddy_runtime::config::Configuration,
}

/// How a JobMaster starts: where its checkpoints go and what it restores.
pub struct JobStart {
    pub storage: CheckpointStorage,
    /// The savepoint or checkpoint the first attempt restores from.
    pub restore: Option<CompletedCheckpoint>,
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
    /// Which run of the job this is (0, then one more per restart).
    attempt: u32,
    coordinator: CheckpointCoordinator,
    restart: RestartStrategy,
    /// A stop-with-savepoint completed: the job ends FINISHED once its tasks are down.
    stopped: bool,
}

/// Why the mailbox loop stopped waiting.
enum Wake {
    Message(JobMasterMessage),
    Tick,
    Closed,
}

impl JobMaster {
    /// Creates the JobMaster and the sender through which the job can be cancelled.
    pub fn new(
        job_id: String,
        graph: JobGraph,
        record: Arc<JobRecord>,
        services: JobMasterServices,
        start: JobStart,
    ) -> (Self, mpsc::UnboundedSender<JobMasterMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let max_parallelism = graph
            .config
            .get_int(&eddy_runtime::config::pipeline::MAX_PARALLELISM)
            .max(1) as u32;
        let uids = operator_uids(&graph);
        let source_uids = graph
            .vertices
            .iter()
            .filter(|v| matches!(v.operators.first(), Some(OperatorSpec::Source(_))))
            .filter_map(|v| Some((v.id, uids.get(&(v.id, 0))?.clone())))
            .collect();
        let settings = CoordinatorSettings::from_config(&graph.config);
        let checkpointing = settings.interval.is_some();
        let coordinator = CheckpointCoordinator::new(
            job_id.clone(),
            settings,
            start.storage,
            max_parallelism,
            graph
                .vertices
                .iter()
                .map(|v| (v.id, v.parallelism))
                .collect(),
            source_uids,
            start.restore,
        );
        // A streaming SELECT's rows go straight to its client, which cannot tell a row sent
        // again after a restart from a new one: such a job fails rather than restarting.
        let to_client = graph.vertices.iter().any(|v| {
            v.operators.iter().any(
                |op| matches!(op, OperatorSpec::Sink(s) if s.connector.connector() == "collect"),
            )
        });
        let restart = if to_client {
            RestartStrategy::None
        } else {
            RestartStrategy::from_config(&graph.config, checkpointing)
        };
        (
            Self {
                job_id,
                graph: Arc::new(graph),
                record,
                services,
                mailbox: rx,
                self_sender: tx.clone(),
                slots: Vec::new(),
                attempt: 0,
                coordinator,
                restart,
                stopped: false,
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

    async fn next(&mut self) -> Wake {
        let deadline = self.coordinator.next_deadline();
        tokio::select! {
            m = self.mailbox.recv() => match m {
                Some(m) => Wake::Message(m),
                None => Wake::Closed,
            },
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            } => Wake::Tick,
        }
    }

    async fn run_in_span(mut self) {
        let mut graph = ExecutionGraph::new(&self.job_id, &self.graph, 0);
        let restore = self.coordinator.latest().cloned();
        match self.schedule(restore.as_ref()).await {
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
        loop {
            match self.next().await {
                Wake::Closed => break,
                Wake::Tick => {
                    let running = self.record.status() == JobStatus::Running
                        && graph.all_running_or_finished();
                    let (barrier, actions) =
                        self.coordinator.on_tick(std::time::Instant::now(), running);
                    if let Some(barrier) = barrier {
                        self.trigger(barrier, &graph).await;
                    }
                    self.act(actions, &mut graph).await;
                }
                Wake::Message(JobMasterMessage::Cancel) => {
                    if self.record.transition(JobStatus::Cancelling) {
                        self.cancel_all().await;
                    }
                }
                Wake::Message(JobMasterMessage::Savepoint(mut request)) => {
                    // The directory: the request's, else the job's `state.savepoints.dir`
                    // (a session's SET, or the JobManager's default filled in at submission).
                    let base = match request.target.take() {
                        Some(t) => t,
                        None => self
                            .graph
                            .config
                            .get_string(&eddy_runtime::config::checkpointing::SAVEPOINTS_DIR),
                    };
                    if base.is_empty() {
                        let _ = request.reply.send(Err(ClusterError::Runtime(
                            eddy_runtime::RuntimeError::User(
                                "no savepoint directory: set 'state.savepoints.dir'".into(),
                            ),
                        )));
                        continue;
                    }
                    request.target = Some(format!(
                        "{}/savepoint-{}-{}",
                        base.trim_end_matches('/'),
                        self.job_id.get(..6).unwrap_or(&self.job_id),
                        &uuid::Uuid::new_v4().simple().to_string()[..12]
                    ));
                    let running = self.record.status() == JobStatus::Running
                        && graph.all_running_or_finished();
                    if let Some(barrier) = self.coordinator.trigger_savepoint(request, running) {
                        self.trigger(barrier, &graph).await;
                    }
                }
                Wake::Message(JobMasterMessage::Checkpoint(report)) => {
                    let attempt = report.attempt.attempt;
                    let actions = match report.kind {
                        CheckpointReportKind::Acknowledge { id, handle } => {
                            self.coordinator.acknowledge(id, attempt, handle).await
                        }
                        CheckpointReportKind::Decline { id, reason } => {
                            self.coordinator.decline(id, attempt, reason)
                        }
                        CheckpointReportKind::Finished {
                            handle,
                            last_checkpoint,
                        } => {
                            self.coordinator
                                .task_finished(attempt, handle, last_checkpoint)
                                .await
                        }
                    };
                    self.act(actions, &mut graph).await;
                }
                Wake::Message(JobMasterMessage::TaskState(update)) => {
                    let failed = match &update.state {
                        ExecutionState::Failed(e) => Some(e.clone()),
                        _ => None,
                    };
                    if !graph.update(&update.attempt, update.state, update.metrics) {
                        continue;
                    }
                    self.record.set_vertices(graph.vertex_summary());
                    if let Some(error) = failed {
                        self.fail(error, &mut graph).await;
                    }
                }
                Wake::Message(JobMasterMessage::TaskExecutorLost { id, reason }) => {
                    let failure = Failure::external(reason);
                    if self.mark_lost(&mut graph, &id, &failure) {
                        self.record.set_vertices(graph.vertex_summary());
                        self.fail(failure, &mut graph).await;
                    }
                }
            }
            self.record.set_checkpoints(self.coordinator.stats());
            if graph.all_terminal() {
                break;
            }
        }
        self.record.set_final_metrics(graph.final_metrics());
        let stopped = self.stopped && self.record.error().is_none();
        // Tasks that ended cancelled without a request and without any failure stopped
        // because their consumer went away (a streaming SELECT's client left, and the
        // gateway's cancel request may still be on its way): the job was cancelled.
        if self.record.status() == JobStatus::Running
            && !graph.all_finished()
            && !stopped
            && self.record.error().is_none()
        {
            self.record.transition(JobStatus::Cancelling);
        }
        let end = match self.record.status() {
            JobStatus::Running if graph.all_finished() || stopped => JobStatus::Finished,
            JobStatus::Cancelling if self.record.error().is_none() => JobStatus::Canceled,
            JobStatus::Cancelling
            | JobStatus::Failing
            | JobStatus::Running
            | JobStatus::Restarting => JobStatus::Failed,
            other => other,
        };
        if end == JobStatus::Failed && self.record.error().is_none() {
            self.record
                .set_error(Failure::internal("a task was cancelled unexpectedly"));
        }
        if end == JobStatus::Failed
            && matches!(
                self.record.status(),
                JobStatus::Running | JobStatus::Restarting
            )
        {
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

    /// Marks the subtasks in slots of TaskExecutor `id` failed with `failure`; returns
    /// whether any was still running.
    fn mark_lost(&self, graph: &mut ExecutionGraph, id: &str, failure: &Failure) -> bool {
        let lost: Vec<_> = graph
            .vertices()
            .filter(|v| {
                self.slots
                    .get(v.attempt.subtask_index as usize)
                    .is_some_and(|s| s.task_executor == id)
            })
            .map(|v| v.attempt.clone())
            .collect();
        let mut any = false;
        for attempt in lost {
            any |= graph.update(
                &attempt,
                ExecutionState::Failed(failure.clone()),
                Default::default(),
            );
        }
        any
    }

    /// Sends a barrier to every running source subtask.
    async fn trigger(&mut self, barrier: CheckpointBarrier, graph: &ExecutionGraph) {
        let sources: Vec<ExecutionAttemptId> = self
            .graph
            .vertices
            .iter()
            .filter(|v| matches!(v.operators.first(), Some(OperatorSpec::Source(_))))
            .flat_map(|v| {
                graph
                    .vertices()
                    .filter(move |e| {
                        e.attempt.vertex_id == v.id && e.state == ExecutionState::Running
                    })
                    .map(|e| e.attempt.clone())
            })
            .collect();
        if sources.is_empty() {
            // Every source finished while the trigger was decided.
            let actions = self
                .coordinator
                .trigger_failed(barrier.id, "no source subtask is running".into());
            self.broadcast_actions(actions).await;
            return;
        }
        for attempt in sources {
            let sent = match self.slots.get(attempt.subtask_index as usize) {
                Some(slot) => match self.services.rpc.task_executor(&slot.rpc_address) {
                    Ok(te) => {
                        te.task_command(
                            &self.job_id,
                            Some(&attempt),
                            TaskCommand::TriggerCheckpoint(barrier),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                },
                None => Err(ClusterError::Unreachable("a source subtask's slot")),
            };
            if let Err(e) = sent {
                let actions = self
                    .coordinator
                    .trigger_failed(barrier.id, format!("cannot reach a source: {e}"));
                self.broadcast_actions(actions).await;
                return;
            }
        }
    }

    /// Carries out what the coordinator asked for.
    async fn act(&mut self, actions: Vec<CoordinatorAction>, graph: &mut ExecutionGraph) {
        for action in actions {
            match action {
                CoordinatorAction::FailJob(message) => {
                    self.fail(Failure::external(message), graph).await
                }
                CoordinatorAction::StopJob => {
                    self.stopped = true;
                    self.cancel_all().await;
                }
                other => self.broadcast_actions(vec![other]).await,
            }
        }
    }

    /// Sends completion and abort notices to every TaskExecutor of the job.
    async fn broadcast_actions(&self, actions: Vec<CoordinatorAction>) {
        for action in actions {
            let command = match action {
                CoordinatorAction::NotifyComplete(id) => TaskCommand::CheckpointComplete(id),
                CoordinatorAction::NotifyAborted(id) => TaskCommand::CheckpointAborted(id),
                _ => continue,
            };
            let mut seen = std::collections::BTreeSet::new();
            for slot in &self.slots {
                if !seen.insert(slot.rpc_address.clone()) {
                    continue;
                }
                if let Ok(te) = self.services.rpc.task_executor(&slot.rpc_address) {
                    if let Err(e) = te.task_command(&self.job_id, None, command.clone()).await {
                        tracing::debug!(error = %e, "cannot pass on a checkpoint notice");
                    }
                }
            }
        }
    }

    /// A subtask failed. The job restarts from its latest completed checkpoint when its
    /// restart strategy allows and the failure is not the user's; otherwise it fails with
    /// the first error. A job the user is
    /// cancelling stays cancelled, as in Flink: what fails on the way down is only logged.
    async fn fail(&mut self, error: Failure, graph: &mut ExecutionGraph) {
        if self.record.status() == JobStatus::Cancelling || self.stopped {
            tracing::info!(error = %error, "a task failed while the job was being stopped");
            return;
        }
        if self.record.status() != JobStatus::Running {
            return;
        }
        let mut error = error;
        loop {
            // A user's error (a malformed record, state a restored operator cannot read)
            // comes back on every attempt: the job fails at once instead of restarting.
            let delay = match error.class {
                eddy_runtime::error::ErrorClass::User => None,
                _ => self.restart.on_failure(std::time::Instant::now()),
            };
            let Some(delay) = delay else {
                tracing::warn!(error = %error, "task failed; failing the job");
                if self.record.error().is_none() {
                    self.record.set_error(error);
                }
                if matches!(
                    self.record.status(),
                    JobStatus::Running | JobStatus::Restarting
                ) {
                    self.record.transition(JobStatus::Failing);
                    self.cancel_all().await;
                }
                return;
            };
            tracing::warn!(error = %error, delay_ms = delay.as_millis() as u64, "task failed; restarting the job");
            match self.restart_after(delay, graph).await {
                Ok(()) => return,
                Err(None) => return, // cancelled while restarting
                Err(Some(e)) => error = e,
            }
        }
    }

    /// Takes the job down, waits `delay`, and deploys a new attempt restoring the latest
    /// completed checkpoint. `Err(None)`: cancelled meanwhile; `Err(Some)`: the new attempt
    /// could not be scheduled.
    async fn restart_after(
        &mut self,
        delay: std::time::Duration,
        graph: &mut ExecutionGraph,
    ) -> std::result::Result<(), Option<Failure>> {
        self.record.transition(JobStatus::Restarting);
        self.record.add_restart();
        self.cancel_all().await;
        // Wait for the old attempt's subtasks to go down (those on a lost TaskManager
        // already count as failed), then for the delay, answering a cancel at once.
        let deadline = tokio::time::Instant::now() + delay.max(std::time::Duration::from_millis(1));
        let settle = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut cancelled = false;
        while !(graph.all_terminal() && tokio::time::Instant::now() >= deadline) {
            if tokio::time::Instant::now() >= settle {
                break;
            }
            let wake_at = if graph.all_terminal() {
                deadline
            } else {
                settle.min(tokio::time::Instant::now() + std::time::Duration::from_millis(100))
            };
            tokio::select! {
                m = self.mailbox.recv() => match m {
                    Some(JobMasterMessage::TaskState(u)) => {
                        graph.update(&u.attempt, u.state, u.metrics);
                    }
                    Some(JobMasterMessage::Cancel) => cancelled = true,
                    Some(JobMasterMessage::TaskExecutorLost { id, reason }) => {
                        self.mark_lost(graph, &id, &Failure::external(reason));
                    }
                    Some(JobMasterMessage::Savepoint(r)) => {
                        let _ = r.reply.send(Err(ClusterError::Runtime(eddy_runtime::RuntimeError::User(
                            "the job is restarting; try the savepoint again once it runs".into(),
                        ))));
                    }
                    Some(_) => {}
                    None => cancelled = true,
                },
                _ = tokio::time::sleep_until(wake_at) => {}
            }
            if cancelled && graph.all_terminal() {
                break;
            }
        }
        // The slots go back (some may be on a lost TaskManager); the old attempt's channels
        // are keyed by attempt, so they stay until the job ends, when they are released.
        let _ = self
            .services
            .resource_manager
            .release_slots(&self.job_id)
            .await;
        for waiting in self.coordinator.restart(self.attempt + 1) {
            let _ = waiting.reply.send(Err(ClusterError::Runtime(
                eddy_runtime::RuntimeError::External(
                    "the job failed before the savepoint completed".into(),
                ),
            )));
        }
        if cancelled {
            self.record.transition(JobStatus::Cancelling);
            return Err(None);
        }
        self.attempt += 1;
        *graph = ExecutionGraph::new(&self.job_id, &self.graph, self.attempt);
        self.record.set_vertices(graph.vertex_summary());
        let restore = self.coordinator.latest().cloned();
        if let Some(r) = &restore {
            tracing::info!(checkpoint = r.metadata.checkpoint_id, path = %r.root, "restoring");
        }
        match self.schedule(restore.as_ref()).await {
            Ok(()) => {
                self.record.transition(JobStatus::Running);
                Ok(())
            }
            Err(ClusterError::Runtime(eddy_runtime::RuntimeError::Cancelled)) => {
                self.record.transition(JobStatus::Cancelling);
                self.cancel_all().await;
                Err(None)
            }
            Err(e) => {
                self.cancel_all().await;
                let _ = self
                    .services
                    .resource_manager
                    .release_slots(&self.job_id)
                    .await;
                // The new attempt never ran: mark its subtasks so the job can end.
                let failure = failure_of(&e);
                let attempts: Vec<_> = graph.vertices().map(|v| v.attempt.clone()).collect();
                for a in attempts {
                    graph.update(
                        &a,
                        ExecutionState::Failed(failure.clone()),
                        Default::default(),
                    );
                }
                self.record.transition(JobStatus::Running);
                Err(Some(failure))
            }
        }
    }

    /// Gets slots, assigns splits and deploys every subtask, restoring `restore` when
    /// given. Slot sharing as in Flink: a job needs as many slots as its largest vertex
    /// parallelism, and slot i runs subtask i of every vertex.
    async fn schedule(&mut self, restore: Option<&CompletedCheckpoint>) -> Result<()> {
        self.graph.validate()?;
        let needed = self
            .graph
            .vertices
            .iter()
            .map(|v| v.parallelism as usize)
            .max()
            .unwrap_or(0);
        let max_parallelism = self
            .graph
            .config
            .get_int(&eddy_runtime::config::pipeline::MAX_PARALLELISM)
            .max(1) as u32;
        let ignore_unclaimed = self
            .graph
            .config
            .get_bool(&eddy_runtime::config::checkpointing::IGNORE_UNCLAIMED_STATE);
        let plan = match restore {
            Some(c) => Some(restore::plan(
                &c.metadata,
                &c.root,
                &self.graph,
                max_parallelism,
                ignore_unclaimed,
            )?),
            None => None,
        };
        let mut splits = BTreeMap::new();
        for v in &self.graph.vertices {
            if let Some(OperatorSpec::Source(spec)) = v.operators.first() {
                let source = self.services.resolver.create_source(&spec.connector)?;
                let all = match plan.as_ref().and_then(|p| p.splits.get(&v.id)) {
                    Some(restored) => restored.clone(),
                    // Enumerating may wait on an external system (Kafka's brokers): off
                    // the JobMaster's task.
                    None => {
                        let (source, parallelism) = (source.clone(), v.parallelism);
                        tokio::task::spawn_blocking(move || source.enumerate_splits(parallelism))
                            .await
                            .map_err(|e| {
                                ClusterError::Runtime(RuntimeError::Internal(format!(
                                    "enumerating splits: {e}"
                                )))
                            })??
                    }
                };
                splits.insert(v.id, source.assign_splits(all, v.parallelism));
            }
        }
        self.slots = self.request_slots(needed).await?;
        let graph = ExecutionGraph::new(&self.job_id, &self.graph, self.attempt);
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
                    restore: plan.as_ref().and_then(|p| {
                        p.tasks
                            .get(&(ev.attempt.vertex_id, ev.attempt.subtask_index))
                            .cloned()
                    }),
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

    /// Cancels every subtask of the current attempt.
    async fn cancel_all(&self) {
        let graph = ExecutionGraph::new(&self.job_id, &self.graph, self.attempt);
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
        self.release_executors(self.attempt).await;
    }

    /// Releases what TaskExecutors keep for attempts up to `up_to_attempt`.
    async fn release_executors(&self, up_to_attempt: u32) {
        let mut seen = std::collections::BTreeSet::new();
        for slot in &self.slots {
            if seen.insert(slot.rpc_address.clone()) {
                if let Ok(te) = self.services.rpc.task_executor(&slot.rpc_address) {
                    let _ = te.release_job(&self.job_id, up_to_attempt).await;
                }
            }
        }
    }

    async fn cleanup(&self) {
        self.release_executors(u32::MAX).await;
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
