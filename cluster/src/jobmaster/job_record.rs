//! What the Dispatcher knows about a job while its JobMaster runs it, and after.

use std::sync::RwLock;

use chrono::Utc;
use eddy_runtime::metrics::MetricsSnapshot;
use tokio::sync::watch;

use super::states::can_transition;
use crate::gateway::{Failure, JobDetails, JobStatus, VertexDetails};

/// Shared job status, updated by the JobMaster and read by the Dispatcher. Not on the
/// data path: touched on state changes and user requests only.
#[derive(Debug)]
pub struct JobRecord {
    details: RwLock<JobDetails>,
    status_tx: watch::Sender<JobStatus>,
}

impl JobRecord {
    /// A record for a job just submitted.
    pub fn new(job_id: String, graph: &eddy_runtime::jobgraph::JobGraph) -> Self {
        let (status_tx, _) = watch::channel(JobStatus::Created);
        let parallelism = graph.vertices.iter().map(|v| v.parallelism).collect();
        let vertices = graph
            .vertices
            .iter()
            .map(|v| VertexDetails {
                id: v.id,
                name: v.name.clone(),
                parallelism: v.parallelism,
                status: "CREATED".to_string(),
                metrics: MetricsSnapshot::default(),
            })
            .collect();
        Self {
            details: RwLock::new(JobDetails {
                job_id,
                name: graph.name.clone(),
                vertices,
                status: JobStatus::Created,
                start_time: Utc::now(),
                end_time: None,
                error: None,
                parallelism,
                metrics: MetricsSnapshot::default(),
                restarts: 0,
                checkpoints: Default::default(),
            }),
            status_tx,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, JobDetails> {
        self.details.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, JobDetails> {
        self.details.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the details.
    pub fn details(&self) -> JobDetails {
        self.read().clone()
    }

    /// The current status.
    pub fn status(&self) -> JobStatus {
        self.read().status
    }

    /// The error that failed the job, if any.
    pub fn error(&self) -> Option<Failure> {
        self.read().error.clone()
    }

    /// Records the job's error.
    pub fn set_error(&self, error: Failure) {
        self.write().error = Some(error);
    }

    /// Records a restart.
    pub fn add_restart(&self) {
        self.write().restarts += 1;
    }

    /// Records the job's checkpoint counts.
    pub fn set_checkpoints(&self, stats: crate::checkpoint::CheckpointStats) {
        self.write().checkpoints = stats;
    }

    /// Records the final counters.
    pub fn set_final_metrics(&self, metrics: MetricsSnapshot) {
        self.write().metrics = metrics;
    }

    /// Records each vertex's status and the counters of its ended subtasks.
    pub fn set_vertices(&self, summary: Vec<(u32, &'static str, MetricsSnapshot)>) {
        let mut d = self.write();
        for (id, status, metrics) in summary {
            if let Some(v) = d.vertices.iter_mut().find(|v| v.id == id) {
                v.status = status.to_string();
                v.metrics = metrics;
            }
        }
    }

    /// Moves to `to` if the lifecycle allows it; returns whether it did.
    pub fn transition(&self, to: JobStatus) -> bool {
        let mut d = self.write();
        if !can_transition(d.status, to) {
            return false;
        }
        d.status = to;
        if to.is_terminal() {
            d.end_time = Some(Utc::now());
        }
        drop(d);
        self.status_tx.send_replace(to);
        true
    }

    /// A receiver that sees every status change.
    pub fn subscribe(&self) -> watch::Receiver<JobStatus> {
        self.status_tx.subscribe()
    }
}
