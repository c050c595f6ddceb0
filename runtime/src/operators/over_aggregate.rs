//! OVER aggregation (Flink's `RowTimeRangeBoundedPrecedingFunction`,
//! `RowTimeRowsBoundedPrecedingFunction` and their processing-time and unbounded kin):
//! every input row comes out once, with the aggregates over its frame, `ROWS BETWEEN n
//! PRECEDING AND CURRENT ROW` or `RANGE BETWEEN INTERVAL .. PRECEDING AND CURRENT ROW`
//! (or UNBOUNDED PRECEDING) of its partition, ordered by a time attribute.
//!
//! By event time a row waits in keyed state ("pending") until the watermark passes it;
//! then its partition's pending rows are aggregated in time order (rows of one time in
//! arrival order) with DataFusion's sliding accumulators, which take rows out of the front
//! of the frame, and move to the partition's history, trimmed to what a later frame can
//! still reach. A row at or behind the watermark when it arrives is late: dropped and
//! counted, as in Flink. By processing time rows are aggregated as they arrive. The output
//! is insert-only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;

use super::aggregation::{evaluate, Aggregation};
use super::window::WindowClock;
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::{OverAggregateSpec, OverFrame};
use crate::metrics::TaskMetrics;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{for_each_restored, keyed_snapshot};
use crate::state::timed_key::{seq_of, time_of, timed_key};
use crate::state::{KeyedStateBackend, StateKey};
use crate::time::{cast_millis, Watermark};

/// Rows not yet aggregated, and rows a later frame may still reach.
const PENDING: &str = "over-pending-rows";
const HISTORY: &str = "over-history-rows";

/// Flink's OVER aggregation.
pub struct OverAggregateOperator {
    spec: OverAggregateSpec,
    aggregation: Aggregation,
    rows: RowConverter,
    partition: RowConverter,
    input_schema: SchemaRef,
    output_schema: SchemaRef,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    metrics: Arc<TaskMetrics>,
    /// The watermark, checkpointed so that rows late before a restore stay late.
    clock: WindowClock,
    seq: u64,
    /// Partitions with pending rows, by the earliest pending time. Derived from state and
    /// rebuilt from it on restore.
    pending: BTreeMap<i64, BTreeSet<(u32, Vec<u8>)>>,
}

