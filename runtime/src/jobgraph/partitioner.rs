//! How an edge distributes a batch over the target vertex's subtasks.

use serde::{Deserialize, Serialize};

/// Flink's `StreamPartitioner`s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Partitioner {
    /// Subtask i sends to subtask i (equal parallelism).
    Forward,
    /// Rows are routed by the hash of the key columns: key → key group → subtask.
    Hash { key_columns: Vec<usize> },
    /// Every subtask receives every batch.
    Broadcast,
    /// Whole batches round-robin over the targets.
    Rebalance,
}

impl std::fmt::Display for Partitioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Partitioner::Forward => write!(f, "FORWARD"),
            Partitioner::Hash { key_columns } => write!(f, "HASH{key_columns:?}"),
            Partitioner::Broadcast => write!(f, "BROADCAST"),
            Partitioner::Rebalance => write!(f, "REBALANCE"),
        }
    }
}
