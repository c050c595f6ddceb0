//! Reading a filesystem table: the enumerator lists the files under `path` (one split
//! each), a reader decodes its files in order, a chunk of at most `batch_size` lines at a
//! time. A split's state is its file, byte offset and line number, so a reader can resume
//! where a checkpoint left it.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use eddy_runtime::connector::{ReaderPoll, Source, SourceReader, SourceSplit, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use serde::{Deserialize, Serialize};

use datafusion::common::ScalarValue;
use eddy_runtime::jobgraph::SerializedExpr;

use super::partition::{PartitionValues, Partitioning};
use crate::format::{FormatFactory, LineChunk, RecordDecoder};

/// A filesystem table read as a source.
pub struct FileSystemSource {
    table: String,
    path: PathBuf,
    schema: SchemaRef,
    format: Arc<dyn FormatFactory>,
    options: BTreeMap<String, String>,
    /// With `PARTITIONED BY`: files live in `k=v/` directories and hold the other
    /// columns; the filter over the partition columns decides which are read.
    partitioning: Option<Partitioning>,
    partition_filter: Option<SerializedExpr>,
    /// The columns the job reads (of an unpartitioned table); `None`: all.
    read_columns: Option<Vec<usize>>,
}

/// Where a reader is in one file: the state of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileSplitState {
    path: String,
    /// Bytes already read.
    offset: u64,
    /// Lines already read.
    line: u64,
    /// The file's partition, for a partitioned table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<PartitionValues>,
}

impl FileSplitState {
    fn to_split(&self) -> Result<SourceSplit> {
        let state = serde_json::to_value(self)
            .map_err(|e| RuntimeError::Internal(format!("state of split '{}': {e}", self.path)))?;
        Ok(SourceSplit {
            id: self.path.clone(),
            state,
        })
    }
}

impl FileSystemSource {
    /// A source over `path` decoding `format`.
    pub fn new(
        table: String,
        path: PathBuf,
        schema: SchemaRef,
        format: Arc<dyn FormatFactory>,
        options: BTreeMap<String, String>,
    ) -> Self {
        Self {
            table,
            path,
            schema,
            format,
            options,
            partitioning: None,
            partition_filter: None,
            read_columns: None,
        }
    }

    /// The same source reading only `columns` (the format may leave the others NULL).
    pub fn reading(mut self, columns: Option<Vec<usize>>) -> Self {
        self.read_columns = columns;
        self
    }

    /// The same source over a partitioned table, reading the partitions `filter` keeps.
    pub fn partitioned(
        mut self,
        partitioning: Option<Partitioning>,
        filter: Option<SerializedExpr>,
    ) -> Self {
        self.partitioning = partitioning;
        self.partition_filter = filter;
        self
    }

    /// The files to read with their partitions: all of them, or for a partitioned table
    /// those inside partition directories that the partition filter keeps.
    fn files(&self) -> Result<Vec<(PathBuf, Option<PartitionValues>)>> {
        let files = self.list_files()?;
        let Some(partitioning) = &self.partitioning else {
            return Ok(files.into_iter().map(|f| (f, None)).collect());
        };
        let found: Vec<(PathBuf, PartitionValues)> = files
            .into_iter()
            .filter_map(|f| partitioning.of_file(&self.path, &f).map(|p| (f, p)))
            .collect();
        let Some(filter) = &self.partition_filter else {
            return Ok(found.into_iter().map(|(f, p)| (f, Some(p))).collect());
        };
        // One row per distinct partition, not per file.
        let mut partitions: Vec<PartitionValues> = found.iter().map(|(_, p)| p.clone()).collect();
        partitions.sort();
        partitions.dedup();
        let kept = partitioning.prune(&partitions, filter)?;
        let kept: std::collections::BTreeSet<&PartitionValues> = partitions
            .iter()
            .zip(kept)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        Ok(found
            .iter()
            .filter(|(_, p)| kept.contains(p))
            .map(|(f, p)| (f.clone(), Some(p.clone())))
            .collect())
    }

