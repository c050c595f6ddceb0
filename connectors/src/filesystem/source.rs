//! Reading a filesystem table: the enumerator lists the files under `path` (one split
//! each, or for a large file one per byte range, see [`byte_ranges`]), a reader decodes
//! its splits in order, a chunk of at most `batch_size` lines at a time. A split's state is
//! its file, byte offset and line number, so a reader can resume where a checkpoint left
//! it.
//!
//! A byte range `[start, end)` owns the lines whose first byte lies in it: its reader
//! starts at the first line that begins at or after `start` and reads whole lines while
//! the next one begins before `end`. Every line is read once whatever the cut points, so
//! they need not fall on line starts and the enumerator never reads the file.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
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
    /// Files at least twice this size are read as byte ranges by several subtasks;
    /// `None`: one split per file (a changelog, whose order within a file matters).
    split_min_size: Option<u64>,
}

/// Where a reader is in one file: the state of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileSplitState {
    path: String,
    /// Bytes already read.
    offset: u64,
    /// Lines already read, counted from the start of the file.
    line: u64,
    /// For a byte range of the file: where it starts and where lines stop starting.
    #[serde(default, skip_serializing_if = "is_zero")]
    start: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<u64>,
    /// The file's partition, for a partitioned table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<PartitionValues>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FileSplitState {
    fn to_split(&self) -> Result<SourceSplit> {
        let state = serde_json::to_value(self)
            .map_err(|e| RuntimeError::Internal(format!("state of split '{}': {e}", self.path)))?;
        let id = match self.end {
            Some(end) => format!("{} [{}, {end})", self.path, self.start),
            None if self.start > 0 => format!("{} [{}, end)", self.path, self.start),
            None => self.path.clone(),
        };
        Ok(SourceSplit { id, state })
    }

    /// Whether the reader is still at a range's start, which may fall inside a line.
    fn at_range_start(&self) -> bool {
        self.start > 0 && self.offset == self.start
    }
}

