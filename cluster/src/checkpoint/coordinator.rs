//! Flink's `CheckpointCoordinator`, one per job, driven by its JobMaster: it triggers a
//! checkpoint at every source subtask, collects one acknowledgement per subtask, writes
//! the checkpoint's `_metadata` last, then has every task told that the checkpoint
//! completed. Checkpoints that time out or are declined are aborted without failing the
//! job, up to `execution.checkpointing.tolerable-failed-checkpoints` in a row. When every
//! subtask of a bounded job has finished, their final snapshots make the job's final
//! checkpoint, whose completion lets two-phase-commit sinks make their last output visible.
//!
//! The coordinator holds no locks and does no I/O itself: the JobMaster calls it from its
//! mailbox loop and performs the RPCs and storage writes it asks for.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use eddy_runtime::checkpoint::{CheckpointBarrier, CheckpointKind};
use eddy_runtime::config::{checkpointing, Configuration};
use tokio::sync::oneshot;

use super::responder::{checkpoint_dir, final_dir, read_metadata};
use super::storage::CheckpointStorage;
use super::{
    CheckpointMetadata, CheckpointStats, CompletedCheckpointStats, TaskStateHandle,
    METADATA_VERSION,
};
use crate::error::{ClusterError, Result};

/// Who waits for a savepoint, and where it goes.
pub struct SavepointRequest {
    /// The directory (URL or path) the savepoint is written to; `None` until the
    /// JobMaster resolves it from the job's `state.savepoints.dir`.
    pub target: Option<String>,
    pub stop: bool,
    pub drain: bool,
    pub reply: oneshot::Sender<Result<String>>,
}

struct PendingCheckpoint {
    barrier: CheckpointBarrier,
    started: Instant,
    acks: BTreeMap<(u32, u32), TaskStateHandle>,
    savepoint: Option<SavepointRequest>,
}

/// A checkpoint that completed: where its `_metadata` is, and what it holds.
#[derive(Debug, Clone)]
pub struct CompletedCheckpoint {
    /// URL of the directory holding `_metadata`; the handles' paths are relative to it.
    pub root: String,
    pub metadata: CheckpointMetadata,
}

/// What the JobMaster must do after feeding the coordinator.
#[derive(Debug, PartialEq, Eq)]
pub enum CoordinatorAction {
    /// Tell every task that checkpoint `id` completed.
    NotifyComplete(u64),
    /// Tell every task that checkpoint `id` was aborted.
    NotifyAborted(u64),
    /// Too many checkpoints failed in a row: fail the job with this message.
    FailJob(String),
    /// A stop-with-savepoint completed: stop the job.
    StopJob,
}

/// Checkpoint settings of one job.
#[derive(Debug, Clone)]
pub struct CoordinatorSettings {
    pub interval: Option<Duration>,
    pub timeout: Duration,
    pub max_concurrent: usize,
    pub min_pause: Duration,
    pub tolerable_failures: u32,
    pub num_retained: usize,
}

impl CoordinatorSettings {
    /// Reads Flink's options.
    pub fn from_config(config: &Configuration) -> Self {
        Self {
            interval: checkpointing::interval(config),
            timeout: config.get_duration(&checkpointing::TIMEOUT),
            max_concurrent: config.get_int(&checkpointing::MAX_CONCURRENT).max(1) as usize,
            min_pause: config.get_duration(&checkpointing::MIN_PAUSE),
            tolerable_failures: config.get_int(&checkpointing::TOLERABLE_FAILED).max(0) as u32,
            num_retained: config.get_int(&checkpointing::NUM_RETAINED).max(1) as usize,
        }
    }
}