    /// Every file to read, sorted: `path` itself, or the files under it, skipping
    /// hidden names (starting with `.` or `_`) as Flink does.
    fn list_files(&self) -> Result<Vec<PathBuf>> {
        let metadata = std::fs::metadata(&self.path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                RuntimeError::NotFound(format!(
                    "path '{}' of table '{}' does not exist",
                    self.path.display(),
                    self.table
                ))
            } else {
                RuntimeError::io(format!("cannot read path '{}'", self.path.display()), e)
            }
        })?;
        if !metadata.is_dir() {
            return Ok(vec![self.path.clone()]);
        }
        let mut files = Vec::new();
        collect_files(&self.path, &mut files)?;
        files.sort();
        Ok(files)
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        // A partition directory (`_dt=x`) is data whatever its column is called.
        .is_some_and(|n| (n.starts_with('.') || n.starts_with('_')) && !n.contains('='))
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let context = || format!("cannot list directory '{}'", dir.display());
    for entry in std::fs::read_dir(dir).map_err(|e| RuntimeError::io(context(), e))? {
        let path = entry.map_err(|e| RuntimeError::io(context(), e))?.path();
        if is_hidden(&path) {
            continue;
        }
        let metadata = std::fs::metadata(&path)
            .map_err(|e| RuntimeError::io(format!("cannot read '{}'", path.display()), e))?;
        if metadata.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

impl Source for FileSystemSource {
    fn is_bounded(&self) -> bool {
        true
    }

    fn enumerate_splits(&self, _parallelism: u32) -> Result<Vec<SourceSplit>> {
        self.files()?
            .into_iter()
            .map(|(path, partition)| {
                FileSplitState {
                    path: path.to_string_lossy().into_owned(),
                    offset: 0,
                    line: 0,
                    partition,
                }
                .to_split()
            })
            .collect()
    }

    fn create_reader(
        &self,
        splits: Vec<SourceSplit>,
        info: &SubtaskInfo,
    ) -> Result<Box<dyn SourceReader>> {
        let pending = splits
            .into_iter()
            .map(|split| {
                serde_json::from_value::<FileSplitState>(split.state).map_err(|e| {
                    RuntimeError::Internal(format!("bad state of split '{}': {e}", split.id))
                })
            })
            .collect::<Result<VecDeque<_>>>()?;
        // A changelog format's batches carry row kinds, last.
        let with_op = |schema: &SchemaRef| match self.format.produces_changelog() {
            true => eddy_runtime::changelog::with_op_field(schema),
            false => schema.clone(),
        };
        // Part files of a partitioned table hold the other columns only.
        let file_schema = match &self.partitioning {
            Some(p) => p.data_schema(),
            None => self.schema.clone(),
        };
        let mut format_decoder = self
            .format
            .create_decoder(file_schema.clone(), &self.options)?;
        // Column positions are the table's: a partitioned table's files hold fewer.
        if let (Some(read), None) = (&self.read_columns, &self.partitioning) {
            format_decoder.read_only(read);
        }
        let decoder = RecordDecoder::new(
            format_decoder,
            with_op(&file_schema),
            self.format.bad_record_policy(&self.options)?,
            info.metrics.clone(),
        );
        Ok(Box::new(FileSystemReader {
            pending,
            current: None,
            partitioning: self
                .partitioning
                .clone()
                .map(|p| (p, with_op(&self.schema))),
            decoder,
            chunk: LineChunk::new(),
            batch_size: info.batch_size.max(1),
        }))
    }
}

/// Reads the files assigned to one subtask, in order.
pub struct FileSystemReader {
    pending: VecDeque<FileSplitState>,
    current: Option<OpenFile>,
    /// A partitioned table's layout and the schema of the batches it reads.
    partitioning: Option<(Partitioning, SchemaRef)>,
    decoder: RecordDecoder,
    chunk: LineChunk,
    batch_size: usize,
}

/// A file being read.
struct OpenFile {
    state: FileSplitState,
    reader: BufReader<File>,
    line: Vec<u8>,
    /// The file's partition values, typed as their columns.
    partition: Vec<ScalarValue>,
}

impl OpenFile {
    fn open(state: FileSplitState) -> Result<Self> {
        let mut file = File::open(&state.path)
            .map_err(|e| RuntimeError::io(format!("cannot open '{}'", state.path), e))?;
        if state.offset > 0 {
            file.seek(SeekFrom::Start(state.offset))
                .map_err(|e| RuntimeError::io(format!("cannot seek in '{}'", state.path), e))?;
        }
        Ok(Self {
            state,
            reader: BufReader::with_capacity(1 << 16, file),
            line: Vec::new(),
            partition: Vec::new(),
        })
    }

    /// Appends up to `max_lines` non-empty lines to `chunk`; true at the end of the file.
    fn read_chunk(&mut self, chunk: &mut LineChunk, max_lines: usize) -> Result<bool> {
        while chunk.len() < max_lines {
            self.line.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.line)
                .map_err(|e| RuntimeError::io(format!("cannot read '{}'", self.state.path), e))?;
            if read == 0 {
                return Ok(true);
            }
            self.state.offset += read as u64;
            self.state.line += 1;
            let mut text = self.line.as_slice();
            while let [rest @ .., b'\n' | b'\r'] = text {
                text = rest;
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            chunk.push(self.state.line, text);
        }
        Ok(false)
    }
}

impl SourceReader for FileSystemReader {
    fn poll_next(&mut self) -> Result<ReaderPoll> {
        loop {
            if self.current.is_none() {
                match self.pending.pop_front() {
                    Some(state) => {
                        let mut file = OpenFile::open(state)?;
                        if let (Some((p, _)), Some(values)) =
                            (&self.partitioning, &file.state.partition)
                        {
                            file.partition = p.typed(values, &file.state.path)?;
                        }
                        self.current = Some(file);
                    }
                    None => return Ok(ReaderPoll::Finished),
                }
            }
            let Some(file) = self.current.as_mut() else {
                continue;
            };
            self.chunk.clear();
            let at_end = file.read_chunk(&mut self.chunk, self.batch_size)?;
            let mut batch = self.decoder.decode(&file.state.path, &self.chunk)?;
            if let (Some((p, schema)), Some(b)) = (&self.partitioning, &batch) {
                batch = Some(p.assemble(b, &file.partition, schema)?);
            }
            if at_end {
                self.current = None;
            }
            if let Some(batch) = batch {
                return Ok(ReaderPoll::Batch(batch));
            }
        }
    }

    // A poll returns only once every line it read is in the batch it returns (or was
    // skipped), so the open file's offset is exactly after the last batch.
    fn snapshot_splits(&mut self, _checkpoint_id: u64) -> Result<Vec<SourceSplit>> {
        self.current
            .iter()
            .map(|file| &file.state)
            .chain(&self.pending)
            .map(FileSplitState::to_split)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;
    use crate::factory::TableFactory;
    use crate::filesystem::FileSystemTableFactory;
    use crate::testing::{check_resumes_after_every_batch, read_all, spec, subtask, TestDir};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ])
    }

    fn source(path: &Path, extra: &[(&str, &str)]) -> Arc<dyn Source> {
        let path = path.to_string_lossy().into_owned();
        let mut options = vec![
            ("connector", "filesystem"),
            ("path", path.as_str()),
            ("format", "csv"),
        ];
        options.extend_from_slice(extra);
        FileSystemTableFactory
            .create_source(&spec(&schema(), &options))
            .unwrap()
    }

    fn ids(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn lists_files_recursively_skipping_hidden_ones() {
        let dir = TestDir::new();
        dir.write("b.csv", "3,c\n");
        dir.write("a.csv", "1,a\n2,b\n");
        dir.write("sub/c.csv", "4,d\n");
        dir.write(".hidden.csv", "9,x\n");
        dir.write("_SUCCESS", "");
        dir.write("_tmp/d.csv", "9,y\n");
        let source = source(dir.path(), &[]);
        let splits = source.enumerate_splits(2).unwrap();
        let names: Vec<String> = splits
            .iter()
            .map(|s| {
                s.id.trim_start_matches(&*dir.path().to_string_lossy())
                    .to_string()
            })
            .collect();
        assert_eq!(names, vec!["/a.csv", "/b.csv", "/sub/c.csv"]);
        let mut reader = source.create_reader(splits, &subtask(0, 1, 1024)).unwrap();
        assert_eq!(ids(&read_all(reader.as_mut()).unwrap()), vec![1, 2, 3, 4]);
    }

    #[test]
    fn missing_path_is_not_found() {
        let dir = TestDir::new();
        let missing = dir.path().join("nope.csv");
        let err = source(&missing, &[]).enumerate_splits(1).unwrap_err();
        assert!(
            matches!(err, RuntimeError::NotFound(ref m) if m.contains("nope.csv")),
            "{err}"
        );
    }

    #[test]
    fn batches_respect_batch_size_and_skip_empty_lines() {
        let dir = TestDir::new();
        let file = dir.write("f.csv", "1,a\n\n2,b\r\n3,c\n   \n4,d\n5,e");
        let source = source(&file, &[]);
        let splits = source.enumerate_splits(1).unwrap();
        let mut reader = source.create_reader(splits, &subtask(0, 1, 2)).unwrap();
        let batches = read_all(reader.as_mut()).unwrap();
        let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        assert_eq!(ids(&batches), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn bad_line_is_reported_with_file_and_line_or_skipped() {
        let dir = TestDir::new();
        let file = dir.write("f.csv", "1,a\n\n2,b\nx,c\n4,d\n");
        let source_fail = source(&file, &[]);
        let splits = source_fail.enumerate_splits(1).unwrap();
        let mut reader = source_fail
            .create_reader(splits.clone(), &subtask(0, 1, 100))
            .unwrap();
        match read_all(reader.as_mut()).unwrap_err() {
            RuntimeError::BadRecord {
                location, record, ..
            } => {
                assert_eq!(location, format!("{}:4", file.display()));
                assert_eq!(record, "x,c");
            }
            other => panic!("{other:?}"),
        }
        let skipping = source(&file, &[("csv.ignore-parse-errors", "true")]);
        let info = subtask(0, 1, 100);
        let mut reader = skipping.create_reader(splits, &info).unwrap();
        assert_eq!(ids(&read_all(reader.as_mut()).unwrap()), vec![1, 2, 4]);
        assert_eq!(info.metrics.num_records_skipped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn resumes_from_split_state() {
        let dir = TestDir::new();
        let file = dir.write("f.csv", "1,a\n2,b\n3,c\n");
        let source = source(&file, &[]);
        let mut split = source.enumerate_splits(1).unwrap().remove(0);
        split.state = serde_json::json!({"path": file.to_string_lossy(), "offset": 4, "line": 1});
        let mut reader = source
            .create_reader(vec![split], &subtask(0, 1, 10))
            .unwrap();
        assert_eq!(ids(&read_all(reader.as_mut()).unwrap()), vec![2, 3]);
    }

    #[test]
    fn resumes_from_a_snapshot_in_a_file_and_between_files() {
        let dir = TestDir::new();
        // With two rows a batch, a.csv ends inside the second batch and b.csv exactly at
        // the end of its second: snapshots fall mid-file, at a file's end and between
        // files.
        let a = dir.write("a.csv", "1,a\n\n2,b\n3,c\n");
        let b = dir.write("b.csv", "4,d\n5,e\n6,f\n7,g");
        dir.write("c.csv", "8,h\n");
        let source = source(dir.path(), &[]);
        let splits = source.enumerate_splits(1).unwrap();
        let (whole, snapshots) =
            check_resumes_after_every_batch(source.as_ref(), splits.clone(), &subtask(0, 1, 2));
        assert_eq!(whole.len(), 8);
        assert_eq!(snapshots[0], splits, "before the first batch nothing moved");
        let state = |s: &SourceSplit| {
            (
                s.id.clone(),
                s.state["offset"].clone(),
                s.state["line"].clone(),
            )
        };
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        // After one batch: two rows and the empty line between them of a.csv read.
        assert_eq!(state(&snapshots[1][0]), (path(&a), 9.into(), 3.into()));
        assert_eq!(snapshots[1].len(), 3);
        // After two: a.csv is finished and left out.
        assert_eq!(snapshots[2], splits[1..].to_vec());
        // After four: b.csv was read to its end but not found finished yet.
        assert_eq!(state(&snapshots[4][0]), (path(&b), 15.into(), 4.into()));
        assert_eq!(snapshots.last().map(Vec::len), Some(0));
    }
}
