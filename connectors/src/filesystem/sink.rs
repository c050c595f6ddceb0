//! Writing a filesystem table, after Flink's `FileSink`. Each subtask writes hidden
//! in-progress part files `.part-<job>-<attempt>-<subtask>-<uuid>-<n>.inprogress` and rolls
//! to a new one past `sink.rolling-policy.file-size` (or the rollover interval). Committing
//! a file renames it to `part-<job>-<attempt>-<subtask>-<uuid>-<n>`; readers skip hidden
//! names, so they only ever see complete files.
//!
//! Without checkpoints, `finish` flushes the files and commits them all at once. With
//! checkpoints it is a two-phase commit: `prepare_commit` flushes and syncs the files
//! written since the last one and returns a committable per file (its two names, as
//! JSON), and the next rows go to a new file; `commit` renames them once the checkpoint
//! completed, and counts a file already renamed as committed, so a commit repeated after
//! a failure succeeds. On restore, `recover` deletes the in-progress files that earlier
//! attempts of the job left and that no committable of the restored checkpoint names:
//! their rows will be written again. The job id and the attempt in the names are what
//! keep it from touching files of another job writing into the same directory, or of the
//! running attempt. `abort` deletes the files not yet prepared; prepared ones belong to a
//! checkpoint.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use serde::{Deserialize, Serialize};

use super::partition::Partitioning;
use super::partition_commit::{CommitPolicy, PartitionCommitter};
use super::partitioned_sink::PartitionedWriter;
use crate::format::{BatchEncoder, FormatFactory};

/// What ends the name of a part file not yet committed.
const IN_PROGRESS_SUFFIX: &str = ".inprogress";

/// A filesystem table written as a sink.
#[derive(Clone)]
pub struct FileSystemSink {
    table: String,
    dir: PathBuf,
    schema: SchemaRef,
    format: Arc<dyn FormatFactory>,
    options: BTreeMap<String, String>,
    file_size: u64,
    rollover_interval: Duration,
    /// With `PARTITIONED BY`: rows go to `k=v/` directories, without those columns.
    partitioning: Option<Partitioning>,
    /// How complete partitions are committed (`sink.partition-commit.*`), if at all.
    commit_policy: Option<CommitPolicy>,
}

impl FileSystemSink {
    /// A sink writing `format` part files into `dir`.
    pub fn new(
        table: String,
        dir: PathBuf,
        schema: SchemaRef,
        format: Arc<dyn FormatFactory>,
        options: BTreeMap<String, String>,
        file_size: u64,
        rollover_interval: Duration,
    ) -> Self {
        Self {
            table,
            dir,
            schema,
            format,
            options,
            file_size,
            rollover_interval,
            partitioning: None,
            commit_policy: None,
        }
    }

    /// The directory the table is written into.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The same sink writing a partitioned table.
    pub fn partitioned(
        mut self,
        partitioning: Option<Partitioning>,
        commit_policy: Option<CommitPolicy>,
    ) -> Self {
        self.partitioning = partitioning;
        self.commit_policy = commit_policy;
        self
    }

    /// A writer of part files into `dir` with `schema`'s columns.
    pub(super) fn writer_in(
        &self,
        dir: PathBuf,
        schema: SchemaRef,
        info: &SubtaskInfo,
    ) -> Result<FileSystemWriter> {
        std::fs::create_dir_all(&dir).map_err(|e| {
            RuntimeError::io(format!("cannot create directory '{}'", dir.display()), e)
        })?;
        let job = job_tag(&info.job_id);
        Ok(FileSystemWriter {
            dir,
            // The uuid tells apart two writers of one subtask, such as two INSERTs into
            // the same table in one job.
            prefix: format!(
                "part-{job}-{}-{}-{}",
                info.attempt,
                info.subtask_index,
                uuid::Uuid::new_v4()
            ),
            job,
            attempt: info.attempt,
            encoder: self.format.create_encoder(schema, &self.options)?,
            file_size: self.file_size,
            rollover_interval: self.rollover_interval,
            next_part: 0,
            current: None,
            closed: Vec::new(),
            buf: Vec::new(),
        })
    }
}

