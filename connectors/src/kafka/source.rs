//! Reading a Kafka table: a split is a topic partition (Flink's `KafkaPartitionSplit`)
//! with the offset to read next and, for a bounded source, the offset it ends before.
//! The enumerator runs on the JobManager when the job starts: it lists the partitions and
//! turns the startup and bounded modes into offsets, so every subtask starts from the
//! same picture. Partitions are dealt by Flink's owner rule, which readers also use for
//! partitions that appear later.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use eddy_runtime::connector::{Source, SourceReader, SourceSplit, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use serde::{Deserialize, Serialize};

use super::client::{self, owner};
use super::options::KafkaOptions;
use super::reader::KafkaReader;

/// Where a reader is in one partition: the state of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PartitionSplit {
    pub topic: String,
    pub partition: i32,
    /// The next offset to read; `None`: the earliest (a partition found after the start).
    pub offset: Option<i64>,
    /// Where a bounded read of the partition ends (exclusive).
    pub stop: Option<i64>,
}

impl PartitionSplit {
    pub fn id(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    pub fn to_split(&self) -> Result<SourceSplit> {
        Ok(SourceSplit {
            id: self.id(),
            state: serde_json::to_value(self).map_err(|e| {
                RuntimeError::Internal(format!("state of split {}: {e}", self.id()))
            })?,
        })
    }

    pub fn from_split(split: &SourceSplit) -> Result<Self> {
        serde_json::from_value(split.state.clone())
            .map_err(|e| RuntimeError::Internal(format!("bad state of split '{}': {e}", split.id)))
    }
}

/// A Kafka table read as a source.
pub struct KafkaSource {
    pub(crate) table: String,
    pub(crate) schema: SchemaRef,
    pub(crate) opts: KafkaOptions,
}

impl Source for KafkaSource {
    fn is_bounded(&self) -> bool {
        self.opts.is_bounded()
    }

    fn enumerate_splits(&self, _parallelism: u32) -> Result<Vec<SourceSplit>> {
        let consumer = client::consumer(&self.opts)?;
        let partitions = client::partitions(&self.opts, &consumer, self.opts.api_timeout)?;
        let starts = client::start_offsets(&self.opts, &consumer, &partitions)?;
        let stops = client::stop_offsets(&self.opts, &consumer, &partitions)?;
        partitions
            .into_iter()
            .map(|tp| {
                PartitionSplit {
                    offset: Some(starts.get(&tp).copied().unwrap_or(0)),
                    stop: stops.get(&tp).copied(),
                    topic: tp.0,
                    partition: tp.1,
                }
                .to_split()
            })
            .collect()
    }

    fn assign_splits(&self, splits: Vec<SourceSplit>, parallelism: u32) -> Vec<Vec<SourceSplit>> {
        let mut out = vec![Vec::new(); parallelism.max(1) as usize];
        for split in splits {
            let subtask = match PartitionSplit::from_split(&split) {
                Ok(p) => owner(&p.topic, p.partition, parallelism) as usize,
                Err(_) => 0,
            };
            out[subtask].push(split);
        }
        out
    }

    fn create_reader(
        &self,
        splits: Vec<SourceSplit>,
        info: &SubtaskInfo,
    ) -> Result<Box<dyn SourceReader>> {
        let splits = splits
            .iter()
            .map(PartitionSplit::from_split)
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(KafkaReader::new(
            &self.table,
            Arc::clone(&self.schema),
            &self.opts,
            splits,
            info,
        )?))
    }
}
