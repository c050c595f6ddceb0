//! Sink V2: a sink creates one writer per subtask. Writers are closed through `finish`
//! when input ends; the checkpoint issue adds pre-commit on barriers and commit on
//! checkpoint completion.

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
    /// Input ended: flush, close and make everything written visible.
    fn finish(&mut self) -> Result<()>;
    /// The job is being cancelled or failed: drop uncommitted output.
    fn abort(&mut self) {}
}
