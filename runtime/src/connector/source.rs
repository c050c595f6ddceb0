//! FLIP-27 sources, reduced to what Eddy needs: a split enumerator that runs once when the
//! job is scheduled, and a reader per subtask.

use std::time::Duration;

use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use super::SubtaskInfo;
use crate::error::Result;

/// A unit of source work: a file, a key range, a topic partition. Its `state` is
/// connector-defined and is what a checkpoint will store for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSplit {
    pub id: String,
    pub state: serde_json::Value,
}

/// A table's source.
pub trait Source: Send + Sync {
    /// Whether the source ends by itself.
    fn is_bounded(&self) -> bool;
    /// Enumerates splits for a source run by `parallelism` subtasks.
    fn enumerate_splits(&self, parallelism: u32) -> Result<Vec<SourceSplit>>;
    /// A reader for the splits assigned to one subtask.
    fn create_reader(
        &self,
        splits: Vec<SourceSplit>,
        info: &SubtaskInfo,
    ) -> Result<Box<dyn SourceReader>>;
}

/// What a reader produced when polled.
#[derive(Debug)]
pub enum ReaderPoll {
    /// Rows read.
    Batch(RecordBatch),
    /// Nothing now; poll again after at most this long.
    Pending(Duration),
    /// Every assigned split is exhausted.
    Finished,
}

/// Reads the splits assigned to one subtask. Polled by the subtask's loop, which also
/// watches for cancellation between polls, so a poll must not block for long.
pub trait SourceReader: Send {
    /// Produces the next batch, or says why there is none.
    fn poll_next(&mut self) -> Result<ReaderPoll>;

    /// Index, among the splits given to `create_reader`, of the split the last batch came
    /// from: watermarks are generated per split.
    fn current_split(&self) -> usize {
        0
    }

    /// Whether batches of several splits interleave (e.g. Kafka partitions). Readers that
    /// read splits one after another (files) keep the default: a split is finished once
    /// the reader moves past it, and no longer holds the watermark back.
    fn interleaves_splits(&self) -> bool {
        false
    }

    /// The current position of every split not yet finished, for a checkpoint: a reader
    /// created from these splits goes on right after the last batch returned. Readers that
    /// cannot say where they are keep the default, and a checkpoint of their job fails
    /// with this message.
    fn snapshot_splits(&mut self) -> Result<Vec<SourceSplit>> {
        Err(crate::RuntimeError::User(
            "this source cannot be checkpointed: it does not report its position".into(),
        ))
    }
}