/// The coordinator of one job.
pub struct CheckpointCoordinator {
    job_id: String,
    settings: CoordinatorSettings,
    storage: CheckpointStorage,
    max_parallelism: u32,
    parallelism: Vec<(u32, u32)>,
    /// Every subtask that must acknowledge.
    tasks: BTreeSet<(u32, u32)>,
    /// Source uid per source vertex.
    source_uids: BTreeMap<u32, String>,
    next_id: u64,
    pending: BTreeMap<u64, PendingCheckpoint>,
    last_end: Option<Instant>,
    next_trigger: Option<Instant>,
    consecutive_failures: u32,
    latest: Option<CompletedCheckpoint>,
    /// Retained checkpoints: directory and the shared files it references.
    retained: VecDeque<(String, BTreeSet<String>)>,
    /// Shared files (incremental checkpoints' SSTs) by URL: how many retained checkpoints
    /// reference each. One that drops to zero is deleted.
    shared: BTreeMap<String, u32>,
    /// Finished subtasks: their final snapshot, and the highest checkpoint they had
    /// acknowledged or declined before (which the final snapshot cannot stand in for).
    finished: BTreeMap<(u32, u32), (TaskStateHandle, u64)>,
    attempt: u32,
    stats: CheckpointStats,
}

impl CheckpointCoordinator {
    /// A coordinator for a job; `restored` is the checkpoint the job starts from.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        job_id: String,
        settings: CoordinatorSettings,
        storage: CheckpointStorage,
        max_parallelism: u32,
        parallelism: Vec<(u32, u32)>,
        source_uids: BTreeMap<u32, String>,
        restored: Option<CompletedCheckpoint>,
    ) -> Self {
        let tasks = parallelism
            .iter()
            .flat_map(|&(v, p)| (0..p).map(move |s| (v, s)))
            .collect();
        let mut stats = CheckpointStats::default();
        let next_id = restored
            .as_ref()
            .map_or(1, |c| c.metadata.checkpoint_id.saturating_add(1));
        stats.restored = restored.as_ref().map(|c| c.metadata.checkpoint_id);
        Self {
            job_id,
            next_trigger: settings.interval.map(|i| Instant::now() + i),
            settings,
            storage,
            max_parallelism,
            parallelism,
            tasks,
            source_uids,
            next_id,
            pending: BTreeMap::new(),
            last_end: None,
            consecutive_failures: 0,
            latest: restored,
            retained: VecDeque::new(),
            shared: BTreeMap::new(),
            finished: BTreeMap::new(),
            attempt: 0,
            stats,
        }
    }

    /// The checkpoint a restart restores from.
    pub fn latest(&self) -> Option<&CompletedCheckpoint> {
        self.latest.as_ref()
    }

    /// Counts for SHOW JOBS and REST.
    pub fn stats(&self) -> CheckpointStats {
        let mut s = self.stats.clone();
        s.in_progress = self.pending.len() as u64;
        s
    }

    /// When the JobMaster should next call [`CheckpointCoordinator::on_tick`].
    pub fn next_deadline(&self) -> Option<Instant> {
        let timeouts = self
            .pending
            .values()
            .map(|p| p.started + self.settings.timeout)
            .min();
        match (self.next_trigger, timeouts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A new attempt of the job starts (after a restart): what was in flight is void, and
    /// the attempt restores the latest completed checkpoint, if any.
    pub fn restart(&mut self, attempt: u32) -> Vec<SavepointRequest> {
        self.attempt = attempt;
        if let Some(latest) = &self.latest {
            self.stats.restored = Some(latest.metadata.checkpoint_id);
        }
        self.finished.clear();
        let mut waiting = Vec::new();
        for (id, p) in std::mem::take(&mut self.pending) {
            self.stats.failed += 1;
            self.delete_checkpoint_files(id);
            waiting.extend(p.savepoint);
        }
        self.next_trigger = self.settings.interval.map(|i| Instant::now() + i);
        waiting
    }

    /// Times out checkpoints, and returns a barrier when a periodic checkpoint is due.
    /// `all_running`: every subtask runs, so a barrier can reach all of them.
    pub fn on_tick(
        &mut self,
        now: Instant,
        all_running: bool,
    ) -> (Option<CheckpointBarrier>, Vec<CoordinatorAction>) {
        let mut actions = Vec::new();
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.started + self.settings.timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            actions.extend(self.abort(id, "it timed out".into(), true));
        }
        let due = self.next_trigger.is_some_and(|t| now >= t);
        if !due {
            return (None, actions);
        }
        let paused = self
            .last_end
            .is_some_and(|end| now < end + self.settings.min_pause);
        if !all_running
            || !self.has_running_source()
            || self.pending.len() >= self.settings.max_concurrent
            || paused
        {
            // Try again shortly; the interval counts from a trigger that happens.
            self.next_trigger = Some(now + Duration::from_millis(50));
            return (None, actions);
        }
        self.next_trigger = self.settings.interval.map(|i| now + i);
        (
            Some(self.begin(CheckpointKind::Checkpoint, None, now)),
            actions,
        )
    }

    /// Starts a savepoint now; the request's reply is sent when it completes or fails.
    pub fn trigger_savepoint(
        &mut self,
        request: SavepointRequest,
        all_running: bool,
    ) -> Option<CheckpointBarrier> {
        let refusal = if !all_running {
            Some("a savepoint needs every subtask of the job running or finished; some are not yet running")
        } else if !self.has_running_source() {
            Some("every source of the job has finished; its final checkpoint is under way")
        } else {
            None
        };
        if let Some(reason) = refusal {
            let _ = request.reply.send(Err(ClusterError::Runtime(
                eddy_runtime::RuntimeError::User(reason.into()),
            )));
            return None;
        }
        let kind = CheckpointKind::Savepoint {
            stop: request.stop,
            drain: request.drain,
        };
        Some(self.begin(kind, Some(request), Instant::now()))
    }

    /// Whether some source subtask has not finished: barriers start at those (Flink's
    /// checkpoints after tasks finished, FLIP-147).
    fn has_running_source(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| self.source_uids.contains_key(&t.0) && !self.finished.contains_key(t))
    }

    /// Whether every subtask acknowledged `p` or finished before it saw `p`'s barrier: such
    /// a subtask's final snapshot stands for its acknowledgement, since everything it sent
    /// downstream came before its end of input, which aligned barriers wait for.
    fn covered(&self, p: &PendingCheckpoint) -> bool {
        self.tasks
            .iter()
            .all(|t| p.acks.contains_key(t) || self.stands_in(t, p.barrier.id))
    }

    /// Whether subtask `t` finished without taking part in checkpoint `id`.
    fn stands_in(&self, t: &(u32, u32), id: u64) -> bool {
        self.finished.get(t).is_some_and(|(_, last)| *last < id)
    }

    fn begin(
        &mut self,
        kind: CheckpointKind,
        savepoint: Option<SavepointRequest>,
        now: Instant,
    ) -> CheckpointBarrier {
        let barrier = CheckpointBarrier {
            id: self.next_id,
            timestamp: chrono::Utc::now().timestamp_millis(),
            kind,
        };
        self.next_id += 1;
        self.stats.triggered += 1;
        self.pending.insert(
            barrier.id,
            PendingCheckpoint {
                barrier,
                started: now,
                acks: BTreeMap::new(),
                savepoint,
            },
        );
        barrier
    }

    /// Triggering failed before any task saw the barrier (a source could not be reached
    /// or has just finished): the checkpoint is dropped without counting as a failure.
    pub fn trigger_failed(&mut self, id: u64, reason: String) -> Vec<CoordinatorAction> {
        self.abort(id, reason, false)
    }

    /// Aborts checkpoint `id`.
    fn abort(&mut self, id: u64, reason: String, counts: bool) -> Vec<CoordinatorAction> {
        let Some(p) = self.pending.remove(&id) else {
            return Vec::new();
        };
        tracing::info!(job = %self.job_id, checkpoint = id, %reason, "checkpoint aborted");
        self.stats.failed += 1;
        self.last_end = Some(Instant::now());
        let mut actions = vec![CoordinatorAction::NotifyAborted(id)];
        if let Some(sp) = p.savepoint {
            let _ = sp.reply.send(Err(ClusterError::Runtime(
                eddy_runtime::RuntimeError::External(format!("the savepoint failed: {reason}")),
            )));
        }
        self.delete_checkpoint_files(id);
        if counts {
            self.consecutive_failures += 1;
            if self.consecutive_failures > self.settings.tolerable_failures {
                self.consecutive_failures = 0;
                actions.push(CoordinatorAction::FailJob(format!(
                    "exceeded the checkpoint tolerable failure threshold ({}): checkpoint {id} failed because {reason}",
                    self.settings.tolerable_failures
                )));
            }
        }
        actions
    }

    /// Deletes the files of checkpoint `id`, which did not complete: its directory and the
    /// shared files first uploaded for it, which no other checkpoint references.
    fn delete_checkpoint_files(&self, id: u64) {
        let dir = checkpoint_dir(&self.job_id, id);
        if self.retained.iter().any(|(d, _)| *d == dir) {
            return;
        }
        let storage = self.storage.clone();
        let shared = super::native::shared_dir(&self.job_id, id);
        tokio::spawn(async move {
            let _ = storage.delete_dir(&dir).await;
            let _ = storage.delete_dir(&shared).await;
        });
    }

    /// A subtask declined checkpoint `id`.
    pub fn decline(&mut self, id: u64, attempt: u32, reason: String) -> Vec<CoordinatorAction> {
        if attempt != self.attempt {
            return Vec::new();
        }
        if id == eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID {
            return vec![CoordinatorAction::FailJob(format!(
                "a finished subtask's final snapshot could not be stored: {reason}"
            ))];
        }
        // A checkpoint a newer one overtook is given up by the task; that is no failure.
        let counts = reason != eddy_runtime::checkpoint::OVERTAKEN;
        self.abort(id, format!("a subtask declined it: {reason}"), counts)
    }

    /// A subtask acknowledged checkpoint `id`. Completes the checkpoint when it was the
    /// last one missing.
    pub async fn acknowledge(
        &mut self,
        id: u64,
        attempt: u32,
        mut handle: TaskStateHandle,
    ) -> Vec<CoordinatorAction> {
        if attempt != self.attempt || !self.pending.contains_key(&id) {
            // An acknowledgement that came after its checkpoint was aborted (or its attempt
            // restarted): what the subtask uploaded for it in the meantime is deleted.
            self.delete_checkpoint_files(id);
            return Vec::new();
        }
        let Some(p) = self.pending.get_mut(&id) else {
            return Vec::new();
        };
        if handle.splits.is_some() {
            handle.source_uid = self.source_uids.get(&handle.vertex_id).cloned();
        }
        p.acks
            .insert((handle.vertex_id, handle.subtask_index), handle);
        if !self.pending.get(&id).is_some_and(|p| self.covered(p)) {
            return Vec::new();
        }
        match self.pending.remove(&id) {
            Some(p) => self.complete(p).await,
            None => Vec::new(),
        }
    }

    async fn complete(&mut self, mut p: PendingCheckpoint) -> Vec<CoordinatorAction> {
        let id = p.barrier.id;
        let dir = checkpoint_dir(&self.job_id, id);
        // Finished subtasks take part with their final snapshots, copied in so that the
        // checkpoint directory stays self-contained.
        let mut copied = Ok(());
        for (key, (handle, last)) in &self.finished {
            if p.acks.contains_key(key) || *last >= id {
                continue;
            }
            let from = format!("{}/{}", final_dir(&self.job_id, self.attempt), handle.path);
            copied = self
                .storage
                .copy(&from, &format!("{dir}/{}", handle.path))
                .await;
            if copied.is_err() {
                break;
            }
            p.acks.insert(*key, handle.clone());
        }
        if let Err(e) = copied {
            self.pending.insert(id, p);
            return self.abort(
                id,
                format!("a finished subtask's snapshot could not be copied: {e}"),
                true,
            );
        }
        // A subtask that had not yet heard of the latest completion may reference a shared
        // file that has since been deleted; such a checkpoint could not be restored.
        let own_prefix = format!(
            "{}/",
            self.storage
                .url_of(&super::native::shared_dir(&self.job_id, id))
        );
        let references: BTreeSet<String> = p
            .acks
            .values()
            .flat_map(|h| h.shared.iter().cloned())
            .collect();
        if let Some(gone) = references
            .iter()
            .find(|u| !u.starts_with(&own_prefix) && !self.shared.contains_key(*u))
        {
            // Not the storage's fault nor the job's: the subtask catches up with the next
            // completion notice, so this does not count towards the tolerable failures.
            let reason =
                format!("it references the shared file {gone}, which is no longer retained");
            self.pending.insert(id, p);
            return self.abort(id, reason, false);
        }
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_id: self.job_id.clone(),
            checkpoint_id: id,
            timestamp: p.barrier.timestamp,
            savepoint: p.savepoint.is_some(),
            max_parallelism: self.max_parallelism,
            parallelism: self.parallelism.clone(),
            tasks: p.acks.into_values().collect(),
        };
        let written = match &p.savepoint {
            None => self
                .write_metadata(&self.storage, &dir, &metadata)
                .await
                .map(|_| self.storage.url_of(&dir)),
            Some(sp) => match &sp.target {
                Some(target) => self.write_savepoint(&dir, target, &metadata).await,
                None => Err(ClusterError::Runtime(eddy_runtime::RuntimeError::Internal(
                    "a savepoint without a target directory".into(),
                ))),
            },
        };
        self.last_end = Some(Instant::now());
        let root = match written {
            Ok(root) => root,
            Err(e) => {
                self.pending.insert(
                    id,
                    PendingCheckpoint {
                        barrier: p.barrier,
                        started: p.started,
                        acks: BTreeMap::new(),
                        savepoint: p.savepoint,
                    },
                );
                return self.abort(id, format!("its metadata could not be written: {e}"), true);
            }
        };
        self.consecutive_failures = 0;
        self.stats.completed += 1;
        self.stats.latest = Some(CompletedCheckpointStats {
            id,
            path: root.clone(),
            duration_ms: p.started.elapsed().as_millis() as u64,
            size: metadata.size(),
            savepoint: p.savepoint.is_some(),
            completed_at: chrono::Utc::now().timestamp_millis(),
        });
        tracing::info!(job = %self.job_id, checkpoint = id, path = %root, "checkpoint completed");
        // Checkpoints older than this one can no longer complete usefully.
        let older: Vec<u64> = self.pending.range(..id).map(|(k, _)| *k).collect();
        let mut actions = vec![CoordinatorAction::NotifyComplete(id)];
        for old in older {
            actions.extend(self.abort(old, format!("checkpoint {id} completed first"), false));
        }
        let stop = p.savepoint.as_ref().is_some_and(|s| s.stop);
        match p.savepoint {
            Some(sp) => {
                let _ = sp.reply.send(Ok(root.clone()));
            }
            None => {
                for url in &references {
                    *self.shared.entry(url.clone()).or_default() += 1;
                }
                self.retained.push_back((dir, references));
                while self.retained.len() > self.settings.num_retained {
                    if let Some((old, references)) = self.retained.pop_front() {
                        if let Err(e) = self.storage.delete_dir(&old).await {
                            tracing::warn!(error = %e, "cannot delete an old checkpoint");
                        }
                        self.release_shared(references).await;
                    }
                }
            }
        }
        self.latest = Some(CompletedCheckpoint { root, metadata });
        if stop {
            actions.push(CoordinatorAction::StopJob);
        }
        actions
    }

    /// Drops one retained checkpoint's references; files no checkpoint needs are deleted.
    async fn release_shared(&mut self, references: BTreeSet<String>) {
        for url in references {
            let Some(count) = self.shared.get_mut(&url) else {
                continue;
            };
            *count -= 1;
            if *count > 0 {
                continue;
            }
            self.shared.remove(&url);
            // Files of another job's checkpoint (a restore) are not this job's to delete.
            if let Some(relative) = self.storage.relative_of(&url) {
                if let Err(e) = self.storage.delete(&relative).await {
                    tracing::warn!(error = %e, "cannot delete a shared checkpoint file");
                }
            }
        }
    }

    async fn write_metadata(
        &self,
        storage: &CheckpointStorage,
        dir: &str,
        metadata: &CheckpointMetadata,
    ) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(metadata).map_err(|e| {
            ClusterError::Runtime(eddy_runtime::RuntimeError::Internal(e.to_string()))
        })?;
        let path = if dir.is_empty() {
            "_metadata".to_string()
        } else {
            format!("{dir}/_metadata")
        };
        storage.put(&path, bytes).await?;
        Ok(())
    }

    /// Copies the checkpoint's files into the savepoint directory, which is then
    /// self-contained, writes its metadata, and drops the checkpoint copy.
    async fn write_savepoint(
        &self,
        dir: &str,
        target: &str,
        metadata: &CheckpointMetadata,
    ) -> Result<String> {
        let to = CheckpointStorage::open(target)?;
        super::responder::copy_checkpoint(&self.storage, dir, &to, metadata).await?;
        self.write_metadata(&to, "", metadata).await?;
        let _ = self.storage.delete_dir(dir).await;
        Ok(to.url().to_string())
    }

    /// A subtask finished; `handle` is its final snapshot, taken after the subtask
    /// acknowledged or declined checkpoints up to `last_checkpoint`. When every subtask has
    /// finished, the job's final checkpoint completes.
    pub async fn task_finished(
        &mut self,
        attempt: u32,
        mut handle: TaskStateHandle,
        last_checkpoint: u64,
    ) -> Vec<CoordinatorAction> {
        if attempt != self.attempt {
            return Vec::new();
        }
        let key = (handle.vertex_id, handle.subtask_index);
        if handle.splits.is_some() {
            handle.source_uid = self.source_uids.get(&handle.vertex_id).cloned();
        }
        self.finished.insert(key, (handle, last_checkpoint));
        let mut actions = Vec::new();
        if self.finished.len() < self.tasks.len() {
            // Pending checkpoints that waited only for this subtask complete with its
            // final snapshot.
            let covered: Vec<u64> = self
                .pending
                .iter()
                .filter(|(_, p)| self.covered(p))
                .map(|(id, _)| *id)
                .collect();
            for id in covered {
                if let Some(p) = self.pending.remove(&id) {
                    actions.extend(self.complete(p).await);
                }
            }
            return actions;
        }
        // The job's final checkpoint supersedes whatever was still pending.
        let pending: Vec<u64> = self.pending.keys().copied().collect();
        for id in pending {
            actions.extend(self.abort(id, "every subtask finished before it".into(), false));
        }
        let id = self.next_id;
        self.next_id += 1;
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_id: self.job_id.clone(),
            checkpoint_id: id,
            timestamp: chrono::Utc::now().timestamp_millis(),
            savepoint: false,
            max_parallelism: self.max_parallelism,
            parallelism: self.parallelism.clone(),
            tasks: std::mem::take(&mut self.finished)
                .into_values()
                .map(|(handle, _)| handle)
                .collect(),
        };
        let dir = final_dir(&self.job_id, self.attempt);
        match self.write_metadata(&self.storage, &dir, &metadata).await {
            Ok(()) => {
                self.latest = Some(CompletedCheckpoint {
                    root: self.storage.url_of(&dir),
                    metadata,
                });
                actions.push(CoordinatorAction::NotifyComplete(
                    eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID,
                ));
            }
            Err(e) => actions.push(CoordinatorAction::FailJob(format!(
                "the job's final checkpoint could not be written: {e}"
            ))),
        }
        actions
    }
}

