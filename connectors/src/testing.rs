//! Helpers for this crate's unit tests: subtask descriptions and scratch directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{ReaderPoll, SourceReader, SubtaskInfo};
use eddy_runtime::jobgraph::{ConnectorSpec, SerializedSchema};
use eddy_runtime::metrics::TaskMetrics;

/// Subtask `index` of `parallelism`, with fresh metrics.
pub fn subtask(index: u32, parallelism: u32, batch_size: usize) -> SubtaskInfo {
    SubtaskInfo {
        attempt: 0,
        job_id: "job".into(),
        vertex_name: "vertex".into(),
        subtask_index: index,
        parallelism,
        metrics: Arc::new(TaskMetrics::default()),
        batch_size,
        buffer_timeout: Duration::from_millis(10),
        cancel: Default::default(),
    }
}

/// A spec for table `t`.
pub fn spec(schema: &Schema, options: &[(&str, &str)]) -> ConnectorSpec {
    ConnectorSpec {
        table: "t".into(),
        schema: SerializedSchema::encode(schema).expect("schema encodes"),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Polls a reader to the end (sleeping through `Pending`), returning its batches.
pub fn read_all(reader: &mut dyn SourceReader) -> eddy_runtime::Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    loop {
        match reader.poll_next()? {
            ReaderPoll::Batch(b) => batches.push(b),
            ReaderPoll::Pending(d) => std::thread::sleep(d.min(Duration::from_millis(50))),
            ReaderPoll::Finished => return Ok(batches),
        }
    }
}

/// A scratch directory, removed when dropped.
pub struct TestDir(PathBuf);

impl TestDir {
    /// Creates an empty directory under the system temp directory.
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("eddy-connectors-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create test dir");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write test file");
        path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