/// Where to cut a file of `size` bytes for `parallelism` readers: `parallelism` ranges of
/// equal size, fewer when a range would be smaller than `min_size`, one for a small file.
pub(crate) fn byte_ranges(size: u64, parallelism: u32, min_size: u64) -> Vec<(u64, u64)> {
    let n = (size / min_size.max(1)).clamp(1, u64::from(parallelism.max(1)));
    // u128: size * i would overflow for a file near u64::MAX bytes.
    let cut = |i: u64| (u128::from(size) * u128::from(i) / u128::from(n)) as u64;
    (0..n).map(|i| (cut(i), cut(i + 1))).collect()
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
            split_min_size: None,
        }
    }

    /// The same source reading a file of at least twice `min_size` bytes as byte ranges.
    pub fn splitting(mut self, min_size: Option<u64>) -> Self {
        self.split_min_size = min_size;
        self
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

    fn enumerate_splits(&self, parallelism: u32) -> Result<Vec<SourceSplit>> {
        let files = self.files()?;
        // Files are cut only when there are fewer than subtasks, so a subtask reads at most
        // one range of each file: ranges of different files dealt to one subtask would be
        // read one after the other, and the second's rows would come after the first's
        // event time (late, for a watermark that only moves forward).
        let per_file = match files.len() {
            n if n > 0 && n < parallelism as usize => (parallelism as usize).div_ceil(n) as u32,
            _ => 1,
        };
        let mut splits = Vec::new();
        for (path, partition) in files {
            let ranges = match self.split_min_size {
                Some(min) if per_file > 1 => {
                    let size = std::fs::metadata(&path)
                        .map_err(|e| {
                            RuntimeError::io(format!("cannot read '{}'", path.display()), e)
                        })?
                        .len();
                    byte_ranges(size, per_file, min)
                }
                _ => vec![(0, 0)],
            };
            let last = ranges.len() - 1;
            for (i, (start, end)) in ranges.into_iter().enumerate() {
                let split = FileSplitState {
                    path: path.to_string_lossy().into_owned(),
                    offset: start,
                    line: 0,
                    start,
                    // The last range reads to the end, as a whole file does, lines added
                    // since it was measured included.
                    end: (i < last).then_some(end),
                    partition: partition.clone(),
                };
                splits.push(split.to_split()?);
            }
        }
        Ok(splits)
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

/// A file being read: its bytes come in blocks, and lines are cut out of a block in place.
struct OpenFile {
    state: FileSplitState,
    file: File,
    /// Bytes read from the file; `block[pos..]` is not cut into lines yet.
    block: Vec<u8>,
    pos: usize,
    /// `block[pos..scanned]` holds no newline: a long line is searched once, not again
    /// after every block read.
    scanned: usize,
    eof: bool,
    /// The file's partition values, typed as their columns.
    partition: Vec<ScalarValue>,
}

/// Bytes read from a file at a time.
const BLOCK: u64 = 1 << 20;

impl OpenFile {
    fn open(mut state: FileSplitState) -> Result<Self> {
        let io = |what: &str, e| RuntimeError::io(format!("{what} '{}'", state.path), e);
        let mut file = File::open(&state.path).map_err(|e| io("cannot open", e))?;
        let mut skip_partial_line = false;
        if state.at_range_start() {
            // Line numbers are the file's, so count the lines before the range; memchr
            // counts far faster than the range is parsed. Whether the byte before the
            // range ends a line decides whether the range's first bytes are its own line.
            let (lines, ends_line) =
                count_lines(&mut file, state.start).map_err(|e| io("cannot read", e))?;
            state.line = lines;
            skip_partial_line = !ends_line;
        }
        if state.offset > 0 {
            file.seek(SeekFrom::Start(state.offset))
                .map_err(|e| io("cannot seek in", e))?;
        }
        let mut open = Self {
            state,
            file,
            block: Vec::new(),
            pos: 0,
            scanned: 0,
            eof: false,
            partition: Vec::new(),
        };
        if skip_partial_line {
            // The line holding the range's first byte began in the range before, which
            // reads it whole; it still counts as a line.
            if let Some(len) = open.next_line()?.map(<[u8]>::len) {
                open.state.offset += len as u64;
                open.state.line += 1;
            }
        }
        Ok(open)
    }

    /// The next line with its terminator, or `None` at the end of the file. The caller
    /// advances the state.
    fn next_line(&mut self) -> Result<Option<&[u8]>> {
        loop {
            let from = self.scanned.max(self.pos);
            if let Some(i) = memchr::memchr(b'\n', &self.block[from..]) {
                let start = self.pos;
                self.pos = from + i + 1;
                self.scanned = self.pos;
                return Ok(Some(&self.block[start..self.pos]));
            }
            self.scanned = self.block.len();
            if self.eof {
                if self.pos == self.block.len() {
                    return Ok(None);
                }
                let start = self.pos;
                self.pos = self.block.len();
                return Ok(Some(&self.block[start..]));
            }
            // Keep the unfinished line and read the next block after it.
            self.block.drain(..self.pos);
            self.scanned -= self.pos;
            self.pos = 0;
            let read = (&self.file)
                .take(BLOCK)
                .read_to_end(&mut self.block)
                .map_err(|e| RuntimeError::io(format!("cannot read '{}'", self.state.path), e))?;
            self.eof = read == 0;
        }
    }

    /// Appends up to `max_lines` non-empty lines to `chunk`; true at the end of the split.
    fn read_chunk(&mut self, chunk: &mut LineChunk, max_lines: usize) -> Result<bool> {
        while chunk.len() < max_lines {
            if self.state.end.is_some_and(|end| self.state.offset >= end) {
                return Ok(true);
            }
            let number = self.state.line + 1;
            let Some(line) = self.next_line()? else {
                return Ok(true);
            };
            let (len, mut text) = (line.len() as u64, line);
            while let [rest @ .., b'\n' | b'\r'] = text {
                text = rest;
            }
            if !text.iter().all(u8::is_ascii_whitespace) {
                chunk.push(number, text);
            }
            self.state.offset += len;
            self.state.line = number;
        }
        Ok(false)
    }
}

/// The number of `\n` in the first `upto` bytes of `file`, and whether the last of those
/// bytes is one.
fn count_lines(file: &mut File, upto: u64) -> std::io::Result<(u64, bool)> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; BLOCK as usize];
    let (mut lines, mut last, mut left) = (0u64, b'\n', upto);
    while left > 0 {
        let want = left.min(BLOCK) as usize;
        let read = file.read(&mut buf[..want])?;
        if read == 0 {
            break;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..read]).count() as u64;
        last = buf[read - 1];
        left -= read as u64;
    }
    Ok((lines, last == b'\n'))
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

    #[test]
    fn byte_ranges_cover_the_file_and_respect_the_minimum() {
        assert_eq!(
            byte_ranges(100, 4, 10),
            vec![(0, 25), (25, 50), (50, 75), (75, 100)]
        );
        assert_eq!(byte_ranges(100, 4, 30), vec![(0, 33), (33, 66), (66, 100)]);
        assert_eq!(byte_ranges(100, 4, 60), vec![(0, 100)]);
        assert_eq!(byte_ranges(0, 4, 1), vec![(0, 0)]);
        assert_eq!(byte_ranges(7, 1, 1), vec![(0, 7)]);
        let big = byte_ranges(u64::MAX, 3, 1);
        assert_eq!(big.first().map(|r| r.0), Some(0));
        assert_eq!(big.last().map(|r| r.1), Some(u64::MAX));
        assert!(big.windows(2).all(|w| w[0].1 == w[1].0));
    }

    /// The split of the bytes `[start, end)` of `file` (`end` `None`: to the end).
    fn range(file: &Path, start: u64, end: Option<u64>) -> SourceSplit {
        FileSplitState {
            path: file.to_string_lossy().into_owned(),
            offset: start,
            line: 0,
            start,
            end,
            partition: None,
        }
        .to_split()
        .unwrap()
    }

    /// The ids read from each split in turn, by a reader of its own.
    fn read_ranges(source: &dyn Source, splits: Vec<SourceSplit>, batch: usize) -> Vec<i64> {
        let mut out = Vec::new();
        for split in splits {
            let mut reader = source
                .create_reader(vec![split], &subtask(0, 1, batch))
                .unwrap();
            out.extend(ids(&read_all(reader.as_mut()).unwrap()));
        }
        out
    }

    #[test]
    fn byte_ranges_read_every_line_once_wherever_they_are_cut() {
        let dir = TestDir::new();
        // Lines of every length, a blank line, CRLF, a long line and no final newline.
        let text = "1,a\n22,bb\n\n333,ccc\r\n4,d\n55555,eeeeeeeeeeeeeeeeeeee\n6,f\n  \n7,g";
        let file = dir.write("f.csv", text);
        let source = source(&file, &[]);
        let size = text.len() as u64;
        let all = vec![1, 22, 333, 4, 55555, 6, 7];
        for a in 0..=size {
            for b in a..=size {
                let splits = vec![
                    range(&file, 0, Some(a)),
                    range(&file, a, Some(b)),
                    range(&file, b, None),
                ];
                for batch in [1, 2, 100] {
                    assert_eq!(
                        read_ranges(source.as_ref(), splits.clone(), batch),
                        all,
                        "cut at {a} and {b}, batches of {batch}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_range_reports_bad_lines_with_the_files_line_number() {
        let dir = TestDir::new();
        let file = dir.write("f.csv", "1,a\n\n2,b\n3,c\nx,d\n5,e\n");
        let source = source(&file, &[]);
        // The range starts inside line 3 ("2,b"), which the range before owns.
        let mut reader = source
            .create_reader(vec![range(&file, 7, None)], &subtask(0, 1, 100))
            .unwrap();
        match read_all(reader.as_mut()).unwrap_err() {
            RuntimeError::BadRecord {
                location, record, ..
            } => {
                assert_eq!(location, format!("{}:5", file.display()));
                assert_eq!(record, "x,d");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_large_file_is_enumerated_as_ranges_that_resume_from_snapshots() {
        let dir = TestDir::new();
        let text: String = (1..=40).map(|i| format!("{i},name{i}\n")).collect();
        let file = dir.write("big.csv", &text);
        dir.write("small.csv", "100,x\n");
        let source = source(dir.path(), &[("source.split.min-size", "64b")]);
        // Two files for six subtasks: up to three ranges each; big.csv (about 380 bytes)
        // gets three, small.csv is under the minimum. The last range reads to the end.
        let splits = source.enumerate_splits(6).unwrap();
        let names: Vec<&str> = splits.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        let third = text.len() / 3;
        assert!(
            names[0].ends_with(&format!("big.csv [0, {third})")),
            "{names:?}"
        );
        let last = format!("big.csv [{}, end)", text.len() * 2 / 3);
        assert!(names[2].ends_with(&last), "{names:?}");
        assert!(names[3].ends_with("small.csv"), "{names:?}");
        // As many files as subtasks: each file whole, as Flink reads them.
        assert_eq!(source.enumerate_splits(2).unwrap().len(), 2);
        let dealt = source.assign_splits(splits.clone(), 6);
        let mut read: Vec<i64> = dealt
            .into_iter()
            .flat_map(|s| read_ranges(source.as_ref(), s, 4))
            .collect();
        read.sort();
        let mut expected: Vec<i64> = (1..=40).collect();
        expected.push(100);
        assert_eq!(read, expected);
        let (whole, _) =
            check_resumes_after_every_batch(source.as_ref(), splits, &subtask(0, 1, 3));
        assert_eq!(whole.len(), 41);
        // One subtask, or a file under twice the minimum: one split per file.
        assert_eq!(source.enumerate_splits(1).unwrap().len(), 2);
        let unsplit = super::super::FileSystemTableFactory
            .create_source(&spec(
                &schema(),
                &[
                    ("connector", "filesystem"),
                    ("path", &file.to_string_lossy()),
                    ("format", "csv"),
                    ("source.split.min-size", "1kb"),
                ],
            ))
            .unwrap();
        assert_eq!(unsplit.enumerate_splits(4).unwrap().len(), 1);
    }

    #[test]
    fn lines_longer_than_a_block_are_read_whole() {
        let dir = TestDir::new();
        let long = "x".repeat(3 * BLOCK as usize + 17);
        let text = format!("1,a\n2,{long}\n3,c\n4,{long}");
        let file = dir.write("long.csv", &text);
        let source = source(&file, &[]);
        let size = text.len() as u64;
        // Whole, and cut inside the first long line and inside the last.
        for cuts in [vec![], vec![BLOCK], vec![BLOCK, size - 5]] {
            let mut bounds = vec![0];
            bounds.extend(&cuts);
            let splits: Vec<SourceSplit> = bounds
                .iter()
                .enumerate()
                .map(|(i, &start)| range(&file, start, bounds.get(i + 1).copied()))
                .collect();
            assert_eq!(
                read_ranges(source.as_ref(), splits, 2),
                vec![1, 2, 3, 4],
                "{cuts:?}"
            );
        }
    }

    #[test]
    fn a_changelog_file_is_never_cut() {
        let dir = TestDir::new();
        let text: String = (1..=40)
            .map(|i| {
                format!(r#"{{"before":null,"after":{{"id":{i},"name":"n"}},"op":"c"}}"#) + "\n"
            })
            .collect();
        let file = dir.write("cdc.json", &text);
        let source = FileSystemTableFactory
            .create_source(&spec(
                &schema(),
                &[
                    ("connector", "filesystem"),
                    ("path", &file.to_string_lossy()),
                    ("format", "debezium-json"),
                    ("source.split.min-size", "1b"),
                ],
            ))
            .unwrap();
        assert_eq!(source.enumerate_splits(4).unwrap().len(), 1);
    }
}
