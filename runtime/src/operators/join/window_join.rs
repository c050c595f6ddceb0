//! Window join (Flink's `WindowJoinOperator`): rows of both inputs are buffered per window
//! in the keyed state backend (chunks of rows under the window's end, `state/rows.rs`, so
//! RocksDB spills them and checkpoints carry them) and, when the window closes, joined on
//! the equi-keys (window bounds included) with a hash table over the right side, then
//! filtered by any extra condition. Inner, outer, semi and anti joins.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, UInt32Array,
};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch, take_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::{WindowJoinSpec, WindowJoinType};
use crate::metrics::TaskMetrics;
use crate::operators::join::key_index::KeyIndex;
use crate::operators::window::{is_fired, window_runs, WindowClock};
use crate::operators::{BufferBudget, Collector, OperatorContext, StreamOperator};
use crate::state::rows::{chunk_seq, RowsCodec};
use crate::state::snapshot::{restore_into, snapshot_backend};
use crate::state::KeyedStateBackend;
use crate::time::{millis, Watermark};

/// One side of the join.
struct Side {
    schema: SchemaRef,
    keys: Vec<usize>,
    window_end: usize,
    /// The side's buffered rows as keyed state.
    codec: RowsCodec,
}

/// Flink's `WindowJoinOperator`.
pub struct WindowJoinOperator {
    sides: [Side; 2],
    output_schema: SchemaRef,
    /// Left then right columns: what the extra condition is evaluated over.
    joined_schema: SchemaRef,
    filter: Option<Arc<dyn PhysicalExpr>>,
    join_type: WindowJoinType,
    description: String,
    /// Both sides' rows, by window end.
    backend: Box<dyn KeyedStateBackend>,
    /// Ends of the windows that hold rows, in firing order.
    windows: BTreeSet<i64>,
    /// Numbers the stored chunks.
    seq: u64,
    /// With the heap backend, the bytes of rows held against
    /// `table.exec.window.buffer-memory-limit`; RocksDB spills instead.
    budget: Option<BufferBudget>,
    clock: WindowClock,
    metrics: Arc<TaskMetrics>,
    /// How many key groups there are.
    max_parallelism: u32,
}

