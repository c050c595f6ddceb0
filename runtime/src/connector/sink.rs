//! Sink V2: a sink creates one writer per subtask. Without checkpoints a writer makes
//! its output visible in `finish`, when input ends. With checkpoints it is a two-phase
//! commit: at each barrier `prepare_commit` makes what was written durable and returns
//! the committables (stored in the checkpoint), and `commit` makes them visible once the
//! checkpoint completed; a restored writer first commits the committables of the
//! checkpoint it restores from (`recover`) and discards what the failed attempt left.

use datafusion::arrow::record_batch::RecordBatch;

use super::SubtaskInfo;
use crate::error::Result;

/// A table's sink.
pub trait Sink: Send + Sync {
    /// A writer for one subtask.
    fn create_writer(&self, info: &SubtaskInfo) -> Result<Box<dyn SinkWriter>>;
}

/// Writes the rows of one subtask.
pub trait SinkWriter: Send {
    /// Writes a batch; may buffer.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Input ended (checkpoints off): flush, close and make everything written visible.
    fn finish(&mut self) -> Result<()>;
    /// The job is being cancelled or failed: drop uncommitted output.
    fn abort(&mut self) {}

    /// A barrier (or, with `checkpoint_id` = [`crate::checkpoint::FINAL_CHECKPOINT_ID`],
    /// the end of input): make everything written so far durable and return what
    /// committing it takes, in the writer's own encoding. The default writes through
    /// (output is visible at once: at-least-once) and has nothing to commit.
    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Makes committables returned by `prepare_commit` visible. Must be idempotent: after a
    /// failure the same committable may be committed again.
    fn commit(&mut self, _committables: Vec<Vec<u8>>) -> Result<()> {
        Ok(())
    }

    /// The input's watermark advanced (epoch milliseconds); what the partition-time commit
    /// of a partitioned filesystem table waits for.
    fn on_watermark(&mut self, _watermark: i64) {}

    /// Restoring: `all_committables` are those of every subtask in the checkpoint restored
    /// from (committed by whoever they are dealt to); anything else a failed attempt of
    /// this job left behind may be discarded.
    fn recover(&mut self, _all_committables: &[Vec<u8>]) -> Result<()> {
        Ok(())
    }
}
