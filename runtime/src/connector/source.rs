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
    /// Deals splits (enumerated, or held by a checkpoint restored from, maybe at another
    /// parallelism) to `parallelism` subtasks. Round-robin by default; a source whose
    /// readers discover splits by themselves (Kafka partitions) deals by the same rule
    /// they use, so a split is never read twice.
    fn assign_splits(&self, splits: Vec<SourceSplit>, parallelism: u32) -> Vec<Vec<SourceSplit>> {
        let n = parallelism.max(1) as usize;
        let mut out = vec![Vec::new(); n];
        for (i, s) in splits.into_iter().enumerate() {
            out[i % n].push(s);
        }
        out
    }
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

    /// Splits the reader holds from its start (indexes `0..n` of [`current_split`]), each of
    /// which holds the watermark back until it has data or goes idle, as Flink's per-split
    /// watermarks do. Readers that do not interleave splits keep the default (none).
    ///
    /// [`current_split`]: Self::current_split
    fn declared_splits(&self) -> usize {
        0
    }

    /// Splits (by index) that ended since the last call, so they stop holding the
    /// watermark back; for readers that interleave splits of a bounded source.
    fn take_finished_splits(&mut self) -> Vec<usize> {
        Vec::new()
    }

    /// The current position of every split not yet finished, for checkpoint
    /// `checkpoint_id`: a reader created from these splits goes on right after the last
    /// batch returned. Readers that cannot say where they are keep the default, and a
    /// checkpoint of their job fails with this message.
    fn snapshot_splits(&mut self, _checkpoint_id: u64) -> Result<Vec<SourceSplit>> {
        Err(crate::RuntimeError::User(
            "this source cannot be checkpointed: it does not report its position".into(),
        ))
    }

    /// Checkpoint `checkpoint_id` completed: positions snapshotted for it are durable
    /// (a Kafka reader commits them to its consumer group).
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }
}
