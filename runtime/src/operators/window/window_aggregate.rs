//! Window aggregation (Flink's `WindowAggOperator`): rows arrive with their window bounds
//! already assigned by the window TVF; they are grouped per window by key with
//! DataFusion's vectorized group table and `GroupsAccumulator`s, and each window is
//! emitted once, when the watermark (or, for processing-time windows, the clock) passes
//! its last instant. Rows for a window that already fired are late: dropped and counted.
//!
//! The in-memory group tables are a buffer in front of keyed state, as in Flink's
//! `WindowAggOperator` with its `WindowBuffer`: when the buffer holds more groups than
//! `table.exec.window-agg.buffer-size-limit` (and, with checkpoints, before a snapshot) the
//! groups move into the [`KeyedStateBackend`] as encoded accumulator states under (key
//! group, group key, window); a window merges them back in when it fires.
//!
//! HOP and CUMULATE windows arrive as slices ([`super::slices`]): the groups above are
//! then per slice, and a window merges its slices when it fires.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, TimestampMillisecondArray, UInt32Array,
};
use datafusion::arrow::compute::{cast, take, take_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::EmitTo;

use super::session::{Sessions, SESSION_ROWS};
use super::slices::{Bounds, SlicedWindows, Slot};
use super::{is_fired, last_window_end, window_runs, WindowClock};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::WindowAggregateSpec;
use crate::metrics::TaskMetrics;
use crate::operators::aggregation::{evaluate, take_rows, Aggregation, Groups};
use crate::operators::{BufferBudget, Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{for_each_restored, snapshot_backend};
use crate::state::{KeyedStateBackend, StateKey};
use crate::time::{millis, Watermark};

/// Flink's `WindowAggOperator` over DataFusion accumulators.
pub struct WindowAggregateOperator {
    aggregation: Aggregation,
    output_schema: SchemaRef,
    window_start: usize,
    window_end: usize,
    description: String,
    /// Open windows by (end, start): they fire in this order.
    windows: BTreeMap<(i64, i64), Groups>,
    clock: WindowClock,
    metrics: Arc<TaskMetrics>,
    group_indices: Vec<usize>,
    state: WindowState,
    /// For SESSION windows: rows wait in keyed state until their session closes.
    sessions: Option<Sessions>,
    /// For SESSION windows: the window-time column among the group keys.
    window_time: Option<usize>,
    /// For HOP and CUMULATE windows kept as slices: the slices whose rows are all in.
    sliced: Option<SlicedWindows>,
}

/// The keyed-state side of the operator.
struct WindowState {
    backend: Box<dyn KeyedStateBackend>,
    /// The name groups are stored under.
    name: &'static str,
    /// Windows (or slices) with groups in the backend.
    flushed: BTreeSet<Slot>,
    key_positions: Vec<usize>,
    max_parallelism: u32,
    buffer_limit: usize,
    buffered_groups: usize,
}

/// The name the operator's accumulators are stored under, per window.
const ACCUMULATORS: &str = "window-accumulators";
/// The name they are stored under per slice: slices and windows do not mix.
const SLICE_ACCUMULATORS: &str = "window-slice-accumulators";

/// A namespace back as a window or slot.
fn slot_of(ns: &[u8]) -> Result<Slot> {
    let word = |i: usize| -> Option<i64> {
        Some(i64::from_be_bytes(
            ns.get(i * 8..i * 8 + 8)?.try_into().ok()?,
        ))
    };
    match (ns.len(), word(0), word(1)) {
        (16, Some(end), Some(start)) => Ok((end, start, i64::MIN)),
        (24, Some(end), Some(start)) => Ok((end, start, word(2).unwrap_or(i64::MIN))),
        _ => Err(RuntimeError::Internal(
            "a window namespace is neither 16 nor 24 bytes".into(),
        )),
    }
}

/// A window or slot as a state namespace: end, start (and for a slot with windows emitted
/// without it, the time through which they were), big-endian.
fn namespace((end, start, emitted): Slot) -> Vec<u8> {
    let mut ns = end.to_be_bytes().to_vec();
    ns.extend_from_slice(&start.to_be_bytes());
    if emitted != i64::MIN {
        ns.extend_from_slice(&emitted.to_be_bytes());
    }
    ns
}

impl WindowAggregateOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &WindowAggregateSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let input_schema = spec.input_schema.decode()?;
        let aggregation = Aggregation::decode(&spec.aggregate, &input_schema, &ctx.functions)?;
        let sliced = spec.slices_of.map(SlicedWindows::new);
        let state = WindowState {
            backend: ctx.keyed_state_backend()?,
            name: match sliced {
                Some(_) => SLICE_ACCUMULATORS,
                None => ACCUMULATORS,
            },
            flushed: BTreeSet::new(),
            key_positions: spec.key_positions.clone(),
            max_parallelism: ctx.max_parallelism,
            buffer_limit: ctx.window_buffer_limit,
            buffered_groups: 0,
        };
        let sessions = spec
            .session_gap
            .map(|_| {
                let budget = ctx.heap_state().then(|| {
                    BufferBudget::new(
                        ctx.buffer_memory_limit,
                        "a SESSION window aggregation".into(),
                    )
                });
                Sessions::new(input_schema.clone(), budget, ctx.max_parallelism)
            })
            .transpose()?;
        Ok(Self {
            state,
            sessions,
            sliced,
            window_time: spec.window_time,
            aggregation,
            output_schema: spec.output_schema.decode()?,
            window_start: spec.window_start,
            window_end: spec.window_end,
            description: spec.description.clone(),
            windows: BTreeMap::new(),
            clock: WindowClock::new(spec.proctime),
            metrics: ctx.info.metrics.clone(),
            group_indices: Vec::new(),
        })
    }

    /// The slot an open window (or slice) is kept under in keyed state.
    fn open_slot(&self, (end, start): (i64, i64)) -> Slot {
        match &self.sliced {
            Some(sliced) => sliced.slot((end, start)),
            None => (end, start, i64::MIN),
        }
    }

    /// Moves every buffered group into keyed state: encoded group key under its key group
    /// and window (or slot), the value its accumulators' intermediate states.
    pub fn flush_to_state(&mut self) -> Result<()> {
        let mut slots: BTreeMap<Slot, Groups> = BTreeMap::new();
        for (window, groups) in std::mem::take(&mut self.windows) {
            slots.insert(self.open_slot(window), groups);
        }
        if let Some(sliced) = &mut self.sliced {
            sliced.drain_into(&mut slots, &self.aggregation, &mut self.group_indices)?;
        }
        for (slot, mut groups) in slots {
            // A put replaces: what the slot already holds in state is merged in first.
            self.load(slot, &mut groups)?;
            let state = &mut self.state;
            let keys = groups.groups.emit(EmitTo::All)?;
            let rows = keys.first().map_or(0, |k| k.len());
            let hashed: Vec<ArrayRef> = state
                .key_positions
                .iter()
                .map(|&i| keys[i].clone())
                .collect();
            let key_groups = match hashed.is_empty() {
                true => vec![0; rows],
                false => key_groups(&hashed, state.max_parallelism)?,
            };
            let key_rows = self.aggregation.keys.convert_columns(&keys)?;
            let values = self
                .aggregation
                .encode_states(&mut groups.accumulators, rows)?;
            let ns = namespace(slot);
            for (r, value) in values.into_iter().enumerate() {
                state.backend.put(
                    state.name,
                    StateKey {
                        key_group: key_groups[r],
                        namespace: ns.clone(),
                        key: key_rows.row(r).data().to_vec(),
                    },
                    value,
                )?;
            }
            state.flushed.insert(slot);
        }
        self.state.buffered_groups = 0;
        Ok(())
    }

    /// Merges the groups keyed state holds under `slot`, if any, into `groups`.
    fn load(&mut self, slot: Slot, groups: &mut Groups) -> Result<()> {
        if !self.state.flushed.remove(&slot) {
            return Ok(());
        }
        let entries = self
            .state
            .backend
            .take_namespace(self.state.name, &namespace(slot))?;
        if entries.is_empty() {
            return Ok(());
        }
        let parser = self.aggregation.keys.parser();
        let keys = self
            .aggregation
            .keys
            .convert_rows(entries.iter().map(|(k, _)| parser.parse(&k.key)))?;
        groups.groups.intern(&keys, &mut self.group_indices)?;
        let total = groups.groups.len();
        let values: Vec<&[u8]> = entries.iter().map(|(_, v)| v.as_slice()).collect();
        self.aggregation.merge_states(
            &mut groups.accumulators,
            &values,
            &self.group_indices,
            total,
        )
    }

    /// Emits, in window-end order, every window whose last instant is at or below `time`.
    fn fire(&mut self, time: i64, out: &mut Collector) -> Result<()> {
        if self.sessions.is_some() {
            return self.fire_sessions(time, out);
        }
        let due: Vec<Slot> = self
            .state
            .flushed
            .iter()
            .copied()
            .filter(|w| is_fired(w.0, time))
            .collect();
        let mut closing = Vec::new();
        for slot in due {
            let window = (slot.0, slot.1);
            // A window's groups merge into its open buffer; a slice's stay apart from its
            // open rows, which came after other windows fired.
            let open = match self.sliced {
                Some(_) => None,
                None => self.windows.remove(&window),
            };
            let mut groups = match open {
                Some(groups) => groups,
                None => self.aggregation.new_groups()?,
            };
            self.load(slot, &mut groups)?;
            match self.sliced {
                Some(_) => closing.push((slot, groups)),
                None => {
                    self.windows.insert(window, groups);
                }
            }
        }
        let Some(sliced) = &mut self.sliced else {
            while let Some(entry) = self.windows.first_entry() {
                if !is_fired(entry.key().0, time) {
                    break;
                }
                emit_window(&self.output_schema, entry.remove(), out)?;
            }
            return Ok(());
        };
        for (slot, groups) in closing {
            // Back in memory until their last window fires: they count against the limit.
            self.state.buffered_groups += groups.groups.len();
            sliced.close(slot, groups)?;
        }
        while let Some(entry) = self.windows.first_entry() {
            if !is_fired(entry.key().0, time) {
                break;
            }
            let (slice, groups) = entry.remove_entry();
            sliced.close(sliced.slot(slice), groups)?;
        }
        let bounds = Bounds {
            start: self.window_start,
            end: self.window_end,
            time: self.window_time,
        };
        let schema = &self.output_schema;
        sliced.fire(
            time,
            &self.aggregation,
            bounds,
            &mut self.group_indices,
            |window| emit_window(schema, window, out),
        )
    }
}

