//! The `ExecutionGraph`: the `JobGraph` expanded into one execution vertex per subtask,
//! with the state of its current attempt.

use std::collections::BTreeMap;

use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::MetricsSnapshot;

use crate::gateway::{ExecutionAttemptId, ExecutionState};

/// One subtask of one vertex.
#[derive(Debug, Clone)]
pub struct ExecutionVertex {
    pub attempt: ExecutionAttemptId,
    pub state: ExecutionState,
    /// Final counters, once the subtask has ended.
    pub final_metrics: MetricsSnapshot,
}

/// All subtasks of a job.
#[derive(Debug)]
pub struct ExecutionGraph {
    vertices: BTreeMap<(u32, u32), ExecutionVertex>,
}

impl ExecutionGraph {
    /// Expands a job graph for attempt number `attempt`.
    pub fn new(job_id: &str, graph: &JobGraph, attempt: u32) -> Self {
        let mut vertices = BTreeMap::new();
        for v in &graph.vertices {
            for i in 0..v.parallelism {
                vertices.insert(
                    (v.id, i),
                    ExecutionVertex {
                        attempt: ExecutionAttemptId {
                            job_id: job_id.to_string(),
                            vertex_id: v.id,
                            subtask_index: i,
                            attempt,
                        },
                        state: ExecutionState::Deploying,
                        final_metrics: MetricsSnapshot::default(),
                    },
                );
            }
        }
        Self { vertices }
    }

    /// Every execution vertex.
    pub fn vertices(&self) -> impl Iterator<Item = &ExecutionVertex> {
        self.vertices.values()
    }

    /// Records a state change; returns false for a stale or unknown attempt.
    pub fn update(
        &mut self,
        attempt: &ExecutionAttemptId,
        state: ExecutionState,
        metrics: MetricsSnapshot,
    ) -> bool {
        match self
            .vertices
            .get_mut(&(attempt.vertex_id, attempt.subtask_index))
        {
            Some(v) if v.attempt == *attempt && !is_terminal(&v.state) => {
                if is_terminal(&state) {
                    v.final_metrics = metrics;
                }
                v.state = state;
                true
            }
            _ => false,
        }
    }

    /// Whether every subtask has ended.
    pub fn all_terminal(&self) -> bool {
        self.vertices.values().all(|v| is_terminal(&v.state))
    }

    /// Whether every subtask is running or has finished: a checkpoint's barriers reach
    /// the running ones, and the finished ones take part with their final snapshots.
    pub fn all_running_or_finished(&self) -> bool {
        self.vertices
            .values()
            .all(|v| matches!(v.state, ExecutionState::Running | ExecutionState::Finished))
    }

    /// Whether every subtask finished normally.
    pub fn all_finished(&self) -> bool {
        self.vertices
            .values()
            .all(|v| v.state == ExecutionState::Finished)
    }

    /// Sum of the final counters of ended subtasks.
    pub fn final_metrics(&self) -> MetricsSnapshot {
        let mut total = MetricsSnapshot::default();
        for v in self.vertices.values() {
            total += v.final_metrics;
        }
        total
    }
}

/// Whether a subtask state is final.
impl ExecutionGraph {
    /// Each vertex's status, as Flink aggregates it from its subtasks (a failed subtask
    /// makes the vertex FAILED; it is FINISHED or CANCELED once all are), with the counters
    /// of its ended subtasks.
    pub fn vertex_summary(&self) -> Vec<(u32, &'static str, MetricsSnapshot)> {
        let mut out: Vec<(u32, &'static str, MetricsSnapshot)> = Vec::new();
        let mut states: BTreeMap<u32, Vec<&ExecutionState>> = BTreeMap::new();
        let mut metrics: BTreeMap<u32, MetricsSnapshot> = BTreeMap::new();
        for ((vertex, _), v) in &self.vertices {
            states.entry(*vertex).or_default().push(&v.state);
            *metrics.entry(*vertex).or_default() += v.final_metrics;
        }
        for (vertex, s) in states {
            let all = |f: fn(&ExecutionState) -> bool| s.iter().all(|x| f(x));
            let any = |f: fn(&ExecutionState) -> bool| s.iter().any(|x| f(x));
            let status = if any(|x| matches!(x, ExecutionState::Failed(_))) {
                "FAILED"
            } else if all(|x| *x == ExecutionState::Finished) {
                "FINISHED"
            } else if all(is_terminal) {
                "CANCELED"
            } else if any(|x| *x == ExecutionState::Running) {
                "RUNNING"
            } else {
                "DEPLOYING"
            };
            out.push((vertex, status, metrics.remove(&vertex).unwrap_or_default()));
        }
        out
    }
}

pub fn is_terminal(state: &ExecutionState) -> bool {
    matches!(
        state,
        ExecutionState::Finished | ExecutionState::Canceled | ExecutionState::Failed(_)
    )
}
