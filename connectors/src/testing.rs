//! Helpers for this crate's unit tests: subtask descriptions and scratch directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use eddy_runtime::connector::{ReaderPoll, Source, SourceReader, SourceSplit, SubtaskInfo};
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

/// Polls a reader until it has returned `n` batches or finished, returning the batches.
pub fn read_batches(
    reader: &mut dyn SourceReader,
    n: usize,
) -> eddy_runtime::Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    while batches.len() < n {
        match reader.poll_next()? {
            ReaderPoll::Batch(b) => batches.push(b),
            ReaderPoll::Pending(d) => std::thread::sleep(d.min(Duration::from_millis(50))),
            ReaderPoll::Finished => break,
        }
    }
    Ok(batches)
}

/// Every row as text, for comparing streams.
pub fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter"))
            .collect();
        for row in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            out.push(cells.join(" | "));
        }
    }
    out
}

/// Checks that a reader of `splits` resumes from its snapshot after any number of
/// batches: for every `k`, the `k` batches read before the snapshot followed by all a
/// reader created from the snapshot reads are the uninterrupted stream, no row lost or
/// repeated. Returns the uninterrupted stream's rows and the snapshot taken after each
/// batch (`snapshots[k]` after `k` batches).
pub fn check_resumes_after_every_batch(
    source: &dyn Source,
    splits: Vec<SourceSplit>,
    info: &SubtaskInfo,
) -> (Vec<String>, Vec<Vec<SourceSplit>>) {
    let mut whole = source
        .create_reader(splits.clone(), info)
        .expect("reader");
    let whole = read_all(whole.as_mut()).expect("uninterrupted read");
    let expected = rows(&whole);
    let mut snapshots = Vec::new();
    for k in 0..=whole.len() {
        let mut reader = source.create_reader(splits.clone(), info).expect("reader");
        let head = read_batches(reader.as_mut(), k).expect("read before the snapshot");
        assert_eq!(head.len(), k);
        let snapshot = reader.snapshot_splits().expect("snapshot");
        let mut resumed = source
            .create_reader(snapshot.clone(), info)
            .expect("reader from the snapshot");
        let tail = read_all(resumed.as_mut()).expect("read after the snapshot");
        let mut stream = rows(&head);
        stream.extend(rows(&tail));
        assert_eq!(stream, expected, "resumed after {k} batches from {snapshot:?}");
        snapshots.push(snapshot);
    }
    (expected, snapshots)
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
