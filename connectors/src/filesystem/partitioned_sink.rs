//! Writing a partitioned filesystem table: one [`FileSystemWriter`] per partition
//! directory a subtask has seen, each rolling and committing its part files as an
//! unpartitioned table's writer does (Flink's `FileSink` buckets). A checkpoint's
//! committables are those of every partition's writer.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{SinkWriter, SubtaskInfo};
use eddy_runtime::Result;

use super::partition::Partitioning;
use super::partition_commit::PartitionCommitter;
use super::sink::{commit_all, recover_in, FileSystemSink, FileSystemWriter};

/// One subtask's writer of a partitioned table.
pub struct PartitionedWriter {
    sink: FileSystemSink,
    partitioning: Partitioning,
    /// What part files hold: the columns other than the partition ones.
    data_schema: SchemaRef,
    info: SubtaskInfo,
    /// By partition directory, relative to the table's.
    writers: BTreeMap<String, FileSystemWriter>,
    /// Commits complete partitions (`sink.partition-commit.policy.kind`), when set.
    committer: Option<PartitionCommitter>,
}

impl PartitionedWriter {
    pub(super) fn new(
        sink: FileSystemSink,
        partitioning: Partitioning,
        committer: Option<PartitionCommitter>,
        info: &SubtaskInfo,
    ) -> Result<Self> {
        Ok(Self {
            data_schema: partitioning.data_schema(),
            sink,
            partitioning,
            info: info.clone(),
            writers: BTreeMap::new(),
            committer,
        })
    }

    /// Splits committables into the part files' and the partition commit markers.
    fn files_and_markers(committables: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        committables
            .into_iter()
            .partition(|c| !PartitionCommitter::is_marker(c))
    }

    fn each(&mut self, mut f: impl FnMut(&mut FileSystemWriter) -> Result<()>) -> Result<()> {
        for writer in self.writers.values_mut() {
            f(writer)?;
        }
        Ok(())
    }
}

impl SinkWriter for PartitionedWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (values, rows) in self.partitioning.split(batch)? {
            let dir = self.partitioning.directory(&values);
            if !self.writers.contains_key(&dir) {
                let writer = self.sink.writer_in(
                    self.sink.dir().join(&dir),
                    self.data_schema.clone(),
                    &self.info,
                )?;
                self.writers.insert(dir.clone(), writer);
            }
            if let Some(writer) = self.writers.get_mut(&dir) {
                writer.write(&rows)?;
            }
            if let Some(committer) = &mut self.committer {
                committer.wrote(&dir, &values);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.each(|w| w.finish())?;
        match &mut self.committer {
            Some(committer) => committer.finish(self.sink.dir()),
            None => Ok(()),
        }
    }

    fn on_watermark(&mut self, watermark: i64) {
        if let Some(committer) = &mut self.committer {
            committer.on_watermark(watermark);
        }
    }

    fn abort(&mut self) {
        for writer in self.writers.values_mut() {
            writer.abort();
        }
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        let mut committables = Vec::new();
        self.each(|w| {
            committables.extend(w.prepare_commit(checkpoint_id)?);
            Ok(())
        })?;
        // Partitions written before this checkpoint and not since are done with (Flink
        // drops inactive buckets): a long job keeps writers for the partitions it writes.
        self.writers.retain(|_, w| !w.is_idle());
        if let Some(committer) = &mut self.committer {
            let end_of_input = checkpoint_id == eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID;
            committables.push(committer.marker(end_of_input)?);
        }
        Ok(committables)
    }

    fn commit(&mut self, committables: Vec<Vec<u8>>) -> Result<()> {
        let (files, markers) = Self::files_and_markers(committables);
        commit_all(&files)?;
        match &mut self.committer {
            Some(committer) if !markers.is_empty() => {
                committer.committed(self.sink.dir(), &markers)
            }
            _ => Ok(()),
        }
    }

    fn recover(&mut self, all_committables: &[Vec<u8>]) -> Result<()> {
        let job = super::sink::job_tag(&self.info.job_id);
        let (files, _) = Self::files_and_markers(all_committables.to_vec());
        recover_in(self.sink.dir(), &job, self.info.attempt, &files)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int32Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::factory::TableFactory;
    use crate::filesystem::FileSystemTableFactory;
    use crate::testing::{read_all, rows, spec, subtask, TestDir};

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("dt", DataType::Utf8, true),
        ]))
    }

    fn files(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![dir.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                match path.is_dir() {
                    true => dirs.push(path),
                    false => out.push(
                        path.strip_prefix(dir)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    ),
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn partitions_are_directories_committed_with_checkpoints_and_read_back() {
        let dir = TestDir::new();
        let path = dir.path().to_string_lossy().into_owned();
        let mut spec = spec(
            &schema(),
            &[
                ("connector", "filesystem"),
                ("path", &path),
                ("format", "csv"),
            ],
        );
        spec.partition_keys = vec!["dt".into()];
        let sink = FileSystemTableFactory.create_sink(&spec).unwrap();
        let mut writer = sink.create_writer(&subtask(0, 1, 10)).unwrap();
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("x"), None, Some("a/b")])),
            ],
        )
        .unwrap();
        writer.write(&batch).unwrap();
        // A checkpoint takes every partition's file; nothing is visible before commit.
        let committables = writer.prepare_commit(1).unwrap();
        assert_eq!(committables.len(), 3);
        assert!(files(dir.path()).iter().all(|f| f.contains("/.part-")));
        writer.commit(committables).unwrap();
        let written = files(dir.path());
        let dirs: Vec<&str> = written
            .iter()
            .map(|f| f.split_once("/part-").unwrap().0)
            .collect();
        assert_eq!(dirs, ["dt=__DEFAULT_PARTITION__", "dt=a%2Fb", "dt=x"]);
        let x = written.iter().find(|f| f.starts_with("dt=x/")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join(x)).unwrap(), "1\n");

        // Read back, the values come from the directories; a filter prunes.
        let read = |spec: &eddy_runtime::jobgraph::ConnectorSpec| -> Vec<String> {
            let source = FileSystemTableFactory.create_source(spec).unwrap();
            let splits = source.enumerate_splits(1).unwrap();
            let mut reader = source.create_reader(splits, &subtask(0, 1, 10)).unwrap();
            let mut got = rows(&read_all(reader.as_mut()).unwrap());
            got.sort();
            got
        };
        assert_eq!(read(&spec), ["1 | x", "2 | NULL", "3 | a/b"]);
        use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
        let predicate: Arc<dyn datafusion::physical_expr::PhysicalExpr> =
            Arc::new(BinaryExpr::new(
                Arc::new(Column::new("dt", 0)),
                datafusion::logical_expr::Operator::Eq,
                Arc::new(Literal::new(datafusion::common::ScalarValue::Utf8(Some(
                    "a/b".into(),
                )))),
            ));
        spec.partition_filter = Some(eddy_runtime::expr_codec::encode_expr(&predicate).unwrap());
        assert_eq!(read(&spec), ["3 | a/b"]);
    }
}