impl WindowJoinOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &WindowJoinSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let output_schema = spec.output_schema.decode()?;
        let (left, right) = (spec.left_schema.decode()?, spec.right_schema.decode()?);
        let (joined_schema, filter) = super::joined_rows(&left, &right, spec.filter.as_ref(), ctx)?;
        Ok(Self {
            joined_schema,
            join_type: spec.join_type,
            sides: [
                Side {
                    codec: RowsCodec::new(left.clone())?,
                    schema: left,
                    keys: spec.left_keys.clone(),
                    window_end: spec.left_window_end,
                },
                Side {
                    codec: RowsCodec::new(right.clone())?,
                    schema: right,
                    keys: spec.right_keys.clone(),
                    window_end: spec.right_window_end,
                },
            ],
            output_schema,
            filter,
            description: spec.description.clone(),
            windows: BTreeSet::new(),
            seq: 0,
            budget: ctx.heap_state().then(|| {
                BufferBudget::new(
                    ctx.buffer_memory_limit,
                    format!("the window join {}", spec.description),
                )
            }),
            backend: ctx.keyed_state_backend()?,
            clock: WindowClock::new(spec.proctime),
            metrics: ctx.info.metrics.clone(),
            max_parallelism: ctx.max_parallelism,
        })
    }

    fn fire(&mut self, time: i64, out: &mut Collector) -> Result<()> {
        while let Some(&end) = self.windows.first() {
            if !is_fired(end, time) {
                break;
            }
            self.windows.pop_first();
            let left = self.take_side(0, end)?;
            let right = self.take_side(1, end)?;
            if let Some(joined) = self.join(&left, &right)? {
                out.collect(joined);
            }
        }
        Ok(())
    }

    /// Removes one side's rows of the window ending at `end` from the backend.
    fn take_side(&mut self, side: usize, end: i64) -> Result<RecordBatch> {
        let mut chunks = self
            .backend
            .take_namespace(SIDE_STATES[side], &end.to_be_bytes())?;
        chunks.sort_by_key(|(key, _)| chunk_seq(key));
        if let Some(budget) = &mut self.budget {
            budget.release_bytes(chunks.iter().map(|(_, v)| v.len()).sum());
        }
        let values: Vec<Vec<u8>> = chunks.into_iter().map(|(_, v)| v).collect();
        self.sides[side].codec.decode(&values)
    }

    /// Stores rows of one side for the window ending at `end`.
    fn store(&mut self, side: usize, end: i64, rows: &RecordBatch) -> Result<()> {
        let keys: Vec<ArrayRef> = self.sides[side]
            .keys
            .iter()
            .map(|&i| rows.column(i).clone())
            .collect();
        let stored = self.sides[side].codec.put(
            self.backend.as_mut(),
            SIDE_STATES[side],
            &end.to_be_bytes(),
            rows,
            &keys,
            self.max_parallelism,
            &mut self.seq,
        )?;
        if let Some(budget) = &mut self.budget {
            budget.add_bytes(stored)?;
        }
        self.windows.insert(end);
        Ok(())
    }

    /// Joins one window's rows.
    fn join(&self, left: &RecordBatch, right: &RecordBatch) -> Result<Option<RecordBatch>> {
        let left_keys: Vec<ArrayRef> = self.sides[0]
            .keys
            .iter()
            .map(|&i| left.column(i).clone())
            .collect();
        let right_keys = self.sides[1]
            .keys
            .iter()
            .zip(&left_keys)
            .map(|(&i, l)| {
                let r = right.column(i);
                if r.data_type() == l.data_type() {
                    Ok(r.clone())
                } else {
                    Ok(cast(r, l.data_type())?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let converter = RowConverter::new(
            left_keys
                .iter()
                .map(|k| SortField::new(k.data_type().clone()))
                .collect(),
        )?;
        let index = KeyIndex::build(&right_keys, &converter)?;
        let (li, ri) = index.probe(&left_keys, &converter)?;
        let (li, ri) = (UInt32Array::from(li), UInt32Array::from(ri));
        let l = take_record_batch(left, &li)?;
        let r = take_record_batch(right, &ri)?;
        let (li, ri) = (li.values(), ri.values());
        let mut columns = l.columns().to_vec();
        columns.extend(r.columns().iter().cloned());
        let mut joined = RecordBatch::try_new(self.joined_schema.clone(), columns)
            .map_err(|e| RuntimeError::Internal(format!("window join pairs: {e}")))?;
        let mut passed: Option<BooleanArray> = None;
        if let Some(f) = &self.filter {
            let mask = f.evaluate(&joined)?.into_array(joined.num_rows())?;
            let mask = mask
                .as_boolean_opt()
                .ok_or_else(|| RuntimeError::Internal("join condition is not boolean".into()))?
                .clone();
            joined = filter_record_batch(&joined, &mask)?;
            passed = Some(mask);
        }
        let pass = |k: usize| passed.as_ref().is_none_or(|m| m.is_valid(k) && m.value(k));
        // Semi and anti joins keep one side's rows by whether any pair of theirs passed.
        let side_rows = |batch: &RecordBatch, pairs: &[u32], keep_matched: bool| {
            let mut matched = vec![false; batch.num_rows()];
            for (k, &i) in pairs.iter().enumerate() {
                if pass(k) {
                    matched[i as usize] = true;
                }
            }
            let mask: BooleanArray = matched
                .into_iter()
                .map(|m| Some(m == keep_matched))
                .collect();
            filter_record_batch(batch, &mask)
        };
        // Outer joins add each side's rows without a passing pair, the other side null.
        let unmatched = |batch: &RecordBatch, pairs: &[u32], is_left: bool| {
            let rows = side_rows(batch, pairs, false)?;
            let other = &self.sides[usize::from(is_left)].schema;
            let nulls = other
                .fields()
                .iter()
                .map(|f| new_null_array(f.data_type(), rows.num_rows()));
            let columns: Vec<ArrayRef> = if is_left {
                rows.columns().iter().cloned().chain(nulls).collect()
            } else {
                nulls.chain(rows.columns().iter().cloned()).collect()
            };
            Ok::<_, RuntimeError>(RecordBatch::try_new(self.joined_schema.clone(), columns)?)
        };
        let out = match self.join_type {
            WindowJoinType::Inner => joined,
            WindowJoinType::LeftOuter => {
                let extra = unmatched(left, li, true)?;
                concat_batches(&self.joined_schema, &[joined, extra])?
            }
            WindowJoinType::RightOuter => {
                let extra = unmatched(right, ri, false)?;
                concat_batches(&self.joined_schema, &[joined, extra])?
            }
            WindowJoinType::FullOuter => {
                let l_extra = unmatched(left, li, true)?;
                let r_extra = unmatched(right, ri, false)?;
                concat_batches(&self.joined_schema, &[joined, l_extra, r_extra])?
            }
            WindowJoinType::LeftSemi => side_rows(left, li, true)?,
            WindowJoinType::LeftAnti => side_rows(left, li, false)?,
            WindowJoinType::RightSemi => side_rows(right, ri, true)?,
            WindowJoinType::RightAnti => side_rows(right, ri, false)?,
        };
        if out.num_rows() == 0 {
            return Ok(None);
        }
        Ok(Some(RecordBatch::try_new(
            self.output_schema.clone(),
            out.columns().to_vec(),
        )?))
    }
}

impl StreamOperator for WindowJoinOperator {
    fn name(&self) -> String {
        format!("WindowJoin({})", self.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.process_batch_from(0, batch, out)
    }

    fn process_batch_from(
        &mut self,
        input: usize,
        batch: RecordBatch,
        _out: &mut Collector,
    ) -> Result<()> {
        let side = input.min(1);
        let ends = cast(
            batch.column(self.sides[side].window_end),
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )?;
        let ends = millis(&ends)?;
        let clock = &self.clock;
        let grouped = window_runs(
            batch.num_rows(),
            |row| ends.is_valid(row).then(|| ends.value(row)),
            |end| clock.is_late(end),
        );
        if grouped.late > 0 {
            TaskMetrics::add(&self.metrics.num_late_records_dropped, grouped.late);
        }
        if grouped.runs.is_empty() {
            return Ok(());
        }
        let batch = match &grouped.order {
            Some(order) => take_record_batch(&batch, order)?,
            None => batch,
        };
        for (end, rows) in grouped.runs {
            let part = match rows.len() == batch.num_rows() {
                true => batch.clone(),
                false => batch.slice(rows.start, rows.len()),
            };
            self.store(side, end, &part)?;
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        if let Some(time) = self.clock.on_watermark(watermark) {
            self.fire(time, out)?;
        }
        out.emit_watermark(watermark);
        Ok(())
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Collector) -> Result<()> {
        match self.clock.on_processing_time(now) {
            Some(time) => self.fire(time, out),
            None => Ok(()),
        }
    }

    fn finish(&mut self, out: &mut Collector) -> Result<()> {
        self.fire(i64::MAX, out)
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        let (keyed, native) = snapshot_backend(self.backend.as_mut(), barrier)?;
        Ok(OperatorSnapshot {
            keyed,
            operator: self.clock.snapshot(),
            native,
        })
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        self.clock.restore(&restored.union)?;
        let (windows, seq, budget) = (&mut self.windows, &mut self.seq, &mut self.budget);
        restore_into(
            &restored,
            self.backend.as_mut(),
            &SIDE_STATES,
            &format!("the window join {}", self.description),
            &mut |key, value| {
                let end: [u8; 8] = key.namespace.as_slice().try_into().map_err(|_| {
                    RuntimeError::Internal("a window join namespace is not 8 bytes".into())
                })?;
                windows.insert(i64::from_be_bytes(end));
                *seq = (*seq).max(chunk_seq(key));
                match budget.as_mut() {
                    Some(budget) => budget.add_bytes(value.len()),
                    None => Ok(()),
                }
            },
        )
    }
}

/// The names the two sides' rows are stored under.
const SIDE_STATES: [&str; 2] = ["join-left-rows", "join-right-rows"];