impl Sink for FileSystemSink {
    fn create_writer(&self, info: &SubtaskInfo) -> Result<Box<dyn SinkWriter>> {
        if self.dir.is_file() {
            return Err(RuntimeError::User(format!(
                "path '{}' of table '{}' is a file; the filesystem sink writes into a directory",
                self.dir.display(),
                self.table
            )));
        }
        if let Some(partitioning) = &self.partitioning {
            return Ok(Box::new(PartitionedWriter::new(
                self.clone(),
                partitioning.clone(),
                self.commit_policy.clone().map(PartitionCommitter::new),
                info,
            )?));
        }
        Ok(Box::new(self.writer_in(
            self.dir.clone(),
            self.schema.clone(),
            info,
        )?))
    }
}

/// The job id as it appears in part file names. `-` separates the fields of a name, so
/// anything but ASCII letters and digits becomes `_`, which keeps the job's field (and
/// so the attempt after it) unambiguous.
pub(super) fn job_tag(job_id: &str) -> String {
    job_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Whether `name` is an in-progress part file that an attempt of job `job` (a
/// [`job_tag`]) earlier than `attempt` wrote.
fn is_left_by_earlier_attempt(name: &OsStr, job: &str, attempt: u32) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some(rest) = name
        .strip_prefix(".part-")
        .and_then(|r| r.strip_prefix(job))
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(IN_PROGRESS_SUFFIX))
    else {
        return false;
    };
    rest.split('-')
        .next()
        .and_then(|a| a.parse::<u32>().ok())
        .is_some_and(|a| a < attempt)
}

/// One subtask's writer.
pub struct FileSystemWriter {
    dir: PathBuf,
    /// `part-<job>-<attempt>-<subtask>-<uuid>`.
    prefix: String,
    /// The job's [`job_tag`] and this run's attempt, to recognise earlier runs' files.
    job: String,
    attempt: u32,
    encoder: Box<dyn BatchEncoder>,
    file_size: u64,
    rollover_interval: Duration,
    next_part: u64,
    current: Option<InProgressFile>,
    /// Rolled part files, still in progress, not yet prepared for a commit.
    closed: Vec<PartFile>,
    buf: Vec<u8>,
}

/// Names of one part file; encoded as JSON, the committable of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PartFile {
    in_progress: PathBuf,
    committed: PathBuf,
}

impl PartFile {
    fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| {
            RuntimeError::Internal(format!(
                "cannot encode the committable of '{}': {e}",
                self.in_progress.display()
            ))
        })
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| {
            RuntimeError::Internal(format!(
                "bad committable of a filesystem sink: {e}; committable: '{}'",
                String::from_utf8_lossy(bytes)
            ))
        })
    }

    /// Renames the file to its committed name. A commit may be repeated after a failure,
    /// so a file found already renamed counts as committed.
    fn commit(&self) -> Result<()> {
        let context = || {
            format!(
                "cannot commit '{}' as '{}'",
                self.in_progress.display(),
                self.committed.display()
            )
        };
        let err = match std::fs::rename(&self.in_progress, &self.committed) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if err.kind() != std::io::ErrorKind::NotFound {
            return Err(RuntimeError::io(context(), err));
        }
        match self.committed.try_exists() {
            Ok(true) => Ok(()),
            Ok(false) => Err(RuntimeError::NotFound(format!(
                "{}: neither file exists any more, so the rows written to it are lost",
                context()
            ))),
            Err(e) => Err(RuntimeError::io(context(), e)),
        }
    }
}

struct InProgressFile {
    part: PartFile,
    writer: BufWriter<File>,
    bytes: u64,
    opened: Instant,
}

impl InProgressFile {
    /// Flushes and syncs the file to disk.
    fn close(mut self) -> Result<PartFile> {
        let context = || format!("cannot write '{}'", self.part.in_progress.display());
        self.writer
            .flush()
            .map_err(|e| RuntimeError::io(context(), e))?;
        self.writer
            .get_ref()
            .sync_all()
            .map_err(|e| RuntimeError::io(context(), e))?;
        Ok(self.part)
    }
}