impl OverAggregateOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &OverAggregateSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let input_schema = spec.input_schema.decode()?;
        let aggregation = Aggregation::decode(&spec.aggregates, &input_schema, &ctx.functions)?;
        let converter = |columns: &mut dyn Iterator<Item = usize>| {
            RowConverter::new(
                columns
                    .map(|i| SortField::new(input_schema.field(i).data_type().clone()))
                    .collect(),
            )
        };
        Ok(Self {
            rows: converter(&mut (0..input_schema.fields().len()))?,
            partition: converter(&mut spec.partition_keys.iter().copied())?,
            output_schema: spec.output_schema.decode()?,
            input_schema,
            aggregation,
            spec: spec.clone(),
            backend: ctx.keyed_state_backend()?,
            max_parallelism: ctx.max_parallelism,
            metrics: ctx.info.metrics.clone(),
            clock: WindowClock::new(spec.proctime),
            seq: 0,
            pending: BTreeMap::new(),
        })
    }

    /// Aggregates the pending rows of `partition` up to `until`, in order, and emits them.
    fn fire(
        &mut self,
        key_group: u32,
        partition: &[u8],
        until: i64,
    ) -> Result<Option<RecordBatch>> {
        let mut pending = self
            .backend
            .get_namespace_in(PENDING, key_group, partition)?;
        pending.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        let later = pending
            .iter()
            .position(|(k, _)| time_of(&k.key).is_ok_and(|t| t > until))
            .unwrap_or(pending.len());
        let rest: Vec<_> = pending.split_off(later);
        if let Some((first, _)) = rest.first() {
            self.pending
                .entry(time_of(&first.key)?)
                .or_default()
                .insert((key_group, partition.to_vec()));
        }
        if pending.is_empty() {
            return Ok(None);
        }
        let mut history = self
            .backend
            .get_namespace_in(HISTORY, key_group, partition)?;
        history.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        // History, then the rows to aggregate: one batch in time order.
        let all: Vec<&(StateKey, Vec<u8>)> = history.iter().chain(pending.iter()).collect();
        let parser = self.rows.parser();
        let batch = RecordBatch::try_new(
            self.input_schema.clone(),
            self.rows
                .convert_rows(all.iter().map(|(_, v)| parser.parse(v)))?,
        )?;
        let times = all
            .iter()
            .map(|(k, _)| time_of(&k.key))
            .collect::<Result<Vec<i64>>>()?;
        let arguments = self
            .aggregation
            .aggregates
            .iter()
            .map(|a| evaluate(&a.expressions(), &batch))
            .collect::<Result<Vec<_>>>()?;
        let mut accumulators = self
            .aggregation
            .aggregates
            .iter()
            .map(|a| Ok(a.create_sliding_accumulator()?))
            .collect::<Result<Vec<_>>>()?;
        let slice = |args: &[ArrayRef], from: usize, to: usize| -> Vec<ArrayRef> {
            args.iter().map(|a| a.slice(from, to - from)).collect()
        };
        // The frame is rows front..end of `all`.
        let (mut front, mut end) = (0usize, history.len());
        for (acc, args) in accumulators.iter_mut().zip(&arguments) {
            if end > 0 {
                acc.update_batch(&slice(args, 0, end))?;
            }
        }
        let mut values: Vec<Vec<ScalarValue>> = vec![Vec::new(); accumulators.len()];
        let first_pending = history.len();
        let mut i = first_pending;
        while i < all.len() {
            // The rows this step emits: one row (ROWS), or every row of its time (RANGE).
            let step_end = match self.spec.frame {
                OverFrame::Rows { .. } => i + 1,
                OverFrame::Range { .. } => {
                    let t = times[i];
                    i + times[i..].iter().take_while(|&&x| x == t).count()
                }
            };
            for (acc, args) in accumulators.iter_mut().zip(&arguments) {
                acc.update_batch(&slice(args, end, step_end))?;
            }
            end = step_end;
            let new_front = match self.spec.frame {
                OverFrame::Rows { preceding: Some(n) } => end.saturating_sub(n as usize + 1),
                OverFrame::Range {
                    preceding_ms: Some(ms),
                } => {
                    let lowest = times[end - 1].saturating_sub(ms);
                    front
                        + times[front..end]
                            .iter()
                            .take_while(|&&t| t < lowest)
                            .count()
                }
                _ => front,
            };
            if new_front > front {
                for (acc, args) in accumulators.iter_mut().zip(&arguments) {
                    acc.retract_batch(&slice(args, front, new_front))?;
                }
                front = new_front;
            }
            for (acc, out) in accumulators.iter_mut().zip(values.iter_mut()) {
                let value = acc.evaluate()?;
                out.extend(std::iter::repeat_n(value, step_end - i));
            }
            i = step_end;
        }
        // The aggregated rows join the history, which keeps what a later frame can reach.
        for (key, value) in pending.iter() {
            self.backend.remove(PENDING, key)?;
            self.backend.put(HISTORY, key.clone(), value.clone())?;
        }
        let keep_from = match self.spec.frame {
            OverFrame::Rows { preceding: Some(n) } => all.len().saturating_sub(n as usize),
            OverFrame::Range {
                preceding_ms: Some(ms),
            } => {
                let lowest = times[all.len() - 1].saturating_sub(ms);
                times.iter().take_while(|&&t| t < lowest).count()
            }
            _ => 0,
        };
        for (key, _) in all.iter().take(keep_from) {
            self.backend.remove(HISTORY, key)?;
        }
        let emitted = batch.slice(first_pending, all.len() - first_pending);
        let mut columns = emitted.columns().to_vec();
        for (value, field) in values
            .into_iter()
            .zip(&self.output_schema.fields()[emitted.num_columns()..])
        {
            let array = ScalarValue::iter_to_array(value)?;
            columns.push(match array.data_type() == field.data_type() {
                true => array,
                false => cast(&array, field.data_type())?,
            });
        }
        Ok(Some(RecordBatch::try_new(
            self.output_schema.clone(),
            columns,
        )?))
    }

    /// Aggregates every partition with pending rows up to `until`.
    fn fire_until(&mut self, until: i64, out: &mut Collector) -> Result<()> {
        let mut due = BTreeSet::new();
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > until {
                break;
            }
            due.extend(entry.remove());
        }
        let mut emitted = Vec::new();
        for (key_group, partition) in due {
            if let Some(batch) = self.fire(key_group, &partition, until)? {
                emitted.push(batch);
            }
        }
        if !emitted.is_empty() {
            out.collect(concat_batches(&self.output_schema, &emitted)?);
        }
        Ok(())
    }
}