/// Loads the checkpoint or savepoint at `location` (a directory holding `_metadata`).
pub async fn load(location: &str) -> Result<CompletedCheckpoint> {
    let missing = || {
        ClusterError::Runtime(eddy_runtime::RuntimeError::User(format!(
            "'{location}' does not hold a savepoint or checkpoint (no _metadata there)"
        )))
    };
    let local = match url::Url::parse(location) {
        Ok(u) if u.scheme() == "file" => u.to_file_path().ok(),
        Ok(u) if u.scheme().len() > 1 => None,
        _ => Some(std::path::PathBuf::from(location)),
    };
    if let Some(path) = local {
        if !path.exists() {
            return Err(ClusterError::Runtime(eddy_runtime::RuntimeError::User(
                format!("savepoint path '{location}' does not exist"),
            )));
        }
    }
    let storage = CheckpointStorage::open(location)?;
    if let Some(metadata) = read_metadata(&storage, "").await? {
        return Ok(CompletedCheckpoint {
            root: storage.url().to_string(),
            metadata,
        });
    }
    // A job's checkpoint directory: its latest checkpoint whose metadata was written.
    // One whose metadata write was interrupted never completed and is passed over.
    let mut ids: Vec<(u64, String)> = storage
        .list_dirs("")
        .await?
        .into_iter()
        .filter_map(|d| Some((d.strip_prefix("chk-")?.parse().ok()?, d)))
        .collect();
    ids.sort();
    for (_, dir) in ids.into_iter().rev() {
        if let Ok(Some(metadata)) = read_metadata(&storage, &dir).await {
            return Ok(CompletedCheckpoint {
                root: storage.url_of(&dir),
                metadata,
            });
        }
    }
    Err(missing())
}