impl FileSystemWriter {
    /// No file open and none awaiting a commit: nothing would be lost by dropping it.
    pub(super) fn is_idle(&self) -> bool {
        self.current.is_none() && self.closed.is_empty()
    }

    fn open_part(&mut self) -> Result<InProgressFile> {
        let name = format!("{}-{}", self.prefix, self.next_part);
        self.next_part += 1;
        let part = PartFile {
            in_progress: self.dir.join(format!(".{name}{IN_PROGRESS_SUFFIX}")),
            committed: self.dir.join(name),
        };
        let file = File::create(&part.in_progress).map_err(|e| {
            RuntimeError::io(format!("cannot create '{}'", part.in_progress.display()), e)
        })?;
        Ok(InProgressFile {
            part,
            writer: BufWriter::with_capacity(1 << 16, file),
            bytes: 0,
            opened: Instant::now(),
        })
    }

    fn roll(&mut self) -> Result<()> {
        if let Some(file) = self.current.take() {
            self.closed.push(file.close()?);
        }
        Ok(())
    }
}

impl SinkWriter for FileSystemWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.buf.clear();
        self.encoder.encode(batch, &mut self.buf)?;
        if self.current.is_none() {
            self.current = Some(self.open_part()?);
        }
        let Some(file) = self.current.as_mut() else {
            return Err(RuntimeError::Internal("no open part file".into()));
        };
        file.writer.write_all(&self.buf).map_err(|e| {
            RuntimeError::io(
                format!("cannot write '{}'", file.part.in_progress.display()),
                e,
            )
        })?;
        file.bytes += self.buf.len() as u64;
        if file.bytes >= self.file_size || file.opened.elapsed() >= self.rollover_interval {
            self.roll()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.roll()?;
        for part in self.closed.drain(..) {
            part.commit()?;
        }
        Ok(())
    }

    fn abort(&mut self) {
        let mut parts: Vec<PartFile> = self.closed.drain(..).collect();
        if let Some(file) = self.current.take() {
            parts.push(file.part);
        }
        for part in parts {
            if let Err(e) = std::fs::remove_file(&part.in_progress) {
                tracing::warn!(file = %part.in_progress.display(), error = %e,
                    "cannot delete in-progress part file");
            }
        }
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        self.roll()?;
        let committables = self
            .closed
            .iter()
            .map(PartFile::encode)
            .collect::<Result<Vec<_>>>()?;
        // From now on the checkpoint owns these files: `abort` must leave them for a
        // restore to commit.
        self.closed.clear();
        Ok(committables)
    }

    fn commit(&mut self, committables: Vec<Vec<u8>>) -> Result<()> {
        commit_all(&committables)
    }

    fn recover(&mut self, all_committables: &[Vec<u8>]) -> Result<()> {
        recover_in(&self.dir, &self.job, self.attempt, all_committables)
    }
}

/// Renames the part files `committables` name to their committed names.
pub(super) fn commit_all(committables: &[Vec<u8>]) -> Result<()> {
    for bytes in committables {
        PartFile::decode(bytes)?.commit()?;
    }
    Ok(())
}