impl StreamOperator for OverAggregateOperator {
    fn name(&self) -> String {
        format!("OverAggregate({})", self.spec.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let times = cast_millis(batch.column(self.spec.time))?;
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
        let mut touched: HashMap<(u32, Vec<u8>), i64> = HashMap::new();
        for (row, &group) in groups.iter().enumerate() {
            // A row without a time has no place in any frame.
            if times.is_null(row) {
                late += 1;
                continue;
            }
            let time = times.value(row);
            if !self.spec.proctime && time <= self.clock.watermark() {
                late += 1;
                continue;
            }
            self.seq += 1;
            let partition = match partition_columns.is_empty() {
                true => Vec::new(),
                false => partitions.row(row).data().to_vec(),
            };
            let address = StateKey {
                key_group: group,
                namespace: partition.clone(),
                key: timed_key(time, self.seq),
            };
            self.backend
                .put(PENDING, address, rows.row(row).data().to_vec())?;
            let earliest = touched.entry((group, partition)).or_insert(time);
            *earliest = (*earliest).min(time);
        }
        if late > 0 {
            TaskMetrics::add(&self.metrics.num_late_records_dropped, late);
        }
        for ((group, partition), time) in touched {
            self.pending
                .entry(time)
                .or_default()
                .insert((group, partition));
        }
        // By processing time a row is aggregated on arrival.
        if self.spec.proctime {
            self.fire_until(i64::MAX, out)?;
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
            if state != PENDING && state != HISTORY {
                return Err(RuntimeError::User(format!(
                    "the state restored for the OVER aggregation {} holds '{state}', which it does not keep",
                    self.spec.description
                )));
            }
            entries.push((state, key, value));
            Ok(())
        })?;
        // The pending index is derived from the pending rows, so it is rebuilt from them.
        for (state, key, value) in entries {
            self.seq = self.seq.max(seq_of(&key.key));
            if state == PENDING {
                self.pending
                    .entry(time_of(&key.key)?)
                    .or_default()
                    .insert((key.key_group, key.namespace.clone()));
            }
            self.backend.put(&state, key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, TimeUnit};
    use std::sync::atomic::Ordering;

    use datafusion::arrow::array::TimestampMillisecondArray;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::functions_aggregate::sum::sum_udaf;

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{aggregate_plan, build, changes, feed, snapshot, watermark};

    fn input() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]))
    }

    /// `sum(v) OVER (PARTITION BY k ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)`.
    fn operator() -> OverAggregateOperator {
        let input = input();
        let mut fields: Vec<_> = input.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new("s", DataType::Int64, true)));
        let spec = OverAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&Arc::new(Schema::new(fields))).unwrap(),
            partition_keys: vec![0],
            time: 2,
            proctime: false,
            frame: OverFrame::Rows { preceding: Some(1) },
            aggregates: aggregate_plan(&input, &[], &[(sum_udaf(), "v", "s")]),
            description: "test".into(),
        };
        build(1, 0, &Configuration::new(), |ctx| {
            OverAggregateOperator::try_new(&spec, ctx)
        })
    }

    fn rows(rows: &[(i64, i64, i64)]) -> RecordBatch {
        RecordBatch::try_new(
            input(),
            vec![
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(TimestampMillisecondArray::from_iter_values(
                    rows.iter().map(|r| r.2),
                )),
            ],
        )
        .unwrap()
    }

    #[test]
    fn rows_wait_for_the_watermark_in_state_and_late_ones_are_dropped() {
        let mut op = operator();
        assert!(feed(
            &mut op,
            0,
            rows(&[(1, 10, 3000), (1, 1, 1000), (2, 5, 2000)])
        )
        .is_empty());
        assert_eq!(
            changes(&watermark(&mut op, 2000)),
            [
                "+I[1, 1, 1970-01-01T00:00:01, 1]",
                "+I[2, 5, 1970-01-01T00:00:02, 5]"
            ]
        );
        // Restored, the waiting row and the history of its frame are still there.
        let restored = snapshot(&mut op, 1);
        let mut op = operator();
        op.initialize_state(restored).unwrap();
        assert!(
            feed(&mut op, 0, rows(&[(1, 7, 1500)])).is_empty(),
            "late: the watermark is restored too"
        );
        assert_eq!(
            op.metrics.num_late_records_dropped.load(Ordering::Relaxed),
            1
        );
        assert_eq!(
            changes(&watermark(&mut op, 5000)),
            ["+I[1, 10, 1970-01-01T00:00:03, 11]"]
        );
    }
}
