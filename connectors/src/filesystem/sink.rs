//! Writing a filesystem table, after Flink's `FileSink`: each subtask writes hidden
//! in-progress part files `.part-<uuid>-<subtask>-<n>.inprogress`, rolls to a new one
//! past `sink.rolling-policy.file-size` (or the rollover interval), and on `finish`
//! flushes them and renames them to `part-<uuid>-<subtask>-<n>`, so readers only ever
//! see complete files. `abort` deletes them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};

use crate::format::{BatchEncoder, FormatFactory};

/// A filesystem table written as a sink.
pub struct FileSystemSink {
    table: String,
    dir: PathBuf,
    schema: SchemaRef,
    format: Arc<dyn FormatFactory>,
    options: BTreeMap<String, String>,
    file_size: u64,
    rollover_interval: Duration,
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
        }
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
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            RuntimeError::io(
                format!("cannot create directory '{}'", self.dir.display()),
                e,
            )
        })?;
        Ok(Box::new(FileSystemWriter {
            dir: self.dir.clone(),
            prefix: format!("part-{}-{}", uuid::Uuid::new_v4(), info.subtask_index),
            encoder: self
                .format
                .create_encoder(self.schema.clone(), &self.options)?,
            file_size: self.file_size,
            rollover_interval: self.rollover_interval,
            next_part: 0,
            current: None,
            closed: Vec::new(),
            buf: Vec::new(),
        }))
    }
}

/// One subtask's writer.
pub struct FileSystemWriter {
    dir: PathBuf,
    /// `part-<uuid>-<subtask>`.
    prefix: String,
    encoder: Box<dyn BatchEncoder>,
    file_size: u64,
    rollover_interval: Duration,
    next_part: u64,
    current: Option<InProgressFile>,
    /// Rolled part files, still in progress, waiting to be committed.
    closed: Vec<PartFile>,
    buf: Vec<u8>,
}

/// Names of one part file.
#[derive(Debug, Clone)]
struct PartFile {
    in_progress: PathBuf,
    committed: PathBuf,
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
    fn open_part(&mut self) -> Result<InProgressFile> {
        let name = format!("{}-{}", self.prefix, self.next_part);
        self.next_part += 1;
        let part = PartFile {
            in_progress: self.dir.join(format!(".{name}.inprogress")),
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
            std::fs::rename(&part.in_progress, &part.committed).map_err(|e| {
                RuntimeError::io(
                    format!(
                        "cannot commit '{}' as '{}'",
                        part.in_progress.display(),
                        part.committed.display()
                    ),
                    e,
                )
            })?;
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
                names.iter().any(|n| n.ends_with("-0-0"))
                    && names.iter().any(|n| n.ends_with("-1-0"))
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