impl WindowAggregateOperator {
    /// Closes the sessions whose end is at or below `time` and aggregates their rows at once.
    fn fire_sessions(&mut self, time: i64, out: &mut Collector) -> Result<()> {
        let Some(sessions) = &mut self.sessions else {
            return Ok(());
        };
        let Some(fired) = sessions.take_fired(self.state.backend.as_mut(), time)? else {
            return Ok(());
        };
        if fired.dropped > 0 {
            TaskMetrics::add(&self.metrics.num_late_records_dropped, fired.dropped);
        }
        if fired.rows.num_rows() == 0 {
            return Ok(());
        }
        let batch = fired.rows;
        let agg = &self.aggregation;
        let mut keys = evaluate(&agg.group_exprs, &batch)?;
        let to_type = |values: Vec<i64>, like: &ArrayRef| -> Result<ArrayRef> {
            let a: ArrayRef = Arc::new(TimestampMillisecondArray::from(values));
            Ok(cast(&a, like.data_type())?)
        };
        let times: Vec<i64> = fired.ends.iter().map(|e| e - 1).collect();
        keys[self.window_start] = to_type(fired.starts, &keys[self.window_start])?;
        keys[self.window_end] = to_type(fired.ends, &keys[self.window_end])?;
        if let Some(t) = self.window_time {
            keys[t] = to_type(times, &keys[t])?;
        }
        let mut window = agg.new_groups()?;
        window.groups.intern(&keys, &mut self.group_indices)?;
        let total = window.groups.len();
        agg.update(&mut window.accumulators, &batch, &self.group_indices, total)?;
        emit_window(&self.output_schema, window, out)
    }
}

