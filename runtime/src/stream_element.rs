//! What travels on a channel between subtasks: Flink's `StreamElement`.

use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::time::{Watermark, WatermarkStatus};

/// One element of a stream. Data always moves as whole Arrow batches.
#[derive(Debug, Clone)]
pub enum StreamElement {
    /// Rows. A changelog stream carries its [`RowKind`]s in a column.
    Batch(RecordBatch),
    /// Event-time progress of the sending subtask.
    Watermark(Watermark),
    /// The sending subtask went idle or became active again.
    WatermarkStatus(WatermarkStatus),
    /// Checkpoint progress: everything before it belongs to the checkpoint.
    Barrier(crate::checkpoint::CheckpointBarrier),
    /// The sending subtask finished; nothing follows on this channel.
    EndOfInput,
}

/// The kind of change a row stands for (Flink's `RowKind`); append-only streams are all
/// `Insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowKind {
    Insert,
    UpdateBefore,
    UpdateAfter,
    Delete,
}

impl RowKind {
    /// Flink's short form, as the print connector shows it (`+I`, `-U`, `+U`, `-D`).
    pub fn short_string(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }
}
