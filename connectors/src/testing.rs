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
        primary_key: Vec::new(),
        partition_keys: Vec::new(),
        partition_filter: None,
        read_columns: None,
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
/// repeated. For a reader that interleaves splits, only each split's stream has an
/// order, so the streams are compared split by split. Returns the uninterrupted
/// stream's rows and the snapshot taken after each batch (`snapshots[k]` after `k`).
pub fn check_resumes_after_every_batch(
    source: &dyn Source,
    splits: Vec<SourceSplit>,
    info: &SubtaskInfo,
) -> (Vec<String>, Vec<Vec<SourceSplit>>) {
    let whole = read_by_split(source, splits.clone(), info, usize::MAX);
    let mut snapshots = Vec::new();
    for k in 0..=whole.batches {
        let head = read_by_split(source, splits.clone(), info, k);
        assert_eq!(head.batches, k);
        let snapshot = head.snapshot;
        let tail = read_by_split(source, snapshot.clone(), info, usize::MAX);
        let resumed: Vec<(String, String)> = head.rows.into_iter().chain(tail.rows).collect();
        if head.interleaves {
            let per_split = |rows: &[(String, String)]| {
                let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (split, row) in rows {
                    map.entry(split.clone()).or_default().push(row.clone());
                }
                map
            };
            assert_eq!(
                per_split(&resumed),
                per_split(&whole.rows),
                "resumed after {k} batches from {snapshot:?}"
            );
        } else {
            // Such a reader need not say which split a batch came from.
            let untagged = |rows: &[(String, String)]| -> Vec<String> {
                rows.iter().map(|(_, row)| row.clone()).collect()
            };
            assert_eq!(
                untagged(&resumed),
                untagged(&whole.rows),
                "resumed after {k} batches from {snapshot:?}"
            );
        }
        snapshots.push(snapshot);
    }
    let rows = whole.rows.into_iter().map(|(_, row)| row).collect();
    (rows, snapshots)
}

/// What [`read_by_split`] read.
struct SplitRead {
    /// Each row with the id of the split it came from.
    rows: Vec<(String, String)>,
    batches: usize,
    /// Taken after the last batch.
    snapshot: Vec<SourceSplit>,
    interleaves: bool,
}

/// Reads up to `n` batches of `splits`, then snapshots the reader.
fn read_by_split(
    source: &dyn Source,
    splits: Vec<SourceSplit>,
    info: &SubtaskInfo,
    n: usize,
) -> SplitRead {
    let ids: Vec<String> = splits.iter().map(|s| s.id.clone()).collect();
    let mut reader = source.create_reader(splits, info).expect("reader");
    let mut out = Vec::new();
    let mut batches = 0;
    while batches < n {
        let batch = match reader.poll_next().expect("poll") {
            ReaderPoll::Batch(b) => b,
            ReaderPoll::Pending(d) => {
                std::thread::sleep(d.min(Duration::from_millis(50)));
                continue;
            }
            ReaderPoll::Finished => break,
        };
        batches += 1;
        let split = ids[reader.current_split()].clone();
        out.extend(rows(&[batch]).into_iter().map(|row| (split.clone(), row)));
    }
    SplitRead {
        rows: out,
        batches,
        snapshot: reader.snapshot_splits(1).expect("snapshot"),
        interleaves: reader.interleaves_splits(),
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