/// Deletes the in-progress files under `dir` that earlier attempts of job `job` left and
/// that no committable of the restored checkpoint names: their rows will be written again.
pub(super) fn recover_in(
    dir: &Path,
    job: &str,
    attempt: u32,
    all_committables: &[Vec<u8>],
) -> Result<()> {
    // Matched by file name: the names are unique, while a relative sink path may
    // resolve elsewhere in the process that prepared them.
    let mut keep: HashSet<OsString> = HashSet::new();
    for bytes in all_committables {
        if let Some(name) = PartFile::decode(bytes)?.in_progress.file_name() {
            keep.insert(name.to_os_string());
        }
    }
    for path in left_by_earlier_attempts(dir, job, attempt)? {
        if path.file_name().is_some_and(|name| keep.contains(name)) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(file = %path.display(),
                    "deleted a part file a failed attempt left uncommitted"),
            // Every subtask of the new attempt recovers the same directory.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(RuntimeError::io(
                    format!(
                        "cannot delete '{}', left uncommitted by a failed attempt",
                        path.display()
                    ),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// The in-progress part files under `dir` (recursively) that attempts of job `job`
/// earlier than `attempt` wrote.
fn left_by_earlier_attempts(dir: &Path, job: &str, attempt: u32) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(current) = dirs.pop() {
        let context = || format!("cannot list directory '{}'", current.display());
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            // A subdirectory removed since it was listed holds nothing to recover.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && current != dir => continue,
            Err(e) => return Err(RuntimeError::io(context(), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| RuntimeError::io(context(), e))?;
            let path = entry.path();
            let file_type = entry
                .file_type()
                .map_err(|e| RuntimeError::io(format!("cannot read '{}'", path.display()), e))?;
            if file_type.is_dir() {
                dirs.push(path);
            } else if is_left_by_earlier_attempt(&entry.file_name(), job, attempt) {
                found.push(path);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::factory::TableFactory;
    use crate::filesystem::FileSystemTableFactory;
    use crate::testing::{read_all, spec, subtask, TestDir};

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn batch(ids: &[i64]) -> RecordBatch {
        let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    fn options<'a>(dir: &'a str, format: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("connector", "filesystem"),
            ("path", dir),
            ("format", format),
        ]
    }

    fn listing(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_become_visible_on_finish_and_read_back() {
        let dir = TestDir::new();
        let out = dir.path().join("out");
        let out_str = out.to_string_lossy().into_owned();
        for format in ["csv", "json"] {
            let out = out.join(format);
            let path = out.to_string_lossy().into_owned();
            let spec = spec(&schema(), &options(&path, format));
            let sink = FileSystemTableFactory.create_sink(&spec).unwrap();
            let mut writers: Vec<_> = (0..2)
                .map(|i| sink.create_writer(&subtask(i, 2, 10)).unwrap())
                .collect();
            writers[0].write(&batch(&[1, 2])).unwrap();
            writers[1].write(&batch(&[3])).unwrap();
            let names = listing(&out);
            assert_eq!(names.len(), 2);
            assert!(names
                .iter()
                .all(|n| n.starts_with(".part-") && n.ends_with(".inprogress")));
            for w in &mut writers {
                w.finish().unwrap();
            }
            let names = listing(&out);
            assert!(names.iter().all(|n| n.starts_with("part-")), "{names:?}");
            assert!(
                names
                    .iter()
                    .any(|n| n.starts_with("part-job-0-0-") && n.ends_with("-0"))
                    && names.iter().any(|n| n.starts_with("part-job-0-1-")),
                "{names:?}"
            );

            let source = FileSystemTableFactory.create_source(&spec).unwrap();
            let splits = source.enumerate_splits(1).unwrap();
            let mut reader = source.create_reader(splits, &subtask(0, 1, 10)).unwrap();
            let mut rows: Vec<i64> = read_all(reader.as_mut())
                .unwrap()
                .iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .to_vec()
                })
                .collect();
            rows.sort();
            assert_eq!(rows, vec![1, 2, 3]);
        }
        assert!(out_str.ends_with("out"));
    }

    #[test]
    fn rolls_and_aborts() {
        let dir = TestDir::new();
        let path = dir.path().to_string_lossy().into_owned();
        let mut opts = options(&path, "csv");
        opts.push(("sink.rolling-policy.file-size", "10b"));
        let sink = FileSystemTableFactory
            .create_sink(&spec(&schema(), &opts))
            .unwrap();
        let mut writer = sink.create_writer(&subtask(0, 1, 10)).unwrap();
        writer.write(&batch(&[1, 2])).unwrap();
        writer.write(&batch(&[3, 4])).unwrap();
        writer.write(&batch(&[5])).unwrap();
        assert_eq!(listing(dir.path()).len(), 3);
        writer.abort();
        assert!(listing(dir.path()).is_empty());

        let mut idle = sink.create_writer(&subtask(0, 1, 10)).unwrap();
        idle.finish().unwrap();
        assert!(
            listing(dir.path()).is_empty(),
            "a writer that wrote nothing leaves no file"
        );
    }

    /// Subtask `index` of run `attempt` of job `job`.
    fn run_of(job: &str, attempt: u32, index: u32) -> SubtaskInfo {
        let mut info = subtask(index, 2, 10);
        info.job_id = job.into();
        info.attempt = attempt;
        info
    }

    fn csv_sink(dir: &std::path::Path, extra: &[(&str, &str)]) -> Arc<dyn Sink> {
        let path = dir.to_string_lossy().into_owned();
        let mut opts = options(&path, "csv");
        opts.extend_from_slice(extra);
        FileSystemTableFactory
            .create_sink(&spec(&schema(), &opts))
            .unwrap()
    }

    /// The ids a reader of the directory sees, sorted.
    fn visible_ids(dir: &std::path::Path) -> Vec<i64> {
        let path = dir.to_string_lossy().into_owned();
        let source = FileSystemTableFactory
            .create_source(&spec(&schema(), &options(&path, "csv")))
            .unwrap();
        let splits = source.enumerate_splits(1).unwrap();
        let mut reader = source.create_reader(splits, &subtask(0, 1, 10)).unwrap();
        let mut ids: Vec<i64> = read_all(reader.as_mut())
            .unwrap()
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        ids.sort();
        ids
    }

    fn in_progress_name(committable: &[u8]) -> String {
        PartFile::decode(committable)
            .unwrap()
            .in_progress
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn prepared_files_stay_hidden_until_committed_and_commits_repeat() {
        let dir = TestDir::new();
        let sink = csv_sink(dir.path(), &[]);
        let mut writer = sink.create_writer(&run_of("job", 0, 1)).unwrap();
        assert!(
            writer.prepare_commit(1).unwrap().is_empty(),
            "nothing written"
        );
        writer.write(&batch(&[1, 2])).unwrap();
        let first = writer.prepare_commit(1).unwrap();
        assert_eq!(first.len(), 1);
        let name = in_progress_name(&first[0]);
        assert!(
            name.starts_with(".part-job-0-1-") && name.ends_with("-0.inprogress"),
            "{name}"
        );
        writer.write(&batch(&[3])).unwrap();
        let second = writer.prepare_commit(2).unwrap();
        assert_eq!(second.len(), 1, "the next rows went to a new file");
        assert_eq!(listing(dir.path()).len(), 2);
        assert!(
            visible_ids(dir.path()).is_empty(),
            "prepared is not visible"
        );

        writer.commit(first.clone()).unwrap();
        assert_eq!(visible_ids(dir.path()), vec![1, 2]);
        let committed = name.trim_start_matches('.').trim_end_matches(".inprogress");
        assert!(listing(dir.path()).contains(&committed.to_string()));
        writer.commit(first).unwrap();
        writer.commit(second).unwrap();
        assert_eq!(visible_ids(dir.path()), vec![1, 2, 3]);

        // A prepared file belongs to the checkpoint: abort leaves it, and deletes only
        // what was written since.
        writer.write(&batch(&[4])).unwrap();
        let third = writer.prepare_commit(3).unwrap();
        writer.write(&batch(&[5])).unwrap();
        writer.abort();
        let hidden: Vec<String> = listing(dir.path())
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert_eq!(hidden, vec![in_progress_name(&third[0])]);

        // Gone under both names: the rows are lost, which commit must not hide.
        std::fs::remove_file(dir.path().join(&hidden[0])).unwrap();
        let err = writer.commit(third).unwrap_err();
        assert!(
            matches!(err, RuntimeError::NotFound(ref m) if m.contains(&hidden[0])),
            "{err}"
        );
    }

    #[test]
    fn recover_deletes_only_what_earlier_attempts_left_uncommitted() {
        let dir = TestDir::new();
        let sink = csv_sink(dir.path(), &[]);
        // Attempt 0 prepared a file for the checkpoint restored from, one for a
        // checkpoint that never completed, and was writing a third when it failed.
        let mut failed = sink.create_writer(&run_of("job", 0, 0)).unwrap();
        failed.write(&batch(&[1])).unwrap();
        let in_checkpoint = failed.prepare_commit(1).unwrap();
        failed.write(&batch(&[2])).unwrap();
        let not_completed = failed.prepare_commit(2).unwrap();
        failed.write(&batch(&[3])).unwrap();
        drop(failed);
        dir.write("sub/.part-job-0-1-u-0.inprogress", "4,n4\n");
        // Another job writing into the same directory, whose id starts the same way.
        let mut other = sink.create_writer(&run_of("job-2", 0, 0)).unwrap();
        other.write(&batch(&[9])).unwrap();
        // A subtask of the new attempt that is already writing.
        let mut running = sink.create_writer(&run_of("job", 1, 1)).unwrap();
        running.write(&batch(&[7])).unwrap();
        assert_eq!(listing(dir.path()).len(), 6, "five files and 'sub'");

        let mut restored = sink.create_writer(&run_of("job", 1, 0)).unwrap();
        restored.recover(&in_checkpoint).unwrap();
        let mut left = listing(dir.path());
        left.retain(|n| n != "sub");
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(left.contains(&in_progress_name(&in_checkpoint[0])));
        assert!(!left.contains(&in_progress_name(&not_completed[0])));
        assert!(left.iter().any(|n| n.starts_with(".part-job_2-0-0-")));
        assert!(left.iter().any(|n| n.starts_with(".part-job-1-1-")));
        assert!(listing(&dir.path().join("sub")).is_empty());

        // Another subtask recovering the same directory finds nothing more to delete.
        sink.create_writer(&run_of("job", 1, 1))
            .unwrap()
            .recover(&in_checkpoint)
            .unwrap();
        restored.commit(in_checkpoint).unwrap();
        assert_eq!(visible_ids(dir.path()), vec![1]);
        other.finish().unwrap();
        assert_eq!(visible_ids(dir.path()), vec![1, 9]);
    }

    #[test]
    fn names_of_earlier_attempts() {
        let earlier = |name: &str| is_left_by_earlier_attempt(OsStr::new(name), "job", 2);
        assert!(earlier(".part-job-0-3-u-0.inprogress"));
        assert!(earlier(".part-job-1-0-u-7.inprogress"));
        assert!(
            !earlier(".part-job-2-0-u-0.inprogress"),
            "the running attempt"
        );
        assert!(!earlier("part-job-0-0-u-0"), "committed");
        assert!(!earlier(".part-jobx-0-0-u-0.inprogress"), "another job");
        assert!(!earlier(".part-job-x-0-u-0.inprogress"));
        assert!(!earlier(".data-job-0-0-u-0.inprogress"));
        assert_eq!(job_tag("a1-b/c"), "a1_b_c");
    }

    #[test]
    fn bounded_input_with_checkpoints_is_visible_after_the_final_commit() {
        let dir = TestDir::new();
        let sink = csv_sink(dir.path(), &[("sink.rolling-policy.file-size", "10b")]);
        let mut writer = sink.create_writer(&run_of("job", 0, 0)).unwrap();
        writer.write(&batch(&[1, 2])).unwrap();
        writer.write(&batch(&[3, 4])).unwrap();
        writer.write(&batch(&[5])).unwrap();
        let last = writer
            .prepare_commit(eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID)
            .unwrap();
        assert_eq!(last.len(), 3, "rolled files and the open one");
        assert!(visible_ids(dir.path()).is_empty());
        writer.commit(last).unwrap();
        assert_eq!(visible_ids(dir.path()), vec![1, 2, 3, 4, 5]);
        assert!(listing(dir.path()).iter().all(|n| n.starts_with("part-")));
    }

    #[test]
    fn path_that_is_a_file_is_an_error() {
        let dir = TestDir::new();
        let file = dir.write("f.csv", "");
        let path = file.to_string_lossy().into_owned();
        let sink = FileSystemTableFactory
            .create_sink(&spec(&schema(), &options(&path, "csv")))
            .unwrap();
        let err = sink.create_writer(&subtask(0, 1, 10)).err().unwrap();
        assert!(err.to_string().contains("is a file"), "{err}");
    }
}
