//! A keep-first deduplication by event time whose output is insert-only (Flink 2.1+'s
//! `RowTimeDeduplicateKeepFirstRowFunction`, FLINK-37005): each key's first row by event
//! time goes out once the watermark reaches it, and never changes after. Until then a key
//! keeps its earliest row (the earlier arrival on a tie). A row behind the watermark when
//! it arrives is late: dropped and counted. Once a key's row is out, the key keeps only a
//! flag, and its later rows are ignored.
//!
//! Flink picks this operator for `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY rowtime ASC)
//! = 1` over an insert-only input without mini-batches; the planner does the same
//! (`RankSpec::first_row_on_watermark`). The flag follows `table.exec.state.ttl`; a waiting
//! row stays until the watermark reaches it, as in Flink.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};

use super::window::WindowClock;
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::RankSpec;
use crate::metrics::TaskMetrics;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{for_each_restored, keyed_snapshot};
use crate::state::{KeyedStateBackend, StateKey};
use crate::time::{cast_millis, Watermark};

/// A key's row waiting for the watermark: its time (8 bytes), then the row.
const WAITING: &str = "dedup-first-row-waiting";
/// A key whose row has gone out (an empty value).
const EMITTED: &str = "dedup-first-row-emitted";

/// See the module documentation.
pub struct RowtimeFirstRowOperator {
    spec: RankSpec,
    time: usize,
    rows: RowConverter,
    partition: RowConverter,
    output: SchemaRef,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    metrics: Arc<TaskMetrics>,
    /// The watermark, checkpointed so that rows late before a restore stay late.
    clock: WindowClock,
    /// Keys with a waiting row, by its time. Derived from state and rebuilt from it on
    /// restore; an entry whose key has since taken an earlier row is skipped when it fires.
    waiting: BTreeMap<i64, BTreeSet<(u32, Vec<u8>)>>,
}

impl RowtimeFirstRowOperator {
    /// Builds the operator from a Rank spec whose `first_row_on_watermark` is set.
    pub fn try_new(spec: &RankSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let time = spec.first_row_on_watermark.ok_or_else(|| {
            RuntimeError::Internal("a first-row deduplication without its time column".into())
        })?;
        let input = spec.input_schema.decode()?;
        let converter = |columns: &mut dyn Iterator<Item = usize>| -> Result<RowConverter> {
            let fields = columns
                .map(|i| {
                    input
                        .fields()
                        .get(i)
                        .map(|f| SortField::new(f.data_type().clone()))
                        .ok_or_else(|| {
                            RuntimeError::Internal(format!(
                                "a deduplication column {i} beyond the input"
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RowConverter::new(fields)?)
        };
        Ok(Self {
            rows: converter(&mut (0..input.fields().len()))?,
            partition: converter(&mut spec.partition_keys.iter().copied())?,
            output: spec.output_schema.decode()?,
            time,
            spec: spec.clone(),
            backend: ctx.keyed_state_backend_with_ttl_but(&[WAITING])?,
            max_parallelism: ctx.max_parallelism,
            metrics: ctx.info.metrics.clone(),
            clock: WindowClock::new(false),
            waiting: BTreeMap::new(),
        })
    }

    fn waiting_time(value: &[u8]) -> Result<i64> {
        let bytes: [u8; 8] = value
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                RuntimeError::Internal("a deduplication's waiting row is truncated".into())
            })?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// Sends the waiting rows the watermark `until` has reached, in time order.
    fn fire_until(&mut self, until: i64, out: &mut Collector) -> Result<()> {
        let mut due = Vec::new();
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() > until {
                break;
            }
            let (time, keys) = entry.remove_entry();
            for (key_group, key) in keys {
                let address = StateKey {
                    key_group,
                    namespace: Vec::new(),
                    key,
                };
                let Some(value) = self.backend.get(WAITING, &address)? else {
                    continue;
                };
                // The key took an earlier row since; that one fired or fires on its own.
                if Self::waiting_time(&value)? != time {
                    continue;
                }
                self.backend.remove(WAITING, &address)?;
                due.push(value[8..].to_vec());
                self.backend.put(EMITTED, address, Vec::new())?;
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let parser = self.rows.parser();
        let mut columns = self
            .rows
            .convert_rows(due.iter().map(|r| parser.parse(r)))?;
        // The rank number, when the query reads it: always 1.
        if self.output.fields().len() > columns.len() {
            columns.push(Arc::new(UInt64Array::from_value(1, due.len())));
        }
        let columns = columns
            .into_iter()
            .zip(self.output.fields())
            .map(|(c, f)| match c.data_type() == f.data_type() {
                true => Ok(c),
                false => Ok(datafusion::arrow::compute::cast(&c, f.data_type())?),
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        out.collect(RecordBatch::try_new(self.output.clone(), columns)?);
        Ok(())
    }
}

impl StreamOperator for RowtimeFirstRowOperator {
    fn name(&self) -> String {
        format!("Rank({})", self.spec.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let _ = out;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let times = cast_millis(batch.column(self.time))?;
        let partition_columns: Vec<ArrayRef> = self
            .spec
            .partition_keys
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        let groups = match partition_columns.is_empty() {
            true => vec![0; batch.num_rows()],
            false => key_groups(&partition_columns, self.max_parallelism)?,
        };
        let partitions = self.partition.convert_columns(&partition_columns)?;
        let rows = self.rows.convert_columns(batch.columns())?;
        let mut late = 0u64;
        for (row, &key_group) in groups.iter().enumerate() {
            // Flink drops a row whose time is below the watermark; one without a time
            // has no place either.
            if times.is_null(row) || times.value(row) < self.clock.watermark() {
                late += 1;
                continue;
            }
            let time = times.value(row);
            let address = StateKey {
                key_group,
                namespace: Vec::new(),
                key: match partition_columns.is_empty() {
                    true => Vec::new(),
                    false => partitions.row(row).data().to_vec(),
                },
            };
            if self.backend.get(EMITTED, &address)?.is_some() {
                continue;
            }
            if let Some(value) = self.backend.get(WAITING, &address)? {
                // The earliest row wins; of two at one time, the one that came first.
                if Self::waiting_time(&value)? <= time {
                    continue;
                }
            }
            let mut value = time.to_be_bytes().to_vec();
            value.extend_from_slice(rows.row(row).data());
            self.waiting
                .entry(time)
                .or_default()
                .insert((key_group, address.key.clone()));
            self.backend.put(WAITING, address, value)?;
        }
        if late > 0 {
            TaskMetrics::add(&self.metrics.num_late_records_dropped, late);
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        self.clock.on_watermark(watermark);
        self.fire_until(self.clock.watermark(), out)?;
        out.emit_watermark(watermark);
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        let mut snapshot = keyed_snapshot(self.backend.as_mut(), barrier)?;
        snapshot.operator = self.clock.snapshot();
        Ok(snapshot)
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        self.clock.restore(&restored.union)?;
        let own = self.backend.key_group_range();
        let mut entries = Vec::new();
        for_each_restored(&restored, own, &mut |state, key, value| {
            if state != WAITING && state != EMITTED {
                return Err(RuntimeError::User(format!(
                    "the state restored for the deduplication {} holds '{state}', which it does not keep",
                    self.spec.description
                )));
            }
            entries.push((state, key, value));
            Ok(())
        })?;
        // The index of waiting keys is derived from their rows, so it is rebuilt from them.
        for (state, key, value) in entries {
            if state == WAITING {
                self.waiting
                    .entry(Self::waiting_time(&value)?)
                    .or_default()
                    .insert((key.key_group, key.key.clone()));
            }
            self.backend.put(&state, key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
