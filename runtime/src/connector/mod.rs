//! The seam between the runtime and connectors: sources follow FLIP-27 (a source
//! enumerates splits, a reader reads the splits assigned to one subtask), sinks follow
//! Sink V2 (one writer per subtask). Connectors implement these traits; the runtime drives
//! them. [`ConnectorResolver`] is how a TaskManager turns a [`ConnectorSpec`] into one.

mod sink;
mod source;

use std::sync::Arc;

pub use sink::{Sink, SinkWriter};
pub use source::{ReaderPoll, Source, SourceReader, SourceSplit};

use crate::error::Result;
use crate::jobgraph::ConnectorSpec;
use crate::metrics::TaskMetrics;

/// Where a subtask sits in its vertex, and what it may report into.
#[derive(Debug, Clone)]
pub struct SubtaskInfo {
    pub job_id: String,
    pub vertex_name: String,
    pub subtask_index: u32,
    pub parallelism: u32,
    /// Which run of the job this is: 0, then one more after each restart. Files a writer
    /// names with it can be told apart from those of a failed earlier run.
    pub attempt: u32,
    pub metrics: Arc<TaskMetrics>,
    /// Rows per batch a source should aim for.
    pub batch_size: usize,
    /// Longest a partially filled batch may wait.
    pub buffer_timeout: std::time::Duration,
    /// Set when the subtask is cancelled: a reader or writer that waits on something
    /// outside the task (a client, a gateway) looks at it while waiting.
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
}

/// Creates sources and sinks from their specs (implemented by the connector registry).
pub trait ConnectorResolver: Send + Sync {
    /// The source for a table.
    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>>;
    /// The sink for a table.
    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>>;
}