/// Emits a window's groups with their aggregates.
fn emit_window(schema: &SchemaRef, mut window: Groups, out: &mut Collector) -> Result<()> {
    let mut columns = window.groups.emit(EmitTo::All)?;
    for acc in &mut window.accumulators {
        columns.push(acc.evaluate(EmitTo::All)?);
    }
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c)
            } else {
                Ok(cast(&c, f.data_type())?)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    out.collect(RecordBatch::try_new(schema.clone(), columns)?);
    Ok(())
}

impl StreamOperator for WindowAggregateOperator {
    fn name(&self) -> String {
        match &self.sliced {
            Some(sliced) => format!(
                "WindowAggregate({}, slicesOf=[{}])",
                self.description, sliced.kind
            ),
            None => format!("WindowAggregate({})", self.description),
        }
    }

    fn process_batch(&mut self, batch: RecordBatch, _out: &mut Collector) -> Result<()> {
        let n = batch.num_rows();
        let agg = &self.aggregation;
        let keys = evaluate(&agg.group_exprs, &batch)?;
        let ms = DataType::Timestamp(TimeUnit::Millisecond, None);
        let starts = cast(&keys[self.window_start], &ms)?;
        let ends = cast(&keys[self.window_end], &ms)?;
        let (starts, ends) = (millis(&starts)?, millis(&ends)?);
        if let Some(sessions) = &mut self.sessions {
            // Lateness of a session row is decided when sessions close: a row whose own
            // window has fired still counts if it merges into a session that has not.
            let valid: Vec<u32> = (0..n)
                .filter(|&row| starts.is_valid(row) && ends.is_valid(row))
                .map(|row| row as u32)
                .collect();
            let (rows, keys, starts, ends) = if valid.len() == n {
                (batch, keys, starts.clone(), ends.clone())
            } else {
                let indices = UInt32Array::from(valid);
                let keys = take_rows(&keys, Some(&indices))?;
                let starts = take(&starts, &indices, None)?;
                let ends = take(&ends, &indices, None)?;
                (
                    take_record_batch(&batch, &indices)?,
                    keys,
                    millis(&starts)?.clone(),
                    millis(&ends)?.clone(),
                )
            };
            let late: Vec<bool> = ends
                .values()
                .iter()
                .map(|&e| self.clock.is_late(e))
                .collect();
            let partition: Vec<ArrayRef> = self
                .state
                .key_positions
                .iter()
                .map(|&i| keys[i].clone())
                .collect();
            sessions.add(
                self.state.backend.as_mut(),
                &rows,
                starts.values(),
                ends.values(),
                &partition,
                &late,
            )?;
            return Ok(());
        }
        let args = agg
            .aggregates
            .iter()
            .map(|a| evaluate(&a.expressions(), &batch))
            .collect::<Result<Vec<_>>>()?;
        let filters = agg
            .filters
            .iter()
            .map(|f| match f {
                Some(f) => {
                    let v = f.evaluate(&batch)?.into_array(n)?;
                    Ok(Some(v))
                }
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;

        let (clock, sliced) = (&self.clock, &self.sliced);
        let grouped = window_runs(
            n,
            |row| {
                (starts.is_valid(row) && ends.is_valid(row))
                    .then(|| (ends.value(row), starts.value(row)))
            },
            // A slice is late once the last window holding it has fired.
            |(end, start)| match sliced {
                Some(sliced) => clock.is_late(last_window_end(&sliced.kind, start)),
                None => clock.is_late(end),
            },
        );
        if grouped.late > 0 {
            TaskMetrics::add(&self.metrics.num_late_records_dropped, grouped.late);
        }
        if grouped.runs.is_empty() {
            return Ok(());
        }
        // One take of every column puts each window's rows side by side.
        let order = grouped.order.as_ref();
        let keys = take_rows(&keys, order)?;
        let args = args
            .iter()
            .map(|values| take_rows(values, order))
            .collect::<Result<Vec<_>>>()?;
        let filters = filters
            .iter()
            .map(|f| match f {
                Some(f) => Ok(Some(take_rows(std::slice::from_ref(f), order)?.remove(0))),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let part = |columns: &[ArrayRef], rows: &std::ops::Range<usize>| -> Vec<ArrayRef> {
            match rows.len() == columns.first().map_or(0, |c| c.len()) {
                true => columns.to_vec(),
                false => columns
                    .iter()
                    .map(|c| c.slice(rows.start, rows.len()))
                    .collect(),
            }
        };
        for (window, rows) in grouped.runs {
            let keys = part(&keys, &rows);
            let state = match self.windows.entry(window) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(self.aggregation.new_groups()?)
                }
            };
            let before = state.groups.len();
            state.groups.intern(&keys, &mut self.group_indices)?;
            let total = state.groups.len();
            self.state.buffered_groups += total - before;
            for ((acc, values), filter) in state.accumulators.iter_mut().zip(&args).zip(&filters) {
                let values = part(values, &rows);
                let filter = filter.as_ref().map(|f| f.slice(rows.start, rows.len()));
                let filter = filter
                    .as_ref()
                    .and_then(|f| f.as_any().downcast_ref::<BooleanArray>());
                acc.update_batch(&values, &self.group_indices, filter, total)?;
            }
        }
        if self.state.buffered_groups > self.state.buffer_limit {
            self.flush_to_state()?;
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
        // Input ended: a bounded job's last windows close, also processing-time ones.
        self.fire(i64::MAX, out)
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        // The in-memory groups go into the backend, which is then copied as a whole, or
        // natively for an incremental checkpoint.
        self.flush_to_state()?;
        let (keyed, native) = snapshot_backend(self.state.backend.as_mut(), barrier)?;
        Ok(OperatorSnapshot {
            keyed,
            operator: self.clock.snapshot(),
            native,
        })
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.state.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        self.clock.restore(&restored.union)?;
        if let Some(sliced) = &mut self.sliced {
            sliced.fired_through = self.clock.watermark();
        }
        let own = self.state.backend.key_group_range();
        let name = self.name();
        let state = &mut self.state;
        let sessions = &mut self.sessions;
        for_each_restored(&restored, own, &mut |kind, key, value| {
            match (kind.as_str(), sessions.as_mut()) {
                (own, _) if own == state.name => {
                    state.flushed.insert(slot_of(&key.namespace)?);
                    state.backend.put(state.name, key, value)
                }
                (ACCUMULATORS | SLICE_ACCUMULATORS, _) => Err(RuntimeError::User(format!(
                    "the state restored for {name} holds its windows as {}, but this job keeps them as {}: a savepoint taken before Eddy kept HOP and CUMULATE windows as slices cannot be restored into it",
                    if kind == ACCUMULATORS { "whole windows" } else { "slices" },
                    if state.name == ACCUMULATORS { "whole windows" } else { "slices" },
                ))),
                (SESSION_ROWS, Some(sessions)) => {
                    sessions.restore(state.backend.as_mut(), key, value)
                }
                (SESSION_ROWS, None) => Err(RuntimeError::User(format!(
                    "the state restored for {name} holds SESSION rows, but its window is not a SESSION window"
                ))),
                (other, _) => Err(RuntimeError::User(format!(
                    "the state restored for {name} holds '{other}', which it does not keep; the savepoint belongs to another operator"
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::functions_aggregate::count::count_udaf;
    use datafusion::functions_aggregate::sum::sum_udaf;

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::{SerializedSchema, WindowKind};
    use crate::operators::testing::{aggregate_plan, build, changes, feed, snapshot, watermark};

    fn schema() -> SchemaRef {
        let ts = DataType::Timestamp(TimeUnit::Millisecond, None);
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
            Field::new("window_start", ts.clone(), true),
            Field::new("window_end", ts, true),
        ]))
    }

    fn operator() -> WindowAggregateOperator {
        operator_over(None)
    }

    fn operator_over(slices_of: Option<WindowKind>) -> WindowAggregateOperator {
        let input = schema();
        let output = Arc::new(Schema::new(vec![
            input.field(2).clone(),
            input.field(3).clone(),
            input.field(0).clone(),
            Field::new("c", DataType::Int64, true),
            Field::new("s", DataType::Int64, true),
        ]));
        let spec = WindowAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&output).unwrap(),
            aggregate: aggregate_plan(
                &input,
                &["window_start", "window_end", "k"],
                &[(count_udaf(), "v", "c"), (sum_udaf(), "v", "s")],
            ),
            window_start: 0,
            window_end: 1,
            key_positions: vec![2],
            session_gap: None,
            window_time: None,
            proctime: false,
            description: "test".into(),
            slices_of,
        };
        build(1, 0, &Configuration::new(), |ctx| {
            WindowAggregateOperator::try_new(&spec, ctx)
        })
    }

    /// Rows `(k, v, start)` of 10 ms tumbling windows.
    fn rows(rows: &[(i64, i64, i64)]) -> RecordBatch {
        rows_of(10, rows)
    }

    /// Rows `(k, v, start)` of windows (or slices) `width` ms wide.
    fn rows_of(width: i64, rows: &[(i64, i64, i64)]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(TimestampMillisecondArray::from_iter_values(
                    rows.iter().map(|r| r.2),
                )),
                Arc::new(TimestampMillisecondArray::from_iter_values(
                    rows.iter().map(|r| r.2 + width),
                )),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_window_fires_once_when_the_watermark_passes_its_end_and_late_rows_are_dropped() {
        let mut op = operator();
        assert!(feed(
            &mut op,
            0,
            rows(&[(1, 1, 0), (1, 2, 0), (2, 5, 0), (1, 7, 10)])
        )
        .is_empty());
        // Window [0, 10) ends at 9: a watermark of 8 fires nothing, 9 fires it.
        assert!(watermark(&mut op, 8).is_empty());
        let mut fired = changes(&watermark(&mut op, 9));
        fired.sort();
        assert_eq!(
            fired,
            [
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.010, 1, 2, 3]",
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.010, 2, 1, 5]"
            ]
        );
        // A row for the fired window is late; [10, 20) still takes rows.
        assert!(feed(&mut op, 0, rows(&[(1, 100, 0), (1, 3, 10)])).is_empty());
        assert_eq!(
            op.metrics
                .num_late_records_dropped
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        // Its groups survive a snapshot and restore.
        let restored = snapshot(&mut op, 1);
        let mut op = operator();
        op.initialize_state(restored).unwrap();
        assert_eq!(
            changes(&watermark(&mut op, 19)),
            ["+I[1970-01-01T00:00:00.010, 1970-01-01T00:00:00.020, 1, 2, 10]"]
        );
    }

    #[test]
    fn hop_windows_merge_their_slices_and_a_late_row_counts_in_the_windows_still_open() {
        let hop = WindowKind::Hop {
            slide: 5,
            size: 10,
            offset: 0,
        };
        let sorted = |batches: Vec<RecordBatch>| {
            let mut rows = changes(&batches);
            rows.sort();
            rows
        };
        let mut op = operator_over(Some(hop));
        // Slices [0, 5) and [5, 10): each row is in two windows.
        feed(&mut op, 0, rows_of(5, &[(1, 1, 0), (1, 2, 5), (2, 4, 5)]));
        assert_eq!(
            sorted(watermark(&mut op, 4)),
            ["+I[1969-12-31T23:59:59.995, 1970-01-01T00:00:00.005, 1, 1, 1]"]
        );
        assert_eq!(
            sorted(watermark(&mut op, 9)),
            [
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.010, 1, 2, 3]",
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.010, 2, 1, 4]"
            ]
        );
        // [5, 10) has fired its first window, not its last: a row for it is late for
        // [0, 10) only. A row for [0, 5), whose last window [0, 10) fired, is dropped.
        feed(&mut op, 0, rows_of(5, &[(1, 10, 5), (1, 100, 0)]));
        assert_eq!(
            op.metrics
                .num_late_records_dropped
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        // The slices survive a snapshot, with what their windows emitted.
        let restored = snapshot(&mut op, 1);
        let mut op = operator_over(Some(hop));
        op.initialize_state(restored).unwrap();
        assert_eq!(
            sorted(watermark(&mut op, 14)),
            [
                "+I[1970-01-01T00:00:00.005, 1970-01-01T00:00:00.015, 1, 2, 12]",
                "+I[1970-01-01T00:00:00.005, 1970-01-01T00:00:00.015, 2, 1, 4]"
            ]
        );
        // Every window holding a slice has fired: nothing is left to fire or keep.
        assert!(watermark(&mut op, 100).is_empty());
        assert!(op.windows.is_empty() && op.state.flushed.is_empty());
    }

    #[test]
    fn a_slice_moved_into_keyed_state_and_fed_again_counts_every_row() {
        let hop = WindowKind::Hop {
            slide: 5,
            size: 10,
            offset: 0,
        };
        let mut op = operator_over(Some(hop));
        feed(&mut op, 0, rows_of(5, &[(1, 1, 0), (1, 2, 5)]));
        // A checkpoint moves both open slices into the backend; rows keep coming for them.
        snapshot(&mut op, 1);
        feed(&mut op, 0, rows_of(5, &[(1, 4, 0), (1, 8, 5)]));
        assert_eq!(
            changes(&watermark(&mut op, 9)),
            [
                "+I[1969-12-31T23:59:59.995, 1970-01-01T00:00:00.005, 1, 2, 5]",
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.010, 1, 4, 15]"
            ]
        );
        snapshot(&mut op, 2);
        feed(&mut op, 0, rows_of(5, &[(1, 16, 5)]));
        assert_eq!(
            changes(&watermark(&mut op, 14)),
            ["+I[1970-01-01T00:00:00.005, 1970-01-01T00:00:00.015, 1, 3, 26]"]
        );
    }

    #[test]
    fn cumulate_windows_grow_by_slices_and_whole_window_state_is_refused() {
        let cumulate = WindowKind::Cumulate {
            step: 5,
            size: 10,
            offset: 0,
        };
        let mut op = operator_over(Some(cumulate));
        feed(&mut op, 0, rows_of(5, &[(1, 1, 0), (1, 2, 5), (1, 4, 10)]));
        assert_eq!(
            changes(&watermark(&mut op, 9)),
            [
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.005, 1, 1, 1]",
                "+I[1970-01-01T00:00:00, 1970-01-01T00:00:00.010, 1, 2, 3]"
            ]
        );
        assert_eq!(
            changes(&watermark(&mut op, 14)),
            ["+I[1970-01-01T00:00:00.010, 1970-01-01T00:00:00.015, 1, 1, 4]"]
        );
        // A savepoint that kept whole windows does not restore into slices.
        let mut whole = operator();
        feed(&mut whole, 0, rows(&[(1, 1, 0)]));
        let restored = snapshot(&mut whole, 1);
        let err = operator_over(Some(cumulate))
            .initialize_state(restored)
            .unwrap_err()
            .to_string();
        assert!(err.contains("as whole windows"), "{err}");
    }
}
